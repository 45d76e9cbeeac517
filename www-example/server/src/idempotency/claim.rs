//! The claim a request holds on its scope while it is processed: in memory on
//! SQLite ([`InFlightGuard`]), a `processing` row with a lease in the database
//! on PostgreSQL ([`DbClaim`]). Either is given up when the request is done;
//! a database claim that was not settled by a commit is deleted then, and one
//! left behind by a crashed instance lapses with its lease.

use std::sync::atomic::{AtomicBool, Ordering};

use super::inflight::{InFlightGuard, Scope};
use crate::pg::{keys, Pg};

/// A request's hold on its idempotency scope.
#[derive(Debug)]
pub enum Claim {
    /// SQLite: the in-process in-flight set.
    Memory(InFlightGuard),
    /// PostgreSQL: a `processing` row of `idempotency_keys`.
    Database(DbClaim),
}

impl Claim {
    /// The database claim, on PostgreSQL.
    pub fn database(&self) -> Option<&DbClaim> {
        match self {
            Claim::Memory(_) => None,
            Claim::Database(claim) => Some(claim),
        }
    }
}

/// A `processing` row of `idempotency_keys` this request created (or took
/// over), identified by its random token. Dropped unsettled — the request
/// failed, was refused before it ran, or its client went away — it deletes
/// the row in the background, so a retry need not wait for the lease.
pub struct DbClaim {
    pg: Pg,
    scope: Scope,
    token: String,
    settled: AtomicBool,
}

impl std::fmt::Debug for DbClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbClaim")
            .field("scope", &self.scope)
            .field("settled", &self.settled)
            .finish_non_exhaustive()
    }
}

impl DbClaim {
    /// The claim `token` holds on `scope` in `pg`.
    pub fn new(pg: Pg, scope: Scope, token: String) -> Self {
        Self {
            pg,
            scope,
            token,
            settled: AtomicBool::new(false),
        }
    }

    /// The claim token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Marks the row as dealt with (completed or deleted in a transaction
    /// that committed): nothing to clean up on drop.
    pub fn settle(&self) {
        self.settled.store(true, Ordering::Release);
    }
}

/// Deletes the claim `token` holds on `scope`; a failure is logged (the
/// claim then lapses with its lease).
async fn release(pg: &Pg, scope: &Scope, token: &str) {
    let released = match pg.client().await {
        Ok(client) => keys::release(&**client, scope, token)
            .await
            .map_err(|e| e.to_string()),
        Err(problem) => Err(problem.detail),
    };
    if let Err(e) = released {
        tracing::warn!("releasing a claim failed (it lapses with its lease): {e}");
    }
}

impl DbClaim {
    /// Deletes the row now unless it was settled; settles it.
    pub async fn release(&self) {
        if !self.settled.swap(true, Ordering::AcqRel) {
            release(&self.pg, &self.scope, &self.token).await;
        }
    }
}

impl Drop for DbClaim {
    fn drop(&mut self) {
        if self.settled.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (pg, scope, token) = (
            self.pg.clone(),
            self.scope.clone(),
            std::mem::take(&mut self.token),
        );
        runtime.spawn(async move { release(&pg, &scope, &token).await });
    }
}
