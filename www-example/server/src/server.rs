//! Startup and the accept loop. Connections are served with hyper-util rather
//! than `axum::serve` so that a response marked [`DropConnection`] (chaos) can
//! close its connection without sending anything, and so every connection is
//! bounded: at most `--max-connections` open at once (a permit is taken before
//! `accept`), a complete request head within `--header-timeout` of the
//! connection being ready for one (slowloris and idle keep-alive alike), a head
//! of at most [`MAX_HEAD_BYTES`]. HTTP/1.1 only: browsers speak HTTP/2 only over
//! TLS, which a proxy in front terminates, and hyper's HTTP/2 server has no
//! idle timeout. Shutdown is graceful: on Ctrl-C or SIGTERM the listener
//! closes, and requests being handled get [`SHUTDOWN_GRACE`] to finish; idle
//! connections and ones still sending their request head do not delay the exit.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use governor::{DefaultDirectRateLimiter, Quota};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt as _;

use crate::allowed_hosts::AllowedHosts;
use crate::auth;
use crate::auth_throttle::AuthThrottle;
use crate::chaos::{Chaos, ChaosSettings, DropConnection};
use crate::config::Config;
use crate::idempotency;
use crate::metrics::Metrics;
use crate::routes::{self, AppState, Options};
use crate::store::Store;

/// The address the server listens on: loopback only.
const BIND_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// How long open connections get to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Largest request head (request line and headers). hyper's default, about
/// 400 KiB, let a thousand unfinished heads hold 400 MiB.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// How long the accept loop pauses after a failed `accept` (e.g. out of file
/// descriptors) instead of spinning.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// How the accept loop bounds its connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most connections open at once.
    pub max_connections: u32,
    /// Time allowed for a complete request head, from when the connection is
    /// ready for one.
    pub header_timeout: Duration,
}

/// The error a service returns to make hyper close the connection unanswered.
#[derive(Debug)]
struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose (chaos)")
    }
}

impl std::error::Error for ConnectionDropped {}

/// Opens the store, builds the app, listens on 127.0.0.1 and serves until
/// Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let db = Store::open(&config).await?;
    let chaos = if config.chaos {
        let settings = ChaosSettings {
            error503_rate: config.chaos_error503_rate,
            drop_before_rate: config.chaos_drop_before_rate,
            drop_after_commit_rate: config.chaos_drop_after_commit_rate,
            latency_rate: config.chaos_latency_rate,
            latency_ms: config.chaos_latency_ms,
        };
        let chaos = Chaos::new(settings)
            .map_err(|p| anyhow::anyhow!("invalid chaos flags: {}", p.detail))?;
        tracing::warn!("chaos mode is ON: {settings:?}");
        Some(Arc::new(chaos))
    } else {
        None
    };
    if config.no_idempotency {
        tracing::warn!("the idempotency layer is OFF (--no-idempotency): retried writes will be executed twice");
    }
    let (stats, duplicates) = db.load_stats().await?;
    let stats = Arc::new(stats);
    let metrics = Arc::new(Metrics::new().context("registering the metrics")?);
    metrics
        .duplicate_invoice_numbers
        .set(i64::try_from(duplicates).unwrap_or(i64::MAX));
    anyhow::ensure!(
        duplicates == 0,
        "the database holds {duplicates} duplicate invoice or return numbers"
    );
    let state = AppState {
        db: db.clone(),
        stats: Arc::clone(&stats),
        metrics: Arc::clone(&metrics),
        metrics_token_sha256: config.metrics_token.as_deref().map(auth::token_sha256),
        enforcement: config.idempotency,
        inflight: Default::default(),
        claim_lease: config.claim_lease,
        key_ttl: config.key_ttl,
        max_body_bytes: config.max_body_bytes,
        chaos,
        auth_throttle: Arc::new(AuthThrottle::default()),
    };
    let app = routes::router(
        state,
        &Options {
            idempotency: !config.no_idempotency,
            www: config.www.clone(),
            pkg: config.pkg.clone(),
            allowed_hosts: Arc::new(AllowedHosts::new(BIND_IP, &config.allowed_hosts)),
        },
    );

    let shutdown = shutdown_signal()?;
    let listener = TcpListener::bind((BIND_IP, config.port))
        .await
        .with_context(|| format!("binding {BIND_IP}:{}", config.port))?;
    let address = listener.local_addr()?;
    // Tests and scripts wait for this line; print it only once the socket listens.
    println!("pos-server listening on http://{address}");
    tracing::info!(
        "database {}; idempotency {}, responses replayed for {} (published at /.well-known/idempotency); /metrics {}",
        db.describe(&config),
        if config.no_idempotency { "off" } else { config.idempotency.as_str() },
        humantime::format_duration(config.key_ttl),
        if config.metrics_token.is_some() { "on" } else { "off (no --metrics-token)" }
    );

    let schedule = idempotency::PurgeSchedule {
        interval: config.purge_interval,
        batch: config.purge_batch,
    };
    let purge = idempotency::spawn_purge(db, schedule, stats, metrics);
    let limits = ConnectionLimits {
        max_connections: config.max_connections,
        header_timeout: config.header_timeout,
    };
    serve(listener, app, limits, shutdown).await;
    purge.abort();
    println!("pos-server stopped");
    Ok(())
}

