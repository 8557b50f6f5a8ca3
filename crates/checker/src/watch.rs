//! Watch guarantees (etcd's API guarantees for watch; what etcd's
//! robustness suite checks):
//! - ordered: each watcher's events are in strictly increasing
//!   `(revision, key)` order, so none is duplicated;
//! - complete: between its start revision and the revision it is known to
//!   have caught up to, a watcher sees every write that the KV history
//!   acknowledged on a key it watches, at the acknowledged revision;
//! - real: every event is a write some client made (same key and value),
//!   at the revision the client was told if the client was told one;
//! - agreed: any two watchers report identical events over the revisions
//!   both cover.

use std::collections::{BTreeMap, HashMap};

use crate::history::{Input, Op, Outcome, Output};
use crate::Violation;

/// What kind of change an event reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A put of this value.
    Put(String),
    /// A delete.
    Delete,
}

/// One watch event.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WatchEvent {
    /// The event's `mod_revision` (for a delete: the delete's revision).
    pub rev: i64,
    /// The key.
    pub key: String,
    /// Put or delete.
    pub kind: EventKind,
}

/// Everything one watcher saw (across reconnects, resuming after its last
/// event).
#[derive(Clone, Debug, Default)]
pub struct WatcherLog {
    /// A name for reports.
    pub name: String,
    /// Watched key prefix.
    pub prefix: String,
    /// First revision watched.
    pub start_rev: i64,
    /// The revision up to which the watcher is known to have every event
    /// (e.g. it saw a sentinel written last); 0 if unknown.
    pub caught_up_rev: i64,
    /// Events in the order received.
    pub events: Vec<WatchEvent>,
}

/// The writes the KV history says happened: `(rev, key) -> kind`.
fn acknowledged_writes(kv: &[Op]) -> BTreeMap<(i64, String), EventKind> {
    let mut out = BTreeMap::new();
    for op in kv {
        match (&op.input, &op.outcome) {
            (Input::Put { key, value }, Outcome::Ok(Output::Put { rev })) => {
                out.insert((*rev, key.clone()), EventKind::Put(value.clone()));
            }
            (Input::Delete { key }, Outcome::Ok(Output::Delete { deleted: true, rev })) => {
                out.insert((*rev, key.clone()), EventKind::Delete);
            }
            (
                Input::Txn { puts, .. },
                Outcome::Ok(Output::Txn {
                    succeeded: true,
                    rev,
                }),
            ) => {
                for (k, v) in puts {
                    out.insert((*rev, k.clone()), EventKind::Put(v.clone()));
                }
            }
            _ => {}
        }
    }
    out
}

/// Checks every watcher against the others and against the KV history.
pub fn check_watches(watchers: &[WatcherLog], kv: &[Op]) -> Vec<Violation> {
    let mut v = Vec::new();
    let acked = acknowledged_writes(kv);
    // Every (key, value) any client tried to put, with the revision if told.
    let mut attempted: HashMap<(&str, &str), Option<i64>> = HashMap::new();
    for op in kv {
        let rev = match op.outcome {
            Outcome::Ok(Output::Put { rev }) | Outcome::Ok(Output::Txn { rev, .. }) => Some(rev),
            _ => None,
        };
        match &op.input {
            Input::Put { key, value } => {
                attempted.insert((key, value), rev);
            }
            Input::Txn { puts, .. } => {
                for (k, val) in puts {
                    attempted.insert((k, val), rev);
                }
            }
            _ => {}
        }
    }
    for w in watchers {
        let mut last: Option<(i64, &str)> = None;
        for e in &w.events {
            if let Some((r, k)) = last {
                if (e.rev, e.key.as_str()) <= (r, k) {
                    v.push(Violation::new(
                        "watch-order",
                        format!("{}: event {}@{} after {}@{}", w.name, e.key, e.rev, k, r),
                    ));
                }
            }
            last = Some((e.rev, &e.key));
            if e.rev < w.start_rev || !e.key.starts_with(&w.prefix) {
                v.push(Violation::new(
                    "watch-range",
                    format!(
                        "{}: event {}@{} outside its watch (from {} on {:?})",
                        w.name, e.key, e.rev, w.start_rev, w.prefix
                    ),
                ));
            }
            if let EventKind::Put(val) = &e.kind {
                match attempted.get(&(e.key.as_str(), val.as_str())) {
                    None => v.push(Violation::new(
                        "watch-phantom",
                        format!(
                            "{}: put {}={} @{} was never written by a client",
                            w.name, e.key, val, e.rev
                        ),
                    )),
                    Some(Some(r)) if *r != e.rev => v.push(Violation::new(
                        "watch-revision",
                        format!(
                            "{}: put {}={} @{}, but the client was told rev {}",
                            w.name, e.key, val, e.rev, r
                        ),
                    )),
                    _ => {}
                }
            }
        }
        let seen: HashMap<(i64, &str), &EventKind> = w
            .events
            .iter()
            .map(|e| ((e.rev, e.key.as_str()), &e.kind))
            .collect();
        let upto = w.caught_up_rev;
        for ((rev, key), kind) in acked.range((w.start_rev, String::new())..) {
            if *rev > upto {
                break;
            }
            if !key.starts_with(&w.prefix) {
                continue;
            }
            match seen.get(&(*rev, key.as_str())) {
                None => v.push(Violation::new(
                    "watch-gap",
                    format!(
                        "{}: missed acknowledged write {key}@{rev} ({kind:?}); caught up to {upto}",
                        w.name
                    ),
                )),
                Some(k) if *k != kind => v.push(Violation::new(
                    "watch-mismatch",
                    format!("{}: {key}@{rev} is {k:?}, acknowledged as {kind:?}", w.name),
                )),
                _ => {}
            }
        }
    }
    for (i, a) in watchers.iter().enumerate() {
        for b in &watchers[i + 1..] {
            if a.prefix != b.prefix {
                continue;
            }
            let from = a.start_rev.max(b.start_rev);
            let to = a.caught_up_rev.min(b.caught_up_rev);
            let pick = |w: &WatcherLog| -> Vec<WatchEvent> {
                w.events
                    .iter()
                    .filter(|e| e.rev >= from && e.rev <= to)
                    .cloned()
                    .collect()
            };
            let (ea, eb) = (pick(a), pick(b));
            if ea != eb {
                let first = ea
                    .iter()
                    .zip(&eb)
                    .position(|(x, y)| x != y)
                    .unwrap_or(ea.len().min(eb.len()));
                v.push(Violation::new(
                    "watch-disagree",
                    format!(
                        "{} and {} differ over revisions {from}..={to} at event {first}: {:?} vs {:?}",
                        a.name,
                        b.name,
                        ea.get(first),
                        eb.get(first)
                    ),
                ));
            }
        }
    }
    v
}
