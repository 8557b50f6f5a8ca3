//! Process-level test harness: one single-member etcd server per test.
//!
//! Contract:
//! - The server binary is `$ETCD_RS_TEST_ETCD` when set (e.g. `/usr/bin/etcd`, the
//!   real etcd 3.4.23 used as the reference), else our own `etcd` binary. Tests
//!   assert etcd's real behaviour, so the same tests must pass against both.
//! - Every server gets fresh loopback ports and a temp dir (data dir + log file),
//!   removed on drop. The process is killed with SIGKILL and reaped on drop, by
//!   its own PID only.
//! - Every wait is a bounded poll on a condition; a timeout fails the test with
//!   the server log attached.
//! - `etcdctl` is always the real `/usr/bin/etcdctl` 3.4.23 (v3 API).

#![allow(dead_code)]

pub mod cluster;
pub mod differ;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Env var naming the server binary to test instead of ours.
pub const SERVER_ENV: &str = "ETCD_RS_TEST_ETCD";
/// The real etcdctl 3.4.23.
pub const ETCDCTL_PATH: &str = "/usr/bin/etcdctl";
/// Upper bound for a server to become ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Upper bound for one etcdctl invocation.
pub const ETCDCTL_TIMEOUT: Duration = Duration::from_secs(20);
/// Interval between polls of a condition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// The log line etcd prints once its client listeners serve.
pub const READY_LINE: &str = "ready to serve client requests";

/// Path of the server binary under test.
pub fn server_binary() -> PathBuf {
    match std::env::var_os(SERVER_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_etcd")),
    }
}

/// True when the tests run against an external binary (the real etcd), not ours.
pub fn testing_external_server() -> bool {
    std::env::var_os(SERVER_ENV).is_some_and(|p| !p.is_empty())
}

/// Polls `cond` every [`POLL_INTERVAL`] until it holds or `timeout` elapses.
/// Returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// A free loopback TCP port (bound then released; a small race with other
/// processes is possible and handled by retrying the start).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// Options for [`EtcdProcess::start`].
#[derive(Clone, Debug)]
pub struct EtcdOpts {
    /// `--name`.
    pub name: String,
    /// Extra command-line arguments appended after the standard ones.
    pub args: Vec<String>,
    /// Extra environment variables for the server process.
    pub envs: Vec<(String, String)>,
    /// Whether to wait for `etcdctl endpoint health` to succeed (false for
    /// servers expected to die early, e.g. failpoint runs).
    pub wait_healthy: bool,
    /// The server binary for this process (None: [`server_binary`]); lets one
    /// test run ours and the real etcd side by side.
    pub binary: Option<PathBuf>,
    /// How the standard settings (name, data dir, URLs, initial cluster) reach
    /// the server.
    pub via: SettingsVia,
}

/// How [`EtcdProcess`] passes its standard settings to the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SettingsVia {
    /// Command-line flags (`--name`, `--data-dir`, ...).
    #[default]
    Flags,
    /// `ETCD_*` environment variables (`ETCD_NAME`, `ETCD_DATA_DIR`, ...).
    Env,
    /// A YAML file `<temp dir>/etcd.conf.yml` given as `--config-file`.
    ConfigFile,
}

impl Default for EtcdOpts {
    fn default() -> Self {
        EtcdOpts {
            name: "default".to_string(),
            args: Vec::new(),
            envs: Vec::new(),
            wait_healthy: true,
            binary: None,
            via: SettingsVia::Flags,
        }
    }
}

/// Output of one etcdctl run.
#[derive(Debug, Clone)]
pub struct CtlOutput {
    /// Captured stdout, lossily decoded.
    pub stdout: String,
    /// Captured stderr, lossily decoded.
    pub stderr: String,
    /// Raw stdout bytes (for `-w protobuf`).
    pub stdout_bytes: Vec<u8>,
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
}

impl CtlOutput {
    /// The last non-empty line of stderr (etcdctl's `Error: ...` line).
    pub fn last_err_line(&self) -> &str {
        self.stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
    }

