//! Golden files: a tiny WAL and a snapshot written by this code and checked in as bytes under
//! `tests/golden/`. The current code must decode them to known contents and must write the very
//! same bytes, so a format change (encoder or decoder) cannot slip in unnoticed.
//!
//! After a deliberate format change (update FORMAT.md too), regenerate with
//! `WAL_GOLDEN_REGENERATE=1 cargo test -p etcd-wal --test golden -- --test-threads 1`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::copy_dir;
use etcd_wal::{Snapshotter, Wal, WalContents, WalEntry, WalOptions, WalSnapshot};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn e(index: u64, term: u64, data: &str) -> WalEntry {
    WalEntry {
        index,
        term,
        data: data.as_bytes().to_vec(),
    }
}

const OPTIONS: WalOptions = WalOptions { segment_bytes: 256 };

/// Writes the golden log into `wal_dir` and the golden snapshot into `snap_dir`.
fn write_golden(wal_dir: &Path, snap_dir: &Path) {
    let mut wal = Wal::create_with_options(wal_dir, b"golden-meta", &OPTIONS).unwrap();
    wal.save(
        Some(b"hs-1"),
        &[e(1, 1, "one"), e(2, 1, "two"), e(3, 1, "three")],
    )
    .unwrap();
    wal.save_snapshot(WalSnapshot { index: 2, term: 1 })
        .unwrap();
    wal.save(Some(b"hs-2"), &[e(3, 2, "three-b"), e(4, 2, "four")])
        .unwrap();
    wal.save(None, &[e(5, 2, "five")]).unwrap();
    assert_eq!(
        wal.segment_paths().len(),
        2,
        "the golden log spans two segments"
    );
    Snapshotter::new(snap_dir)
        .unwrap()
        .save(2, 1, b"golden-snapshot")
        .unwrap();
}

fn expected(from_snapshot: bool) -> WalContents {
    let all = vec![
        e(1, 1, "one"),
        e(2, 1, "two"),
        e(3, 2, "three-b"),
        e(4, 2, "four"),
        e(5, 2, "five"),
    ];
    WalContents {
        metadata: b"golden-meta".to_vec(),
        hard_state: Some(b"hs-2".to_vec()),
        entries: if from_snapshot {
            all[2..].to_vec()
        } else {
            all
        },
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn golden_files_decode_to_known_contents() {
    if std::env::var_os("WAL_GOLDEN_REGENERATE").is_some() {
        let root = golden_dir();
        let _ = fs::remove_dir_all(&root);
        write_golden(&root.join("wal"), &root.join("snap"));
    }
    let wal = copy_dir(&golden_dir().join("wal"));
    let (_w, contents) =
        Wal::open_with_options(wal.path(), WalSnapshot::default(), &OPTIONS).unwrap();
    assert_eq!(contents, expected(false));
    drop(_w);
    let snap = WalSnapshot { index: 2, term: 1 };
    let (_w, contents) = Wal::open_with_options(wal.path(), snap, &OPTIONS).unwrap();
    assert_eq!(contents, expected(true));

    let snaps = copy_dir(&golden_dir().join("snap"));
    let loaded = Snapshotter::new(snaps.path())
        .unwrap()
        .load_newest()
        .unwrap();
    assert_eq!(loaded, Some((2, 1, b"golden-snapshot".to_vec())));
}

#[test]
fn current_code_writes_the_golden_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    write_golden(&tmp.path().join("wal"), &tmp.path().join("snap"));
    for sub in ["wal", "snap"] {
        let want = files(&golden_dir().join(sub));
        let got = files(&tmp.path().join(sub));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&want), "{sub}: file names changed");
        for ((name, got), (_, want)) in got.iter().zip(&want) {
            assert!(
                got == want,
                "{sub}/{name}: bytes changed (format change? see FORMAT.md)"
            );
        }
    }
}
