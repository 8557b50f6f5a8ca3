//! Replay: turn the bytes of consecutive segments into [`WalContents`]. No I/O here; the caller
//! reads each segment and feeds it in order, so only one segment is in memory at a time.
//!
//! Rules (the "why" is in `FORMAT.md`):
//! - Each segment starts with a CRC record. The first segment fed seeds the crc chain from it;
//!   every later record, in every later segment, must continue the chain.
//! - The end of a segment's data is a zero length word (or the end of the file); everything
//!   after it must be zero.
//! - A bad record is a *torn tail* only in the last segment, and only when nothing but zeros
//!   follows the bytes it claims and no valid record chaining from it hides inside those bytes
//!   (a corrupted length word must not swallow acknowledged records). A torn tail is cut off;
//!   anything else bad is [`WalError::Corrupt`].
//! - An entry whose index is at or below an earlier entry's replaces it and everything after it
//!   (Raft §5.3 log overwrite). Entries at or below the snapshot index are not returned, but
//!   they still supersede the entries read before them (etcd 3.4 skips them outright and can
//!   hand back stale entries above the snapshot that were overwritten before it was taken).
//! - The snapshot asked for must appear as a snapshot record with the same term, unless it is
//!   the empty snapshot `{0, 0}`.

use std::path::{Path, PathBuf};

use crate::error::WalError;
use crate::payload::{decode_entry, decode_snapshot, WalEntry, WalSnapshot};
use crate::record::{decode, Decoded, RecordType, ALIGN_BYTES};

/// What `open` hands back to the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalContents {
    /// The metadata given to `create`.
    pub metadata: Vec<u8>,
    /// The last hard state saved, if any was.
    pub hard_state: Option<Vec<u8>>,
    /// The entries after the snapshot index, in index order, overwrites resolved.
    pub entries: Vec<WalEntry>,
}

/// Where the valid data of one segment ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentEnd {
    /// Bytes of valid records from the start of the segment.
    pub valid_bytes: u64,
    /// Whether a torn record (and possibly garbage after it) follows `valid_bytes`.
    pub torn: bool,
}

/// Everything replay learned.
#[derive(Debug)]
pub(crate) struct Replayed {
    /// For the caller.
    pub contents: WalContents,
    /// The running crc after the last valid record.
    pub crc: u32,
    /// The index the next segment would be named after, minus one: the last entry index
    /// written, raised by snapshot records.
    pub last_index: u64,
}

/// Incremental replayer; feed segments oldest first, then `finish`.
#[derive(Debug)]
pub(crate) struct Replayer {
    snap: WalSnapshot,
    crc: Option<u32>,
    first_segment: Option<PathBuf>,
    metadata: Option<Vec<u8>>,
    hard_state: Option<Vec<u8>>,
    entries: Vec<WalEntry>,
    last_index: u64,
    snapshot_matched: bool,
}

impl Replayer {
    /// Starts a replay that will skip entries up to `snap.index`. `last_index` is the last
    /// index written before the first segment fed (its `first_index - 1`).
    pub(crate) fn new(snap: WalSnapshot, last_index: u64) -> Replayer {
        Replayer {
            snap,
            crc: None,
            first_segment: None,
            metadata: None,
            hard_state: None,
            entries: Vec::new(),
            last_index,
            snapshot_matched: false,
        }
    }

    /// Replays one segment. `is_last` allows a torn tail in it.
    pub(crate) fn feed(
        &mut self,
        path: &Path,
        bytes: &[u8],
        is_last: bool,
    ) -> Result<SegmentEnd, WalError> {
        if self.first_segment.is_none() {
            self.first_segment = Some(path.to_path_buf());
        }
        let corrupt = |offset: usize, reason: &str| WalError::Corrupt {
            segment: path.to_path_buf(),
            offset: offset as u64,
            reason: reason.to_string(),
        };
        let mut offset = 0usize;
        loop {
            match decode(bytes, offset, self.crc) {
                Decoded::Record {
                    kind,
                    payload,
                    crc,
                    next_offset,
                } => {
                    if offset == 0 && kind != RecordType::Crc {
                        return Err(corrupt(0, "segment does not start with a crc record"));
                    }
                    self.apply(kind, payload).map_err(|e| match e {
                        Applied::Malformed(reason) => corrupt(offset, &reason),
                        Applied::Fatal(err) => err,
                    })?;
                    self.crc = Some(crc);
                    offset = next_offset;
                }
                Decoded::End => {
                    if bytes[offset..].iter().any(|b| *b != 0) {
                        return Err(corrupt(offset, "data after the end of the log"));
                    }
                    if offset == 0 && !is_last {
                        return Err(corrupt(0, "empty segment"));
                    }
                    return Ok(SegmentEnd {
                        valid_bytes: offset as u64,
                        torn: false,
                    });
                }
                Decoded::Bad {
                    why,
                    claimed_end,
                    stored_crc,
                } => {
                    if is_last && is_torn(bytes, offset, claimed_end, stored_crc) {
                        return Ok(SegmentEnd {
                            valid_bytes: offset as u64,
                            torn: true,
                        });
                    }
                    return Err(corrupt(offset, why.reason()));
                }
            }
        }
    }