    /// Panics with full context unless the exit code is 0.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "etcdctl failed: {self:#?}");
        self
    }
}

/// A running (or killed) single-member server and its temp dir.
pub struct EtcdProcess {
    opts: EtcdOpts,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
    /// Exit status of the last child that exited by itself (reaped by a poll).
    last_exit: Option<ExitStatus>,
    /// Byte offset in the log where the current run's output starts.
    log_start: u64,
}

impl EtcdProcess {
    /// Starts a fresh server and waits until it is ready (see module docs).
    pub fn start(opts: EtcdOpts) -> EtcdProcess {
        const ATTEMPTS: usize = 3;
        let mut last_log = String::new();
        for _ in 0..ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("etcd-rs-test")
                .tempdir()
                .expect("tempdir");
            let mut p = EtcdProcess {
                opts: opts.clone(),
                dir,
                client_port: free_port(),
                peer_port: free_port(),
                child: None,
                last_exit: None,
                log_start: 0,
            };
            if p.client_port == p.peer_port {
                continue;
            }
            p.spawn();
            match p.wait_ready() {
                Ok(()) => return p,
                Err(_) if p.log().contains("address already in use") => {
                    last_log = p.log();
                    continue;
                }
                Err(e) => panic!("{e}\n--- server log ---\n{}", p.log()),
            }
        }
        panic!("server did not start after {ATTEMPTS} attempts\n{last_log}");
    }

    /// Starts the server and returns without waiting for readiness.
    pub fn start_no_wait(opts: EtcdOpts) -> EtcdProcess {
        let dir = tempfile::Builder::new()
            .prefix("etcd-rs-test")
            .tempdir()
            .expect("tempdir");
        let mut p = EtcdProcess {
            opts,
            dir,
            client_port: free_port(),
            peer_port: free_port(),
            child: None,
            last_exit: None,
            log_start: 0,
        };
        p.spawn();
        p
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Path of the server's log file (stdout + stderr of every run, appended).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    /// The data directory (kept across restarts).
    pub fn data_path(&self) -> PathBuf {
        self.data_dir()
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "spawn while a child is running");
        self.last_exit = None;
        let log_path = self.log_path();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open log");
        self.log_start = log.metadata().expect("log metadata").len();
        let mut cmd = Command::new(self.binary());
        // Inherited ETCD_* variables would change the server's config (and etcd
        // warns about unknown ones such as ETCD_RS_TEST_ETCD).
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") || k == "FAILPOINTS" {
                cmd.env_remove(k);
            }
        }
        let settings = self.standard_settings();
        match self.opts.via {
            SettingsVia::Flags => {
                for (name, value) in &settings {
                    cmd.arg(format!("--{name}")).arg(value);
                }
            }
            SettingsVia::Env => {
                for (name, value) in &settings {
                    let var = format!("ETCD_{}", name.to_uppercase().replace('-', "_"));
                    cmd.env(var, value);
                }
            }
            SettingsVia::ConfigFile => {
                let path = self.config_file_path();
                let yaml: String = settings
                    .iter()
                    .map(|(name, value)| format!("{name}: '{value}'\n"))
                    .collect();
                std::fs::write(&path, yaml).expect("write config file");
                cmd.arg("--config-file").arg(path);
            }
        }
        cmd.args(&self.opts.args);
        cmd.envs(self.opts.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {:?}: {e}", self.binary()));
        self.child = Some(child);
    }

    /// The standard settings as (flag name, value) pairs.
    pub fn standard_settings(&self) -> Vec<(&'static str, String)> {
        let client = self.client_url();
        let peer = self.peer_url();
        vec![
            ("name", self.opts.name.clone()),
            ("data-dir", self.data_dir().to_string_lossy().into_owned()),
            ("listen-client-urls", client.clone()),
            ("advertise-client-urls", client),
            ("listen-peer-urls", peer.clone()),
            ("initial-advertise-peer-urls", peer.clone()),
            ("initial-cluster", format!("{}={}", self.opts.name, peer)),
        ]
    }

    /// Where [`SettingsVia::ConfigFile`] writes the YAML config.
    pub fn config_file_path(&self) -> PathBuf {
        self.dir.path().join("etcd.conf.yml")
    }

    /// The binary this process runs.
    pub fn binary(&self) -> PathBuf {
        self.opts.binary.clone().unwrap_or_else(server_binary)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut logged_ready = false;
        loop {
            if let Some(status) = self.try_exit_status() {
                return Err(format!("server exited during start-up: {status}"));
            }
            if !logged_ready {
                logged_ready = self.current_log().contains(READY_LINE);
            }
            if logged_ready && (!self.opts.wait_healthy || self.healthy()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "server not ready within {START_TIMEOUT:?} (ready line seen: {logged_ready})"
                ));
            }
            std::thread::sleep(POLL_INTERVAL * 5);
        }
    }

    /// One `etcdctl endpoint health` probe with a short timeout.
    pub fn healthy(&self) -> bool {
        let out = run_with_timeout(
            self.ctl_command(&["--command-timeout=2s", "endpoint", "health"]),
            None,
            Duration::from_secs(5),
        );
        out.code == 0
    }

    /// Kills the running server (SIGKILL) and restarts it on the same data dir
    /// and ports, waiting until it is ready.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
        if let Err(e) = self.wait_ready() {
            panic!("restart failed: {e}\n--- server log ---\n{}", self.log());
        }
    }

    /// Starts the server again after it was stopped (by [`Self::kill9`],
    /// [`Self::terminate`] or by itself), on the same data dir and ports,
    /// waiting until it is ready.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "start_again while running");
        self.spawn();
        if let Err(e) = self.wait_ready() {
            panic!("start failed: {e}\n--- server log ---\n{}", self.log());
        }
    }

    /// Starts the server again without waiting (for runs expected to fail).
    pub fn spawn_again(&mut self) {
        self.spawn();
    }

    /// Sends SIGTERM to our child (by its PID) and waits (bounded) for it to
    /// exit; returns its status, or None if it had to be killed after `timeout`.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let pid = match &self.child {
            Some(c) => c.id(),
            None => return self.last_exit,
        };
        // SAFETY: plain kill(2) on the PID of a child we have not reaped yet.
        let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill(SIGTERM) failed");
        let status = self.wait_exit(timeout);
        if status.is_none() {
            self.kill9();
        }
        status
    }

    /// Restarts with different extra environment (e.g. without FAILPOINTS).
    pub fn restart_with_envs(&mut self, envs: Vec<(String, String)>) {
        self.opts.envs = envs;
        self.restart();
    }

    /// Sends SIGKILL to our child (if still running) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Child::kill is SIGKILL on Unix, addressed to this PID only.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The child's exit status if it has exited (reaping it).
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                self.last_exit = Some(status);
                Some(status)
            }
            Ok(None) => None,
            Err(e) => panic!("try_wait: {e}"),
        }
    }

    /// How the last child that exited by itself ended (None if it was killed
    /// by us or is still running).
    pub fn last_exit(&self) -> Option<ExitStatus> {
        self.last_exit
    }

    /// Waits (bounded) for the process to exit by itself; returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(timeout, || {
            status = self.try_exit_status();
            status.is_some() || self.child.is_none()
        });
        status
    }

    /// Whether the child process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.try_exit_status().is_none()
    }

    /// `127.0.0.1:<client port>`, as given to `etcdctl --endpoints`.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// `http://127.0.0.1:<client port>` (for tonic and the advertised URL).
    pub fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// `http://127.0.0.1:<peer port>`.
    pub fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    /// The client port.
    pub fn client_port(&self) -> u16 {
        self.client_port
    }

    /// The member name.
    pub fn name(&self) -> &str {
        &self.opts.name
    }

    /// The whole log (all runs).
    pub fn log(&self) -> String {
        read_lossy(&self.log_path())
    }

    /// The log of the current run only.
    pub fn current_log(&self) -> String {
        let mut f = match File::open(self.log_path()) {
            Ok(f) => f,
            Err(_) => return String::new(),
        };
        let mut buf = Vec::new();
        use std::io::Seek;
        if f.seek(std::io::SeekFrom::Start(self.log_start)).is_err() {
            return String::new();
        }
        let _ = f.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    fn ctl_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(ETCDCTL_PATH);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCDCTL") {
                cmd.env_remove(k);
            }
        }
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoint()))
            .args(args);
        cmd
    }

    /// Runs `etcdctl --endpoints=<ep> <args>` (bounded by [`ETCDCTL_TIMEOUT`]).
    pub fn etcdctl(&self, args: &[&str]) -> CtlOutput {
        run_with_timeout(self.ctl_command(args), None, ETCDCTL_TIMEOUT)
    }

    /// Like [`Self::etcdctl`], feeding `input` on stdin.
    pub fn etcdctl_stdin(&self, args: &[&str], input: &str) -> CtlOutput {
        run_with_timeout(
            self.ctl_command(args),
            Some(input.as_bytes()),
            ETCDCTL_TIMEOUT,
        )
    }

    /// Starts a long-running etcdctl (e.g. `watch`) whose output is read as it
    /// arrives; stdin stays open until [`CtlStream::close_stdin`].
    pub fn etcdctl_spawn(&self, args: &[&str]) -> CtlStream {
        CtlStream::spawn(self.ctl_command(args))
    }

    /// The cluster and member ids from `endpoint status -w json`.
    pub fn ids(&self) -> Ids {
        let out = self.etcdctl(&["endpoint", "status", "-w", "json"]).ok();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("status json");
        let h = &v[0]["Status"]["header"];
        Ids {
            cluster_id: h["cluster_id"].as_u64().expect("cluster_id"),
            member_id: h["member_id"].as_u64().expect("member_id"),
            raft_term: h["raft_term"].as_u64().expect("raft_term"),
        }
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Identifiers that differ per run (ports feed the member id).
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    /// Cluster id.
    pub cluster_id: u64,
    /// Member id.
    pub member_id: u64,
    /// Current raft term.
    pub raft_term: u64,
}

