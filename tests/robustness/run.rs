//! One robustness run: a seed → cluster, workloads, fault schedule, final
//! convergence, checks, and a report that replays with `ETCD_RS_SEED`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_checker::{
    check_appends, check_leases, check_linearizable, check_locks, check_watches, Bounds, Input,
    LeaseLog, LinearizabilityReport, LockHold, Outcome, Output, Recorder, Violation, WatcherLog,
};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::common::cluster::{Cluster, ClusterOpts};
use super::faults::{self, FaultKind, Injected};
use super::workload::append::{self, AppendLog};
use super::workload::{self, Ctx};

/// How long after healing watchers get to deliver the sentinel.
const WATCH_CATCH_UP: Duration = Duration::from_secs(30);
/// How long members get to agree on applied index and HashKV.
const CONVERGE: Duration = Duration::from_secs(30);
/// Both waits once the run has already failed (e.g. a member did not come
/// back): the rest only adds detail, so it need not take long.
const WAIT_WHEN_FAILED: Duration = Duration::from_secs(5);
/// Allowed time between a lease's latest expiry and its key's removal
/// (the leader checks every 500 ms, then revokes through Raft).
const LEASE_SLACK: Duration = Duration::from_secs(3);

/// What one run does.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The seed (fault schedule, workload choices).
    pub seed: u64,
    /// How long the workloads and faults run.
    pub workload: Duration,
    /// Extra member environment (e.g. the stale-reads knob).
    pub envs: Vec<(String, String)>,
    /// Cluster size.
    pub members: usize,
    /// Chance that a step overlaps a second fault (0: one at a time).
    pub overlap_p: f64,
    /// Fault kinds to draw from (those needing our server are dropped when
    /// the harness runs the real etcd).
    pub kinds: Vec<FaultKind>,
    /// `--snapshot-count` (small, to stress snapshots).
    pub snapshot_count: u64,
}

impl RunConfig {
    /// The configuration a seed replays with: every fault kind; 5 members
    /// when `seed % 3 == 0`, else 3; overlapping faults when `seed` is even.
    pub fn for_seed(seed: u64, workload: Duration) -> RunConfig {
        RunConfig {
            seed,
            workload,
            envs: vec![],
            members: if seed % 3 == 0 { 5 } else { 3 },
            overlap_p: if seed % 2 == 0 { 0.4 } else { 0.0 },
            kinds: faults::ALL_KINDS.to_vec(),
            snapshot_count: 100,
        }
    }
}

/// What one run found.
pub struct RunResult {
    /// The seed.
    pub seed: u64,
    /// Faults injected, in order.
    pub faults: Vec<Injected>,
    /// KV ops recorded, and how many had an unknown outcome.
    pub ops: (usize, usize),
    /// Linearizability verdict.
    pub linearizability: LinearizabilityReport,
    /// Every other broken guarantee.
    pub violations: Vec<Violation>,
    /// Watch events, leases, lock holds checked.
    pub counts: (usize, usize, usize),
    /// Wall time of the workload phase.
    pub fault_secs: f64,
    /// Tails of the member logs (kept for failure reports).
    pub logs: String,
    /// Cluster size and overlap chance, for the summary.
    pub shape: (usize, f64),
    /// The list-append check's one-line summary (its anomalies are among
    /// `violations`).
    pub append: String,
}

impl RunResult {
    /// Whether any checker failed.
    pub fn failed(&self) -> bool {
        !self.linearizability.ok() || !self.violations.is_empty()
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        format!(
            "seed {}: {} members, overlap {:.1}, {:.0}s, {} faults, {} kv ops ({} unknown), {} groups ({} inconclusive), {} watch events, {} leases, {} lock holds, {}: {}",
            self.seed,
            self.shape.0,
            self.shape.1,
            self.fault_secs,
            self.faults.len(),
            self.ops.0,
            self.ops.1,
            self.linearizability.groups.len(),
            self.linearizability.inconclusive().len(),
            self.counts.0,
            self.counts.1,
            self.counts.2,
            self.append,
            if self.failed() { "FAILED" } else { "ok" }
        )
    }

    /// The full report: seed, schedule, smallest failing history, violations.
    pub fn render(&self) -> String {
        let mut s = format!("{}\nreplay: ETCD_RS_SEED={} cargo nextest run -p etcd-rs --test robustness\nfault schedule:\n", self.summary(), self.seed);
        for f in &self.faults {
            s.push_str(&format!("  {f}\n"));
        }
        s.push_str(&self.linearizability.render());
        for v in self.violations.iter().take(20) {
            s.push_str(&format!("{v}\n"));
        }
        if self.violations.len() > 20 {
            s.push_str(&format!(
                "... and {} more violations\n",
                self.violations.len() - 20
            ));
        }
        s
    }
}

