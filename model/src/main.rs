//! pos-model: checks the exactly-once protocol of pos-resilience (pages,
//! outbox, drains, network, server) against every interleaving within the
//! bounds, calling the SDK's own decisions.
//!
//! `pos-model check` checks the protocol as built, with Web Locks and with
//! the lease; `pos-model mutants` checks each negative control and passes
//! only when every one yields a counterexample. See README.md.

mod bounds;
mod browser;
mod mutants;
mod network;
mod properties;
mod protocol;
mod server;
mod trace;
mod world;

use std::process::ExitCode;
use std::time::Instant;

use stateright::{Checker, HasDiscoveries, Model};

use crate::bounds::{scenario, Scenario, SCENARIOS};
use crate::mutants::Mutant;
use crate::protocol::Protocol;

/// Worker threads of the checker (the machine has two cores).
const THREADS: usize = 2;

/// How the state space is searched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Search {
    /// Depth first: little memory, for the full check.
    DepthFirst,
    /// Breadth first: the shortest counterexample, for the negative controls.
    BreadthFirst,
}

/// What one run of the checker found.
struct Outcome {
    /// Names of `always` properties with a counterexample.
    broken: Vec<&'static str>,
    /// Names of `sometimes` properties reached.
    reached: Vec<&'static str>,
}

/// Runs the checker on `scenario` with `mutant`, prints its figures and
/// every failure (with its trace), and returns what failed. It stops at
/// the first counterexample.
fn check(scenario: &Scenario, mutant: Mutant, search: Search) -> Outcome {
    println!("== scenario {} ({:?}; {}), mutant {}", scenario.name, scenario.exclusion, scenario.covers, mutant.name());
    let started = Instant::now();
    let builder = Protocol::new(scenario, mutant).checker().threads(THREADS).finish_when(HasDiscoveries::AnyFailures);
    match search {
        Search::DepthFirst => report(builder.spawn_dfs().join(), started),
        Search::BreadthFirst => report(builder.spawn_bfs().join(), started),
    }
}

/// Prints a finished check's figures and discoveries.
fn report(checker: impl Checker<Protocol>, started: Instant) -> Outcome {
    println!(
        "   states explored {}, unique states {}, max depth {}, {:.1} s",
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        started.elapsed().as_secs_f64()
    );
    let mut outcome = Outcome { broken: vec![], reached: vec![] };
    for property in checker.model().properties() {
        let found = checker.discovery(property.name);
        match (property.expectation.discovery_is_failure(), found) {
            (true, Some(path)) => {
                println!("   COUNTEREXAMPLE: {}\n{}", property.name, trace::render(checker.model(), &property, path));
                outcome.broken.push(property.name);
            }
            (true, None) => println!("   holds: {}", property.name),
            (false, Some(_)) => {
                println!("   reached: {}", property.name);
                outcome.reached.push(property.name);
            }
            (false, None) => println!("   not reached here: {}", property.name),
        }
    }
    outcome
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| args.iter().find_map(|a| a.strip_prefix(name)).map(str::to_owned);
    let only = match option("--scenario=").map(|name| scenario(&name)) {
        None => None,
        Some(Some(s)) => Some(s),
        Some(None) => return usage("unknown scenario"),
    };
    let started = Instant::now();
    match args.first().map(String::as_str) {
        Some("check") => {
            let mutant = match option("--mutant=").map(|name| Mutant::parse(&name)) {
                None => Mutant::None,
                Some(Some(m)) => m,
                Some(None) => return usage("unknown mutant"),
            };
            let (mut broken, mut reached) = (vec![], vec![]);
            for scenario in SCENARIOS.iter().filter(|s| only.is_none_or(|o| o.name == s.name)) {
                let outcome = check(scenario, mutant, Search::DepthFirst);
                broken.extend(outcome.broken);
                reached.extend(outcome.reached);
            }
            // A situation must be reached in some scenario, not in each.
            let sometimes = Protocol::new(&SCENARIOS[0], mutant).properties().into_iter().filter(|p| !p.expectation.discovery_is_failure());
            let unreached: Vec<&str> = sometimes.map(|p| p.name).filter(|name| !reached.contains(name)).collect();
            for name in &unreached {
                println!("NOT REACHED in any scenario: {name}");
            }
            let passed = broken.is_empty() && (only.is_some() || unreached.is_empty());
            let verdict = if passed { "every promise holds within the bounds" } else { "FAILED" };
            println!("model: {verdict} ({:.0} s)", started.elapsed().as_secs_f64());
            if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Some("mutants") => {
            let mut undetected = vec![];
            for (mutant, name) in Mutant::CONTROLS {
                let scenario = scenario(name).expect("a control's scenario exists");
                if check(scenario, mutant, Search::BreadthFirst).broken.is_empty() {
                    undetected.push(format!("{} in {}", mutant.name(), name));
                }
            }
            if undetected.is_empty() {
                println!("model-mutants: every negative control yields a counterexample ({:.0} s)", started.elapsed().as_secs_f64());
                ExitCode::SUCCESS
            } else {
                println!("model-mutants: FAILED, no counterexample for {}", undetected.join(", "));
                ExitCode::FAILURE
            }
        }
        _ => usage("expected a command"),
    }
}

fn usage(problem: &str) -> ExitCode {
    let mutants: Vec<&str> = Mutant::CONTROLS.iter().map(|(m, _)| m.name()).collect();
    let scenarios: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
    eprintln!("pos-model: {problem}");
    eprintln!("usage: pos-model check [--scenario=NAME] [--mutant=NAME]");
    eprintln!("       pos-model mutants");
    eprintln!("scenarios: {}", scenarios.join(", "));
    eprintln!("mutants: {}", mutants.join(", "));
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_negative_control_yields_a_counterexample() {
        for (mutant, name) in Mutant::CONTROLS {
            let outcome = check(scenario(name).expect("a scenario"), mutant, Search::BreadthFirst);
            assert!(!outcome.broken.is_empty(), "{} in {name} went unnoticed", mutant.name());
        }
    }
}
