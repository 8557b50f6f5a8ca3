//! Behaviour of `Wal` through its public API and the files it leaves on disk.

mod common;

use std::fs;
use std::os::unix::fs::FileExt;

use common::{copy_dir, entry, record_spans, small, wal_files, Rng};
use etcd_wal::{Wal, WalEntry, WalError, WalSnapshot};

/// Segments big enough that the tests using them never cut.
fn one_page() -> etcd_wal::WalOptions {
    etcd_wal::WalOptions {
        segment_bytes: 8192,
    }
}

const EMPTY: WalSnapshot = WalSnapshot { index: 0, term: 0 };

fn open(dir: &std::path::Path, snap: WalSnapshot) -> (Wal, etcd_wal::WalContents) {
    Wal::open_with_options(dir, snap, &small()).unwrap()
}

#[test]
fn round_trip_across_several_small_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"meta", &small()).unwrap();
    let mut written = Vec::new();
    for i in 1..=40u64 {
        let e = entry(i, 1 + i / 10);
        wal.save(Some(format!("hs-{i}").as_bytes()), std::slice::from_ref(&e))
            .unwrap();
        written.push(e);
    }
    let paths = wal.segment_paths();
    assert!(paths.len() >= 4, "expected several segments, got {paths:?}");
    drop(wal);

    // Names: contiguous sequence numbers; each first_index is one past the last entry before it.
    let names: Vec<String> = wal_files(dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(names[0], "0000000000000000-0000000000000000.wal");
    for (seq, name) in names.iter().enumerate() {
        assert!(name.starts_with(&format!("{seq:016x}-")), "{name}");
    }

    let (_wal, contents) = open(dir.path(), EMPTY);
    assert_eq!(contents.metadata, b"meta");
    assert_eq!(contents.hard_state.as_deref(), Some(&b"hs-40"[..]));
    assert_eq!(contents.entries, written);
}

#[test]
fn reopened_log_keeps_appending_and_chaining() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    wal.save(None, &[entry(1, 1), entry(2, 1)]).unwrap();
    drop(wal);
    for round in 0..5u64 {
        let (mut wal, contents) = open(dir.path(), EMPTY);
        assert_eq!(contents.entries.len() as u64, 2 + round * 10);
        let next = 3 + round * 10;
        let batch: Vec<WalEntry> = (next..next + 10).map(|i| entry(i, 1)).collect();
        wal.save(Some(b"hs"), &batch).unwrap();
    }
    let (_wal, contents) = open(dir.path(), EMPTY);
    assert_eq!(contents.entries.len(), 52);
    assert!(contents
        .entries
        .iter()
        .enumerate()
        .all(|(i, e)| e.index == i as u64 + 1));
}

#[test]
fn nothing_to_save_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    let before = fs::read(&wal.segment_paths()[0]).unwrap();
    wal.save(None, &[]).unwrap();
    assert_eq!(fs::read(&wal.segment_paths()[0]).unwrap(), before);
}

#[test]
fn release_to_deletes_only_segments_below_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"meta", &small()).unwrap();
    for i in 1..=60u64 {
        wal.save(Some(format!("hs-{i}").as_bytes()), &[entry(i, 2)])
            .unwrap();
    }
    let all = wal.segment_paths();
    wal.save_snapshot(WalSnapshot { index: 30, term: 2 })
        .unwrap();
    wal.release_to(30).unwrap();
    let kept = wal.segment_paths();
    assert!(kept.len() < all.len(), "something was released");
    assert_eq!(
        kept[..],
        all[all.len() - kept.len()..],
        "only the oldest go"
    );
    for gone in &all[..all.len() - kept.len()] {
        assert!(!gone.exists(), "{} still on disk", gone.display());
    }
    // The segment holding index 30 survives: the first kept one starts at or below it.
    let first_kept = kept[0].file_name().unwrap().to_str().unwrap();
    let first_index = u64::from_str_radix(&first_kept[17..33], 16).unwrap();
    assert!(first_index <= 30, "{first_kept}");
    let next_name = kept[1].file_name().unwrap().to_str().unwrap();
    assert!(u64::from_str_radix(&next_name[17..33], 16).unwrap() >= 30);

    drop(wal);

    let (_wal, contents) = open(dir.path(), WalSnapshot { index: 30, term: 2 });
    assert_eq!(
        contents.entries,
        (31..=60).map(|i| entry(i, 2)).collect::<Vec<_>>()
    );
    assert_eq!(contents.hard_state.as_deref(), Some(&b"hs-60"[..]));
    assert_eq!(contents.metadata, b"meta");
    assert!(matches!(
        Wal::open_with_options(dir.path(), EMPTY, &small()),
        Err(WalError::SegmentNotFound { .. })
    ));
}