/// Runs one seed end to end.
pub fn run_seed(cfg: &RunConfig) -> RunResult {
    let ours = !super::common::testing_external_server();
    let mut envs = cfg.envs.clone();
    let mut kinds = cfg.kinds.clone();
    if ours {
        envs.push(("ETCD_RS_TEST_WAL_SYNCED_MARK".into(), "1".into()));
    } else {
        kinds.retain(|&k| !faults::ours_only(k));
    }
    assert!(!kinds.is_empty(), "no fault kind left to draw");
    let opts = ClusterOpts {
        args: vec!["--snapshot-count".into(), cfg.snapshot_count.to_string()],
        envs,
        ..Default::default()
    };
    let mut c = Cluster::start(cfg.members, opts);
    let leader = c.wait_leader(Duration::from_secs(20));
    let start_rev = c
        .put(leader, "setup", "x")
        .unwrap_or_else(|e| panic!("setup put: {e:?}\n{}", c.logs()))
        .header
        .map_or(0, |h| h.revision)
        + 1;
    let rec = Arc::new(Recorder::new());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("robustness-client")
        .enable_all()
        .build()
        .expect("workload runtime");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (watch_stop_tx, watch_stop_rx) = tokio::sync::watch::channel(false);
    let ctx = Ctx {
        rec: rec.clone(),
        urls: c.client_urls(),
        stop: stop_rx,
    };
    let wctx = Ctx {
        stop: watch_stop_rx,
        ..ctx.clone()
    };
    let mut clients = Vec::new();
    for i in 0..3u32 {
        clients.push(rt.spawn(workload::register_client(
            ctx.clone(),
            i,
            cfg.seed * 1000 + u64::from(i),
        )));
    }
    clients.push(rt.spawn(workload::txn_client(ctx.clone(), 10)));
    let leases: Arc<Mutex<Vec<LeaseLog>>> = Arc::default();
    clients.push(rt.spawn(workload::lease_client(
        ctx.clone(),
        cfg.seed * 1000 + 500,
        leases.clone(),
    )));
    let holds: Arc<Mutex<Vec<LockHold>>> = Arc::default();
    for i in 20..22u32 {
        clients.push(rt.spawn(workload::lock_client(ctx.clone(), i, holds.clone())));
    }
    let appends: Arc<AppendLog> = Arc::default();
    for i in 30..32u32 {
        clients.push(rt.spawn(append::append_client(
            ctx.clone(),
            i,
            cfg.seed * 1000 + u64::from(i),
            appends.clone(),
        )));
    }
    let mut watchers = Vec::new();
    let mut background = Vec::new();
    for m in 0..c.len() {
        let log = Arc::new(Mutex::new(WatcherLog {
            name: format!("watcher@m{m}"),
            prefix: workload::KV_PREFIX.into(),
            start_rev,
            ..Default::default()
        }));
        watchers.push(log.clone());
        background.push(rt.spawn(workload::watcher(wctx.clone(), m, start_rev, log)));
    }
    let terms: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    background.push(rt.spawn(workload::term_tracker(wctx.clone(), terms.clone())));

    // Faults, one at a time, until the workload time is up.
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let started = Instant::now();
    let deadline = started + cfg.workload;
    let clock = rec.clone();
    let now = move || clock.clock().now_ns();
    let mut injected: Vec<Injected> = Vec::new();
    let mut violations = Vec::new();
    loop {
        let plan = faults::draw(&mut rng, &kinds, cfg.overlap_p);
        std::thread::sleep(plan.gap);
        if Instant::now() + plan.hold >= deadline {
            break;
        }
        for p in faults::revive_unexpected(&mut c) {
            violations.push(Violation::new("fault", p));
        }
        let first = faults::start(&mut c, &mut rng, plan.kind, plan.at_leader, &[], &now);
        let second = match plan.overlap {
            Some((kind, after)) if first.targets.len() < c.len() => {
                std::thread::sleep(after);
                let avoid = first.targets.clone();
                let at_leader = rng.random_bool(0.5);
                Some((
                    faults::start(&mut c, &mut rng, kind, at_leader, &avoid, &now),
                    after,
                ))
            }
            _ => None,
        };
        std::thread::sleep(plan.hold - second.as_ref().map_or(Duration::ZERO, |s| s.1));
        injected.push(faults::heal(&mut c, first, &now));
        if let Some((s, _)) = second {
            injected.push(faults::heal(&mut c, s, &now));
        }
    }
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
    let fault_secs = started.elapsed().as_secs_f64();
    c.proxy().heal_all();
    for f in &injected {
        for p in &f.problems {
            violations.push(Violation::new("fault", format!("{f}: {p}")));
        }
    }
    for p in faults::revive_unexpected(&mut c) {
        violations.push(Violation::new("fault", p));
    }
    let healed_ns = now();
    let _ = stop_tx.send(true);
    rt.block_on(async {
        for t in clients {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
    });

    // The sentinel, written last and recorded like any put.
    let leader = wait_leader(&mut c, Duration::from_secs(30)).unwrap_or_else(|| {
        violations.push(Violation::new(
            "liveness",
            "no leader within 30s of healing".into(),
        ));
        0
    });
    let sentinel_rev = rt.block_on(async {
        let mut kv = KvClient::new(workload::channel(
            &ctx.urls[leader],
            Some(workload::OP_TIMEOUT),
        ));
        for _ in 0..20 {
            let input = Input::Put {
                key: workload::SENTINEL.into(),
                value: "end".into(),
            };
            let p = rec.invoke(99, input.clone());
            let out = workload::execute(&mut kv, &input).await;
            let rev = match out {
                Outcome::Ok(Output::Put { rev }) => Some(rev),
                _ => None,
            };
            rec.complete(p, out);
            if rev.is_some() {
                return rev;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        None
    });
    match sentinel_rev {
        None => violations.push(Violation::new(
            "liveness",
            "no sentinel put succeeded after healing".into(),
        )),
        Some(rev) => {
            let catch_up = if violations.is_empty() {
                WATCH_CATCH_UP
            } else {
                WAIT_WHEN_FAILED
            };
            let until = Instant::now() + catch_up;
            for w in &watchers {
                while Instant::now() < until
                    && !w.lock().unwrap().events.iter().any(|e| e.rev >= rev)
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let mut l = w.lock().unwrap();
                if l.events.iter().any(|e| e.rev >= rev) {
                    l.caught_up_rev = rev;
                } else {
                    violations.push(Violation::new("watch-liveness", format!("{} did not reach the sentinel at rev {rev} within {catch_up:?} of healing", l.name)));
                }
            }
        }
    }

    // Every acknowledged append must show in a read after healing.
    if sentinel_rev.is_some() && !rt.block_on(append::append_final_read(&ctx, &appends, leader)) {
        violations.push(Violation::new(
            "liveness",
            "no final read of the append keys succeeded after healing".into(),
        ));
    }

    // Leases: wait out the latest possible expiry, then read every key.
    let disturbed = |terms: &Mutex<Vec<(u64, u64)>>| {
        terms
            .lock()
            .unwrap()
            .last()
            .map_or(0, |t| t.0)
            .max(healed_ns)
    };
    let expiry_ns = disturbed(&terms)
        + workload::LEASE_TTL_S as u64 * 1_000_000_000
        + LEASE_SLACK.as_nanos() as u64;
    let wait_ns = expiry_ns.saturating_sub(now()) + 500_000_000;
    std::thread::sleep(Duration::from_nanos(wait_ns));
    rt.block_on(async {
        let mut kv = KvClient::new(workload::channel(
            &ctx.urls[leader],
            Some(workload::OP_TIMEOUT),
        ));
        workload::read_back_leases(&wctx, &mut kv, &leases, usize::MAX).await;
    });
    let _ = watch_stop_tx.send(true);
    rt.block_on(async {
        for t in background {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    });
    let disturbed_until = disturbed(&terms);
    drop(rt);

    // All members end with the same applied index and HashKV.
    let converge_within = if violations.is_empty() {
        CONVERGE
    } else {
        WAIT_WHEN_FAILED
    };
    if let Err(e) = converge(&mut c, converge_within) {
        violations.push(Violation::new("hashkv", e));
    }

    let ops = rec.ops();
    let unknown = ops.iter().filter(|o| o.outcome == Outcome::Unknown).count();
    let linearizability = check_linearizable(&ops, Bounds::default()).expect("well-formed history");
    let watcher_logs: Vec<WatcherLog> =
        watchers.iter().map(|w| w.lock().unwrap().clone()).collect();
    violations.extend(check_watches(&watcher_logs, &ops));
    let leases = leases.lock().unwrap().clone();
    violations.extend(check_leases(
        &leases,
        disturbed_until,
        LEASE_SLACK.as_nanos() as u64,
    ));
    let holds = holds.lock().unwrap().clone();
    violations.extend(check_locks(&holds));
    let append_report = check_appends(&appends.txns()).expect("well-formed append history");
    violations.extend(append_report.violations());
    let result = RunResult {
        seed: cfg.seed,
        faults: injected,
        ops: (ops.len(), unknown),
        linearizability,
        violations,
        counts: (
            watcher_logs.iter().map(|w| w.events.len()).sum(),
            leases.len(),
            holds.len(),
        ),
        fault_secs,
        logs: c.logs(),
        shape: (cfg.members, cfg.overlap_p),
        append: append_report.summary(),
    };
    result
}

/// Polls for a leader a majority agrees on; None after `timeout`.
fn wait_leader(c: &mut Cluster, timeout: Duration) -> Option<usize> {
    let until = Instant::now() + timeout;
    loop {
        if let Some(l) = c.leader() {
            return Some(l);
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls until every member reports the same applied index and HashKV.
fn converge(c: &mut Cluster, within: Duration) -> Result<(), String> {
    let all: Vec<usize> = (0..c.len()).collect();
    let until = Instant::now() + within;
    loop {
        let applied: Vec<Option<u64>> = c
            .statuses(&all)
            .iter()
            .map(|s| s.as_ref().map(|s| s.raft_applied_index))
            .collect();
        let hashes = c.hash_kv_all();
        if applied.iter().all(|a| a.is_some() && *a == applied[0])
            && hashes.iter().all(|h| h.is_some() && *h == hashes[0])
        {
            return Ok(());
        }
        if Instant::now() >= until {
            return Err(format!("members did not converge within {within:?}: applied {applied:?}, hash_kv {hashes:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
