//! etcd 3.4's WAL (`member/wal/<seq>-<index>.wal`), read-only.
//!
//! Format (etcd's `wal/encoder.go`, `wal/decoder.go`, `walpb/record.proto`):
//! - A segment is a sequence of frames: an 8-byte little-endian length word
//!   whose low 56 bits are the byte length of a `walpb.Record` and, when the
//!   top bit is set, bits 56..59 the number of zero padding bytes after it
//!   (frames are 8-byte aligned). A zero length word ends the segment (the
//!   rest is preallocated zeros).
//! - `Record{type = 1, crc = 2, data = 3}`; the crc is CRC-32C of `data`
//!   chained across every record of every segment, except `crc` records
//!   (type 4), which carry the running value and reseed it at the start of
//!   each segment.
//! - Types: 1 metadata (`etcdserverpb.Metadata`, equal in every segment),
//!   2 entry (`raftpb.Entry`), 3 state (`raftpb.HardState`), 4 crc,
//!   5 snapshot (`walpb.Snapshot{index = 1, term = 2}`).
//! - An entry whose index is at or below one read before replaces it and
//!   every entry after it (a new leader overwrote an uncommitted suffix).
//!
//! Reading rules, as etcd's `ReadAll` plus `Repair`: a torn record (cut
//! short by the end of the file, or bad with a whole 512-byte sector of
//! zeros inside it) is tolerated in the **last** segment only, and ends the
//! log there; any other bad record is [`WalError::Corrupt`]. The files are
//! never written.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, WalError};
use crate::etcd::proto::{crc32c_update, fields, varint_field, Value};
use crate::payload::{WalEntry, WalSnapshot};
use crate::segment_name::SegmentName;

const METADATA_TYPE: u64 = 1;
const ENTRY_TYPE: u64 = 2;
const STATE_TYPE: u64 = 3;
const CRC_TYPE: u64 = 4;
const SNAPSHOT_TYPE: u64 = 5;
/// Bytes of a frame's length word.
const FRAME_LEN_BYTES: usize = 8;
/// etcd refuses records of this size or more (`maxWALEntrySizeLimit`).
pub const ETCD_RECORD_BYTES_MAX: u64 = 10 * 1024 * 1024;
/// The sector size etcd's torn-write detection works in (`minSectorSize`).
const SECTOR_BYTES: usize = 512;

/// Everything an etcd 3.4 WAL directory holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdWal {
    /// The metadata record (`etcdserverpb.Metadata`), empty if none was read.
    pub metadata: Vec<u8>,
    /// The last `raftpb.HardState` record, if any.
    pub hard_state: Option<Vec<u8>>,
    /// The commit index of that hard state (0 without one).
    pub commit: u64,
    /// Every snapshot record, in log order (the first segment has `{0, 0}`).
    pub snapshots: Vec<WalSnapshot>,
    /// The entries, contiguous and overwrite rules applied; `data` is the
    /// encoded `raftpb.Entry`.
    pub entries: Vec<WalEntry>,
    /// Where a torn tail of the last segment was cut off, if one was.
    pub torn_tail: Option<(PathBuf, u64)>,
}

impl EtcdWal {
    /// The snapshot records etcd would accept: at or below the commit index
    /// (etcd's `ValidSnapshotEntries`).
    pub fn valid_snapshots(&self) -> Vec<WalSnapshot> {
        self.snapshots
            .iter()
            .copied()
            .filter(|s| s.index <= self.commit)
            .collect()
    }
}

