//! Online defragmentation: rewrite the database into a fresh, compact file
//! while reads and writes go on, then swap it in at a commit boundary.
//!
//! etcd's `backend.Defrag` stops the world for the whole copy. redb's own
//! `Database::compact` needs exclusive access too (no live read transaction),
//! and it only moves pages inside the same file. Instead:
//!
//! 1. **Pin** (commit lock held, microseconds): open a redb read transaction
//!    on the current file and start the *tap*: from now on every successful
//!    [`Backend::commit`] also appends its frozen batch to the tap.
//! 2. **Copy** (no lock): copy every table from the pinned transaction into
//!    `<db>.defrag` (a new redb file, keys inserted in order).
//! 3. **Catch up** (no lock): replay tapped batches into the new file until
//!    what remains is small ([`DEFRAG_FINAL_OPS_MAX`]).
//! 4. **Swap** (commit lock held: the pause): replay the rest, commit with
//!    `Durability::Immediate`, rename the new file over the old path, fsync
//!    the directory, and make it the backend's database.
//!
//! Invariants:
//! - The new file holds exactly the committed state at the swap: the pinned
//!   state plus every batch committed after the pin, in commit order (the
//!   tap is filled under the commit lock, in the same order).
//! - Readers never notice: buffered writes are untouched, and a reader that
//!   began on the old file keeps its own handle (an unlinked file stays
//!   readable on Unix).
//! - If the data was replaced meanwhile (a snapshot from the leader), or the
//!   tap grew past [`DEFRAG_TAP_OPS_MAX`], the copy is dropped and the old
//!   file stays: nothing changes.
//! - A crash before the rename leaves a stray `<db>.defrag`, removed by the
//!   next defragmentation; after the rename the new file is complete (it was
//!   fsynced first).
//!
//! Only the swap holds the commit lock, so a commit (the applier) waits at
//! most for the replay of the last few batches plus one fsync.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableDatabase, ReadableTable};

use crate::backend::Backend;
use crate::buffer::WriteBuffer;
use crate::error::BackendError;
use crate::table::Table;

/// Tapped operations left for the swap; below this the catch-up stops and
/// the commit lock is taken.
pub const DEFRAG_FINAL_OPS_MAX: usize = 10_000;
/// How long a defragmentation waits for the buffered writes to be committed
/// by the applier before it pins the database anyway.
const PIN_WAIT_MAX: Duration = Duration::from_secs(1);
/// Operations committed during one defragmentation beyond which it is
/// abandoned (bounds the memory the tap holds).
pub const DEFRAG_TAP_OPS_MAX: usize = 4_000_000;

/// What a defragmentation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragStats {
    /// File size before, in bytes.
    pub size_before_bytes: u64,
    /// File size after, in bytes.
    pub size_after_bytes: u64,
    /// Time spent copying and catching up, with no lock held.
    pub copy: Duration,
    /// Time the commit lock was held for the swap (the longest stall a
    /// commit could see).
    pub pause: Duration,
}

