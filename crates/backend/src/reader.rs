//! A consistent read view over the buffers and the committed database.
//!
//! A [`BackendReader`] holds a shared lock on the write buffers and a redb read
//! transaction begun while holding it. A commit only retires its frozen buffer
//! under the exclusive lock, so a reader sees either (frozen buffer + any db
//! state) or (no frozen buffer + the db state that includes it): both are the
//! same logical contents. Writers (`put`/`delete`) wait while a reader is
//! alive, so keep readers short and never write through the backend while
//! holding one on the same thread.

use std::cell::OnceCell;
use std::ops::Bound;

use parking_lot::RwLockReadGuard;
use redb::{AccessGuard, ReadOnlyTable, ReadTransaction, StorageError};

use crate::backend::Buffers;
use crate::buffer::{Entry, Overlay};
use crate::error::BackendError;
use crate::table::{Table, TABLE_COUNT};

type RawTable = ReadOnlyTable<&'static [u8], &'static [u8]>;

/// A point-in-time view of all tables, including buffered writes.
pub struct BackendReader<'a> {
    buffers: RwLockReadGuard<'a, Buffers>,
    txn: ReadTransaction,
    tables: [OnceCell<RawTable>; TABLE_COUNT],
}

impl<'a> BackendReader<'a> {
    pub(crate) fn new(buffers: RwLockReadGuard<'a, Buffers>, txn: ReadTransaction) -> Self {
        BackendReader {
            buffers,
            txn,
            tables: Default::default(),
        }
    }

    fn table(&self, t: Table) -> Result<&RawTable, BackendError> {
        let cell = &self.tables[t.index()];
        if let Some(table) = cell.get() {
            return Ok(table);
        }
        let table = self
            .txn
            .open_table(t.definition())
            .map_err(BackendError::redb)?;
        Ok(cell.get_or_init(|| table))
    }

    /// Calls `f` on the value of `key` in `t`, if present, without copying it.
    pub fn get_with<R>(
        &self,
        t: Table,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>, BackendError> {
        if let Some(buffered) = self.buffers.pending.get(t, key) {
            return Ok(buffered.map(f));
        }
        if let Some(frozen) = &self.buffers.committing {
            if let Some(buffered) = frozen.get(t, key) {
                return Ok(buffered.map(f));
            }
        }
        let guard = self.table(t)?.get(key).map_err(BackendError::redb)?;
        Ok(guard.map(|g| f(g.value())))
    }

    /// The value of `key` in `t`.
    pub fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        self.get_with(t, key, <[u8]>::to_vec)
    }

    /// Visits the entries of `t` with keys in `[start, end)` (`end` `None`:
    /// to the last key) in key order until `f` returns false. Streams: memory
    /// use does not grow with the size of the range.
    pub fn for_each(
        &self,
        t: Table,
        start: &[u8],
        end: Option<&[u8]>,
        mut f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), BackendError> {
        if matches!(end, Some(e) if e <= start) {
            return Ok(());
        }
        let upper = match end {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        let db = self
            .table(t)?
            .range::<&[u8]>((Bound::Included(start), upper));
        let db = DbIter {
            inner: Some(db.map_err(BackendError::redb)?),
            error: None,
        };
        let pending = self.buffers.pending.range(t, start, end);
        let frozen = self
            .buffers
            .committing
            .as_ref()
            .map(|b| b.range(t, start, end));
        let buffered = Overlay::new(pending, frozen.into_iter().flatten());
        let mut merged = Overlay::new(buffered, db);
        for entry in merged.by_ref() {
            if let Some(value) = entry.value() {
                if !f(entry.key(), value) {
                    break;
                }
            }
        }
        match merged.into_lower().error {
            Some(e) => Err(BackendError::redb(e)),
            None => Ok(()),
        }
    }
}

/// One committed entry, borrowed from a redb page.
struct DbEntry(
    AccessGuard<'static, &'static [u8]>,
    AccessGuard<'static, &'static [u8]>,
);

impl Entry for DbEntry {
    fn key(&self) -> &[u8] {
        self.0.value()
    }
    fn value(&self) -> Option<&[u8]> {
        Some(self.1.value())
    }
}

/// The committed entries of a range; stops at, and records, the first error.
struct DbIter {
    inner: Option<redb::Range<'static, &'static [u8], &'static [u8]>>,
    error: Option<StorageError>,
}

impl Iterator for DbIter {
    type Item = DbEntry;

    fn next(&mut self) -> Option<DbEntry> {
        match self.inner.as_mut()?.next()? {
            Ok((k, v)) => Some(DbEntry(k, v)),
            Err(e) => {
                self.error = Some(e);
                self.inner = None;
                None
            }
        }
    }
}
