//! JSON request bodies: `Content-Type: application/json` (else 415), at most the
//! configured size (else 413), well-formed and of the expected shape (else 400
//! naming the offending field). Every rejection is problem+json.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use bytes::BytesMut;
use http_body_util::BodyExt as _;
use serde::de::DeserializeOwned;

use crate::problem::Problem;
use crate::routes::AppState;

/// 413 for a body over `limit` bytes.
pub fn too_large(limit: usize) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "Request body too large",
        format!("the request body exceeds the limit of {limit} bytes"),
    )
}

/// Up to this many bytes of an oversized body are read and discarded before
/// the 413 is sent. Closing a socket with unread data makes the kernel reset
/// the connection, and the client would then see a network error instead of
/// the 413; a body larger than this is refused at once all the same.
pub const DRAIN_CAP: usize = 1 << 20;

/// How long a client gets to send its whole body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads a whole body, refusing more than `limit` bytes with 413 (without
/// keeping the excess), and a body not received within [`BODY_TIMEOUT`] with 408.
pub async fn read_limited(
    headers: &HeaderMap,
    mut body: Body,
    limit: usize,
) -> Result<Bytes, Problem> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_CAP as u64) {
        return Err(too_large(limit));
    }
    let deadline = tokio::time::Instant::now() + BODY_TIMEOUT;
    let mut kept = BytesMut::new();
    let mut seen = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(Problem::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body-timeout",
                    "Request body too slow",
                    format!(
                        "the request body did not arrive within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(Problem::invalid_input(format!(
                    "the request body could not be read: {e}"
                )))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= limit {
                kept.extend_from_slice(&data);
            } else if seen > DRAIN_CAP {
                return Err(too_large(limit));
            }
        }
    }
    if seen > limit {
        return Err(too_large(limit));
    }
    Ok(kept.freeze())
}

/// Whether a `Content-Type` value is JSON (`application/json` or `application/*+json`).
pub fn is_json_content_type(value: &str) -> bool {
    match value.parse::<mime::Mime>() {
        Ok(m) => {
            m.type_() == mime::APPLICATION
                && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        }
        Err(_) => false,
    }
}

/// Parses `bytes` as JSON of type `T`; the error names the field path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => {
                Problem::invalid_input(format!("the body is not valid JSON: {inner}"))
            }
            serde_json::error::Category::Data if path.is_empty() || path == "." || path == "?" => {
                Problem::invalid_input(format!(
                    "the body does not have the expected shape: {inner}"
                ))
            }
            serde_json::error::Category::Data => Problem::invalid_input(format!("{path}: {inner}")),
        }
    })?;
    de.end().map_err(|e| {
        Problem::invalid_input(format!(
            "the body has trailing data after the JSON value: {e}"
        ))
    })?;
    Ok(value)
}

/// A request body already read with [`read_limited`], put in the request's
/// extensions by the idempotency middleware (which fingerprints it) so that
/// [`JsonBody`] does not read it a second time.
#[derive(Debug, Clone)]
pub struct BufferedBody(pub Bytes);

/// Extractor for a JSON body of type `T`, with problem+json rejections. Uses the
/// [`BufferedBody`] when there is one, else reads the body with [`read_limited`].
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let refusal = match content_type {
            Some(ct) if is_json_content_type(&ct) => None,
            Some(ct) => Some(format!(
                "the body must be sent as Content-Type: application/json, not {ct:?}"
            )),
            None => Some(
                "the request has no Content-Type; send the body as application/json".to_owned(),
            ),
        };
        if let Some(detail) = refusal {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                detail,
            ));
        }
        let (mut parts, body) = request.into_parts();
        let bytes = match parts.extensions.remove::<BufferedBody>() {
            Some(BufferedBody(bytes)) => bytes,
            None => read_limited(&parts.headers, body, state.max_body_bytes).await?,
        };
        parse_json(&bytes).map(JsonBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Line {
        #[allow(dead_code)]
        product_id: i64,
    }

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("application/json; charset=utf-8"));
        assert!(is_json_content_type("application/merge-patch+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/x-www-form-urlencoded"));
        assert!(!is_json_content_type("garbage"));
    }

    #[test]
    fn parse_errors_name_the_field() {
        let e = parse_json::<Vec<Line>>(br#"[{"productId": 1}, {"productId": "x"}]"#).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.detail.starts_with("[1].productId:"), "{}", e.detail);
        let e = parse_json::<Line>(b"{").unwrap_err();
        assert!(e.detail.contains("not valid JSON"), "{}", e.detail);
        let e = parse_json::<Line>(br#"{"productId": 1} x"#).unwrap_err();
        assert!(e.detail.contains("trailing"), "{}", e.detail);
    }

    #[tokio::test]
    async fn read_limited_refuses_oversized_bodies() {
        let headers = HeaderMap::new();
        let ok = read_limited(&headers, Body::from(vec![b'a'; 10]), 10)
            .await
            .unwrap();
        assert_eq!(ok.len(), 10);
        let e = read_limited(&headers, Body::from(vec![b'a'; 11]), 10)
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        let e = read_limited(&headers, Body::from(vec![b'a'; DRAIN_CAP + 1]), 10)
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        let mut declared = HeaderMap::new();
        declared.insert(header::CONTENT_LENGTH, (DRAIN_CAP as u64 + 1).into());
        let e = read_limited(&declared, Body::empty(), 10)
            .await
            .unwrap_err();
        assert_eq!(
            e.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "refused on the declared length alone"
        );
    }
}
