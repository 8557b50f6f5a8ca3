//! `etcdctl make-mirror`: our etcdctl mirrors a prefix of one etcd-rs
//! server onto another, keys written before the mirror starts (base sync)
//! and while it runs (watch replay: puts, a delete, a txn), and the
//! destination converges to the source's keys and values under the
//! destination prefix; keys outside the prefix stay behind.
//!
//! The comparison run mirrors the same source with ours and with the real
//! etcdctl 3.4.23 side by side (`--dest-prefix`) and checks both
//! destinations end up identical and both printed the same synced-key count
//! (etcdctl prints it every 30 s, so that test waits for the first line).
//! Every mirror process is killed at the end by its PID.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{wait_until, CtlStream, EtcdOpts, EtcdProcess, ETCDCTL_PATH};

const OURS: &str = env!("CARGO_BIN_EXE_etcdctl");
/// Upper bound for a destination to catch up.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(20);
/// etcdctl prints the count every 30 s; the first line is awaited this long.
const COUNT_TIMEOUT: Duration = Duration::from_secs(50);

fn mirror(binary: &str, src: &EtcdProcess, dst: &EtcdProcess, flags: &[&str]) -> CtlStream {
    let mut cmd = Command::new(binary);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCD") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", src.endpoint()))
        .arg("make-mirror")
        .args(flags)
        .arg(dst.endpoint());
    CtlStream::spawn(cmd)
}

/// `key=value` lines of everything under `prefix`, the prefix cut off.
fn dump(p: &EtcdProcess, prefix: &str) -> Vec<String> {
    let out = p.etcdctl(&["get", "--prefix", prefix]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    lines
        .chunks(2)
        .map(|kv| {
            let key = kv[0].strip_prefix(prefix).unwrap_or(kv[0]);
            format!("{key}={}", kv.get(1).unwrap_or(&""))
        })
        .collect()
}

/// Writes before mirroring: base-sync material plus a key outside the prefix.
fn write_base(src: &EtcdProcess) {
    for (k, v) in [
        ("/a/1", "one"),
        ("/a/2", "two"),
        ("/a/3", "three"),
        ("/z/out", "x"),
    ] {
        src.etcdctl(&["put", k, v]).ok();
    }
}

/// Writes while mirroring: puts, an overwrite, a delete and a txn doing a
/// put and a delete in one revision.
fn write_live(src: &EtcdProcess) {
    src.etcdctl(&["put", "/a/4", "four"]).ok();
    src.etcdctl(&["put", "/a/1", "uno"]).ok();
    src.etcdctl(&["del", "/a/2"]).ok();
    src.etcdctl_stdin(&["txn"], "\nput /a/5 five\ndel /a/3\n\n\n")
        .ok();
    src.etcdctl(&["put", "/z/out2", "y"]).ok();
}

fn wait_converged(src: &EtcdProcess, dst: &EtcdProcess, dst_prefix: &str, m: &CtlStream) {
    let want = dump(src, "/a/");
    let ok = wait_until(CONVERGE_TIMEOUT, || dump(dst, dst_prefix) == want);
    assert!(
        ok,
        "destination {:?} != source {want:?}\nmirror stderr: {}",
        dump(dst, dst_prefix),
        m.stderr()
    );
}

#[test]
fn mirror_replays_base_and_live_writes() {
    let src = EtcdProcess::start(EtcdOpts::default());
    let dst = EtcdProcess::start(EtcdOpts::default());
    write_base(&src);
    let m = mirror(OURS, &src, &dst, &["--prefix", "/a/"]);
    wait_converged(&src, &dst, "/a/", &m);
    write_live(&src);
    wait_converged(&src, &dst, "/a/", &m);
    assert_eq!(
        dump(&src, "/a/"),
        ["1=uno", "4=four", "5=five"],
        "source state"
    );
    assert!(
        dump(&dst, "/z/").is_empty(),
        "keys outside the prefix are not mirrored"
    );
    let out = m.stop();
    assert!(out.stderr.is_empty(), "mirror stderr: {}", out.stderr);
}

#[test]
fn mirror_to_dest_prefix_matches_real_etcdctl() {
    let src = EtcdProcess::start(EtcdOpts::default());
    let dst_ours = EtcdProcess::start(EtcdOpts::default());
    let dst_real = EtcdProcess::start(EtcdOpts::default());
    write_base(&src);
    let flags = ["--prefix", "/a/", "--dest-prefix", "/b/"];
    let ours = mirror(OURS, &src, &dst_ours, &flags);
    let real = mirror(ETCDCTL_PATH, &src, &dst_real, &flags);
    wait_converged(&src, &dst_ours, "/b/", &ours);
    wait_converged(&src, &dst_real, "/b/", &real);
    write_live(&src);
    wait_converged(&src, &dst_ours, "/b/", &ours);
    wait_converged(&src, &dst_real, "/b/", &real);
    assert_eq!(dump(&dst_ours, "/"), dump(&dst_real, "/"));
    // 3 base keys + 2 puts + 1 delete + a txn of 2 operations.
    for m in [&ours, &real] {
        assert!(
            m.wait_stdout(COUNT_TIMEOUT, |s| s.contains('\n')),
            "no count line; stderr {}",
            m.stderr()
        );
    }
    let (o, r) = (ours.stop(), real.stop());
    assert_eq!(r.stdout, "8\n", "real etcdctl: {r:?}");
    assert_eq!(o.stdout, r.stdout, "ours {o:?}");
    assert_eq!(o.stderr, r.stderr);
}

#[test]
fn mirror_argument_errors_match_real_etcdctl() {
    let src = EtcdProcess::start(EtcdOpts::default());
    let run = |bin: &str, args: &[&str]| {
        let mut cmd = Command::new(bin);
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", src.endpoint()))
            .args(args);
        common::run_with_timeout(cmd, None, Duration::from_secs(20))
    };
    let dst = src.endpoint();
    for args in [
        vec!["make-mirror"],
        vec!["make-mirror", "a", "b"],
        vec![
            "make-mirror",
            "--dest-prefix",
            "/x/",
            "--no-dest-prefix",
            &dst,
        ],
    ] {
        let (o, r) = (run(OURS, &args), run(ETCDCTL_PATH, &args));
        assert_eq!(
            (o.code, &o.stdout, &o.stderr),
            (r.code, &r.stdout, &r.stderr),
            "etcdctl {args:?}"
        );
    }
}
