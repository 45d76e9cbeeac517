//! Slow, idle and greedy clients: request heads must arrive within the header
//! timeout (idle keep-alive included), heads are at most 32 KiB, connections
//! beyond the cap wait for a free slot, and SIGTERM does not wait for sockets
//! that never send a request.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::harness::*;

/// Longest wait for anything the server is expected to do promptly.
const PROMPT: Duration = Duration::from_secs(5);

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Sends a complete `GET path` on `socket` and reads its whole response head
/// and (empty or short) body, leaving the connection open; returns the head.
async fn get_keep_alive(socket: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = socket.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Whether the server closes `socket` within [`PROMPT`] (EOF or reset).
async fn closed_by_server(socket: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + PROMPT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn idle_slow_and_kept_alive_connections_are_closed_after_the_header_timeout() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &["--header-timeout", "1s"]).await;
    let mut silent = connect(&server).await;
    let mut slowloris = connect(&server).await;
    slowloris
        .write_all(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: 1\r\n")
        .await
        .unwrap();
    let mut kept_alive = connect(&server).await;
    assert!(get_keep_alive(&mut kept_alive, "/livez")
        .await
        .starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    for (name, socket) in [
        ("silent", &mut silent),
        ("slowloris", &mut slowloris),
        ("kept alive", &mut kept_alive),
    ] {
        assert!(
            closed_by_server(socket).await,
            "the {name} connection is still open after {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn request_heads_over_32_kib_are_refused() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let get = |header_bytes: usize| {
        reqwest::Client::new()
            .get(server.url("/livez"))
            .header("x-padding", "p".repeat(header_bytes))
            .send()
    };
    assert_eq!(get(16 * 1024).await.unwrap().status(), 200);
    assert_eq!(get(40 * 1024).await.unwrap().status(), 431);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    const CAP: usize = 3;
    let (_dir, db) = temp_db();
    let server = Server::start(
        &db,
        &[
            "--max-connections",
            &CAP.to_string(),
            "--header-timeout",
            "60s",
        ],
    )
    .await;
    // The harness's client may keep one connection of the cap open: the
    // sockets fill the rest, each proven accepted by an answer.
    let mut open = Vec::new();
    let mut waiting = None;
    for _ in 0..=CAP {
        let mut socket = connect(&server).await;
        let request = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        socket.write_all(request).await.unwrap();
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(Duration::from_secs(1), socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => open.push(socket),
            Err(_) => {
                waiting = Some(socket);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut waiting = waiting.expect("a connection beyond the cap waits");
    assert!(
        (CAP - 1..=CAP).contains(&open.len()),
        "{} connections were served",
        open.len()
    );
    drop(open.pop());
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(PROMPT, waiting.read(&mut buf))
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn sigterm_does_not_wait_for_idle_or_slow_sockets() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let _silent = connect(&server).await;
    let mut slowloris = connect(&server).await;
    slowloris
        .write_all(b"GET /livez HTTP/1.1\r\nHost: 1")
        .await
        .unwrap();
    let mut kept_alive = connect(&server).await;
    get_keep_alive(&mut kept_alive, "/livez").await;
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "SIGTERM took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn sigterm_lets_a_sale_in_flight_finish_and_answer() {
    if skip_on_postgres(
        "it holds SQLite's write lock from another connection to keep a sale in flight",
    ) {
        return;
    }
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (croissant, _) = server.product(CASHIER_1, "Croissant").await;
    // Another process holds the write lock, so the sale waits inside its
    // handler until the lock is released.
    let blocker = rusqlite::Connection::open(&db).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let key = new_key();
    let send_sale = || {
        tokio::spawn(
            server
                .post(CASHIER_1, "/api/sales", Some(&key), &sale(croissant, 1))
                .send(),
        )
    };
    let mut in_flight = send_sale();
    // A request with the same key is refused with 409 once the sale is in
    // flight; until then it gets the 404 of a refund of no sale, which never
    // waits for the database. The probe holds the key while it is answered:
    // a sale that arrives just then is itself refused with 409, and is sent
    // again.
    let probe = serde_json::json!({"items": [{"productId": croissant, "quantity": 1}]});
    let deadline = Instant::now() + PROMPT;
    loop {
        let r = server
            .send_post(
                CASHIER_1,
                "/api/sales/no-such-sale/refund",
                Some(&key),
                &probe,
            )
            .await;
        match r.status().as_u16() {
            409 => break,
            404 => assert!(Instant::now() < deadline, "the sale never got in flight"),
            other => panic!("unexpected {other}"),
        }
        if in_flight.is_finished() {
            let refused = in_flight.await.unwrap().unwrap();
            assert_eq!(refused.status(), 409, "the sale was answered while the write lock was held");
            in_flight = send_sale();
        }
    }
    let base = server.base.clone();
    let stopping = tokio::task::spawn_blocking(move || server.terminate());
    // Once the listener is closed, the server is shutting down: release the lock.
    let deadline = Instant::now() + PROMPT;
    while TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "the listener stayed open after SIGTERM"
        );
        tokio::task::yield_now().await;
    }
    blocker.execute_batch("ROLLBACK").unwrap();
    let answer = in_flight
        .await
        .unwrap()
        .expect("the sale in flight is answered");
    assert_executed(&answer);
    assert!(stopping.await.unwrap().success());
}
