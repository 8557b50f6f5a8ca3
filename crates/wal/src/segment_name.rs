//! Segment file names: `{seq:016x}-{first_index:016x}.wal`.
//!
//! `seq` counts segments from 0 with no gaps; `first_index` is one past the last entry index
//! written before the segment was cut (raised by snapshot records), so every live entry with
//! index `>= first_index` is in this segment or a later one. Files being built are named
//! `<final name>.tmp` and are ignored by readers.

use std::path::Path;

use crate::error::{IoContext, WalError};

/// Suffix of segment files.
pub(crate) const WAL_SUFFIX: &str = ".wal";
/// Suffix of segments still being built.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// A parsed segment name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SegmentName {
    /// Sequence number.
    pub seq: u64,
    /// Index of the first entry this segment may hold.
    pub first_index: u64,
}

impl SegmentName {
    /// The file name.
    pub(crate) fn file_name(self) -> String {
        format!("{:016x}-{:016x}{WAL_SUFFIX}", self.seq, self.first_index)
    }

    /// Parses a file name; `None` for anything not exactly in the format.
    pub(crate) fn parse(name: &str) -> Option<SegmentName> {
        let stem = name.strip_suffix(WAL_SUFFIX)?;
        let (seq, index) = stem.split_once('-')?;
        Some(SegmentName {
            seq: parse_hex16(seq)?,
            first_index: parse_hex16(index)?,
        })
    }
}

fn parse_hex16(text: &str) -> Option<u64> {
    if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}

/// All well-formed segment names in `dir`, sorted by sequence number.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<SegmentName>, WalError> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(dir).ctx(|| format!("read dir {}", dir.display()))?;
    for entry in entries {
        let entry = entry.ctx(|| format!("read dir {}", dir.display()))?;
        if let Some(name) = entry.file_name().to_str().and_then(SegmentName::parse) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Picks the segments to read when starting from `snap_index`: the last segment whose
/// `first_index <= snap_index` and all after it. `None` if there is no such segment or the
/// sequence numbers from it on have a gap.
pub(crate) fn select_from(names: &[SegmentName], snap_index: u64) -> Option<usize> {
    let start = names.iter().rposition(|n| n.first_index <= snap_index)?;
    let contiguous = names[start..]
        .windows(2)
        .all(|w| w[0].seq.checked_add(1) == Some(w[1].seq));
    contiguous.then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(seq: u64, first_index: u64) -> SegmentName {
        SegmentName { seq, first_index }
    }

    #[test]
    fn name_round_trip() {
        let name = n(1, 0x21);
        assert_eq!(name.file_name(), "0000000000000001-0000000000000021.wal");
        assert_eq!(SegmentName::parse(&name.file_name()), Some(name));
        assert_eq!(
            SegmentName::parse("0000000000000001-0000000000000021.wal.tmp"),
            None
        );
        assert_eq!(SegmentName::parse("1-21.wal"), None);
        assert_eq!(
            SegmentName::parse("000000000000000g-0000000000000021.wal"),
            None
        );
    }

    #[test]
    fn selection_picks_the_segment_holding_the_index() {
        let names = [n(0, 0), n(1, 0x10), n(2, 0x20)];
        assert_eq!(select_from(&names, 0), Some(0));
        assert_eq!(select_from(&names, 0x0f), Some(0));
        assert_eq!(select_from(&names, 0x10), Some(1));
        assert_eq!(select_from(&names, 0x100), Some(2));
        assert_eq!(select_from(&names[1..], 5), None);
        assert_eq!(select_from(&[n(0, 0), n(2, 0x20)], 0), None);
        assert_eq!(select_from(&[n(0, 0), n(2, 0x20)], 0x20), Some(1));
    }
}
