//! Crash safety: a single client writes one acknowledged put at a time while
//! the server dies (SIGKILL at a random moment, or a failpoint that aborts
//! the process on its nth hit); after a restart on the same data dir:
//!
//! - every acknowledged put is present with its value and the revision the
//!   put response reported (etcd fsyncs the WAL before acknowledging);
//! - acknowledged revisions are consecutive: the only writer is this client and
//!   every put takes exactly one revision;
//! - the one put in flight at the crash (sent, never acknowledged) is either
//!   absent, or present at exactly last-acknowledged + 1;
//! - the store revision is last-acknowledged (+1 if the in-flight put landed),
//!   and no key exists that was never sent.
//!
//! SIGKILL only kills the process, so the OS page cache survives: this checks
//! the ordering "durable before acknowledged" and crash recovery (torn WAL tail,
//! replay from the backend's consistent index), not power loss.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{PutRequest, RangeRequest};
use rand::Rng;

/// Upper bound on puts per round.
const MAX_PUTS_PER_ROUND: usize = 5_000;
/// Upper bound on one round's writing.
const WRITE_TIME_MAX: Duration = Duration::from_secs(30);
/// Upper bound on one put; a live server answers far sooner.
const PUT_TIMEOUT: Duration = Duration::from_secs(5);
/// Key prefix of everything this test writes.
const PREFIX: &str = "crash/";

/// One acknowledged put.
#[derive(Debug, Clone)]
struct Acked {
    key: String,
    value: String,
    revision: i64,
}

/// What a writer saw in one round.
#[derive(Debug, Default)]
struct WriteLog {
    acked: Vec<Acked>,
    /// The put sent but never acknowledged (at most one: puts are sequential).
    in_flight: Option<(String, String)>,
    /// Why the writer stopped (None: it hit its count or time bound).
    error: Option<String>,
}

fn key(round: usize, i: usize) -> String {
    format!("{PREFIX}r{round:02}/{i:06}")
}

/// Sequential puts until the first error or a bound; `progress` counts acks.
async fn write_until_error(url: String, round: usize, progress: Arc<AtomicUsize>) -> WriteLog {
    let mut log = WriteLog::default();
    let mut kv = match KvClient::connect(url).await {
        Ok(kv) => kv,
        Err(e) => {
            log.error = Some(format!("connect: {e}"));
            return log;
        }
    };
    let deadline = Instant::now() + WRITE_TIME_MAX;
    for i in 0..MAX_PUTS_PER_ROUND {
        if Instant::now() >= deadline {
            break;
        }
        let (k, v) = (key(round, i), format!("value-{round}-{i}"));
        let mut req = tonic::Request::new(PutRequest {
            key: k.clone().into_bytes(),
            value: v.clone().into_bytes(),
            ..Default::default()
        });
        req.set_timeout(PUT_TIMEOUT);
        log.in_flight = Some((k.clone(), v.clone()));
        match kv.put(req).await {
            Ok(resp) => {
                let revision = resp.into_inner().header.expect("header").revision;
                log.in_flight = None;
                log.acked.push(Acked { key: k, value: v, revision });
                progress.fetch_add(1, Ordering::SeqCst);
            }
            Err(status) => {
                log.error = Some(format!("{status:?}"));
                return log;
            }
        }
    }
    log
}

/// Everything under [`PREFIX`] and the store revision.
async fn read_all(url: String) -> (BTreeMap<String, (String, i64)>, i64) {
    let mut kv = KvClient::connect(url).await.expect("connect after restart");
    let resp = kv
        .range(RangeRequest {
            key: PREFIX.as_bytes().to_vec(),
            range_end: b"crash0".to_vec(), // '/' + 1
            ..Default::default()
        })
        .await
        .expect("range after restart")
        .into_inner();
    let map = resp
        .kvs
        .into_iter()
        .map(|kv| {
            (
                String::from_utf8(kv.key).expect("utf8 key"),
                (String::from_utf8(kv.value).expect("utf8 value"), kv.mod_revision),
            )
        })
        .collect();
    (map, resp.header.expect("header").revision)
}

/// The checker's model of what must be stored.
#[derive(Default)]
struct Model {
    /// key -> (value, mod revision) for every put known to be applied.
    applied: BTreeMap<String, (String, i64)>,
    /// The store revision known after the last check (1 for a fresh store).
    revision: i64,
}

impl Model {
    fn new() -> Model {
        Model { applied: BTreeMap::new(), revision: 1 }
    }

    /// Checks one round's log against the restarted server and folds it in.
    fn check_round(&mut self, p: &EtcdProcess, rt: &tokio::runtime::Runtime, log: &WriteLog) {
        // Acked revisions continue the store revision with no gap.
        let mut expect_rev = self.revision + 1;
        for a in &log.acked {
            assert_eq!(a.revision, expect_rev, "acked revisions must be consecutive: {a:?}");
            expect_rev += 1;
        }
        let last_acked = expect_rev - 1;
        let (stored, store_rev) = rt.block_on(read_all(p.client_url()));
        for a in &log.acked {
            self.applied.insert(a.key.clone(), (a.value.clone(), a.revision));
        }
        // The in-flight put: absent, or applied at exactly last_acked + 1.
        let mut revision = last_acked;
        if let Some((k, v)) = &log.in_flight {
            match stored.get(k) {
                None => {}
                Some(found) => {
                    assert_eq!(found, &(v.clone(), last_acked + 1), "in-flight put {k} landed wrongly");
                    self.applied.insert(k.clone(), found.clone());
                    revision = last_acked + 1;
                }
            }
        }
        eprintln!("  in-flight put landed: {}", revision > last_acked);
        assert_eq!(store_rev, revision, "store revision after restart (last acked {last_acked})");
        for (k, want) in &self.applied {
            assert_eq!(stored.get(k), Some(want), "acknowledged put {k} lost or changed");
        }
        let extra: Vec<&String> = stored.keys().filter(|k| !self.applied.contains_key(*k)).collect();
        assert!(extra.is_empty(), "keys that were never acknowledged nor in flight: {extra:?}");
        self.revision = revision;
    }
}

