//! Multi-member cluster harness: n real server processes on loopback, each
//! behind a fault-injecting peer proxy ([`proxy`], declared here so the
//! shared `mod.rs` needs one line).
//!
//! Contract:
//! - Member `i` is named `m<i>`, listens for peers on its own free port and
//!   advertises the proxy's port for `i` as its peer URL, so all Raft traffic
//!   to `i` crosses the proxy. `--initial-cluster` lists the advertised URLs.
//! - The binary is [`ClusterOpts::binary`], else `$ETCD_RS_TEST_ETCD`, else
//!   ours; the same harness runs the real etcd 3.4 as reference.
//! - Every member has its own temp data dir, kept across [`Cluster::kill9`] /
//!   [`Cluster::restart`] and removed on drop. Processes are stopped with
//!   SIGKILL by their own PID on drop (a paused one too: SIGKILL ends a
//!   stopped process).
//! - Every wait is a bounded poll; gRPC calls carry timeouts, so a dead or
//!   paused member costs at most [`RPC_TIMEOUT`] per call.
//! - gRPC work runs on the cluster's own runtime: tests call the sync helpers
//!   or [`Cluster::block_on`]; never call a sync helper inside `block_on`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_proto::etcdserverpb::cluster_client::ClusterClient;
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_proto::etcdserverpb::{
    HashKvRequest, MemberListRequest, PutRequest, PutResponse, RangeRequest, StatusRequest,
    StatusResponse,
};
use tonic::transport::{Channel, Endpoint};

#[path = "proxy.rs"]
pub mod proxy;

use super::{
    free_port, run_with_timeout, server_binary, CtlOutput, ETCDCTL_PATH, POLL_INTERVAL, READY_LINE,
};
use proxy::FaultProxy;

/// Upper bound for one gRPC call made by the harness.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(2);
/// Upper bound for one member to log that it is ready.
pub const MEMBER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for one etcdctl run.
pub const CTL_TIMEOUT: Duration = Duration::from_secs(20);

/// Lines of each member's log attached to a failure.
pub const LOG_TAIL_LINES: usize = 25;

/// Options for [`Cluster::start`].
#[derive(Clone, Debug)]
pub struct ClusterOpts {
    /// Server binary (None: `$ETCD_RS_TEST_ETCD` or ours).
    pub binary: Option<PathBuf>,
    /// `--heartbeat-interval` in ms.
    pub heartbeat_ms: u64,
    /// `--election-timeout` in ms (etcd requires >= 5 x heartbeat).
    pub election_ms: u64,
    /// `--initial-cluster-token`.
    pub token: String,
    /// Extra flags for every member.
    pub args: Vec<String>,
    /// Extra environment for every member (set after `ETCD*` is cleared).
    pub envs: Vec<(String, String)>,
}

impl Default for ClusterOpts {
    fn default() -> Self {
        ClusterOpts {
            binary: None,
            heartbeat_ms: 50,
            election_ms: 500,
            token: "etcd-rs-cluster-test".into(),
            args: Vec::new(),
            envs: Vec::new(),
        }
    }
}

impl ClusterOpts {
    /// Options running the real etcd 3.4 binary.
    pub fn real_etcd() -> ClusterOpts {
        ClusterOpts {
            binary: Some(PathBuf::from("/usr/bin/etcd")),
            ..Default::default()
        }
    }
}

/// One member process and its files.
struct Member {
    name: String,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
    paused: bool,
    log_start: u64,
    /// `--initial-cluster-state` ("existing" once re-added by [`Cluster::rejoin_fresh`]).
    state: &'static str,
    /// Environment for the next start only (e.g. FAILPOINTS), cleared by it.
    next_env: Vec<(String, String)>,
}

