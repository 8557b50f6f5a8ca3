//! The seeded fault schedule and its injection into a [`Cluster`].
//!
//! A fault is started, held for a while, then healed ([`start`], [`heal`]).
//! The runner either runs one fault at a time (a majority stays reachable
//! between faults, so the workloads keep making progress) or, on overlap
//! seeds, starts a second fault on other members while the first is held.
//! Targets are chosen at injection time (e.g. "the leader"), so the log
//! records what really happened, with times from the run's clock.
//!
//! Crash faults and what they model:
//! - `Kill`: SIGKILL; the page cache keeps every write (a process crash).
//! - `Failpoint`: the member is restarted with `FAILPOINTS=<fp>=<n>*off->return`
//!   and aborts at the nth hit of a durability failpoint (before/after WAL
//!   fsync, before/after Raft save, before/after backend commit, before
//!   apply); then it is restarted without failpoints.
//! - `LoseUnsynced`: SIGKILL, then every WAL byte the member had not
//!   fsynced is zeroed, as after a machine crash (Jepsen's lazyfs). Members
//!   run with `ETCD_RS_TEST_WAL_SYNCED_MARK=1` (see `etcd_wal::test_knobs`),
//!   which keeps `member/wal.synced` = `<tail segment> <synced bytes>`.
//!   Only the WAL is emulated: the backend (redb) commits with fsync, so it
//!   has nothing un-fsynced to lose.
//! - `MajorityLoss`: one member is isolated for the hold; then all the
//!   others crash at once with `LoseUnsynced`, are restarted, and the
//!   partition heals. Every write acknowledged during the hold lives only on
//!   the crashed members, so this is where an ack before fsync shows.
//!
//! Membership faults go through the Cluster gRPC service: `Rejoin` removes a
//! member, re-adds a member with the same peer URL and restarts the slot on
//! a fresh data dir with `--initial-cluster-state existing`; `RejoinLearner`
//! re-adds it as a learner and promotes it once it is in sync.
//!
//! Anything that should work but did not (a restart that fails, a member
//! that exited by itself, a membership call refused for too long) is
//! returned as a problem for the run to report as a violation.

use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::cluster_client::ClusterClient;
use etcd_proto::etcdserverpb::{
    MemberAddRequest, MemberListRequest, MemberPromoteRequest, MemberRemoveRequest,
    MoveLeaderRequest,
};
use rand::rngs::StdRng;
use rand::Rng;

use super::common::cluster::proxy::Rule;
use super::common::cluster::Cluster;

/// Kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// SIGKILL, stay down for the hold time, restart.
    Kill,
    /// SIGSTOP, hold, SIGCONT.
    Pause,
    /// Cut a member off from the others (both directions).
    Isolate,
    /// Drop traffic from one member to another only.
    OneWay,
    /// Delay every link of a member.
    Delay,
    /// Silently discard a member's incoming and outgoing peer traffic.
    Blackhole,
    /// Move leadership to a follower (MoveLeader).
    MoveLeader,
    /// Abort at a durability failpoint, then restart.
    Failpoint,
    /// SIGKILL and lose the un-fsynced WAL tail, then restart.
    LoseUnsynced,
    /// Isolate one member, then crash all others losing un-fsynced data.
    MajorityLoss,
    /// Remove a member and add it back on a fresh data dir.
    Rejoin,
    /// Remove a member, add it back as a learner, promote it.
    RejoinLearner,
}

/// Every kind, for our server.
pub const ALL_KINDS: [FaultKind; 12] = [
    FaultKind::Kill,
    FaultKind::Pause,
    FaultKind::Isolate,
    FaultKind::OneWay,
    FaultKind::Delay,
    FaultKind::Blackhole,
    FaultKind::MoveLeader,
    FaultKind::Failpoint,
    FaultKind::LoseUnsynced,
    FaultKind::MajorityLoss,
    FaultKind::Rejoin,
    FaultKind::RejoinLearner,
];

/// Kinds that need our server (failpoints and the WAL synced mark).
pub fn ours_only(kind: FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::Failpoint | FaultKind::LoseUnsynced | FaultKind::MajorityLoss
    )
}

