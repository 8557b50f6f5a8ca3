//! The seeded fault schedule and its injection into a [`Cluster`].
//!
//! A schedule is a list of faults, each held for a while and then healed
//! before the next starts (one fault at a time keeps a majority reachable
//! between faults, so the workloads keep making progress). Targets are
//! chosen at injection time (e.g. "the leader"), so the log records what
//! really happened, with times from the run's clock.

use std::time::Duration;

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
}

const KINDS: [FaultKind; 7] = [
    FaultKind::Kill,
    FaultKind::Pause,
    FaultKind::Isolate,
    FaultKind::OneWay,
    FaultKind::Delay,
    FaultKind::Blackhole,
    FaultKind::MoveLeader,
];

/// One injected fault, for the report.
#[derive(Clone, Debug)]
pub struct Injected {
    /// What.
    pub kind: FaultKind,
    /// On which member(s).
    pub target: String,
    /// Start, in ns of the run clock.
    pub start_ns: u64,
    /// When it was healed.
    pub healed_ns: u64,
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
        )
    }
}

/// Draws the next fault: kind, whether it aims at the leader, hold time,
/// pause before it.
pub fn draw(rng: &mut StdRng) -> (FaultKind, bool, Duration, Duration) {
    let kind = KINDS[rng.random_range(0..KINDS.len())];
    let at_leader = rng.random_bool(0.5);
    let hold = Duration::from_millis(rng.random_range(500..2500));
    let gap = Duration::from_millis(rng.random_range(300..1500));
    (kind, at_leader, hold, gap)
}

/// Injects `kind`, waits `hold`, heals; returns what was done. `now` reads
/// the run clock.
pub fn inject(
    c: &mut Cluster,
    rng: &mut StdRng,
    kind: FaultKind,
    at_leader: bool,
    hold: Duration,
    now: &dyn Fn() -> u64,
) -> Injected {
    let n = c.len();
    let leader = c.leader();
    let target = match (at_leader, leader) {
        (true, Some(l)) => l,
        _ => rng.random_range(0..n),
    };
    let others: Vec<usize> = (0..n).filter(|&i| i != target).collect();
    let start_ns = now();
    let desc;
    match kind {
        FaultKind::Kill => {
            desc = format!("m{target}");
            c.kill9(target);
            std::thread::sleep(hold);
            c.restart(target);
        }
        FaultKind::Pause => {
            desc = format!("m{target}");
            c.pause(target);
            std::thread::sleep(hold);
            c.resume(target);
        }
        FaultKind::Isolate => {
            desc = format!("m{target} | {others:?}");
            c.proxy().partition(&[target], &others);
            std::thread::sleep(hold);
            c.proxy().heal_all();
        }
        FaultKind::OneWay => {
            let to = others[rng.random_range(0..others.len())];
            desc = format!("m{target} -x-> m{to}");
            c.proxy().one_way(target, to);
            std::thread::sleep(hold);
            c.proxy().heal_all();
        }
        FaultKind::Delay => {
            let d = Duration::from_millis(rng.random_range(20..200));
            desc = format!("m{target} links +{d:?}");
            c.proxy().set_between(&[target], &others, Rule::Delay(d));
            std::thread::sleep(hold);
            c.proxy().heal_all();
        }
        FaultKind::Blackhole => {
            desc = format!("m{target} blackholed");
            c.proxy().set_between(&[target], &others, Rule::Blackhole);
            std::thread::sleep(hold);
            c.proxy().heal_all();
        }
        FaultKind::MoveLeader => {
            desc = match leader {
                Some(l) => {
                    let to = (l + 1 + rng.random_range(0..n - 1)) % n;
                    let id = c.member_id(to);
                    let mut m = c.maintenance(l);
                    let r = c.block_on(async move {
                        m.move_leader(etcd_proto::etcdserverpb::MoveLeaderRequest { target_id: id })
                            .await
                    });
                    format!(
                        "m{l} -> m{to} ({})",
                        if r.is_ok() { "ok" } else { "refused" }
                    )
                }
                None => "no leader".into(),
            };
            std::thread::sleep(hold);
        }
    }
    Injected {
        kind,
        target: desc,
        start_ns,
        healed_ns: now(),
    }
}
