//! Record framing: encode one record into a buffer, decode one record from a byte slice.
//!
//! No I/O here. The layout (see `FORMAT.md`) is, all integers little-endian:
//!
//! ```text
//! len: u32 | type: u8 | crc: u32 | payload: len - 5 bytes | zero padding to a multiple of 8
//! ```
//!
//! `len` counts the type, crc and payload bytes (never the padding), so it is at least 5 and a
//! zero length word unambiguously marks the end of written data (preallocated space is zeros).
//! Records start on 8-byte boundaries, so a length word never straddles a disk sector.
//!
//! `crc` chains: it is crc32 (IEEE, `crc32fast`) over the payload, starting from the crc of the
//! previous record. A CRC record has an empty payload, so its crc equals the running crc: it
//! restates the chain at the head of each segment, which lets a reader that starts in the middle
//! of the log seed its chain.

/// Bytes before the payload: length word, type, crc.
pub(crate) const HEADER_BYTES: usize = 9;
/// Bytes of the length word alone.
const LEN_BYTES: usize = 4;
/// Records are padded to this alignment.
pub(crate) const ALIGN_BYTES: usize = 8;
/// Largest payload a record may carry. Larger entries are refused at `save` so that nothing is
/// ever written that `open` would reject; a larger length word found on disk is corruption.
pub const RECORD_PAYLOAD_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// What a record holds. The numbers are on disk and match etcd's record types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum RecordType {
    /// The caller's metadata, repeated at the head of every segment.
    Metadata = 1,
    /// A log entry: index u64, term u64, the caller's encoded entry.
    Entry = 2,
    /// The caller's encoded hard state.
    HardState = 3,
    /// Empty payload; its crc restates the running crc.
    Crc = 4,
    /// A snapshot marker: index u64, term u64.
    Snapshot = 5,
}

impl RecordType {
    fn from_u8(byte: u8) -> Option<RecordType> {
        match byte {
            1 => Some(RecordType::Metadata),
            2 => Some(RecordType::Entry),
            3 => Some(RecordType::HardState),
            4 => Some(RecordType::Crc),
            5 => Some(RecordType::Snapshot),
            _ => None,
        }
    }
}

/// On-disk size of a record with `payload_bytes` of payload, padding included.
pub(crate) fn framed_bytes(payload_bytes: usize) -> usize {
    (HEADER_BYTES + payload_bytes).div_ceil(ALIGN_BYTES) * ALIGN_BYTES
}

/// The chained crc of `payload` after a record whose crc was `prev_crc`.
pub(crate) fn chain_crc(prev_crc: u32, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new_with_initial(prev_crc);
    hasher.update(payload);
    hasher.finalize()
}

/// Appends one framed record to `out` and returns its crc (the new running crc).
///
/// Panics if the payload exceeds [`RECORD_PAYLOAD_BYTES_MAX`]; callers check first.
pub(crate) fn encode(out: &mut Vec<u8>, kind: RecordType, payload: &[u8], prev_crc: u32) -> u32 {
    assert!(
        payload.len() as u64 <= RECORD_PAYLOAD_BYTES_MAX,
        "record payload of {} bytes exceeds the limit",
        payload.len()
    );
    let crc = chain_crc(prev_crc, payload);
    let start = out.len();
    let len_word = (1 + 4 + payload.len()) as u32;
    out.extend_from_slice(&len_word.to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    out.resize(start + framed_bytes(payload.len()), 0);
    crc
}

/// Why the bytes at an offset are not a valid record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BadRecord {
    /// The record runs past the end of the bytes.
    CutShort,
    /// The length word is below the minimum or above the limit.
    BadLength,
    /// The type byte is not a known record type.
    UnknownType,
    /// The crc does not continue the chain.
    CrcMismatch,
    /// The padding after the payload is not zero.
    NonZeroPadding,
}

impl BadRecord {
    /// Text used in [`crate::WalError::Corrupt`].
    pub(crate) fn reason(self) -> &'static str {
        match self {
            BadRecord::CutShort => "record cut short",
            BadRecord::BadLength => "invalid record length",
            BadRecord::UnknownType => "unknown record type",
            BadRecord::CrcMismatch => "crc mismatch",
            BadRecord::NonZeroPadding => "non-zero record padding",
        }
    }
}

/// One step of decoding.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded<'a> {
    /// A valid record.
    Record {
        /// Its type.
        kind: RecordType,
        /// Its payload.
        payload: &'a [u8],
        /// Its crc (the running crc after it).
        crc: u32,
        /// Offset of the next record.
        next_offset: usize,
    },
    /// A zero length word, or the end of the bytes, at a record boundary.
    End,
    /// Not a valid record.
    Bad {
        /// Why.
        why: BadRecord,
        /// Offset just past the bytes this record claims (clamped to the buffer). When the
        /// length word is implausible, only the length word is claimed.
        claimed_end: usize,
        /// The crc field, when the header is complete.
        stored_crc: Option<u32>,
    },
}

