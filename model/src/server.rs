//! The POS server's idempotency (docs/spec.md §3): per key an in-flight claim
//! (a second request meanwhile gets 409 + Retry-After), the stored response
//! (replayed until purged), and the key kept on the sale row under a unique
//! constraint for as long as the row exists (a retry after the purge is
//! answered from the row). The server can be killed between its commit and
//! its answer; a restart loses the in-flight claims and keeps the rows.

use crate::mutants::Mutant;
use crate::network::{Answer, Network, Tag};
use crate::world::Sale;

/// The server's state that matters to exactly-once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Server {
    /// Whether the process is running.
    pub up: bool,
    /// Keys whose first request is executing (claims, lost on a kill).
    pub claims: Vec<Sale>,
    /// Requests executing: their transaction has not committed.
    pub executing: Vec<Tag>,
    /// Keys with a stored response (committed with the sale, purged after a TTL).
    pub stored_responses: Vec<Sale>,
    /// Per sale: how many sale rows it created (the property: never 2).
    pub executions: Vec<u8>,
}

/// What the server did with a request that reached it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// It answered at once.
    Answered,
    /// It answered from the sale row after the stored response was purged.
    AnsweredFromRow,
    /// It claimed the key and started the sale's transaction.
    Executing,
}

impl Server {
    /// A running server with no sales yet.
    pub fn new(sales: u8) -> Server {
        Server { up: true, executions: vec![0; sales as usize], ..Server::default() }
    }

    /// A request reaches the server.
    pub fn receive(&mut self, tag: Tag, network: &mut Network, mutant: Mutant) -> Arrival {
        let sale = tag.sale;
        let row_keeps_key = mutant != Mutant::ForgetKeyWithResponse;
        if !self.up {
            network.answer(tag, Answer::ConnectionFailed);
            Arrival::Answered
        } else if self.stored_responses.contains(&sale) {
            network.answer(tag, Answer::Created);
            Arrival::Answered
        } else if row_keeps_key && self.executions[sale as usize] > 0 {
            network.answer(tag, Answer::Created);
            Arrival::AnsweredFromRow
        } else if self.claims.contains(&sale) {
            network.answer(tag, Answer::KeyInFlight);
            Arrival::Answered
        } else {
            self.claims.push(sale);
            self.claims.sort();
            self.executing.push(tag);
            self.executing.sort();
            Arrival::Executing
        }
    }

    /// The sale's transaction commits (row, invoice number, stored
    /// response), the claim is released and the 201 goes out.
    pub fn commit(&mut self, tag: Tag, network: &mut Network) {
        self.executing.retain(|t| *t != tag);
        self.claims.retain(|s| *s != tag.sale);
        self.executions[tag.sale as usize] += 1;
        if !self.stored_responses.contains(&tag.sale) {
            self.stored_responses.push(tag.sale);
            self.stored_responses.sort();
        }
        network.answer(tag, Answer::Created);
    }

    /// The process is killed: open transactions roll back, their
    /// connections drop, the claims (in memory) are gone.
    pub fn kill(&mut self, network: &mut Network) {
        self.up = false;
        for tag in self.executing.drain(..) {
            network.answer(tag, Answer::ConnectionFailed);
        }
        self.claims.clear();
    }

    /// The background task purges the stored responses past their TTL.
    pub fn purge_stored_responses(&mut self) {
        self.stored_responses.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Sender;
    use crate::world::ClientId;

    fn send(attempt: u32) -> Tag {
        Tag { client: ClientId { tab: 0, life: 0 }, by: Sender::Call, sale: 0, attempt }
    }

    #[test]
    fn a_key_in_flight_gets_409_and_executes_once() {
        let (mut server, mut network) = (Server::new(1), Network::default());
        assert_eq!(server.receive(send(1), &mut network, Mutant::None), Arrival::Executing);
        assert_eq!(server.receive(send(2), &mut network, Mutant::None), Arrival::Answered);
        assert_eq!(network.responses[0].answer, Answer::KeyInFlight);
        server.commit(send(1), &mut network);
        assert_eq!(server.receive(send(3), &mut network, Mutant::None), Arrival::Answered);
        assert_eq!(server.executions, vec![1]);
    }

    #[test]
    fn after_the_purge_the_row_answers_unless_it_forgot_the_key() {
        let (mut server, mut network) = (Server::new(1), Network::default());
        server.receive(send(1), &mut network, Mutant::None);
        server.commit(send(1), &mut network);
        server.purge_stored_responses();
        assert_eq!(server.receive(send(2), &mut network, Mutant::None), Arrival::AnsweredFromRow);
        assert_eq!(server.receive(send(2), &mut network, Mutant::ForgetKeyWithResponse), Arrival::Executing);
    }

    #[test]
    fn a_kill_loses_claims_and_open_transactions_not_rows() {
        let (mut server, mut network) = (Server::new(1), Network::default());
        server.receive(send(1), &mut network, Mutant::None);
        server.kill(&mut network);
        assert!(server.claims.is_empty() && server.executing.is_empty());
        assert_eq!(network.responses[0].answer, Answer::ConnectionFailed);
        assert_eq!(server.receive(send(2), &mut network, Mutant::None), Arrival::Answered);
        server.up = true;
        assert_eq!(server.receive(send(2), &mut network, Mutant::None), Arrival::Executing);
    }
}
