//! Bootstrap by `--discovery` (etcd's v2 discovery protocol), with the
//! discovery service itself a single-member server started with
//! `--enable-v2`: three members given only the discovery URL form one
//! cluster; a fourth finds the cluster full and exits with etcd's message;
//! a member id registered twice, and a token without a size, fail with
//! etcd's messages. Then the real etcd 3.4 bootstraps through the same
//! token and peer URLs, and must arrive at the same member and cluster ids.
//!
//! Runs against the real etcd with `ETCD_RS_TEST_ETCD=/usr/bin/etcd` (the
//! id-comparison step is skipped then). A fifth member with etcd's default
//! `--discovery-fallback=proxy` becomes a v2 proxy.

mod common;
#[path = "common/v2http.rs"]
mod v2http;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use common::{
    free_port, run_with_timeout, server_binary, testing_external_server, wait_until, CtlOutput,
    EtcdOpts, EtcdProcess, ETCDCTL_PATH,
};
use serde_json::Value;

/// Upper bound for a discovered cluster to become healthy.
const FORM_TIMEOUT: Duration = Duration::from_secs(40);
/// Upper bound for a refused member to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// Fixed loopback ports of one member slot (so another binary can reuse its
/// peer URL, which the member id derives from).
#[derive(Clone, Copy)]
struct Slot {
    client: u16,
    peer: u16,
}

impl Slot {
    fn new() -> Slot {
        loop {
            let s = Slot {
                client: free_port(),
                peer: free_port(),
            };
            if s.client != s.peer {
                return s;
            }
        }
    }
    fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client)
    }
    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer)
    }
}

/// One member process bootstrapped by discovery; killed and reaped on drop.
struct Member {
    name: String,
    slot: Slot,
    dir: tempfile::TempDir,
    child: Option<Child>,
    exit: Option<ExitStatus>,
}