/// Kinds that may run as the second of two overlapping faults: ones that
/// touch only their own targets and need no quorum to be injected.
fn can_overlap(kind: FaultKind) -> bool {
    !matches!(
        kind,
        FaultKind::MajorityLoss
            | FaultKind::Rejoin
            | FaultKind::RejoinLearner
            | FaultKind::MoveLeader
    )
}

/// The durability failpoints of our server (crates/wal, raft-node,
/// backend, server apply), with how many hits to let pass at most: the
/// backend ones are hit once per batched commit (~100 ms), the others once
/// per Raft batch or applied entry.
const FAILPOINTS: [(&str, u32); 7] = [
    ("wal_before_fsync", 60),
    ("wal_after_fsync", 60),
    ("raft_before_save", 60),
    ("raft_after_save", 60),
    ("backend_before_commit", 8),
    ("backend_after_commit", 8),
    ("apply_before_request", 60),
];

/// How long a failpoint gets to fire after the hold before it counts as
/// not hit.
const FAILPOINT_GRACE: Duration = Duration::from_secs(5);
/// Upper bound on retrying one membership call (elections in between).
const MEMBERSHIP_RETRY: Duration = Duration::from_secs(15);
/// Upper bound on waiting for a learner to be in sync for promotion.
const PROMOTE_WITHIN: Duration = Duration::from_secs(30);

/// One injected fault, for the report.
#[derive(Clone, Debug)]
pub struct Injected {
    /// What.
    pub kind: FaultKind,
    /// On which member(s), and how it went.
    pub target: String,
    /// Start, in ns of the run clock.
    pub start_ns: u64,
    /// When it was healed.
    pub healed_ns: u64,
    /// Something that should have worked and did not.
    pub problems: Vec<String>,
}

impl std::fmt::Display for Injected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>7.3}s..{:>7.3}s {:?} {}",
            self.start_ns as f64 / 1e9,
            self.healed_ns as f64 / 1e9,
            self.kind,
            self.target
        )?;
        for p in &self.problems {
            write!(f, " [PROBLEM: {p}]")?;
        }
        Ok(())
    }
}

/// A fault started and not yet healed.
pub struct Active {
    kind: FaultKind,
    /// Members it touches (a second, overlapping fault avoids them).
    pub targets: Vec<usize>,
    desc: String,
    start_ns: u64,
    problems: Vec<String>,
    heal: Heal,
}

enum Heal {
    Nothing,
    Restart(Vec<usize>),
    Resume(usize),
    /// Set these directed links back to `Pass`.
    Links(Vec<(usize, usize)>),
    /// Wait for the failpoint to fire, then restart clean.
    Failpoint(usize),
    /// Crash `crash` losing un-fsynced data, restart them, heal `links`.
    MajorityLoss {
        crash: Vec<usize>,
        links: Vec<(usize, usize)>,
    },
}

/// One step of the schedule.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The fault.
    pub kind: FaultKind,
    /// Whether it aims at the leader.
    pub at_leader: bool,
    /// How long it is held.
    pub hold: Duration,
    /// Pause before it.
    pub gap: Duration,
    /// A second fault started `.1` into the hold, on other members.
    pub overlap: Option<(FaultKind, Duration)>,
}

/// Draws the next step from `kinds`; with probability `overlap_p` a second,
/// overlapping fault.
pub fn draw(rng: &mut StdRng, kinds: &[FaultKind], overlap_p: f64) -> Plan {
    let kind = kinds[rng.random_range(0..kinds.len())];
    let at_leader = rng.random_bool(0.5);
    let hold = Duration::from_millis(rng.random_range(500..2500));
    let gap = Duration::from_millis(rng.random_range(300..1500));
    let second: Vec<FaultKind> = kinds.iter().copied().filter(|&k| can_overlap(k)).collect();
    let overlap =
        (can_overlap(kind) && !second.is_empty() && rng.random_bool(overlap_p)).then(|| {
            let k = second[rng.random_range(0..second.len())];
            (k, hold.mul_f64(rng.random_range(0.1..0.7)))
        });
    Plan {
        kind,
        at_leader,
        hold,
        gap,
        overlap,
    }
}