/// A future that resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are
/// installed by this call, before the server announces its address, so a
/// signal sent as soon as it listens already shuts it down gracefully.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    })
}

/// Accepts connections until `shutdown` (at most `limits.max_connections` at
/// once), then closes idle ones and lets open requests finish (up to
/// [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections as usize));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES);
    let (in_flight, requests_done) = watch::channel(0usize);
    let in_flight = Arc::new(in_flight);
    let mut accept_errors = AcceptErrorLog::default();
    tokio::pin!(shutdown);
    loop {
        let (permit, (stream, peer)) = tokio::select! {
            accepted = accept(&listener, &permits) => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_errors.record(&e);
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY on {peer}: {e}");
        }
        let app = app.clone();
        let in_flight = in_flight.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let app = app.clone();
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let request_guard = RequestInFlight::new(in_flight.clone());
            async move {
                let response = app
                    .oneshot(request)
                    .await
                    .unwrap_or_else(|never| match never {});
                if response.extensions().get::<DropConnection>().is_some() {
                    // hyper closes the connection without writing a response.
                    Err(ConnectionDropped)
                } else {
                    // The request counts as in flight until hyper has taken
                    // the whole body and drops it.
                    Ok(response.map(|body| {
                        Body::new(body.map_frame(move |frame| {
                            let _in_flight = &request_guard;
                            frame
                        }))
                    }))
                }
            }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    // Idle connections close at once; one that never completed a request head
    // (slowloris, or silent) does not hold the exit: once no request is being
    // handled, the process stops.
    let mut requests_done = requests_done;
    tokio::select! {
        () = graceful.shutdown() => {}
        _ = requests_done.wait_for(|n| *n == 0) => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("open requests did not finish within {SHUTDOWN_GRACE:?}"),
    }
}

/// Counts a request from when its head is read until its response body has
/// been handed to hyper whole.
struct RequestInFlight(Arc<watch::Sender<usize>>);

impl RequestInFlight {
    fn new(count: Arc<watch::Sender<usize>>) -> Self {
        count.send_modify(|n| *n += 1);
        Self(count)
    }
}

impl Drop for RequestInFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// Waits for a free connection slot, then for a connection.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> std::io::Result<(OwnedSemaphorePermit, (TcpStream, SocketAddr))> {
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .expect("the connection semaphore is never closed");
    Ok((permit, listener.accept().await?))
}

/// Logs failed `accept` calls at most once a second, with the number of
/// failures not logged since: out of descriptors, they come thousands a second.
struct AcceptErrorLog {
    limiter: DefaultDirectRateLimiter,
    unlogged: u64,
}

impl Default for AcceptErrorLog {
    fn default() -> Self {
        Self {
            limiter: DefaultDirectRateLimiter::direct(Quota::per_second(
                NonZeroU32::new(1).expect("one is not zero"),
            )),
            unlogged: 0,
        }
    }
}

impl AcceptErrorLog {
    fn record(&mut self, error: &std::io::Error) {
        if self.limiter.check().is_ok() {
            tracing::warn!(
                "accept failed: {error} ({} more failures since the last warning)",
                self.unlogged
            );
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
    }
}