/// The `.wal` segments of `dir` sorted by sequence number.
fn segments(dir: &Path) -> Result<Vec<(SegmentName, PathBuf)>, WalError> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).ctx(|| format!("read dir {}", dir.display()))?;
    for e in rd {
        let e = e.ctx(|| format!("read dir {}", dir.display()))?;
        if let Some(name) = e.file_name().to_str().and_then(SegmentName::parse) {
            out.push((name, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// True when `dir` holds `.wal` segments written by etcd (not by us): the
/// first frame of the oldest segment is an 8-byte length word followed by a
/// protobuf record, where ours starts with a 4-byte length and a type byte.
pub fn is_etcd_wal_dir(dir: &Path) -> bool {
    let Ok(segs) = segments(dir) else {
        return false;
    };
    let Some((_, path)) = segs.first() else {
        return false;
    };
    let mut head = [0u8; 16];
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    if std::io::Read::read_exact(&mut f, &mut head).is_err() {
        return false;
    }
    // Ours: byte 4 is the record type (1..=5). etcd: bytes 4..7 are the high
    // bytes of a length below 2^32, i.e. zero, and the record starts with
    // the tag of field 1 (`type`, varint) = 0x08.
    head[4..7] == [0, 0, 0] && head[8] == 0x08
}

/// Takes etcd's exclusive `flock` on every segment (etcd holds it while it
/// runs), so an import never reads a log that a live etcd is appending to.
/// The locks last as long as the returned files.
pub fn lock_etcd_wal(dir: &Path) -> Result<Vec<File>, WalError> {
    let mut out = Vec::new();
    for (_, path) in segments(dir)? {
        let f = File::open(&path).ctx(|| format!("open {}", path.display()))?;
        crate::lock::try_lock_exclusive(&f, &path)?;
        out.push(f);
    }
    Ok(out)
}

/// Reads a whole etcd 3.4 WAL directory (every segment, oldest first).
pub fn read_etcd_wal(dir: &Path) -> Result<EtcdWal, WalError> {
    let segs = segments(dir)?;
    if segs.is_empty() {
        return Err(WalError::SegmentNotFound {
            dir: dir.to_path_buf(),
            index: 0,
        });
    }
    for pair in segs.windows(2) {
        if pair[1].0.seq != pair[0].0.seq + 1 {
            return Err(WalError::Corrupt {
                segment: pair[1].1.clone(),
                offset: 0,
                reason: format!(
                    "etcd WAL segments are not contiguous (sequence {:x} follows {:x})",
                    pair[1].0.seq, pair[0].0.seq
                ),
            });
        }
    }
    let mut state = Reader {
        out: EtcdWal::default(),
        crc: 0,
    };
    let last = segs.len() - 1;
    for (i, (_, path)) in segs.iter().enumerate() {
        let data = std::fs::read(path).ctx(|| format!("read {}", path.display()))?;
        state.segment(path, &data, i == last)?;
    }
    Ok(state.out)
}

struct Reader {
    out: EtcdWal,
    crc: u32,
}

/// One record's framing outcome.
enum Frame<'a> {
    /// A well-formed frame (the record may still be bad).
    Record {
        bytes: &'a [u8],
        padded: &'a [u8],
        next: usize,
    },
    /// The segment's end (EOF or a zero length word).
    End,
    /// The frame runs past the end of the file.
    Short,
}

fn frame(data: &[u8], off: usize) -> Result<Frame<'_>, String> {
    if off == data.len() {
        return Ok(Frame::End);
    }
    let Some(word) = data.get(off..off + FRAME_LEN_BYTES) else {
        return Ok(Frame::Short);
    };
    let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
    if word == 0 {
        return Ok(Frame::End);
    }
    let rec_bytes = word & !(0xffu64 << 56);
    let pad_bytes = if word >> 63 == 1 { (word >> 56) & 7 } else { 0 };
    if rec_bytes + pad_bytes >= ETCD_RECORD_BYTES_MAX {
        return Err(format!(
            "record of {rec_bytes} bytes exceeds etcd's {ETCD_RECORD_BYTES_MAX}-byte limit"
        ));
    }
    let start = off + FRAME_LEN_BYTES;
    let end = start + (rec_bytes + pad_bytes) as usize;
    let Some(padded) = data.get(start..end) else {
        return Ok(Frame::Short);
    };
    Ok(Frame::Record {
        bytes: &padded[..rec_bytes as usize],
        padded,
        next: end,
    })
}

/// etcd's `isTornEntry`: some sector-aligned chunk of the frame is all zeros.
fn has_zero_sector(padded: &[u8], file_off: usize) -> bool {
    let mut pos = 0;
    let mut abs = file_off;
    while pos < padded.len() {
        let n = (SECTOR_BYTES - abs % SECTOR_BYTES).min(padded.len() - pos);
        if padded[pos..pos + n].iter().all(|b| *b == 0) {
            return true;
        }
        pos += n;
        abs += n;
    }
    false
}

impl Reader {
    fn segment(&mut self, path: &Path, data: &[u8], last: bool) -> Result<(), WalError> {
        let corrupt = |offset: usize, reason: String| WalError::Corrupt {
            segment: path.to_path_buf(),
            offset: offset as u64,
            reason: format!("etcd WAL: {reason}"),
        };
        let mut off = 0usize;
        loop {
            let (bytes, padded, next) = match frame(data, off).map_err(|r| corrupt(off, r))? {
                Frame::End => return Ok(()),
                Frame::Short if last => return self.torn(path, off),
                Frame::Short => {
                    return Err(corrupt(
                        off,
                        "record cut short in a segment that is not the last".into(),
                    ))
                }
                Frame::Record {
                    bytes,
                    padded,
                    next,
                } => (bytes, padded, next),
            };
            let torn_ok = last && has_zero_sector(padded, off + FRAME_LEN_BYTES);
            match self.record(bytes) {
                Ok(()) => off = next,
                Err(_) if torn_ok => return self.torn(path, off),
                Err(reason) => return Err(corrupt(off, reason)),
            }
        }
    }

    fn torn(&mut self, path: &Path, off: usize) -> Result<(), WalError> {
        self.out.torn_tail = Some((path.to_path_buf(), off as u64));
        Ok(())
    }

    /// Checks and applies one record; `Err` says what is wrong with it.
    fn record(&mut self, bytes: &[u8]) -> Result<(), String> {
        let (mut typ, mut crc, mut rec_data) = (0u64, 0u32, &[][..]);
        for (n, v) in fields(bytes).map_err(|e| format!("bad record: {e}"))? {
            match (n, v) {
                (1, Value::Varint(t)) => typ = t,
                (2, Value::Varint(c)) => crc = c as u32,
                (3, Value::Bytes(b)) => rec_data = b,
                _ => return Err(format!("bad record: unexpected field {n}")),
            }
        }
        if typ == CRC_TYPE {
            if self.crc != 0 && crc != self.crc {
                return Err(format!(
                    "crc mismatch (crc record {crc:#010x}, running crc {:#010x})",
                    self.crc
                ));
            }
            self.crc = crc;
            return Ok(());
        }
        let running = crc32c_update(self.crc, rec_data);
        if running != crc {
            return Err(format!(
                "crc mismatch (record crc {crc:#010x}, computed {running:#010x})"
            ));
        }
        self.crc = running;
        match typ {
            METADATA_TYPE => {
                if !self.out.metadata.is_empty() && self.out.metadata != rec_data {
                    return Err("conflicting metadata found".into());
                }
                self.out.metadata = rec_data.to_vec();
            }
            ENTRY_TYPE => self.entry(rec_data)?,
            STATE_TYPE => {
                self.out.commit =
                    varint_field(rec_data, 3).map_err(|e| format!("bad hard state: {e}"))?;
                self.out.hard_state = Some(rec_data.to_vec());
            }
            SNAPSHOT_TYPE => {
                let index =
                    varint_field(rec_data, 1).map_err(|e| format!("bad snapshot record: {e}"))?;
                let term =
                    varint_field(rec_data, 2).map_err(|e| format!("bad snapshot record: {e}"))?;
                self.out.snapshots.push(WalSnapshot { index, term });
            }
            t => return Err(format!("unexpected block type {t}")),
        }
        Ok(())
    }

    fn entry(&mut self, data: &[u8]) -> Result<(), String> {
        let term = varint_field(data, 2).map_err(|e| format!("bad entry: {e}"))?;
        let index = varint_field(data, 3).map_err(|e| format!("bad entry: {e}"))?;
        let entries = &mut self.out.entries;
        if let Some(first) = entries.first().map(|e| e.index) {
            if index < first {
                entries.clear();
            } else if index <= entries.last().expect("non-empty").index {
                entries.truncate((index - first) as usize);
            } else if index != entries.last().expect("non-empty").index + 1 {
                return Err(format!(
                    "entry {index} does not follow entry {}",
                    entries.last().expect("non-empty").index
                ));
            }
        }
        entries.push(WalEntry {
            index,
            term,
            data: data.to_vec(),
        });
        Ok(())
    }
}
