//! Error answers the handlers did not write themselves — a static file that is
//! not there, a method the file server does not take, an axum extractor's
//! rejection — are turned into `application/problem+json` like every other
//! error. hyper's own answers to requests it cannot parse (400, 414, 431) are
//! written before any service runs, and hyper offers no hook to give them a
//! body: those stay empty, with `Connection: close`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt as _;

use crate::problem::{Problem, PROBLEM_JSON};

/// Longest plain-text rejection message kept as a problem's detail.
const MAX_DETAIL_BYTES: usize = 1024;

/// Middleware: replaces the body of any 4xx/5xx answer that is not already
/// problem+json with a problem of the same status, keeping its headers
/// (`Allow`, `Retry-After`, …). A short plain-text body becomes the detail.
pub async fn problem_json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = plain_text(&parts.headers, body).await;
    let detail = match text {
        Some(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => default_detail(status, &method, &path),
    };
    let (slug, title) = slug_and_title(status);
    let problem = Problem::new(status, slug, title, detail);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, Body::from(problem.body_bytes()))
}

fn is_problem_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

/// The body as text when it is a short `text/plain` message (axum's
/// rejections); `None` for anything else.
async fn plain_text(headers: &HeaderMap, body: Body) -> Option<String> {
    let is_text = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if !is_text {
        return None;
    }
    let bytes = http_body_util::Limited::new(body, MAX_DETAIL_BYTES)
        .collect()
        .await
        .ok()?
        .to_bytes();
    String::from_utf8(bytes.to_vec()).ok()
}

fn default_detail(status: StatusCode, method: &Method, path: &str) -> String {
    match status {
        StatusCode::NOT_FOUND => format!("there is nothing at {path}"),
        StatusCode::METHOD_NOT_ALLOWED => format!("{method} is not allowed on {path}"),
        _ => format!(
            "{method} {path}: {}",
            status.canonical_reason().unwrap_or("error")
        ),
    }
}

/// The problem type and title of a status, for answers no handler described.
fn slug_and_title(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("invalid-input", "The request is not valid"),
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body-too-large", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::RANGE_NOT_SATISFIABLE => ("range-not-satisfiable", "Range not satisfiable"),
        _ if status.is_server_error() => ("internal-error", "Internal server error"),
        _ => ("http-error", "The request cannot be served"),
    }
}
