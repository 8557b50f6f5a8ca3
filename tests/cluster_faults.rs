//! Fault tests on three- and five-member clusters: crashes (SIGKILL),
//! partitions and blackholes through the peer proxy, paused processes
//! (SIGSTOP), and slow links.
//!
//! Safety checked after every scenario, once the faults are healed: every
//! acknowledged write is readable on every member (linearizably and
//! serializably), and all members report the same applied index and the
//! same HashKV at the same revision (Raft thesis §3.6: state machine
//! safety; §3.5: a member that was down or cut off catches up from the
//! leader's log, which stays under the 5000 entries kept after a snapshot).
//! Liveness checked during them: a majority elects a leader within a
//! bounded time and keeps accepting writes; a minority cannot commit.

mod common;

use std::time::{Duration, Instant};

use common::cluster::proxy::Rule;
use common::cluster::{Cluster, ClusterOpts, Writer};

/// Bound for an election after a fault (election timeout is 500 ms).
const ELECTION: Duration = Duration::from_secs(15);
/// Bound for members to converge after healing.
const CONVERGE: Duration = Duration::from_secs(30);

fn all(c: &Cluster) -> Vec<usize> {
    (0..c.len()).collect()
}

/// Every acknowledged write on every member, then equal HashKV everywhere.
fn check_safety(c: &mut Cluster, acked: &[(String, String)]) {
    let members = all(c);
    c.wait_converged(&members, CONVERGE);
    c.assert_all_readable(&members, acked);
    c.wait_converged(&members, CONVERGE);
}

fn put_ok(c: &Cluster, i: usize, k: &str, v: &str, acked: &mut Vec<(String, String)>) {
    c.put(i, k, v).unwrap_or_else(|e| panic!("put {k} via member {i}: {e:?}\n{}", c.logs()));
    acked.push((k.to_string(), v.to_string()));
}

/// A put through the member that was cut off, retried (bounded) while it
/// reconnects and learns the leader, as a client would.
fn put_after_heal(c: &Cluster, i: usize, acked: &mut Vec<(String, String)>) {
    c.put_retry(&[i], "after", "heal", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("put via member {i} after heal: {e:?}\n{}", c.logs()));
    acked.push(("after".into(), "heal".into()));
}

fn writer_report_ok(w: Writer, c: &Cluster) -> Vec<(String, String)> {
    let report = w.stop();
    assert!(report.gave_up.is_none(), "writer gave up on {:?}; errors {:?}\n{}", report.gave_up, report.errors, c.logs());
    report.acked
}

#[test]
fn killed_leader_is_replaced_and_catches_up_after_restart() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let old = c.wait_leader(ELECTION);
    let w = Writer::start(c.client_urls(), "w", Duration::from_secs(15));
    assert!(w.wait_acked(20, Duration::from_secs(10)), "writer made no progress\n{}", c.logs());
    c.kill9(old);
    let at_kill = w.acked();
    let new = c.wait_new_leader(old, ELECTION);
    assert_ne!(new, old);
    assert!(
        w.wait_acked(at_kill + 50, Duration::from_secs(20)),
        "writes did not continue after the leader was killed (acked {} at kill, {} now)\n{}",
        at_kill,
        w.acked(),
        c.logs()
    );
    c.restart(old);
    let at_restart = w.acked();
    assert!(w.wait_acked(at_restart + 20, Duration::from_secs(10)), "writes stalled after the restart\n{}", c.logs());
    let acked = writer_report_ok(w, &c);
    check_safety(&mut c, &acked);
}

