//! The durable Raft log: WAL + snapshot files + the in-memory [`RaftStorage`].
//!
//! Order that matters (etcd's raft.go / etcdserver storage.go):
//! 1. `persist` writes hard state and entries to the WAL and fsyncs once,
//!    *then* appends them to the in-memory storage raft-rs reads.
//! 2. `create_snapshot` writes the WAL snapshot record first, then the
//!    snapshot file, then compacts memory and releases old WAL segments. A crash
//!    between the steps leaves an older snapshot file that the WAL still knows,
//!    and every entry after it is still in the WAL.
//! The caller must have made the backend durable up to the snapshot index
//! before calling `create_snapshot`: WAL entries below it may be deleted.

use std::path::{Path, PathBuf};

use etcd_wal::{Snapshotter, Wal, WalEntry, WalSnapshot};
use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};

use crate::storage::RaftStorage;
use crate::NodeError;

/// How many entries before a snapshot stay in memory so slow followers can
/// catch up without a snapshot (etcd's `SnapshotCatchUpEntries`).
pub const SNAPSHOT_CATCH_UP_ENTRIES: u64 = 5000;

/// How many snapshot files to keep on disk (etcd's `--max-snapshots` default).
pub const MAX_SNAPSHOT_FILES: usize = 5;

/// What a restart recovers from disk.
pub struct Recovered {
    /// The bytes given to [`DurableLog::create`] (etcd's WAL metadata).
    pub metadata: Vec<u8>,
    /// The newest snapshot, if one was taken.
    pub snapshot: Option<Snapshot>,
    /// The last durable hard state.
    pub hard_state: HardState,
    /// Index of the last entry in the log.
    pub last_index: u64,
}

/// WAL + snapshots + in-memory log, always in step.
pub struct DurableLog {
    wal: Wal,
    snapshotter: Snapshotter,
    storage: RaftStorage,
    last_hs: HardState,
}

/// `<member>/wal` and `<member>/snap`.
pub fn wal_dir(member_dir: &Path) -> PathBuf {
    member_dir.join("wal")
}

/// `<member>/snap`.
pub fn snap_dir(member_dir: &Path) -> PathBuf {
    member_dir.join("snap")
}

fn encode<M: protobuf::Message>(m: &M) -> Vec<u8> {
    m.write_to_bytes().expect("encoding a raft message cannot fail")
}

fn to_wal_entries(entries: &[Entry]) -> Vec<WalEntry> {
    entries
        .iter()
        .map(|e| WalEntry { index: e.index, term: e.term, data: encode(e) })
        .collect()
}

impl DurableLog {
    /// True when a WAL exists under `wal_dir`.
    pub fn exists(wal_dir: &Path) -> bool {
        Wal::exists(wal_dir)
    }

    /// Creates a new log holding `entries` (the bootstrap configuration
    /// changes) and `hs`, fsynced before this returns.
    pub fn create(
        wal_dir: &Path,
        snap_dir: &Path,
        metadata: &[u8],
        entries: &[Entry],
        hs: &HardState,
    ) -> Result<DurableLog, NodeError> {
        std::fs::create_dir_all(snap_dir)?;
        let wal = Wal::create(wal_dir, metadata)?;
        let snapshotter = Snapshotter::new(snap_dir)?;
        let mut log = DurableLog { wal, snapshotter, storage: RaftStorage::new(), last_hs: HardState::default() };
        log.persist(Some(hs), entries)?;
        Ok(log)
    }

