//! `benchmark` against a live server: every subcommand runs with a tiny
//! `--total`, prints etcd's report layout and ends with the JSON line; `put`
//! and `txn-put` move the store revision (and the server's own
//! `etcd_mvcc_put_total`) by exactly what they report.
//!
//! Runs against our server, or the real etcd with `ETCD_RS_TEST_ETCD=/usr/bin/etcd`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{EtcdOpts, EtcdProcess};

/// Upper bound for one benchmark run.
const BENCH_TIMEOUT: Duration = Duration::from_secs(90);

struct Run {
    stdout: String,
    stderr: String,
    ok: bool,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        let last = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last:?}\n{}", self.stdout))
    }

    fn report_ok(&self, i: usize) -> u64 {
        self.json()["reports"][i]["ok"].as_u64().expect("ok count")
    }
}

fn bench(p: &EtcdProcess, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_benchmark"))
        .arg(format!("--endpoints={}", p.endpoint()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawn benchmark");
    let deadline = Instant::now() + BENCH_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("benchmark {args:?} did not finish within {BENCH_TIMEOUT:?}");
        }
        std::thread::sleep(common::POLL_INTERVAL);
    };
    let run = Run {
        stdout: std::fs::read_to_string(out).unwrap(),
        stderr: std::fs::read_to_string(err).unwrap(),
        ok: status.success(),
    };
    if !run.ok {
        eprintln!("benchmark {args:?} failed:\n{}\n{}", run.stdout, run.stderr);
    }
    run
}

fn revision(p: &EtcdProcess) -> i64 {
    let out = p.etcdctl(&["get", "benchmark-probe", "-w", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    v["header"]["revision"].as_i64().expect("revision")
}

/// The value of an unlabelled series from the server's /metrics.
fn metric(p: &EtcdProcess, name: &str) -> f64 {
    let mut s = TcpStream::connect(("127.0.0.1", p.client_port())).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read metrics");
    raw.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

/// etcd's report layout: every heading, in order, and 11 histogram rows.
fn assert_summary(text: &str) {
    let headings = [
        "\nSummary:\n",
        "  Total:\t",
        "  Slowest:\t",
        "  Fastest:\t",
        "  Average:\t",
        "  Stddev:\t",
        "  Requests/sec:\t",
        "\nResponse time histogram:\n",
        "\nLatency distribution:\n",
    ];
    let mut at = 0;
    for h in headings {
        let found = text[at..]
            .find(h)
            .unwrap_or_else(|| panic!("{h:?} missing (in order) from:\n{text}"));
        at += found + h.len();
    }
    let secs = text.lines().find(|l| l.starts_with("  Total:\t")).unwrap();
    assert!(secs.ends_with(" secs.") && secs.contains('.'), "{secs}");
    let rows = text
        .lines()
        .skip_while(|l| *l != "Response time histogram:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.contains(" [") && l.contains("]\t|"))
        .count();
    assert_eq!(rows, 11, "{text}");
    assert!(text.contains("% in "), "{text}");
    assert!(!text.contains("Error distribution"), "{text}");
}

#[test]
fn put_moves_revision_and_metrics_by_total() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let (rev0, puts0) = (revision(&p), metric(&p, "etcd_mvcc_put_total"));
    let run = bench(
        &p,
        &[
            "--conns=2",
            "--clients=4",
            "put",
            "--total=40",
            "--key-space-size=8",
            "--val-size=16",
        ],
    );
    assert!(run.ok);
    assert_summary(&run.stdout);
    assert_eq!(run.report_ok(0), 40);
    assert_eq!(run.json()["benchmark"], "put");
    assert_eq!(revision(&p) - rev0, 40);
    assert_eq!(metric(&p, "etcd_mvcc_put_total") - puts0, 40.0);
    assert!(
        run.stderr.contains("40 / 40"),
        "progress bar: {}",
        run.stderr
    );
}

#[test]
fn put_honours_rate() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let started = Instant::now();
    let run = bench(
        &p,
        &[
            "--clients=4",
            "put",
            "--total=11",
            "--rate=20",
            "--sequential-keys",
        ],
    );
    assert!(run.ok);
    // 11 requests spaced 50 ms apart need at least 0.5 s.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.report_ok(0), 11);
}

#[test]
fn txn_put_moves_revision_by_total() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let rev0 = revision(&p);
    let run = bench(
        &p,
        &[
            "--clients=3",
            "txn-put",
            "--total=30",
            "--txn-ops=2",
            "--key-space-size=4",
        ],
    );
    assert!(run.ok);
    assert_summary(&run.stdout);
    assert_eq!(run.report_ok(0), 30);
    assert_eq!(revision(&p) - rev0, 30);
}

#[test]
fn txn_put_rejects_more_ops_than_keys() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let run = bench(&p, &["txn-put", "--total=3", "--txn-ops=2"]);
    assert!(!run.ok);
    assert!(
        run.stderr
            .contains("expected --txn-ops no larger than --key-space-size"),
        "{}",
        run.stderr
    );
}

