//! Starts the real `pos-server` binary on a free 127.0.0.1 port with a temporary
//! SQLite file, and talks to it over HTTP.
//!
//! With `POS_TEST_DATABASE_URL` set (a `postgres://` URL of a throwaway server,
//! as `test-server.sh` starts one), every [`temp_db`] is a new PostgreSQL
//! database on that server instead (`CREATE DATABASE`, one per call, so tests
//! stay independent), and servers get `--database` for it and a short claim
//! lease ([`PG_CLAIM_LEASE`]) so a test that kills a server does not wait long.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Value};

/// The demo tokens seeded with `--demo` (docs/spec.md §3).
pub const CASHIER_1: &str = "demo-cashier-1";
pub const CASHIER_2: &str = "demo-cashier-2";
pub const CASHIER_3: &str = "demo-cashier-3";

/// The `--metrics-token` of the tests that read `/metrics`.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

/// The `--claim-lease` servers get on PostgreSQL unless a test names one.
pub const PG_CLAIM_LEASE: &str = "2s";

/// The environment variable naming the PostgreSQL server to test against.
pub const TEST_DATABASE_URL: &str = "POS_TEST_DATABASE_URL";

/// How long a server gets to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: PathBuf,
    /// HTTP client (connection pool) for this server.
    pub http: reqwest::Client,
}

/// A temporary directory holding a database file; on PostgreSQL also a new
/// database, whose URL the directory records for [`database_url`].
pub fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("pos.db");
    if let Some(server) = test_server_url() {
        let name = format!("pos_test_{}", uuid::Uuid::new_v4().simple());
        psql(&server, &format!("CREATE DATABASE {name}"));
        let (base, _) = server.rsplit_once('/').expect("a URL with a database name");
        std::fs::write(url_file(&db), format!("{base}/{name}")).expect("write the URL");
    }
    (dir, db)
}

/// The `POS_TEST_DATABASE_URL` of a PostgreSQL run, if this is one.
pub fn test_server_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL)
        .ok()
        .filter(|url| !url.is_empty())
}

/// Whether this run tests the PostgreSQL store.
pub fn on_postgres() -> bool {
    test_server_url().is_some()
}

/// On PostgreSQL, prints why the calling test does not apply there and
/// returns true (the test then returns); on SQLite returns false.
pub fn skip_on_postgres(why: &str) -> bool {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: {why}");
    }
    on_postgres()
}

fn url_file(db: &Path) -> PathBuf {
    db.with_file_name("database-url")
}

/// The PostgreSQL database of the temporary `db`, on a PostgreSQL run.
pub fn database_url(db: &Path) -> Option<String> {
    std::fs::read_to_string(url_file(db)).ok()
}

/// Runs `sql` with `psql` on `url`; returns its unaligned output (panics on
/// failure). Every statement of the tests is a fixed text.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned()
}

/// The first column of the first row of `sql` on the test's store, as text.
pub fn query_text(db: &Path, sql: &str) -> String {
    match database_url(db) {
        Some(url) => psql(&url, sql),
        None => rusqlite::Connection::open(db)
            .unwrap()
            .query_row(sql, [], |r| r.get::<_, String>(0))
            .unwrap(),
    }
}

/// A `pos-server` command on the store of `db`: `POS_DB`, and on PostgreSQL
/// `POS_DATABASE`.
pub fn pos_server(db: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pos-server"));
    command.env("POS_DB", db);
    match database_url(db) {
        Some(url) => command.env("POS_DATABASE", url),
        None => command.env_remove("POS_DATABASE"),
    };
    command
}

impl Server {
    /// Starts a demo server (`--demo`: demo data and tokens) on `db` with extra
    /// flags; returns once `/healthz` is 200.
    pub async fn start(db: &Path, args: &[&str]) -> Server {
        Server::start_production(db, &[&["--demo"], args].concat()).await
    }

