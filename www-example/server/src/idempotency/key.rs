//! Parsing the `Idempotency-Key` request header: an RFC 9651 sf-string
//! (`"…"`, parameters ignored) as the IETF draft specifies, or — as many
//! clients send it — the bare value.

use axum::http::HeaderMap;

/// The header name.
pub const HEADER: &str = "idempotency-key";

/// Longest key accepted, in bytes.
pub const MAX_LEN: usize = 255;

/// Why a request's key is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// No `Idempotency-Key` header.
    Missing,
    /// A header is present but its value is not a usable key; says why.
    Malformed(String),
}

/// The request's idempotency key, from exactly one `Idempotency-Key` header.
pub fn from_headers(headers: &HeaderMap) -> Result<String, KeyError> {
    let mut values = headers.get_all(HEADER).iter();
    let value = values.next().ok_or(KeyError::Missing)?;
    if values.next().is_some() {
        return Err(KeyError::Malformed(
            "the request has more than one Idempotency-Key header".into(),
        ));
    }
    let text = value.to_str().map_err(|_| {
        KeyError::Malformed("the Idempotency-Key value is not visible ASCII".into())
    })?;
    parse(text)
}

/// Parses one header value: `"…"` as an sf-string, otherwise a bare key of
/// visible ASCII without quotes, backslashes, commas or semicolons. Either way
/// the key is 1 to [`MAX_LEN`] bytes.
pub fn parse(value: &str) -> Result<String, KeyError> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let key = if value.starts_with('"') {
        let item = sfv::Parser::new(value).parse_item().map_err(|e| {
            KeyError::Malformed(format!(
                "the quoted Idempotency-Key is not a valid structured-field string: {e}"
            ))
        })?;
        item.bare_item
            .as_string()
            .map(|s| s.as_str().to_owned())
            .ok_or_else(|| KeyError::Malformed("the Idempotency-Key is not a string".into()))?
    } else {
        if let Some(bad) = value
            .chars()
            .find(|&c| !c.is_ascii_graphic() || matches!(c, '"' | '\\' | ',' | ';'))
        {
            return Err(KeyError::Malformed(format!(
                "the Idempotency-Key contains {bad:?}; send a UUID, bare or quoted as \"…\""
            )));
        }
        value.to_owned()
    };
    if key.is_empty() {
        return Err(KeyError::Malformed("the Idempotency-Key is empty".into()));
    }
    if key.len() > MAX_LEN {
        return Err(KeyError::Malformed(format!(
            "the Idempotency-Key is {} bytes long; at most {MAX_LEN} are allowed",
            key.len()
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const UUID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn bare_and_quoted_forms_give_the_same_key() {
        assert_eq!(parse(UUID).unwrap(), UUID);
        assert_eq!(parse(&format!("\"{UUID}\"")).unwrap(), UUID);
        assert_eq!(
            parse(&format!("  \"{UUID}\";x=1 ")).unwrap(),
            UUID,
            "parameters are ignored"
        );
    }

    #[test]
    fn sf_string_escapes_are_decoded() {
        assert_eq!(parse(r#""a\"b\\c""#).unwrap(), r#"a"b\c"#);
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "\"\"",
            "\"unterminated",
            "two words",
            "a,b",
            "a;b",
            "\"a\" junk",
        ] {
            let result = parse(bad);
            assert!(
                matches!(result, Err(KeyError::Malformed(_))),
                "{bad:?} gave {result:?}"
            );
        }
        assert!(matches!(
            parse(&"k".repeat(256)),
            Err(KeyError::Malformed(_))
        ));
        assert_eq!(parse(&"k".repeat(255)).unwrap().len(), 255);
    }

    #[test]
    fn header_must_be_present_once() {
        let mut headers = HeaderMap::new();
        assert_eq!(from_headers(&headers), Err(KeyError::Missing));
        headers.append(HEADER, HeaderValue::from_static(UUID));
        assert_eq!(from_headers(&headers).unwrap(), UUID);
        headers.append(HEADER, HeaderValue::from_static("other"));
        assert!(matches!(
            from_headers(&headers),
            Err(KeyError::Malformed(_))
        ));
        let mut headers = HeaderMap::new();
        headers.append(
            HEADER,
            HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap(),
        );
        assert!(matches!(
            from_headers(&headers),
            Err(KeyError::Malformed(_))
        ));
    }
}