impl Member {
    fn spawn(binary: &Path, name: &str, slot: Slot, durl: &str, extra: &[&str]) -> Member {
        let dir = tempfile::Builder::new()
            .prefix("etcd-rs-disc")
            .tempdir()
            .expect("tempdir");
        let log = File::create(dir.path().join("etcd.log")).expect("log file");
        let mut cmd = Command::new(binary);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") {
                cmd.env_remove(k);
            }
        }
        cmd.args(["--name", name, "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--discovery", durl])
            .args([
                "--listen-client-urls",
                &slot.client_url(),
                "--advertise-client-urls",
                &slot.client_url(),
            ])
            .args([
                "--listen-peer-urls",
                &slot.peer_url(),
                "--initial-advertise-peer-urls",
                &slot.peer_url(),
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {binary:?}: {e}"));
        Member {
            name: name.to_string(),
            slot,
            dir,
            child: Some(child),
            exit: None,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        if let Some(c) = self.child.as_mut() {
            if let Some(st) = c.try_wait().expect("try_wait") {
                self.exit = Some(st);
                self.child = None;
            }
        }
        self.exit
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let done = wait_until(EXIT_TIMEOUT, || self.exited().is_some());
        assert!(
            done,
            "{} did not exit\n--- log ---\n{}",
            self.name,
            self.log()
        );
        self.exit.expect("exit status")
    }

    fn ctl(&self, args: &[&str]) -> CtlOutput {
        ctl(&self.slot.client_url(), args)
    }

    fn healthy(&self) -> bool {
        self.ctl(&["--command-timeout=2s", "endpoint", "health"])
            .code
            == 0
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ctl(endpoint: &str, args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(ETCDCTL_PATH);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .args(args);
    run_with_timeout(cmd, None, Duration::from_secs(20))
}

/// Starts the discovery service and sets `size` under a new token; returns
/// the service and the discovery URL.
fn discovery_service() -> EtcdProcess {
    EtcdProcess::start(EtcdOpts {
        name: "disc".into(),
        args: vec!["--enable-v2".into()],
        ..Default::default()
    })
}

fn set_size(disc: &EtcdProcess, token: &str, size: u32) {
    let r = v2http::v2(
        disc.client_port(),
        "PUT",
        &format!("/v2/keys/discovery/{token}/_config/size"),
        &format!("value={size}"),
    );
    assert!(r.status == 201 || r.status == 200, "set size: {r:#?}");
}

fn durl(disc: &EtcdProcess, token: &str) -> String {
    format!(
        "http://127.0.0.1:{}/v2/keys/discovery/{token}",
        disc.client_port()
    )
}

/// Starts three members on `slots` and waits until all serve; returns them.
fn form_cluster(binary: &Path, slots: &[Slot; 3], durl: &str) -> Vec<Member> {
    let mut members: Vec<Member> = slots
        .iter()
        .enumerate()
        .map(|(i, s)| Member::spawn(binary, &format!("m{}", i + 1), *s, durl, &[]))
        .collect();
    let ok = wait_until(FORM_TIMEOUT, || {
        members
            .iter_mut()
            .all(|m| m.exited().is_none() && m.log().contains(common::READY_LINE) && m.healthy())
    });
    if !ok {
        let logs: String = members
            .iter()
            .map(|m| format!("--- {} ---\n{}\n", m.name, m.log()))
            .collect();
        panic!("discovered cluster did not form\n{logs}");
    }
    members
}

/// (sorted (id, name, peer URLs), cluster id) from `member list -w json`.
fn membership(m: &Member) -> (Vec<(u64, String, String)>, u64) {
    let out = m.ctl(&["member", "list", "-w", "json"]).ok();
    let v: Value = serde_json::from_str(&out.stdout).expect("member list json");
    let mut ms: Vec<(u64, String, String)> = v["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|x| {
            let urls: Vec<&str> = x["peerURLs"]
                .as_array()
                .expect("urls")
                .iter()
                .map(|u| u.as_str().unwrap_or(""))
                .collect();
            (
                x["ID"].as_u64().expect("id"),
                x["name"].as_str().unwrap_or("").to_string(),
                urls.join(","),
            )
        })
        .collect();
    ms.sort();
    (ms, v["header"]["cluster_id"].as_u64().expect("cluster id"))
}

fn exit_code_not_zero(st: ExitStatus, m: &Member) {
    assert!(!st.success(), "{} should fail\n{}", m.name, m.log());
}

#[test]
fn three_members_bootstrap_by_discovery_and_a_fourth_is_refused() {
    let disc = discovery_service();
    let token = "3e8cd0a9b6f1";
    set_size(&disc, token, 3);
    let d = durl(&disc, token);
    let slots = [Slot::new(), Slot::new(), Slot::new()];
    let binary = server_binary();
    let mut members = form_cluster(&binary, &slots, &d);

    // One cluster: every member lists the same three members and cluster id.
    let (first, cid) = membership(&members[0]);
    let names: Vec<&str> = first.iter().map(|(_, n, _)| n.as_str()).collect();
    let mut sorted_names = names.clone();
    sorted_names.sort();
    assert_eq!(sorted_names, ["m1", "m2", "m3"]);
    for m in &members[1..] {
        assert_eq!(
            membership(m),
            (first.clone(), cid),
            "member list on {}",
            m.name
        );
    }
    // Writes replicate.
    members[2].ctl(&["put", "disc-key", "v1"]).ok();
    for m in &members[..2] {
        let out = m.ctl(&["get", "disc-key", "--print-value-only"]).ok();
        assert_eq!(out.stdout, "v1\n", "read on {}", m.name);
    }

    // A fourth member: the cluster is full.
    let mut fourth = Member::spawn(
        &binary,
        "m4",
        Slot::new(),
        &d,
        &["--discovery-fallback", "exit"],
    );
    let st = fourth.wait_exit();
    exit_code_not_zero(st, &fourth);
    let log = fourth.log();
    assert!(
        log.contains("etcdmain: failed to join discovery cluster (discovery: cluster is full)"),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "etcdmain: discovery token {d} was used, but failed to bootstrap the cluster."
        )),
        "{log}"
    );
    assert!(
        log.contains("please generate a new discovery token and try to bootstrap again."),
        "{log}"
    );
    assert_eq!(
        membership(&members[0]).0,
        first,
        "the refused member changed nothing"
    );

    // etcd's default fallback: a v2 proxy (what it serves: tests/v2_proxy.rs).
    let mut fifth = Member::spawn(&binary, "m5", Slot::new(), &d, &[]);
    let proxied = wait_until(EXIT_TIMEOUT, || {
        fifth.log().contains("v2 proxy started listening on client requests")
    });
    assert!(proxied && fifth.exited().is_none(), "{}", fifth.log());
    assert!(
        fifth.log().contains("discovery cluster full, falling back to proxy"),
        "{}",
        fifth.log()
    );
    drop(fifth);

    // Same name, URLs and token, fresh data dir: the id registered before.
    members[0].kill();
    let mut again = Member::spawn(
        &binary,
        "m1",
        slots[0],
        &d,
        &["--discovery-fallback", "exit"],
    );
    let st = again.wait_exit();
    exit_code_not_zero(st, &again);
    let log = again.log();
    assert!(
        log.contains(&format!(
            "member \"m1\" has previously registered with discovery service token ({d})."
        )),
        "{log}"
    );
    drop(members);

    if testing_external_server() {
        return;
    }
    // The real etcd, through the same token and peer URLs, derives the same
    // member and cluster ids.
    let r = v2http::v2(
        disc.client_port(),
        "DELETE",
        &format!("/v2/keys/discovery/{token}?recursive=true"),
        "",
    );
    assert_eq!(r.status, 200, "reset token: {r:#?}");
    set_size(&disc, token, 3);
    let real = form_cluster(&PathBuf::from("/usr/bin/etcd"), &slots, &d);
    assert_eq!(membership(&real[0]), (first, cid), "ids from the real etcd");
}