    fn apply(&mut self, kind: RecordType, payload: &[u8]) -> Result<(), Applied> {
        match kind {
            RecordType::Crc => {}
            RecordType::Metadata => match &self.metadata {
                Some(known) if known[..] != payload[..] => {
                    return Err(Applied::Fatal(WalError::MetadataConflict))
                }
                Some(_) => {}
                None => self.metadata = Some(payload.to_vec()),
            },
            RecordType::HardState => self.hard_state = Some(payload.to_vec()),
            RecordType::Entry => {
                let entry = decode_entry(payload)
                    .ok_or_else(|| Applied::Malformed("malformed entry record".into()))?;
                self.last_index = entry.index;
                self.push_entry(entry)?;
            }
            RecordType::Snapshot => {
                let snap = decode_snapshot(payload)
                    .ok_or_else(|| Applied::Malformed("malformed snapshot record".into()))?;
                self.last_index = self.last_index.max(snap.index);
                if snap.index == self.snap.index {
                    if snap.term != self.snap.term {
                        return Err(Applied::Fatal(WalError::SnapshotMismatch));
                    }
                    self.snapshot_matched = true;
                }
            }
        }
        Ok(())
    }

    fn push_entry(&mut self, entry: WalEntry) -> Result<(), Applied> {
        if entry.index <= self.snap.index {
            // Everything read so far is above the snapshot, hence after this entry: an
            // overwrite written before the snapshot supersedes it all.
            self.entries.clear();
            return Ok(());
        }
        let position = entry.index - self.snap.index - 1;
        if position > self.entries.len() as u64 {
            return Err(Applied::Malformed(format!(
                "entry index {} leaves a gap after index {}",
                entry.index,
                self.snap.index + self.entries.len() as u64
            )));
        }
        self.entries.truncate(position as usize);
        self.entries.push(entry);
        Ok(())
    }

    /// Checks what can only be checked at the end and hands back the result.
    pub(crate) fn finish(self) -> Result<Replayed, WalError> {
        let Some(metadata) = self.metadata else {
            return Err(WalError::Corrupt {
                segment: self.first_segment.unwrap_or_default(),
                offset: 0,
                reason: "no metadata record".into(),
            });
        };
        if !self.snapshot_matched && self.snap != WalSnapshot::default() {
            return Err(WalError::SnapshotNotFound);
        }
        Ok(Replayed {
            contents: WalContents {
                metadata,
                hard_state: self.hard_state,
                entries: self.entries,
            },
            crc: self
                .crc
                .expect("a metadata record was read, so the chain is seeded"),
            last_index: self.last_index,
        })
    }
}

/// Outcome of applying one record that is not success.
enum Applied {
    /// The record is framed correctly but its payload is not what its type requires.
    Malformed(String),
    /// A semantic error with its own variant.
    Fatal(WalError),
}

