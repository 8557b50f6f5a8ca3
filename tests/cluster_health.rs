//! etcd's "unhealthy cluster" refusals of membership changes (strict
//! reconfiguration check, etcd's `mayAddMember` / `mayRemoveMember`): with
//! one of three members stopped (SIGSTOP) and seen as inactive by the member
//! asked, removing a healthy member and adding one are refused with
//! `etcdserver: unhealthy cluster`, while removing the stopped member itself
//! is allowed. The same scenario runs on the real etcd 3.4, and etcdctl's
//! output must match.

mod common;

use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};
use common::wait_until;

/// Bound for an election.
const ELECTION: Duration = Duration::from_secs(15);
/// Bound for the asked member to see the stopped one as inactive (etcd's
/// read timeout is 5 s).
const INACTIVE: Duration = Duration::from_secs(30);

fn inactive_logged(log: &str, id: u64) -> bool {
    let id = format!("{id:x}");
    log.lines().any(|l| l.contains("became inactive") && l.contains(&id))
}

/// etcdctl's result without its timestamped client-library log lines.
fn result(c: &Cluster, what: &str, o: &common::CtlOutput) -> String {
    let text = format!("{}{}", o.stdout, o.stderr);
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with('{')).collect();
    // The cluster id is printed with a padding space when short; compare words.
    let words = c.normalise(&kept.join("\n")).split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{what}: code {} {words}", o.code)
}

fn unhealthy_refusals(opts: ClusterOpts) -> Vec<String> {
    let mut c = Cluster::start(3, opts);
    c.wait_leader(ELECTION);
    let (asked, healthy, stopped) = (0, 1, 2);
    let stopped_id = c.member_id(stopped);
    c.pause(stopped);
    assert!(
        wait_until(INACTIVE, || inactive_logged(&c.log(asked), stopped_id)),
        "member {asked} never saw member {stopped} as inactive\n{}",
        c.logs()
    );
    let mut out = Vec::new();
    let remove = c.etcdctl(asked, &["member", "remove", &format!("{:x}", c.member_id(healthy))]);
    out.push(result(&c, "remove healthy", &remove));
    let add = c.etcdctl(asked, &["member", "add", "newbie", "--peer-urls=http://127.0.0.1:1"]);
    out.push(result(&c, "add", &add));
    let learner = c.etcdctl(asked, &["member", "add", "newbie", "--learner", "--peer-urls=http://127.0.0.1:1"]);
    out.push(result(&c, "add learner", &learner));
    let gone = c.etcdctl(asked, &["member", "remove", &format!("{stopped_id:x}")]);
    out.push(result(&c, "remove stopped", &gone));
    c.resume(stopped);
    out
}

#[test]
fn membership_changes_refused_while_a_member_is_down() {
    let ours = unhealthy_refusals(ClusterOpts::default());
    assert!(ours[0].contains("etcdserver: unhealthy cluster"), "{ours:#?}");
    assert!(ours[1].contains("etcdserver: unhealthy cluster"), "{ours:#?}");
    assert!(ours[3].contains("code 0"), "{ours:#?}");
    let real = unhealthy_refusals(ClusterOpts::real_etcd());
    assert_eq!(ours, real);
}
