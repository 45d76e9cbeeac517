//! The readiness probe of the write path: its own connection, on its own
//! thread, takes SQLite's write lock (`BEGIN IMMEDIATE`) and gives it back at
//! once. It proves that the file is writable and that the write lock can be
//! had within a short wait — without queueing behind the sales waiting for the
//! writer connection, or behind the blocking-thread pool they occupy.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::Connection;
use tokio::sync::oneshot;

/// How long the probe waits for the write lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(1);

/// How long a caller waits for the probe's answer in all.
pub const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// Handle to the probe thread.
#[derive(Clone)]
pub struct WriteProbe {
    requests: mpsc::SyncSender<oneshot::Sender<Result<(), String>>>,
}

impl WriteProbe {
    /// Opens the probe's connection to `path` and starts its thread.
    pub fn start(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening the readiness probe on {}", path.display()))?;
        conn.busy_timeout(LOCK_WAIT)?;
        // One probe runs at a time; a few more may wait, the rest are refused.
        let (requests, incoming) = mpsc::sync_channel::<oneshot::Sender<_>>(4);
        std::thread::Builder::new()
            .name("write-probe".into())
            .spawn(move || {
                for reply in incoming {
                    let _ = reply.send(take_write_lock(&conn));
                }
            })
            .context("starting the readiness probe thread")?;
        Ok(Self { requests })
    }

    /// Whether a write could start now; `Err` says why not. Answers within
    /// [`ANSWER_WAIT`].
    pub async fn check(&self) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .try_send(reply)
            .map_err(|_| "too many readiness probes at once".to_owned())?;
        match tokio::time::timeout(ANSWER_WAIT, answer).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err("the readiness probe thread has stopped".into()),
            Err(_) => Err(format!(
                "the write path did not answer within {ANSWER_WAIT:?}"
            )),
        }
    }
}

fn take_write_lock(conn: &Connection) -> Result<(), String> {
    conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
        .map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            format!("cannot take the database's write lock: {e}")
        })
}
