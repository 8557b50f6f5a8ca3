//! Operation counters of the store (etcd's `etcd_mvcc_{put,delete,range,txn}_total`,
//! `etcd_debugging_mvcc_total_put_size_in_bytes`,
//! `etcd_debugging_mvcc_db_compaction_keys_total`) and an observer hook for
//! compaction timings. Process-wide, like etcd's: every store in the process
//! adds to the same counters. Updating them costs one relaxed atomic add; the
//! server reads them when `/metrics` is scraped.
//!
//! Counting follows etcd's: every range, put and delete is counted where it
//! runs, inside a Txn too; a Txn is counted once when it ran more than one
//! operation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::TxnResponse;

/// Puts applied.
pub static PUT_TOTAL: AtomicU64 = AtomicU64::new(0);
/// Delete-range operations applied.
pub static DELETE_TOTAL: AtomicU64 = AtomicU64::new(0);
/// Ranges served.
pub static RANGE_TOTAL: AtomicU64 = AtomicU64::new(0);
/// Txns that ran more than one operation.
pub static TXN_TOTAL: AtomicU64 = AtomicU64::new(0);
/// Bytes of keys plus values put.
pub static PUT_SIZE_BYTES_TOTAL: AtomicU64 = AtomicU64::new(0);
/// Backend revisions removed by compactions.
pub static COMPACTION_KEYS_TOTAL: AtomicU64 = AtomicU64::new(0);

/// A timed compaction step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompactionTiming {
    /// Compacting the in-memory index.
    IndexPause(Duration),
    /// Deleting obsolete revisions from the backend.
    DbPause(Duration),
    /// The whole compaction.
    Total(Duration),
}

static OBSERVER: OnceLock<fn(CompactionTiming)> = OnceLock::new();

/// Installs the function told about compaction timings; the first call wins.
pub fn set_compaction_observer(observer: fn(CompactionTiming)) {
    let _ = OBSERVER.set(observer);
}

pub(crate) fn observe(timing: CompactionTiming) {
    if let Some(f) = OBSERVER.get() {
        f(timing);
    }
}

pub(crate) fn count(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Counts a finished Txn by the operations its executed branches ran.
pub(crate) fn count_txn(resp: &TxnResponse) {
    if ops_run(resp) > 1 {
        count(&TXN_TOTAL, 1);
    }
}

fn ops_run(resp: &TxnResponse) -> usize {
    resp.responses
        .iter()
        .map(|op| match &op.response {
            Some(Response::ResponseTxn(t)) => ops_run(t),
            Some(_) => 1,
            None => 0,
        })
        .sum()
}
