//! A min-queue of `(instant, lease id)` with lazy invalidation (etcd's
//! `LeaseQueue` heap).
//!
//! Entries are never updated in place: re-scheduling a lease pushes a new
//! entry and records its instant on the lease; an entry whose instant no
//! longer matches the lease's record (or whose lease is gone) is stale and
//! skipped when it reaches the front. [`TimedQueue::needs_compaction`] bounds
//! the stale entries: the lessor rebuilds the queue from live entries once
//! they outnumber the live ones.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Extra entries tolerated before a compaction, so small queues never churn.
const STALE_SLACK: usize = 1024;

/// A min-heap of `(instant, id)`.
#[derive(Debug, Default)]
pub(crate) struct TimedQueue {
    heap: BinaryHeap<Reverse<(Instant, i64)>>,
}

impl TimedQueue {
    pub(crate) fn push(&mut self, at: Instant, id: i64) {
        self.heap.push(Reverse((at, id)));
    }

    /// The earliest entry.
    pub(crate) fn peek(&self) -> Option<(Instant, i64)> {
        self.heap.peek().map(|Reverse(e)| *e)
    }

    pub(crate) fn pop(&mut self) -> Option<(Instant, i64)> {
        self.heap.pop().map(|Reverse(e)| e)
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }

    /// Whether stale entries outnumber `live` by enough to rebuild.
    pub(crate) fn needs_compaction(&self, live: usize) -> bool {
        self.heap.len() > 2 * live + STALE_SLACK
    }

    /// Keeps only the entries for which `live` holds.
    pub(crate) fn retain(&mut self, mut live: impl FnMut(Instant, i64) -> bool) {
        let entries = std::mem::take(&mut self.heap).into_vec();
        self.heap = entries
            .into_iter()
            .filter(|Reverse((t, id))| live(*t, *id))
            .collect();
    }
}
