//! What the reads of a list-append history reveal (see [`crate::append`]):
//! anomalies visible in single reads, the version order of each key (its
//! longest read, when all reads of it are prefixes of one another), lost
//! appends, and the ww / wr / rw edges those orders imply.
//!
//! Only reads of committed transactions count: an aborted or unknown
//! transaction's reads are not evidence of anything. A transaction's
//! "external" read of a key is one made before it appended to that key; its
//! later reads of the key are checked for internal consistency only.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::append::{render_list, Anomaly, AppendTxn, Keys, Mop, TxnOutcome};
use crate::txn_graph::{EdgeKind, Graph};
use crate::CheckerError;

/// Anomalies reported per kind by the read checks; the rest are counted.
pub const READ_ANOMALIES_PER_KIND_MAX: usize = 8;

/// Who appended a value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Writer {
    /// Index of the transaction in the history.
    pub(crate) txn: usize,
    /// Whether it was the transaction's last append to the key.
    pub(crate) last: bool,
}

/// Every append of the history: key -> value -> writer.
#[derive(Debug, Default)]
pub(crate) struct Writes {
    by_key: HashMap<String, HashMap<u64, Writer>>,
}

impl Writes {
    /// Indexes the appends; a value appended twice to one key is a
    /// recorder bug.
    pub(crate) fn index(txns: &[AppendTxn]) -> Result<Writes, CheckerError> {
        let mut w = Writes::default();
        for (i, t) in txns.iter().enumerate() {
            let mut last_of: HashMap<&str, u64> = HashMap::new();
            for m in &t.mops {
                if let Mop::Append { key, value } = m {
                    last_of.insert(key, *value);
                }
            }
            for m in &t.mops {
                let Mop::Append { key, value } = m else {
                    continue;
                };
                let writer = Writer {
                    txn: i,
                    last: last_of[key.as_str()] == *value,
                };
                if w.by_key
                    .entry(key.clone())
                    .or_default()
                    .insert(*value, writer)
                    .is_some()
                {
                    return Err(CheckerError::DuplicateAppend {
                        key: key.clone(),
                        value: *value,
                    });
                }
            }
        }
        Ok(w)
    }

    /// The writer of `value` at `key`.
    pub(crate) fn get(&self, key: &str, value: u64) -> Option<Writer> {
        self.by_key.get(key)?.get(&value).copied()
    }
}

/// Collects anomalies, keeping [`READ_ANOMALIES_PER_KIND_MAX`] per kind.
struct Capped<'a> {
    out: &'a mut Vec<Anomaly>,
    seen: BTreeMap<&'static str, usize>,
}

impl Capped<'_> {
    fn push(&mut self, kind: &'static str, txns: Vec<u64>, explanation: String) {
        let n = self.seen.entry(kind).or_default();
        *n += 1;
        if *n <= READ_ANOMALIES_PER_KIND_MAX {
            self.out.push(Anomaly {
                kind,
                txns,
                explanation,
            });
        }
    }

    fn finish(self) {
        for (kind, n) in self.seen {
            if n > READ_ANOMALIES_PER_KIND_MAX {
                self.out.push(Anomaly {
                    kind,
                    txns: vec![],
                    explanation: format!("... and {} more", n - READ_ANOMALIES_PER_KIND_MAX),
                });
            }
        }
    }
}

/// Committed transactions' reads with their lists: (txn index, key, list,
/// whether external).
fn committed_reads(txns: &[AppendTxn]) -> Vec<(usize, &str, &[u64], bool)> {
    let mut out = Vec::new();
    for (i, t) in txns.iter().enumerate() {
        if t.outcome != TxnOutcome::Committed {
            continue;
        }
        let mut appended: HashSet<&str> = HashSet::new();
        for m in &t.mops {
            match m {
                Mop::Read { key, list: Some(l) } => out.push((
                    i,
                    key.as_str(),
                    l.as_slice(),
                    !appended.contains(key.as_str()),
                )),
                Mop::Read { list: None, .. } => {}
                Mop::Append { key, .. } => {
                    appended.insert(key);
                }
            }
        }
    }
    out
}

