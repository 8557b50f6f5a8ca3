//! Linearizability of a history (Herlihy & Wing), decided by the
//! Wing–Gong search with Lowe's memoisation, as Porcupine does it.
//!
//! How it works:
//! - Ops are split into independent groups (P-compositionality: a history
//!   is linearizable iff each per-object sub-history is). Keys are joined
//!   into one group when an op (a multi-key txn) touches several.
//! - Each group's ops become call and return events in one list sorted by
//!   time (a call before a return at the same instant, so ties count as
//!   concurrent). An op with an unknown outcome returns at +infinity.
//! - The search repeatedly linearizes the first call whose model step
//!   succeeds, lifting it out of the list; meeting a return means the op it
//!   closes should already be linearized, so it backtracks. A set of
//!   (linearized ops, model state) pairs already explored prunes repeats.
//! - Success once every op with a known outcome is linearized: unknown ops
//!   left over are ops that never took effect.
//! - The search is bounded by [`Bounds::steps_max`]; hitting the bound gives
//!   [`Verdict::Inconclusive`], never a false verdict.

use std::collections::{BTreeMap, HashSet};

use crate::error::CheckerError;
use crate::history::{Input, Op, Outcome};
use crate::model::{self, Cell, State};

/// Largest number of ops one group may hold.
pub const OPS_PER_GROUP_MAX: usize = 200_000;

/// Search limits.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Search steps per group before giving up as inconclusive.
    pub steps_max: u64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            steps_max: 5_000_000,
        }
    }
}

/// The result for one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A linearization exists.
    Linearizable,
    /// None exists.
    NotLinearizable,
    /// The search hit its bound.
    Inconclusive,
}

/// The result for one group of keys.
#[derive(Clone, Debug)]
pub struct GroupResult {
    /// The group's keys, sorted.
    pub keys: Vec<String>,
    /// Ops checked (failed ops and unknown reads excluded).
    pub ops: usize,
    /// The verdict.
    pub verdict: Verdict,
    /// Search steps taken.
    pub steps: u64,
}

/// Splits ops into groups of keys that ops touch together; drops ops that
/// cannot matter (failed ops, reads with an unknown outcome).
pub fn partition(ops: &[Op]) -> Vec<(Vec<String>, Vec<Op>)> {
    // Union-find over keys.
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    fn find(p: &mut BTreeMap<String, String>, k: &str) -> String {
        let mut cur = k.to_string();
        loop {
            let up = p.get(&cur).cloned().unwrap_or_else(|| cur.clone());
            if up == cur {
                return cur;
            }
            cur = up;
        }
    }
    for op in ops {
        let keys = op.input.keys();
        for k in &keys {
            parent.entry(k.to_string()).or_insert_with(|| k.to_string());
        }
        let root = find(&mut parent, keys[0]);
        for k in &keys[1..] {
            let r = find(&mut parent, k);
            if r != root {
                parent.insert(r, root.clone());
            }
        }
    }
    let mut groups: BTreeMap<String, (Vec<String>, Vec<Op>)> = BTreeMap::new();
    let all: Vec<String> = parent.keys().cloned().collect();
    for k in all {
        let r = find(&mut parent, &k);
        groups.entry(r).or_default().0.push(k);
    }
    for op in ops {
        if relevant(op) {
            let r = find(&mut parent, op.input.keys()[0]);
            groups
                .get_mut(&r)
                .expect("group of a known key")
                .1
                .push(op.clone());
        }
    }
    groups.into_values().collect()
}

fn relevant(op: &Op) -> bool {
    match op.outcome {
        Outcome::Failed => false,
        Outcome::Unknown => op.input.is_write(),
        Outcome::Ok(_) => true,
    }
}

/// Checks every group of `ops`; returns one result per group.
pub fn check_history(ops: &[Op], bounds: Bounds) -> Result<Vec<GroupResult>, CheckerError> {
    validate(ops)?;
    let mut out = Vec::new();
    for (keys, group) in partition(ops) {
        if group.len() > OPS_PER_GROUP_MAX {
            return Err(CheckerError::TooManyOps {
                group: keys.join(","),
                ops: group.len(),
                limit: OPS_PER_GROUP_MAX,
            });
        }
        let (verdict, steps) = check_group(&keys, &group, bounds);
        out.push(GroupResult {
            keys,
            ops: group.len(),
            verdict,
            steps,
        });
    }
    Ok(out)
}

