//! etcd's v2 proxy (`--proxy on|readonly`, `--discovery-fallback=proxy`) as
//! a process: a proxy in front of a 3-member cluster forwards v2 reads,
//! writes and watches; survives a member's death by trying the next
//! endpoint; restarts from `<data-dir>/proxy/cluster` even with a useless
//! `--initial-cluster`; answers etcd's 503 once every member is gone. A
//! readonly proxy refuses writes with 501. A member whose discovery
//! cluster is already full becomes a proxy. And the real etcd 3.4, as proxy
//! and member, answers a fixed request sequence as ours does.
//!
//! With `ETCD_RS_TEST_ETCD=/usr/bin/etcd` every process is the real etcd,
//! so the same assertions check etcd itself.

mod common;
#[path = "common/v2http.rs"]
mod v2http;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::cluster::{Cluster, ClusterOpts};
use common::{free_port, server_binary, wait_until, EtcdOpts, EtcdProcess};
use v2http::{request, v2, Resp};

/// Upper bound for a proxy to find its endpoints.
const PROXY_START: Duration = Duration::from_secs(20);
/// Upper bound for a failover or all-down condition to show.
const SETTLE: Duration = Duration::from_secs(20);
/// etcd's body when no endpoint is available.
const ZERO_ENDPOINTS: &str = r#"{"message":"httpproxy: zero endpoints currently available"}"#;

/// One `etcd --proxy ...` (or fallback) process; killed and reaped on drop.
struct ProxyProc {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl ProxyProc {
    /// A fresh port and data dir for `binary`; nothing runs yet.
    fn new(binary: &Path) -> ProxyProc {
        let dir = tempfile::Builder::new()
            .prefix("etcd-rs-v2proxy")
            .tempdir()
            .expect("tempdir");
        ProxyProc {
            binary: binary.to_path_buf(),
            dir,
            port: free_port(),
            args: Vec::new(),
            child: None,
        }
    }