/// Starts `kind`, aiming at none of `avoid`; returns what to heal later.
pub fn start(
    c: &mut Cluster,
    rng: &mut StdRng,
    kind: FaultKind,
    at_leader: bool,
    avoid: &[usize],
    now: &dyn Fn() -> u64,
) -> Active {
    let n = c.len();
    let leader = c.leader();
    let free: Vec<usize> = (0..n).filter(|i| !avoid.contains(i)).collect();
    let target = match (at_leader, leader) {
        (true, Some(l)) if !avoid.contains(&l) => l,
        _ => free[rng.random_range(0..free.len())],
    };
    let others: Vec<usize> = (0..n).filter(|&i| i != target).collect();
    let links = |a: &[usize], b: &[usize]| -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for &x in a {
            for &y in b {
                v.push((x, y));
                v.push((y, x));
            }
        }
        v
    };
    let start_ns = now();
    let mut problems = Vec::new();
    let (targets, desc, heal) = match kind {
        FaultKind::Kill => {
            c.kill9(target);
            (
                vec![target],
                format!("m{target}"),
                Heal::Restart(vec![target]),
            )
        }
        FaultKind::Pause => {
            c.pause(target);
            (vec![target], format!("m{target}"), Heal::Resume(target))
        }
        FaultKind::Isolate => {
            c.proxy().partition(&[target], &others);
            (
                vec![target],
                format!("m{target} | {others:?}"),
                Heal::Links(links(&[target], &others)),
            )
        }
        FaultKind::OneWay => {
            let to = others[rng.random_range(0..others.len())];
            c.proxy().one_way(target, to);
            (
                vec![target, to],
                format!("m{target} -x-> m{to}"),
                Heal::Links(vec![(target, to)]),
            )
        }
        FaultKind::Delay => {
            let d = Duration::from_millis(rng.random_range(20..200));
            c.proxy().set_between(&[target], &others, Rule::Delay(d));
            (
                vec![target],
                format!("m{target} links +{d:?}"),
                Heal::Links(links(&[target], &others)),
            )
        }
        FaultKind::Blackhole => {
            c.proxy().set_between(&[target], &others, Rule::Blackhole);
            (
                vec![target],
                format!("m{target} blackholed"),
                Heal::Links(links(&[target], &others)),
            )
        }
        FaultKind::MoveLeader => {
            let desc = match leader {
                Some(l) => {
                    let to = (l + 1 + rng.random_range(0..n - 1)) % n;
                    let id = c.member_id(to);
                    let mut m = c.maintenance(l);
                    let r = c.block_on(async move {
                        m.move_leader(MoveLeaderRequest { target_id: id }).await
                    });
                    format!(
                        "m{l} -> m{to} ({})",
                        if r.is_ok() { "ok" } else { "refused" }
                    )
                }
                None => "no leader".into(),
            };
            (vec![], desc, Heal::Nothing)
        }
        FaultKind::Failpoint => {
            let (fp, max) = FAILPOINTS[rng.random_range(0..FAILPOINTS.len())];
            let hits = rng.random_range(1..=max);
            let env = vec![("FAILPOINTS".to_string(), format!("{fp}={hits}*off->return"))];
            let up = c.try_restart_with(target, &env);
            let desc = format!(
                "m{target} {fp} after {hits} hits{}",
                if up.is_err() {
                    " (fired during start-up)"
                } else {
                    ""
                }
            );
            (vec![target], desc, Heal::Failpoint(target))
        }
        FaultKind::LoseUnsynced => {
            c.kill9(target);
            let lost = lose_unsynced(c, target).unwrap_or_else(|e| {
                problems.push(e.clone());
                0
            });
            (
                vec![target],
                format!("m{target} lost {lost} un-fsynced WAL bytes"),
                Heal::Restart(vec![target]),
            )
        }
        FaultKind::MajorityLoss => {
            // `target` is the survivor; with at_leader the leader crashes.
            let survivor = match (at_leader, leader) {
                (true, Some(l)) => (l + 1) % n,
                _ => target,
            };
            let crash: Vec<usize> = (0..n).filter(|&i| i != survivor).collect();
            c.proxy().partition(&[survivor], &crash);
            (
                (0..n).collect(),
                format!("m{survivor} isolated, then {crash:?} crash losing un-fsynced WAL data"),
                Heal::MajorityLoss {
                    links: links(&[survivor], &crash),
                    crash,
                },
            )
        }
        FaultKind::Rejoin | FaultKind::RejoinLearner => {
            let learner = kind == FaultKind::RejoinLearner;
            let desc = match rejoin(c, target, learner) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(e.clone());
                    format!("m{target}: {e}")
                }
            };
            (vec![target], desc, Heal::Nothing)
        }
    };
    Active {
        kind,
        targets,
        desc,
        start_ns,
        problems,
        heal,
    }
}

