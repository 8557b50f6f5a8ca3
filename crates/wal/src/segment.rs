//! Segment files on disk: create (temp file, lock, write header, preallocate, fsync, rename,
//! fsync the directory), open with a lock, read, write at an offset, sync.
//!
//! Order matters in `create`: the segment only gets its final `.wal` name once its header is
//! durable, so a crash never leaves a `.wal` file without a CRC record at its start, and the
//! directory fsync makes the new name itself durable before any entry is acknowledged in it.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, WalError};
use crate::lock::try_lock_exclusive;
use crate::segment_name::{SegmentName, TMP_SUFFIX};

/// One segment known to a `Wal`.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Parsed name.
    pub name: SegmentName,
    /// Full path.
    pub path: PathBuf,
    /// Locked handle, for segments this `Wal` holds (read at open or written since). Older
    /// segments before the open point are known only by name.
    pub file: Option<File>,
}

/// Opens an existing segment for reading and writing and locks it.
pub(crate) fn open_locked(dir: &Path, name: SegmentName) -> Result<Segment, WalError> {
    let path = dir.join(name.file_name());
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .ctx(|| format!("open {}", path.display()))?;
    try_lock_exclusive(&file, &path)?;
    Ok(Segment {
        name,
        path,
        file: Some(file),
    })
}

/// Creates segment `name` holding `header` and preallocated to `segment_bytes`; see the
/// module docs for the order of steps. `dir_file` is the directory, opened for fsync.
pub(crate) fn create(
    dir: &Path,
    dir_file: &File,
    name: SegmentName,
    header: &[u8],
    segment_bytes: u64,
) -> Result<Segment, WalError> {
    let path = dir.join(name.file_name());
    let tmp = dir.join(format!("{}{TMP_SUFFIX}", name.file_name()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .ctx(|| format!("create {}", tmp.display()))?;
    try_lock_exclusive(&file, &tmp)?;
    file.write_all_at(header, 0)
        .ctx(|| format!("write {}", tmp.display()))?;
    file.set_len(segment_bytes.max(header.len() as u64))
        .ctx(|| format!("preallocate {}", tmp.display()))?;
    file.sync_all().ctx(|| format!("fsync {}", tmp.display()))?;
    std::fs::rename(&tmp, &path)
        .ctx(|| format!("rename {} to {}", tmp.display(), path.display()))?;
    sync_dir(dir_file, dir)?;
    Ok(Segment {
        name,
        path,
        file: Some(file),
    })
}

/// Reads a whole file.
pub(crate) fn read_all(file: &File, path: &Path) -> Result<Vec<u8>, WalError> {
    let len = file
        .metadata()
        .ctx(|| format!("stat {}", path.display()))?
        .len();
    let mut bytes = vec![0u8; usize::try_from(len).expect("segment fits in memory")];
    file.read_exact_at(&mut bytes, 0)
        .ctx(|| format!("read {}", path.display()))?;
    Ok(bytes)
}

/// Opens a directory so it can be fsynced.
pub(crate) fn open_dir(dir: &Path) -> Result<File, WalError> {
    File::open(dir).ctx(|| format!("open dir {}", dir.display()))
}

/// Makes creations, renames and removals in `dir` durable.
pub(crate) fn sync_dir(dir_file: &File, dir: &Path) -> Result<(), WalError> {
    dir_file
        .sync_all()
        .ctx(|| format!("fsync dir {}", dir.display()))
}
