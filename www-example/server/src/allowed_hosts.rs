//! The `Host` check: a request is served only when it names one of the
//! configured host names. A web page on another site can make a browser send
//! requests to this server by pointing its own DNS name at 127.0.0.1 (DNS
//! rebinding); the browser then treats the answers as same-origin to that page,
//! but still sends the page's host name, which is refused here.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// The host names (without port) requests may name.
#[derive(Debug, Clone)]
pub struct AllowedHosts(BTreeSet<String>);

impl AllowedHosts {
    /// The loopback names, the address the server listens on, and `extra`
    /// (names a proxy or the shop's DNS uses). Compared case-insensitively.
    pub fn new(bind: IpAddr, extra: &[String]) -> Self {
        let ip = match bind {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let names = ["localhost", "127.0.0.1", "[::1]"]
            .into_iter()
            .map(str::to_owned)
            .chain([ip])
            .chain(extra.iter().map(|h| h.trim().to_ascii_lowercase()));
        AllowedHosts(names.collect())
    }

    /// Whether the `Host` value (`name` or `name:port`) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() && !port.contains(']') => name,
            _ => host.as_str(),
        };
        self.0.contains(name)
    }
}

/// Middleware: answers 421 unless the request's host (the `Host` header, or
/// the HTTP/2 `:authority`) is allowed.
pub async fn check(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .map(str::to_owned);
    match host {
        Some(host) if allowed.allows(&host) => next.run(request).await,
        Some(host) => Problem::new(
            StatusCode::MISDIRECTED_REQUEST,
            "host-not-allowed",
            "Host not allowed",
            format!("this server does not answer for host {host:?}; start it with --allowed-host {host} if that name is really its own"),
        )
        .into_response(),
        None => Problem::invalid_input("the request has no Host header").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_bind_address_and_extra_names_are_allowed_with_any_port() {
        let hosts = AllowedHosts::new("127.0.0.1".parse().unwrap(), &["Till.Example".into()]);
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:8080",
            "[::1]",
            "LOCALHOST",
            "till.example:443",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.2",
            "",
            ":8080",
            "[::2]:80",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
    }
}