/// Heals `a`; returns the report line.
pub fn heal(c: &mut Cluster, a: Active, now: &dyn Fn() -> u64) -> Injected {
    let Active {
        kind,
        desc: mut target,
        start_ns,
        mut problems,
        heal,
        ..
    } = a;
    match heal {
        Heal::Nothing => {}
        Heal::Restart(ms) => {
            for m in ms {
                restart_or_note(c, m, &mut problems);
            }
        }
        Heal::Resume(m) => c.resume(m),
        Heal::Links(ls) => {
            for (from, to) in ls {
                c.proxy().set_rule(from, to, Rule::Pass);
            }
        }
        Heal::Failpoint(m) => {
            let fired = c.wait_exit(m, FAILPOINT_GRACE);
            target.push_str(if fired { ", fired" } else { ", not hit" });
            restart_or_note(c, m, &mut problems);
        }
        Heal::MajorityLoss { crash, links } => {
            for &m in &crash {
                c.kill9(m);
            }
            let mut lost = Vec::new();
            for &m in &crash {
                match lose_unsynced(c, m) {
                    Ok(b) => lost.push(b),
                    Err(e) => problems.push(e),
                }
            }
            target.push_str(&format!(" (lost bytes {lost:?})"));
            // Heal first: a restarting member is ready only once a quorum
            // has applied its publish, and the survivor is part of it.
            for (from, to) in links {
                c.proxy().set_rule(from, to, Rule::Pass);
            }
            for (m, e) in c.try_restart_all(&crash) {
                problems.push(format!("m{m} did not restart: {e}"));
                c.kill9(m);
            }
        }
    }
    Injected {
        kind,
        target,
        start_ns,
        healed_ns: now(),
        problems,
    }
}

/// Restarts member `m`; a failure becomes a problem and leaves it down.
pub fn restart_or_note(c: &mut Cluster, m: usize, problems: &mut Vec<String>) {
    if let Err(e) = c.try_restart_with(m, &[]) {
        problems.push(format!("m{m} did not restart: {e}"));
        c.kill9(m);
    }
}

/// Restarts every member that is down (it exited by itself, or an earlier
/// restart failed): each one is a problem, since between faults all
/// members should run.
pub fn revive_unexpected(c: &mut Cluster) -> Vec<String> {
    let mut problems = Vec::new();
    for m in 0..c.len() {
        if !c.is_running(m) {
            problems.push(format!("m{m} was not running between faults"));
            restart_or_note(c, m, &mut problems);
        }
    }
    problems
}

