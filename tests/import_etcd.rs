//! Starting our etcd on data dirs written by the real etcd 3.4.23 (issue 7).
//!
//! - A clean stop of the real etcd, then ours on the same data dir and flags:
//!   every key, revision, lease, the compaction point, the member and cluster
//!   ids are the same; etcd's files are kept in `member.etcd-3.4-backup`.
//! - A kill -9 of the real etcd with a backend batch interval far beyond the
//!   test, so the WAL holds acknowledged entries the db never got, and a
//!   separate `--wal-dir`: every acknowledged write is served by ours. A
//!   crash (failpoint) in the middle of the dir swap is finished on the next
//!   start.
//! - The real `etcdctl snapshot save` + `snapshot restore` into three dirs:
//!   a three-member cluster of ours serves the data and takes writes.
//! - A flipped byte inside an etcd WAL record: ours refuses to start, says
//!   `crc mismatch`, and leaves every byte of the data dir as it was.

mod common;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{free_port, run_with_timeout, wait_until, CtlOutput, ETCDCTL_PATH, READY_LINE};
use serde_json::Value;

const REAL_ETCD: &str = "/usr/bin/etcd";
const OURS: &str = env!("CARGO_BIN_EXE_etcd");
const TIMEOUT: Duration = Duration::from_secs(30);

/// One server process on a fixed data dir and ports, run by either binary.
struct Server {
    name: String,
    data_dir: PathBuf,
    client_port: u16,
    peer_port: u16,
    initial_cluster: String,
    extra: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    fn new(root: &Path, name: &str) -> Server {
        let peer_port = free_port();
        Server {
            name: name.into(),
            data_dir: root.join(format!("{name}.etcd")),
            client_port: free_port(),
            peer_port,
            initial_cluster: format!("{name}=http://127.0.0.1:{peer_port}"),
            extra: vec![],
            log: root.join(format!("{name}.log")),
            child: None,
        }
    }

    fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn spawn(&mut self, binary: &str, envs: &[(&str, &str)]) {
        assert!(self.child.is_none());
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.log)
            .unwrap()
            .set_len(0)
            .unwrap();
        let client = format!("http://{}", self.endpoint());
        let mut cmd = Command::new(binary);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") || k == "FAILPOINTS" {
                cmd.env_remove(k);
            }
        }
        cmd.args(["--name", &self.name])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &self.peer_url(),
                "--initial-advertise-peer-urls",
                &self.peer_url(),
            ])
            .args(["--initial-cluster", &self.initial_cluster])
            .args(&self.extra)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(cmd.spawn().unwrap());
    }

    fn start(&mut self, binary: &str) {
        self.spawn(binary, &[]);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let ok = wait_until(TIMEOUT, || {
            self.log_text().contains(READY_LINE) || self.exited().is_some()
        });
        assert!(
            ok && self.exited().is_none(),
            "{} did not start\n{}",
            self.name,
            self.log_text()
        );
    }

    /// The exit code once the child has exited by itself.
    fn exited(&mut self) -> Option<i32> {
        let status = self.child.as_mut()?.try_wait().unwrap()?;
        self.child = None;
        Some(status.code().unwrap_or(-1))
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let mut code = None;
        wait_until(TIMEOUT, || {
            code = self.exited();
            code.is_some()
        });
        code
    }

    /// SIGTERM to our child and a bounded wait for it to exit.
    fn stop(&mut self) {
        let pid = self.child.as_ref().expect("running").id();
        // SAFETY: kill(2) on the PID of our own unreaped child.
        assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) }, 0);
        assert!(self.wait_exit().is_some(), "{} did not stop", self.name);
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `etcdctl` with `ETCDCTL_API=2`.
    fn v2(&self, args: &[&str]) -> CtlOutput {
        let mut cmd = Command::new(ETCDCTL_PATH);
        cmd.env("ETCDCTL_API", "2")
            .arg(format!("--endpoints=http://{}", self.endpoint()))
            .args(args);
        run_with_timeout(cmd, None, TIMEOUT)
    }

    fn ctl(&self, args: &[&str]) -> CtlOutput {
        let mut cmd = Command::new(ETCDCTL_PATH);
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoint()))
            .args(args);
        run_with_timeout(cmd, None, TIMEOUT)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn real_etcdctl(args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(ETCDCTL_PATH);
    cmd.env("ETCDCTL_API", "3").args(args);
    run_with_timeout(cmd, None, TIMEOUT)
}

