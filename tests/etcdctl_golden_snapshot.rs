//! Our etcdctl's `snapshot save|status|restore` against the real etcdctl
//! 3.4.23, byte for byte.
//!
//! Each etcdctl runs in its own temp dir with relative paths, so paths in
//! the output line up. Compared: exit code, stdout, and stderr except the
//! zap JSON log lines (`{"level":...}`), which carry timestamps, source
//! locations and client-library chatter no user parses; their presence is
//! still checked (`restoring snapshot` / `restored snapshot`).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{run_with_timeout, CtlOutput, EtcdOpts, EtcdProcess, ETCDCTL_PATH};

const OURS: &str = env!("CARGO_BIN_EXE_etcdctl");
const TIMEOUT: Duration = Duration::from_secs(30);

fn run(bin: &str, dir: &Path, args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir).args(args);
    run_with_timeout(cmd, None, TIMEOUT)
}

/// Exit code, stdout and the non-log stderr lines.
fn shown(o: &CtlOutput) -> String {
    let errs: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| !l.starts_with("{\"level\":"))
        .collect();
    format!(
        "code {}\n--- stdout\n{}--- stderr\n{}\n",
        o.code,
        o.stdout,
        errs.join("\n")
    )
}

/// Runs `args` with both etcdctls (real in `a`, ours in `b`); records a
/// difference in `failures`; returns (real, ours).
fn both(
    a: &Path,
    b: &Path,
    args: &[&str],
    failures: &mut Vec<String>,
) -> (CtlOutput, CtlOutput) {
    let (ra, rb) = (run(ETCDCTL_PATH, a, args), run(OURS, b, args));
    let (sa, sb) = (shown(&ra), shown(&rb));
    if sa != sb {
        failures.push(format!(
            "### etcdctl {}\n--- real\n{sa}--- ours\n{sb}",
            args.join(" ")
        ));
    }
    (ra, rb)
}

#[test]
fn snapshot_save_status_restore_match_real_etcdctl() {
    let server = EtcdProcess::start(EtcdOpts::default());
    let ep = format!("--endpoints={}", server.endpoint());
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (a.path(), b.path());
    for i in 0..20 {
        let k = format!("key{i}");
        run(ETCDCTL_PATH, a, &[&ep, "put", &k, &"v".repeat(i * 10)]).ok();
    }
    run(ETCDCTL_PATH, a, &[&ep, "del", "key3"]).ok();
    let mut failures = Vec::new();

    let (ra, rb) = both(a, b, &[&ep, "snapshot", "save", "s.db"], &mut failures);
    assert_eq!((ra.code, rb.code), (0, 0), "{ra:?}\n{rb:?}");
    both(a, b, &[&ep, "snapshot", "save"], &mut failures);

    // Both etcdctls read the same file (the real one's), then each its own.
    std::fs::copy(a.join("s.db"), b.join("real.db")).unwrap();
    std::fs::copy(a.join("s.db"), a.join("real.db")).unwrap();
    for file in ["real.db", "s.db"] {
        for w in ["simple", "json", "fields", "table", "protobuf", "bogus"] {
            both(a, b, &["-w", w, "snapshot", "status", file], &mut failures);
        }
    }
    both(a, b, &["snapshot", "status", "missing.db"], &mut failures);
    both(a, b, &["snapshot", "status"], &mut failures);
    both(a, b, &["snapshot", "status", "x", "y"], &mut failures);

    let restore = [
        "snapshot",
        "restore",
        "real.db",
        "--name=m1",
        "--data-dir=r",
        "--initial-cluster=m1=http://127.0.0.1:2380",
        "--initial-advertise-peer-urls=http://127.0.0.1:2380",
    ];
    let (ra, rb) = both(a, b, &restore, &mut failures);
    for (who, o) in [("real", &ra), ("ours", &rb)] {
        assert!(
            o.stderr.contains("\"msg\":\"restoring snapshot\"")
                && o.stderr.contains("\"msg\":\"restored snapshot\""),
            "{who}: {o:?}"
        );
    }
    for dir in [a, b] {
        assert!(dir.join("r/member/snap/db").is_file(), "{dir:?}");
        assert!(dir.join("r/member/wal").is_dir(), "{dir:?}");
    }
    both(a, b, &restore, &mut failures); // data dir exists now
    both(
        a,
        b,
        &["snapshot", "restore", "missing.db", "--data-dir=r2"],
        &mut failures,
    );
    both(a, b, &["snapshot", "restore"], &mut failures);
    // A malformed --initial-cluster is refused before anything is logged.
    for ic in ["bad", "m1=notaurl", "m1=http://127.0.0.1:2380/p", "m1=http://nohostport"] {
        let arg = format!("--initial-cluster={ic}");
        let args = ["snapshot", "restore", "real.db", "--name=m1", "--data-dir=r3", &arg];
        let (ra, rb) = both(a, b, &args, &mut failures);
        assert_eq!(ra.stderr, rb.stderr, "{ic}: stderr, log lines included");
        assert!(!b.join("r3").exists(), "{ic}: ours left a data dir");
    }
    assert!(
        failures.is_empty(),
        "{} step(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
