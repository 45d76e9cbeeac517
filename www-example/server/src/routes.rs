//! The HTTP surface: the API of docs/spec.md §3, the chaos control (with `--chaos`
//! only, for any cashier's token), and the demo page and built package as
//! static files.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::allowed_hosts::{self, AllowedHosts};
use crate::auth::{self, Caller};
use crate::auth_throttle::AuthThrottle;
use crate::body::JsonBody;
use crate::catalog::Product;
use crate::chaos::{self, Chaos, ChaosPatch, ChaosSettings};
use crate::error_bodies;
use crate::idempotency::{self, inflight::InFlight, policy::Policy, Enforcement, Idempotency};
use crate::metrics::{self, Metrics};
use crate::problem::Problem;
use crate::sales::{self, NewRefund, NewSale, Operation, Sale};
use crate::security_headers;
use crate::stats::{BusinessStats, Stats};
use crate::store::Store;

/// Default and largest `limit` of `GET /api/sales`.
pub const DEFAULT_LIST_LIMIT: i64 = 20;
/// Largest `limit` of `GET /api/sales`.
pub const MAX_LIST_LIMIT: i64 = 200;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub db: Store,
    /// Per-business counts for `GET /api/stats`.
    pub stats: Arc<Stats>,
    /// Operator metrics for `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// Hex SHA-256 of `--metrics-token`; `None` keeps `/metrics` off.
    pub metrics_token_sha256: Option<String>,
    /// What a write without an `Idempotency-Key` gets.
    pub enforcement: Enforcement,
    /// Idempotency scopes in progress (SQLite; on PostgreSQL the claims
    /// live in the database).
    pub inflight: Arc<InFlight>,
    /// How long a claim on a key lasts in the database before another
    /// instance may take it over (PostgreSQL only).
    pub claim_lease: Duration,
    /// How long a completed request's response is stored and replayed.
    pub key_ttl: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Fault injection, when started with `--chaos`.
    pub chaos: Option<Arc<Chaos>>,
    /// Throttling of clients that send wrong tokens.
    pub auth_throttle: Arc<AuthThrottle>,
}

/// What the router serves besides the API.
#[derive(Debug, Clone)]
pub struct Options {
    /// Whether write routes go through the idempotency layer.
    pub idempotency: bool,
    /// The demo page directory, served at `/` (top-level files only).
    pub www: std::path::PathBuf,
    /// The built npm package, served at `/pkg/`.
    pub pkg: std::path::PathBuf,
    /// The host names requests may name.
    pub allowed_hosts: Arc<AllowedHosts>,
}

/// Builds the whole application.
pub fn router(state: AppState, options: &Options) -> Router {
    let mut api = Router::new()
        .route("/api/products", get(list_products))
        .route("/api/sales", get(list_sales).post(create_sale))
        .route("/api/sales/{id}/refund", post(refund_sale))
        .route("/api/stats", get(get_stats));
    if options.idempotency {
        api = api.route_layer(from_fn_with_state(state.clone(), idempotency::middleware));
    }
    api = api.route_layer(from_fn_with_state(state.clone(), auth::require_cashier));
    if let Some(chaos) = &state.chaos {
        // The chaos control needs a cashier's token too, but is not subject to
        // the faults it controls.
        let control = Router::new()
            .route("/api/chaos", get(get_chaos).put(put_chaos))
            .route_layer(from_fn_with_state(state.clone(), auth::require_cashier));
        api = api
            .route_layer(from_fn_with_state(chaos.clone(), chaos::middleware))
            .merge(control);
    }
    let policy = Policy::new(
        options.idempotency.then_some(state.enforcement),
        state.key_ttl.as_secs(),
    );
    let api = api
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/healthz", get(readyz))
        .route("/metrics", get(get_metrics))
        .route(
            "/.well-known/idempotency",
            get(move || std::future::ready(Json(policy))),
        )
        .route_layer(from_fn_with_state(state.metrics.clone(), metrics::track))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);

    let no_cache = SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    let www = Router::new()
        .fallback_service(ServeDir::new(&options.www).append_index_html_on_directories(true))
        .layer(from_fn(top_level_only));
    let app = api
        .nest_service("/pkg", ServeDir::new(&options.pkg))
        .merge(www)
        .layer(no_cache)
        .layer(from_fn_with_state(
            options.allowed_hosts.clone(),
            allowed_hosts::check,
        ))
        .layer(from_fn(error_bodies::problem_json_errors));
    security_headers::apply(app)
        // Request/response spans and timings at DEBUG (RUST_LOG=tower_http=debug).
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// File types of the demo page that are served from `--www`.
const PAGE_FILE_TYPES: &[&str] = &["html", "js", "css", "png", "svg", "ico", "webmanifest"];

/// Whether a request path names a servable file of the demo page: `/`, or a
/// top-level file of a page type, judged on the percent-decoded path (so
/// `/server%2fCargo.toml` is not a way into subdirectories).
pub fn is_page_file(raw_path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(raw_path).decode_utf8_lossy();
    let Some(name) = decoded.strip_prefix('/') else {
        return false;
    };
    if name.is_empty() {
        return true;
    }
    !name.contains(['/', '\\'])
        && !name.starts_with('.')
        && Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| PAGE_FILE_TYPES.contains(&e))
}

