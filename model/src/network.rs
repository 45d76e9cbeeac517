//! The network between the pages and the server: requests and responses in
//! flight, in no particular order. Any of them can be lost (a fault the
//! bounds allow a few of); a response nobody waits for any more is dropped
//! when it arrives.

use pos_resilience::retry::AttemptOutcome;

use crate::world::{ClientId, Sale};

/// The Retry-After the server sends with a 409 while a key is in flight.
pub const IN_FLIGHT_RETRY_AFTER_MS: f64 = 1_000.0;

/// Who sent a request: a live call or a drain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sender {
    /// The live call of `post()`.
    Call,
    /// A drain replaying the outbox.
    Drain,
}

/// Names one send: which client sent which sale, how, and which send of it
/// this was; a response carries it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    /// The page that sent it.
    pub client: ClientId,
    /// Live call or drain.
    pub by: Sender,
    /// The sale (and so the idempotency key and the body).
    pub sale: Sale,
    /// The attempt number of the call, or the record's send count for a drain.
    pub attempt: u32,
}

/// What came back for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Answer {
    /// 201: the sale, executed now or replayed.
    Created,
    /// 409 with Retry-After: the key is being executed by another request.
    KeyInFlight,
    /// No HTTP answer: the server was down, or died mid-request.
    ConnectionFailed,
}

impl Answer {
    /// The attempt outcome the SDK's decisions read.
    pub fn outcome(self) -> AttemptOutcome {
        match self {
            Answer::Created => AttemptOutcome::Response { status: 201, has_retry_after: false, retry_after_ms: None },
            Answer::KeyInFlight => AttemptOutcome::Response { status: 409, has_retry_after: true, retry_after_ms: Some(IN_FLIGHT_RETRY_AFTER_MS) },
            Answer::ConnectionFailed => AttemptOutcome::Network,
        }
    }
}

/// A response on its way back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Response {
    /// The send it answers.
    pub tag: Tag,
    /// What the server said.
    pub answer: Answer,
}

/// Everything in flight, kept sorted so that equal situations are equal states.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Network {
    /// Requests not yet at the server.
    pub requests: Vec<Tag>,
    /// Responses not yet at their page.
    pub responses: Vec<Response>,
}

impl Network {
    /// Puts a request on the wire.
    pub fn send(&mut self, tag: Tag) {
        self.requests.push(tag);
        self.requests.sort();
    }

    /// Puts a response on the wire.
    pub fn answer(&mut self, tag: Tag, answer: Answer) {
        self.responses.push(Response { tag, answer });
        self.responses.sort();
    }

    /// Takes a request off the wire (it arrived or was lost).
    pub fn take_request(&mut self, tag: Tag) {
        if let Some(at) = self.requests.iter().position(|r| *r == tag) {
            self.requests.remove(at);
        }
    }

    /// Takes a response off the wire (it arrived or was lost).
    pub fn take_response(&mut self, response: Response) {
        if let Some(at) = self.responses.iter().position(|r| *r == response) {
            self.responses.remove(at);
        }
    }

    /// Whether the request or a response of `tag` is still on its way: a
    /// timeout then gives up on an answer that could still arrive.
    pub fn carries(&self, tag: Tag) -> bool {
        self.requests.contains(&tag) || self.responses.iter().any(|r| r.tag == tag)
    }

    /// Forgets the responses to a page that died: nobody can read them.
    pub fn forget_responses_to(&mut self, client: ClientId) {
        self.responses.retain(|r| r.tag.client != client);
    }
}