#[test]
fn release_keeps_the_segment_holding_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    for i in 1..=60u64 {
        wal.save(None, &[entry(i, 1)]).unwrap();
    }
    let paths = wal.segment_paths();
    // Release to exactly the first index of segment 2: segments 0 and 1 hold only lower
    // indexes, but etcd keeps the one before, so only segment 0 goes.
    let name = paths[2].file_name().unwrap().to_str().unwrap();
    let index = u64::from_str_radix(&name[17..33], 16).unwrap();
    wal.release_to(index).unwrap();
    assert_eq!(wal.segment_paths(), paths[1..].to_vec());
    // Releasing far ahead never removes the tail.
    wal.release_to(1_000).unwrap();
    assert_eq!(wal.segment_paths(), vec![paths.last().unwrap().clone()]);
}

#[test]
fn snapshot_must_be_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    wal.save(None, &[entry(1, 1), entry(2, 1)]).unwrap();
    wal.save_snapshot(WalSnapshot { index: 2, term: 1 })
        .unwrap();
    drop(wal);
    assert!(matches!(
        Wal::open_with_options(dir.path(), WalSnapshot { index: 1, term: 1 }, &small()),
        Err(WalError::SnapshotNotFound)
    ));
    assert!(matches!(
        Wal::open_with_options(dir.path(), WalSnapshot { index: 2, term: 3 }, &small()),
        Err(WalError::SnapshotMismatch)
    ));
    let (_wal, contents) = open(dir.path(), WalSnapshot { index: 2, term: 1 });
    assert!(contents.entries.is_empty());
}

#[test]
fn overwrite_replaces_the_conflicting_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    let first: Vec<WalEntry> = (1..=20).map(|i| entry(i, 1)).collect();
    wal.save(None, &first).unwrap();
    // A new leader's log wins from index 6 on (Raft §5.3), even across segment boundaries.
    let second: Vec<WalEntry> = (6..=8).map(|i| entry(i, 2)).collect();
    wal.save(Some(b"term-2"), &second).unwrap();
    drop(wal);
    let (mut wal, contents) = open(dir.path(), EMPTY);
    let mut want: Vec<WalEntry> = first[..5].to_vec();
    want.extend(second);
    assert_eq!(contents.entries, want);
    // And appends after the overwrite follow it.
    wal.save(None, &[entry(9, 2)]).unwrap();
    drop(wal);
    let (_wal, contents) = open(dir.path(), EMPTY);
    want.push(entry(9, 2));
    assert_eq!(contents.entries, want);
}

#[test]
fn second_open_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    assert!(matches!(
        Wal::open_with_options(dir.path(), EMPTY, &small()),
        Err(WalError::Locked { .. })
    ));
    drop(wal);
    let (_first, _) = open(dir.path(), EMPTY);
    let err = Wal::open_with_options(dir.path(), EMPTY, &small()).unwrap_err();
    assert!(
        err.to_string().starts_with("wal: file already locked: "),
        "{err}"
    );
}

#[test]
fn create_refuses_an_existing_log() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!Wal::exists(dir.path()));
    drop(Wal::create(dir.path(), b"m").unwrap());
    assert!(Wal::exists(dir.path()));
    assert!(matches!(
        Wal::create(dir.path(), b"m"),
        Err(WalError::AlreadyExists { .. })
    ));
}

/// A log whose last record is a known entry; returns the dir and that entry.
fn log_ending_in_an_entry() -> (tempfile::TempDir, Vec<WalEntry>) {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    let entries: Vec<WalEntry> = (1..=3).map(|i| entry(i, 1)).collect();
    wal.save(Some(b"hs"), &entries[..2]).unwrap();
    wal.save(None, &entries[2..]).unwrap();
    assert_eq!(wal.segment_paths().len(), 1);
    (dir, entries)
}

