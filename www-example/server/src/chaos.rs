//! Fault injection, only when the server is started with `--chaos`: a share of
//! API requests answered 503 with `Retry-After`, added latency (some of it
//! beyond a client's timeout), connections dropped before a request is
//! processed, and — the hard case for exactly-once — a write committed and then
//! its connection dropped with no response. Settable at start (flags) and at run
//! time (`GET/PUT /api/chaos`).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

/// Largest accepted `latencyMs`.
pub const MAX_LATENCY_MS: u64 = 120_000;

/// Marker in a response's extensions: the server closes the connection instead
/// of sending the response (the client sees a network error, not a status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropConnection;

/// The fault rates (each a probability from 0 to 1) and the latency bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChaosSettings {
    /// Share of API requests answered 503 + `Retry-After: 1`.
    pub error503_rate: f64,
    /// Share of API requests whose connection is dropped unprocessed.
    pub drop_before_rate: f64,
    /// Share of successful writes whose connection is dropped after the commit
    /// (replays are never dropped: they commit nothing).
    pub drop_after_commit_rate: f64,
    /// Share of API requests delayed.
    pub latency_rate: f64,
    /// A delayed request waits a uniform 0 to `latencyMs` milliseconds.
    pub latency_ms: u64,
}

/// A partial update for `PUT /api/chaos`: absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChaosPatch {
    /// See [`ChaosSettings::error503_rate`].
    pub error503_rate: Option<f64>,
    /// See [`ChaosSettings::drop_before_rate`].
    pub drop_before_rate: Option<f64>,
    /// See [`ChaosSettings::drop_after_commit_rate`].
    pub drop_after_commit_rate: Option<f64>,
    /// See [`ChaosSettings::latency_rate`].
    pub latency_rate: Option<f64>,
    /// See [`ChaosSettings::latency_ms`].
    pub latency_ms: Option<u64>,
}

impl ChaosSettings {
    /// Checks that every rate is a probability and the latency is bounded.
    pub fn validate(&self) -> Result<(), Problem> {
        for (name, rate) in [
            ("error503Rate", self.error503_rate),
            ("dropBeforeRate", self.drop_before_rate),
            ("dropAfterCommitRate", self.drop_after_commit_rate),
            ("latencyRate", self.latency_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(Problem::invalid_input(format!(
                    "{name} must be a probability from 0 to 1, got {rate}"
                )));
            }
        }
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(Problem::invalid_input(format!(
                "latencyMs must be at most {MAX_LATENCY_MS}, got {}",
                self.latency_ms
            )));
        }
        Ok(())
    }

    /// These settings with `patch` applied.
    pub fn patched(mut self, patch: &ChaosPatch) -> Self {
        self.error503_rate = patch.error503_rate.unwrap_or(self.error503_rate);
        self.drop_before_rate = patch.drop_before_rate.unwrap_or(self.drop_before_rate);
        self.drop_after_commit_rate = patch
            .drop_after_commit_rate
            .unwrap_or(self.drop_after_commit_rate);
        self.latency_rate = patch.latency_rate.unwrap_or(self.latency_rate);
        self.latency_ms = patch.latency_ms.unwrap_or(self.latency_ms);
        self
    }
}

/// The live chaos settings.
#[derive(Debug)]
pub struct Chaos {
    settings: RwLock<ChaosSettings>,
}

impl Chaos {
    /// Chaos with validated initial settings.
    pub fn new(settings: ChaosSettings) -> Result<Self, Problem> {
        settings.validate()?;
        Ok(Self {
            settings: RwLock::new(settings),
        })
    }

    /// The current settings.
    pub fn get(&self) -> ChaosSettings {
        *self.settings.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a patch if the result is valid; returns the new settings.
    pub fn update(&self, patch: &ChaosPatch) -> Result<ChaosSettings, Problem> {
        let mut settings = self.settings.write().unwrap_or_else(|p| p.into_inner());
        let next = settings.patched(patch);
        next.validate()?;
        *settings = next;
        tracing::info!("chaos settings now {next:?}");
        Ok(next)
    }
}

/// What the dice decided for one request, before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    delay: Option<Duration>,
    unavailable: bool,
    drop_before: bool,
    drop_after_commit: bool,
}

