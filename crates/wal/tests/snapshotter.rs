//! `Snapshotter`: save, load newest, skip (and rename) corrupt files, purge.

use std::fs;
use std::path::Path;

use etcd_wal::{Snapshotter, WalError};

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn save_then_load_newest() {
    let dir = tempfile::tempdir().unwrap();
    let snap_dir = dir.path().join("member/snap");
    let s = Snapshotter::new(&snap_dir).unwrap();
    assert_eq!(s.load_newest().unwrap(), None);
    s.save(10, 1, b"ten").unwrap();
    s.save(20, 1, b"twenty").unwrap();
    s.save(15, 2, b"fifteen-term-2").unwrap();
    assert_eq!(
        names(&snap_dir),
        vec![
            "0000000000000001-000000000000000a.snap",
            "0000000000000001-0000000000000014.snap",
            "0000000000000002-000000000000000f.snap",
        ]
    );
    // Newest is by term, then index, as etcd orders the names.
    assert_eq!(
        s.load_newest().unwrap(),
        Some((15, 2, b"fifteen-term-2".to_vec()))
    );
    assert_eq!(
        Snapshotter::read(&snap_dir.join("0000000000000001-000000000000000a.snap")).unwrap(),
        (10, 1, b"ten".to_vec())
    );
}

#[test]
fn corrupt_newest_is_renamed_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let s = Snapshotter::new(dir.path()).unwrap();
    s.save(1, 1, b"old").unwrap();
    s.save(2, 1, b"new").unwrap();
    let newest = dir.path().join("0000000000000001-0000000000000002.snap");
    let mut bytes = fs::read(&newest).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&newest, &bytes).unwrap();
    assert!(matches!(
        Snapshotter::read(&newest),
        Err(WalError::SnapCorrupt { .. })
    ));

    assert_eq!(s.load_newest().unwrap(), Some((1, 1, b"old".to_vec())));
    assert_eq!(
        names(dir.path()),
        vec![
            "0000000000000001-0000000000000001.snap",
            "0000000000000001-0000000000000002.snap.broken",
        ]
    );
    // An empty file and a truncated one are skipped too.
    fs::write(
        dir.path().join("0000000000000001-0000000000000003.snap"),
        b"",
    )
    .unwrap();
    let good = fs::read(dir.path().join("0000000000000001-0000000000000001.snap")).unwrap();
    fs::write(
        dir.path().join("0000000000000001-0000000000000004.snap"),
        &good[..good.len() - 1],
    )
    .unwrap();
    assert_eq!(s.load_newest().unwrap(), Some((1, 1, b"old".to_vec())));
}

#[test]
fn purge_keeps_the_newest_n() {
    let dir = tempfile::tempdir().unwrap();
    let s = Snapshotter::new(dir.path()).unwrap();
    for i in 1..=5u64 {
        s.save(i * 10, 1, format!("s{i}").as_bytes()).unwrap();
    }
    fs::write(dir.path().join("db"), b"backend file, not ours").unwrap();
    fs::write(
        dir.path()
            .join("0000000000000001-0000000000000063.snap.tmp"),
        b"partial",
    )
    .unwrap();
    s.purge(0).unwrap();
    assert_eq!(names(dir.path()).len(), 7, "keep 0 keeps everything");
    s.purge(2).unwrap();
    assert_eq!(
        names(dir.path()),
        vec![
            "0000000000000001-0000000000000028.snap",
            "0000000000000001-0000000000000032.snap",
            "db",
        ]
    );
    assert_eq!(s.load_newest().unwrap(), Some((50, 1, b"s5".to_vec())));
}