impl Backend {
    /// Rewrites the database into a compact file and swaps it in; reads and
    /// writes continue meanwhile (see the module docs). One at a time.
    pub fn defrag(&self) -> Result<DefragStats, BackendError> {
        let _one = self.defrag_lock.lock();
        let size_before_bytes = self.size_bytes().max(0) as u64;
        let tmp = defrag_path(self.path());
        remove_if_exists(&tmp)?;
        let started = Instant::now();
        // Prefer pinning right after the applier's commit: writes still in
        // the buffer (a compaction's deletes) would reach the new file only
        // by replay, leaving their pages behind as free space.
        let wait_until = started + PIN_WAIT_MAX;
        while self.pending_ops() > 0 && Instant::now() < wait_until {
            std::thread::sleep(Duration::from_millis(5));
        }
        let (pinned_db, txn) = {
            let _commit = self.commit_lock();
            let db = self.db();
            let txn = db.begin_read().map_err(BackendError::redb)?;
            *self.defrag_tap.lock() = Some(Vec::new());
            (db, txn)
        };
        let result = self.copy_and_swap(&pinned_db, txn, &tmp, started);
        *self.defrag_tap.lock() = None;
        match result {
            Ok((copy, pause)) => Ok(DefragStats {
                size_before_bytes,
                size_after_bytes: self.size_bytes().max(0) as u64,
                copy,
                pause,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    fn copy_and_swap(
        &self,
        pinned_db: &Arc<Database>,
        txn: redb::ReadTransaction,
        tmp: &Path,
        started: Instant,
    ) -> Result<(Duration, Duration), BackendError> {
        let out = Database::create(tmp).map_err(BackendError::redb)?;
        copy_tables(&txn, &out)?;
        drop(txn);
        loop {
            let batches = self.take_tap()?;
            let ops: usize = batches.iter().map(|b| b.ops()).sum();
            replay(&out, &batches, Durability::None)?;
            if ops <= DEFRAG_FINAL_OPS_MAX {
                break;
            }
        }
        let copy = started.elapsed();
        let _commit = self.commit_lock();
        let pause_started = Instant::now();
        if !Arc::ptr_eq(pinned_db, &self.db()) {
            return Err(BackendError::Defrag(
                "the data was replaced while copying".into(),
            ));
        }
        let rest = self.take_tap()?;
        // Always one durable commit, even with nothing left to replay: it
        // makes the earlier `Durability::None` commits durable.
        replay_durable(&out, &rest)?;
        std::fs::rename(tmp, self.path()).map_err(io_error)?;
        sync_dir(self.path())?;
        self.swap_db(out);
        Ok((copy, pause_started.elapsed()))
    }

    /// Drains the tap; abandons the defragmentation if it grew too large.
    fn take_tap(&self) -> Result<Vec<Arc<WriteBuffer>>, BackendError> {
        let mut tap = self.defrag_tap.lock();
        let batches = std::mem::take(
            tap.as_mut()
                .expect("the tap is set during a defragmentation"),
        );
        let ops: usize = batches.iter().map(|b| b.ops()).sum();
        if ops > DEFRAG_TAP_OPS_MAX {
            return Err(BackendError::Defrag(format!(
                "{ops} operations were committed during the copy (limit {DEFRAG_TAP_OPS_MAX})"
            )));
        }
        Ok(batches)
    }
}

/// `<db>.defrag`, beside the database file.
fn defrag_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".defrag");
    db.with_file_name(name)
}

fn copy_tables(src: &redb::ReadTransaction, out: &Database) -> Result<(), BackendError> {
    let mut w = out.begin_write().map_err(BackendError::redb)?;
    w.set_durability(Durability::None)
        .map_err(BackendError::redb)?;
    for t in Table::ALL {
        let from = src.open_table(t.definition()).map_err(BackendError::redb)?;
        let mut to = w.open_table(t.definition()).map_err(BackendError::redb)?;
        for item in from.iter().map_err(BackendError::redb)? {
            let (k, v) = item.map_err(BackendError::redb)?;
            to.insert(k.value(), v.value())
                .map_err(BackendError::redb)?;
        }
    }
    w.commit().map_err(BackendError::redb)
}

fn replay(
    out: &Database,
    batches: &[Arc<WriteBuffer>],
    durability: Durability,
) -> Result<(), BackendError> {
    let mut w = out.begin_write().map_err(BackendError::redb)?;
    w.set_durability(durability).map_err(BackendError::redb)?;
    for batch in batches {
        for t in Table::ALL {
            let entries = batch.table(t);
            if entries.is_empty() {
                continue;
            }
            let mut table = w.open_table(t.definition()).map_err(BackendError::redb)?;
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
    }
    w.commit().map_err(BackendError::redb)
}

fn replay_durable(out: &Database, batches: &[Arc<WriteBuffer>]) -> Result<(), BackendError> {
    replay(out, batches, Durability::Immediate)
}

fn io_error(e: std::io::Error) -> BackendError {
    BackendError::redb(redb::Error::Io(e))
}

fn remove_if_exists(p: &Path) -> Result<(), BackendError> {
    match std::fs::remove_file(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(e)),
    }
}

/// Makes the rename durable.
fn sync_dir(file: &Path) -> Result<(), BackendError> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BackendConfig;

    fn open(dir: &tempfile::TempDir) -> Backend {
        Backend::open(&dir.path().join("db"), BackendConfig::default()).unwrap()
    }

    fn key(i: u32) -> Vec<u8> {
        format!("k{i:08}").into_bytes()
    }

    #[test]
    fn defrag_shrinks_the_file_and_keeps_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let b = open(&dir);
        let value = vec![7u8; 1024];
        for i in 0..8_000 {
            b.put(Table::Key, &key(i), &value);
            if i % 500 == 0 {
                b.commit().unwrap();
            }
        }
        b.commit().unwrap();
        for i in 0..7_900 {
            b.delete(Table::Key, &key(i));
        }
        b.put(Table::Meta, b"m", b"v");
        b.commit().unwrap();
        let stats = b.defrag().unwrap();
        assert!(
            stats.size_after_bytes * 4 < stats.size_before_bytes,
            "{stats:?}"
        );
        assert_eq!(b.size_bytes() as u64, stats.size_after_bytes);
        let rows = b.range(Table::Key, b"", None, 0).unwrap();
        assert_eq!(rows.len(), 100);
        assert_eq!(rows[0].0, key(7_900));
        assert_eq!(
            b.get(Table::Meta, b"m").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        assert!(!defrag_path(b.path()).exists());
        // Writes after the swap land in the new file and survive a reopen.
        b.put(Table::Key, b"after", b"1");
        b.commit().unwrap();
        drop(b);
        let b = open(&dir);
        assert_eq!(b.range(Table::Key, b"", None, 0).unwrap().len(), 101);
    }

    #[test]
    fn commits_during_the_copy_are_carried_over() {
        let dir = tempfile::tempdir().unwrap();
        let b = Arc::new(open(&dir));
        for i in 0..20_000 {
            b.put(Table::Key, &key(i), &[1u8; 256]);
        }
        b.commit().unwrap();
        let writer = {
            let b = b.clone();
            std::thread::spawn(move || {
                for i in 20_000..24_000 {
                    b.put(Table::Key, &key(i), b"new");
                    b.delete(Table::Key, &key(i - 20_000));
                    if i % 50 == 0 {
                        b.commit().unwrap();
                    }
                }
                b.commit().unwrap();
            })
        };
        b.defrag().unwrap();
        writer.join().unwrap();
        b.commit().unwrap();
        drop(b);
        let b = open(&dir);
        let rows = b.range(Table::Key, b"", None, 0).unwrap();
        assert_eq!(rows.len(), 20_000);
        assert_eq!(rows[0].0, key(4_000));
        assert_eq!(
            b.get(Table::Key, &key(23_999)).unwrap().as_deref(),
            Some(&b"new"[..])
        );
    }

    #[test]
    fn a_replaced_database_abandons_the_defrag() {
        let dir = tempfile::tempdir().unwrap();
        let b = open(&dir);
        b.put(Table::Key, b"a", b"1");
        b.commit().unwrap();
        let (db, txn) = {
            let db = b.db();
            let txn = db.begin_read().unwrap();
            (db, txn)
        };
        *b.defrag_tap.lock() = Some(Vec::new());
        // Another database took the place of the pinned one.
        let other = dir.path().join("other");
        b.swap_db(Database::create(&other).unwrap());
        let err = b.copy_and_swap(&db, txn, &defrag_path(b.path()), Instant::now());
        assert!(matches!(err, Err(BackendError::Defrag(_))), "{err:?}");
    }
}
