//! [`Backend`]: redb with buffered writes and batched commits.
//!
//! Order that matters:
//! 1. `put`/`delete` go to the pending buffer and are visible to reads at once.
//! 2. `commit` freezes the pending buffer (readers now see it as the
//!    "committing" layer), writes it in one redb write transaction with
//!    `Durability::Immediate`, and only after redb returns retires the frozen
//!    layer. A reader therefore never observes a write disappearing.
//! 3. A failed commit leaves the frozen layer in place (reads stay
//!    consistent) and stops the backend: every later commit returns
//!    [`BackendError::Stopped`]. The caller must stop the member; the WAL
//!    replays what was lost (STYLE.md §5).
//!
//! Batching mirrors etcd's backend: commit when `batch_interval_ms` has passed
//! since the last commit or `batch_limit` operations are pending.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use redb::{Database, Durability, ReadableDatabase};

use crate::buffer::WriteBuffer;
use crate::error::BackendError;
use crate::reader::BackendReader;
use crate::table::Table;

/// Key-value pairs returned by [`Backend::range`].
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Batching settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendConfig {
    /// Longest time writes stay uncommitted (etcd: 100 ms).
    pub batch_interval_ms: u64,
    /// Pending operations that force a commit (etcd: 10 000).
    pub batch_limit: usize,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            batch_interval_ms: 100,
            batch_limit: 10_000,
        }
    }
}

/// The buffer layers above the database.
#[derive(Debug, Default)]
pub(crate) struct Buffers {
    /// Writes not yet handed to a commit.
    pub(crate) pending: WriteBuffer,
    /// Writes of the commit in progress (or of a failed commit).
    pub(crate) committing: Option<Arc<WriteBuffer>>,
}

#[derive(Debug)]
struct CommitState {
    last_commit: Instant,
    failed: bool,
}

/// The storage backend. `Send + Sync`; all locking is internal.
pub struct Backend {
    /// Swapped whole when a snapshot from the leader replaces the data.
    db: RwLock<Arc<Database>>,
    path: PathBuf,
    cfg: BackendConfig,
    buffers: RwLock<Buffers>,
    commit: Mutex<CommitState>,
    /// Batches committed while a defragmentation copies the file (see `defrag.rs`).
    pub(crate) defrag_tap: Mutex<Option<Vec<Arc<WriteBuffer>>>>,
    /// One defragmentation at a time.
    pub(crate) defrag_lock: Mutex<()>,
    /// The file's size, read after every change of the file (open, commit,
    /// swap): only those change it, and quota checks ask on every write.
    file_bytes: AtomicI64,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("path", &self.path)
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl Backend {
    /// Opens (or creates) the database file at `path` and creates all tables.
    pub fn open(path: &Path, cfg: BackendConfig) -> Result<Backend, BackendError> {
        assert!(cfg.batch_limit > 0, "batch_limit must be positive");
        let db = Database::create(path).map_err(BackendError::redb)?;
        let mut txn = db.begin_write().map_err(BackendError::redb)?;
        txn.set_durability(Durability::Immediate)
            .map_err(BackendError::redb)?;
        for t in Table::ALL {
            txn.open_table(t.definition()).map_err(BackendError::redb)?;
        }
        txn.commit().map_err(BackendError::redb)?;
        let backend = Backend {
            db: RwLock::new(Arc::new(db)),
            path: path.to_path_buf(),
            cfg,
            buffers: RwLock::new(Buffers::default()),
            commit: Mutex::new(CommitState {
                last_commit: Instant::now(),
                failed: false,
            }),
            defrag_tap: Mutex::new(None),
            defrag_lock: Mutex::new(()),
            file_bytes: AtomicI64::new(0),
        };
        backend.refresh_size();
        Ok(backend)
    }

    /// Re-reads the file's size (after anything that may have changed it).
    fn refresh_size(&self) {
        let bytes = std::fs::metadata(&self.path).map(|m| m.len() as i64).unwrap_or(0);
        self.file_bytes.store(bytes, Ordering::Release);
    }

    /// The current database.
    pub(crate) fn db(&self) -> Arc<Database> {
        self.db.read().clone()
    }

    /// Replaces the database (see `snapshot.rs`); the caller holds the commit lock.
    pub(crate) fn swap_db(&self, db: Database) {
        *self.db.write() = Arc::new(db);
        self.refresh_size();
    }

    /// The commit lock, for operations that must not overlap a commit.
    pub(crate) fn commit_lock(&self) -> parking_lot::MutexGuard<'_, impl Sized> {
        self.commit.lock()
    }

    /// Drops every buffered write (the data is being replaced).
    pub(crate) fn clear_buffers(&self) {
        *self.buffers.write() = Buffers::default();
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Buffers a put; visible to reads at once, durable after the next commit.
    pub fn put(&self, t: Table, key: &[u8], value: &[u8]) {
        self.buffers.write().pending.put(t, key, value);
    }

    /// Buffers a delete (of a key that may not exist).
    pub fn delete(&self, t: Table, key: &[u8]) {
        self.buffers.write().pending.delete(t, key);
    }

    /// A consistent read view (see [`BackendReader`]). Writes from this thread
    /// block until the reader is dropped.
    pub fn read(&self) -> Result<BackendReader<'_>, BackendError> {
        // Recursive: a reader must not wait behind a queued writer while another
        // reader on the same thread is alive.
        let buffers = self.buffers.read_recursive();
        let txn = self.db().begin_read().map_err(BackendError::redb)?;
        Ok(BackendReader::new(buffers, txn))
    }

