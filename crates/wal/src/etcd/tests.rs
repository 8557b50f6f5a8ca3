//! Reader tests on WALs built with etcd's framing (see `encode` below) and on
//! a WAL written by the real etcd 3.4.23 (`tests/golden/etcd34`).

use std::path::Path;

use super::proto::crc32c_update;
use super::*;
use crate::{WalError, WalSnapshot};

/// protobuf varint.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// `raftpb.Entry{term, index, data}`.
fn entry(index: u64, term: u64, data: &[u8]) -> Vec<u8> {
    let mut b = vec![0x08, 0x00, 0x10];
    varint(&mut b, term);
    b.push(0x18);
    varint(&mut b, index);
    b.push(0x22);
    varint(&mut b, data.len() as u64);
    b.extend_from_slice(data);
    b
}

/// An etcd-framed segment writer with a running CRC-32C.
struct Seg {
    bytes: Vec<u8>,
    crc: u32,
}

impl Seg {
    fn new(prev_crc: u32) -> Seg {
        let mut s = Seg {
            bytes: Vec::new(),
            crc: prev_crc,
        };
        s.raw(4, prev_crc, &[]);
        s
    }

    fn raw(&mut self, typ: u64, crc: u32, data: &[u8]) {
        let mut rec = vec![0x08];
        varint(&mut rec, typ);
        rec.push(0x10);
        varint(&mut rec, u64::from(crc));
        if !data.is_empty() {
            rec.push(0x1a);
            varint(&mut rec, data.len() as u64);
            rec.extend_from_slice(data);
        }
        let pad = (8 - rec.len() % 8) % 8;
        let mut word = rec.len() as u64;
        if pad != 0 {
            word |= (0x80 | pad as u64) << 56;
        }
        self.bytes.extend_from_slice(&word.to_le_bytes());
        self.bytes.extend_from_slice(&rec);
        self.bytes.extend(std::iter::repeat_n(0u8, pad));
    }

    fn rec(&mut self, typ: u64, data: &[u8]) {
        self.crc = crc32c_update(self.crc, data);
        self.raw(typ, self.crc, data);
    }

    fn snapshot(&mut self, index: u64, term: u64) {
        let mut b = vec![0x08];
        varint(&mut b, index);
        b.push(0x10);
        varint(&mut b, term);
        self.rec(5, &b);
    }

    fn state(&mut self, term: u64, commit: u64) {
        let mut b = vec![0x08];
        varint(&mut b, term);
        b.extend_from_slice(&[0x10, 0x00, 0x18]);
        varint(&mut b, commit);
        self.rec(3, &b);
    }
}

fn write(dir: &Path, seq: u64, index: u64, bytes: &[u8]) {
    std::fs::write(dir.join(format!("{seq:016x}-{index:016x}.wal")), bytes).unwrap();
}

/// Two segments: entries 1..=3, an overwrite of 3 and 4 at term 2, then 5.
fn two_segments(dir: &Path) -> u32 {
    let mut a = Seg::new(0);
    a.rec(1, b"meta");
    a.snapshot(0, 0);
    for i in 1..=3 {
        a.rec(2, &entry(i, 1, b"x"));
    }
    a.state(1, 2);
    a.rec(2, &entry(3, 2, b"y"));
    a.rec(2, &entry(4, 2, b"y"));
    write(dir, 0, 0, &a.bytes);
    let mut b = Seg::new(a.crc);
    b.rec(1, b"meta");
    b.rec(2, &entry(5, 2, b"z"));
    b.state(2, 5);
    b.snapshot(4, 2);
    write(dir, 1, 5, &b.bytes);
    b.crc
}

#[test]
fn reads_segments_with_overwrites_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    two_segments(dir.path());
    assert!(is_etcd_wal_dir(dir.path()));
    let w = read_etcd_wal(dir.path()).unwrap();
    assert_eq!(w.metadata, b"meta");
    assert_eq!(w.commit, 5);
    let got: Vec<(u64, u64)> = w.entries.iter().map(|e| (e.index, e.term)).collect();
    assert_eq!(got, vec![(1, 1), (2, 1), (3, 2), (4, 2), (5, 2)]);
    assert_eq!(
        w.snapshots,
        vec![
            WalSnapshot { index: 0, term: 0 },
            WalSnapshot { index: 4, term: 2 }
        ]
    );
    assert_eq!(w.torn_tail, None);
    assert_eq!(w.valid_snapshots().len(), 2);
}

#[test]
fn a_flipped_byte_is_a_crc_error_with_the_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    two_segments(dir.path());
    let first = dir.path().join(format!("{:016x}-{:016x}.wal", 0, 0));
    let mut bytes = std::fs::read(&first).unwrap();
    let at = bytes.windows(1).position(|w| w == b"x").unwrap();
    bytes[at] = b'q';
    std::fs::write(&first, &bytes).unwrap();
    let err = read_etcd_wal(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, WalError::Corrupt { .. }), "{msg}");
    assert!(
        msg.contains("crc mismatch") && msg.contains("0000000000000000-0000000000000000.wal"),
        "{msg}"
    );
}

