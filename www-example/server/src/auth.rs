//! Bearer-token cashiers: `Authorization: Bearer <token>` resolves to a
//! [`Caller`] (business and cashier). Tokens are stored only as SHA-256 hashes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rusqlite::OptionalExtension as _;
use sha2::{Digest, Sha256};

use crate::problem::Problem;
use crate::routes::AppState;

/// The authenticated cashier a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The business (tenant) every query is scoped to.
    pub business_id: i64,
    /// The cashier (user) within the business.
    pub cashier_id: i64,
    /// The cashier's display name.
    pub name: String,
}

/// Hex SHA-256 of a bearer token, as stored in `cashiers.token_sha256`.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The cashier whose token hashes to `hash`, in a SQLite store.
pub fn find_cashier(conn: &rusqlite::Connection, hash: &str) -> rusqlite::Result<Option<Caller>> {
    conn.prepare_cached("SELECT business_id, id, name FROM cashiers WHERE token_sha256 = ?1")?
        .query_row([hash], |r| {
            Ok(Caller {
                business_id: r.get(0)?,
                cashier_id: r.get(1)?,
                name: r.get(2)?,
            })
        })
        .optional()
}

/// The cashier whose token hashes to `hash`, in a PostgreSQL store.
pub async fn find_cashier_pg(
    client: &impl tokio_postgres::GenericClient,
    hash: &str,
) -> Result<Option<Caller>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT business_id, id, name FROM cashiers WHERE token_sha256 = $1",
            &[&hash],
        )
        .await?
        .map(|r| Caller {
            business_id: r.get(0),
            cashier_id: r.get(1),
            name: r.get(2),
        }))
}

/// Extracts the token from an `Authorization` value: `Bearer <token>`, the
/// scheme case-insensitive (RFC 9110 §11.1).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn unauthorized(detail: &str) -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Authentication required",
        detail,
    )
    .with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"pos\""),
    )
}

fn throttled(wait: Duration) -> Problem {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "authentication-throttled",
        "Too many failed authentications",
        format!(
            "too many wrong tokens from this address; no token is checked for it for {seconds} s"
        ),
    )
    .with_retry_after(seconds)
}

/// Middleware: resolves the bearer token to a [`Caller`] and stores it in the
/// request's extensions, or answers 401 — or 429 for a client that sent too
/// many wrong tokens (see [`crate::auth_throttle`]). No error text names a
/// token.
pub async fn require_cashier(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, Problem> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Err(unauthorized("send Authorization: Bearer <token>"));
    };
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    if let Some(wait) = state.auth_throttle.wait_for(client) {
        return Err(throttled(wait));
    }
    let refuse = |detail: &str| match state.auth_throttle.record_failure(client) {
        Some(wait) => throttled(wait),
        None => unauthorized(detail),
    };
    let Some(token) = value.to_str().ok().and_then(bearer_token) else {
        return Err(refuse(
            "the Authorization header is not of the form Bearer <token>",
        ));
    };
    let caller = state
        .db
        .find_cashier(token_sha256(token))
        .await?
        .ok_or_else(|| refuse("the bearer token is not a known cashier's"))?;
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            Problem::internal(
                "authentication",
                "route is missing the require_cashier middleware",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_case_insensitively() {
        assert_eq!(
            bearer_token("Bearer demo-cashier-1"),
            Some("demo-cashier-1")
        );
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
