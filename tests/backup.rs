//! Backups end to end: real `etcdctl snapshot save` against our server under a
//! write load, `snapshot status` (ours byte-equal to real etcdctl's), restore
//! into one and three data dirs served by our etcd, a snapshot from the real
//! etcd 3.4 restored and served by ours, and failed restores that leave
//! nothing behind with etcd's messages.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{
    free_port, run_with_timeout, wait_until, CtlOutput, EtcdOpts, EtcdProcess, ETCDCTL_PATH,
    READY_LINE,
};
use serde_json::Value;

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/bbolt/tests/golden/etcd-3.4.23-snapshot.db"
);
const REAL_ETCD: &str = "/usr/bin/etcd";
const TIMEOUT: Duration = Duration::from_secs(20);

fn etcdutl(args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdutl"));
    cmd.args(args);
    run_with_timeout(cmd, None, TIMEOUT)
}

/// Real etcdctl without endpoints (offline `snapshot` commands).
fn real_etcdctl(args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(ETCDCTL_PATH);
    cmd.env("ETCDCTL_API", "3").args(args);
    run_with_timeout(cmd, None, TIMEOUT)
}

fn ctl_at(endpoint: &str, args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(ETCDCTL_PATH);
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .args(args);
    run_with_timeout(cmd, None, TIMEOUT)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The kvs of `get "" --prefix [extra]` as JSON values.
fn all_kvs(endpoint: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["get", "", "--prefix", "-w", "json"];
    args.extend_from_slice(extra);
    let out = ctl_at(endpoint, &args).ok();
    let v: Value = serde_json::from_str(&out.stdout).expect("get -w json");
    v["kvs"].as_array().cloned().unwrap_or_default()
}

/// Status JSON of a snapshot file via real etcdctl: (revision, json text).
fn real_status(file: &Path) -> (i64, String) {
    let out = real_etcdctl(&["snapshot", "status", s(file), "-w", "json"]).ok();
    let v: Value = serde_json::from_str(&out.stdout).expect("status json");
    (v["revision"].as_i64().unwrap(), out.stdout)
}

/// Our `etcdutl snapshot status` prints exactly what real etcdctl prints.
fn assert_status_outputs_equal(file: &Path) {
    for w in ["simple", "json", "table", "fields"] {
        let real = real_etcdctl(&["snapshot", "status", s(file), "-w", w]).ok();
        let ours = etcdutl(&["snapshot", "status", s(file), "-w", w]).ok();
        assert_eq!(ours.stdout, real.stdout, "format {w}");
    }
}

/// One of our members started from a restored data dir; killed on drop.
struct Restored {
    child: Child,
    endpoint: String,
    log: PathBuf,
}

impl Restored {
    fn spawn(
        name: &str,
        data_dir: &Path,
        (client_port, peer_port): (u16, u16),
        cluster: &str,
        token: &str,
        extra: &[&str],
    ) -> Restored {
        let log = data_dir.with_extension("log");
        let client = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_etcd"))
            .args(["--name", name, "--data-dir", s(data_dir)])
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args([
                "--initial-cluster",
                cluster,
                "--initial-cluster-token",
                token,
            ])
            .args(extra)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        Restored {
            child,
            endpoint: format!("127.0.0.1:{client_port}"),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&self) {
        let ok = wait_until(TIMEOUT, || self.log().contains(READY_LINE))
            && wait_until(TIMEOUT, || {
                ctl_at(&self.endpoint, &["endpoint", "health"]).code == 0
            });
        assert!(ok, "restored member did not become healthy\n{}", self.log());
    }
}

impl Drop for Restored {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Restores `snapshot` into `n` data dirs under `dir` and starts our members.
fn restore_and_start(snapshot: &Path, dir: &Path, n: usize) -> Vec<Restored> {
    let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
    let cluster = (0..n)
        .map(|i| format!("r{i}=http://127.0.0.1:{}", ports[i].1))
        .collect::<Vec<_>>()
        .join(",");
    let token = "restored-token";
    let mut members = Vec::new();
    for (i, (cp, pp)) in ports.iter().enumerate() {
        let data = dir.join(format!("r{i}.etcd"));
        let out = etcdutl(&[
            "snapshot",
            "restore",
            s(snapshot),
            "--name",
            &format!("r{i}"),
            "--data-dir",
            s(&data),
            "--initial-cluster",
            &cluster,
            "--initial-cluster-token",
            token,
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{pp}"),
        ]);
        assert_eq!(out.code, 0, "restore failed: {}", out.stderr);
        assert!(out.stderr.contains("restored snapshot"), "{}", out.stderr);
        members.push(Restored::spawn(
            &format!("r{i}"),
            &data,
            (*cp, *pp),
            &cluster,
            token,
            &[],
        ));
    }
    for m in &members {
        m.wait_ready();
    }
    members
}

#[test]
fn snapshot_under_load_then_restore_three_members() {
    let ours = EtcdProcess::start(EtcdOpts::default());
    let lease = ours.etcdctl(&["lease", "grant", "600"]).ok();
    let lease_id = lease
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("lease id")
        .to_string();
    ours.etcdctl(&["put", "leased", "v", &format!("--lease={lease_id}")])
        .ok();
    let short = ours.etcdctl(&["lease", "grant", "8"]).ok();
    let short_id = short
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("lease id")
        .to_string();
    ours.etcdctl(&["put", "short-lived", "v", &format!("--lease={short_id}")])
        .ok();
    for i in 0..20 {
        ours.etcdctl(&["put", &format!("k{i:02}"), &"x".repeat(i * 300)])
            .ok();
    }
    ours.etcdctl(&["del", "k05"]).ok();

    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.db");
    // A write load while the snapshot is taken.
    let endpoint = ours.endpoint();
    let load = std::thread::spawn(move || {
        for i in 0..30 {
            assert_eq!(
                ctl_at(&endpoint, &["put", &format!("load{i:02}"), "v"]).code,
                0
            );
        }
    });
    let saved = ours.etcdctl(&["snapshot", "save", s(&snap)]);
    load.join().unwrap();
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert_eq!(
        std::fs::metadata(&snap).unwrap().len() % 512,
        32,
        "sha256 trailer appended"
    );

    let (rev, _) = real_status(&snap);
    assert_status_outputs_equal(&snap);
    let expected = all_kvs(&ours.endpoint(), &[&format!("--rev={rev}")]);
    assert!(expected.len() >= 20, "{expected:?}");

    let members = restore_and_start(&snap, dir.path(), 3);
    for m in &members {
        assert_eq!(
            all_kvs(&m.endpoint, &[]),
            expected,
            "member {} serves the snapshot's data",
            m.endpoint
        );
        let st: Value = serde_json::from_str(
            &ctl_at(&m.endpoint, &["get", "k00", "-w", "json"])
                .ok()
                .stdout,
        )
        .unwrap();
        assert_eq!(st["header"]["revision"].as_i64(), Some(rev));
    }
    let list = ctl_at(&members[0].endpoint, &["member", "list"])
        .ok()
        .stdout;
    assert_eq!(list.lines().count(), 3, "{list}");
    for i in 0..3 {
        assert!(list.contains(&format!(", r{i}, ")), "{list}");
    }
    let leases = ctl_at(&members[1].endpoint, &["lease", "list"]).ok().stdout;
    let hex = format!("{:x}", lease_id.parse::<i64>().unwrap_or(0));
    assert!(
        leases.contains(&lease_id) || leases.contains(&hex),
        "lease survives restore: {leases}"
    );
    // A restored lease expires after its TTL restarts, taking its key along.
    assert!(
        expected.iter().any(|kv| kv["key"] == "c2hvcnQtbGl2ZWQ="),
        "short-lived key in the snapshot"
    );
    assert!(
        wait_until(Duration::from_secs(40), || {
            ctl_at(
                &members[0].endpoint,
                &["get", "short-lived", "--print-value-only"],
            )
            .stdout
            .trim()
            .is_empty()
        }),
        "the 8s lease never expired after restore"
    );
    // The restored cluster takes writes and replicates them.
    ctl_at(&members[2].endpoint, &["put", "after", "restore"]).ok();
    assert!(wait_until(TIMEOUT, || {
        ctl_at(
            &members[0].endpoint,
            &["get", "after", "--consistency=s", "--print-value-only"],
        )
        .stdout
        .trim()
            == "restore"
    }));
}

#[test]
fn snapshot_from_real_etcd_restores_and_serves() {
    if !Path::new(REAL_ETCD).exists() {
        eprintln!("skipping: {REAL_ETCD} not installed");
        return;
    }
    let real = EtcdProcess::start(EtcdOpts {
        binary: Some(REAL_ETCD.into()),
        ..EtcdOpts::default()
    });
    for i in 0..10 {
        real.etcdctl(&["put", &format!("real{i}"), &format!("value{i}")])
            .ok();
    }
    real.etcdctl(&["del", "real3"]).ok();
    real.etcdctl(&["compact", "4"]).ok();
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("real.db");
    real.etcdctl(&["snapshot", "save", s(&snap)]).ok();
    assert_status_outputs_equal(&snap);
    let expected = all_kvs(&real.endpoint(), &[]);
    let members = restore_and_start(&snap, dir.path(), 1);
    assert_eq!(all_kvs(&members[0].endpoint, &[]), expected);
    // The compaction point came along.
    let old = ctl_at(&members[0].endpoint, &["get", "real0", "--rev=2"]);
    assert!(
        old.stderr.contains("required revision has been compacted"),
        "{}",
        old.stderr
    );
}

/// Runs the same failing restore with ours and real etcdctl: same last
/// error line; ours leaves no data dir.
fn both_fail(file: &Path, extra: &[&str], dir: &Path) -> (String, String) {
    let target = dir.join("target.etcd");
    let mut args = vec!["snapshot", "restore", s(file), "--data-dir", s(&target)];
    args.extend_from_slice(extra);
    let ours = etcdutl(&args);
    assert_eq!(ours.code, 1, "{}", ours.stderr);
    assert!(
        !target.exists(),
        "a failed restore left {}",
        target.display()
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().contains("restore")),
        "{leftovers:?}"
    );
    let real = real_etcdctl(&args);
    let _ = std::fs::remove_dir_all(&target); // real etcd leaves a partial dir
    (
        ours.last_err_line().to_string(),
        real.last_err_line().to_string(),
    )
}

#[test]
fn bad_snapshots_fail_clearly_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(GOLDEN).unwrap();
    assert_eq!(good.len() % 512, 32);
    let f = dir.path().join("in.db");

    // A flipped byte: sha256 mismatch, etcd's message byte for byte.
    let mut bad = good.clone();
    bad[9000] ^= 1;
    std::fs::write(&f, &bad).unwrap();
    let (ours, real) = both_fail(&f, &[], dir.path());
    assert!(ours.starts_with("Error: expected sha256 ["), "{ours}");
    assert_eq!(ours, real);

    // Truncated: no trailer, so etcd's missing-hash message.
    std::fs::write(&f, &good[..10000]).unwrap();
    let (ours, real) = both_fail(&f, &[], dir.path());
    assert_eq!(
        ours,
        "Error: snapshot missing hash but --skip-hash-check=false"
    );
    assert_eq!(ours, real);
    // ... and with the check skipped, the truncation itself is named.
    let out = etcdutl(&[
        "snapshot",
        "restore",
        s(&f),
        "--data-dir",
        s(&dir.path().join("t.etcd")),
        "--skip-hash-check",
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("truncated database"), "{}", out.stderr);
    assert!(!dir.path().join("t.etcd").exists());

    // A scribbled root page header in a file copied without a trailer.
    let mut bad = good[..good.len() - 32].to_vec();
    bad[2 * 4096..2 * 4096 + 8].copy_from_slice(&99u64.to_le_bytes());
    std::fs::write(&f, &bad).unwrap();
    let t = dir.path().join("c.etcd");
    let out = etcdutl(&[
        "snapshot",
        "restore",
        s(&f),
        "--data-dir",
        s(&t),
        "--skip-hash-check",
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("corrupt"), "{}", out.stderr);
    assert!(!t.exists());

    // An existing data dir, and a name missing from --initial-cluster.
    std::fs::write(&f, &good).unwrap();
    std::fs::create_dir(dir.path().join("target.etcd")).unwrap();
    let ours = etcdutl(&[
        "snapshot",
        "restore",
        s(&f),
        "--data-dir",
        s(&dir.path().join("target.etcd")),
    ]);
    let real = real_etcdctl(&[
        "snapshot",
        "restore",
        s(&f),
        "--data-dir",
        s(&dir.path().join("target.etcd")),
    ]);
    assert_eq!(ours.last_err_line(), real.last_err_line());
    std::fs::remove_dir(dir.path().join("target.etcd")).unwrap();
    let (ours, real) = both_fail(&f, &["--name", "nobody"], dir.path());
    assert_eq!(ours, real);

    // Status of a missing file and of a non-database, and bad arguments.
    let missing = dir.path().join("missing.db");
    let ours = etcdutl(&["snapshot", "status", s(&missing)]);
    let real = real_etcdctl(&["snapshot", "status", s(&missing)]);
    assert_eq!(
        (ours.code, ours.last_err_line()),
        (real.code, real.last_err_line())
    );
    let ours = etcdutl(&["snapshot", "status"]);
    let real = real_etcdctl(&["snapshot", "status"]);
    assert_eq!(
        (ours.code, ours.last_err_line()),
        (real.code, real.last_err_line())
    );
    std::fs::write(&f, "not a database\n".repeat(400)).unwrap();
    let ours = etcdutl(&["snapshot", "status", s(&f)]);
    assert_eq!(ours.code, 1);
    assert!(ours.stderr.contains("invalid database"), "{}", ours.stderr);
}

#[test]
fn status_of_the_golden_file_matches_real_etcdctl() {
    assert_status_outputs_equal(Path::new(GOLDEN));
}

#[test]
fn restore_with_a_separate_wal_dir() {
    let dir = tempfile::tempdir().unwrap();
    let (data, wal) = (dir.path().join("d.etcd"), dir.path().join("wal"));
    let ports = (free_port(), free_port());
    let cluster = format!("solo=http://127.0.0.1:{}", ports.1);
    let peer = format!("http://127.0.0.1:{}", ports.1);
    let out = etcdutl(&[
        "snapshot",
        "restore",
        GOLDEN,
        "--name",
        "solo",
        "--data-dir",
        s(&data),
        "--wal-dir",
        s(&wal),
        "--initial-cluster",
        &cluster,
        "--initial-advertise-peer-urls",
        &peer,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!data.join("member").join("wal").exists());
    assert!(std::fs::read_dir(&wal).unwrap().count() > 0);
    let m = Restored::spawn(
        "solo",
        &data,
        ports,
        &cluster,
        "etcd-cluster",
        &["--wal-dir", s(&wal)],
    );
    m.wait_ready();
    let kvs = all_kvs(&m.endpoint, &[]);
    assert_eq!(kvs.len(), 3, "{kvs:?}");
    // Restoring again over the existing wal dir is refused, as etcd does.
    let again = etcdutl(&[
        "snapshot",
        "restore",
        GOLDEN,
        "--data-dir",
        s(&dir.path().join("other")),
        "--wal-dir",
        s(&wal),
    ]);
    assert_eq!(
        again.last_err_line(),
        format!("Error: wal-dir {:?} exists", s(&wal))
    );
}
