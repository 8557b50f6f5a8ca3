//! Behaviour of the buffered backend: read-your-writes before commit,
//! durability after commit, batching triggers, and a randomized comparison
//! against a `BTreeMap` model.

use std::collections::BTreeMap;
use std::sync::Arc;

use etcd_backend::{Backend, BackendConfig, Table};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn cfg() -> BackendConfig {
    BackendConfig {
        batch_interval_ms: 60_000,
        batch_limit: 10_000,
    }
}

fn open(dir: &tempfile::TempDir) -> Backend {
    Backend::open(&dir.path().join("db"), cfg()).unwrap()
}

#[test]
fn writes_are_visible_before_commit_and_durable_after() {
    let dir = tempfile::tempdir().unwrap();
    {
        let b = open(&dir);
        b.put(Table::Key, b"a", b"1");
        assert_eq!(b.get(Table::Key, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(
            b.get(Table::Meta, b"a").unwrap(),
            None,
            "tables are separate"
        );
        b.commit().unwrap();
        b.put(Table::Key, b"b", b"2"); // never committed
        assert_eq!(b.pending_ops(), 1);
    }
    let b = open(&dir);
    assert_eq!(b.get(Table::Key, b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(
        b.get(Table::Key, b"b").unwrap(),
        None,
        "uncommitted write must not survive"
    );
}

#[test]
fn buffered_delete_hides_committed_value_and_range_merges_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let b = open(&dir);
    for k in ["a", "c", "e", "g"] {
        b.put(Table::Lease, k.as_bytes(), b"db");
    }
    b.commit().unwrap();
    b.delete(Table::Lease, b"c");
    b.put(Table::Lease, b"d", b"buf");
    b.put(Table::Lease, b"e", b"buf");
    assert_eq!(b.get(Table::Lease, b"c").unwrap(), None);
    let all = b.range(Table::Lease, b"", None, 0).unwrap();
    let got: Vec<(&[u8], &[u8])> = all
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    assert_eq!(
        got,
        vec![
            (&b"a"[..], &b"db"[..]),
            (b"d", b"buf"),
            (b"e", b"buf"),
            (b"g", b"db")
        ]
    );
    let limited = b.range(Table::Lease, b"b", Some(b"g"), 2).unwrap();
    let keys: Vec<_> = limited.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys, vec![b"d".to_vec(), b"e".to_vec()]);
    assert!(
        b.range(Table::Lease, b"z", Some(b"a"), 0)
            .unwrap()
            .is_empty(),
        "inverted range is empty"
    );
    assert_eq!(
        b.range_keys(Table::Lease, b"e", None, 0).unwrap(),
        vec![b"e".to_vec(), b"g".to_vec()]
    );
}

#[test]
fn commit_if_due_by_count_and_by_interval() {
    let dir = tempfile::tempdir().unwrap();
    let b = Backend::open(
        &dir.path().join("db"),
        BackendConfig {
            batch_interval_ms: 60_000,
            batch_limit: 3,
        },
    )
    .unwrap();
    assert!(!b.commit_if_due().unwrap(), "nothing pending");
    b.put(Table::Key, b"1", b"");
    b.put(Table::Key, b"2", b"");
    assert!(!b.commit_if_due().unwrap());
    b.put(Table::Key, b"3", b"");
    assert!(b.commit_if_due().unwrap());
    assert_eq!(b.pending_ops(), 0);
    drop(b);

    let b = Backend::open(
        &dir.path().join("db"),
        BackendConfig {
            batch_interval_ms: 0,
            batch_limit: 1000,
        },
    )
    .unwrap();
    assert_eq!(b.range(Table::Key, b"", None, 0).unwrap().len(), 3);
    b.put(Table::Key, b"4", b"");
    assert!(b.commit_if_due().unwrap(), "interval 0 elapses at once");
}

#[test]
fn size_stats_are_positive() {
    let dir = tempfile::tempdir().unwrap();
    let b = open(&dir);
    for i in 0..100u32 {
        b.put(Table::Key, &i.to_be_bytes(), &[7u8; 1000]);
    }
    b.commit().unwrap();
    assert!(b.size_bytes() > 100_000);
    let in_use = b.size_in_use_bytes();
    assert!(
        in_use > 100_000 && in_use <= b.size_bytes(),
        "in use {in_use}, size {}",
        b.size_bytes()
    );
}

#[test]
fn readers_never_see_a_write_disappear_across_commits() {
    let dir = tempfile::tempdir().unwrap();
    let b = Arc::new(open(&dir));
    const N: u32 = 2000;
    let reader = {
        let b = b.clone();
        std::thread::spawn(move || {
            let mut seen = 0u32;
            while seen < N {
                let now = b.range(Table::Key, b"", None, 0).unwrap().len() as u32;
                assert!(now >= seen, "visible keys went from {seen} to {now}");
                seen = now;
            }
        })
    };
    for i in 0..N {
        b.put(Table::Key, &i.to_be_bytes(), b"v");
        if i % 97 == 0 {
            b.commit().unwrap();
        }
    }
    b.commit().unwrap();
    reader.join().unwrap();
}

#[test]
fn randomized_against_btreemap_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut b = Backend::open(&path, cfg()).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut durable = model.clone();
    let key = |rng: &mut StdRng| vec![rng.random_range(b'a'..=b'p'); rng.random_range(1..3)];
    for step in 0..3000 {
        match rng.random_range(0..100) {
            0..=44 => {
                let (k, v) = (
                    key(&mut rng),
                    vec![rng.random::<u8>(); rng.random_range(0..20)],
                );
                b.put(Table::Auth, &k, &v);
                model.insert(k, v);
            }
            45..=64 => {
                let k = key(&mut rng);
                b.delete(Table::Auth, &k);
                model.remove(&k);
            }
            65..=79 => {
                let k = key(&mut rng);
                assert_eq!(
                    b.get(Table::Auth, &k).unwrap(),
                    model.get(&k).cloned(),
                    "step {step}"
                );
            }
            80..=92 => {
                let (s, e) = (key(&mut rng), key(&mut rng));
                let limit = rng.random_range(0..5);
                let got = b.range(Table::Auth, &s, Some(&e), limit).unwrap();
                let want: Vec<_> = if s < e {
                    model
                        .range(s.clone()..e.clone())
                        .take(if limit == 0 { usize::MAX } else { limit })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                } else {
                    vec![]
                };
                assert_eq!(got, want, "step {step}");
            }
            93..=97 => {
                b.commit().unwrap();
                durable = model.clone();
            }
            _ => {
                drop(b);
                b = Backend::open(&path, cfg()).unwrap();
                model = durable.clone();
            }
        }
    }
    let all = b.range(Table::Auth, b"", None, 0).unwrap();
    assert_eq!(all, model.into_iter().collect::<Vec<_>>());
}