/// G1a, G1b, garbage reads, duplicated appends and internal inconsistency.
pub(crate) fn read_anomalies(txns: &[AppendTxn], writes: &Writes, out: &mut Vec<Anomaly>) {
    let mut c = Capped {
        out,
        seen: BTreeMap::new(),
    };
    for (i, key, l, _) in committed_reads(txns) {
        let t = &txns[i];
        let mut distinct = HashSet::new();
        if let Some(dup) = l.iter().find(|e| !distinct.insert(**e)) {
            c.push(
                "duplicated-append",
                vec![t.id],
                format!("{key} holds {dup} more than once in {t}"),
            );
        }
        for &e in l {
            match writes.get(key, e) {
                None => c.push(
                    "garbage-read",
                    vec![t.id],
                    format!("{key} holds {e}, which nobody appended, in {t}"),
                ),
                Some(w) if txns[w.txn].outcome == TxnOutcome::Aborted => c.push(
                    "G1a",
                    vec![t.id, txns[w.txn].id],
                    format!(
                        "{t}\n  read {e} on {key}, appended by the aborted\n  {}",
                        txns[w.txn]
                    ),
                ),
                Some(_) => {}
            }
        }
        if let Some(w) = l.last().and_then(|&e| writes.get(key, e)) {
            if w.txn != i && !w.last {
                c.push(
                    "G1b",
                    vec![t.id, txns[w.txn].id],
                    format!(
                        "{t}\n  read {key} = {} ending in a value that was not the last append to {key} of\n  {}",
                        render_list(l),
                        txns[w.txn]
                    ),
                );
            }
        }
    }
    for t in txns.iter().filter(|t| t.outcome == TxnOutcome::Committed) {
        if let Some(why) = internal_inconsistency(t) {
            c.push("internal", vec![t.id], format!("{t}: {why}"));
        }
    }
    c.finish();
}

/// A read that disagrees with the transaction's own earlier reads and
/// appends of the key.
fn internal_inconsistency(t: &AppendTxn) -> Option<String> {
    // key -> (the list last read, if any; own appends since)
    let mut state: HashMap<&str, (Option<&[u64]>, Vec<u64>)> = HashMap::new();
    for m in &t.mops {
        match m {
            Mop::Read { key, list: Some(l) } => {
                let (prev, tail) = state.entry(key).or_default();
                let fits = match prev {
                    Some(p) => {
                        l.len() == p.len() + tail.len() && l.starts_with(p) && l.ends_with(tail)
                    }
                    None => l.ends_with(tail),
                };
                if !fits {
                    return Some(format!(
                        "read {key} = {} after its own earlier read {} and appends {}",
                        render_list(l),
                        prev.map_or("(none)".to_string(), render_list),
                        render_list(tail)
                    ));
                }
                *prev = Some(l);
                tail.clear();
            }
            Mop::Read { list: None, .. } => {}
            Mop::Append { key, value } => state.entry(key).or_default().1.push(*value),
        }
    }
    None
}

/// Each key's version order: its longest committed read, if every other
/// read of it is a prefix of that one and it has no repeated element;
/// reports keys whose reads disagree.
pub(crate) fn version_orders(
    txns: &[AppendTxn],
    out: &mut Vec<Anomaly>,
) -> BTreeMap<String, Vec<u64>> {
    let reads = committed_reads(txns);
    let mut longest: BTreeMap<&str, (usize, &[u64])> = BTreeMap::new();
    for &(i, key, l, _) in &reads {
        let e = longest.entry(key).or_insert((i, l));
        if l.len() > e.1.len() {
            *e = (i, l);
        }
    }
    let mut bad: BTreeMap<&str, ()> = BTreeMap::new();
    let mut c = Capped {
        out,
        seen: BTreeMap::new(),
    };
    for &(i, key, l, _) in &reads {
        let (j, long) = longest[key];
        if bad.contains_key(key) || long.starts_with(l) {
            continue;
        }
        bad.insert(key, ());
        c.push(
            "incompatible-order",
            vec![txns[i].id, txns[j].id],
            format!(
                "reads of {key} are not prefixes of one another: {:?} in T{} and {:?} in T{}",
                l, txns[i].id, long, txns[j].id
            ),
        );
    }
    c.finish();
    longest
        .into_iter()
        .filter(|(k, (_, l))| {
            let mut distinct = HashSet::new();
            !bad.contains_key(k) && l.iter().all(|e| distinct.insert(*e))
        })
        .map(|(k, (_, l))| (k.to_string(), l.to_vec()))
        .collect()
}

