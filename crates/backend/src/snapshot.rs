//! Whole-database snapshots, for a member that fell behind the leader's log.
//!
//! The leader [`Backend::export`]s the committed state right after a commit
//! on the apply thread (so it ends at an entry boundary, with its
//! `consistent_index`), through a redb read transaction that writers don't
//! wait for; [`Export::write_to`] copies it into a fresh file off that thread.
//! The follower [`Backend::restore_from`] swaps that file in place of its own.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable};

use crate::backend::Backend;
use crate::error::BackendError;
use crate::table::Table;

/// A consistent view of the committed database, to be copied elsewhere.
pub struct Export {
    txn: ReadTransaction,
    _db: Arc<Database>,
}

impl Backend {
    /// Commits, then pins the committed state for copying. Call on the
    /// thread that applies writes, between two entries.
    pub fn export(&self) -> Result<Export, BackendError> {
        self.commit()?;
        let db = self.db();
        let txn = db.begin_read().map_err(BackendError::redb)?;
        Ok(Export { txn, _db: db })
    }

    /// Replaces all data with the database file at `src` (moved into place).
    /// Buffered writes are dropped: the new file supersedes them.
    pub fn restore_from(&self, src: &Path) -> Result<(), BackendError> {
        let _commit = self.commit_lock();
        self.clear_buffers();
        std::fs::rename(src, self.path()).map_err(|e| BackendError::redb(redb::Error::Io(e)))?;
        let db = Database::create(self.path()).map_err(BackendError::redb)?;
        self.swap_db(db);
        Ok(())
    }
}

impl Export {
    /// Visits the pinned entries of `t` in key order until `f` returns false.
    pub fn for_each(&self, t: Table, mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<(), BackendError> {
        let src = self.txn.open_table(t.definition()).map_err(BackendError::redb)?;
        for item in src.iter().map_err(BackendError::redb)? {
            let (k, v) = item.map_err(BackendError::redb)?;
            if !f(k.value(), v.value()) {
                break;
            }
        }
        Ok(())
    }

    /// Writes the pinned state into a new database file at `dest`, fsynced.
    pub fn write_to(self, dest: &Path) -> Result<(), BackendError> {
        let start = std::time::Instant::now();
        let _ = std::fs::remove_file(dest);
        let out = Database::create(dest).map_err(BackendError::redb)?;
        let mut w = out.begin_write().map_err(BackendError::redb)?;
        w.set_durability(Durability::Immediate).map_err(BackendError::redb)?;
        for t in Table::ALL {
            let src = self.txn.open_table(t.definition()).map_err(BackendError::redb)?;
            let mut dst = w.open_table(t.definition()).map_err(BackendError::redb)?;
            for item in src.iter().map_err(BackendError::redb)? {
                let (k, v) = item.map_err(BackendError::redb)?;
                dst.insert(k.value(), v.value()).map_err(BackendError::redb)?;
            }
        }
        w.commit().map_err(BackendError::redb)?;
        crate::metrics::observe(crate::metrics::BackendTiming::Snapshot(start.elapsed()));
        Ok(())
    }
}