#[test]
fn torn_tail_is_cut_at_every_byte_of_the_last_record() {
    let (dir, entries) = log_ending_in_an_entry();
    let seg = wal_files(dir.path()).pop().unwrap();
    let bytes = fs::read(&seg).unwrap();
    let (start, end) = *record_spans(&bytes).last().unwrap();
    let payload_end = start + 9 + 16 + entries[2].data.len();
    for cut in start..end {
        for truncate_file in [false, true] {
            let copy = copy_dir(dir.path());
            let path = copy.path().join(seg.file_name().unwrap());
            let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
            if truncate_file {
                file.set_len(cut as u64).unwrap();
            } else {
                file.write_all_at(&vec![0u8; bytes.len() - cut], cut as u64)
                    .unwrap();
            }
            drop(file);
            let (mut wal, contents) = Wal::open_with_options(copy.path(), EMPTY, &small())
                .unwrap_or_else(|e| panic!("cut {cut} truncate {truncate_file}: {e}"));
            let kept = !truncate_file && cut >= payload_end;
            let want = if kept { &entries[..] } else { &entries[..2] };
            assert_eq!(contents.entries, want, "cut {cut} truncate {truncate_file}");
            assert_eq!(contents.hard_state.as_deref(), Some(&b"hs"[..]));
            // The log stays appendable and the chain intact.
            let next = entry(want.len() as u64 + 1, 2);
            wal.save(None, std::slice::from_ref(&next)).unwrap();
            drop(wal);
            let (_wal, contents) = Wal::open_with_options(copy.path(), EMPTY, &small()).unwrap();
            assert_eq!(contents.entries.last(), Some(&next));
            assert_eq!(contents.entries.len(), want.len() + 1);
        }
    }
}

#[test]
fn torn_sector_inside_the_last_record_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &one_page()).unwrap();
    wal.save(None, &[entry(1, 1)]).unwrap();
    let big = WalEntry {
        index: 2,
        term: 1,
        data: vec![0xab; 3000],
    };
    wal.save(None, &[big]).unwrap();
    let seg = wal.segment_paths().pop().unwrap();
    drop(wal);
    let bytes = fs::read(&seg).unwrap();
    let (start, _) = *record_spans(&bytes).last().unwrap();
    // The sector in the middle of the record never reached the disk.
    let hole = (start / 512 + 2) * 512;
    let file = fs::OpenOptions::new().write(true).open(&seg).unwrap();
    file.write_all_at(&[0u8; 512], hole as u64).unwrap();
    drop(file);
    let (_wal, contents) = Wal::open_with_options(dir.path(), EMPTY, &one_page()).unwrap();
    assert_eq!(contents.entries, vec![entry(1, 1)]);
}

/// Flips every byte of one middle record in turn; each must be a hard error, never a silent cut.
fn assert_every_flip_is_corrupt(dir: &std::path::Path, seg_index: usize) {
    let seg = wal_files(dir)[seg_index].clone();
    let bytes = fs::read(&seg).unwrap();
    let spans = record_spans(&bytes);
    assert!(spans.len() >= 5, "need records after the victim");
    let (start, end) = spans[spans.len() - 3];
    for at in start..end {
        let copy = copy_dir(dir);
        let path = copy.path().join(seg.file_name().unwrap());
        let mut flipped = bytes.clone();
        flipped[at] ^= 0xff;
        fs::write(&path, &flipped).unwrap();
        match Wal::open_with_options(copy.path(), EMPTY, &one_page()) {
            Err(WalError::Corrupt {
                segment,
                offset,
                reason,
            }) => {
                assert_eq!(segment, path);
                assert_eq!(offset, start as u64, "flip at {at}: {reason}");
                if at >= start + 9 {
                    let err = WalError::Corrupt {
                        segment,
                        offset,
                        reason,
                    };
                    let want = format!("wal: crc mismatch in {} at offset {start}", path.display());
                    let got = err.to_string();
                    assert!(
                        got == want || got.contains("padding"),
                        "flip at {at}: {got}"
                    );
                }
            }
            Err(other) => panic!("flip at {at}: unexpected {other}"),
            Ok((_, contents)) => panic!(
                "flip at {at}: opened with {} entries",
                contents.entries.len()
            ),
        }
    }
}

