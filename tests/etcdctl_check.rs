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

/// `s` without its progress-bar frames (`\r N / N  N.NN%[ time]`, the last
/// one maybe followed by a newline): when the bar draws its last frame is a
/// race in etcdctl 3.4 (its final `60 / 60` frame is sometimes never drawn).
fn strip_bar(s: &str) -> String {
    fn frame_len(c: &str) -> Option<usize> {
        let b = c.as_bytes();
        let mut i = 0;
        let skip = |i: &mut usize, f: &dyn Fn(u8) -> bool| {
            let start = *i;
            while *i < b.len() && f(b[*i]) {
                *i += 1;
            }
            *i > start
        };
        skip(&mut i, &|x| x == b' ');
        skip(&mut i, &|x| x.is_ascii_digit()).then_some(())?;
        c[i..].starts_with(" / ").then_some(())?;
        i += 3;
        skip(&mut i, &|x| x.is_ascii_digit()).then_some(())?;
        skip(&mut i, &|x| x == b' ');
        skip(&mut i, &|x| x.is_ascii_digit() || x == b'.').then_some(())?;
        (b.get(i) == Some(&b'%')).then_some(())?;
        i += 1;
        if b.get(i) == Some(&b' ') && b.get(i + 1).is_some_and(|x| x.is_ascii_digit()) {
            i += 1;
            skip(&mut i, &|x| x != b'\n' && x != b'\r');
        }
        if b.get(i) == Some(&b'\n') {
            i += 1;
        }
        Some(i)
    }
    let mut parts = s.split('\r');
    let mut out = parts.next().unwrap_or("").to_string();
    for c in parts {
        out.push_str(&c[frame_len(c).unwrap_or(0)..]);
    }
    out
}

/// A verdict line without its outcome: whether a run passes depends on the
/// machine's load at that moment, so the two runs may differ there.
fn without_verdict(line: &str) -> String {
    let l = line
        .strip_prefix("PASS: ")
        .or_else(|| line.strip_prefix("FAIL: "))
        .unwrap_or(line);
    for metric in ["Throughput", "Slowest request", "Stddev"] {
        if l.starts_with(metric) {
            return format!("VERDICT {metric}");
        }
    }
    if line == "PASS" || line == "FAIL" {
        return "VERDICT".to_string();
    }
    line.to_string()
}

/// etcdctl 3.4's verdict lines (check.go; two failures carry no `FAIL:`),
/// numbers masked.
const VERDICTS: [&str; 6] = [
    "PASS: Throughput is N writes/s",
    "FAIL: Throughput too low: N writes/s",
    "PASS: Slowest request took Ns",
    "Slowest request took too long: Ns",
    "PASS: Stddev is Ns",
    "Stddev too high: Ns",
];

#[test]
fn strip_bar_drops_every_frame() {
    let real = "\r 0 / 60    0.00%\r 59 / 60   98.33%Compacting with revision 8\nPASS\n";
    let ours = "\r 0 / 60    0.00%\r 60 / 60  100.00% 1m0s\nCompacting with revision 8\nPASS\n";
    assert_eq!(strip_bar(real), "Compacting with revision 8\nPASS\n");
    assert_eq!(strip_bar(ours), strip_bar(real));
}

#[test]
fn check_perf_shape_matches_real_etcdctl() {
    let a = EtcdProcess::start(EtcdOpts::default());
    let b = EtcdProcess::start(EtcdOpts::default());
    let (r, o) = both(&a, &b, &["check", "perf", "--auto-compact"], PERF_TIMEOUT);
    let (rl, ol) = (shape(&strip_bar(&r.stdout)), shape(&strip_bar(&o.stdout)));
    let strip = |v: &[String]| v.iter().map(|l| without_verdict(l)).collect::<Vec<_>>();
    assert_eq!(strip(&ol), strip(&rl), "ours {o:#?}\nreal {r:#?}");
    assert_eq!(o.stderr, r.stderr);
    for (who, lines, out) in [("real", &rl, &r), ("ours", &ol, &o)] {
        for l in lines.iter().filter(|l| without_verdict(l).starts_with("VERDICT ")) {
            assert!(VERDICTS.contains(&l.as_str()), "{who}: unknown verdict line {l:?}");
        }
        let last = lines.last().map(String::as_str);
        assert!(last == Some("PASS") || last == Some("FAIL"), "{who}: {lines:?}");
        let failed = lines.iter().any(|l| {
            l.starts_with("FAIL") || l.starts_with("Slowest request took too long") || l.starts_with("Stddev too high")
        });
        assert_eq!(last == Some("FAIL"), failed, "{who}: final verdict {lines:?}");
        assert_eq!(out.code != 0, failed, "{who}: exit code {} for {lines:?}", out.code);
    }
    assert!(
        rl.iter().any(|l| l.starts_with("Compacted with revision")),
        "{rl:?}"
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
