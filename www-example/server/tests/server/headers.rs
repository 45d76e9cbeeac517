//! The demo page's security headers: CSP (own scripts and the SDK's wasm only,
//! no framing) and `nosniff`, on pages, scripts and API answers alike.

use reqwest::Method;

use crate::harness::*;

/// The directives of a Content-Security-Policy value, by name.
fn directives(csp: &str) -> std::collections::HashMap<String, Vec<String>> {
    csp.split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace().map(str::to_owned);
            Some((words.next()?, words.collect()))
        })
        .collect()
}

#[tokio::test]
async fn page_scripts_and_api_answers_carry_csp_nosniff_and_no_framing() {
    let (_dir, db) = temp_db();
    let www = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let server = Server::start(&db, &["--www", www]).await;
    for (path, status) in [
        ("/", 200),
        ("/app.js", 200),
        ("/api/products", 401),
        ("/nope.js", 404),
    ] {
        let r = server.send(Method::GET, path, None).await;
        assert_eq!(r.status(), status, "{path}");
        let headers = r.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let csp = directives(headers["content-security-policy"].to_str().unwrap());
        assert_eq!(csp["frame-ancestors"], ["'none'"], "{path}");
        assert_eq!(csp["default-src"], ["'none'"], "{path}");
        assert_eq!(
            csp["script-src"],
            ["'self'", "'wasm-unsafe-eval'"],
            "{path}"
        );
        assert_eq!(
            csp["connect-src"],
            ["'self'"],
            "{path}: the API and the .wasm fetch"
        );
        assert_eq!(csp["style-src"], ["'self'"], "{path}");
        assert_eq!(
            csp["img-src"],
            ["'self'", "data:"],
            "{path}: the page's data: icon"
        );
    }
}