#[test]
fn a_token_without_size_is_refused() {
    let disc = discovery_service();
    let d = durl(&disc, "no-size-token");
    let mut m = Member::spawn(
        &server_binary(),
        "m1",
        Slot::new(),
        &d,
        &["--discovery-fallback", "exit"],
    );
    let st = m.wait_exit();
    exit_code_not_zero(st, &m);
    // etcd 3.4 reports the v2 error itself here (its size-not-found check
    // never matches).
    let log = m.log();
    let line = log
        .lines()
        .find(|l| l.contains("etcdmain: failed to join discovery cluster ("))
        .unwrap_or_else(|| panic!("{log}"));
    let reason = line.split_once("discovery cluster (").expect("reason").1;
    let reason = common::replace_number_after(reason, "[", "N");
    assert_eq!(reason, "100: Key not found (/discovery) [N])", "{log}");
}

/// A loopback HTTP proxy that pipes each connection to the host named in its
/// first request line (absolute-form, as HTTP clients send to a proxy) and
/// records those first lines.
struct RecordingProxy {
    port: u16,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RecordingProxy {
    fn start() -> RecordingProxy {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = lines.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { return };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let _ = client.set_read_timeout(Some(FORM_TIMEOUT));
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n") && head.len() < 8192 {
                        match client.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let line = String::from_utf8_lossy(&head).trim_end().to_string();
                    seen.lock().expect("lines").push(line.clone());
                    let Some(authority) = line
                        .split_whitespace()
                        .nth(1)
                        .and_then(|u| u.strip_prefix("http://"))
                        .and_then(|u| u.split('/').next())
                    else {
                        return;
                    };
                    let Ok(mut upstream) = TcpStream::connect(authority) else { return };
                    let _ = upstream.set_read_timeout(Some(FORM_TIMEOUT));
                    if upstream.write_all(&head).is_err() {
                        return;
                    }
                    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else { return };
                    let up = std::thread::spawn(move || std::io::copy(&mut c2, &mut u2));
                    let _ = std::io::copy(&mut upstream, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    let _ = up.join();
                });
            }
        });
        RecordingProxy { port, lines }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }
}

/// `--discovery-proxy`: every discovery request goes through the given HTTP
/// proxy (absolute-form request lines), and the member bootstraps.
#[test]
fn discovery_through_an_http_proxy() {
    let disc = discovery_service();
    set_size(&disc, "viaproxy", 1);
    let proxy = RecordingProxy::start();
    let mut m = Member::spawn(
        &server_binary(),
        "p0",
        Slot::new(),
        &durl(&disc, "viaproxy"),
        &["--discovery-proxy", &proxy.url()],
    );
    let up = wait_until(FORM_TIMEOUT, || m.exited().is_some() || m.healthy());
    assert!(up && m.exited().is_none(), "member did not come up through the proxy\n{}", m.log());
    let want = format!("http://127.0.0.1:{}/v2/keys/discovery/viaproxy", disc.client_port());
    let lines = proxy.lines();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.split_whitespace().nth(1).is_some_and(|u| u.starts_with(&want))),
        "proxy saw {lines:?}, want every request for {want}"
    );
    let (members, _) = membership(&m);
    assert_eq!(members.len(), 1, "{members:?}");
}