/// Whether the bad record at `offset` in the last segment is a torn write.
fn is_torn(bytes: &[u8], offset: usize, claimed_end: usize, stored_crc: Option<u32>) -> bool {
    if bytes[claimed_end..].iter().any(|b| *b != 0) {
        return false;
    }
    // A length word that was corrupted (rather than torn) can claim the following, valid
    // records; they would chain from this record's stored crc.
    if let Some(crc) = stored_crc {
        let mut probe = offset + ALIGN_BYTES;
        while probe < claimed_end {
            if matches!(decode(bytes, probe, Some(crc)), Decoded::Record { .. }) {
                return false;
            }
            probe += ALIGN_BYTES;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{encode_entry, encode_snapshot};
    use crate::record::encode;

    fn segment(prev_crc: u32, records: &[(RecordType, Vec<u8>)]) -> (Vec<u8>, u32) {
        let mut buf = Vec::new();
        let mut crc = encode(&mut buf, RecordType::Crc, &[], prev_crc);
        for (kind, payload) in records {
            crc = encode(&mut buf, *kind, payload, crc);
        }
        (buf, crc)
    }

    fn entry(index: u64, term: u64) -> (RecordType, Vec<u8>) {
        let mut buf = Vec::new();
        encode_entry(
            &mut buf,
            &WalEntry {
                index,
                term,
                data: vec![index as u8; 3],
            },
        );
        (RecordType::Entry, buf)
    }

    fn meta() -> (RecordType, Vec<u8>) {
        (RecordType::Metadata, b"m".to_vec())
    }

    #[test]
    fn overwrite_replaces_the_suffix() {
        let (bytes, _) = segment(
            0,
            &[meta(), entry(1, 1), entry(2, 1), entry(3, 1), entry(2, 2)],
        );
        let mut r = Replayer::new(WalSnapshot::default(), 0);
        r.feed(Path::new("s"), &bytes, true).unwrap();
        let out = r.finish().unwrap();
        let got: Vec<_> = out
            .contents
            .entries
            .iter()
            .map(|e| (e.index, e.term))
            .collect();
        assert_eq!(got, vec![(1, 1), (2, 2)]);
        assert_eq!(out.last_index, 2);
    }

    #[test]
    fn entries_up_to_the_snapshot_are_skipped_and_gaps_rejected() {
        let snap = (
            RecordType::Snapshot,
            encode_snapshot(WalSnapshot { index: 2, term: 1 }).to_vec(),
        );
        let (bytes, _) = segment(0, &[meta(), entry(1, 1), entry(2, 1), snap, entry(3, 1)]);
        let mut r = Replayer::new(WalSnapshot { index: 2, term: 1 }, 0);
        r.feed(Path::new("s"), &bytes, true).unwrap();
        let got: Vec<_> = r
            .finish()
            .unwrap()
            .contents
            .entries
            .iter()
            .map(|e| e.index)
            .collect();
        assert_eq!(got, vec![3]);

        let (bytes, _) = segment(0, &[meta(), entry(1, 1), entry(3, 1)]);
        let mut r = Replayer::new(WalSnapshot::default(), 0);
        let err = r.feed(Path::new("s"), &bytes, true).unwrap_err();
        assert!(err.to_string().contains("gap"), "{err}");
    }

    #[test]
    fn overwrite_at_or_below_the_snapshot_drops_stale_entries_above_it() {
        // Old leader's 3..5, then a new leader's 2..3 which got committed and snapshotted at 3.
        let snap = (
            RecordType::Snapshot,
            encode_snapshot(WalSnapshot { index: 3, term: 2 }).to_vec(),
        );
        let records = [
            meta(),
            entry(1, 1),
            entry(2, 1),
            entry(3, 1),
            entry(4, 1),
            entry(5, 1),
        ];
        let mut records = records.to_vec();
        records.extend([entry(2, 2), entry(3, 2), snap]);
        let (bytes, _) = segment(0, &records);
        let mut r = Replayer::new(WalSnapshot { index: 3, term: 2 }, 0);
        r.feed(Path::new("s"), &bytes, true).unwrap();
        assert!(r.finish().unwrap().contents.entries.is_empty());
    }

    #[test]
    fn snapshot_must_be_present_with_its_term() {
        let snap = (
            RecordType::Snapshot,
            encode_snapshot(WalSnapshot { index: 2, term: 1 }).to_vec(),
        );
        let (bytes, _) = segment(0, &[meta(), snap]);
        let mut r = Replayer::new(WalSnapshot { index: 3, term: 1 }, 0);
        r.feed(Path::new("s"), &bytes, true).unwrap();
        assert!(matches!(r.finish(), Err(WalError::SnapshotNotFound)));
        let mut r = Replayer::new(WalSnapshot { index: 2, term: 5 }, 0);
        assert!(matches!(
            r.feed(Path::new("s"), &bytes, true),
            Err(WalError::SnapshotMismatch)
        ));
    }

    #[test]
    fn chain_continues_across_segments() {
        let (first, crc) = segment(0, &[meta(), entry(1, 1)]);
        let (second, _) = segment(crc, &[meta(), entry(2, 1)]);
        let (wrong, _) = segment(crc ^ 1, &[meta(), entry(2, 1)]);
        let mut r = Replayer::new(WalSnapshot::default(), 0);
        r.feed(Path::new("a"), &first, false).unwrap();
        r.feed(Path::new("b"), &second, true).unwrap();
        assert_eq!(r.finish().unwrap().contents.entries.len(), 2);

        let mut r = Replayer::new(WalSnapshot::default(), 0);
        r.feed(Path::new("a"), &first, false).unwrap();
        let err = r.feed(Path::new("b"), &wrong, false).unwrap_err();
        assert_eq!(err.to_string(), "wal: crc mismatch in b at offset 0");
    }

    #[test]
    fn metadata_conflict_is_an_error() {
        let (first, crc) = segment(0, &[meta()]);
        let (second, _) = segment(crc, &[(RecordType::Metadata, b"other".to_vec())]);
        let mut r = Replayer::new(WalSnapshot::default(), 0);
        r.feed(Path::new("a"), &first, false).unwrap();
        assert!(matches!(
            r.feed(Path::new("b"), &second, true),
            Err(WalError::MetadataConflict)
        ));
    }
}
