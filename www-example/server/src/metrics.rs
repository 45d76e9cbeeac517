//! Prometheus metrics for operators, exposed at `GET /metrics` (text format,
//! written by the `prometheus` crate). Labels are routes, methods, statuses and
//! idempotency outcomes, never a business: the endpoint is operator-level and
//! is served only with `--metrics-token`, behind `Authorization: Bearer`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Buckets of the request latency histogram, in seconds (1 ms … 10 s).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every metric the server exports, registered in its own registry.
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by route, method and status.
    pub requests: IntCounterVec,
    /// Request latency, by route and method.
    pub request_seconds: HistogramVec,
    /// Responses replayed for a completed key, by route and where the answer
    /// was found (`stored` response or the `row` the request created).
    pub replays: IntCounterVec,
    /// 409s for a key whose first request is still outstanding, by route.
    pub in_flight_conflicts: IntCounterVec,
    /// 422s for a key reused with another request, by route.
    pub key_mismatches: IntCounterVec,
    /// Writes processed without a key (`--idempotency warn|optional`), by route and mode.
    pub keyless_writes: IntCounterVec,
    /// Responses stored for replay.
    pub keys_stored: IntCounter,
    /// Expired stored responses deleted.
    pub keys_purged: IntCounter,
    /// How long each purge run took.
    pub purge_seconds: Histogram,
    /// Write transactions the purge used (each a bounded batch).
    pub purge_batches: IntCounter,
    /// Invoice and return numbers used more than once (checked at start-up; always 0).
    pub duplicate_invoice_numbers: IntGauge,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let requests = counter_vec(
            "pos_http_requests_total",
            "HTTP requests answered, by route, method and status.",
            &["route", "method", "status"],
        )?;
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "pos_http_request_duration_seconds",
                "HTTP request latency, by route and method.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        registry.register(Box::new(request_seconds.clone()))?;
        let purge_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "pos_idempotency_purge_duration_seconds",
                "Duration of a purge of expired idempotency records.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(purge_seconds.clone()))?;
        let duplicate_invoice_numbers = IntGauge::new(
            "pos_duplicate_invoice_numbers",
            "Invoice and return numbers used more than once, checked at start-up (always 0).",
        )?;
        registry.register(Box::new(duplicate_invoice_numbers.clone()))?;
        Ok(Self {
            requests,
            request_seconds,
            replays: counter_vec(
                "pos_idempotency_replays_total",
                "Responses replayed for a completed Idempotency-Key, by route and source (stored response or the created row).",
                &["route", "source"],
            )?,
            in_flight_conflicts: counter_vec(
                "pos_idempotency_in_flight_conflicts_total",
                "409s for an Idempotency-Key whose first request is still outstanding, by route.",
                &["route"],
            )?,
            key_mismatches: counter_vec(
                "pos_idempotency_key_mismatches_total",
                "422s for an Idempotency-Key reused with another method, path or body, by route.",
                &["route"],
            )?,
            keyless_writes: counter_vec(
                "pos_idempotency_keyless_writes_total",
                "Writes processed without an Idempotency-Key, by route and enforcement mode.",
                &["route", "mode"],
            )?,
            keys_stored: counter(
                "pos_idempotency_keys_stored_total",
                "Responses stored for replay.",
            )?,
            keys_purged: counter(
                "pos_idempotency_keys_purged_total",
                "Expired stored responses deleted by the purge.",
            )?,
            purge_batches: counter(
                "pos_idempotency_purge_batches_total",
                "Write transactions the purge used, each deleting at most --purge-batch records.",
            )?,
            purge_seconds,
            duplicate_invoice_numbers,
            registry,
        })
    }

    /// Every metric in the Prometheus text exposition format.
    pub fn render(&self) -> prometheus::Result<String> {
        let mut text = String::new();
        TextEncoder::new().encode_utf8(&self.registry.gather(), &mut text)?;
        Ok(text)
    }
}

/// The `method` label: standard methods by name, any other as `OTHER` (so a
/// client cannot grow the label set).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Route-layer middleware: counts and times every request of a matched route.
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(String::new, |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .request_seconds
        .with_label_values(&[route.as_str(), method])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .with_label_values(&[route.as_str(), method, response.status().as_str()])
        .inc();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::new().unwrap();
        metrics
            .replays
            .with_label_values(&["/api/sales", "stored"])
            .inc();
        let text = metrics.render().unwrap();
        assert!(text
            .contains("pos_idempotency_replays_total{route=\"/api/sales\",source=\"stored\"} 1"));
        assert!(text.contains("# TYPE pos_idempotency_purge_duration_seconds histogram"));
    }
}