    /// Starts `binary` with `args` (see [`ProxyProc::new`]); does not wait.
    fn spawn(binary: &Path, args: &[&str]) -> ProxyProc {
        let mut p = ProxyProc::new(binary);
        p.args = args.iter().map(|s| s.to_string()).collect();
        p.start();
        p
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn start(&mut self) {
        assert!(self.child.is_none());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("etcd.log"))
            .expect("log");
        let mut cmd = Command::new(&self.binary);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") || k == "FAILPOINTS" {
                cmd.env_remove(k);
            }
        }
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .args(["--listen-client-urls", &self.url()])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn proxy"));
    }

    fn log(&self) -> String {
        std::fs::read(self.dir.path().join("etcd.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The endpoints the proxy reports now (None: not answering yet).
    fn endpoints(&self) -> Option<Vec<String>> {
        let r = try_get(self.port, "/v2/config/local/proxy")?;
        let v: serde_json::Value = serde_json::from_str(&r.body).ok()?;
        Some(
            v["endpoints"]
                .as_array()?
                .iter()
                .filter_map(|e| e.as_str().map(str::to_string))
                .collect(),
        )
    }

    /// Waits until the proxy reports `n` endpoints.
    fn wait_endpoints(&mut self, n: usize) {
        let ok = wait_until(PROXY_START, || {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("proxy exited ({st})\n{}", self.log());
            }
            self.endpoints().is_some_and(|e| e.len() == n)
        });
        assert!(ok, "proxy never reported {n} endpoints\n{}", self.log());
    }
}

impl Drop for ProxyProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A GET that tolerates a listener that is not up yet.
fn try_get(port: u16, path: &str) -> Option<Resp> {
    std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    Some(v2(port, "GET", path, ""))
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

fn json(r: &Resp) -> serde_json::Value {
    r.json()
}

fn three_members() -> Cluster {
    let opts = ClusterOpts {
        args: vec!["--enable-v2".into()],
        ..Default::default()
    };
    Cluster::start(3, opts)
}

/// Set, get and a long-poll watch through the proxy; the write is visible
/// on a member directly.
fn check_read_write_watch(proxy: &ProxyProc, cluster: &Cluster) {
    let r = v2(proxy.port, "PUT", "/v2/keys/p/a", "value=1");
    assert_eq!(r.status, 201, "{r:#?}");
    assert_eq!(json(&r)["node"]["value"], "1");
    assert!(r.header("X-Etcd-Index").is_some(), "{r:#?}");
    let r = v2(proxy.port, "GET", "/v2/keys/p/a", "");
    assert_eq!(
        (r.status, json(&r)["node"]["value"].clone()),
        (200, "1".into()),
        "{r:#?}"
    );
    let direct = v2(
        port_of(&cluster.client_url(1)),
        "GET",
        "/v2/keys/p/a?quorum=true",
        "",
    );
    assert_eq!(json(&direct)["node"]["value"], "1");

    let port = proxy.port;
    let watcher = std::thread::spawn(move || {
        request(
            port,
            "GET",
            "/v2/keys/p/w?wait=true",
            "",
            Duration::from_secs(15),
        )
    });
    // The watch is registered once the member saw it; a write after that is
    // seen. Retry the write until the watcher returns (each write is a new
    // event, so any one of them ends the long poll).
    let deadline = Instant::now() + SETTLE;
    while !watcher.is_finished() && Instant::now() < deadline {
        let r = v2(proxy.port, "PUT", "/v2/keys/p/w", "value=watched");
        assert!(r.status == 200 || r.status == 201, "{r:#?}");
        wait_until(Duration::from_millis(300), || watcher.is_finished());
    }
    let w = watcher.join().expect("watcher");
    assert_eq!(w.status, 200, "{w:#?}");
    assert_eq!(json(&w)["action"], "set");
    assert_eq!(json(&w)["node"]["value"], "watched");
}

/// A `stream=true` watch through the proxy delivers events while its
/// response is still open: the proxy does not wait for the body to end.
fn check_streamed_watch(proxy: &ProxyProc) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", proxy.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    s.write_all(b"GET /v2/keys/p/s?wait=true&stream=true HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send watch");
    let mut seen = Vec::new();
    let got = wait_until(SETTLE, || {
        let r = v2(proxy.port, "PUT", "/v2/keys/p/s", "value=streamed");
        assert!(r.status == 200 || r.status == 201, "{r:#?}");
        let mut buf = [0u8; 4096];
        if let Ok(n) = s.read(&mut buf) {
            assert!(
                n > 0,
                "watch stream closed: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).contains("\"value\":\"streamed\"")
    });
    assert!(
        got,
        "no event on the open stream: {}",
        String::from_utf8_lossy(&seen)
    );
}

#[test]
fn proxy_forwards_survives_failures_and_restarts_from_its_cluster_file() {
    let binary = server_binary();
    let mut cluster = three_members();
    let ic = cluster.initial_cluster();
    let mut proxy = ProxyProc::spawn(
        &binary,
        &[
            "--proxy",
            "on",
            "--initial-cluster",
            &ic,
            "--proxy-refresh-interval",
            "500",
            "--proxy-failure-wait",
            "2000",
        ],
    );
    proxy.wait_endpoints(3);
    assert!(
        proxy
            .log()
            .contains("proxy: this proxy supports v2 API only!"),
        "{}",
        proxy.log()
    );
    check_read_write_watch(&proxy, &cluster);
    check_streamed_watch(&proxy);

    // The cluster file holds the peer URLs the members advertise.
    let file =
        std::fs::read_to_string(proxy.data_dir().join("proxy/cluster")).expect("cluster file");
    let saved: serde_json::Value = serde_json::from_str(&file).expect("cluster file JSON");
    assert_eq!(
        saved["PeerURLs"].as_array().map(Vec::len),
        Some(3),
        "{file}"
    );
    assert!(!proxy.data_dir().join("member").exists());

    // Restart with an --initial-cluster that reaches nothing: the file wins.
    proxy.kill();
    proxy.args = vec![
        "--proxy".into(),
        "on".into(),
        "--initial-cluster".into(),
        "x=http://127.0.0.1:1".into(),
    ];
    proxy.start();
    proxy.wait_endpoints(3);
    assert!(proxy.log().contains("from cluster file"), "{}", proxy.log());
    assert_eq!(v2(proxy.port, "GET", "/v2/keys/p/a", "").status, 200);

    // A readonly proxy: reads pass, anything else is 501 with no body.
    let mut ro = ProxyProc::spawn(&binary, &["--proxy", "readonly", "--initial-cluster", &ic]);
    ro.wait_endpoints(3);
    let r = v2(ro.port, "PUT", "/v2/keys/p/ro", "value=x");
    assert_eq!((r.status, r.body.as_str()), (501, ""), "{r:#?}");
    assert_eq!(v2(ro.port, "DELETE", "/v2/keys/p/a", "").status, 501);
    assert_eq!(v2(ro.port, "GET", "/v2/keys/p/a", "").status, 200);
    drop(ro);

    // Kill one member: every request still succeeds, and the proxy sooner
    // or later picks the dead one first and moves on.
    proxy.kill();
    proxy.args = vec![
        "--proxy".into(),
        "on".into(),
        "--initial-cluster".into(),
        ic.clone(),
        "--proxy-refresh-interval".into(),
        "300".into(),
    ];
    proxy.start();
    proxy.wait_endpoints(3);
    let dead = cluster.client_url(0);
    cluster.kill9(0);
    let marked = format!("marked endpoint {dead} unavailable");
    let mut served = 0;
    let failed_over = wait_until(SETTLE, || {
        let r = v2(proxy.port, "GET", "/v2/keys/p/a", "");
        assert_eq!(
            r.status,
            200,
            "request failed with a member down: {r:#?}\n{}",
            proxy.log()
        );
        served += 1;
        proxy.log().contains(&marked)
    });
    assert!(
        failed_over,
        "never tried the dead member in {served} requests\n{}",
        proxy.log()
    );

    // Every member down: etcd's 502 for a request that found none alive,
    // then 503 once all are marked.
    cluster.kill9(1);
    cluster.kill9(2);
    let mut last = None;
    let all_down = wait_until(SETTLE, || {
        let r = v2(proxy.port, "GET", "/v2/keys/p/a", "");
        assert!(
            r.status == 502 || r.status == 503 || r.status == 200,
            "{r:#?}"
        );
        let done = r.status == 503;
        last = Some(r);
        done
    });
    let r = last.expect("a response");
    assert!(all_down, "never 503: {r:#?}\n{}", proxy.log());
    assert_eq!(r.body, ZERO_ENDPOINTS);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"));
}

/// What a client sees of one answer: status, the headers that matter, body.
fn summary(r: &Resp) -> String {
    let mut headers: Vec<String> = r
        .headers
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k.starts_with("access-control")
                || k == "content-type"
                || k == "allow"
                || k == "location"
        })
        .map(|(k, v)| format!("{}: {v}", k.to_ascii_lowercase()))
        .collect();
    headers.sort();
    let has_index = r.header("X-Etcd-Index").is_some();
    let body = match serde_json::from_str::<serde_json::Value>(&r.body) {
        Ok(mut v) => {
            v2http::normalise(&mut v);
            for k in ["modifiedIndex", "createdIndex", "index"] {
                blank(&mut v, k);
            }
            blank_endpoint_ports(&mut v);
            v.to_string()
        }
        Err(_) => r.body.clone(),
    };
    format!(
        "{} index={has_index}\n{}\n{body}",
        r.status,
        headers.join("\n")
    )
}