    /// The value of `key` in `t`: buffered writes first, then the database.
    pub fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        self.read()?.get(t, key)
    }

    /// Up to `limit` entries (0: no limit) of `t` with keys in `[start, end)`,
    /// `end` `None` meaning to the last key, in key order, buffered writes
    /// merged in.
    pub fn range(
        &self,
        t: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, BackendError> {
        let mut out = Vec::new();
        self.read()?.for_each(t, start, end, |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            limit == 0 || out.len() < limit
        })?;
        Ok(out)
    }

    /// Like [`Backend::range`] but returns keys only.
    pub fn range_keys(
        &self,
        t: Table,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, BackendError> {
        let mut out = Vec::new();
        self.read()?.for_each(t, start, end, |k, _| {
            out.push(k.to_vec());
            limit == 0 || out.len() < limit
        })?;
        Ok(out)
    }

    /// Number of buffered, uncommitted operations.
    pub fn pending_ops(&self) -> usize {
        self.buffers.read().pending.ops()
    }

    /// Commits if `batch_interval_ms` has elapsed since the last commit (and
    /// something is pending) or at least `batch_limit` operations are pending.
    /// Returns whether a commit happened.
    pub fn commit_if_due(&self) -> Result<bool, BackendError> {
        let ops = self.pending_ops();
        if ops == 0 {
            return Ok(false);
        }
        let interval = Duration::from_millis(self.cfg.batch_interval_ms);
        let due =
            ops >= self.cfg.batch_limit || self.commit.lock().last_commit.elapsed() >= interval;
        if due {
            self.commit()?;
        }
        Ok(due)
    }

    /// Writes all pending operations in one redb transaction with
    /// `Durability::Immediate`. On error the backend is stopped.
    pub fn commit(&self) -> Result<(), BackendError> {
        let mut state = self.commit.lock();
        if state.failed {
            return Err(BackendError::Stopped);
        }
        let frozen = {
            let mut buffers = self.buffers.write();
            assert!(
                buffers.committing.is_none(),
                "a frozen buffer outlived its commit"
            );
            if buffers.pending.is_empty() {
                state.last_commit = Instant::now();
                return Ok(());
            }
            let frozen = Arc::new(std::mem::take(&mut buffers.pending));
            buffers.committing = Some(frozen.clone());
            frozen
        };
        fail::fail_point!("backend_before_commit", |_| { std::process::abort() });
        let commit_start = Instant::now();
        let written = self.write_batch(&frozen);
        self.refresh_size();
        if let Err(e) = written {
            state.failed = true;
            return Err(e);
        }
        crate::metrics::observe(crate::metrics::BackendTiming::Commit(commit_start.elapsed()));
        fail::fail_point!("backend_after_commit", |_| { std::process::abort() });
        if let Some(tap) = self.defrag_tap.lock().as_mut() {
            tap.push(frozen.clone());
        }
        self.buffers.write().committing = None;
        state.last_commit = Instant::now();
        Ok(())
    }

    fn write_batch(&self, batch: &WriteBuffer) -> Result<(), BackendError> {
        let mut txn = self.db().begin_write().map_err(BackendError::redb)?;
        txn.set_durability(Durability::Immediate)
            .map_err(BackendError::redb)?;
        for t in Table::ALL {
            let entries = batch.table(t);
            if entries.is_empty() {
                continue;
            }
            let mut table = txn.open_table(t.definition()).map_err(BackendError::redb)?;
            for (k, v) in entries {
                match v {
                    Some(v) => {
                        table
                            .insert(k.as_slice(), v.as_slice())
                            .map_err(BackendError::redb)?;
                    }
                    None => {
                        table.remove(k.as_slice()).map_err(BackendError::redb)?;
                    }
                }
            }
        }
        txn.commit().map_err(BackendError::redb)
    }

    /// Size of the database file in bytes (as of the last commit; nothing
    /// else writes the file).
    pub fn size_bytes(&self) -> i64 {
        self.file_bytes.load(Ordering::Acquire)
    }

    /// Bytes of the file holding live pages (allocated pages × page size);
    /// falls back to the file size if redb cannot report it.
    pub fn size_in_use_bytes(&self) -> i64 {
        let _serialise_with_commits = self.commit.lock();
        let stats = self
            .db()
            .begin_write()
            .map_err(redb::Error::from)
            .and_then(|txn| {
                let stats = txn.stats().map_err(redb::Error::from);
                txn.abort().map_err(redb::Error::from)?;
                stats
            });
        match stats {
            Ok(s) => (s.allocated_pages() * s.page_size() as u64) as i64,
            Err(_) => self.size_bytes(),
        }
    }
}