/// A follower cut off from both others (through the proxy) has no leader:
/// its writes fail with etcd's error and its linearizable reads do not
/// succeed, while the other two keep serving. After healing it catches up.
#[test]
fn isolated_minority_cannot_write_while_majority_serves() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(ELECTION);
    let f = (leader + 1) % 3;
    let rest: Vec<usize> = all(&c).into_iter().filter(|&i| i != f).collect();
    let mut acked = Vec::new();
    put_ok(&c, f, "before", "partition", &mut acked);
    c.proxy().partition(&[f], &rest);
    // The majority serves (the leader stays, it still has a quorum).
    for i in 0..20 {
        put_ok(&c, rest[i % 2], &format!("majority/{i}"), "ok", &mut acked);
    }
    // The minority cannot commit: etcd 3.4 answers Unavailable "etcdserver:
    // request timed out" (", possibly due to connection lost" when its peer
    // links dropped recently) after its request timeout (5 s + 2 x election
    // timeout = 6 s here).
    let t = Instant::now();
    let err = c.put_timeout(f, "minority", "x", Duration::from_secs(15)).expect_err("a minority member committed a write");
    assert!(
        err.code() == tonic::Code::Unavailable
            && (err.message() == "etcdserver: request timed out"
                || err.message() == "etcdserver: request timed out, possibly due to connection lost"),
        "minority write error: {err:?} after {:?}",
        t.elapsed()
    );
    let read = c.get_timeout(f, "before", false, Duration::from_secs(3));
    assert!(
        read.is_err(),
        "linearizable read on the isolated member {f} succeeded: {read:?}; statuses {:?}; proxy {:?}\n{}",
        c.statuses(&all(&c)),
        c.proxy().stats(),
        c.logs()
    );
    // A serializable read is local and still answers with old data.
    assert_eq!(c.get(f, "before", true).expect("serializable read"), Some(b"partition".to_vec()));
    assert_eq!(c.wait_leader(ELECTION), leader, "the majority kept its leader");
    c.proxy().heal_all();
    put_after_heal(&c, f, &mut acked);
    check_safety(&mut c, &acked);
}

/// A leader cut off from the rest steps down (check-quorum), the rest elect
/// a new one and keep writing; after healing the old leader follows and
/// catches up.
#[test]
fn partitioned_leader_steps_down_and_catches_up_after_heal() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let old = c.wait_leader(ELECTION);
    let rest: Vec<usize> = all(&c).into_iter().filter(|&i| i != old).collect();
    let mut acked = Vec::new();
    put_ok(&c, old, "before", "partition", &mut acked);
    c.proxy().partition(&[old], &rest);
    let new = c.wait_new_leader(old, ELECTION);
    assert!(rest.contains(&new));
    let old_id = c.member_id(old);
    let stepped_down = common::wait_until(ELECTION, || c.status(old).is_some_and(|s| s.leader != old_id));
    assert!(stepped_down, "isolated old leader still believes it leads: {:?}\n{}", c.status(old), c.logs());
    for i in 0..20 {
        put_ok(&c, rest[i % 2], &format!("majority/{i}"), "ok", &mut acked);
    }
    let err = c.put_timeout(old, "minority", "x", Duration::from_secs(15));
    assert!(
        err.is_err(),
        "the isolated old leader {old} committed a write: {err:?}; statuses {:?}; ids {:?}; proxy {:?}\n{}",
        c.statuses(&all(&c)),
        c.proxy().ids(),
        c.proxy().stats(),
        c.logs()
    );
    c.proxy().heal_all();
    c.wait_leader(ELECTION);
    put_after_heal(&c, old, &mut acked);
    check_safety(&mut c, &acked);
}

/// One-way loss: the leader cannot reach one follower (but hears it). The
/// follower misses appends and heartbeats; the cluster must keep a leader
/// and serve writes, and converge once healed.
#[test]
fn one_way_loss_from_leader_to_follower() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(ELECTION);
    let f = (leader + 1) % 3;
    c.proxy().one_way(leader, f);
    let w = Writer::start(c.client_urls(), "oneway", Duration::from_secs(15));
    assert!(w.wait_acked(50, Duration::from_secs(20)), "writes stalled under one-way loss\n{}", c.logs());
    c.wait_leader(ELECTION);
    c.proxy().heal_all();
    let healed_at = w.acked();
    assert!(w.wait_acked(healed_at + 20, Duration::from_secs(10)), "writes stalled after heal\n{}", c.logs());
    let acked = writer_report_ok(w, &c);
    check_safety(&mut c, &acked);
}