fn json(out: CtlOutput) -> Value {
    let out = out.ok();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// `get "" --prefix -w json` minus the header's raft_term (a new term
/// starts when ours is elected).
fn snapshot_of_kv(s: &Server) -> (Value, Value) {
    let mut v = json(s.ctl(&["get", "", "--prefix", "-w", "json"]));
    let header = v["header"].take();
    (
        v["kvs"].take(),
        serde_json::json!({
            "cluster_id": header["cluster_id"],
            "member_id": header["member_id"],
            "revision": header["revision"],
        }),
    )
}

fn lease_ids(s: &Server) -> Vec<String> {
    let out = s.ctl(&["lease", "list"]).ok();
    let mut ids: Vec<String> = out.stdout.lines().skip(1).map(str::to_string).collect();
    ids.sort();
    ids
}

fn members(s: &Server) -> Vec<(u64, String, Value, Value)> {
    let v = json(s.ctl(&["member", "list", "-w", "json"]));
    let mut out: Vec<_> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["ID"].as_u64().unwrap(),
                m["name"].as_str().unwrap_or("").to_string(),
                m["peerURLs"].clone(),
                m["clientURLs"].clone(),
            )
        })
        .collect();
    out.sort_by_key(|m| m.0);
    out
}

#[test]
fn clean_stop_then_ours_serves_the_same_data() {
    let root = tempfile::tempdir().unwrap();
    let mut s = Server::new(root.path(), "alpha");
    // A Raft snapshot (with the v2 store in it) is taken every 10 entries.
    s.extra = ["--enable-v2", "--snapshot-count", "10"]
        .map(String::from)
        .to_vec();
    s.start(REAL_ETCD);
    s.v2(&["set", "/early", "in-the-snapshot"]).ok();
    for i in 0..20 {
        s.ctl(&["put", &format!("k{i:02}"), &format!("v{i}")]).ok();
    }
    for i in 0..5 {
        s.ctl(&["put", &format!("k{i:02}"), &format!("again{i}")])
            .ok();
    }
    s.ctl(&["del", "k05"]).ok();
    s.ctl(&["del", "k06", "k09"]).ok();
    s.ctl(&["compact", "10"]).ok();
    let lease = s.ctl(&["lease", "grant", "600"]).ok().stdout;
    let lease = lease.split_whitespace().nth(1).unwrap().to_string();
    s.ctl(&["put", "leased", "x", "--lease", &lease]).ok();
    s.ctl(&["put", "k19", "last"]).ok();
    s.v2(&["set", "/late", "after-the-snapshot"]).ok();
    let before = snapshot_of_kv(&s);
    let leases = lease_ids(&s);
    let member_list = members(&s);
    let rev15 = s
        .ctl(&["get", "", "--prefix", "--rev", "15", "-w", "json"])
        .ok()
        .stdout;
    s.stop();

    s.start(OURS);
    let log = s.log_text();
    assert!(log.contains("imported etcd 3.4 data"), "{log}");
    assert_eq!(snapshot_of_kv(&s), before);
    assert_eq!(lease_ids(&s), leases);
    assert_eq!(members(&s), member_list);
    let ours15 = s
        .ctl(&["get", "", "--prefix", "--rev", "15", "-w", "json"])
        .ok()
        .stdout;
    let strip = |t: &str| {
        let mut v: Value = serde_json::from_str(t).unwrap();
        v["header"] = Value::Null;
        v
    };
    assert_eq!(strip(&ours15), strip(&rev15));
    let compacted = s.ctl(&["get", "k00", "--rev", "5"]);
    assert!(
        compacted
            .stderr
            .contains("required revision has been compacted"),
        "{compacted:?}"
    );
    let ttl = s
        .ctl(&["lease", "timetolive", &lease, "--keys"])
        .ok()
        .stdout;
    assert!(ttl.contains("attached keys([leased])"), "{ttl}");
    // Writes go on from the next revision.
    let rev = before.1["revision"].as_i64().unwrap();
    let put = json(s.ctl(&["put", "after", "1", "-w", "json"]));
    assert_eq!(put["header"]["revision"].as_i64(), Some(rev + 1));
    assert!(s
        .data_dir
        .join("member.etcd-3.4-backup")
        .join("wal")
        .is_dir());
    assert!(
        !log.contains("snapshot index 0,"),
        "no etcd snapshot was imported: {log}"
    );
    assert_eq!(
        s.v2(&["get", "/early"]).ok().stdout.trim(),
        "in-the-snapshot"
    );
    assert_eq!(
        s.v2(&["get", "/late"]).ok().stdout.trim(),
        "after-the-snapshot"
    );
    // A restart boots our own format, with nothing imported again.
    s.stop();
    s.start(OURS);
    assert!(!s.log_text().contains("importing"), "{}", s.log_text());
    assert_eq!(
        s.ctl(&["get", "after", "--print-value-only"])
            .ok()
            .stdout
            .trim(),
        "1"
    );
}