/// SIGKILL at a random moment while writing, restart, check; a few rounds.
#[test]
fn sigkill_during_sequential_puts() {
    const ROUNDS: usize = 3;
    let mut rng = rand::rng();
    let rt = common::runtime();
    let mut p = EtcdProcess::start(EtcdOpts::default());
    let mut model = Model::new();
    for round in 0..ROUNDS {
        let progress = Arc::new(AtomicUsize::new(0));
        let writer = rt.spawn(write_until_error(p.client_url(), round, progress.clone()));
        // A random moment: after a random number of acks plus a random delay
        // shorter than a typical put, so the kill lands at any point of one.
        let target = rng.random_range(10..120usize);
        let delay = Duration::from_micros(rng.random_range(0..3_000));
        let reached = common::wait_until(Duration::from_secs(20), || {
            progress.load(Ordering::SeqCst) >= target || writer.is_finished()
        });
        assert!(reached, "round {round}: writer made no progress");
        assert!(!writer.is_finished(), "round {round}: writer stopped before the kill");
        std::thread::sleep(delay); // fault injection timing, not synchronisation
        p.kill9();
        let log = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(20), writer).await })
            .expect("writer stops after the kill")
            .expect("writer task");
        assert!(log.error.is_some(), "round {round}: writer ended without seeing the crash");
        eprintln!(
            "round {round}: killed after {} acked puts (+{delay:?}), in flight: {:?}",
            log.acked.len(),
            log.in_flight.as_ref().map(|(k, _)| k)
        );
        p.restart();
        model.check_round(&p, &rt, &log);
    }
    // The store keeps working after the last recovery.
    let out = p.etcdctl(&["put", "after", "crash"]).ok();
    assert_eq!(out.stdout, "OK\n");
    let out = p.etcdctl(&["get", "after", "-w", "json"]).ok();
    assert!(out.stdout.contains(&format!("\"revision\":{},", model.revision + 1)), "{out:#?}");
}

/// Failpoint crash: our binary only (the real etcd has no such failpoints).
/// The server starts with `FAILPOINTS=<name>=<n>*off->return`, so the nth hit
/// of the failpoint ends the process; the client writes until it dies, then
/// the server restarts without failpoints and the data is checked as above.
fn failpoint_crash(name: &str) {
    if common::testing_external_server() {
        eprintln!(
            "skipping failpoint {name}: {} is set; failpoints exist only in our binary",
            common::SERVER_ENV
        );
        return;
    }
    let mut rng = rand::rng();
    // The WAL failpoints are hit once per Raft batch; the backend ones once
    // per batched commit (every 100 ms), far fewer times in one round.
    let n: u32 = if name.starts_with("backend_") { rng.random_range(2..12) } else { rng.random_range(5..40) };
    let rt = common::runtime();
    let opts = EtcdOpts {
        envs: vec![("FAILPOINTS".to_string(), format!("{name}={n}*off->return"))],
        ..EtcdOpts::default()
    };
    let mut p = EtcdProcess::start_no_wait(opts);
    // Either the server becomes ready, or the failpoint already fired during
    // start-up (it may be hit by bootstrap entries too).
    let up = common::wait_until(common::START_TIMEOUT, || {
        !p.is_running() || (p.current_log().contains(common::READY_LINE) && p.healthy())
    });
    assert!(up, "failpoint {name}={n}: server neither ready nor dead\n{}", p.log());
    let log = if p.is_running() {
        let progress = Arc::new(AtomicUsize::new(0));
        rt.block_on(write_until_error(p.client_url(), 0, progress))
    } else {
        WriteLog::default()
    };
    p.wait_exit(Duration::from_secs(20));
    assert!(
        !p.is_running(),
        "failpoint {name}={n} never ended the process ({} puts acked)\n{}",
        log.acked.len(),
        p.log()
    );
    let status = p.last_exit().expect("exit status of a process that ended by itself");
    assert!(!status.success(), "failpoint {name}={n}: the process exited cleanly\n{}", p.log());
    eprintln!(
        "failpoint {name}={n}: process ended ({status:?}) after {} acked puts, in flight: {:?}",
        log.acked.len(),
        log.in_flight.as_ref().map(|(k, _)| k)
    );
    p.restart_with_envs(Vec::new());
    let mut model = Model::new();
    model.check_round(&p, &rt, &log);
    let out = p.etcdctl(&["put", "after", "crash"]).ok();
    assert_eq!(out.stdout, "OK\n");
}

#[test]
fn failpoint_wal_before_fsync() {
    failpoint_crash("wal_before_fsync");
}

#[test]
fn failpoint_wal_after_fsync() {
    failpoint_crash("wal_after_fsync");
}

#[test]
fn failpoint_backend_before_commit() {
    failpoint_crash("backend_before_commit");
}

#[test]
fn failpoint_backend_after_commit() {
    failpoint_crash("backend_after_commit");
}
