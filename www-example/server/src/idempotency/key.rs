//! Parsing the `Idempotency-Key` request header: a UUID, as an RFC 9651
//! sf-string (`"…"`, parameters ignored) as the IETF draft specifies, or — as
//! many clients send it — bare.
//!
//! Only UUIDs are accepted: the draft's security section recommends a
//! published random format, the SDK sends a lowercase UUID v4, and a fixed
//! format keeps guessable or oversized keys (`1`, `order-42`, 255 bytes of
//! anything) out of the store. The hyphenated 36-character form is required, in
//! either case; it is stored lowercase, so the case a client uses never makes
//! two keys of one UUID.

use axum::http::HeaderMap;

/// The header name.
pub const HEADER: &str = "idempotency-key";

/// The accepted key format, as published at `/.well-known/idempotency`.
pub const FORMAT: &str = "uuid";

/// An example of the accepted format, for error messages.
const EXAMPLE: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

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

/// Parses one header value, `"…"` as an sf-string, otherwise bare; the key
/// must be a hyphenated UUID, and is returned lowercase.
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
        value.to_owned()
    };
    if key.len() != EXAMPLE.len() {
        return Err(not_a_uuid(&key));
    }
    let uuid = uuid::Uuid::try_parse(&key).map_err(|_| not_a_uuid(&key))?;
    Ok(uuid.hyphenated().to_string())
}

fn not_a_uuid(key: &str) -> KeyError {
    const SHOWN: usize = 40;
    let shown: String = key.chars().take(SHOWN).collect();
    let ellipsis = if key.chars().count() > SHOWN {
        "…"
    } else {
        ""
    };
    KeyError::Malformed(format!(
        "the Idempotency-Key must be a UUID in its 36-character hyphenated form, e.g. {EXAMPLE} (bare or quoted as \"…\"), got {shown:?}{ellipsis}"
    ))
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
    fn uuids_are_stored_lowercase() {
        let upper = UUID.to_uppercase();
        assert_eq!(parse(&upper).unwrap(), UUID);
        assert_eq!(parse(&format!("\"{upper}\"")).unwrap(), UUID);
    }

    #[test]
    fn keys_other_than_hyphenated_uuids_are_refused() {
        let simple = UUID.replace('-', "");
        let braced = format!("{{{UUID}}}");
        let urn = format!("urn:uuid:{UUID}");
        let long = "k".repeat(255);
        for bad in [
            "",
            "\"\"",
            "\"unterminated",
            "two words",
            "a,b",
            "order-42",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
            "0f8fad5b-d9cb-469f-a165_70867728950e",
            &simple,
            &braced,
            &urn,
            &long,
            "\"a\" junk",
        ] {
            let result = parse(bad);
            assert!(
                matches!(result, Err(KeyError::Malformed(_))),
                "{bad:?} gave {result:?}"
            );
        }
        let Err(KeyError::Malformed(why)) = parse("order-42") else {
            unreachable!()
        };
        assert!(why.contains("UUID") && why.contains("order-42"), "{why}");
    }

    #[test]
    fn header_must_be_present_once() {
        let mut headers = HeaderMap::new();
        assert_eq!(from_headers(&headers), Err(KeyError::Missing));
        headers.append(HEADER, HeaderValue::from_static(UUID));
        assert_eq!(from_headers(&headers).unwrap(), UUID);
        headers.append(HEADER, HeaderValue::from_static(UUID));
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