/// Blackholed links (connections kept, bytes discarded) isolate a follower
/// as well as closed ones; after healing the proxy closes the torn
/// connections and the member reconnects and catches up.
#[test]
fn blackholed_follower_catches_up_after_heal() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(ELECTION);
    let f = (leader + 2) % 3;
    let rest: Vec<usize> = all(&c).into_iter().filter(|&i| i != f).collect();
    c.proxy().set_between(&[f], &rest, Rule::Blackhole);
    let mut acked = Vec::new();
    for i in 0..30 {
        put_ok(&c, rest[i % 2], &format!("bh/{i}"), "ok", &mut acked);
    }
    assert!(
        common::wait_until(Duration::from_secs(5), || c.proxy().stats().bytes_discarded.load(std::sync::atomic::Ordering::Relaxed) > 0),
        "the blackhole discarded nothing"
    );
    let st = c.status(f).expect("status of the blackholed member");
    let leader_st = c.status(leader).expect("leader status");
    assert!(st.raft_applied_index < leader_st.raft_applied_index, "blackholed member kept up: {st:?} vs {leader_st:?}");
    c.proxy().heal_all();
    check_safety(&mut c, &acked);
}

/// Slow links: every link delayed; commits take at least one delayed round
/// trip and still succeed, without spurious elections.
#[test]
fn delayed_links_slow_commits_but_keep_the_leader() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(ELECTION);
    let delay = Duration::from_millis(60);
    let members = all(&c);
    c.proxy().set_between(&[leader], &members.iter().copied().filter(|&i| i != leader).collect::<Vec<_>>(), Rule::Delay(delay));
    let mut acked = Vec::new();
    for i in 0..5 {
        let t = Instant::now();
        put_ok(&c, leader, &format!("slow/{i}"), "ok", &mut acked);
        assert!(t.elapsed() >= delay * 2, "commit took {:?}, less than one delayed round trip", t.elapsed());
    }
    assert_eq!(c.wait_leader(ELECTION), leader, "a 60 ms delay (election timeout 500 ms) changed the leader");
    c.proxy().heal_all();
    check_safety(&mut c, &acked);
}

/// A SIGSTOPped leader is replaced; when it resumes it learns the new term,
/// follows, and catches up. A paused follower likewise.
#[test]
fn paused_members_resume_and_catch_up() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let old = c.wait_leader(ELECTION);
    let w = Writer::start(c.client_urls(), "p", Duration::from_secs(15));
    assert!(w.wait_acked(10, Duration::from_secs(10)), "writer made no progress\n{}", c.logs());
    c.pause(old);
    let new = c.wait_new_leader(old, ELECTION);
    let n = w.acked();
    assert!(w.wait_acked(n + 30, Duration::from_secs(20)), "writes did not continue with the leader paused\n{}", c.logs());
    c.resume(old);
    // Now pause a follower of the new leader.
    let f = all(&c).into_iter().find(|&i| i != new && i != old).expect("a third member");
    c.pause(f);
    let n = w.acked();
    assert!(w.wait_acked(n + 30, Duration::from_secs(20)), "writes did not continue with a follower paused\n{}", c.logs());
    c.resume(f);
    let acked = writer_report_ok(w, &c);
    check_safety(&mut c, &acked);
}

/// Five members tolerate two failures: kill the leader and one follower,
/// the remaining three elect a leader and serve; both restart and catch up.
#[test]
fn five_members_survive_two_killed() {
    let mut c = Cluster::start(5, ClusterOpts::default());
    let leader = c.wait_leader(ELECTION);
    let w = Writer::start(c.client_urls(), "five", Duration::from_secs(15));
    assert!(w.wait_acked(20, Duration::from_secs(10)), "writer made no progress\n{}", c.logs());
    let other = (leader + 1) % 5;
    c.kill9(leader);
    c.kill9(other);
    c.wait_new_leader(leader, ELECTION);
    let n = w.acked();
    assert!(w.wait_acked(n + 50, Duration::from_secs(20)), "writes did not continue with 3 of 5\n{}", c.logs());
    c.restart(leader);
    c.restart(other);
    let n = w.acked();
    assert!(w.wait_acked(n + 20, Duration::from_secs(10)), "writes stalled after the restarts\n{}", c.logs());
    let acked = writer_report_ok(w, &c);
    check_safety(&mut c, &acked);
}
