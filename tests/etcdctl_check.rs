//! `etcdctl check perf` and `check datascale`: ours against the real
//! etcdctl 3.4.23, each run against its own etcd-rs server at the same
//! time (check perf lasts 60 s in etcdctl 3.4, so the two runs overlap).
//!
//! Compared: the output's shape — every line, the progress bar reduced to
//! its final frame, numbers masked — and the exit code. The argument
//! errors (unknown load, prefix already holding keys) are compared byte for
//! byte.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{run_with_timeout, CtlOutput, EtcdOpts, EtcdProcess, ETCDCTL_PATH};

const OURS: &str = env!("CARGO_BIN_EXE_etcdctl");
/// check perf runs 60 s, then cleans up.
const PERF_TIMEOUT: Duration = Duration::from_secs(150);
const DATASCALE_TIMEOUT: Duration = Duration::from_secs(120);

fn command(bin: &str, p: &EtcdProcess, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCD") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", p.endpoint()))
        .args(args);
    cmd
}

/// Runs the real etcdctl against `a` and ours against `b` concurrently.
fn both(a: &EtcdProcess, b: &EtcdProcess, args: &[&str], t: Duration) -> (CtlOutput, CtlOutput) {
    let real = command(ETCDCTL_PATH, a, args);
    let ours = command(OURS, b, args);
    let h = std::thread::spawn(move || run_with_timeout(real, None, t));
    let o = run_with_timeout(ours, None, t);
    (h.join().expect("real etcdctl thread"), o)
}

/// The output's shape: each `\n` line with progress frames (`\r`) reduced
/// to the last one, runs of digits (and a sign, a decimal point) as `N`.
fn shape(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| {
            let last = l.rsplit('\r').next().unwrap_or(l);
            let mut out = String::new();
            let mut in_num = false;
            for c in last.chars() {
                if c.is_ascii_digit() || ((c == '.' || c == '-') && in_num) {
                    if !in_num {
                        out.push('N');
                    }
                    in_num = true;
                } else {
                    in_num = false;
                    out.push(c);
                }
            }
            out
        })
        .collect()
}

#[test]
fn shape_masks_numbers_and_frames() {
    assert_eq!(
        shape("\r 0 / 60    0.00%\r 60 / 60  100.00% 1m0s\nPASS: Throughput is 150 writes/s\n"),
        [" N / N  N% NmNs", "PASS: Throughput is N writes/s"]
    );
}

#[test]
fn check_perf_shape_matches_real_etcdctl() {
    let a = EtcdProcess::start(EtcdOpts::default());
    let b = EtcdProcess::start(EtcdOpts::default());
    let (r, o) = both(&a, &b, &["check", "perf", "--auto-compact"], PERF_TIMEOUT);
    assert_eq!(
        shape(&o.stdout),
        shape(&r.stdout),
        "ours {o:#?}\nreal {r:#?}"
    );
    assert_eq!((o.code, &o.stderr), (r.code, &r.stderr));
    let lines = shape(&r.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Compacted with revision")),
        "{lines:?}"
    );
    assert!(
        lines.last().is_some_and(|l| l == "PASS" || l == "FAIL"),
        "{lines:?}"
    );
}

#[test]
fn check_datascale_shape_matches_real_etcdctl() {
    let a = EtcdProcess::start(EtcdOpts::default());
    let b = EtcdProcess::start(EtcdOpts::default());
    let args = ["check", "datascale", "--auto-compact", "--auto-defrag"];
    let (r, o) = both(&a, &b, &args, DATASCALE_TIMEOUT);
    assert_eq!(r.code, 0, "real etcdctl {r:#?}");
    assert_eq!(
        shape(&o.stdout),
        shape(&r.stdout),
        "ours {o:#?}\nreal {r:#?}"
    );
    assert_eq!((o.code, &o.stderr), (r.code, &r.stderr));
    // The prefix was cleaned up.
    let left = b
        .etcdctl(&[
            "get",
            "--prefix",
            "/etcdctl-check-datascale/",
            "--keys-only",
        ])
        .ok();
    assert_eq!(left.stdout, "");
}

#[test]
fn check_argument_errors_match_real_etcdctl() {
    let a = EtcdProcess::start(EtcdOpts::default());
    let b = EtcdProcess::start(EtcdOpts::default());
    for p in [&a, &b] {
        p.etcdctl(&["put", "/etcdctl-check-perf/k", "v"]).ok();
        p.etcdctl(&["put", "/busy/k", "v"]).ok();
    }
    for args in [
        vec!["check", "perf", "--load", "x"],
        vec!["check", "datascale", "--load", "huge"],
        vec!["check", "perf"],
        vec!["check", "perf", "--load", "xLarge", "--prefix", "/busy/"],
        vec!["check", "datascale", "--prefix", "/busy/"],
    ] {
        let (r, o) = both(&a, &b, &args, Duration::from_secs(60));
        assert_eq!(
            (o.code, &o.stdout, &o.stderr),
            (r.code, &r.stdout, &r.stderr),
            "etcdctl {args:?}"
        );
    }
}