fn blank(v: &mut serde_json::Value, key: &str) {
    match v {
        serde_json::Value::Object(m) => {
            if m.contains_key(key) {
                m.insert(key.into(), "<N>".into());
            }
            m.values_mut().for_each(|x| blank(x, key));
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| blank(x, key)),
        _ => {}
    }
}

fn blank_endpoint_ports(v: &mut serde_json::Value) {
    if let Some(eps) = v.get_mut("endpoints").and_then(|e| e.as_array_mut()) {
        eps.iter_mut().for_each(|e| *e = "<URL>".into());
    }
}

/// The fixed sequence compared between etcd and etcd-rs: a 1-member
/// cluster with `--enable-v2`, a proxy and a readonly proxy in front.
fn run_sequence(binary: &Path) -> Vec<(String, String)> {
    let opts = ClusterOpts {
        binary: Some(binary.to_path_buf()),
        args: vec!["--enable-v2".into()],
        ..Default::default()
    };
    let mut cluster = Cluster::start(1, opts);
    let ic = cluster.initial_cluster();
    let mut p = ProxyProc::spawn(binary, &["--proxy", "on", "--initial-cluster", &ic]);
    p.wait_endpoints(1);
    let mut ro = ProxyProc::spawn(binary, &["--proxy", "readonly", "--initial-cluster", &ic]);
    ro.wait_endpoints(1);
    let steps: [(&str, &ProxyProc, &str, &str, &str); 11] = [
        ("put", &p, "PUT", "/v2/keys/cmp/k", "value=1"),
        ("get", &p, "GET", "/v2/keys/cmp/k", ""),
        ("missing", &p, "GET", "/v2/keys/cmp/nope", ""),
        ("dir", &p, "PUT", "/v2/keys/cmp/d", "dir=true"),
        ("list", &p, "GET", "/v2/keys/cmp?recursive=true", ""),
        ("config", &p, "GET", "/v2/config/local/proxy", ""),
        ("config-post", &p, "POST", "/v2/config/local/proxy", ""),
        ("options", &p, "OPTIONS", "/v2/keys/cmp/k", ""),
        ("unclean", &p, "GET", "/v2/keys//cmp/../cmp/k", ""),
        ("ro-put", &ro, "PUT", "/v2/keys/cmp/k", "value=2"),
        ("ro-get", &ro, "GET", "/v2/keys/cmp/k", ""),
    ];
    let mut out: Vec<(String, String)> = steps
        .iter()
        .map(|(name, proxy, method, path, form)| {
            (
                name.to_string(),
                summary(&v2(proxy.port, method, path, form)),
            )
        })
        .collect();
    cluster.kill9(0);
    let mut last = None;
    wait_until(SETTLE, || {
        let r = v2(p.port, "GET", "/v2/keys/cmp/k", "");
        let done = r.status == 503;
        last = Some(r);
        done
    });
    out.push(("all-down".into(), summary(&last.expect("response"))));
    out
}