    /// Starts a server on `db` with exactly `args` (no demo data unless they
    /// say `--demo`); returns once `/healthz` is 200.
    pub async fn start_production(db: &Path, args: &[&str]) -> Server {
        let log = db.with_extension(format!("log-{}", std::process::id()));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut command = pos_server(db);
        if database_url(db).is_some() && !args.contains(&"--claim-lease") {
            command.args(["--claim-lease", PG_CLAIM_LEASE]);
        }
        let mut child = command
            .args(args)
            .env("PORT", "0")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn pos-server");
        // The server prints its address once it listens; keep draining stdout so
        // it can never block on a full pipe.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("pos-server listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let base = match rx.recv_timeout(START_TIMEOUT) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "pos-server did not report its address within {START_TIMEOUT:?}; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client");
        let server = Server {
            child,
            base,
            log,
            http,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(r) = self.http.get(self.url("/healthz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "/healthz never answered 200; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    /// SIGTERM; returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(ok.success());
        self.child.wait().expect("wait")
    }

    /// A POST with bearer token, optional idempotency key and JSON body.
    pub fn post(
        &self,
        token: &str,
        path: &str,
        key: Option<&str>,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .post(self.url(path))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body).unwrap());
        if let Some(key) = key {
            rb = rb.header("Idempotency-Key", key);
        }
        rb
    }

    /// Sends [`Server::post`] and returns the response (panics on a network error).
    pub async fn send_post(
        &self,
        token: &str,
        path: &str,
        key: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        self.post(token, path, key, body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// `POST /api/sales` of `body` with `key`, sent again after each 409 with
    /// `Retry-After` (a claim still in flight, e.g. one left by a killed
    /// instance until its lease runs out) for up to 30 s; the final answer.
    pub async fn sell_until_answered(
        &self,
        token: &str,
        key: &str,
        body: &Value,
    ) -> reqwest::Response {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.sell(token, Some(key), body).await;
            if r.status() != 409 || !r.headers().contains_key("retry-after") {
                return r;
            }
            assert!(Instant::now() < deadline, "key {key} stayed in flight");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `POST /api/sales` of `body`; see [`Server::send_post`].
    pub async fn sell(&self, token: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
        self.send_post(token, "/api/sales", key, body).await
    }

    /// A bodiless request, with a bearer token when `token` is given; returns
    /// the response (panics on a network error).
    pub async fn send(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut rb = self.http.request(method.clone(), self.url(path));
        if let Some(token) = token {
            rb = rb.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        rb.send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// GET JSON with a bearer token; panics unless 200.
    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        let r = self.send(Method::GET, path, Some(token)).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("JSON")
    }

    /// The invoice numbers of the latest 200 sales (`GET /api/sales?limit=200`),
    /// in the listing's order.
    pub async fn invoice_numbers(&self, token: &str) -> Vec<String> {
        let listed = self.get_json(token, "/api/sales?limit=200").await;
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["invoiceNumber"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `GET /api/stats`.
    pub async fn stats(&self, token: &str) -> Value {
        self.get_json(token, "/api/stats").await
    }

    /// Waits (bounded) until the caller's business has `n` stored responses,
    /// e.g. 0 once the purge deleted the expired ones.
    pub async fn wait_stored_keys(&self, token: &str, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.stats(token).await["storedKeys"] != n {
            assert!(
                Instant::now() < deadline,
                "the business never had {n} stored keys; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /metrics` with `token`, parsed as Prometheus text (panics unless
    /// 200 and parseable).
    pub async fn metrics(&self, token: &str) -> prometheus_parse::Scrape {
        let r = self.send(Method::GET, "/metrics", Some(token)).await;
        assert_eq!(r.status(), 200, "GET /metrics");
        assert!(r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        let text = r.text().await.unwrap();
        for line in text.lines() {
            assert!(
                line.starts_with("# HELP ")
                    || line.starts_with("# TYPE ")
                    || line.split_once(' ').is_some_and(|(name, value)| {
                        !name.is_empty() && value.parse::<f64>().is_ok()
                    }),
                "not a Prometheus text line: {line:?}"
            );
        }
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .expect("Prometheus text")
    }

    /// The stock of the caller's product named `name`, and its id.
    pub async fn product(&self, token: &str, name: &str) -> (i64, i64) {
        let products = self.get_json(token, "/api/products").await;
        let p = products
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no product {name:?} in {products}"));
        (p["id"].as_i64().unwrap(), p["stock"].as_i64().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- pos-server log ({}) ----\n{}", self.base, self.log());
        }
    }
}

/// Runs `pos-server` with `args` on `db`, expecting it to refuse to start;
/// returns its stderr. Panics if it is still running after the start timeout
/// or exits successfully.
pub fn start_refused(db: &Path, args: &[&str]) -> String {
    let mut child = pos_server(db)
        .args(args)
        .env("PORT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pos-server");
    let deadline = Instant::now() + START_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pos-server {args:?} was still running after {START_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        !status.success(),
        "pos-server {args:?} started; stderr: {stderr}"
    );
    stderr
}

/// The value of the sample `name` whose labels include `labels` (0 when there
/// is none); a histogram's value is its count.
pub fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => panic!("{name} is a summary"),
        })
        .sum()
}

/// Server flags for the purge tests: metrics on, a purge every 100 ms in
/// batches of 500 (what [`assert_purged_in_batches`] checks).
pub const FAST_PURGE: [&str; 6] = ["--metrics-token", METRICS_TOKEN, "--purge-interval", "100ms", "--purge-batch", "500"];

/// Checks the purge's counters after it deleted `keys` expired keys with
/// `--purge-batch 500`: every key counted, in batches of at most 500.
pub fn assert_purged_in_batches(scrape: &prometheus_parse::Scrape, keys: u32) {
    assert_eq!(sample(scrape, "pos_idempotency_keys_purged_total", &[]), f64::from(keys));
    assert!(sample(scrape, "pos_idempotency_purge_batches_total", &[]) > f64::from(keys / 500), "batches of at most 500");
}

/// A sale body of `quantity` × `product_id`.
pub fn sale(product_id: i64, quantity: i64) -> Value {
    json!({ "locationId": "till-1", "items": [{ "productId": product_id, "quantity": quantity }] })
}

/// A fresh UUID v4 key.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether a response was replayed from the idempotency store.
pub fn replayed(r: &reqwest::Response) -> bool {
    r.headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

/// Sends all `requests` at once (each waits on one barrier before it goes)
/// and returns their responses in order.
pub async fn send_together(requests: Vec<reqwest::RequestBuilder>) -> Vec<reqwest::Response> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len()));
    let sent = requests.into_iter().map(|request| {
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            request.send().await.expect("response")
        }
    });
    futures::future::join_all(sent).await
}

/// Asserts a 201 that is not a replay (the request was executed now).
#[track_caller]
pub fn assert_executed(r: &reqwest::Response) {
    assert_eq!(r.status(), 201);
    assert!(!replayed(r));
}

/// The `invoiceNumber` of a sale response.
pub async fn invoice_number(r: reqwest::Response) -> String {
    r.json::<Value>().await.unwrap()["invoiceNumber"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asserts that a problem's `detail` mentions `needle`.
#[track_caller]
pub fn assert_detail_mentions(problem: &Value, needle: &str) {
    assert!(
        problem["detail"].as_str().unwrap().contains(needle),
        "{problem}"
    );
}

/// Asserts an RFC 9457 body of the given status whose `type` ends with `slug`.
pub async fn expect_problem(r: reqwest::Response, status: u16, slug: &str) -> Value {
    assert_eq!(r.status(), status, "status");
    assert_eq!(r.headers()[CONTENT_TYPE], "application/problem+json");
    let body: Value = r.json().await.expect("problem JSON");
    assert!(
        body["type"].as_str().is_some_and(|t| t.ends_with(slug)),
        "type {} should end with {slug}",
        body["type"]
    );
    assert_eq!(body["status"], status);
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

/// Checks that invoice numbers are `PREFIX-YYYYMM-NNNN` and, per month,
/// exactly 1..=n.
pub fn assert_gapless(prefix: &str, numbers: &[String]) {
    let mut by_period = std::collections::BTreeMap::<String, Vec<u64>>::new();
    for n in numbers {
        let parts: Vec<&str> = n.split('-').collect();
        assert_eq!(parts.len(), 3, "{n}");
        assert_eq!(parts[0], prefix, "{n}");
        assert!(
            parts[1].len() == 6 && parts[1].bytes().all(|b| b.is_ascii_digit()),
            "{n}"
        );
        assert!(parts[2].len() >= 4, "{n}");
        by_period
            .entry(parts[1].to_owned())
            .or_default()
            .push(parts[2].parse().unwrap());
    }
    for (period, mut seqs) in by_period {
        seqs.sort_unstable();
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(
            seqs,
            expected,
            "numbers of {period} are not exactly 1..={}",
            expected.len()
        );
    }
}