#[test]
fn range_linearizable_and_serializable() {
    let p = EtcdProcess::start(EtcdOpts::default());
    p.etcdctl(&["put", "foo", "bar"]).ok();
    for (mode, line) in [
        ("l", "bench with linearizable range"),
        ("s", "bench with serializable range"),
    ] {
        let run = bench(
            &p,
            &[
                "--clients=2",
                "range",
                "foo",
                "--total=25",
                &format!("--consistency={mode}"),
            ],
        );
        assert!(run.ok);
        assert!(run.stdout.starts_with(line), "{}", run.stdout);
        assert_summary(&run.stdout);
        assert_eq!(run.report_ok(0), 25);
    }
    let bad = bench(&p, &["range", "foo", "--total=1", "--consistency=x"]);
    assert!(!bad.ok);
}

#[test]
fn txn_mixed_splits_reads_and_writes() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let rev0 = revision(&p);
    let run = bench(
        &p,
        &[
            "--clients=2",
            "txn-mixed",
            "--total=40",
            "--key-space-size=5",
        ],
    );
    assert!(run.ok);
    assert!(run.stdout.contains("Total Read Ops: "), "{}", run.stdout);
    assert!(run.stdout.contains("Total Write Ops: "), "{}", run.stdout);
    let v = run.json();
    let (reads, writes) = (
        v["extra"]["read_ops"].as_u64().unwrap(),
        v["extra"]["write_ops"].as_u64().unwrap(),
    );
    assert_eq!(reads + writes, 40);
    assert_eq!(run.report_ok(0), reads);
    assert_eq!(run.report_ok(1), writes);
    assert_eq!((revision(&p) - rev0) as u64, writes);
}

#[test]
fn watch_delivers_every_event() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let run = bench(
        &p,
        &[
            "--clients=2",
            "--conns=2",
            "watch",
            "--streams=2",
            "--watch-per-stream=3",
            "--put-total=5",
        ],
    );
    assert!(run.ok);
    let (create, events) = run
        .stdout
        .split_once("Watch events received summary:")
        .expect("two summaries");
    assert!(
        create.starts_with("Watch creation summary:\n"),
        "{}",
        run.stdout
    );
    assert_summary(create);
    assert_summary(
        events
            .lines()
            .take_while(|l| !l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    );
    let v = run.json();
    assert_eq!(v["extra"]["events_expected"], 30);
    assert_eq!(v["extra"]["events_received"], 30);
    assert_eq!(run.report_ok(0), 6);
}

#[test]
fn watch_get_catches_up_all_watchers() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let run = bench(
        &p,
        &["watch-get", "--watchers=6", "--streams=2", "--events=3"],
    );
    assert!(run.ok);
    assert!(
        run.stdout.starts_with("Get during watch summary:\n"),
        "{}",
        run.stdout
    );
    assert_eq!(run.json()["extra"]["events_received"], 18);
}

#[test]
fn watch_latency_times_every_watcher() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let run = bench(
        &p,
        &[
            "--clients=3",
            "--conns=3",
            "watch-latency",
            "--total=8",
            "--put-rate=0",
        ],
    );
    assert!(run.ok);
    assert_summary(&run.stdout);
    assert_eq!(run.report_ok(0), 24);
}

#[test]
fn lease_keepalive_counts_round_trips() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let run = bench(&p, &["--clients=2", "lease-keepalive", "--total=20"]);
    assert!(run.ok);
    assert_summary(&run.stdout);
    assert_eq!(run.report_ok(0), 20);
}

#[test]
fn stm_commits_every_transaction() {
    let p = EtcdProcess::start(EtcdOpts::default());
    for iso in ["c", "r", "s", "ss"] {
        let run = bench(
            &p,
            &[
                "--clients=3",
                "stm",
                "--total=12",
                "--keys=4",
                "--keys-per-txn=2",
                &format!("--isolation={iso}"),
            ],
        );
        assert!(run.ok, "isolation {iso}");
        assert_summary(&run.stdout);
        assert_eq!(run.report_ok(0), 12, "isolation {iso}");
    }
}
