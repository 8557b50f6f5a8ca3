//! Compaction: forget history older than a revision.
//!
//! Rule (etcd's): for each key, keep the newest revision `<= rev` unless it
//! is a tombstone, in which case that tombstone and everything older go;
//! revisions `> rev` are untouched. The index is compacted first, which yields
//! the set of revisions `<= rev` to keep; every other backend revision
//! `<= rev` is deleted.
//!
//! Crash safety: `scheduledCompactRev` is recorded before the deletions and
//! `finishedCompactRev` after, all in the same backend batch as the apply's
//! consistent index. If a crash ever leaves `scheduled > finished`, opening
//! the store finishes the compaction.

use std::collections::HashSet;

use etcd_backend::{Backend, Table};

use crate::error::MvccError;
use crate::meta;
use crate::revision::Revision;
use crate::store::State;

/// Keys deleted per backend range scan; bounds memory for huge compactions.
const COMPACTION_BATCH_KEYS: usize = 10_000;

/// Compacts at `rev`: `Compacted` if `rev <= compact_rev`, `FutureRev` if
/// `rev > current_rev`.
pub(crate) fn compact(backend: &Backend, state: &mut State, rev: i64) -> Result<(), MvccError> {
    if rev <= state.compact_rev {
        return Err(MvccError::Compacted);
    }
    if rev > state.current_rev {
        return Err(MvccError::FutureRev);
    }
    state.compact_rev = rev;
    meta::put_rev(backend, meta::SCHEDULED_COMPACT_KEY, rev);
    run(backend, state, rev)
}

/// Performs a compaction already recorded as scheduled at `rev`.
pub(crate) fn run(backend: &Backend, state: &mut State, rev: i64) -> Result<(), MvccError> {
    use crate::metrics::{observe, CompactionTiming};
    let start = std::time::Instant::now();
    let keep = state.index.compact(rev);
    let index_done = std::time::Instant::now();
    observe(CompactionTiming::IndexPause(index_done - start));
    delete_obsolete(backend, rev, &keep)?;
    meta::put_rev(backend, meta::FINISHED_COMPACT_KEY, rev);
    observe(CompactionTiming::DbPause(index_done.elapsed()));
    observe(CompactionTiming::Total(start.elapsed()));
    Ok(())
}

fn delete_obsolete(backend: &Backend, rev: i64, keep: &HashSet<Revision>) -> Result<(), MvccError> {
    let end = Revision::new(rev + 1, 0).to_bytes();
    let mut start = Vec::new();
    loop {
        let keys = backend.range_keys(Table::Key, &start, Some(&end), COMPACTION_BATCH_KEYS)?;
        for k in &keys {
            let (r, _) = Revision::from_key(k);
            if !keep.contains(&r) {
                backend.delete(Table::Key, k);
                crate::metrics::count(&crate::metrics::COMPACTION_KEYS_TOTAL, 1);
            }
        }
        match keys.last() {
            Some(last) if keys.len() == COMPACTION_BATCH_KEYS => {
                // The smallest key after `last`.
                start = last.clone();
                start.push(0);
            }
            _ => return Ok(()),
        }
    }
}