/// Decodes the record at `offset`. With `prev_crc == None` the crc is not checked (the caller
/// is seeding its chain from this record).
pub(crate) fn decode(buf: &[u8], offset: usize, prev_crc: Option<u32>) -> Decoded<'_> {
    let rest = &buf[offset.min(buf.len())..];
    if rest.len() < LEN_BYTES {
        if rest.iter().all(|b| *b == 0) {
            return Decoded::End;
        }
        return bad(BadRecord::CutShort, buf.len(), None);
    }
    let len_word = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
    if len_word == 0 {
        return Decoded::End;
    }
    if len_word < 5 || len_word as u64 > RECORD_PAYLOAD_BYTES_MAX + 5 {
        return bad(BadRecord::BadLength, offset + LEN_BYTES, None);
    }
    let payload_bytes = len_word - 5;
    let framed = framed_bytes(payload_bytes);
    let claimed_end = (offset + framed).min(buf.len());
    if rest.len() < HEADER_BYTES {
        return bad(BadRecord::CutShort, claimed_end, None);
    }
    let stored_crc = u32::from_le_bytes(rest[5..9].try_into().expect("4 bytes"));
    if rest.len() < framed {
        return bad(BadRecord::CutShort, claimed_end, Some(stored_crc));
    }
    let Some(kind) = RecordType::from_u8(rest[4]) else {
        return bad(BadRecord::UnknownType, claimed_end, Some(stored_crc));
    };
    let payload = &rest[HEADER_BYTES..HEADER_BYTES + payload_bytes];
    if rest[HEADER_BYTES + payload_bytes..framed]
        .iter()
        .any(|b| *b != 0)
    {
        return bad(BadRecord::NonZeroPadding, claimed_end, Some(stored_crc));
    }
    if let Some(prev) = prev_crc {
        if chain_crc(prev, payload) != stored_crc {
            return bad(BadRecord::CrcMismatch, claimed_end, Some(stored_crc));
        }
    }
    Decoded::Record {
        kind,
        payload,
        crc: stored_crc,
        next_offset: offset + framed,
    }
}

fn bad(why: BadRecord, claimed_end: usize, stored_crc: Option<u32>) -> Decoded<'static> {
    Decoded::Bad {
        why,
        claimed_end,
        stored_crc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_pads_to_eight_and_decodes_back() {
        for payload_len in 0..40usize {
            let payload: Vec<u8> = (0..payload_len as u8).map(|b| b.wrapping_add(1)).collect();
            let mut buf = Vec::new();
            let crc = encode(&mut buf, RecordType::Entry, &payload, 7);
            assert_eq!(buf.len() % ALIGN_BYTES, 0);
            assert_eq!(buf.len(), framed_bytes(payload_len));
            match decode(&buf, 0, Some(7)) {
                Decoded::Record {
                    kind,
                    payload: p,
                    crc: c,
                    next_offset,
                } => {
                    assert_eq!(kind, RecordType::Entry);
                    assert_eq!(p, &payload[..]);
                    assert_eq!(c, crc);
                    assert_eq!(next_offset, buf.len());
                }
                other => panic!("unexpected {other:?}"),
            }
            assert_eq!(decode(&buf, buf.len(), Some(crc)), Decoded::End);
        }
    }

    #[test]
    fn crc_record_restates_the_running_crc() {
        let mut buf = Vec::new();
        assert_eq!(
            encode(&mut buf, RecordType::Crc, &[], 0xdead_beef),
            0xdead_beef
        );
    }

    #[test]
    fn wrong_chain_is_a_crc_mismatch() {
        let mut buf = Vec::new();
        encode(&mut buf, RecordType::HardState, b"hs", 1);
        assert!(matches!(
            decode(&buf, 0, Some(2)),
            Decoded::Bad {
                why: BadRecord::CrcMismatch,
                ..
            }
        ));
        assert!(matches!(decode(&buf, 0, None), Decoded::Record { .. }));
    }

    #[test]
    fn zeros_are_the_end_and_garbage_length_is_bad() {
        assert_eq!(decode(&[0u8; 16], 0, Some(0)), Decoded::End);
        assert_eq!(decode(&[0u8; 3], 0, Some(0)), Decoded::End);
        assert!(matches!(
            decode(&[3, 0, 0, 0, 0, 0, 0, 0], 0, Some(0)),
            Decoded::Bad {
                why: BadRecord::BadLength,
                ..
            }
        ));
        assert!(matches!(
            decode(&[0xff; 16], 0, Some(0)),
            Decoded::Bad {
                why: BadRecord::BadLength,
                ..
            }
        ));
    }
}
