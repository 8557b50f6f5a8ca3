//! Checkers for histories recorded by the robustness suite (issue 10):
//! linearizability of key-value operations, watch guarantees, lease
//! safety, lock safety; and, on failure, the smallest failing piece of
//! history to print.
//!
//! Logic without I/O (STYLE.md §1): clients record a [`Recorder`] of
//! [`Op`]s (times from one monotonic [`Clock`]) and logs of watchers,
//! leases and lock holds; the checkers take them and return verdicts and
//! [`Violation`]s. Nothing here talks to a server.
//!
//! Soundness rule for every checker: an operation whose outcome is unknown
//! is treated as "took effect once at some time after its invocation, or
//! never", so a timeout never produces a false alarm; a failure report is
//! evidence of a real anomaly (given correct recording).
//!
//! Module map: `history` (the model of a history and the recorder),
//! `model` (etcd register semantics), `linearizable` (Wing–Gong search),
//! `shrink` (minimal failing sub-history), `watch`, `lease`, `lock`, `error`;
//! `append`, `append_reads` and `txn_graph`: Elle-style (strict)
//! serializability of multi-key list-append transactions.
//!
//! ```
//! use etcd_checker::{check_linearizable, Bounds, Input, Op, Outcome, Output};
//! let put = Op { id: 0, client: 0, input: Input::Put { key: "k".into(), value: "1".into() },
//!                outcome: Outcome::Ok(Output::Put { rev: 2 }), invoke_ns: 0, complete_ns: 10 };
//! // A read after the put completed must see it; this one saw nothing.
//! let get = Op { id: 1, client: 1, input: Input::Get { key: "k".into() },
//!                outcome: Outcome::Ok(Output::Get(None)), invoke_ns: 20, complete_ns: 30 };
//! let report = check_linearizable(&[put, get], Bounds::default()).unwrap();
//! assert!(!report.ok());
//! assert_eq!(report.failures[0].minimal.len(), 2);
//! ```

#![deny(missing_docs)]

mod append;
mod append_reads;
mod error;
mod history;
mod lease;
mod linearizable;
mod lock;
mod model;
mod shrink;
mod txn_graph;
mod watch;

pub use append::{
    check_appends, Anomaly, AppendReport, AppendTxn, Mop, TxnOutcome, APPEND_TXNS_MAX,
    COMPONENTS_EXPLAINED_MAX,
};
pub use append_reads::READ_ANOMALIES_PER_KIND_MAX;
pub use error::CheckerError;
pub use history::{Clock, Guard, Input, Op, Outcome, Output, Pending, Recorder};
pub use lease::{check_leases, LeaseLog, LeaseRead};
pub use linearizable::{
    check_group, check_history, partition, Bounds, GroupResult, Verdict, OPS_PER_GROUP_MAX,
};
pub use lock::{check_locks, LockHold};
pub use model::{Cell, Rev, State};
pub use shrink::{cut_at, minimal_failing, SHRINK_CHECKS_MAX};
pub use txn_graph::{CycleClass, EdgeKind, CYCLE_SEARCH_STEPS_MAX};
pub use watch::{check_watches, EventKind, WatchEvent, WatcherLog};

/// One broken guarantee found by a checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which check (e.g. `watch-gap`, `lock-overlap`).
    pub check: &'static str,
    /// What was seen.
    pub detail: String,
}

impl Violation {
    /// A violation of `check`.
    pub fn new(check: &'static str, detail: String) -> Violation {
        Violation { check, detail }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.check, self.detail)
    }
}

/// A non-linearizable group with its smallest failing sub-history.
#[derive(Clone, Debug)]
pub struct LinearizabilityFailure {
    /// The group's keys.
    pub keys: Vec<String>,
    /// Ops in the group.
    pub ops: usize,
    /// A small sub-history that still fails, sorted by invocation.
    pub minimal: Vec<Op>,
}

/// The linearizability verdict on a whole history.
#[derive(Clone, Debug, Default)]
pub struct LinearizabilityReport {
    /// Every group's result.
    pub groups: Vec<GroupResult>,
    /// Groups proven non-linearizable.
    pub failures: Vec<LinearizabilityFailure>,
}

impl LinearizabilityReport {
    /// No group proven non-linearizable.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
    /// Groups whose search hit the bound.
    pub fn inconclusive(&self) -> Vec<&GroupResult> {
        self.groups
            .iter()
            .filter(|g| g.verdict == Verdict::Inconclusive)
            .collect()
    }
    /// The failures, rendered one op per line.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in &self.failures {
            s.push_str(&format!(
                "keys {:?} ({} ops) are not linearizable; smallest failing history ({} ops):\n",
                f.keys,
                f.ops,
                f.minimal.len()
            ));
            for op in &f.minimal {
                s.push_str(&format!("  {op}\n"));
            }
        }
        s
    }
}

/// Checks every key group of `ops` and shrinks each failing one.
pub fn check_linearizable(
    ops: &[Op],
    bounds: Bounds,
) -> Result<LinearizabilityReport, CheckerError> {
    let groups = check_history(ops, bounds)?;
    let mut failures = Vec::new();
    let parts = partition(ops);
    for g in &groups {
        if g.verdict != Verdict::NotLinearizable {
            continue;
        }
        let (_, group_ops) = parts
            .iter()
            .find(|(k, _)| *k == g.keys)
            .expect("group from the same partition");
        let mut minimal = minimal_failing(&g.keys, group_ops, bounds);
        minimal.sort_by_key(|o| (o.invoke_ns, o.id));
        failures.push(LinearizabilityFailure {
            keys: g.keys.clone(),
            ops: g.ops,
            minimal,
        });
    }
    Ok(LinearizabilityReport { groups, failures })
}
