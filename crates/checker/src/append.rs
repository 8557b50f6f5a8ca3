//! Serializability of multi-key transactions over append-only lists, in
//! the manner of Elle's list-append checker (Kingsbury & Alvaro, "Elle:
//! inferring isolation anomalies from experimental observations", 2020),
//! as Jepsen used it on etcd.
//!
//! The model: every key holds a list of integers; a transaction reads some
//! lists and appends values to others, every `(key, value)` appended at
//! most once in a history. Because appends only extend a list, the
//! longest read of a key reveals the order of every version of it that any
//! read saw, and each read pins the reader between the version's writer and
//! the writer of the next element. From that:
//! 1. per-read anomalies: G1a (read an aborted append), G1b (read a
//!    transaction's intermediate state), garbage (an element never
//!    appended), duplicated appends, internal inconsistency, reads whose
//!    lists are not prefixes of one another (incompatible orders), and lost
//!    appends (acknowledged, yet absent from a read begun afterwards and
//!    from every other read);
//! 2. the dependency graph ([`crate::txn_graph`]) with ww, wr, rw and
//!    real-time edges, whose cycles are G0, G1c, G-single and G2, and
//!    their `-realtime` variants that break only strict serializability
//!    (which etcd claims).
//!
//! Outcomes follow the crate's soundness rule: a [`TxnOutcome::Committed`]
//! transaction took effect once between invocation and completion, an
//! [`TxnOutcome::Aborted`] one never did, and an [`TxnOutcome::Unknown`] one
//! may have at any time after invocation. An unknown transaction joins the
//! graph only once a committed read observed one of its appends (then it
//! certainly committed; its reads stay unknown and it precedes nothing in
//! real time).
//!
//! ```
//! use etcd_checker::{check_appends, AppendTxn, Mop, TxnOutcome};
//! let t = |id, mops, invoke_ns, complete_ns| AppendTxn {
//!     id, client: id as u32, mops, outcome: TxnOutcome::Committed, invoke_ns, complete_ns,
//! };
//! let append = |k: &str, v| Mop::Append { key: k.into(), value: v };
//! let read = |k: &str, l: &[u64]| Mop::Read { key: k.into(), list: Some(l.to_vec()) };
//! // Write skew: each read the other's key empty, then appended to its own.
//! let history = [
//!     t(1, vec![read("x", &[]), append("y", 1)], 0, 10),
//!     t(2, vec![read("y", &[]), append("x", 2)], 0, 10),
//!     t(3, vec![read("x", &[2]), read("y", &[1])], 20, 30),
//! ];
//! let report = check_appends(&history).unwrap();
//! assert_eq!(report.anomalies[0].kind, "G2");
//! ```

use std::collections::HashMap;
use std::fmt;

use crate::append_reads::{self, Writes};
use crate::txn_graph::{Cycle, Graph};
use crate::{CheckerError, Violation};

/// Upper bound on the transactions one check accepts.
pub const APPEND_TXNS_MAX: usize = 200_000;
/// Upper bound on cyclic components explained (each costs a bounded search).
pub const COMPONENTS_EXPLAINED_MAX: usize = 16;
/// Elements of a list shown in a rendered transaction (the newest ones).
const LIST_SHOWN: usize = 6;

/// One micro-operation of a transaction, in program order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mop {
    /// Read the whole list at `key`; `list` is what was seen (an absent key
    /// is the empty list), None if not known. Only a committed
    /// transaction's reads are evidence; the others' are ignored.
    Read {
        /// The key.
        key: String,
        /// The list read.
        list: Option<Vec<u64>>,
    },
    /// Append `value` to the list at `key`.
    Append {
        /// The key.
        key: String,
        /// The value, unique per key within a history.
        value: u64,
    },
}

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxnOutcome {
    /// Acknowledged: took effect once between invocation and completion.
    Committed,
    /// Definitely took no effect (e.g. its revision guard failed).
    Aborted,
    /// No answer: took effect once after invocation, or never.
    Unknown,
}