/// Serves only the demo page's own files, never the server's sources,
/// scripts or docs that live beneath the same directory.
async fn top_level_only(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !is_page_file(path) {
        return Problem::not_found("not-found", format!("no file at {path}")).into_response();
    }
    next.run(request).await
}

async fn api_not_found(request: Request) -> Problem {
    Problem::not_found(
        "not-found",
        format!("there is no API endpoint at {}", request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

/// `GET /livez`: 200 while the process serves HTTP; touches nothing else, so
/// a busy or failing database never gets a live process restarted.
async fn livez() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz` (and `GET /healthz`): 200 when a write could start now — the
/// write probe takes the database's write lock within a short wait, on its own
/// connection, never behind queued sales; 503 saying why otherwise.
async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, Problem> {
    state.db.check_writable().await.map_err(|why| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            "Not ready",
            why,
        )
    })?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

/// `GET /api/products`.
async fn list_products(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Product>>, Problem> {
    Ok(Json(state.db.products(caller.business_id).await?))
}

/// `POST /api/sales`.
async fn create_sale(
    State(state): State<AppState>,
    caller: Caller,
    idempotency: Idempotency,
    JsonBody(body): JsonBody<NewSale>,
) -> Response {
    let sale = match body.validate() {
        Ok(sale) => sale,
        Err(problem) => return problem.into_response(),
    };
    idempotency::execute(&state, &caller, idempotency, Operation::Sale(sale)).await
}

/// `POST /api/sales/{id}/refund`.
async fn refund_sale(
    State(state): State<AppState>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    idempotency: Idempotency,
    JsonBody(body): JsonBody<NewRefund>,
) -> Response {
    let Ok(sale_id) = uuid::Uuid::try_parse(&id) else {
        return Problem::not_found("sale-not-found", format!("sale {id:?} does not exist"))
            .into_response();
    };
    let sale_id = sale_id.hyphenated().to_string();
    let lines = match sales::validate_lines(&body.items) {
        Ok(lines) => lines,
        Err(problem) => return problem.into_response(),
    };
    let operation = Operation::Refund { sale_id, lines };
    idempotency::execute(&state, &caller, idempotency, operation).await
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<String>,
}

/// `GET /api/sales?limit=N`: newest first.
async fn list_sales(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Sale>>, Problem> {
    let query: ListQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| Problem::invalid_input(format!("the query string is not valid: {e}")))?;
    let limit = match query.limit {
        None => DEFAULT_LIST_LIMIT,
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=MAX_LIST_LIMIT).contains(&n) => n,
            _ => {
                return Err(Problem::invalid_input(format!(
                    "limit must be a whole number from 1 to {MAX_LIST_LIMIT}, got {text:?}"
                )))
            }
        },
    };
    Ok(Json(state.db.sales(caller.business_id, limit).await?))
}

/// `GET /api/stats`: the caller's business only.
async fn get_stats(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BusinessStats>, Problem> {
    Ok(Json(
        state.db.stats(caller.business_id, &state.stats).await?,
    ))
}

/// `GET /metrics`: Prometheus text, with `--metrics-token` only, to a request
/// bearing that token.
async fn get_metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Some(expected) = &state.metrics_token_sha256 else {
        return Err(Problem::not_found(
            "not-found",
            "metrics are off; start the server with --metrics-token",
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::bearer_token)
        .map(auth::token_sha256);
    if presented.as_ref() != Some(expected) {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Metrics token required",
            "GET /metrics needs Authorization: Bearer with the server's --metrics-token",
        )
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
    }
    let text = state
        .metrics
        .render()
        .map_err(|e| Problem::internal("rendering the metrics", e))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

fn chaos_of(state: &AppState) -> Result<&Arc<Chaos>, Problem> {
    state.chaos.as_ref().ok_or_else(|| {
        Problem::not_found(
            "not-found",
            "chaos mode is off; start the server with --chaos",
        )
    })
}

/// `GET /api/chaos` (with `--chaos` only).
async fn get_chaos(State(state): State<AppState>) -> Result<Json<ChaosSettings>, Problem> {
    Ok(Json(chaos_of(&state)?.get()))
}

/// `PUT /api/chaos` (with `--chaos` only): a partial update of the settings.
async fn put_chaos(
    State(state): State<AppState>,
    JsonBody(patch): JsonBody<ChaosPatch>,
) -> Result<Json<ChaosSettings>, Problem> {
    Ok(Json(chaos_of(&state)?.update(&patch)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_top_level_page_files_are_served() {
        for ok in [
            "/",
            "/index.html",
            "/app.js",
            "/style.css",
            "/screenshot.png",
        ] {
            assert!(is_page_file(ok), "{ok}");
        }
        for bad in [
            "/server/Cargo.toml",
            "/server%2fCargo.toml",
            "/server%2Fsrc%2Fmain.rs",
            "/..%2fCargo.toml",
            "/%2e%2e/x.js",
            "/README.md",
            "/scripts%2Fdemo.sh",
            "/.hidden.js",
            "/a%5cb.js",
            "/pos.db",
        ] {
            assert!(!is_page_file(bad), "{bad}");
        }
    }
}
