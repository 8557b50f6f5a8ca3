//! The v2 HTTP API side by side with the real etcd 3.4 (`--enable-v2`): the
//! same request sequence to both; status, `X-Etcd-Index`, and the JSON body
//! (errorCode, message, cause, index; action, node trees with their indexes)
//! must be equal after normalising times, TTLs and unsorted listings. The
//! sequence holds every request of the v2 guides in
//! `shared/seeds/000_2dc3404b9ab70357.txt` and `001_fa376b0264032a78.txt`
//! plus the errors of `v2/errorcode.md` a request can produce.

mod common;
#[path = "common/v2http.rs"]
mod v2http;

use std::path::PathBuf;

use common::differ::REAL_ETCD;
use common::{EtcdOpts, EtcdProcess};
use v2http::{normalise, v2, Resp};

/// (method, path with query, urlencoded body).
const SEQUENCE: &[(&str, &str, &str)] = &[
    // 000: upstreams
    (
        "PUT",
        "/v2/keys/upstreams/127.0.0.1:8001",
        "value=%7B%22server%22%3A+%22127.0.0.1%3A8001%22%7D",
    ),
    (
        "PUT",
        "/v2/keys/upstreams/127.0.0.1:8004",
        "value=%7B%22server%22%3A+%22120.0.0.1%3A8004%22%7D",
    ),
    ("GET", "/v2/keys/upstreams/127.0.0.1:8004", ""),
    ("GET", "/v2/keys/upstreams/", ""),
    ("DELETE", "/v2/keys/upstreams/127.0.0.1:8001", ""),
    ("DELETE", "/v2/keys/upstreams/127.0.0.1:8004", ""),
    ("PUT", "/v2/keys/foo?ttl=20", "value=bar"),
    // 001: message, TTLs, queue, CAS, directories, hidden keys
    ("PUT", "/v2/keys/message?value=hello,+etcd", ""),
    ("GET", "/v2/keys/message", ""),
    ("PUT", "/v2/keys/message?value=I%27m+changed", ""),
    ("DELETE", "/v2/keys/message", ""),
    ("PUT", "/v2/keys/tempkey?value=Gone+with+wind&ttl=5", ""),
    ("GET", "/v2/keys/tempkey", ""),
    ("PUT", "/v2/keys/foo?value=bar&ttl=&prevExist=true", ""),
    (
        "PUT",
        "/v2/keys/tempkey?ttl=30&refresh=true&prevExist=true",
        "",
    ),
    ("POST", "/v2/keys/queue?value=job1", ""),
    ("POST", "/v2/keys/queue?value=job2", ""),
    ("GET", "/v2/keys/queue?sorted=true", ""),
    ("PUT", "/v2/keys/dir?dir=true&ttl=30", ""),
    ("PUT", "/v2/keys/dir?dir=true&ttl=5&prevExist=true", ""),
    ("PUT", "/v2/keys/dir?dir=true&ttl=&prevExist=true", ""),
    ("PUT", "/v2/keys/foo?value=one", ""),
    ("PUT", "/v2/keys/foo?prevValue=bar&value=changed", ""),
    ("PUT", "/v2/keys/foo?prevValue=one&value=changed", ""),
    ("PUT", "/v2/keys/foo?prevIndex=1&value=new", ""),
    ("PUT", "/v2/keys/foo?prevIndex=1&prevValue=x&value=new", ""),
    ("PUT", "/v2/keys/foo?prevExist=false&value=three", ""),
    ("PUT", "/v2/keys/nokey?prevExist=true&value=three", ""),
    ("DELETE", "/v2/keys/foo?prevValue=bar", ""),
    ("DELETE", "/v2/keys/foo?prevIndex=1", ""),
    ("DELETE", "/v2/keys/foo?prevValue=changed", ""),
    ("PUT", "/v2/keys/anotherdir?dir=true", ""),
    ("GET", "/v2/keys/", ""),
    ("GET", "/v2/keys/?recursive=true", ""),
    ("GET", "/v2/keys", ""),
    ("DELETE", "/v2/keys/anotherdir?dir=true", ""),
    ("DELETE", "/v2/keys/queue?dir=true", ""),
    ("DELETE", "/v2/keys/queue", ""),
    ("DELETE", "/v2/keys/queue?dir=true&recursive=true", ""),
    ("PUT", "/v2/keys/_message", "value=Hello+hidden+world"),
    ("PUT", "/v2/keys/message", "value=Hello+world"),
    ("GET", "/v2/keys/", ""),
    ("GET", "/v2/keys/_message", ""),
    ("GET", "/v2/keys/message?quorum=true", ""),
    ("PUT", "/v2/keys/nv?noValueOnSuccess=true", "value=x"),
    ("GET", "/v2/keys/message?wait=true&waitIndex=1", ""),
    // Errors of v2/errorcode.md a request can trigger.
    ("GET", "/v2/keys/notexist", ""),
    ("PUT", "/v2/keys/a/b", "value=1"),
    ("PUT", "/v2/keys/a/b/c", "value=1"),
    ("PUT", "/v2/keys/a", "value=1"),
    ("PUT", "/v2/keys/a?prevExist=false&dir=true", ""),
    ("PUT", "/v2/keys/a/b?dir=true&prevExist=false", ""),
    ("PUT", "/v2/keys/a/b?dir=true", ""),
    ("PUT", "/v2/keys/a?value=v&prevExist=true", ""),
    ("DELETE", "/v2/keys/", ""),
    ("PUT", "/v2/keys/", "value=x"),
    ("PUT", "/v2/keys/t?ttl=abc", "value=x"),
    ("PUT", "/v2/keys/t?ttl=-1", "value=x"),
    ("PUT", "/v2/keys/t?prevIndex=abc", "value=x"),
    ("GET", "/v2/keys/t?waitIndex=x&wait=true", ""),
    ("GET", "/v2/keys/t?recursive=maybe", ""),
    ("PUT", "/v2/keys/t?wait=true", "value=x"),
    ("PUT", "/v2/keys/t?prevValue=", "value=x"),
    ("PUT", "/v2/keys/t?prevExist=maybe", "value=x"),
    ("PUT", "/v2/keys/message?refresh=true&ttl=5", "value=x"),
    ("PUT", "/v2/keys/message?refresh=true", ""),
    ("PUT", "/v2/keys/message?refresh=maybe", ""),
    (
        "PUT",
        "/v2/keys/message?ttl=5&refresh=true&prevExist=true",
        "",
    ),
    ("DELETE", "/v2/keys/message?prevValue=x&prevIndex=1", ""),
    ("DELETE", "/v2/keys/a?prevValue=x", ""),
    ("PATCH", "/v2/keys/message", ""),
    ("GET", "/v2/keys/?recursive=true&sorted=true", ""),
];

