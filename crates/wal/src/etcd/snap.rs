//! etcd 3.4's Raft snapshot files (`member/snap/<term>-<index>.snap`), read-only.
//!
//! Format (etcd's `etcdserver/api/snap`): the file is one
//! `snappb.snapshot{crc = 1, data = 2}` where `data` is an encoded
//! `raftpb.Snapshot{data = 1, metadata = 2{conf_state = 1, index = 2, term = 3}}`
//! and `crc` the CRC-32C of `data`. The name is `%016x-%016x.snap` of term
//! and index; what counts is the metadata inside.
//!
//! Choosing one (etcd's `LoadNewestAvailable`): newest name first, the first
//! file that decodes and whose `{index, term}` is among the WAL's valid
//! snapshot records. Files that fail to decode are skipped (etcd renames them
//! `*.broken`; an import never modifies etcd's files) and reported.

use std::path::{Path, PathBuf};

use crate::error::{IoContext, WalError};
use crate::etcd::proto::{crc32c_update, fields, varint_field, Value};
use crate::payload::WalSnapshot;

/// Suffix of etcd's snapshot files.
const SNAP_SUFFIX: &str = ".snap";

/// Snapshot files that could not be read, each with the reason.
pub type SkippedSnaps = Vec<(PathBuf, String)>;

/// One decoded etcd snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdSnap {
    /// The file.
    pub path: PathBuf,
    /// Raft index of the snapshot.
    pub index: u64,
    /// Raft term of the snapshot.
    pub term: u64,
    /// The encoded `raftpb.Snapshot` (its `data` is the v2 store as JSON).
    pub raft_snapshot: Vec<u8>,
}

/// Reads and checks one etcd snapshot file.
pub fn read_etcd_snap(path: &Path) -> Result<EtcdSnap, WalError> {
    let bad = |reason: String| WalError::SnapCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).ctx(|| format!("read {}", path.display()))?;
    if bytes.is_empty() {
        return Err(bad("empty snapshot".into()));
    }
    let (mut crc, mut data) = (None, None);
    for (n, v) in fields(&bytes).map_err(|e| bad(format!("bad snapshot file: {e}")))? {
        match (n, v) {
            (1, Value::Varint(c)) => crc = Some(c as u32),
            (2, Value::Bytes(d)) => data = Some(d),
            _ => return Err(bad(format!("bad snapshot file: unexpected field {n}"))),
        }
    }
    let (Some(crc), Some(data)) = (crc, data) else {
        return Err(bad("snapshot file without crc or data".into()));
    };
    let computed = crc32c_update(0, data);
    if computed != crc {
        return Err(bad(format!(
            "crc mismatch (stored {crc:#010x}, computed {computed:#010x})"
        )));
    }
    let mut meta: &[u8] = &[];
    for (n, v) in fields(data).map_err(|e| bad(format!("bad raft snapshot: {e}")))? {
        if let (2, Value::Bytes(m)) = (n, v) {
            meta = m;
        }
    }
    let index = varint_field(meta, 2).map_err(|e| bad(format!("bad snapshot metadata: {e}")))?;
    let term = varint_field(meta, 3).map_err(|e| bad(format!("bad snapshot metadata: {e}")))?;
    Ok(EtcdSnap {
        path: path.to_path_buf(),
        index,
        term,
        raft_snapshot: data.to_vec(),
    })
}

/// The newest snapshot file of `dir` matching one of `accept`, plus every
/// file that was skipped because it could not be read, with the reason.
pub fn load_newest_etcd_snap(
    dir: &Path,
    accept: &[WalSnapshot],
) -> Result<(Option<EtcdSnap>, SkippedSnaps), WalError> {
    let mut names = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            for e in rd {
                let e = e.ctx(|| format!("read dir {}", dir.display()))?;
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(SNAP_SUFFIX) {
                    names.push(name);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(WalError::io(format!("read dir {}", dir.display()), e)),
    }
    // Fixed-width hex names: lexical order is (term, index) order.
    names.sort();
    let mut skipped = Vec::new();
    for name in names.iter().rev() {
        let path = dir.join(name);
        match read_etcd_snap(&path) {
            Ok(s)
                if accept
                    .iter()
                    .any(|w| w.index == s.index && w.term == s.term) =>
            {
                return Ok((Some(s), skipped))
            }
            Ok(_) => {}
            Err(e @ WalError::SnapCorrupt { .. }) => skipped.push((path, e.to_string())),
            Err(e) => return Err(e),
        }
    }
    Ok((None, skipped))
}