impl Member {
    fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    fn log(&self) -> String {
        std::fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
    fn current_log(&self) -> String {
        let Ok(mut f) = File::open(self.log_path()) else {
            return String::new();
        };
        let mut buf = Vec::new();
        if f.seek(std::io::SeekFrom::Start(self.log_start)).is_ok() {
            let _ = f.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
    fn exited(&mut self) -> bool {
        match self.child.as_mut() {
            None => true,
            Some(c) => match c.try_wait() {
                Ok(Some(_)) => {
                    self.child = None;
                    true
                }
                _ => false,
            },
        }
    }
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGKILL to this PID only; also ends a SIGSTOPped process.
            let _ = c.kill();
            let _ = c.wait();
        }
        self.paused = false;
    }
}

/// Status of one member, as the harness sees it.
#[derive(Clone, Debug)]
pub struct MemberStatus {
    /// Member id from the response header.
    pub member_id: u64,
    /// Who the member thinks leads (0: nobody).
    pub leader: u64,
    /// Raft term.
    pub raft_term: u64,
    /// Commit index.
    pub raft_index: u64,
    /// Applied index.
    pub raft_applied_index: u64,
}

impl From<StatusResponse> for MemberStatus {
    fn from(s: StatusResponse) -> Self {
        let h = s.header.unwrap_or_default();
        MemberStatus {
            member_id: h.member_id,
            leader: s.leader,
            raft_term: s.raft_term,
            raft_index: s.raft_index,
            raft_applied_index: s.raft_applied_index,
        }
    }
}

/// A running cluster; everything stops on drop.
pub struct Cluster {
    opts: ClusterOpts,
    members: Vec<Member>,
    proxy: FaultProxy,
    ids: Vec<u64>,
    cluster_id: u64,
    rt: tokio::runtime::Runtime,
}

impl Cluster {
    /// Starts `n` members, waits until each logs readiness and a leader is
    /// agreed, and learns the member ids (panics with the logs otherwise).
    pub fn start(n: usize, opts: ClusterOpts) -> Cluster {
        assert!(n >= 1);
        let proxy = FaultProxy::start(n);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cluster-client")
            .enable_all()
            .build()
            .expect("client runtime");
        let members = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                dir: tempfile::Builder::new()
                    .prefix("etcd-rs-cluster")
                    .tempdir()
                    .expect("tempdir"),
                client_port: 0,
                peer_port: 0,
                child: None,
                paused: false,
                log_start: 0,
                state: "new",
                next_env: Vec::new(),
            })
            .collect();
        let mut c = Cluster {
            opts,
            members,
            proxy,
            ids: vec![0; n],
            cluster_id: 0,
            rt,
        };
        for i in 0..n {
            c.pick_ports(i);
            c.spawn(i);
        }
        for i in 0..n {
            c.wait_ready_first_start(i);
        }
        c.wait_leader(Duration::from_secs(30));
        c.learn_ids();
        c
    }

    fn pick_ports(&mut self, i: usize) {
        let m = &mut self.members[i];
        loop {
            m.client_port = free_port();
            m.peer_port = free_port();
            if m.client_port != m.peer_port {
                break;
            }
        }
        self.proxy.set_target(i, m.peer_port);
    }

    /// `--initial-cluster`: every member's advertised (proxy) peer URL.
    pub fn initial_cluster(&self) -> String {
        (0..self.members.len())
            .map(|i| format!("{}={}", self.members[i].name, self.proxy.url(i)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The binary members run.
    pub fn binary(&self) -> PathBuf {
        self.opts.binary.clone().unwrap_or_else(server_binary)
    }

    /// Whether this cluster runs the real etcd rather than ours.
    pub fn is_real_etcd(&self) -> bool {
        self.binary() != PathBuf::from(env!("CARGO_BIN_EXE_etcd"))
    }

    fn spawn(&mut self, i: usize) {
        let initial_cluster = self.initial_cluster();
        let binary = self.binary();
        let advertise_peer = self.proxy.url(i);
        let opts = self.opts.clone();
        let m = &mut self.members[i];
        assert!(m.child.is_none(), "member {i} already running");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(m.log_path())
            .expect("open log");
        m.log_start = log.metadata().expect("log metadata").len();
        let client = format!("http://127.0.0.1:{}", m.client_port);
        let mut cmd = Command::new(&binary);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") || k == "FAILPOINTS" {
                cmd.env_remove(k);
            }
        }
        cmd.arg("--name")
            .arg(&m.name)
            .arg("--data-dir")
            .arg(m.data_dir())
            .arg("--listen-client-urls")
            .arg(&client)
            .arg("--advertise-client-urls")
            .arg(&client)
            .arg("--listen-peer-urls")
            .arg(format!("http://127.0.0.1:{}", m.peer_port))
            .arg("--initial-advertise-peer-urls")
            .arg(advertise_peer)
            .arg("--initial-cluster")
            .arg(initial_cluster)
            .arg("--initial-cluster-token")
            .arg(&opts.token)
            .arg("--initial-cluster-state")
            .arg(m.state)
            .arg("--heartbeat-interval")
            .arg(opts.heartbeat_ms.to_string())
            .arg("--election-timeout")
            .arg(opts.election_ms.to_string())
            .args(&opts.args)
            .envs(opts.envs.iter().map(|(k, v)| (k, v)))
            .envs(std::mem::take(&mut m.next_env))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log);
        m.child = Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("spawn {binary:?}: {e}")),
        );
        m.paused = false;
    }

    /// First start: a port race ("address already in use", any case: ours
    /// prints Rust's "Address already in use") is retried with
    /// fresh ports and a fresh data dir; other failures panic.
    fn wait_ready_first_start(&mut self, i: usize) {
        const ATTEMPTS: usize = 3;
        for _ in 0..ATTEMPTS {
            match self.wait_ready(i) {
                Ok(()) => return,
                Err(_)
                    if self.members[i]
                        .current_log()
                        .to_ascii_lowercase()
                        .contains("address already in use") =>
                {
                    self.members[i].kill9();
                    let _ = std::fs::remove_dir_all(self.members[i].data_dir());
                    self.pick_ports(i);
                    self.spawn(i);
                }
                Err(e) => panic!("{e}\n{}", self.logs()),
            }
        }
        panic!(
            "member {i} did not start after {ATTEMPTS} attempts\n{}",
            self.logs()
        );
    }

    fn wait_ready(&mut self, i: usize) -> Result<(), String> {
        let deadline = Instant::now() + MEMBER_START_TIMEOUT;
        loop {
            let m = &mut self.members[i];
            if m.exited() {
                return Err(format!("member {i} exited during start-up"));
            }
            if m.current_log().contains(READY_LINE) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "member {i} not ready within {MEMBER_START_TIMEOUT:?}"
                ));
            }
            std::thread::sleep(POLL_INTERVAL * 5);
        }
    }

    fn learn_ids(&mut self) {
        let urls: Vec<String> = (0..self.members.len()).map(|i| self.proxy.url(i)).collect();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut learned = false;
            for i in 0..self.members.len() {
                let ch = self.channel(i);
                let resp = self.rt.block_on(async move {
                    ClusterClient::new(ch)
                        .member_list(MemberListRequest {})
                        .await
                });
                let Ok(resp) = resp else { continue };
                let resp = resp.into_inner();
                self.cluster_id = resp.header.map(|h| h.cluster_id).unwrap_or(0);
                for m in resp.members {
                    if let Some(j) = urls.iter().position(|u| m.peer_ur_ls.contains(u)) {
                        self.ids[j] = m.id;
                        self.proxy.learn_id(m.id, j);
                    }
                }
                learned = self.ids.iter().all(|&id| id != 0);
                break;
            }
            if learned {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "could not learn member ids: {:?}\n{}",
                self.ids,
                self.logs()
            );
            std::thread::sleep(POLL_INTERVAL * 5);
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// The fault proxy (rules, partitions, stats).
    pub fn proxy(&self) -> &FaultProxy {
        &self.proxy
    }

    /// Member `i`'s id.
    pub fn member_id(&self, i: usize) -> u64 {
        self.ids[i]
    }

    /// The index of member id `id`.
    pub fn index_of(&self, id: u64) -> Option<usize> {
        self.ids.iter().position(|&x| x == id)
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> u64 {
        self.cluster_id
    }

    /// Member `i`'s name (`m<i>`).
    pub fn name(&self, i: usize) -> &str {
        &self.members[i].name
    }

    /// `127.0.0.1:<client port>`.
    pub fn endpoint(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.members[i].client_port)
    }

    /// `http://127.0.0.1:<client port>`.
    pub fn client_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.members[i].client_port)
    }

    /// The advertised (proxy) peer URL.
    pub fn peer_url(&self, i: usize) -> String {
        self.proxy.url(i)
    }

    /// The port member `i` really listens on for peers.
    pub fn listen_peer_port(&self, i: usize) -> u16 {
        self.members[i].peer_port
    }

    /// Whether member `i`'s process runs (paused counts as running).
    pub fn is_running(&mut self, i: usize) -> bool {
        !self.members[i].exited()
    }

    /// Members running and not paused.
    pub fn live(&mut self) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| !self.members[i].exited() && !self.members[i].paused)
            .collect()
    }

    /// SIGKILL member `i` (by PID) and reap it.
    pub fn kill9(&mut self, i: usize) {
        self.members[i].kill9();
    }

    /// Starts member `i` again on its data dir and ports (killing it first if
    /// it still runs) and waits until it logs readiness.
    pub fn restart(&mut self, i: usize) {
        self.members[i].kill9();
        self.spawn(i);
        if let Err(e) = self.wait_ready(i) {
            panic!("restart of member {i} failed: {e}\n{}", self.logs());
        }
    }

    /// SIGSTOP member `i`.
    pub fn pause(&mut self, i: usize) {
        self.signal(i, libc::SIGSTOP);
        self.members[i].paused = true;
    }

    /// SIGCONT member `i`.
    pub fn resume(&mut self, i: usize) {
        self.signal(i, libc::SIGCONT);
        self.members[i].paused = false;
    }

    fn signal(&mut self, i: usize, sig: libc::c_int) {
        let pid = self.members[i].child.as_ref().expect("member running").id();
        // SAFETY: kill(2) on the PID of our own child, not reaped yet.
        let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
    }

    /// The whole log of member `i` (all runs).
    pub fn log(&self, i: usize) -> String {
        self.members[i].log()
    }

    /// Every member's log, for panic messages.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for (i, m) in self.members.iter().enumerate() {
            let log = m.log();
            // Keep failure output readable: the tail of each log.
            let tail: String = log
                .lines()
                .rev()
                .take(LOG_TAIL_LINES)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            s.push_str(&format!(
                "--- member {i} ({}) log tail ---\n{tail}\n",
                m.name
            ));
        }
        s
    }

    /// Runs `f` on the cluster's client runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// A lazily connecting channel to member `i` with the harness timeouts.
    pub fn channel(&self, i: usize) -> Channel {
        self.channel_timeout(i, RPC_TIMEOUT)
    }

    /// Like [`Self::channel`] with calls bounded by `timeout`.
    pub fn channel_timeout(&self, i: usize, timeout: Duration) -> Channel {
        let _guard = self.rt.enter();
        Endpoint::from_shared(self.client_url(i))
            .expect("endpoint")
            .connect_timeout(Duration::from_millis(500))
            .timeout(timeout)
            .connect_lazy()
    }

    /// Every member's client URL.
    pub fn client_urls(&self) -> Vec<String> {
        (0..self.len()).map(|i| self.client_url(i)).collect()
    }

    /// A KV client for member `i`.
    pub fn client(&self, i: usize) -> KvClient<Channel> {
        KvClient::new(self.channel(i))
    }

    /// A Maintenance client for member `i`.
    pub fn maintenance(&self, i: usize) -> MaintenanceClient<Channel> {
        MaintenanceClient::new(self.channel(i))
    }

    /// Maintenance.Status of member `i` (None if it does not answer in time).
    pub fn status(&self, i: usize) -> Option<MemberStatus> {
        let ch = self.channel(i);
        self.rt
            .block_on(async move { MaintenanceClient::new(ch).status(StatusRequest {}).await })
            .ok()
            .map(|r| r.into_inner().into())
    }

    /// Statuses of the given members, queried concurrently.
    pub fn statuses(&self, which: &[usize]) -> Vec<Option<MemberStatus>> {
        let chans: Vec<Channel> = which.iter().map(|&i| self.channel(i)).collect();
        self.rt.block_on(async move {
            let handles: Vec<_> = chans
                .into_iter()
                .map(|ch| {
                    tokio::spawn(async move {
                        MaintenanceClient::new(ch).status(StatusRequest {}).await
                    })
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(
                    h.await
                        .ok()
                        .and_then(|r| r.ok())
                        .map(|r| MemberStatus::from(r.into_inner())),
                );
            }
            out
        })
    }

    /// The leader a majority of the cluster agrees on (same leader and term
    /// reported by more than half of all members, including the leader
    /// itself), or None.
    pub fn leader(&mut self) -> Option<usize> {
        let live = self.live();
        let statuses = self.statuses(&live);
        let mut votes: HashMap<(u64, u64), usize> = HashMap::new();
        for s in statuses.iter().flatten() {
            if s.leader != 0 {
                *votes.entry((s.leader, s.raft_term)).or_default() += 1;
            }
        }
        let majority = self.len() / 2 + 1;
        let (&(leader, term), _) = votes.iter().find(|(_, &v)| v >= majority)?;
        let self_agrees = statuses
            .iter()
            .flatten()
            .any(|s| s.member_id == leader && s.leader == leader && s.raft_term == term);
        if !self_agrees {
            return None;
        }
        // Before ids are learned (start-up), map through the statuses.
        self.index_of(leader).or_else(|| {
            statuses
                .iter()
                .zip(&live)
                .find(|(s, _)| s.as_ref().is_some_and(|s| s.member_id == leader))
                .map(|(_, &i)| i)
        })
    }

    /// Polls [`Self::leader`] until there is one; panics with logs after `timeout`.
    pub fn wait_leader(&mut self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader() {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no leader within {timeout:?}\n{}",
                self.logs()
            );
            std::thread::sleep(POLL_INTERVAL * 5);
        }
    }

    /// Polls until the leader differs from `old`; returns the new one.
    pub fn wait_new_leader(&mut self, old: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader() {
                if l != old {
                    return l;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no new leader (old {old}) within {timeout:?}\n{}",
                self.logs()
            );
            std::thread::sleep(POLL_INTERVAL * 5);
        }
    }

    /// HashKV (revision 0) of every member: `(hash, revision)`, None for a
    /// member that does not answer.
    pub fn hash_kv_all(&self) -> Vec<Option<(u32, i64)>> {
        let chans: Vec<Channel> = (0..self.len()).map(|i| self.channel(i)).collect();
        self.rt.block_on(async move {
            let handles: Vec<_> = chans
                .into_iter()
                .map(|ch| {
                    tokio::spawn(async move {
                        MaintenanceClient::new(ch)
                            .hash_kv(HashKvRequest { revision: 0 })
                            .await
                    })
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.ok().and_then(|r| r.ok()).map(|r| {
                    let r = r.into_inner();
                    (r.hash, r.header.map(|h| h.revision).unwrap_or(0))
                }));
            }
            out
        })
    }

    /// Polls until every member in `which` answers with the same applied
    /// index, and then the same HashKV at the same revision; returns that
    /// (hash, revision). Panics with the last observations after `timeout`.
    pub fn wait_converged(&mut self, which: &[usize], timeout: Duration) -> (u32, i64) {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.statuses(which);
            let applied: Vec<Option<u64>> = st
                .iter()
                .map(|s| s.as_ref().map(|s| s.raft_applied_index))
                .collect();
            let same_applied = applied.iter().all(|a| a.is_some() && *a == applied[0]);
            let hashes = self.hash_kv_all();
            let picked: Vec<Option<(u32, i64)>> = which.iter().map(|&i| hashes[i]).collect();
            if same_applied && picked.iter().all(|h| h.is_some() && *h == picked[0]) {
                return picked[0].expect("checked above");
            }
            assert!(
                Instant::now() < deadline,
                "members {which:?} did not converge within {timeout:?}: applied {applied:?}, hash_kv {picked:?}\n{}",
                self.logs()
            );
            std::thread::sleep(POLL_INTERVAL * 5);
        }
    }

    /// One put on member `i`.
    pub fn put(&self, i: usize, key: &str, value: &str) -> Result<PutResponse, tonic::Status> {
        self.put_timeout(i, key, value, RPC_TIMEOUT)
    }

    /// One put on member `i`, bounded by `timeout`.
    pub fn put_timeout(
        &self,
        i: usize,
        key: &str,
        value: &str,
        timeout: Duration,
    ) -> Result<PutResponse, tonic::Status> {
        let mut kv = KvClient::new(self.channel_timeout(i, timeout));
        let req = PutRequest {
            key: key.into(),
            value: value.into(),
            ..Default::default()
        };
        self.rt
            .block_on(async move { kv.put(req).await.map(|r| r.into_inner()) })
    }

    /// Puts through the given members in turn until one acknowledges,
    /// retrying on errors (a write during an election) until `timeout`.
    /// Returns the member that acknowledged, or the last error.
    pub fn put_retry(
        &self,
        via: &[usize],
        key: &str,
        value: &str,
        timeout: Duration,
    ) -> Result<usize, tonic::Status> {
        let deadline = Instant::now() + timeout;
        let mut attempt = 0usize;
        loop {
            let i = via[attempt % via.len()];
            attempt += 1;
            match self.put(i, key, value) {
                Ok(_) => return Ok(i),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(POLL_INTERVAL * 5),
            }
        }
    }

    /// The value of `key` on member `i` (`serializable`: local read).
    pub fn get(
        &self,
        i: usize,
        key: &str,
        serializable: bool,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        self.get_timeout(i, key, serializable, RPC_TIMEOUT)
    }

    /// Like [`Self::get`], bounded by `timeout`.
    pub fn get_timeout(
        &self,
        i: usize,
        key: &str,
        serializable: bool,
        timeout: Duration,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut kv = KvClient::new(self.channel_timeout(i, timeout));
        let req = RangeRequest {
            key: key.into(),
            serializable,
            ..Default::default()
        };
        self.rt.block_on(async move {
            kv.range(req)
                .await
                .map(|r| r.into_inner().kvs.into_iter().next().map(|kv| kv.value))
        })
    }

    /// Asserts every `(key, value)` is readable on each member of `which`,
    /// linearizably and then serializably.
    pub fn assert_all_readable(&self, which: &[usize], kvs: &[(String, String)]) {
        for &i in which {
            for (k, v) in kvs {
                for serializable in [false, true] {
                    let got = self.get(i, k, serializable);
                    assert!(
                        matches!(&got, Ok(Some(b)) if b == v.as_bytes()),
                        "member {i} {} read of {k}: {got:?}, expected {v:?}",
                        if serializable {
                            "serializable"
                        } else {
                            "linearizable"
                        }
                    );
                }
            }
        }
    }

    /// `etcdctl --endpoints=<member i> <args>` (real etcdctl 3.4, bounded).
    pub fn etcdctl(&self, i: usize, args: &[&str]) -> CtlOutput {
        self.etcdctl_endpoints(&self.endpoint(i), args)
    }

    /// `etcdctl --endpoints=<every member> <args>`.
    pub fn etcdctl_all(&self, args: &[&str]) -> CtlOutput {
        let eps: Vec<String> = (0..self.len()).map(|i| self.endpoint(i)).collect();
        self.etcdctl_endpoints(&eps.join(","), args)
    }

    fn etcdctl_endpoints(&self, endpoints: &str, args: &[&str]) -> CtlOutput {
        let mut cmd = Command::new(ETCDCTL_PATH);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCDCTL") {
                cmd.env_remove(k);
            }
        }
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .args(args);
        run_with_timeout(cmd, None, CTL_TIMEOUT)
    }

    /// Replaces run-specific values in etcdctl output with placeholders:
    /// member ids (hex and decimal) by `<ID i>`, the cluster id by
    /// `<CLUSTER>`, client and peer ports by `<CPORT i>` / `<PPORT i>`.
    pub fn normalise(&self, s: &str) -> String {
        let mut out = s.to_string();
        for i in 0..self.len() {
            out = out
                .replace(&format!("{:x}", self.ids[i]), &format!("<ID {i}>"))
                .replace(&self.ids[i].to_string(), &format!("<ID {i}>"))
                .replace(
                    &format!(":{}", self.members[i].client_port),
                    &format!(":<CPORT {i}>"),
                )
                .replace(
                    &format!(":{}", self.proxy.port(i)),
                    &format!(":<PPORT {i}>"),
                );
        }
        out.replace(&format!("{:x}", self.cluster_id), "<CLUSTER>")
            .replace(&self.cluster_id.to_string(), "<CLUSTER>")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            m.kill9();
        }
    }
}

