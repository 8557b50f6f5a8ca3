//! The reader against a real etcd 3.4.23 file, writer/reader round trips,
//! real `etcdctl snapshot status` on our files, and corrupt inputs.

use std::collections::BTreeMap;
use std::path::Path;

use etcd_bbolt::{snapshot_status, BoltError, BoltReader, BoltWriter};

type Db = BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>>;

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/etcd-3.4.23-snapshot.db"
);

fn read_all(r: &BoltReader) -> Db {
    let mut db = Db::new();
    for name in r.buckets().unwrap() {
        let mut b = BTreeMap::new();
        r.for_each(&name, |k, v| {
            b.insert(k.to_vec(), v.to_vec());
            true
        })
        .unwrap();
        db.insert(name, b);
    }
    db
}

fn write_all(path: &Path, db: &Db) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let mut w = BoltWriter::new(&mut f).unwrap();
    for (name, b) in db {
        w.begin_bucket(name).unwrap();
        for (k, v) in b {
            w.put(k, v).unwrap();
        }
    }
    let (_, size) = w.finish().unwrap();
    f.sync_all().unwrap();
    size
}

/// A deterministic mix: empty, inline, multi-leaf and multi-level buckets,
/// and values spanning overflow pages.
fn sample(keys: usize) -> Db {
    let mut db = Db::new();
    db.insert(b"alarm".to_vec(), BTreeMap::new());
    db.insert(
        b"cluster".to_vec(),
        BTreeMap::from([(b"clusterVersion".to_vec(), b"3.4.0".to_vec())]),
    );
    let mut key = BTreeMap::new();
    for i in 0..keys as u64 {
        let mut k = i.to_be_bytes().to_vec();
        k.push(b'_');
        k.extend_from_slice(&0u64.to_be_bytes());
        let len = match i % 97 {
            0 => 9000,
            1 => 4080,
            _ => (i % 200) as usize,
        };
        key.insert(k, vec![(i % 251) as u8; len]);
    }
    db.insert(b"key".to_vec(), key);
    let mut big_keys = BTreeMap::new();
    for i in 0..300u32 {
        big_keys.insert(format!("{i:05}{}", "x".repeat(1500)).into_bytes(), vec![1]);
    }
    db.insert(b"wide".to_vec(), big_keys);
    db
}

#[test]
fn reads_a_real_etcd_snapshot() {
    let r = BoltReader::open(Path::new(GOLDEN)).unwrap();
    let names: Vec<String> = r
        .buckets()
        .unwrap()
        .into_iter()
        .map(|n| String::from_utf8(n).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "alarm",
            "auth",
            "authRoles",
            "authUsers",
            "cluster",
            "key",
            "lease",
            "members",
            "members_removed",
            "meta"
        ]
    );
    // What real `etcdctl snapshot status -w json` printed for this file.
    let s = snapshot_status(&r).unwrap();
    assert_eq!(
        (s.hash, s.revision, s.total_key, s.total_size_bytes),
        (2149526190, 6, 10, 20480)
    );
    let db = read_all(&r);
    assert_eq!(
        db[&b"cluster".to_vec()][&b"clusterVersion".to_vec()],
        b"3.4.0"
    );
    assert_eq!(db[&b"key".to_vec()].len(), 5);
}

#[test]
fn round_trip_preserves_everything_and_the_status_hash() {
    let dir = tempfile::tempdir().unwrap();
    let golden = read_all(&BoltReader::open(Path::new(GOLDEN)).unwrap());
    let p = dir.path().join("copy.db");
    write_all(&p, &golden);
    let r = BoltReader::open(&p).unwrap();
    assert_eq!(read_all(&r), golden);
    assert_eq!(snapshot_status(&r).unwrap().hash, 2149526190);

    let db = sample(5000);
    let p = dir.path().join("big.db");
    let size = write_all(&p, &db);
    assert_eq!(std::fs::metadata(&p).unwrap().len(), size);
    let r = BoltReader::open(&p).unwrap();
    assert_eq!(read_all(&r), db);
    let mut n = 0;
    r.for_each(b"key", |_, _| {
        n += 1;
        n < 10
    })
    .unwrap();
    assert_eq!(n, 10);
    assert!(matches!(
        r.for_each(b"nope", |_, _| true),
        Err(BoltError::BucketNotFound(_))
    ));
}