/// Rejects malformed histories.
pub fn validate(ops: &[Op]) -> Result<(), CheckerError> {
    for op in ops {
        if !matches!(op.outcome, Outcome::Unknown) && op.complete_ns < op.invoke_ns {
            return Err(CheckerError::CompletesBeforeInvoke {
                id: op.id,
                invoke_ns: op.invoke_ns,
                complete_ns: op.complete_ns,
            });
        }
        use crate::history::Output as O;
        let fits = match (&op.input, &op.outcome) {
            (_, Outcome::Failed | Outcome::Unknown) => true,
            (Input::Get { .. }, Outcome::Ok(O::Get(_)))
            | (Input::Put { .. }, Outcome::Ok(O::Put { .. }))
            | (Input::Delete { .. }, Outcome::Ok(O::Delete { .. }))
            | (Input::Txn { .. }, Outcome::Ok(O::Txn { .. })) => true,
            _ => false,
        };
        if !fits {
            return Err(CheckerError::MismatchedOutput {
                id: op.id,
                input: format!("{:?}", op.input),
                output: format!("{:?}", op.outcome),
            });
        }
    }
    Ok(())
}

const NIL: usize = usize::MAX;

struct Node {
    prev: usize,
    next: usize,
    /// Index into the group's ops.
    op: usize,
    is_call: bool,
    /// For a call: its return node.
    ret: usize,
}

struct List {
    nodes: Vec<Node>,
}

impl List {
    /// Node 0 is the head sentinel.
    fn build(ops: &[Op]) -> List {
        let mut events: Vec<(u64, u8, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            events.push((op.invoke_ns, 0, i));
            let ret = match op.outcome {
                Outcome::Unknown => u64::MAX,
                _ => op.complete_ns,
            };
            events.push((ret, 1, i));
        }
        events.sort_unstable();
        let mut nodes = vec![Node {
            prev: NIL,
            next: NIL,
            op: NIL,
            is_call: false,
            ret: NIL,
        }];
        let mut ret_of = vec![NIL; ops.len()];
        for (pos, &(_, kind, op)) in events.iter().enumerate() {
            let idx = pos + 1;
            if kind == 1 {
                ret_of[op] = idx;
            }
            nodes.push(Node {
                prev: idx - 1,
                next: NIL,
                op,
                is_call: kind == 0,
                ret: NIL,
            });
            nodes[idx - 1].next = idx;
        }
        for n in nodes.iter_mut().skip(1) {
            if n.is_call {
                n.ret = ret_of[n.op];
            }
        }
        List { nodes }
    }

    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.nodes[i].prev, self.nodes[i].next);
        self.nodes[p].next = n;
        if n != NIL {
            self.nodes[n].prev = p;
        }
    }

    fn relink(&mut self, i: usize) {
        let (p, n) = (self.nodes[i].prev, self.nodes[i].next);
        self.nodes[p].next = i;
        if n != NIL {
            self.nodes[n].prev = i;
        }
    }

    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.nodes[call].ret);
    }

    /// Exact inverse of [`Self::lift`] (dancing links order).
    fn unlift(&mut self, call: usize) {
        self.relink(self.nodes[call].ret);
        self.relink(call);
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// Decides linearizability of one group's ops (all touching only `keys`).
/// Returns the verdict and the steps taken.
pub fn check_group(keys: &[String], ops: &[Op], bounds: Bounds) -> (Verdict, u64) {
    let mut list = List::build(ops);
    let mut state: State = vec![Cell::ABSENT; keys.len()];
    let mut linearized = Bits::new(ops.len());
    let mut remaining_known = ops
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Ok(_)))
        .count();
    let mut cache: HashSet<(Bits, State)> = HashSet::new();
    // Frames: (call node, state before it, alternative taken).
    let mut stack: Vec<(usize, State, usize)> = Vec::new();
    let mut entry = list.nodes[0].next;
    let mut alt_from = 0usize;
    let mut steps = 0u64;
    loop {
        if remaining_known == 0 {
            return (Verdict::Linearizable, steps);
        }
        steps += 1;
        if steps > bounds.steps_max {
            return (Verdict::Inconclusive, steps);
        }
        if entry != NIL && list.nodes[entry].is_call {
            let op = &ops[list.nodes[entry].op];
            let nexts = model::step(keys, &state, &op.input, &op.outcome);
            let mut advanced = false;
            for (alt, next) in nexts.into_iter().enumerate().skip(alt_from) {
                let mut lin = linearized.clone();
                lin.set(list.nodes[entry].op);
                if cache.insert((lin.clone(), next.clone())) {
                    stack.push((entry, std::mem::replace(&mut state, next), alt));
                    linearized = lin;
                    if matches!(op.outcome, Outcome::Ok(_)) {
                        remaining_known -= 1;
                    }
                    list.lift(entry);
                    entry = list.nodes[0].next;
                    advanced = true;
                    break;
                }
            }
            alt_from = 0;
            if !advanced {
                entry = list.nodes[entry].next;
            }
            continue;
        }
        // A return (or the end): the op it closes was not linearized in
        // time, so undo the last choice and try the next one.
        let Some((call, prev, alt)) = stack.pop() else {
            return (Verdict::NotLinearizable, steps);
        };
        let op_idx = list.nodes[call].op;
        linearized.clear(op_idx);
        if matches!(ops[op_idx].outcome, Outcome::Ok(_)) {
            remaining_known += 1;
        }
        state = prev;
        list.unlift(call);
        entry = call;
        alt_from = alt + 1;
    }
}
