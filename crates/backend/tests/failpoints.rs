//! Crash points around the durable step of a commit. The production action
//! aborts the process; here the failpoints panic instead, which stops the
//! commit at the same place, and the file is reopened as after a crash.

use std::panic::{catch_unwind, AssertUnwindSafe};

use etcd_backend::{Backend, BackendConfig, Table};

fn open(path: &std::path::Path) -> Backend {
    Backend::open(path, BackendConfig::default()).unwrap()
}

#[test]
fn crash_before_and_after_commit() {
    let scenario = fail::FailScenario::setup();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");

    let b = open(&path);
    b.put(Table::Key, b"durable", b"1");
    b.commit().unwrap();
    b.put(Table::Key, b"lost", b"2");
    fail::cfg("backend_before_commit", "panic").unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| b.commit())).is_err());
    fail::remove("backend_before_commit");
    assert_eq!(
        b.get(Table::Key, b"lost").unwrap(),
        Some(b"2".to_vec()),
        "still readable in memory"
    );
    drop(b);
    let b = open(&path);
    assert_eq!(b.get(Table::Key, b"durable").unwrap(), Some(b"1".to_vec()));
    assert_eq!(b.get(Table::Key, b"lost").unwrap(), None);

    b.put(Table::Key, b"kept", b"3");
    fail::cfg("backend_after_commit", "panic").unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| b.commit())).is_err());
    fail::remove("backend_after_commit");
    drop(b);
    let b = open(&path);
    assert_eq!(b.get(Table::Key, b"kept").unwrap(), Some(b"3".to_vec()));
    scenario.teardown();
}
