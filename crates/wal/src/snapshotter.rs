//! Snapshot files: `<dir>/{term:016x}-{index:016x}.snap`, one per saved snapshot.
//!
//! A file is written whole to `<name>.tmp`, fsynced, renamed into place and the directory
//! fsynced, so a `.snap` file is either complete or absent. Its layout (`FORMAT.md`), all
//! integers little-endian:
//!
//! ```text
//! magic "etcdsnp1" | index: u64 | term: u64 | data_len: u64 | data | crc: u32
//! ```
//!
//! where `crc` is crc32 (IEEE) over every byte before it. Names sort by term then index, so the
//! greatest name is the newest snapshot. A file that fails to decode is renamed to
//! `<name>.broken` by `load_newest`, which then tries the next older one (as etcd does).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, WalError};
use crate::segment::{open_dir, sync_dir};

const SNAP_SUFFIX: &str = ".snap";
const TMP_SUFFIX: &str = ".tmp";
const BROKEN_SUFFIX: &str = ".broken";
const MAGIC: &[u8; 8] = b"etcdsnp1";
/// magic + index + term + data_len.
const HEADER_BYTES: usize = 8 + 8 + 8 + 8;
const CRC_BYTES: usize = 4;

/// Saves, loads and purges snapshot files in one directory.
#[derive(Debug)]
pub struct Snapshotter {
    dir: PathBuf,
}