/// Zeroes member `m`'s WAL tail after its last fsynced offset (the member
/// must be dead). Returns how many non-zero bytes were lost.
pub fn lose_unsynced(c: &Cluster, m: usize) -> Result<u64, String> {
    let wal_dir = c.data_dir(m).join("member").join("wal");
    // etcd_wal::test_knobs::synced_mark_path: the `wal.synced` sibling.
    let mark_path = wal_dir.with_file_name("wal.synced");
    let text = std::fs::read_to_string(&mark_path)
        .map_err(|e| format!("m{m}: read {}: {e}", mark_path.display()))?;
    let mut it = text.split_whitespace();
    let (Some(name), Some(Ok(synced))) = (it.next(), it.next().map(str::parse::<u64>)) else {
        return Err(format!("m{m}: bad synced mark {text:?}"));
    };
    let seg = wal_dir.join(name);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&seg)
        .map_err(|e| format!("m{m}: open {}: {e}", seg.display()))?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    if synced >= len {
        return Ok(0);
    }
    let mut tail = vec![0u8; usize::try_from(len - synced).expect("segment fits in memory")];
    f.read_exact_at(&mut tail, synced)
        .map_err(|e| format!("m{m}: read {}: {e}", seg.display()))?;
    let lost = tail
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |p| p as u64 + 1);
    // Truncate and re-extend: the lost range reads back as zeros, like the
    // preallocated space it was written into.
    f.set_len(synced)
        .and_then(|()| f.set_len(len))
        .map_err(|e| format!("m{m}: truncate {}: {e}", seg.display()))?;
    Ok(lost)
}

/// Runs a membership call against the members in turn (leader first)
/// until one answers or [`MEMBERSHIP_RETRY`] passes.
fn membership<T, F, Fut>(c: &mut Cluster, what: &str, call: F) -> Result<T, String>
where
    F: Fn(ClusterClient<tonic::transport::Channel>) -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let deadline = Instant::now() + MEMBERSHIP_RETRY;
    let mut last = String::new();
    while Instant::now() < deadline {
        let order: Vec<usize> = c.leader().into_iter().chain(c.live()).collect();
        for i in order {
            let client = ClusterClient::new(c.channel(i));
            match c.block_on(call(client)) {
                Ok(v) => return Ok(v),
                Err(e) => last = format!("{} ({:?})", e.message(), e.code()),
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "{what} not accepted within {MEMBERSHIP_RETRY:?}: {last}"
    ))
}

/// Removes slot `t`'s member, adds it back (as a learner if asked) under a
/// new id, restarts the slot fresh, and promotes a learner once in sync.
fn rejoin(c: &mut Cluster, t: usize, learner: bool) -> Result<String, String> {
    let old = c.member_id(t);
    membership(c, "MemberRemove", |mut cl| async move {
        match cl.member_remove(MemberRemoveRequest { id: old }).await {
            // An earlier attempt that timed out may have done it.
            Err(e) if e.message().contains("member not found") => Ok(()),
            r => r.map(|_| ()),
        }
    })?;
    // A removed member stops by itself; a dead one is fine too.
    c.wait_exit(t, Duration::from_secs(3));
    let url = c.peer_url(t);
    let added = membership(c, "MemberAdd", |mut cl| {
        let url = url.clone();
        async move {
            let req = MemberAddRequest {
                peer_ur_ls: vec![url.clone()],
                is_learner: learner,
            };
            match cl.member_add(req).await {
                Ok(r) => Ok(r.into_inner().member.map(|m| m.id)),
                // An earlier attempt that timed out may have done it.
                Err(e) if e.message().contains("already exists") => {
                    let list = cl.member_list(MemberListRequest {}).await?.into_inner();
                    Ok(list
                        .members
                        .iter()
                        .find(|m| m.peer_ur_ls.contains(&url))
                        .map(|m| m.id))
                }
                Err(e) => Err(e),
            }
        }
    })?;
    let new_id = added.ok_or("MemberAdd answered without a member")?;
    c.rejoin_fresh(t, new_id)
        .map_err(|e| format!("re-added m{t} did not start: {e}"))?;
    if !learner {
        return Ok(format!("m{t} removed, re-added as {new_id:x}"));
    }
    let deadline = Instant::now() + PROMOTE_WITHIN;
    let mut last = String::new();
    while Instant::now() < deadline {
        let r = membership(c, "MemberPromote", |mut cl| async move {
            cl.member_promote(MemberPromoteRequest { id: new_id }).await
        });
        match r {
            Ok(_) => {
                return Ok(format!(
                    "m{t} removed, re-added as learner {new_id:x}, promoted"
                ))
            }
            Err(e) => last = e,
        }
    }
    Err(format!(
        "learner m{t} ({new_id:x}) not promoted within {PROMOTE_WITHIN:?}: {last}"
    ))
}
