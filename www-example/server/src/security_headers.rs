//! Response headers that confine the demo page: a Content-Security-Policy that
//! allows only the page's own scripts, styles and the SDK's WebAssembly, no
//! framing by other sites, and no MIME sniffing. Set on every response, so an
//! API answer opened in a browser tab is confined the same way.

use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// The page loads `/app.js`, `/style.css` and `/pkg/*` from its own origin,
/// fetches the API and the `.wasm` file from it, and compiles WebAssembly
/// (`'wasm-unsafe-eval'`: Chromium refuses `WebAssembly.instantiate` under a
/// CSP without it). Its icon is a `data:` URL. Nothing else is allowed: no
/// inline script or style, no plugins, no `<base>`, no form posts, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; \
     script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; \
     img-src 'self' data:; \
     connect-src 'self'; \
     manifest-src 'self'; \
     base-uri 'none'; \
     form-action 'none'; \
     frame-ancestors 'none'";

/// Adds the security headers to every response of `router` (a handler's own
/// value wins).
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // For browsers that predate CSP `frame-ancestors`.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}