/// One transaction of one client, times from the run's [`crate::Clock`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppendTxn {
    /// Unique within a history.
    pub id: u64,
    /// The client (one transaction at a time).
    pub client: u32,
    /// What it did, in order.
    pub mops: Vec<Mop>,
    /// How it ended.
    pub outcome: TxnOutcome,
    /// Invocation time.
    pub invoke_ns: u64,
    /// Completion time; meaningless for [`TxnOutcome::Unknown`].
    pub complete_ns: u64,
}

impl AppendTxn {
    /// When it completed, if it did.
    pub fn completed_ns(&self) -> Option<u64> {
        (self.outcome != TxnOutcome::Unknown).then_some(self.complete_ns)
    }
}

/// Renders a list, eliding all but the newest [`LIST_SHOWN`] elements.
pub(crate) fn render_list(l: &[u64]) -> String {
    let shown = &l[l.len().saturating_sub(LIST_SHOWN)..];
    let body: Vec<String> = shown.iter().map(u64::to_string).collect();
    if shown.len() < l.len() {
        format!("[..{} more.. {}]", l.len() - shown.len(), body.join(" "))
    } else {
        format!("[{}]", body.join(" "))
    }
}

impl fmt::Display for AppendTxn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = |ns: u64| format!("{:.3}", ns as f64 / 1e9);
        let end = self.completed_ns().map_or("?".to_string(), t);
        let mops: Vec<String> = self
            .mops
            .iter()
            .map(|m| match m {
                Mop::Read { key, list: Some(l) } => format!("r({key})={}", render_list(l)),
                Mop::Read { key, list: None } => format!("r({key})=?"),
                Mop::Append { key, value } => format!("a({key},{value})"),
            })
            .collect();
        let outcome = match self.outcome {
            TxnOutcome::Committed => "committed",
            TxnOutcome::Aborted => "aborted",
            TxnOutcome::Unknown => "unknown",
        };
        write!(
            f,
            "T{} c{} [{}..{}] {} -> {outcome}",
            self.id,
            self.client,
            t(self.invoke_ns),
            end,
            mops.join(" ")
        )
    }
}

/// One anomaly, with the transactions that show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// Elle's name: `G0`, `G1a`, `G1b`, `G1c`, `G-single`, `G2` (each
    /// cycle class also as `…-realtime`), `internal`, `incompatible-order`,
    /// `duplicated-append`, `lost-append`, `garbage-read`.
    pub kind: &'static str,
    /// Ids of the transactions involved (a cycle's in cycle order).
    pub txns: Vec<u64>,
    /// What was seen: for a cycle, each transaction and the edge to the next.
    pub explanation: String,
}

/// The verdict on one list-append history.
#[derive(Clone, Debug, Default)]
pub struct AppendReport {
    /// Transactions checked: committed, aborted, unknown.
    pub counts: (usize, usize, usize),
    /// Unknown transactions found to have committed (an append was read).
    pub unknown_committed: usize,
    /// Dependency graph size: nodes, edges.
    pub graph: (usize, usize),
    /// Cyclic components found (only the first
    /// [`COMPONENTS_EXPLAINED_MAX`] are explained).
    pub cyclic_components: usize,
    /// Every anomaly, read anomalies first, then cycles.
    pub anomalies: Vec<Anomaly>,
}