fn plan(s: &ChaosSettings) -> Plan {
    let mut rng = rand::rng();
    Plan {
        delay: (s.latency_ms > 0 && rng.random_bool(s.latency_rate))
            .then(|| Duration::from_millis(rng.random_range(0..=s.latency_ms))),
        unavailable: rng.random_bool(s.error503_rate),
        drop_before: rng.random_bool(s.drop_before_rate),
        drop_after_commit: rng.random_bool(s.drop_after_commit_rate),
    }
}

fn dropped() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

/// Middleware for the API routes (not `/api/chaos` itself): applies the faults.
pub async fn middleware(State(chaos): State<Arc<Chaos>>, request: Request, next: Next) -> Response {
    let plan = plan(&chaos.get());
    if let Some(delay) = plan.delay {
        tracing::info!(
            "chaos: delaying {} {} by {} ms",
            request.method(),
            request.uri().path(),
            delay.as_millis()
        );
        tokio::time::sleep(delay).await;
    }
    if plan.unavailable {
        tracing::info!(
            "chaos: 503 for {} {}",
            request.method(),
            request.uri().path()
        );
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "chaos-unavailable",
            "Service unavailable (chaos)",
            "fault injected by --chaos; retry after the delay",
        )
        .with_retry_after(1)
        .into_response();
    }
    if plan.drop_before {
        tracing::info!(
            "chaos: dropping the connection of {} {} before processing",
            request.method(),
            request.uri().path()
        );
        return dropped();
    }
    let is_write = crate::idempotency::is_write(request.method());
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = next.run(request).await;
    // A replay commits nothing: only a write that was executed is dropped, so a
    // client retrying with its key gets the stored answer at any rate.
    let replayed = response
        .headers()
        .contains_key(crate::idempotency::REPLAYED_HEADER);
    if is_write && plan.drop_after_commit && response.status().is_success() && !replayed {
        tracing::info!(
            "chaos: {method} {path} committed ({}); dropping the connection without a response",
            response.status()
        );
        return dropped();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calm() -> ChaosSettings {
        ChaosSettings {
            error503_rate: 0.0,
            drop_before_rate: 0.0,
            drop_after_commit_rate: 0.0,
            latency_rate: 0.0,
            latency_ms: 0,
        }
    }

    #[test]
    fn rates_must_be_probabilities() {
        assert!(calm().validate().is_ok());
        assert!(ChaosSettings {
            error503_rate: 1.5,
            ..calm()
        }
        .validate()
        .is_err());
        assert!(ChaosSettings {
            latency_rate: -0.1,
            ..calm()
        }
        .validate()
        .is_err());
        assert!(ChaosSettings {
            latency_ms: MAX_LATENCY_MS + 1,
            ..calm()
        }
        .validate()
        .is_err());
    }

    #[test]
    fn patches_change_only_given_fields_and_invalid_ones_are_refused() {
        let chaos = Chaos::new(calm()).unwrap();
        let s = chaos
            .update(&ChaosPatch {
                error503_rate: Some(0.5),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            s,
            ChaosSettings {
                error503_rate: 0.5,
                ..calm()
            }
        );
        assert!(chaos
            .update(&ChaosPatch {
                latency_rate: Some(2.0),
                ..Default::default()
            })
            .is_err());
        assert_eq!(chaos.get(), s, "a refused patch changes nothing");
    }

    #[test]
    fn certain_and_impossible_faults() {
        let never = plan(&calm());
        assert_eq!(
            never,
            Plan {
                delay: None,
                unavailable: false,
                drop_before: false,
                drop_after_commit: false
            }
        );
        let always = plan(&ChaosSettings {
            error503_rate: 1.0,
            drop_before_rate: 1.0,
            drop_after_commit_rate: 1.0,
            latency_rate: 1.0,
            latency_ms: 5,
        });
        assert!(always.unavailable && always.drop_before && always.drop_after_commit);
        assert!(always.delay.is_some_and(|d| d <= Duration::from_millis(5)));
    }

    #[test]
    fn settings_are_camel_case_json() {
        let v = serde_json::to_value(calm()).unwrap();
        for k in [
            "error503Rate",
            "dropBeforeRate",
            "dropAfterCommitRate",
            "latencyRate",
            "latencyMs",
        ] {
            assert!(v.get(k).is_some(), "{k} missing in {v}");
        }
    }
}