#[test]
fn flipped_byte_in_a_middle_record_of_the_tail_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &one_page()).unwrap();
    for i in 1..=6 {
        wal.save(None, &[entry(i, 1)]).unwrap();
    }
    drop(wal);
    assert_every_flip_is_corrupt(dir.path(), 0);
}

#[test]
fn flipped_byte_in_an_older_segment_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    for i in 1..=30 {
        wal.save(None, &[entry(i, 1)]).unwrap();
    }
    assert!(wal.segment_paths().len() >= 3);
    drop(wal);
    assert_every_flip_is_corrupt(dir.path(), 1);
}

#[test]
fn garbage_after_the_end_of_data_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    wal.save(None, &[entry(1, 1)]).unwrap();
    let seg = wal.segment_paths().pop().unwrap();
    drop(wal);
    let file = fs::OpenOptions::new().write(true).open(&seg).unwrap();
    file.write_all_at(b"junk", 400).unwrap();
    drop(file);
    assert!(matches!(
        Wal::open_with_options(dir.path(), EMPTY, &small()),
        Err(WalError::Corrupt { .. })
    ));
}

/// Random appends, overwrites, snapshots, releases and reopens against a `Vec` model.
#[test]
fn random_operations_match_a_vec_model() {
    for seed in 1..=8u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create_with_options(dir.path(), b"model", &small()).unwrap();
        let mut log: Vec<WalEntry> = Vec::new(); // log[i].index == i + 1
        let mut snap = EMPTY;
        let mut hard_state: Option<Vec<u8>> = None;
        let mut term = 1;
        for step in 0..300u64 {
            match rng.below(10) {
                0..=5 => {
                    // Append, possibly overwriting a suffix above the snapshot.
                    let last = log.len() as u64;
                    let from = if last > snap.index && rng.below(4) == 0 {
                        snap.index + 1 + rng.below(last - snap.index)
                    } else {
                        last + 1
                    };
                    term += rng.below(2);
                    let n = 1 + rng.below(5);
                    let batch: Vec<WalEntry> = (from..from + n)
                        .map(|i| WalEntry {
                            index: i,
                            term,
                            data: vec![step as u8; rng.below(80) as usize],
                        })
                        .collect();
                    let hs = (rng.below(2) == 0).then(|| format!("hs-{step}").into_bytes());
                    wal.save(hs.as_deref(), &batch).unwrap();
                    log.truncate(from as usize - 1);
                    log.extend(batch);
                    if hs.is_some() {
                        hard_state = hs;
                    }
                }
                6 if log.len() as u64 > snap.index => {
                    let index = snap.index + 1 + rng.below(log.len() as u64 - snap.index);
                    snap = WalSnapshot {
                        index,
                        term: log[index as usize - 1].term,
                    };
                    wal.save_snapshot(snap).unwrap();
                    wal.release_to(snap.index).unwrap();
                }
                _ => {
                    drop(wal);
                    let (reopened, contents) = open(dir.path(), snap);
                    wal = reopened;
                    assert_eq!(
                        contents.entries,
                        log[snap.index as usize..],
                        "seed {seed} step {step}"
                    );
                    assert_eq!(contents.hard_state, hard_state, "seed {seed} step {step}");
                    assert_eq!(contents.metadata, b"model");
                }
            }
        }
    }
}

/// etcd may write the entries that follow a received snapshot before the snapshot record
/// (etcdserver/raft.go, `shouldWaitWALSync`); opening from that snapshot must still work.
#[test]
fn entries_after_a_received_snapshot_may_precede_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create_with_options(dir.path(), b"m", &small()).unwrap();
    wal.save(None, &[entry(1, 1), entry(2, 1)]).unwrap();
    wal.save(Some(b"hs"), &[entry(101, 3), entry(102, 3)])
        .unwrap();
    wal.save_snapshot(WalSnapshot {
        index: 100,
        term: 3,
    })
    .unwrap();
    wal.save(None, &[entry(103, 3)]).unwrap();
    drop(wal);
    let (_wal, contents) = open(
        dir.path(),
        WalSnapshot {
            index: 100,
            term: 3,
        },
    );
    assert_eq!(
        contents.entries,
        vec![entry(101, 3), entry(102, 3), entry(103, 3)]
    );
}