    /// Opens an existing log: newest snapshot, then the WAL after it.
    pub fn open(wal_dir: &Path, snap_dir: &Path) -> Result<(DurableLog, Recovered), NodeError> {
        std::fs::create_dir_all(snap_dir)?;
        let snapshotter = Snapshotter::new(snap_dir)?;
        let snapshot = match snapshotter.load_newest()? {
            Some((_, _, data)) => Some(
                Snapshot::parse_from_bytes(&data)
                    .map_err(|e| NodeError::Decode(format!("snapshot: {e}")))?,
            ),
            None => None,
        };
        let walsnap = snapshot
            .as_ref()
            .map(|s| WalSnapshot { index: s.get_metadata().index, term: s.get_metadata().term })
            .unwrap_or_default();
        let (wal, contents) = Wal::open(wal_dir, walsnap)?;
        let storage = RaftStorage::new();
        if let Some(s) = &snapshot {
            storage.apply_snapshot(s.clone())?;
        }
        let hs = match &contents.hard_state {
            Some(b) => HardState::parse_from_bytes(b)
                .map_err(|e| NodeError::Decode(format!("hard state: {e}")))?,
            None => HardState::default(),
        };
        let mut entries = Vec::with_capacity(contents.entries.len());
        for e in &contents.entries {
            let entry = Entry::parse_from_bytes(&e.data)
                .map_err(|err| NodeError::Decode(format!("entry {}: {err}", e.index)))?;
            assert_eq!(entry.index, e.index, "WAL record index disagrees with its entry");
            entries.push(entry);
        }
        storage.append(&entries)?;
        let mut hs_eff = hs.clone();
        // A snapshot newer than the saved commit (never expected, but harmless)
        // must not move commit backwards.
        if let Some(s) = &snapshot {
            hs_eff.commit = hs_eff.commit.max(s.get_metadata().index);
            hs_eff.term = hs_eff.term.max(s.get_metadata().term);
        }
        storage.set_hard_state(hs_eff.clone());
        let last_index = storage.last_index_term().0;
        let recovered = Recovered { metadata: contents.metadata, snapshot, hard_state: hs_eff.clone(), last_index };
        Ok((DurableLog { wal, snapshotter, storage, last_hs: hs_eff }, recovered))
    }

    /// The storage raft-rs reads.
    pub fn storage(&self) -> RaftStorage {
        self.storage.clone()
    }

    /// Writes `hs` (if changed) and `entries` to the WAL with one fsync, then
    /// makes them visible to raft-rs.
    pub fn persist(&mut self, hs: Option<&HardState>, entries: &[Entry]) -> Result<(), NodeError> {
        let hs = hs.filter(|h| **h != self.last_hs);
        if hs.is_none() && entries.is_empty() {
            return Ok(());
        }
        let hs_bytes = hs.map(encode);
        self.wal.save(hs_bytes.as_deref(), &to_wal_entries(entries))?;
        self.storage.append(entries)?;
        if let Some(h) = hs {
            self.storage.set_hard_state(h.clone());
            self.last_hs = h.clone();
        }
        Ok(())
    }

    /// Records a commit index learned after the entries were persisted. It is
    /// written with the next WAL save; losing it in a crash only means the
    /// entries are committed again.
    pub fn note_commit(&mut self, commit: u64) {
        self.storage.set_commit(commit);
    }

    /// The hard state raft-rs should see persisted next (commit included).
    pub fn hard_state(&self) -> HardState {
        self.storage.hard_state()
    }

    /// Installs a snapshot received from the leader: durable first, then in memory.
    pub fn install_snapshot(&mut self, snap: &Snapshot) -> Result<(), NodeError> {
        let meta = snap.get_metadata();
        self.wal.save_snapshot(WalSnapshot { index: meta.index, term: meta.term })?;
        self.snapshotter.save(meta.index, meta.term, &encode(snap))?;
        self.storage.apply_snapshot(snap.clone())?;
        Ok(())
    }

    /// Takes a local snapshot at `index` with `data`, then releases the log
    /// below it (keeping [`SNAPSHOT_CATCH_UP_ENTRIES`] in memory).
    pub fn create_snapshot(&mut self, index: u64, conf_state: ConfState, data: Vec<u8>) -> Result<(), NodeError> {
        let term = raft::Storage::term(&self.storage, index)?;
        let mut snap = Snapshot::default();
        snap.mut_metadata().index = index;
        snap.mut_metadata().term = term;
        snap.mut_metadata().set_conf_state(conf_state);
        snap.data = data.into();
        self.wal.save_snapshot(WalSnapshot { index, term })?;
        self.snapshotter.save(index, term, &encode(&snap))?;
        self.storage.set_snapshot(snap);
        if index > SNAPSHOT_CATCH_UP_ENTRIES {
            self.storage.compact(index - SNAPSHOT_CATCH_UP_ENTRIES)?;
        }
        self.wal.release_to(index)?;
        self.snapshotter.purge(MAX_SNAPSHOT_FILES)?;
        Ok(())
    }
}