impl AppendReport {
    /// No anomaly found.
    pub fn ok(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// The anomalies as the suite's violations (`append-<kind>`).
    pub fn violations(&self) -> Vec<Violation> {
        self.anomalies
            .iter()
            .map(|a| Violation::new("append", format!("{}: {}", a.kind, a.explanation)))
            .collect()
    }

    /// One line: sizes and the anomaly kinds.
    pub fn summary(&self) -> String {
        let mut kinds: Vec<&str> = self.anomalies.iter().map(|a| a.kind).collect();
        kinds.dedup();
        format!(
            "{} append txns ({} committed, {} aborted, {} unknown of which {} committed), graph {} nodes {} edges, {} cyclic components: {}",
            self.counts.0 + self.counts.1 + self.counts.2,
            self.counts.0,
            self.counts.1,
            self.counts.2,
            self.unknown_committed,
            self.graph.0,
            self.graph.1,
            self.cyclic_components,
            if kinds.is_empty() { "no anomaly".to_string() } else { kinds.join(", ") }
        )
    }
}

/// Checks a list-append history for every anomaly named in [`Anomaly::kind`].
pub fn check_appends(txns: &[AppendTxn]) -> Result<AppendReport, CheckerError> {
    if txns.len() > APPEND_TXNS_MAX {
        return Err(CheckerError::TooManyOps {
            group: "list-append transactions".into(),
            ops: txns.len(),
            limit: APPEND_TXNS_MAX,
        });
    }
    for t in txns {
        if let Some(c) = t.completed_ns() {
            if c < t.invoke_ns {
                return Err(CheckerError::CompletesBeforeInvoke {
                    id: t.id,
                    invoke_ns: t.invoke_ns,
                    complete_ns: c,
                });
            }
        }
    }
    let writes = Writes::index(txns)?;
    let mut anomalies = Vec::new();
    append_reads::read_anomalies(txns, &writes, &mut anomalies);
    let orders = append_reads::version_orders(txns, &mut anomalies);
    append_reads::lost_appends(txns, &writes, &mut anomalies);

    // Nodes: committed transactions and unknown ones seen to have committed.
    let observed = append_reads::observed_writers(txns, &writes);
    let mut node_of: Vec<Option<usize>> = vec![None; txns.len()];
    let mut members = Vec::new();
    for (i, t) in txns.iter().enumerate() {
        if t.outcome == TxnOutcome::Committed || observed.contains(&i) {
            node_of[i] = Some(members.len());
            members.push(i);
        }
    }
    let mut graph = Graph::new(members.len());
    let keys = append_reads::dependency_edges(txns, &writes, &orders, &node_of, &mut graph);
    let spans: Vec<(usize, u64, Option<u64>)> = members
        .iter()
        .enumerate()
        .map(|(n, &i)| (n, txns[i].invoke_ns, txns[i].completed_ns()))
        .collect();
    graph.add_realtime(&spans);

    let components = graph.cyclic_components();
    for comp in components.iter().take(COMPONENTS_EXPLAINED_MAX) {
        for cycle in graph.cycles_in(comp) {
            anomalies.push(explain_cycle(&cycle, txns, &members, &keys.names));
        }
    }
    let count = |o| txns.iter().filter(|t| t.outcome == o).count();
    Ok(AppendReport {
        counts: (
            count(TxnOutcome::Committed),
            count(TxnOutcome::Aborted),
            count(TxnOutcome::Unknown),
        ),
        unknown_committed: observed.len(),
        graph: (members.len(), graph.edges()),
        cyclic_components: components.len(),
        anomalies,
    })
}

/// A cycle as an anomaly: each transaction, then the edge to the next.
fn explain_cycle(cycle: &Cycle, txns: &[AppendTxn], members: &[usize], keys: &[String]) -> Anomaly {
    let kind = cycle.class().name();
    let ids: Vec<u64> = cycle.nodes.iter().map(|&n| txns[members[n]].id).collect();
    let mut s = format!("cycle of {} transactions:", cycle.nodes.len());
    for (i, &n) in cycle.nodes.iter().enumerate() {
        let (edge, key) = cycle.hops[i];
        let next = ids[(i + 1) % ids.len()];
        let on = key.map_or(String::new(), |k| format!(" on {}", keys[k as usize]));
        s.push_str(&format!(
            "\n  {}\n    -{}{on}-> T{next}",
            txns[members[n]],
            edge.name()
        ));
    }
    Anomaly {
        kind,
        txns: ids,
        explanation: s,
    }
}

/// Interns keys for the graph's edge witnesses.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    pub(crate) names: Vec<String>,
    index: HashMap<String, u32>,
}

impl Keys {
    /// The index of `key`, adding it if new.
    pub(crate) fn intern(&mut self, key: &str) -> u32 {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("fewer than 2^32 keys");
        self.names.push(key.to_string());
        self.index.insert(key.to_string(), i);
        i
    }
}

#[cfg(test)]
#[path = "append_tests.rs"]
mod tests;
