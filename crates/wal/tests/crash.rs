//! Crash points: a child process arms `wal_before_fsync` / `wal_after_fsync` through the
//! FAILPOINTS env var, exactly as a process-level test would, and dies inside `save`; the parent
//! then reopens the log. Only built with `--features failpoints`.
#![cfg(feature = "failpoints")]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use common::entry;
use etcd_wal::{Wal, WalSnapshot};

const CHILD_DIR_ENV: &str = "ETCD_WAL_CRASH_CHILD_DIR";

/// The child's body; a no-op unless started by `run_child`.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let scenario = fail::FailScenario::setup();
    let (mut wal, _) = Wal::open(Path::new(&dir), WalSnapshot::default()).unwrap();
    wal.save(Some(b"hs-2"), &[entry(2, 1)]).unwrap();
    wal.save(Some(b"hs-3"), &[entry(3, 1)]).unwrap();
    scenario.teardown();
    panic!("the failpoint should have killed this process");
}

/// Creates a log holding entry 1, runs the child with `failpoints`, returns the reopened entries.
fn crash_with(failpoints: &str) -> (Vec<u64>, Option<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = Wal::create(dir.path(), b"m").unwrap();
    wal.save(Some(b"hs-1"), &[entry(1, 1)]).unwrap();
    drop(wal);
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_DIR_ENV, dir.path())
        .env("FAILPOINTS", failpoints)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGABRT),
        "child must die at the failpoint: {status}"
    );
    let (_wal, contents) = Wal::open(dir.path(), WalSnapshot::default()).unwrap();
    (
        contents.entries.iter().map(|e| e.index).collect(),
        contents.hard_state,
    )
}

#[test]
fn death_after_fsync_keeps_everything_saved() {
    let (indexes, hard_state) = crash_with("wal_after_fsync=1*off->return");
    assert_eq!(indexes, vec![1, 2, 3]);
    assert_eq!(hard_state.as_deref(), Some(&b"hs-3"[..]));
}

#[test]
fn death_before_fsync_leaves_an_openable_log() {
    // The second save dies between write and fsync. The kernel still has the written pages
    // (only the process died), so they may or may not be there; the first save must be.
    let (indexes, _) = crash_with("wal_before_fsync=1*off->return");
    assert!(
        indexes == vec![1, 2] || indexes == vec![1, 2, 3],
        "{indexes:?}"
    );
}
