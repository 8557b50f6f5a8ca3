//! `--strict-reconfig-check`: with one of three members killed, adding a
//! voter would leave two of four members up, below quorum. With the check on
//! (etcd's default) the member asked refuses with `etcdserver: unhealthy
//! cluster`; with `--strict-reconfig-check=false` etcd 3.4 skips its
//! `mayAddMember` checks and the add is applied: the member list has four
//! members (the new one unstarted), and writes resume only once the killed
//! member is back (three of four).
//!
//! Runs on whichever server the harness starts, so the same test passes
//! against the real etcd with `ETCD_RS_TEST_ETCD=/usr/bin/etcd`.

mod common;

use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};
use common::{wait_until, CtlOutput};

/// Bound for an election.
const ELECTION: Duration = Duration::from_secs(15);
/// Bound for the asked member to see the killed one as inactive.
const INACTIVE: Duration = Duration::from_secs(30);
/// Bound for writes to resume once quorum is back.
const RESUME: Duration = Duration::from_secs(30);

fn inactive_logged(log: &str, id: u64) -> bool {
    let id = format!("{id:x}");
    log.lines()
        .any(|l| l.contains("became inactive") && l.contains(&id))
}

/// A 3-member cluster (strict check as given) with a follower killed and
/// seen as inactive by the leader, then `etcdctl member add` through the
/// leader. (Killing the leader instead would race the add with an election:
/// Raft drops a conf change proposed before the new leader has applied its
/// predecessor's log.) Returns the cluster, the asked and the killed member, and the output.
fn add_with_one_member_down(strict: bool) -> (Cluster, usize, usize, CtlOutput) {
    let opts = ClusterOpts {
        args: vec![format!("--strict-reconfig-check={strict}")],
        ..Default::default()
    };
    let mut c = Cluster::start(3, opts);
    let asked = c.wait_leader(ELECTION);
    let killed = (asked + 1) % c.len();
    let killed_id = c.member_id(killed);
    c.kill9(killed);
    assert!(
        wait_until(INACTIVE, || inactive_logged(&c.log(asked), killed_id)),
        "member {asked} never saw member {killed} as inactive\n{}",
        c.logs()
    );
    let out = c.etcdctl(
        asked,
        &["member", "add", "newbie", "--peer-urls=http://127.0.0.1:1"],
    );
    (c, asked, killed, out)
}

#[test]
fn strict_check_refuses_an_add_that_loses_quorum() {
    let (c, asked, _, out) = add_with_one_member_down(true);
    assert_eq!(out.code, 1, "{out:#?}\n{}", c.logs());
    assert_eq!(
        out.last_err_line(),
        "Error: etcdserver: unhealthy cluster",
        "{out:#?}"
    );
    let list = c.etcdctl(asked, &["member", "list"]);
    assert_eq!(list.stdout.lines().count(), 3, "{list:#?}");
}

#[test]
fn strict_check_off_accepts_the_add() {
    let (mut c, asked, killed, out) = add_with_one_member_down(false);
    assert_eq!(out.code, 0, "{out:#?}\n{}", c.logs());
    let first = out.stdout.lines().next().unwrap_or("");
    assert!(
        first.starts_with("Member ") && first.contains(" added to cluster "),
        "{out:#?}"
    );
    assert!(
        out.stdout
            .contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\""),
        "{out:#?}"
    );
    // Served locally: four members now, the new one never started.
    let list = c.etcdctl(asked, &["member", "list"]);
    assert_eq!(list.code, 0, "{list:#?}");
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{list:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(", unstarted, , http://127.0.0.1:1, ")),
        "{list:#?}"
    );
    // Two of four is no quorum; with the killed member back, three of four is.
    c.restart(killed);
    c.put_retry(&[0, 1, 2], "after", "add", RESUME)
        .unwrap_or_else(|e| panic!("no write after quorum came back: {e}\n{}", c.logs()));
}
