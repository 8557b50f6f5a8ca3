//! The in-memory view of the Raft log that raft-rs reads through its
//! [`Storage`] trait.
//!
//! Everything here is already durable: the node appends to the WAL and fsyncs
//! before it appends here (Raft thesis §3.8: a server persists log entries and
//! its vote before answering), so raft-rs never sees an entry that a crash
//! could lose. The snapshot kept here is the last one written to `snap/`; it is
//! what a lagging follower is sent.

use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::storage::MemStorage;
use raft::{GetEntriesContext, RaftState, Storage};

/// raft-rs storage: `MemStorage` for entries and state, plus our own last
/// snapshot (with its data), which `MemStorage` cannot hold.
#[derive(Clone, Default)]
pub struct RaftStorage {
    mem: MemStorage,
    snapshot: std::sync::Arc<parking_lot::Mutex<Snapshot>>,
}

impl RaftStorage {
    /// Empty storage.
    pub fn new() -> RaftStorage {
        RaftStorage::default()
    }

    /// Installs a snapshot: log entries at or below its index are dropped.
    pub fn apply_snapshot(&self, snap: Snapshot) -> raft::Result<()> {
        self.mem.wl().apply_snapshot(snap.clone())?;
        *self.snapshot.lock() = snap;
        Ok(())
    }

    /// Records a snapshot taken locally at `index` without dropping entries;
    /// call [`RaftStorage::compact`] to release the log below it.
    pub fn set_snapshot(&self, snap: Snapshot) {
        *self.snapshot.lock() = snap;
    }

    /// Appends durable entries (replacing any conflicting suffix).
    pub fn append(&self, entries: &[Entry]) -> raft::Result<()> {
        self.mem.wl().append(entries)
    }

    /// Sets the durable hard state.
    pub fn set_hard_state(&self, hs: HardState) {
        self.mem.wl().set_hardstate(hs);
    }

    /// The current hard state.
    pub fn hard_state(&self) -> HardState {
        self.mem.rl().hard_state().clone()
    }

    /// Sets the commit index (from a `LightReady`).
    pub fn set_commit(&self, commit: u64) {
        self.mem.wl().mut_hard_state().commit = commit;
    }

    /// Sets the configuration the log starts with.
    pub fn set_conf_state(&self, cs: ConfState) {
        self.mem.wl().set_conf_state(cs);
    }

    /// Drops entries below `index` (they are covered by a snapshot).
    pub fn compact(&self, index: u64) -> raft::Result<()> {
        let last = Storage::last_index(&self.mem)?;
        self.mem.wl().compact(index.min(last + 1))
    }

    /// Index and term of the last entry.
    pub fn last_index_term(&self) -> (u64, u64) {
        let last = Storage::last_index(&self.mem).unwrap_or(0);
        (last, self.mem.term(last).unwrap_or(0))
    }

    /// The latest snapshot (empty metadata when none was taken).
    pub fn snapshot_metadata(&self) -> raft::eraftpb::SnapshotMetadata {
        self.snapshot.lock().get_metadata().clone()
    }
}

impl Storage for RaftStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        self.mem.initial_state()
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.mem.entries(low, high, max_size, context)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.mem.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        self.mem.first_index()
    }

    fn last_index(&self) -> raft::Result<u64> {
        self.mem.last_index()
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let snap = self.snapshot.lock().clone();
        if snap.get_metadata().index < request_index {
            return Err(raft::Error::Store(
                raft::StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        Ok(snap)
    }
}
