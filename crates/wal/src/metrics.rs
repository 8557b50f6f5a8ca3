//! What the WAL reports for metrics and slow-disk warnings, without knowing
//! who keeps them: a write-byte counter read at scrape time and one observer
//! hook, installed once per process by the server, called after each data
//! fsync with how long it took (etcd's `etcd_disk_wal_fsync_duration_seconds`
//! and its "slow fdatasync" warning). Cost on the write path: one relaxed
//! atomic add and one atomic load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Bytes of records written to WAL segments since the process started
/// (etcd's `etcd_disk_wal_write_bytes_total`).
pub static WRITE_BYTES_TOTAL: AtomicU64 = AtomicU64::new(0);

static FSYNC_OBSERVER: OnceLock<fn(Duration)> = OnceLock::new();

/// Installs the function told about every WAL data fsync; the first call wins.
pub fn set_fsync_observer(observer: fn(Duration)) {
    let _ = FSYNC_OBSERVER.set(observer);
}

/// Records one write of `bytes` that took `fsync` to make durable.
pub(crate) fn synced(bytes: usize, fsync: Duration) {
    WRITE_BYTES_TOTAL.fetch_add(bytes as u64, Ordering::Relaxed);
    if let Some(observe) = FSYNC_OBSERVER.get() {
        observe(fsync);
    }
}