#[test]
fn writer_rejects_unsorted_input() {
    let mut f = tempfile::tempfile().unwrap();
    let mut w = BoltWriter::new(&mut f).unwrap();
    w.begin_bucket(b"b").unwrap();
    w.put(b"2", b"").unwrap();
    assert!(matches!(w.put(b"1", b""), Err(BoltError::Unsorted(_))));
    assert!(matches!(w.put(b"2", b""), Err(BoltError::Unsorted(_))));
    assert!(matches!(w.begin_bucket(b"a"), Err(BoltError::Unsorted(_))));
    assert!(matches!(w.put(b"", b""), Err(BoltError::Unsorted(_))));
}

#[test]
fn truncated_and_corrupt_files_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.db");
    write_all(&p, &sample(2000));
    let bytes = std::fs::read(&p).unwrap();

    let t = dir.path().join("trunc.db");
    std::fs::write(&t, &bytes[..bytes.len() / 2]).unwrap();
    let err = BoltReader::open(&t)
        .err()
        .expect("truncated file must not open");
    assert!(matches!(err, BoltError::Truncated { .. }), "{err}");
    assert!(err.to_string().starts_with("truncated database"), "{err}");

    std::fs::write(&t, &bytes[..100]).unwrap();
    assert!(BoltReader::open(&t).is_err());

    std::fs::write(&t, "definitely not a database. ".repeat(300)).unwrap();
    let err = BoltReader::open(&t).err().unwrap();
    assert!(err.to_string().contains("bad magic"), "{err}");

    // Both metas damaged: no valid meta.
    let mut bad = bytes.clone();
    bad[16 + 40] ^= 0xff;
    bad[4096 + 16 + 40] ^= 0xff;
    std::fs::write(&t, &bad).unwrap();
    let err = BoltReader::open(&t).err().unwrap();
    assert!(err.to_string().contains("meta"), "{err}");

    // One meta damaged: the other one is used.
    let mut one = bytes.clone();
    one[4096 + 16 + 40] ^= 0xff;
    std::fs::write(&t, &one).unwrap();
    assert_eq!(read_all(&BoltReader::open(&t).unwrap()), sample(2000));

    // Every data page scribbled in turn: never a panic, and a header scribble
    // is always an error.
    for pg in 2..(bytes.len() / 4096) {
        if bytes[pg * 4096..pg * 4096 + 8] != (pg as u64).to_le_bytes() {
            continue; // an overflow page: its bytes are a value's
        }
        let mut bad = bytes.clone();
        bad[pg * 4096..pg * 4096 + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&t, &bad).unwrap();
        let r = BoltReader::open(&t).unwrap();
        let res: Result<Vec<()>, BoltError> = r
            .buckets()
            .unwrap_or_default()
            .iter()
            .map(|b| r.for_each(b, |_, _| true))
            .collect();
        let listed = r.buckets();
        assert!(
            res.is_err() || listed.is_err(),
            "page {pg} scribble went unnoticed"
        );
    }
}

/// Real `etcdctl snapshot status` (bbolt's own reader + `tx.Check`) accepts
/// our file and reports what we compute.
#[test]
fn real_etcdctl_accepts_our_file() {
    let etcdctl = Path::new("/usr/bin/etcdctl");
    if !etcdctl.exists() {
        eprintln!("skipping: /usr/bin/etcdctl not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, db) in [
        (
            "small.db",
            read_all(&BoltReader::open(Path::new(GOLDEN)).unwrap()),
        ),
        ("big.db", sample(20000)),
    ] {
        let p = dir.path().join(name);
        write_all(&p, &db);
        let out = std::process::Command::new(etcdctl)
            .args(["snapshot", "status", "-w", "json"])
            .arg(&p)
            .env("ETCDCTL_API", "3")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json_lite::Status =
            serde_json_lite::parse(&String::from_utf8_lossy(&out.stdout));
        let s = snapshot_status(&BoltReader::open(&p).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json_lite::Status {
                hash: u64::from(s.hash),
                revision: s.revision as u64,
                total_key: s.total_key,
                total_size: s.total_size_bytes
            }
        );
    }
}

/// Just enough JSON for etcdctl's one-line status object.
mod serde_json_lite {
    #[derive(Debug, PartialEq, Eq)]
    pub struct Status {
        pub hash: u64,
        pub revision: u64,
        pub total_key: u64,
        pub total_size: u64,
    }

    pub fn parse(s: &str) -> Status {
        let field = |name: &str| -> u64 {
            let at = s
                .find(&format!("\"{name}\":"))
                .unwrap_or_else(|| panic!("{name} missing in {s}"))
                + name.len()
                + 3;
            s[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap()
        };
        Status {
            hash: field("hash"),
            revision: field("revision"),
            total_key: field("totalKey"),
            total_size: field("totalSize"),
        }
    }
}