impl Ids {
    /// Replaces the ids in `s` (decimal, and hex as etcdctl prints member ids) and
    /// the `raft_term` JSON field value with placeholders `<CLUSTER_ID>`,
    /// `<MEMBER_ID>`, `<MEMBER_HEX>`, `<CLUSTER_HEX>`, `<TERM>`.
    pub fn normalise(&self, s: &str) -> String {
        let mut out = s
            .replace(&self.cluster_id.to_string(), "<CLUSTER_ID>")
            .replace(&self.member_id.to_string(), "<MEMBER_ID>")
            .replace(&format!("{:x}", self.member_id), "<MEMBER_HEX>")
            .replace(&format!("{:x}", self.cluster_id), "<CLUSTER_HEX>");
        for (pat, quoted) in [
            ("\"raft_term\":", false),
            ("\"raftTerm\":", false),
            ("\"raft_term\":\"", true),
            ("\"RaftTerm\" : ", false),
        ] {
            out = replace_number_after(&out, pat, if quoted { "<TERM>\"" } else { "<TERM>" });
        }
        out
    }
}

/// Replaces the run of ASCII digits right after every occurrence of `pat`
/// (optionally followed by a closing quote, consumed into `with`).
pub fn replace_number_after(s: &str, pat: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(pat) {
        out.push_str(&rest[..i + pat.len()]);
        rest = &rest[i + pat.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        rest = &rest[digits..];
        if with.ends_with('"') {
            rest = rest.strip_prefix('"').unwrap_or(rest);
        }
        out.push_str(with);
    }
    out.push_str(rest);
    out
}

fn read_lossy(p: &Path) -> String {
    std::fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// `etcdctl member list -w json` output as sorted (member id, first peer
/// URL) pairs and the cluster id.
pub fn parse_member_list(json: &str) -> (Vec<(u64, String)>, u64) {
    let v: serde_json::Value = serde_json::from_str(json).expect("member list json");
    let mut ms: Vec<(u64, String)> = v["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|x| {
            (
                x["ID"].as_u64().expect("id"),
                x["peerURLs"][0].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    ms.sort();
    (ms, v["header"]["cluster_id"].as_u64().expect("cluster id"))
}

/// Runs `cmd`, feeding `input`, capturing output; kills it (by its PID) after `timeout`.
pub fn run_with_timeout(mut cmd: Command, input: Option<&[u8]>, timeout: Duration) -> CtlOutput {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn etcdctl");
    if let Some(data) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let mut status = None;
    let finished = wait_until(timeout, || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    if !finished {
        let _ = child.kill();
        status = Some(child.wait().expect("wait"));
    }
    let stdout_bytes = out_t.join().expect("stdout thread");
    let stderr = err_t.join().expect("stderr thread");
    let status = status.expect("status");
    assert!(finished, "command {cmd:?} timed out after {timeout:?}");
    CtlOutput {
        stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        stdout_bytes,
        code: status.code().unwrap_or(-1),
    }
}

/// A multi-thread tokio runtime for gRPC tests.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A running etcdctl whose stdout/stderr are collected in the background.
/// Killed (SIGKILL, its own PID) and reaped on drop.
pub struct CtlStream {
    child: Option<Child>,
    stdin: Option<std::process::ChildStdin>,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    stderr: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl CtlStream {
    pub fn spawn(mut cmd: Command) -> CtlStream {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn etcdctl");
        let stdin = child.stdin.take();
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        let out_pipe: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("stdout"));
        let err_pipe: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("stderr"));
        for (mut pipe, buf) in [(out_pipe, stdout.clone()), (err_pipe, stderr.clone())] {
            readers.push(std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf
                            .lock()
                            .expect("buffer lock")
                            .extend_from_slice(&chunk[..n]),
                    }
                }
            }));
        }
        CtlStream {
            child: Some(child),
            stdin,
            stdout,
            stderr,
            readers,
        }
    }

    /// stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().expect("buffer lock")).into_owned()
    }

    /// stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("buffer lock")).into_owned()
    }

    /// Writes to the child's stdin.
    pub fn write_stdin(&mut self, s: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(s.as_bytes()).expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Closes the child's stdin (EOF).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Polls until stdout satisfies `pred` (bounded by `timeout`).
    pub fn wait_stdout(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        wait_until(timeout, || pred(&self.stdout()))
    }

    /// Waits until stdout is exactly `expected`; panics with both streams if
    /// it is not within `timeout` (a longer stdout fails at once).
    pub fn expect_stdout(&self, timeout: Duration, expected: &str) {
        let ok = self.wait_stdout(timeout, |s| s.len() >= expected.len());
        let got = self.stdout();
        assert!(
            ok && got == expected,
            "stdout {got:?}, expected {expected:?}; stderr {:?}",
            self.stderr()
        );
    }

    /// Kills the child (if still running) and returns everything it printed.
    pub fn stop(mut self) -> CtlOutput {
        self.stdin = None;
        let mut child = self.child.take().expect("child");
        let exited = child.try_wait().expect("try_wait");
        if exited.is_none() {
            let _ = child.kill();
        }
        let status = child.wait().expect("wait");
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let stdout_bytes = self.stdout.lock().expect("buffer lock").clone();
        CtlOutput {
            stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
            stderr: self.stderr(),
            stdout_bytes,
            code: status.code().unwrap_or(-1),
        }
    }

    /// Waits (bounded) for the child to exit by itself and returns its output.
    pub fn wait_exit(mut self, timeout: Duration) -> CtlOutput {
        let child = self.child.as_mut().expect("child");
        let exited = wait_until(timeout, || child.try_wait().expect("try_wait").is_some());
        let out = self.stop();
        assert!(exited, "etcdctl did not exit within {timeout:?}: {out:#?}");
        out
    }
}

impl Drop for CtlStream {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