/// Values seen by committed reads, per key.
fn observed(txns: &[AppendTxn]) -> HashMap<&str, HashSet<u64>> {
    let mut seen: HashMap<&str, HashSet<u64>> = HashMap::new();
    for (_, key, l, _) in committed_reads(txns) {
        seen.entry(key).or_default().extend(l.iter().copied());
    }
    seen
}

/// Unknown transactions one of whose appends a committed read saw.
pub(crate) fn observed_writers(txns: &[AppendTxn], writes: &Writes) -> HashSet<usize> {
    let mut out = HashSet::new();
    for (key, values) in observed(txns) {
        for v in values {
            if let Some(w) = writes.get(key, v) {
                if txns[w.txn].outcome == TxnOutcome::Unknown {
                    out.insert(w.txn);
                }
            }
        }
    }
    out
}

/// Acknowledged appends no read ever saw, though a read of the key was
/// invoked after the append completed.
pub(crate) fn lost_appends(txns: &[AppendTxn], writes: &Writes, out: &mut Vec<Anomaly>) {
    let seen = observed(txns);
    // key -> (invocation, txn index, list) of each committed read
    type Reads<'a> = Vec<(u64, usize, &'a [u64])>;
    let mut reads_by_key: HashMap<&str, Reads> = HashMap::new();
    for (i, key, l, _) in committed_reads(txns) {
        reads_by_key
            .entry(key)
            .or_default()
            .push((txns[i].invoke_ns, i, l));
    }
    for r in reads_by_key.values_mut() {
        r.sort_unstable_by_key(|x| (x.0, x.1));
    }
    let mut c = Capped {
        out,
        seen: BTreeMap::new(),
    };
    for t in txns.iter().filter(|t| t.outcome == TxnOutcome::Committed) {
        for m in &t.mops {
            let Mop::Append { key, value } = m else {
                continue;
            };
            if seen.get(key.as_str()).is_some_and(|s| s.contains(value)) {
                continue;
            }
            debug_assert!(writes.get(key, *value).is_some());
            let Some(reads) = reads_by_key.get(key.as_str()) else {
                continue;
            };
            let after = reads.partition_point(|r| r.0 <= t.complete_ns);
            if let Some(&(_, r, l)) = reads.get(after) {
                c.push(
                    "lost-append",
                    vec![t.id, txns[r].id],
                    format!(
                        "{t}\n  was acknowledged, but no read ever saw {value} on {key}, e.g. the later\n  {} read {key} = {}",
                        txns[r],
                        render_list(l)
                    ),
                );
            }
        }
    }
    c.finish();
}

/// Adds the ww, wr and rw edges the version orders imply between graph
/// nodes (`node_of[txn]`); returns the interned keys the edges name.
pub(crate) fn dependency_edges(
    txns: &[AppendTxn],
    writes: &Writes,
    orders: &BTreeMap<String, Vec<u64>>,
    node_of: &[Option<usize>],
    graph: &mut Graph,
) -> Keys {
    let mut keys = Keys::default();
    let node = |key: &str, v: u64| writes.get(key, v).and_then(|w| node_of[w.txn]);
    for (key, order) in orders {
        let k = keys.intern(key);
        for pair in order.windows(2) {
            if let (Some(a), Some(b)) = (node(key, pair[0]), node(key, pair[1])) {
                graph.add(a, b, EdgeKind::Ww, Some(k));
            }
        }
    }
    for (i, key, l, external) in committed_reads(txns) {
        let (Some(reader), Some(order), true) = (node_of[i], orders.get(key), external) else {
            continue;
        };
        let k = keys.intern(key);
        let from = l.last().and_then(|&v| node(key, v));
        if let Some(from) = from {
            graph.add(from, reader, EdgeKind::Wr, Some(k));
        }
        // The reader precedes whoever appended the element after its read,
        // unless that was itself (then ww edges order the rest) or the
        // writer it read from (an intermediate read, reported as G1b).
        if let Some(to) = order.get(l.len()).and_then(|&v| node(key, v)) {
            if Some(to) != from {
                graph.add(reader, to, EdgeKind::Rw, Some(k));
            }
        }
    }
    keys
}