fn start(binary: Option<PathBuf>) -> EtcdProcess {
    EtcdProcess::start(EtcdOpts {
        binary,
        args: vec!["--enable-v2".into()],
        ..Default::default()
    })
}

/// What is compared of one response.
fn outcome(r: &Resp) -> (u16, Option<String>, serde_json::Value) {
    let body = if r.body.trim_start().starts_with('{') {
        let mut v = r.json();
        normalise(&mut v);
        v
    } else {
        serde_json::Value::String(r.body.clone())
    };
    (r.status, r.header("x-etcd-index").map(str::to_string), body)
}

#[test]
fn v2_keys_match_real_etcd() {
    assert!(
        std::path::Path::new(REAL_ETCD).exists(),
        "the reference etcd {REAL_ETCD} is not installed"
    );
    let ours = start(None);
    let real = start(Some(PathBuf::from(REAL_ETCD)));
    let mut diffs = Vec::new();
    for (method, path, form) in SEQUENCE {
        let a = v2(ours.client_port(), method, path, form);
        let b = v2(real.client_port(), method, path, form);
        for h in ["x-etcd-cluster-id", "x-raft-index", "x-raft-term"] {
            if a.header(h).is_some() != b.header(h).is_some() {
                diffs.push(format!(
                    "{method} {path}: header {h}: ours {:?}, etcd {:?}",
                    a.header(h),
                    b.header(h)
                ));
            }
        }
        let (oa, ob) = (outcome(&a), outcome(&b));
        if oa != ob {
            diffs.push(format!(
                "{method} {path} {form}\n  ours: {oa:?}\n  etcd: {ob:?}"
            ));
        } else if !b.body.contains("expiration")
            && !b.body.contains("\"nodes\"")
            && a.body != b.body
        {
            // Same content: the bytes (field order, newline) must match too.
            diffs.push(format!(
                "{method} {path} {form}\n  ours: {:?}\n  etcd: {:?}",
                a.body, b.body
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn v2_stats_and_members_have_etcd_shape() {
    let ours = start(None);
    let real = start(Some(PathBuf::from(REAL_ETCD)));
    for p in [&ours, &real] {
        v2(p.client_port(), "PUT", "/v2/keys/x", "value=1");
    }
    let keys = |r: Resp| -> Vec<String> {
        let v: serde_json::Value = r.json();
        v.as_object().expect("object").keys().cloned().collect()
    };
    assert_eq!(
        keys(v2(ours.client_port(), "GET", "/v2/stats/store", "")),
        keys(v2(real.client_port(), "GET", "/v2/stats/store", ""))
    );
    let members = |p: &EtcdProcess| {
        let r = v2(p.client_port(), "GET", "/v2/members", "");
        assert_eq!(r.status, 200);
        let m = &r.json()["members"][0];
        (
            m["name"].clone(),
            m["clientURLs"][0] == format!("http://127.0.0.1:{}", p.client_port()),
            r.body.find("peerURLs") < r.body.find("clientURLs"),
        )
    };
    assert_eq!(members(&ours), members(&real));
}

#[test]
fn v2_is_off_without_the_flag() {
    let p = EtcdProcess::start(EtcdOpts::default());
    assert_eq!(v2(p.client_port(), "GET", "/v2/keys/", "").status, 404);
}

#[test]
fn v2_members_errors_match_real_etcd() {
    let ours = start(None);
    let real = start(Some(PathBuf::from(REAL_ETCD)));
    let json = "application/json";
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        ("GET", "/v2/members/nobody", None, ""),
        ("DELETE", "/v2/members/1234", None, ""),
        ("DELETE", "/v2/members/xyz", None, ""),
        ("PUT", "/v2/members/1234", Some(json), "{\"peerURLs\":[\"http://10.0.0.1:2380\"]}"),
        ("POST", "/v2/members", Some("text/plain"), "{}"),
        ("PUT", "/v2/members/1234", Some("text/plain"), "{}"),
    ];
    for (method, path, ctype, body) in cases {
        let send = |p: &EtcdProcess| {
            let r = v2http::request_with_type(p.client_port(), method, path, *ctype, body);
            (r.status, r.header("content-type").map(str::to_string), r.body)
        };
        assert_eq!(send(&ours), send(&real), "{method} {path}");
    }
    let leader = |p: &EtcdProcess| {
        let r = v2(p.client_port(), "GET", "/v2/members/leader", "");
        let v = r.json();
        (r.status, v["name"].clone(), v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
    };
    assert_eq!(leader(&ours), leader(&real));
}