impl Snapshotter {
    /// A snapshotter for `dir`, which is created if missing.
    pub fn new(dir: &Path) -> Result<Snapshotter, WalError> {
        std::fs::create_dir_all(dir).ctx(|| format!("create dir {}", dir.display()))?;
        Ok(Snapshotter {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the snapshot at (`index`, `term`) holding the caller's encoded `data`, durably.
    pub fn save(&self, index: u64, term: u64, data: &[u8]) -> Result<(), WalError> {
        let name = snap_file_name(term, index);
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!("{name}{TMP_SUFFIX}"));
        let result = write_synced(&tmp, &encode(index, term, data));
        if let Err(err) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(err);
        }
        std::fs::rename(&tmp, &path)
            .ctx(|| format!("rename {} to {}", tmp.display(), path.display()))?;
        sync_dir(&open_dir(&self.dir)?, &self.dir)
    }

    /// The newest snapshot that decodes, as `(index, term, data)`, or `None` if there is none.
    /// Files that do not decode are renamed to `*.broken` and skipped.
    pub fn load_newest(&self) -> Result<Option<(u64, u64, Vec<u8>)>, WalError> {
        for name in self.snap_names()?.iter().rev() {
            let path = self.dir.join(name);
            let bytes = std::fs::read(&path).ctx(|| format!("read {}", path.display()))?;
            match decode(name, &bytes) {
                Ok(found) => return Ok(Some(found)),
                Err(_reason) => {
                    let broken = self.dir.join(format!("{name}{BROKEN_SUFFIX}"));
                    std::fs::rename(&path, &broken)
                        .ctx(|| format!("rename {} to {}", path.display(), broken.display()))?;
                }
            }
        }
        Ok(None)
    }

    /// Reads and checks one snapshot file.
    pub fn read(path: &Path) -> Result<(u64, u64, Vec<u8>), WalError> {
        let bytes = std::fs::read(path).ctx(|| format!("read {}", path.display()))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        decode(name, &bytes).map_err(|reason| WalError::SnapCorrupt {
            path: path.to_path_buf(),
            reason: reason.into(),
        })
    }

    /// Deletes all but the newest `keep` snapshot files, and leftover temp files.
    /// `keep == 0` deletes nothing (etcd's "0 means unlimited").
    pub fn purge(&self, keep: usize) -> Result<(), WalError> {
        if keep == 0 {
            return Ok(());
        }
        let names = self.snap_names()?;
        let doomed = names.len().saturating_sub(keep);
        for name in &names[..doomed] {
            let path = self.dir.join(name);
            std::fs::remove_file(&path).ctx(|| format!("remove {}", path.display()))?;
        }
        for entry in
            std::fs::read_dir(&self.dir).ctx(|| format!("read dir {}", self.dir.display()))?
        {
            let entry = entry.ctx(|| format!("read dir {}", self.dir.display()))?;
            if let Some(name) = entry.file_name().to_str() {
                if name.ends_with(&format!("{SNAP_SUFFIX}{TMP_SUFFIX}")) {
                    let path = entry.path();
                    std::fs::remove_file(&path).ctx(|| format!("remove {}", path.display()))?;
                }
            }
        }
        sync_dir(&open_dir(&self.dir)?, &self.dir)
    }

    /// Well-formed `.snap` names, oldest first.
    fn snap_names(&self) -> Result<Vec<String>, WalError> {
        let mut names = Vec::new();
        for entry in
            std::fs::read_dir(&self.dir).ctx(|| format!("read dir {}", self.dir.display()))?
        {
            let entry = entry.ctx(|| format!("read dir {}", self.dir.display()))?;
            if let Some(name) = entry.file_name().to_str() {
                if parse_snap_file_name(name).is_some() {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        Ok(names)
    }
}

fn snap_file_name(term: u64, index: u64) -> String {
    format!("{term:016x}-{index:016x}{SNAP_SUFFIX}")
}

/// `(term, index)` from a file name in the exact format.
fn parse_snap_file_name(name: &str) -> Option<(u64, u64)> {
    let (term, index) = name.strip_suffix(SNAP_SUFFIX)?.split_once('-')?;
    let hex = |t: &str| {
        (t.len() == 16 && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(t, 16).ok())
            .flatten()
    };
    Some((hex(term)?, hex(index)?))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), WalError> {
    let mut file: File = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .ctx(|| format!("create {}", path.display()))?;
    file.write_all(bytes)
        .ctx(|| format!("write {}", path.display()))?;
    file.sync_all().ctx(|| format!("fsync {}", path.display()))
}

fn encode(index: u64, term: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + data.len() + CRC_BYTES);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&term.to_le_bytes());
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a snapshot file named `name`; the error is the reason it is corrupt.
fn decode(name: &str, bytes: &[u8]) -> Result<(u64, u64, Vec<u8>), &'static str> {
    if bytes.len() < HEADER_BYTES + CRC_BYTES {
        return Err("file too short");
    }
    let (body, crc_bytes) = bytes.split_at(bytes.len() - CRC_BYTES);
    let stored_crc = u32::from_le_bytes(crc_bytes.try_into().expect("4 bytes"));
    if crc32fast::hash(body) != stored_crc {
        return Err("crc mismatch");
    }
    if &body[..8] != MAGIC {
        return Err("bad magic");
    }
    let field = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().expect("8 bytes"));
    let (index, term, data_len) = (field(8), field(16), field(24));
    if data_len != (body.len() - HEADER_BYTES) as u64 {
        return Err("data length mismatch");
    }
    if parse_snap_file_name(name).is_some_and(|named| named != (term, index)) {
        return Err("file name does not match contents");
    }
    Ok((index, term, body[HEADER_BYTES..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_name_check() {
        let bytes = encode(5, 2, b"data");
        let name = snap_file_name(2, 5);
        assert_eq!(name, "0000000000000002-0000000000000005.snap");
        assert_eq!(decode(&name, &bytes), Ok((5, 2, b"data".to_vec())));
        assert_eq!(
            decode(&snap_file_name(2, 6), &bytes),
            Err("file name does not match contents")
        );
        let mut flipped = bytes.clone();
        flipped[HEADER_BYTES] ^= 1;
        assert_eq!(decode(&name, &flipped), Err("crc mismatch"));
        assert_eq!(decode(&name, &bytes[..10]), Err("file too short"));
    }
}
