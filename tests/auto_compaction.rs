//! Auto-compaction on a 3-member cluster, checked with the real etcdctl 3.4.
//!
//! - Periodic mode (`--auto-compaction-retention=2s`, which etcd 3.4 accepts:
//!   a Go duration; it samples the revision every 200 ms and compacts every
//!   2 s at the revision of about 2 s ago): old revisions become unreadable
//!   on every member (`etcdserver: mvcc: required revision has been
//!   compacted`, read serializably so each member answers from its own
//!   store), the leader logs etcd's `compactor:` lines and every member logs
//!   `mvcc: finished scheduled compaction`. Run against ours and against
//!   the real etcd 3.4 with the same assertions.
//! - Revision mode: etcd checks every 5 minutes; ours has a test-only seam
//!   (`ETCD_RS_TEST_REVISION_COMPACTION_INTERVAL_MS`) to shorten that, so
//!   this case runs against ours only. The schedule itself is unit-tested in
//!   `crates/server/src/compactor.rs`.

mod common;

use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};

const COMPACTED: &str = "Error: etcdserver: mvcc: required revision has been compacted";
/// Bound on waiting for a scheduled compaction to reach every member.
const COMPACTION_WAIT: Duration = Duration::from_secs(30);

/// `etcdctl get k --rev=<rev>` answered from member `i`'s own store.
fn get_rev(c: &Cluster, i: usize, rev: i64) -> common::CtlOutput {
    c.etcdctl(
        i,
        &[
            "get",
            "k",
            &format!("--rev={rev}"),
            "--consistency=s",
            "--print-value-only",
        ],
    )
}

/// Puts `k` = `v<n>` for n in 1..=count through member 0; returns the
/// revision of the last put.
fn put_versions(c: &Cluster, count: usize) -> i64 {
    let mut rev = 0;
    for n in 1..=count {
        let r = c
            .put(0, "k", &format!("v{n}"))
            .unwrap_or_else(|e| panic!("put {n}: {e}\n{}", c.logs()));
        rev = r.header.expect("header").revision;
    }
    rev
}

/// Polls until reading `rev` fails as compacted on every member.
fn wait_compacted_everywhere(c: &Cluster, rev: i64) {
    for i in 0..c.len() {
        let done = common::wait_until(COMPACTION_WAIT, || {
            get_rev(c, i, rev).last_err_line() == COMPACTED
        });
        assert!(
            done,
            "member {i}: revision {rev} not compacted within {COMPACTION_WAIT:?}: {:?}\n{}",
            get_rev(c, i, rev),
            c.logs()
        );
    }
}

fn periodic_scenario(opts: ClusterOpts) {
    let mut c = Cluster::start(
        3,
        ClusterOpts {
            args: vec!["--auto-compaction-retention=2s".into()],
            ..opts
        },
    );
    let last = put_versions(&c, 5);
    let first = last - 4;
    // Nothing is compacted before the retention has passed: the first put
    // is still readable right after the writes, on every member.
    for i in 0..c.len() {
        let out = get_rev(&c, i, first);
        assert_eq!(out.code, 0, "member {i}: {out:?}");
    }
    wait_compacted_everywhere(&c, first);
    // The latest revision always survives, and the key keeps its value.
    for i in 0..c.len() {
        assert_eq!(get_rev(&c, i, last).ok().stdout, "v5\n", "member {i}");
    }
    let leader = c.wait_leader(Duration::from_secs(10));
    let log = c.log(leader);
    for line in [
        "N | compactor: Starting auto-compaction at revision ",
        "(retention: 2s)",
        "N | compactor: Finished auto-compaction at revision ",
    ] {
        assert!(
            log.contains(line),
            "leader {leader} log lacks {line:?}\n{}",
            c.logs()
        );
    }
    for i in 0..c.len() {
        let log = c.log(i);
        assert!(
            log.contains("I | mvcc: store.index: compact ")
                && log.contains("I | mvcc: finished scheduled compaction at "),
            "member {i} did not log the compaction\n{}",
            c.logs()
        );
    }
}

#[test]
fn periodic_auto_compaction_on_three_members() {
    periodic_scenario(ClusterOpts::default());
}

#[test]
fn periodic_auto_compaction_on_three_real_etcd_members() {
    periodic_scenario(ClusterOpts::real_etcd());
}

#[test]
fn revision_auto_compaction_keeps_the_last_n_revisions() {
    if common::testing_external_server() {
        return; // the real etcd checks every 5 minutes only (no test seam)
    }
    let c = Cluster::start(
        3,
        ClusterOpts {
            args: vec![
                "--auto-compaction-mode=revision".into(),
                "--auto-compaction-retention=3".into(),
            ],
            envs: vec![(
                "ETCD_RS_TEST_REVISION_COMPACTION_INTERVAL_MS".into(),
                "300".into(),
            )],
            ..Default::default()
        },
    );
    let last = put_versions(&c, 10);
    let keep_from = last - 3;
    // Compactions may run while the puts go on; once they stop, the
    // compactor settles at `last - 3`.
    wait_compacted_everywhere(&c, keep_from - 1);
    for i in 0..c.len() {
        let out = get_rev(&c, i, keep_from);
        assert_eq!(out.code, 0, "member {i} lost revision {keep_from}: {out:?}");
    }
    let leader_logs: Vec<String> = (0..c.len()).map(|i| c.log(i)).collect();
    let line = format!(
        "N | compactor: Starting auto-compaction at revision {keep_from} (retention: 3 revisions)"
    );
    assert!(
        leader_logs.iter().any(|l| l.contains(&line)),
        "no member logged {line:?}\n{}",
        c.logs()
    );
}