#[test]
fn a_torn_tail_is_tolerated_in_the_last_segment_only() {
    let dir = tempfile::tempdir().unwrap();
    two_segments(dir.path());
    let last = dir.path().join(format!("{:016x}-{:016x}.wal", 1, 5));
    let mut bytes = std::fs::read(&last).unwrap();
    let full = bytes.len();
    // A record whose body never reached the disk: length word, then zeros.
    let mut tail = Seg {
        bytes: Vec::new(),
        crc: 0,
    };
    tail.rec(2, &entry(6, 2, &[7u8; 600]));
    let cut = tail.bytes.len();
    bytes.extend_from_slice(&tail.bytes[..8]);
    bytes.extend(std::iter::repeat_n(0u8, cut - 8));
    std::fs::write(&last, &bytes).unwrap();
    let w = read_etcd_wal(dir.path()).unwrap();
    assert_eq!(w.entries.last().unwrap().index, 5);
    assert_eq!(w.torn_tail, Some((last.clone(), full as u64)));
    // A frame cut short by the end of the file is torn too.
    bytes.truncate(full + 12);
    std::fs::write(&last, &bytes).unwrap();
    assert_eq!(read_etcd_wal(dir.path()).unwrap().entries.len(), 5);

    // The same damage in the first segment is corruption.
    let first = dir.path().join(format!("{:016x}-{:016x}.wal", 0, 0));
    let mut a = std::fs::read(&first).unwrap();
    a.extend_from_slice(&tail.bytes[..8]);
    a.extend(std::iter::repeat_n(0u8, 16));
    std::fs::write(&first, &a).unwrap();
    let err = read_etcd_wal(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not the last"), "{err}");
}

#[test]
fn our_own_wal_is_not_taken_for_etcds() {
    let dir = tempfile::tempdir().unwrap();
    drop(crate::Wal::create(dir.path(), b"meta").unwrap());
    assert!(!is_etcd_wal_dir(dir.path()));
    assert!(!is_etcd_wal_dir(&dir.path().join("missing")));
}

#[test]
fn snap_files_are_checked_and_the_newest_matching_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let snap = |index: u64, term: u64, payload: &[u8]| {
        // raftpb.Snapshot{data, metadata{index, term}}
        let mut meta = vec![0x10];
        varint(&mut meta, index);
        meta.push(0x18);
        varint(&mut meta, term);
        let mut rs = vec![0x0a];
        varint(&mut rs, payload.len() as u64);
        rs.extend_from_slice(payload);
        rs.push(0x12);
        varint(&mut rs, meta.len() as u64);
        rs.extend_from_slice(&meta);
        let mut f = vec![0x08];
        varint(&mut f, u64::from(crc32c_update(0, &rs)));
        f.push(0x12);
        varint(&mut f, rs.len() as u64);
        f.extend_from_slice(&rs);
        let path = dir.path().join(format!("{term:016x}-{index:016x}.snap"));
        std::fs::write(&path, f).unwrap();
        path
    };
    snap(10, 2, b"{}");
    let newest = snap(20, 2, b"{}");
    let broken = snap(30, 3, b"{}");
    let mut b = std::fs::read(&broken).unwrap();
    let n = b.len();
    b[n - 6] ^= 0xff;
    std::fs::write(&broken, b).unwrap();
    let accept = [
        WalSnapshot { index: 10, term: 2 },
        WalSnapshot { index: 20, term: 2 },
        WalSnapshot { index: 30, term: 3 },
    ];
    let (got, skipped) = load_newest_etcd_snap(dir.path(), &accept).unwrap();
    let got = got.unwrap();
    assert_eq!((got.index, got.term, got.path), (20, 2, newest));
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0].1.contains("crc mismatch"), "{:?}", skipped);
    let (got, _) = load_newest_etcd_snap(dir.path(), &accept[..1]).unwrap();
    assert_eq!(got.unwrap().index, 10);
}

/// `golden/`: a WAL (cut at its data end; the rest was preallocated zeros)
/// and a snapshot file written by the real etcd 3.4.23 with
/// `--snapshot-count 10`: 15 puts, a lease, a leased put, two v2 sets.
#[test]
fn reads_a_wal_and_snapshot_written_by_real_etcd() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/etcd/golden");
    assert!(is_etcd_wal_dir(&golden));
    let w = read_etcd_wal(&golden).unwrap();
    assert_eq!(w.torn_tail, None);
    // etcdserverpb.Metadata{NodeID = 1, ClusterID = 2}.
    assert_eq!(
        super::proto::varint_field(&w.metadata, 1).unwrap(),
        0xbdae9bbc11dd390d
    );
    assert_eq!(
        super::proto::varint_field(&w.metadata, 2).unwrap(),
        0xd1cfaf999eb97a2a
    );
    let indexes: Vec<u64> = w.entries.iter().map(|e| e.index).collect();
    assert_eq!(indexes, (1..=23).collect::<Vec<_>>());
    assert_eq!(w.commit, 23);
    assert!(w
        .entries
        .last()
        .unwrap()
        .data
        .windows(6)
        .any(|x| x == b"/1/ttl"));
    assert_eq!(
        w.snapshots,
        vec![
            WalSnapshot { index: 0, term: 0 },
            WalSnapshot { index: 11, term: 2 },
            WalSnapshot { index: 22, term: 2 }
        ]
    );
    let (snap, skipped) = load_newest_etcd_snap(&golden, &w.valid_snapshots()).unwrap();
    let snap = snap.unwrap();
    assert!(skipped.is_empty());
    assert_eq!((snap.index, snap.term), (22, 2));
    assert!(snap.raft_snapshot.windows(7).any(|x| x == b"\"Root\":"));
}