/// What a [`Writer`] did.
#[derive(Debug, Default)]
pub struct WriterReport {
    /// Every acknowledged `(key, value)`, in order.
    pub acked: Vec<(String, String)>,
    /// Every failed attempt: `(member, gRPC code, message)`.
    pub errors: Vec<(usize, tonic::Code, String)>,
    /// Set if one key could not be written within the per-key deadline.
    pub gave_up: Option<String>,
}

/// A background writer: puts `<prefix>/<n>` = `v<n>` one after another,
/// each through the members in turn until one acknowledges (bounded retries:
/// a key that no member takes within `per_key_timeout` stops the writer).
/// Runs on its own thread and runtime; stopped by [`Writer::stop`] or drop.
pub struct Writer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    acked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    thread: Option<std::thread::JoinHandle<WriterReport>>,
}

impl Writer {
    /// Starts writing through the members whose client URLs are given.
    pub fn start(urls: Vec<String>, prefix: &str, per_key_timeout: Duration) -> Writer {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stop2, acked2, prefix) = (stop.clone(), acked.clone(), prefix.to_string());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("writer runtime");
            rt.block_on(async move {
                let clients: Vec<KvClient<Channel>> = urls
                    .iter()
                    .map(|u| {
                        KvClient::new(
                            Endpoint::from_shared(u.clone())
                                .expect("endpoint")
                                .connect_timeout(Duration::from_millis(500))
                                .timeout(RPC_TIMEOUT)
                                .connect_lazy(),
                        )
                    })
                    .collect();
                let mut report = WriterReport::default();
                let mut member = 0usize;
                let mut n = 0u64;
                while !stop2.load(Ordering::Relaxed) {
                    let (key, value) = (format!("{prefix}/{n:06}"), format!("v{n}"));
                    let deadline = Instant::now() + per_key_timeout;
                    loop {
                        let req = PutRequest {
                            key: key.clone().into(),
                            value: value.clone().into(),
                            ..Default::default()
                        };
                        match clients[member].clone().put(req).await {
                            Ok(_) => break,
                            Err(e) => {
                                report
                                    .errors
                                    .push((member, e.code(), e.message().to_string()));
                                member = (member + 1) % clients.len();
                                if Instant::now() >= deadline {
                                    report.gave_up = Some(key.clone());
                                    return report;
                                }
                                tokio::time::sleep(POLL_INTERVAL * 2).await;
                            }
                        }
                    }
                    report.acked.push((key, value));
                    acked2.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
                report
            })
        });
        Writer {
            stop,
            acked,
            thread: Some(thread),
        }
    }

    /// Number of writes acknowledged so far.
    pub fn acked(&self) -> usize {
        self.acked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the writer thread ended by itself (it gave up).
    pub fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Polls until `count` writes are acknowledged; false after `timeout` or
    /// if the writer gave up.
    pub fn wait_acked(&self, count: usize, timeout: Duration) -> bool {
        super::wait_until(timeout, || self.acked() >= count || self.finished())
            && self.acked() >= count
    }

    /// Stops the writer and returns what it did.
    pub fn stop(mut self) -> WriterReport {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .expect("writer thread")
            .join()
            .expect("writer thread panicked")
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A member started after [`Cluster::start`], to join the running cluster
/// after `member add`. Its peer URL is direct (not behind the fault proxy).
/// It has its own ports and temp dir; killed (SIGKILL, its own PID) on drop.
pub struct Joiner {
    name: String,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
    exit: Option<std::process::ExitStatus>,
}

impl Joiner {
    /// Picks ports and a temp dir for member `name`; nothing runs yet.
    pub fn new(name: &str) -> Joiner {
        let (client_port, peer_port) = loop {
            let (c, p) = (free_port(), free_port());
            if c != p {
                break (c, p);
            }
        };
        Joiner {
            name: name.to_string(),
            dir: tempfile::Builder::new()
                .prefix("etcd-rs-joiner")
                .tempdir()
                .expect("tempdir"),
            client_port,
            peer_port,
            child: None,
            exit: None,
        }
    }

    /// The member name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `http://127.0.0.1:<peer port>` (listened on and advertised).
    pub fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    /// `http://127.0.0.1:<client port>`.
    pub fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// `127.0.0.1:<client port>`.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// Its log (all runs).
    pub fn log(&self) -> String {
        std::fs::read(self.dir.path().join("etcd.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Starts `binary` with the given `ETCD_*` environment (e.g. the lines
    /// `member add` prints) plus its own data dir and client/peer listeners,
    /// the cluster's timing flags and `args`. Does not wait.
    pub fn spawn(
        &mut self,
        binary: &std::path::Path,
        env: &[(String, String)],
        opts: &ClusterOpts,
        args: &[&str],
    ) {
        assert!(self.child.is_none(), "joiner {} already running", self.name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("etcd.log"))
            .expect("open log");
        let mut cmd = Command::new(binary);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") || k == "FAILPOINTS" {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)))
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--listen-client-urls")
            .arg(self.client_url())
            .arg("--advertise-client-urls")
            .arg(self.client_url())
            .arg("--listen-peer-urls")
            .arg(self.peer_url())
            .arg("--heartbeat-interval")
            .arg(opts.heartbeat_ms.to_string())
            .arg("--election-timeout")
            .arg(opts.election_ms.to_string())
            .args(&opts.args)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log);
        self.exit = None;
        self.child = Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("spawn {binary:?}: {e}")),
        );
    }

    /// Polls until the log shows readiness; Err if it exits or `timeout` passes.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_exit() {
                return Err(format!(
                    "joiner {} exited during start-up: {s}\n{}",
                    self.name,
                    self.log()
                ));
            }
            if self.log().contains(READY_LINE) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "joiner {} not ready within {timeout:?}\n{}",
                    self.name,
                    self.log()
                ));
            }
            std::thread::sleep(POLL_INTERVAL * 5);
        }
    }

    /// The exit status if it has exited by itself (reaping it).
    pub fn try_exit(&mut self) -> Option<std::process::ExitStatus> {
        if let Some(c) = self.child.as_mut() {
            if let Ok(Some(s)) = c.try_wait() {
                self.child = None;
                self.exit = Some(s);
            }
        }
        self.exit
    }

    /// Waits (bounded) for it to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let mut s = None;
        super::wait_until(timeout, || {
            s = self.try_exit();
            s.is_some()
        });
        s
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`) to its own PID.
    pub fn pause(&mut self, stop: bool) {
        let pid = self.child.as_ref().expect("joiner running").id();
        let sig = if stop { libc::SIGSTOP } else { libc::SIGCONT };
        // SAFETY: kill(2) on the PID of our own child, not reaped yet.
        let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
    }

    /// SIGKILL (its own PID) and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Joiner {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The `ETCD_*=value` lines of `etcdctl member add` output, unquoted.
pub fn parse_member_add_env(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            if !k.starts_with("ETCD_") {
                return None;
            }
            Some((k.to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

impl Cluster {
    /// The cluster's options.
    pub fn opts(&self) -> &ClusterOpts {
        &self.opts
    }

    /// `etcdctl --endpoints=<endpoints> <args>` (bounded).
    pub fn etcdctl_at(&self, endpoints: &str, args: &[&str]) -> CtlOutput {
        self.etcdctl_endpoints(endpoints, args)
    }

    /// A lazily connecting channel to any client URL, with the harness timeouts.
    pub fn channel_url(&self, url: &str) -> Channel {
        let _guard = self.rt.enter();
        Endpoint::from_shared(url.to_string())
            .expect("endpoint")
            .connect_timeout(Duration::from_millis(500))
            .timeout(RPC_TIMEOUT)
            .connect_lazy()
    }

    /// Maintenance.Status at a client URL (None if no answer in time).
    pub fn status_url(&self, url: &str) -> Option<MemberStatus> {
        let ch = self.channel_url(url);
        self.rt
            .block_on(async move { MaintenanceClient::new(ch).status(StatusRequest {}).await })
            .ok()
            .map(|r| r.into_inner().into())
    }

    /// HashKV (revision 0) at a client URL: `(hash, revision)`.
    pub fn hash_kv_url(&self, url: &str) -> Option<(u32, i64)> {
        let ch = self.channel_url(url);
        self.rt
            .block_on(async move {
                MaintenanceClient::new(ch)
                    .hash_kv(HashKvRequest { revision: 0 })
                    .await
            })
            .ok()
            .map(|r| {
                let r = r.into_inner();
                (r.hash, r.header.map(|h| h.revision).unwrap_or(0))
            })
    }

    /// The value of `key` at a client URL (`serializable`: local read).
    pub fn get_url(
        &self,
        url: &str,
        key: &str,
        serializable: bool,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut kv = KvClient::new(self.channel_url(url));
        let req = RangeRequest {
            key: key.into(),
            serializable,
            ..Default::default()
        };
        self.rt.block_on(async move {
            kv.range(req)
                .await
                .map(|r| r.into_inner().kvs.into_iter().next().map(|kv| kv.value))
        })
    }
}

/// Crash and membership helpers for the robustness suite: fallible versions
/// of restart (a member that cannot come back is a finding, not a harness
/// panic), one-shot start-up environment, and re-adding a member slot as a
/// brand-new member.
impl Cluster {
    /// Member `i`'s data dir (`--data-dir`).
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.members[i].data_dir()
    }

    /// Like [`Self::restart`] with `env` added to this start only; Err (with
    /// the reason) if it exits or is not ready in time.
    pub fn try_restart_with(&mut self, i: usize, env: &[(String, String)]) -> Result<(), String> {
        self.members[i].kill9();
        self.members[i].next_env = env.to_vec();
        self.spawn(i);
        self.wait_ready(i)
    }

    /// Restarts the members `ms` together: all are started before any is
    /// waited for, since one of them alone may not complete a quorum (a
    /// 5-member cluster with three down needs two back before either is
    /// ready). Returns the members that did not become ready, with why.
    pub fn try_restart_all(&mut self, ms: &[usize]) -> Vec<(usize, String)> {
        for &i in ms {
            self.members[i].kill9();
            self.members[i].next_env = Vec::new();
            self.spawn(i);
        }
        ms.iter()
            .filter_map(|&i| self.wait_ready(i).err().map(|e| (i, e)))
            .collect()
    }

    /// Waits (bounded) until member `i` exits by itself; true if it did.
    pub fn wait_exit(&mut self, i: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.members[i].exited() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(POLL_INTERVAL * 2);
        }
    }

    /// After slot `i`'s member was removed and a new member was added with
    /// the same (proxy) peer URL under id `new_id`: kills whatever runs in
    /// the slot, wipes its data dir and starts it with
    /// `--initial-cluster-state existing`; Err if it does not become ready.
    pub fn rejoin_fresh(&mut self, i: usize, new_id: u64) -> Result<(), String> {
        self.members[i].kill9();
        let _ = std::fs::remove_dir_all(self.members[i].data_dir());
        self.members[i].state = "existing";
        self.ids[i] = new_id;
        self.proxy.learn_id(new_id, i);
        self.spawn(i);
        self.wait_ready(i)
    }
}
