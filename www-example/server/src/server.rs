//! Startup and the accept loop. Connections are served with hyper-util rather
//! than `axum::serve` so that a response marked [`DropConnection`] (chaos) can
//! close its connection without sending anything, and so shutdown is graceful:
//! on Ctrl-C or SIGTERM the listener closes and open requests finish.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::allowed_hosts::AllowedHosts;
use crate::auth_throttle::AuthThrottle;
use crate::chaos::{Chaos, ChaosSettings, DropConnection};
use crate::config::Config;
use crate::db::{Db, DemoSeed};
use crate::idempotency;
use crate::routes::{self, AppState, Options};
use crate::stats::Stats;

/// The address the server listens on: loopback only.
const BIND_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// How long open connections get to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
    let path = config.db.clone();
    let synchronous = config.sqlite_synchronous;
    let demo = config.demo.then_some(DemoSeed {
        stock: config.seed_stock,
    });
    let db = tokio::task::spawn_blocking(move || Db::open(&path, synchronous, demo))
        .await
        .context("opening the database")??;
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
    let state = AppState {
        db: db.clone(),
        stats: Arc::new(Stats::default()),
        inflight: Default::default(),
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

    let listener = TcpListener::bind((BIND_IP, config.port))
        .await
        .with_context(|| format!("binding {BIND_IP}:{}", config.port))?;
    let address = listener.local_addr()?;
    // Tests and scripts wait for this line; print it only once the socket listens.
    println!("pos-server listening on http://{address}");
    tracing::info!(
        "database {}; idempotency keys kept {}",
        config.db.display(),
        humantime::format_duration(config.key_ttl)
    );

    let purge = idempotency::spawn_purge(db, config.purge_interval);
    serve(listener, app, shutdown_signal()).await;
    purge.abort();
    println!("pos-server stopped");
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// Accepts connections until `shutdown`, then lets open ones finish (up to
/// [`SHUTDOWN_GRACE`]).
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY on {peer}: {e}");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let app = app.clone();
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            async move {
                let response = app
                    .oneshot(request)
                    .await
                    .unwrap_or_else(|never| match never {});
                if response.extensions().get::<DropConnection>().is_some() {
                    // hyper closes the connection without writing a response.
                    Err(ConnectionDropped)
                } else {
                    Ok(response)
                }
            }
        });
        let connection = auto::Builder::new(TokioExecutor::new())
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("open connections did not finish within {SHUTDOWN_GRACE:?}"),
    }
}
