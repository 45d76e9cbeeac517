//! Negative controls: each mutant turns off one rule of the protocol by
//! wrapping the SDK's real decision (or the server's rule) in the model,
//! never by changing the SDK. The checker must find a counterexample for
//! every one of them; a rule whose removal goes unnoticed is not checked.

use pos_resilience::outbox::ownership::{claim, Claim, Owner};
use pos_resilience::outbox::policy::lease_available;

use crate::world::{ClientId, Millis};

/// Which rule is turned off (`None`: the protocol as built).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutant {
    /// Every rule on.
    None,
    /// The drain sends records owned by a live call.
    IgnoreOwnership,
    /// The drain deletes a record as it sends it, before its answer arrives.
    DeleteBeforeAnswer,
    /// The sale row does not keep its key: once the stored response is
    /// purged, the server forgets the key.
    ForgetKeyWithResponse,
    /// No write-ahead: a live call's record is written only when it gives up.
    NoWriteAhead,
    /// The drain's Web Lock and lease admit every page.
    NonExclusiveDrain,
}

impl Mutant {
    /// Every negative control, with the scenario whose faults expose it.
    pub const CONTROLS: [(Mutant, &'static str); 6] = [
        (Mutant::IgnoreOwnership, "crashes"),
        (Mutant::DeleteBeforeAnswer, "crashes"),
        (Mutant::ForgetKeyWithResponse, "key-expiry"),
        (Mutant::NoWriteAhead, "crashes"),
        (Mutant::NonExclusiveDrain, "crashes"),
        (Mutant::NonExclusiveDrain, "lease"),
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mutant::None => "none",
            Mutant::IgnoreOwnership => "ignore-ownership",
            Mutant::DeleteBeforeAnswer => "delete-before-answer",
            Mutant::ForgetKeyWithResponse => "forget-key-with-response",
            Mutant::NoWriteAhead => "no-write-ahead",
            Mutant::NonExclusiveDrain => "non-exclusive-drain",
        }
    }

    /// The mutant called `name`.
    pub fn parse(name: &str) -> Option<Mutant> {
        [Mutant::None].into_iter().chain(Mutant::CONTROLS.map(|(m, _)| m)).find(|m| m.name() == name)
    }

    /// The drain's rule for a record whose owner is `owner`.
    pub fn claim(self, owner: Owner) -> Claim {
        if self == Mutant::IgnoreOwnership {
            Claim::Drain
        } else {
            claim(owner)
        }
    }

    /// Whether `me` may take the drain lease now.
    pub fn lease_available(self, lease: Option<(ClientId, Millis)>, me: ClientId, now: Millis) -> bool {
        let holder = lease.map(|(id, _)| id.name());
        let until = lease.map_or(0, |(_, until)| until);
        self == Mutant::NonExclusiveDrain || lease_available(holder.as_deref(), until as f64, &me.name(), now as f64)
    }

    /// Whether `me` is granted the drain's Web Lock, held now by `holders`.
    pub fn lock_granted(self, holders: &[ClientId]) -> bool {
        self == Mutant::NonExclusiveDrain || holders.is_empty()
    }

    /// Whether a live call writes its record ahead of its first attempt.
    pub fn writes_ahead(self) -> bool {
        self != Mutant::NoWriteAhead
    }

    /// Whether a drain deletes a record when it sends it.
    pub fn deletes_on_send(self) -> bool {
        self == Mutant::DeleteBeforeAnswer
    }
}
