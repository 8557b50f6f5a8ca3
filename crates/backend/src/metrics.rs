//! What the backend reports for metrics, without knowing who keeps them: one
//! observer hook, installed once per process by the server, told how long
//! each batch commit and each snapshot copy took (etcd's
//! `etcd_disk_backend_commit_duration_seconds` and
//! `etcd_disk_backend_snapshot_duration_seconds`). Cost per commit: one
//! atomic load.

use std::sync::OnceLock;
use std::time::Duration;

/// A timed backend operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendTiming {
    /// One batch transaction written and made durable.
    Commit(Duration),
    /// A whole-database snapshot copied out.
    Snapshot(Duration),
}

static OBSERVER: OnceLock<fn(BackendTiming)> = OnceLock::new();

/// Installs the function told about every timed operation; the first call wins.
pub fn set_observer(observer: fn(BackendTiming)) {
    let _ = OBSERVER.set(observer);
}

pub(crate) fn observe(timing: BackendTiming) {
    if let Some(f) = OBSERVER.get() {
        f(timing);
    }
}
