//! `/v2/stats/store` side by side with the real etcd 3.4 (`--enable-v2`):
//! the same sequence of v2 requests (plain, quorum and HEAD reads, sets,
//! creates and in-order creates, updates, CAS and CAD successes and
//! failures, deletes, a TTL expiration, a watcher) on a single member and
//! on a 3-member cluster; every request must get the same status and
//! errorCode from both, and afterwards every member's counters must be
//! etcd's.
//!
//! What this pins down (see crates/v2store/src/stats.rs): etcd counts writes
//! and quorum reads in the apply path, so on every member, and plain reads
//! and watchers only on the member serving them; the membership kept in
//! `/0` adds its own reads, creates and sets at bootstrap; and a few failed
//! operations count as successes in etcd 3.4 (CAD whose comparison fails,
//! CAD on a directory, update with a value on a directory, CAS/delete on
//! the read-only root), while a create through a key also fails a set.

mod common;
#[path = "common/v2http.rs"]
mod v2http;

use std::path::PathBuf;
use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};
use common::differ::REAL_ETCD;
use common::{wait_until, EtcdOpts, EtcdProcess};
use serde_json::Value;
use v2http::{request, v2};

/// Bound for a TTL key to expire, a watcher to register, members to catch up.
const SETTLE: Duration = Duration::from_secs(20);
/// Bound on the watch request held open.
const WATCH_TIMEOUT: Duration = Duration::from_secs(30);

/// (method, path with query, urlencoded body); run in order.
const SEQUENCE: &[(&str, &str, &str)] = &[
    ("PUT", "/v2/keys/a", "value=1"),
    ("GET", "/v2/keys/a", ""),
    ("GET", "/v2/keys/missing", ""),
    ("GET", "/v2/keys/a?quorum=true", ""),
    ("GET", "/v2/keys/missing?quorum=true", ""),
    ("HEAD", "/v2/keys/a", ""),
    ("PUT", "/v2/keys/a?prevExist=false", "value=x"),
    ("PUT", "/v2/keys/new?prevExist=false", "value=x"),
    ("POST", "/v2/keys/queue", "value=job1"),
    ("POST", "/v2/keys/a", "value=job2"),
    ("PUT", "/v2/keys/a/b", "value=c"),
    ("PUT", "/v2/keys/a/b?prevExist=false", "value=c"),
    ("PUT", "/v2/keys/a?prevValue=1", "value=2"),
    ("PUT", "/v2/keys/a?prevValue=zzz", "value=3"),
    ("PUT", "/v2/keys/a?prevIndex=999", "value=3"),
    ("PUT", "/v2/keys/missing?prevValue=1", "value=3"),
    ("PUT", "/v2/keys/a?prevExist=true", "value=u"),
    ("PUT", "/v2/keys/missing?prevExist=true", "value=u"),
    ("PUT", "/v2/keys/dir?dir=true", ""),
    ("PUT", "/v2/keys/dir?prevExist=true", "value=v"),
    ("PUT", "/v2/keys/dir?prevValue=x", "value=v"),
    ("PUT", "/v2/keys/?prevValue=x", "value=y"),
    ("DELETE", "/v2/keys/a?prevValue=wrong", ""),
    ("DELETE", "/v2/keys/dir?prevValue=x", ""),
    ("DELETE", "/v2/keys/a?prevValue=u", ""),
    ("DELETE", "/v2/keys/missing?prevIndex=3", ""),
    ("DELETE", "/v2/keys/new", ""),
    ("DELETE", "/v2/keys/new", ""),
    ("DELETE", "/v2/keys/dir", ""),
    ("DELETE", "/v2/keys/?dir=true", ""),
    ("DELETE", "/v2/keys/dir?dir=true", ""),
    ("PUT", "/v2/keys/d1/d2/k", "value=deep"),
    ("DELETE", "/v2/keys/d1?dir=true", ""),
    ("DELETE", "/v2/keys/d1?recursive=true", ""),
    ("PUT", "/v2/keys/ttl?ttl=1", "value=t"),
];

/// What one request got: status and errorCode (or action).
fn outcome(method: &str, path: &str, r: &v2http::Resp) -> String {
    let what = if method == "HEAD" || r.body.is_empty() {
        String::new()
    } else {
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        match (&v["errorCode"], &v["action"]) {
            (Value::Null, a) => format!("action {a}"),
            (code, _) => format!("errorCode {code}"),
        }
    };
    format!("{method} {path}: {} {what}", r.status)
}

fn stats(port: u16) -> Value {
    let r = v2(port, "GET", "/v2/stats/store", "");
    assert_eq!(r.status, 200, "{r:#?}");
    r.json()
}