#[test]
fn proxy_answers_like_etcd() {
    if common::testing_external_server() {
        return; // both sides would be the real etcd
    }
    let ours = run_sequence(&server_binary());
    let theirs = run_sequence(Path::new("/usr/bin/etcd"));
    for ((name, a), (_, b)) in ours.iter().zip(&theirs) {
        assert_eq!(a, b, "step {name}: etcd-rs (left) vs etcd 3.4 (right)");
    }
}

#[test]
fn full_discovery_cluster_falls_back_to_proxy() {
    let disc = EtcdProcess::start(EtcdOpts {
        name: "disc".into(),
        args: vec!["--enable-v2".into()],
        ..Default::default()
    });
    let dport = disc.client_port();
    let r = v2(
        dport,
        "PUT",
        "/v2/keys/discovery/fb/_config/size",
        "value=1",
    );
    assert!(r.status == 201 || r.status == 200, "{r:#?}");
    let durl = format!("http://127.0.0.1:{dport}/v2/keys/discovery/fb");
    let binary = server_binary();
    let member_flags = |name: &str, peer: u16, client: &str| -> Vec<String> {
        let peer = format!("http://127.0.0.1:{peer}");
        [
            "--name",
            name,
            "--discovery",
            &durl,
            "--enable-v2",
            "--listen-peer-urls",
            &peer,
            "--initial-advertise-peer-urls",
            &peer,
            "--advertise-client-urls",
            client,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // The first member takes the only seat (ProxyProc just picks its port).
    let mut m1 = ProxyProc::new(&binary);
    m1.args = member_flags("m1", free_port(), &m1.url());
    m1.start();
    let up = wait_until(PROXY_START, || {
        try_get(m1.port, "/v2/keys/").is_some_and(|r| r.status == 200)
    });
    assert!(up, "m1 did not come up\n{}", m1.log());
    assert_eq!(
        v2(m1.port, "PUT", "/v2/keys/fb", "value=via-m1").status,
        201
    );

    // The second finds the cluster full and, by default, becomes a proxy.
    let mut m2 = ProxyProc::new(&binary);
    m2.args = member_flags("m2", free_port(), &m2.url());
    m2.start();
    m2.wait_endpoints(1);
    let log = m2.log();
    assert!(
        log.contains("discovery cluster full, falling back to proxy"),
        "{log}"
    );
    assert!(
        log.contains("proxy: this proxy supports v2 API only!"),
        "{log}"
    );
    let r = v2(m2.port, "GET", "/v2/keys/fb", "");
    assert_eq!(
        (r.status, json(&r)["node"]["value"].clone()),
        (200, "via-m1".into()),
        "{r:#?}"
    );
    assert!(m2.data_dir().join("proxy/cluster").exists());
    drop(disc);
}
