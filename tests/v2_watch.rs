//! v2 watches and TTLs: `wait=true` long polls (live, from history,
//! `stream`), the 1000-event window (errorCode 401), TTL expiry decided by
//! the leader through Raft (the same index on every member of a 3-member
//! cluster), `refresh` without a watch event, and the v2 tree surviving a
//! restart through the Raft snapshot. Every wait is a bounded poll.

mod common;
#[path = "common/v2http.rs"]
mod v2http;

use std::time::{Duration, Instant};

use common::cluster::{Cluster, ClusterOpts};
use common::{wait_until, EtcdOpts, EtcdProcess};
use v2http::{request, v2, Resp};

fn start(extra: &[&str]) -> EtcdProcess {
    let mut args = vec!["--enable-v2".to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    EtcdProcess::start(EtcdOpts {
        args,
        ..Default::default()
    })
}

fn etcd_index(r: &Resp) -> u64 {
    r.header("x-etcd-index")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no X-Etcd-Index: {r:#?}"))
}

/// Starts a long poll in a thread; joined with a bound by the caller.
fn poll(port: u16, path: &str) -> std::thread::JoinHandle<Resp> {
    let path = path.to_string();
    std::thread::spawn(move || request(port, "GET", &path, "", Duration::from_secs(15)))
}

#[test]
fn wait_returns_on_the_next_change() {
    let p = start(&[]);
    let port = p.client_port();
    let idx = etcd_index(&v2(port, "PUT", "/v2/keys/foo", "value=1"));
    // Waiting from the next index: the change is caught whether the watch
    // registers before or after it is applied.
    let h = poll(
        port,
        &format!("/v2/keys/foo?wait=true&waitIndex={}", idx + 1),
    );
    let other = poll(
        port,
        &format!(
            "/v2/keys/dir?wait=true&recursive=true&waitIndex={}",
            idx + 1
        ),
    );
    v2(port, "PUT", "/v2/keys/foo", "value=2");
    let r = h.join().expect("poll thread");
    assert_eq!(r.status, 200, "{r:#?}");
    let v = r.json();
    assert_eq!(
        (v["action"].as_str(), v["node"]["value"].as_str()),
        (Some("set"), Some("2"))
    );
    assert_eq!(v["prevNode"]["value"].as_str(), Some("1"));
    // A recursive watch on a directory wakes for a key below it.
    v2(port, "PUT", "/v2/keys/dir/sub/k", "value=x");
    let r = other.join().expect("poll thread");
    assert_eq!(
        r.json()["node"]["key"].as_str(),
        Some("/dir/sub/k"),
        "{r:#?}"
    );
}

#[test]
fn wait_index_reads_history_and_401_after_1000_events() {
    let p = start(&[]);
    let port = p.client_port();
    let first = etcd_index(&v2(port, "PUT", "/v2/keys/foo", "value=old"));
    v2(port, "PUT", "/v2/keys/foo", "value=new");
    let r = v2(
        port,
        "GET",
        &format!("/v2/keys/foo?wait=true&waitIndex={first}"),
        "",
    );
    let v = r.json();
    assert_eq!(
        (
            v["node"]["value"].as_str(),
            v["node"]["modifiedIndex"].as_u64()
        ),
        (Some("old"), Some(first))
    );
    for i in 0..1000 {
        v2(port, "PUT", "/v2/keys/many", &format!("value={i}"));
    }
    let r = v2(
        port,
        "GET",
        &format!("/v2/keys/foo?wait=true&waitIndex={first}"),
        "",
    );
    assert_eq!(r.status, 400, "{r:#?}");
    let v = r.json();
    assert_eq!(v["errorCode"].as_u64(), Some(401));
    assert_eq!(
        v["message"].as_str(),
        Some("The event in requested index is outdated and cleared")
    );
    let now = etcd_index(&r);
    assert_eq!(
        v["cause"].as_str(),
        Some(
            format!(
                "the requested history has been cleared [{}/{first}]",
                now - 999
            )
            .as_str()
        )
    );
}

#[test]
fn stream_sends_every_event() {
    let p = start(&[]);
    let port = p.client_port();
    let idx = etcd_index(&v2(port, "PUT", "/v2/keys/s", "value=0"));
    // The stream stays open: read it raw until three events arrived.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let path = format!("/v2/keys/s?wait=true&stream=true&waitIndex={}", idx + 1);
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    for i in 1..=3 {
        v2(port, "PUT", "/v2/keys/s", &format!("value={i}"));
    }
    let mut got = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while got.matches("\"action\"").count() < 3 && Instant::now() < deadline {
        let n = s.read(&mut buf).expect("read stream");
        assert!(n > 0, "stream ended early: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    for i in 1..=3 {
        assert!(got.contains(&format!("\"value\":\"{i}\"")), "{got}");
    }
}

#[test]
fn ttl_expires_through_raft_and_refresh_is_silent() {
    let p = start(&[]);
    let port = p.client_port();
    let idx = etcd_index(&v2(port, "PUT", "/v2/keys/short?ttl=1", "value=v"));
    v2(port, "PUT", "/v2/keys/tdir?dir=true&ttl=1", "");
    let inner = etcd_index(&v2(port, "PUT", "/v2/keys/tdir/inner", "value=x"));
    let gone = wait_until(Duration::from_secs(10), || {
        v2(port, "GET", "/v2/keys/short", "").status == 404
            && v2(port, "GET", "/v2/keys/tdir/inner", "").status == 404
    });
    assert!(gone, "keys with a 1 s TTL still there after 10 s");
    let r = v2(
        port,
        "GET",
        &format!("/v2/keys/short?wait=true&waitIndex={}", idx + 1),
        "",
    );
    let v = r.json();
    assert_eq!(
        (v["action"].as_str(), v["prevNode"]["value"].as_str()),
        (Some("expire"), Some("v")),
        "{v}"
    );
    let r = v2(
        port,
        "GET",
        &format!("/v2/keys/tdir/inner?wait=true&waitIndex={}", inner + 1),
        "",
    );
    assert_eq!(r.json()["action"].as_str(), Some("expire"), "{r:#?}");
    // Refresh: TTL extended, value kept, no event for watchers.
    v2(port, "PUT", "/v2/keys/r?ttl=60", "value=keep");
    let r = v2(
        port,
        "PUT",
        "/v2/keys/r?ttl=120&refresh=true&prevExist=true",
        "",
    );
    let refreshed = etcd_index(&r);
    assert_eq!(r.json()["node"]["value"].as_str(), Some("keep"));
    assert!(r.json()["node"]["ttl"].as_i64().unwrap() > 100);
    v2(port, "PUT", "/v2/keys/r", "value=after");
    let r = v2(
        port,
        "GET",
        &format!("/v2/keys/r?wait=true&waitIndex={refreshed}"),
        "",
    );
    assert_eq!(
        r.json()["node"]["value"].as_str(),
        Some("after"),
        "the refresh must not be seen: {r:#?}"
    );
}

#[test]
fn v2_tree_survives_restart_with_snapshot() {
    let mut p = start(&["--snapshot-count", "10"]);
    let port = p.client_port();
    for i in 0..25 {
        v2(
            port,
            "PUT",
            &format!("/v2/keys/d/k{i:02}"),
            &format!("value={i}"),
        );
    }
    v2(port, "POST", "/v2/keys/q", "value=job");
    v2(port, "PUT", "/v2/keys/t?ttl=600", "value=ttl");
    let before = v2(port, "GET", "/v2/keys/?recursive=true&sorted=true", "");
    p.restart();
    let port = p.client_port();
    let after = v2(port, "GET", "/v2/keys/?recursive=true&sorted=true", "");
    let strip = |r: &Resp| {
        let mut v = r.json();
        v2http::normalise(&mut v);
        v
    };
    assert_eq!(strip(&after), strip(&before));
    // The restarted member publishes its attributes again: one v2 write.
    assert_eq!(etcd_index(&after), etcd_index(&before) + 1);
    // History came back too.
    let r = v2(port, "GET", "/v2/keys/d/k24?wait=true&waitIndex=1", "");
    assert_eq!(r.json()["node"]["value"].as_str(), Some("24"), "{r:#?}");
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("port")
}

#[test]
fn ttl_expires_at_the_same_index_on_every_member() {
    let opts = ClusterOpts {
        args: vec!["--enable-v2".into()],
        ..Default::default()
    };
    let c = Cluster::start(3, opts);
    let ports: Vec<u16> = (0..3).map(|i| port_of(&c.client_url(i))).collect();
    let r = v2(ports[0], "PUT", "/v2/keys/e?ttl=1", "value=v");
    assert_eq!(r.status, 201, "{r:#?}");
    let from = etcd_index(&r) + 1;
    let mut seen = Vec::new();
    for &port in &ports {
        let mut event = None;
        let ok = wait_until(Duration::from_secs(15), || {
            let r = v2(
                port,
                "GET",
                &format!("/v2/keys/e?wait=true&waitIndex={from}"),
                "",
            );
            let v = r.json();
            if v["action"].as_str() == Some("expire") {
                event = Some(v["node"]["modifiedIndex"].as_u64());
                true
            } else {
                false
            }
        });
        // The watch blocks until the expiry on that member, so one call usually does.
        assert!(ok, "no expire event on member with port {port}");
        seen.push(event.flatten());
    }
    assert!(
        seen.iter().all(|s| s.is_some() && *s == seen[0]),
        "expire indexes differ: {seen:?}"
    );
}

/// A follower that was down while the leader snapshotted and compacted its
/// log gets the v2 tree with the snapshot (not only the database).
#[test]
fn follower_gets_the_v2_tree_with_the_leaders_snapshot() {
    const KEYS: usize = 6000;
    const WRITERS: usize = 8;
    let opts = ClusterOpts {
        args: vec!["--enable-v2".into(), "--snapshot-count".into(), "1000".into()],
        ..Default::default()
    };
    let mut c = Cluster::start(3, opts);
    let leader = c.wait_leader(Duration::from_secs(10));
    let f = (leader + 1) % 3;
    let lport = port_of(&c.client_url(leader));
    let fport = port_of(&c.client_url(f));
    assert_eq!(v2(lport, "PUT", "/v2/keys/before?ttl=600", "value=down").status, 201);
    assert!(wait_until(Duration::from_secs(10), || v2(fport, "GET", "/v2/keys/before", "").status == 200));
    c.kill9(f);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            std::thread::spawn(move || {
                for n in (w..KEYS).step_by(WRITERS) {
                    let r = v2(lport, "PUT", &format!("/v2/keys/bulk/{n:05}"), &format!("value={n}"));
                    assert!(r.status == 200 || r.status == 201, "{r:#?}");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    let want = v2(lport, "GET", "/v2/keys/?recursive=true&sorted=true", "");
    c.restart(f);
    let caught_up = wait_until(Duration::from_secs(30), || {
        let r = v2(fport, "GET", "/v2/keys/", "");
        r.status == 200 && etcd_index(&r) >= etcd_index(&want)
    });
    assert!(caught_up, "follower did not catch up\n{}", c.logs());
    assert!(
        c.log(f).contains("finished applying incoming snapshot"),
        "member {f} caught up without the leader's snapshot\n{}",
        c.logs()
    );
    let got = v2(fport, "GET", "/v2/keys/?recursive=true&sorted=true", "");
    let norm = |r: &Resp| {
        let mut v = r.json();
        v2http::normalise(&mut v);
        v
    };
    assert_eq!(norm(&got), norm(&want));
}