/// What a run saw: each request's outcome, and the counters of every
/// member (in `ports` order) at named points.
#[derive(Debug, PartialEq)]
struct Observed {
    outcomes: Vec<String>,
    counters: Vec<(&'static str, Vec<Value>)>,
}

/// Waits until every member has applied the same writes (equal write
/// counters; the member that answered the last write has applied it), then
/// returns every member's counters.
fn settled(ports: &[u16]) -> Vec<Value> {
    let writes = |v: &Value| {
        let mut w = v.as_object().expect("stats object").clone();
        for k in ["getsSuccess", "getsFail", "watchers"] {
            w.remove(k);
        }
        w
    };
    let ok = wait_until(SETTLE, || {
        let all: Vec<_> = ports.iter().map(|p| writes(&stats(*p))).collect();
        all.windows(2).all(|w| w[0] == w[1])
    });
    assert!(ok, "members never agreed on the write counters");
    ports.iter().map(|p| stats(*p)).collect()
}

/// Runs the sequence with plain reads and the watch on `ports[0]` and
/// writes spread over all members; counters are taken while the watcher
/// waits, and at the end.
fn run(ports: &[u16]) -> Observed {
    let serving = ports[0];
    let mut outcomes = Vec::new();
    for (n, (method, path, body)) in SEQUENCE.iter().enumerate() {
        let reads_locally = *method == "HEAD" || (*method == "GET" && !path.contains("quorum"));
        let port = if reads_locally {
            serving
        } else {
            ports[n % ports.len()]
        };
        let r = v2(port, method, path, body);
        outcomes.push(outcome(method, path, &r));
    }
    let expired = wait_until(SETTLE, || {
        ports.iter().all(|p| stats(*p)["expireCount"] == 1)
    });
    assert!(
        expired,
        "the TTL key did not expire everywhere: {:?}",
        ports.iter().map(|p| stats(*p)).collect::<Vec<_>>()
    );

    let watch = std::thread::spawn(move || {
        request(serving, "GET", "/v2/keys/w?wait=true", "", WATCH_TIMEOUT)
    });
    assert!(
        wait_until(SETTLE, || stats(serving)["watchers"] == 1),
        "the watcher never registered"
    );
    let watching = settled(ports);
    let fire = v2(ports[ports.len() - 1], "PUT", "/v2/keys/w", "value=fire");
    outcomes.push(outcome("PUT", "/v2/keys/w", &fire));
    let fired = watch.join().expect("watch thread");
    outcomes.push(outcome("GET", "/v2/keys/w?wait=true", &fired));
    assert!(
        wait_until(SETTLE, || stats(serving)["watchers"] == 0),
        "the watcher was not dropped"
    );
    Observed {
        outcomes,
        counters: vec![
            ("while watching", watching),
            ("after the sequence", settled(ports)),
        ],
    }
}

fn single(binary: Option<PathBuf>) -> Observed {
    let p = EtcdProcess::start(EtcdOpts {
        args: vec!["--enable-v2".into()],
        binary,
        ..EtcdOpts::default()
    });
    run(&[p.client_port()])
}

/// The cluster run, then a member added and removed (etcd's membership
/// bookkeeping in `/0`: reads, creates, a delete).
fn cluster(opts: ClusterOpts) -> Observed {
    let opts = ClusterOpts {
        args: vec!["--enable-v2".into()],
        ..opts
    };
    let mut c = Cluster::start(3, opts);
    let leader = c.wait_leader(SETTLE);
    let port = |i: usize| -> u16 {
        c.client_url(i)
            .rsplit(':')
            .next()
            .expect("port")
            .parse()
            .expect("port")
    };
    // Reads served by a follower; writes through every member.
    let serving = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let ports = [port(serving), port(leader), port(other)];
    let mut seen = run(&ports);
    // Through etcdctl (v3): a refusal while the peers have been connected
    // for less than etcd's health interval counts nothing, so it can be retried.
    let deadline = std::time::Instant::now() + SETTLE;
    let add = loop {
        let out = c.etcdctl(
            serving,
            &["member", "add", "extra", "--peer-urls=http://127.0.0.1:1"],
        );
        if out.code == 0
            || !out.stderr.contains("unhealthy cluster")
            || std::time::Instant::now() > deadline
        {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(add.code, 0, "{add:#?}");
    let id = add
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("member id")
        .to_string();
    let remove = c.etcdctl(leader, &["member", "remove", &id]);
    assert_eq!(remove.code, 0, "{remove:#?}");
    seen.counters
        .push(("after a member add and remove", settled(&ports)));
    seen
}

fn assert_same(ours: Observed, real: Observed) {
    assert_eq!(
        ours.outcomes, real.outcomes,
        "request outcomes differ (ours left, etcd right)"
    );
    for ((what, o), (_, r)) in ours.counters.iter().zip(&real.counters) {
        assert_eq!(o, r, "counters {what} differ (ours left, etcd right)");
    }
}

#[test]
fn single_member_counts_like_etcd() {
    let ours = single(None);
    let real = single(Some(PathBuf::from(REAL_ETCD)));
    assert_same(ours, real);
}

#[test]
fn three_members_count_like_etcd() {
    let ours = cluster(ClusterOpts::default());
    let real = cluster(ClusterOpts::real_etcd());
    assert_same(ours, real);
}
