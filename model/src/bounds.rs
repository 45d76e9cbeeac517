//! The bounds of the check: the scenarios `make model` runs. Every scenario
//! has two tabs and two sales, and allows one or two kinds of fault at
//! most once each on every path; together they cover every fault the model
//! knows. (All faults at once are out of reach of a few minutes on two cores.)

use crate::protocol::Exclusion;
use crate::world::Budget;

/// One bounded configuration to check.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Its name on the command line and in the output.
    pub name: &'static str,
    /// The hard cases it covers.
    pub covers: &'static str,
    /// Web Locks or lease.
    pub exclusion: Exclusion,
    /// The faults allowed on every path.
    pub budget: Budget,
}

/// Tabs open on the origin.
pub const TABS: u8 = 2;

/// Sales the cashiers make.
pub const SALES: u8 = 2;

/// Retries of a live call after its first attempt (the SDK's default is 3;
/// one retry already reaches both the retry and the give-up decision).
pub const MAX_RETRIES: u32 = 1;

/// The outbox's `maxRetention`: the SDK's default, 7 days.
pub const MAX_RETENTION_MS: u64 = pos_resilience::defaults::MAX_RETENTION_MS as u64;

const NO_FAULTS: Budget = Budget { deaths: 0, losses: 0, offline_periods: 0, server_kills: 0, purges: 0, long_waits: 0, stalls: 0 };

/// The scenarios `make model` checks, in order.
pub const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "crashes",
        covers: "a page death, a request or response lost (or an early timeout), the server killed between commit and answer",
        exclusion: Exclusion::WebLocks,
        budget: Budget { deaths: 1, losses: 1, server_kills: 1, ..NO_FAULTS },
    },
    Scenario {
        name: "key-expiry",
        covers: "the server's stored responses purged, with a page death and a loss",
        exclusion: Exclusion::WebLocks,
        budget: Budget { deaths: 1, losses: 1, purges: 1, ..NO_FAULTS },
    },
    Scenario {
        name: "offline",
        covers: "the browser offline and back, records waiting past maxRetention",
        exclusion: Exclusion::WebLocks,
        budget: Budget { offline_periods: 1, long_waits: 1, ..NO_FAULTS },
    },
    Scenario {
        name: "lease",
        covers: "no Web Locks: the drain lease and heartbeats, a page death, a stall (a frozen tab loses its lease)",
        exclusion: Exclusion::Lease,
        budget: Budget { deaths: 1, stalls: 1, ..NO_FAULTS },
    },
];

/// The scenario called `name`.
pub fn scenario(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}
