//! In-flight deduplication keys: which concurrent calls are "the same call".

/// The keys under which a call is registered while it is in flight; a new
/// call that shares any key with an in-flight call joins it instead of
/// sending a request.
///
/// A call that names its identity (`dedupe_key` or an explicit
/// `idempotency_key`) is identified by that alone: two sales with the same
/// cart but different keys are two sales. Otherwise the identity is the
/// exact request: method, absolute URL and body bytes.
pub fn dedup_keys(method: &str, url: &str, body: Option<&str>, dedupe_key: Option<&str>, idempotency_key: Option<&str>) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    if let Some(d) = dedupe_key {
        keys.push(["d:", d].concat());
    }
    if let Some(k) = idempotency_key {
        keys.push(["i:", k].concat());
    }
    if keys.is_empty() {
        // Method and URL cannot contain '\n' (the URL is normalised by the
        // URL parser), so the separator makes the key unambiguous; a body
        // that is absent differs from an empty body.
        let (marker, body) = match body {
            Some(b) => ("b", b),
            None => ("-", ""),
        };
        keys.push(["c:", method, "\n", url, "\n", marker, body].concat());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(method: &str, url: &str, body: Option<&str>) -> Vec<String> {
        dedup_keys(method, url, body, None, None)
    }

    #[test]
    fn identical_requests_share_a_key() {
        assert_eq!(content("POST", "https://a/x", Some("{\"a\":1}")), content("POST", "https://a/x", Some("{\"a\":1}")));
    }

    #[test]
    fn any_difference_separates_them() {
        let base = content("POST", "https://a/x", Some("{\"a\":1}"));
        assert_ne!(base, content("PUT", "https://a/x", Some("{\"a\":1}")));
        assert_ne!(base, content("POST", "https://a/y", Some("{\"a\":1}")));
        assert_ne!(base, content("POST", "https://a/x", Some("{\"a\":2}")));
        assert_ne!(base, content("POST", "https://a/x", Some("{\"a\":1} ")));
        assert_ne!(content("POST", "https://a/x", None), content("POST", "https://a/x", Some("")));
    }

    #[test]
    fn explicit_identity_replaces_content() {
        let a = dedup_keys("POST", "https://a/x", Some("1"), Some("sale-7"), None);
        let b = dedup_keys("POST", "https://a/other", Some("2"), Some("sale-7"), None);
        assert_eq!(a, b);
        let k1 = dedup_keys("POST", "https://a/x", Some("1"), None, Some("k1"));
        let k2 = dedup_keys("POST", "https://a/x", Some("1"), None, Some("k2"));
        assert_ne!(k1, k2, "same cart, different keys: two operations");
        let both = dedup_keys("POST", "https://a/x", Some("1"), Some("d"), Some("k1"));
        assert!(both.contains(&k1[0]) && both.contains(&"d:d".to_string()));
    }

    #[test]
    fn prefixes_keep_namespaces_apart() {
        assert_ne!(dedup_keys("P", "u", None, Some("x"), None), dedup_keys("P", "u", None, None, Some("x")));
    }
}