/// "consistent index N" and "last index M" from our import log line.
fn imported_indexes(log: &str) -> (u64, u64) {
    let line = log
        .lines()
        .find(|l| l.contains("imported etcd 3.4 data"))
        .unwrap_or_else(|| panic!("{log}"));
    let num = |pat: &str| -> u64 {
        let at = line.find(pat).unwrap() + pat.len();
        line[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (num("consistent index "), num("last index "))
}

#[test]
fn kill9_with_unflushed_backend_and_separate_wal_dir_keeps_every_acked_write() {
    let root = tempfile::tempdir().unwrap();
    let mut s = Server::new(root.path(), "beta");
    let wal_dir = root.path().join("wal-elsewhere");
    s.extra = vec!["--wal-dir".into(), wal_dir.to_string_lossy().into_owned()];
    let real_extra = [
        "--backend-batch-interval",
        "1h",
        "--backend-batch-limit",
        "1000000",
    ];
    s.extra.extend(real_extra.iter().map(|a| a.to_string()));
    s.start(REAL_ETCD);
    let mut acked = BTreeMap::new();
    for i in 0..40 {
        let (k, v) = (format!("key{i:03}"), format!("value-{i}"));
        s.ctl(&["put", &k, &v]).ok();
        acked.insert(k, v);
    }
    s.ctl(&["del", "key007"]).ok();
    acked.remove("key007");
    s.kill9();

    // Ours, crashing right after etcd's WAL dir was swapped out.
    s.extra.truncate(2);
    s.spawn(
        OURS,
        &[("FAILPOINTS", "import_etcd_between_renames=1*off->return")],
    );
    assert!(s.wait_exit().is_some_and(|c| c != 0), "{}", s.log_text());
    s.start(OURS);
    let log = s.log_text();
    assert!(log.contains("finished an interrupted import"), "{log}");
    let v = json(s.ctl(&["get", "key", "--prefix", "-w", "json"]));
    let got: BTreeMap<String, String> = v["kvs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            let d = |f: &str| String::from_utf8(base64_decode(kv[f].as_str().unwrap())).unwrap();
            (d("key"), d("value"))
        })
        .collect();
    assert_eq!(got, acked);
    assert!(wal_dir
        .with_file_name("wal-elsewhere.etcd-3.4-backup")
        .is_dir());
    assert!(s.data_dir.join("member.etcd-3.4-backup").is_dir());
}

/// The premise of the kill -9 tests, checked on the import's own report:
/// the db's consistent index lags the WAL, so the applier must replay.
#[test]
fn kill9_leaves_wal_entries_beyond_the_db_and_ours_replays_them() {
    let root = tempfile::tempdir().unwrap();
    let mut s = Server::new(root.path(), "gamma");
    s.extra = [
        "--backend-batch-interval",
        "1h",
        "--backend-batch-limit",
        "1000000",
    ]
    .map(String::from)
    .to_vec();
    s.start(REAL_ETCD);
    for i in 0..10 {
        s.ctl(&["put", &format!("k{i}"), "v"]).ok();
    }
    s.kill9();
    s.extra.clear();
    s.start(OURS);
    let (consistent, last) = imported_indexes(&s.log_text());
    assert!(
        consistent < last,
        "the db was expected to lag the WAL: {consistent} vs {last}"
    );
    assert_eq!(
        json(s.ctl(&["get", "k", "--prefix", "-w", "json"]))["count"],
        10
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn real_snapshot_restore_into_three_dirs_starts_a_cluster_of_ours() {
    let root = tempfile::tempdir().unwrap();
    let mut src = Server::new(root.path(), "source");
    src.start(REAL_ETCD);
    for i in 0..30 {
        src.ctl(&["put", &format!("data{i:02}"), &format!("d{i}")])
            .ok();
    }
    let want = src
        .ctl(&["get", "data", "--prefix", "--print-value-only"])
        .ok()
        .stdout;
    let snap = root.path().join("backup.db");
    src.ctl(&["snapshot", "save", snap.to_str().unwrap()]).ok();
    src.stop();

    let mut ms: Vec<Server> = ["m1", "m2", "m3"]
        .iter()
        .map(|n| Server::new(root.path(), n))
        .collect();
    let cluster: Vec<String> = ms
        .iter()
        .map(|m| format!("{}={}", m.name, m.peer_url()))
        .collect();
    let cluster = cluster.join(",");
    for m in &mut ms {
        m.initial_cluster = cluster.clone();
        m.extra = vec!["--initial-cluster-token".into(), "imported".into()];
        real_etcdctl(&[
            "snapshot",
            "restore",
            snap.to_str().unwrap(),
            "--name",
            &m.name,
            "--data-dir",
            m.data_dir.to_str().unwrap(),
            "--initial-cluster",
            &cluster,
            "--initial-cluster-token",
            "imported",
            "--initial-advertise-peer-urls",
            &m.peer_url(),
        ])
        .ok();
    }
    for m in &mut ms {
        m.spawn(OURS, &[]);
    }
    for m in &mut ms {
        m.wait_ready();
    }
    for m in &ms {
        assert!(
            m.log_text().contains("imported etcd 3.4 data"),
            "{}",
            m.log_text()
        );
        assert_eq!(
            m.ctl(&["get", "data", "--prefix", "--print-value-only"])
                .ok()
                .stdout,
            want
        );
        assert_eq!(members(m).len(), 3);
    }
    ms[0].ctl(&["put", "new", "write"]).ok();
    for m in &ms {
        let ok = wait_until(TIMEOUT, || {
            m.ctl(&["get", "new", "--print-value-only", "--consistency=s"])
                .stdout
                .trim()
                == "write"
        });
        assert!(ok, "{} did not get the new write", m.name);
    }
}

/// Every file under `dir` with its bytes (the WAL segment is 64 MB: hashed).
fn tree(dir: &Path) -> BTreeMap<PathBuf, (u64, u64)> {
    fn walk(d: &Path, out: &mut BTreeMap<PathBuf, (u64, u64)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), out);
            } else {
                let b = std::fs::read(e.path()).unwrap();
                let mut h = std::hash::DefaultHasher::new();
                std::hash::Hash::hash(&b, &mut h);
                out.insert(e.path(), (b.len() as u64, std::hash::Hasher::finish(&h)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

#[test]
fn corrupt_etcd_wal_record_refuses_start_and_leaves_the_dir_untouched() {
    let root = tempfile::tempdir().unwrap();
    let mut s = Server::new(root.path(), "delta");
    s.start(REAL_ETCD);
    s.ctl(&["put", "a", "value-before"]).ok();
    s.ctl(&["put", "b", "corrupt-me-please"]).ok();
    s.ctl(&["put", "c", "value-after"]).ok();
    s.stop();
    let wal = std::fs::read_dir(s.data_dir.join("member/wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "wal"))
        .unwrap();
    let mut bytes = std::fs::read(&wal).unwrap();
    let at = bytes
        .windows(17)
        .position(|w| w == b"corrupt-me-please")
        .unwrap();
    bytes[at + 3] ^= 0x20;
    std::fs::write(&wal, bytes).unwrap();
    let before = tree(&s.data_dir);

    s.spawn(OURS, &[]);
    let code = s.wait_exit();
    assert!(
        code.is_some_and(|c| c != 0),
        "ours started on a corrupt WAL\n{}",
        s.log_text()
    );
    let log = s.log_text();
    assert!(
        log.contains("crc mismatch") && log.contains("cannot import etcd 3.4 data"),
        "{log}"
    );
    assert_eq!(tree(&s.data_dir), before, "the data dir changed");
}
