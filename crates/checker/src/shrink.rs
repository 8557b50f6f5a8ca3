//! The smallest failing piece of a non-linearizable group history, for the
//! failure report.
//!
//! Two passes, each keeping a candidate only if it is still
//! [`Verdict::NotLinearizable`]:
//! 1. Time cut: the earliest instant `t` such that the history "as seen at
//!    `t`" already fails. Seen at `t`, ops invoked later are dropped and ops
//!    still pending become unknown (reads pending are dropped). Every
//!    linearization of the full history gives one of the cut, so a failing
//!    cut is a real failure and failing cuts are upward closed: binary search.
//! 2. Greedy removal of single ops while the rest still fails (bounded by
//!    [`SHRINK_CHECKS_MAX`] checks).

use crate::history::{Op, Outcome};
use crate::linearizable::{check_group, Bounds, Verdict};

/// Upper bound on linearizability checks spent shrinking one group.
pub const SHRINK_CHECKS_MAX: usize = 2_000;

/// The history as seen at `t_ns`.
pub fn cut_at(ops: &[Op], t_ns: u64) -> Vec<Op> {
    ops.iter()
        .filter(|o| o.invoke_ns <= t_ns)
        .filter_map(|o| {
            let pending = matches!(o.outcome, Outcome::Unknown) || o.complete_ns > t_ns;
            if !pending {
                return Some(o.clone());
            }
            if !o.input.is_write() || matches!(o.outcome, Outcome::Failed) {
                return None;
            }
            Some(Op {
                outcome: Outcome::Unknown,
                ..o.clone()
            })
        })
        .collect()
}

fn fails(keys: &[String], ops: &[Op], bounds: Bounds) -> bool {
    check_group(keys, ops, bounds).0 == Verdict::NotLinearizable
}

/// A small sub-history of `ops` (one group over `keys`) that is still not
/// linearizable. `ops` must not be linearizable; returns it unchanged if
/// shrinking cannot confirm a smaller failure within the bounds.
pub fn minimal_failing(keys: &[String], ops: &[Op], bounds: Bounds) -> Vec<Op> {
    let mut checks = 0usize;
    let mut times: Vec<u64> = ops
        .iter()
        .filter(|o| matches!(o.outcome, Outcome::Ok(_)))
        .map(|o| o.complete_ns)
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut best = ops.to_vec();
    // Binary search for the first failing cut.
    let (mut lo, mut hi) = (0usize, times.len());
    while lo < hi && checks < SHRINK_CHECKS_MAX {
        let mid = (lo + hi) / 2;
        let cut = cut_at(ops, times[mid]);
        checks += 1;
        if fails(keys, &cut, bounds) {
            best = cut;
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    // Greedy single-op removal, latest first (the failing op is near the end).
    let mut i = best.len();
    while i > 0 && checks < SHRINK_CHECKS_MAX {
        i -= 1;
        let mut candidate = best.clone();
        candidate.remove(i);
        checks += 1;
        if fails(keys, &candidate, bounds) {
            best = candidate;
        }
    }
    best
}
