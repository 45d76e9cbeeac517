//! The in-flight guard of the SQLite store: at most one request per
//! idempotency scope executes at a time. It lives in memory because this
//! process is the only writer of its database; a crash frees every key with the
//! process, so no key can stay stuck. (On PostgreSQL, shared by several
//! instances, the claim is a row with a lease instead: see [`super::claim`].)

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The idempotency scope of docs/spec.md §3: one tenant's and one user's key space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The caller's business.
    pub business_id: i64,
    /// The caller's cashier (user).
    pub cashier_id: i64,
    /// The `Idempotency-Key` value.
    pub key: String,
}

/// The set of scopes with a request in progress.
#[derive(Debug, Default)]
pub struct InFlight {
    scopes: Mutex<HashSet<Scope>>,
}

/// Proof that a scope is held; dropping it releases the scope.
#[derive(Debug)]
pub struct InFlightGuard {
    registry: Arc<InFlight>,
    scope: Scope,
}

impl InFlight {
    /// Claims `scope`, or returns `None` if a request with it is in progress.
    pub fn try_acquire(self: &Arc<Self>, scope: Scope) -> Option<InFlightGuard> {
        let mut scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        scopes.insert(scope.clone()).then(|| InFlightGuard {
            registry: Arc::clone(self),
            scope,
        })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.registry
            .scopes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(business_id: i64, cashier_id: i64, key: &str) -> Scope {
        Scope {
            business_id,
            cashier_id,
            key: key.into(),
        }
    }

    #[test]
    fn one_holder_per_scope_until_dropped() {
        let registry = Arc::new(InFlight::default());
        let first = registry.try_acquire(scope(1, 1, "k")).expect("free");
        assert!(registry.try_acquire(scope(1, 1, "k")).is_none());
        assert!(
            registry.try_acquire(scope(2, 1, "k")).is_some(),
            "other business, other scope"
        );
        assert!(
            registry.try_acquire(scope(1, 2, "k")).is_some(),
            "other cashier, other scope"
        );
        drop(first);
        assert!(registry.try_acquire(scope(1, 1, "k")).is_some());
        for s in [scope(1, 1, "k"), scope(2, 1, "k"), scope(1, 2, "k")] {
            assert!(
                registry.try_acquire(s).is_some(),
                "every dropped guard released its scope"
            );
        }
    }
}
