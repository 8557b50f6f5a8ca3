//! Payloads of entry and snapshot records: fixed-width little-endian `index: u64, term: u64`,
//! followed (for entries) by the caller's opaque bytes. No I/O here.

/// One log entry as the WAL stores it. `data` is the caller's encoding of the whole entry
/// (the WAL never looks inside); `index` and `term` are kept beside it so the WAL can resolve
/// overwrites and name segments without decoding `data`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalEntry {
    /// Raft index.
    pub index: u64,
    /// Raft term.
    pub term: u64,
    /// The caller's encoded entry.
    pub data: Vec<u8>,
}

/// A snapshot position recorded in the log, so `open` can check that the snapshot it starts
/// from is one this log knows about.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct WalSnapshot {
    /// Raft index the snapshot covers.
    pub index: u64,
    /// Raft term of that index.
    pub term: u64,
}

/// Bytes of the `index, term` prefix.
pub(crate) const POSITION_BYTES: usize = 16;

/// Encodes an entry payload into `out` (cleared first).
pub(crate) fn encode_entry(out: &mut Vec<u8>, entry: &WalEntry) {
    out.clear();
    out.extend_from_slice(&entry.index.to_le_bytes());
    out.extend_from_slice(&entry.term.to_le_bytes());
    out.extend_from_slice(&entry.data);
}

/// Decodes an entry payload; `None` if it is shorter than the fixed prefix.
pub(crate) fn decode_entry(payload: &[u8]) -> Option<WalEntry> {
    let (index, term) = decode_position(payload)?;
    Some(WalEntry {
        index,
        term,
        data: payload[POSITION_BYTES..].to_vec(),
    })
}

/// Encodes a snapshot payload.
pub(crate) fn encode_snapshot(snap: WalSnapshot) -> [u8; POSITION_BYTES] {
    let mut out = [0u8; POSITION_BYTES];
    out[..8].copy_from_slice(&snap.index.to_le_bytes());
    out[8..].copy_from_slice(&snap.term.to_le_bytes());
    out
}

/// Decodes a snapshot payload; `None` unless it is exactly the fixed size.
pub(crate) fn decode_snapshot(payload: &[u8]) -> Option<WalSnapshot> {
    if payload.len() != POSITION_BYTES {
        return None;
    }
    let (index, term) = decode_position(payload)?;
    Some(WalSnapshot { index, term })
}

fn decode_position(payload: &[u8]) -> Option<(u64, u64)> {
    if payload.len() < POSITION_BYTES {
        return None;
    }
    let index = u64::from_le_bytes(payload[..8].try_into().ok()?);
    let term = u64::from_le_bytes(payload[8..16].try_into().ok()?);
    Some((index, term))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trip() {
        let entry = WalEntry {
            index: 0x0102_0304_0506_0708,
            term: 9,
            data: b"abc".to_vec(),
        };
        let mut buf = Vec::new();
        encode_entry(&mut buf, &entry);
        assert_eq!(&buf[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(decode_entry(&buf), Some(entry));
        assert_eq!(decode_entry(&buf[..15]), None);
    }

    #[test]
    fn snapshot_round_trip() {
        let snap = WalSnapshot { index: 5, term: 2 };
        assert_eq!(decode_snapshot(&encode_snapshot(snap)), Some(snap));
        assert_eq!(decode_snapshot(&[0u8; 17]), None);
    }
}
