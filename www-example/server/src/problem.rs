//! RFC 9457 problem details: every error this server returns is
//! `application/problem+json` with `type`, `title`, `status` and `detail`.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer: a status, a problem type (a short slug, published as the URI
/// `/problems/<slug>`), a human title and a detail naming what went wrong.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// The problem type's slug, e.g. `insufficient-stock`.
    pub slug: &'static str,
    /// A short, fixed summary of the problem type.
    pub title: &'static str,
    /// What exactly went wrong with this request.
    pub detail: String,
    /// Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// The JSON body of a [`Problem`].
#[derive(Debug, Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
}

impl Problem {
    /// A problem with the given status, type slug, title and detail.
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds `Retry-After: <seconds>`.
    pub fn with_retry_after(self, seconds: u64) -> Self {
        self.with_header(header::RETRY_AFTER, HeaderValue::from(seconds))
    }

    /// 400: the request body (or a path or query parameter) is not valid.
    pub fn invalid_input(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-input",
            "The request is not valid",
            detail,
        )
    }

    /// 404: no such resource (for this business).
    pub fn not_found(slug: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, slug, "Not found", detail)
    }

    /// 500: something failed inside the server. The detail goes to the log; the
    /// client gets a generic one, and the outcome is never stored for replay.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!("{context}: {error}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal server error",
            format!("{context} failed; the request had no effect and can be retried with the same Idempotency-Key"),
        )
    }

    /// The problem type URI published in the body.
    pub fn type_uri(&self) -> String {
        format!("/problems/{}", self.slug)
    }

    /// The JSON body bytes (what is stored when an outcome is kept for replay).
    pub fn body_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&ProblemBody {
            kind: self.type_uri(),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
        })
        .expect("a problem body always serialises")
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.slug, self.detail)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.body_bytes();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            body,
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

impl From<tokio_postgres::Error> for Problem {
    fn from(e: tokio_postgres::Error) -> Self {
        Problem::internal("database", e)
    }
}

impl From<rusqlite::Error> for Problem {
    fn from(e: rusqlite::Error) -> Self {
        Problem::internal("database", e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_four_rfc9457_members() {
        let p = Problem::new(
            StatusCode::CONFLICT,
            "insufficient-stock",
            "Not enough stock",
            "2 of Tote bag requested, 1 in stock",
        );
        let v: serde_json::Value = serde_json::from_slice(&p.body_bytes()).unwrap();
        assert_eq!(v["type"], "/problems/insufficient-stock");
        assert_eq!(v["title"], "Not enough stock");
        assert_eq!(v["status"], 409);
        assert_eq!(v["detail"], "2 of Tote bag requested, 1 in stock");
    }

    #[test]
    fn response_is_problem_json_with_extra_headers() {
        let r = Problem::new(StatusCode::CONFLICT, "request-in-flight", "t", "d")
            .with_retry_after(1)
            .into_response();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }
}
