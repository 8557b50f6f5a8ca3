//! v2 auth (`/v2/auth/*`, basic auth on `/v2/keys` and `/v2/members`) side
//! by side with the real etcd 3.4: the same raw HTTP requests to both, then
//! the same real `etcdctl` (ETCDCTL_API=2) commands to both; and on ours
//! (or the real etcd with `ETCD_RS_TEST_ETCD`) that the auth state lives
//! through a restart and a Raft snapshot.

mod common;
#[path = "common/v2http.rs"]
mod v2http;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use common::differ::REAL_ETCD;
use common::{run_with_timeout, EtcdOpts, EtcdProcess, ETCDCTL_PATH};
use v2http::{request_with_headers, Resp};

fn start(binary: Option<PathBuf>, extra: &[&str]) -> EtcdProcess {
    let mut args = vec!["--enable-v2".to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    EtcdProcess::start(EtcdOpts {
        binary,
        args,
        ..Default::default()
    })
}

fn pair() -> (EtcdProcess, EtcdProcess) {
    assert!(
        std::path::Path::new(REAL_ETCD).exists(),
        "the reference etcd {REAL_ETCD} is not installed"
    );
    (start(None, &[]), start(Some(PathBuf::from(REAL_ETCD)), &[]))
}

/// One request: method, path, `user:password` (or a raw `Authorization`
/// value when it starts with `!`), body (JSON for `/v2/auth`, a form for
/// `/v2/keys`).
type Step = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
);

fn send(p: &EtcdProcess, step: &Step) -> Resp {
    let (method, path, creds, body) = *step;
    send_raw(p, method, path, creds, body)
}

fn send_raw(p: &EtcdProcess, method: &str, path: &str, creds: Option<&str>, body: &str) -> Resp {
    let auth = creds.map(|c| match c.strip_prefix('!') {
        Some(raw) => raw.to_string(),
        None => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(c)
        ),
    });
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let ctype = match (path.starts_with("/v2/keys"), body.is_empty()) {
        (_, true) => None,
        (true, false) => Some("application/x-www-form-urlencoded"),
        (false, false) => Some("application/json"),
    };
    request_with_headers(p.client_port(), method, path, &headers, ctype, body)
}

/// What must match: status, the headers clients read, and the body bytes.
fn outcome(r: &Resp) -> String {
    let mut s = format!("{}\n", r.status);
    for h in ["content-type", "allow", "x-etcd-index", "www-authenticate"] {
        if let Some(v) = r.header(h) {
            s.push_str(&format!("{h}: {v}\n"));
        }
    }
    let cluster_id = r.header("x-etcd-cluster-id").is_some();
    s.push_str(&format!("cluster id header: {cluster_id}\n{}", r.body));
    s
}

/// Masks what differs between any two servers (ids, URLs).
fn mask(p: &EtcdProcess, s: &str) -> String {
    p.ids()
        .normalise(s)
        .replace(&p.client_url(), "<EP>")
        .replace(&p.peer_url(), "<PEER>")
}

fn store_stats(p: &EtcdProcess) -> serde_json::Map<String, serde_json::Value> {
    let r = v2http::v2(p.client_port(), "GET", "/v2/stats/store", "");
    r.json().as_object().expect("stats object").clone()
}

/// The change of every `/v2/stats/store` counter between two snapshots.
fn stats_delta(
    before: &serde_json::Map<String, serde_json::Value>,
    after: &serde_json::Map<String, serde_json::Value>,
) -> Vec<(String, i64)> {
    after
        .iter()
        .map(|(k, v)| {
            let old = before.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
            (k.clone(), v.as_i64().unwrap_or(0) - old)
        })
        .collect()
}

const SEQUENCE: &[Step] = &[
    ("GET", "/v2/auth/enable", None, ""),
    ("PUT", "/v2/auth/enable", None, ""),
    ("GET", "/v2/auth/users", None, ""),
    ("GET", "/v2/auth/roles", None, ""),
    ("PUT", "/v2/auth/users/root", None, r#"{"user":"root"}"#),
    (
        "PUT",
        "/v2/auth/users/root",
        None,
        r#"{"user":"root","password":"pw"}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/root",
        None,
        r#"{"user":"root","password":"pw","roles":["x"]}"#,
    ),
    ("GET", "/v2/auth/users/root", None, ""),
    ("GET", "/v2/auth/roles/root", None, ""),
    ("PUT", "/v2/keys/open", None, "value=before"),
    // Enable: guest is created with full access.
    ("PUT", "/v2/auth/enable", None, ""),
    ("PUT", "/v2/auth/enable", Some("root:pw"), ""),
    ("GET", "/v2/auth/enable", None, ""),
    ("GET", "/v2/auth/roles", None, ""),
    ("GET", "/v2/auth/roles", Some("root:pw"), ""),
    ("GET", "/v2/auth/roles/guest", Some("root:pw"), ""),
    ("GET", "/v2/keys/open", None, ""),
    ("PUT", "/v2/keys/open", None, "value=guest"),
    // A reader of /foo/*.
    (
        "PUT",
        "/v2/auth/roles/reader",
        Some("root:pw"),
        r#"{"role":"reader"}"#,
    ),
    (
        "PUT",
        "/v2/auth/roles/reader",
        Some("root:pw"),
        r#"{"role":"reader"}"#,
    ),
    (
        "PUT",
        "/v2/auth/roles/reader",
        Some("root:pw"),
        r#"{"role":"reader","grant":{"kv":{"read":["/foo/*","/bar"]}}}"#,
    ),
    (
        "PUT",
        "/v2/auth/roles/reader",
        Some("root:pw"),
        r#"{"role":"reader","grant":{"kv":{"read":["/foo/*"]}}}"#,
    ),
    (
        "PUT",
        "/v2/auth/roles/reader",
        Some("root:pw"),
        r#"{"role":"reader","revoke":{"kv":{"read":["/nope"]}}}"#,
    ),
    (
        "PUT",
        "/v2/auth/roles/reader",
        Some("root:pw"),
        r#"{"role":"reader","permissions":{"kv":{"read":["/x"]}},"grant":{"kv":{"read":["/y"]}}}"#,
    ),
    (
        "PUT",
        "/v2/auth/roles/writer",
        Some("root:pw"),
        r#"{"role":"writer","permissions":{"kv":{"write":["/foo/w"]}}}"#,
    ),
    (
        "PUT",
        "/v2/auth/roles/root",
        Some("root:pw"),
        r#"{"role":"root"}"#,
    ),
    (
        "PUT",
        "/v2/auth/roles/other",
        Some("root:pw"),
        r#"{"role":"mismatch"}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/alice",
        Some("root:pw"),
        r#"{"user":"alice","password":"apw","roles":["reader"]}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/alice",
        Some("root:pw"),
        r#"{"user":"alice","password":"apw","roles":["reader"]}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/bob",
        Some("root:pw"),
        r#"{"user":"bob","password":"b","grant":["writer"]}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/bob",
        Some("root:pw"),
        r#"{"user":"bob","password":"bpw"}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/bob",
        Some("root:pw"),
        r#"{"user":"bob"}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/bob",
        Some("root:pw"),
        r#"{"user":"bob","grant":["writer"]}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/bob",
        Some("root:pw"),
        r#"{"user":"bob","grant":["writer"]}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/bob",
        Some("root:pw"),
        r#"{"user":"bob","roles":["a"],"grant":["b"]}"#,
    ),
    ("GET", "/v2/auth/users", Some("root:pw"), ""),
    ("GET", "/v2/auth/users/alice", Some("root:pw"), ""),
    ("GET", "/v2/auth/users/alice", Some("alice:apw"), ""),
    ("PUT", "/v2/keys/foo/x", Some("root:pw"), "value=1"),
    ("GET", "/v2/keys/foo/x", Some("alice:apw"), ""),
    ("GET", "/v2/keys/foo?recursive=true", Some("alice:apw"), ""),
    ("GET", "/v2/keys/foo/?recursive=true", Some("alice:apw"), ""),
    ("GET", "/v2/keys/bar", Some("alice:apw"), ""),
    ("PUT", "/v2/keys/foo/x", Some("alice:apw"), "value=2"),
    ("GET", "/v2/keys/foo/x", Some("alice:wrong"), ""),
    ("GET", "/v2/keys/foo/x", Some("nobody:pw"), ""),
    ("GET", "/v2/keys/foo/x", Some("!Basic not-base64"), ""),
    ("GET", "/v2/keys/foo/x", Some("!Bearer abc"), ""),
    ("PUT", "/v2/keys/foo/w", Some("bob:bpw"), "value=3"),
    ("GET", "/v2/keys/foo/w", Some("bob:bpw"), ""),
    (
        "GET",
        "/v2/keys/foo/x?wait=true&waitIndex=1",
        Some("alice:apw"),
        "",
    ),
    ("GET", "/v2/keys/foo/x?bad=%zz", Some("alice:wrong"), ""),
    // Guest loses write access.
    (
        "PUT",
        "/v2/auth/roles/guest",
        Some("root:pw"),
        r#"{"role":"guest","revoke":{"kv":{"write":["/*"]}}}"#,
    ),
    ("PUT", "/v2/keys/open", None, "value=denied"),
    ("GET", "/v2/keys/open", None, ""),
    ("GET", "/v2/keys/open?recursive=true", None, ""),
    ("GET", "/v2/keys", None, ""),
    // Members: reads open, changes for root only.
    ("GET", "/v2/members", None, ""),
    (
        "POST",
        "/v2/members",
        None,
        r#"{"peerURLs":["http://127.0.0.1:1"]}"#,
    ),
    ("DELETE", "/v2/members/1234", Some("alice:apw"), ""),
    (
        "PUT",
        "/v2/members/1234",
        Some("root:wrong"),
        r#"{"peerURLs":["http://127.0.0.1:1"]}"#,
    ),
    // Management errors.
    ("GET", "/v2/auth/users", Some("alice:apw"), ""),
    ("DELETE", "/v2/auth/users/root", Some("root:pw"), ""),
    ("DELETE", "/v2/auth/roles/root", Some("root:pw"), ""),
    ("DELETE", "/v2/auth/roles/nope", Some("root:pw"), ""),
    ("DELETE", "/v2/auth/users/nope", Some("root:pw"), ""),
    ("GET", "/v2/auth/users/nope", Some("root:pw"), ""),
    ("GET", "/v2/auth/roles/nope", Some("root:pw"), ""),
    ("PUT", "/v2/auth/users/x/y", Some("root:pw"), "{}"),
    (
        "PUT",
        "/v2/auth/users/x",
        Some("root:pw"),
        r#"{"user":"y"}"#,
    ),
    ("PUT", "/v2/auth/users/x", Some("root:pw"), "garbage"),
    ("PUT", "/v2/auth/users/x", Some("root:pw"), ""),
    ("PUT", "/v2/auth/roles/x", Some("root:pw"), r#"{"role":7}"#),
    ("POST", "/v2/auth/users/x", Some("root:pw"), ""),
    ("POST", "/v2/auth/users", Some("root:pw"), ""),
    ("PATCH", "/v2/auth/roles", Some("root:pw"), ""),
    ("POST", "/v2/auth/enable", Some("root:pw"), ""),
    // Revoke, delete, a role gone from under a user, disable.
    (
        "PUT",
        "/v2/auth/users/alice",
        Some("root:pw"),
        r#"{"user":"alice","revoke":["reader"]}"#,
    ),
    (
        "PUT",
        "/v2/auth/users/alice",
        Some("root:pw"),
        r#"{"user":"alice","revoke":["reader"]}"#,
    ),
    ("GET", "/v2/keys/foo/x", Some("alice:apw"), ""),
    ("DELETE", "/v2/auth/roles/writer", Some("root:pw"), ""),
    ("GET", "/v2/auth/users/bob", Some("root:pw"), ""),
    ("GET", "/v2/auth/users", Some("root:pw"), ""),
    ("DELETE", "/v2/auth/users/bob", Some("root:pw"), ""),
    ("DELETE", "/v2/auth/enable", None, ""),
    ("DELETE", "/v2/auth/enable", Some("alice:apw"), ""),
    ("DELETE", "/v2/auth/enable", Some("root:pw"), ""),
    ("DELETE", "/v2/auth/enable", Some("root:pw"), ""),
    ("PUT", "/v2/keys/open", None, "value=after"),
    ("DELETE", "/v2/auth/users/root", None, ""),
    ("GET", "/v2/auth/users", None, ""),
];

#[test]
fn v2_auth_http_matches_real_etcd() {
    let (ours, real) = pair();
    let (before_ours, before_real) = (store_stats(&ours), store_stats(&real));
    let mut diffs = Vec::new();
    for step in SEQUENCE {
        let a = mask(&ours, &outcome(&send(&ours, step)));
        let b = mask(&real, &outcome(&send(&real, step)));
        if a != b {
            diffs.push(format!(
                "{} {} {:?} {}\n--- ours\n{a}\n--- etcd\n{b}",
                step.0, step.1, step.2, step.3
            ));
        }
    }
    // Every read and write etcd makes for auth shows in the store counters.
    let delta_ours = stats_delta(&before_ours, &store_stats(&ours));
    let delta_real = stats_delta(&before_real, &store_stats(&real));
    if delta_ours != delta_real {
        diffs.push(format!(
            "store stats delta\n--- ours\n{delta_ours:?}\n--- etcd\n{delta_real:?}"
        ));
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// Our etcdctl.
const OUR_ETCDCTL: &str = env!("CARGO_BIN_EXE_etcdctl");

/// Runs etcdctl `bin` (v2) against `p`, output with ids and URLs masked.
fn ctl(bin: &str, p: &EtcdProcess, args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ETCDCTL_API", "2")
        .arg(format!("--endpoints={}", p.client_url()))
        .args(args);
    let o = run_with_timeout(cmd, stdin.map(str::as_bytes), Duration::from_secs(30));
    let out = format!(
        "code {}\n--- stdout\n{}--- stderr\n{}",
        o.code, o.stdout, o.stderr
    );
    mask(p, &out)
}

/// The real etcdctl gives the same output against ours as against etcd;
/// then our etcdctl against ours gives it too (fresh servers each round).
#[test]
fn etcdctl_v2_auth_commands_match() {
    let (ours, real) = pair();
    let root = "--username=root:pw";
    let script: &[(&[&str], Option<&str>)] = &[
        (&["auth", "enable"], None),
        (&["user", "add", "root:pw"], None),
        (&["user", "add", "root:pw"], None),
        (&["user", "add", "alice"], Some("apw\n")),
        (&["user", "add", "carol"], Some("\n")),
        (&["user", "list"], None),
        (&["role", "list"], None),
        (&["auth", "enable"], None),
        (&["auth", "enable"], None),
        (&["user", "list"], None),
        (&[root, "user", "list"], None),
        (&["--username=root:bad", "user", "list"], None),
        (&[root, "role", "add", "r1"], None),
        (&[root, "role", "add", "r1"], None),
        (&[root, "role", "add", "root"], None),
        (
            &[root, "role", "grant", "r1", "--path", "/foo/*", "--read"],
            None,
        ),
        (
            &[root, "role", "grant", "r1", "--path", "/foo/*", "--read"],
            None,
        ),
        (
            &[root, "role", "grant", "r1", "--path", "/w", "--readwrite"],
            None,
        ),
        (&[root, "role", "get", "r1"], None),
        (&[root, "role", "get", "guest"], None),
        (&[root, "role", "get", "nope"], None),
        (&[root, "user", "grant", "alice", "--roles", "r1"], None),
        (&[root, "user", "grant", "alice", "--roles", "r1"], None),
        (&[root, "user", "get", "alice"], None),
        (&[root, "user", "get", "nope"], None),
        (&[root, "set", "/foo/a", "1"], None),
        (&["--username=alice:apw", "get", "/foo/a"], None),
        (&["--username=alice:apw", "set", "/foo/a", "2"], None),
        (&["--username=alice:apw", "set", "/w", "2"], None),
        (&["--username=alice:bad", "get", "/foo/a"], None),
        (&[root, "user", "passwd", "alice"], Some("new\n")),
        (&["--username=alice:apw", "get", "/foo/a"], None),
        (&["--username=alice:new", "get", "/foo/a"], None),
        (
            &[root, "role", "revoke", "guest", "--path", "/*", "--write"],
            None,
        ),
        (&["set", "/g", "1"], None),
        (&["get", "/foo/a"], None),
        (&[root, "user", "revoke", "alice", "--roles", "r1"], None),
        (&[root, "user", "revoke", "alice", "--roles", "r1"], None),
        (
            &[root, "role", "revoke", "r1", "--path", "/foo/*", "--read"],
            None,
        ),
        (&[root, "role", "remove", "r1"], None),
        (&[root, "role", "remove", "r1"], None),
        (&[root, "user", "remove", "root"], None),
        (&[root, "user", "remove", "alice"], None),
        (&[root, "user", "remove", "alice"], None),
        (&["member", "list"], None),
        (&["auth", "disable"], None),
        (&[root, "auth", "disable"], None),
        (&[root, "auth", "disable"], None),
        (&["user", "remove", "root"], None),
        (&["role", "list"], None),
    ];
    let mut diffs = Vec::new();
    for (args, stdin) in script {
        let real_on_real = ctl(ETCDCTL_PATH, &real, args, *stdin);
        let real_on_ours = ctl(ETCDCTL_PATH, &ours, args, *stdin);
        if real_on_ours != real_on_real {
            diffs.push(format!(
                "### etcdctl {}\n--- real etcdctl, our server\n{real_on_ours}\n--- real etcdctl, etcd\n{real_on_real}",
                args.join(" ")
            ));
        }
    }
    // Our etcdctl on our server, from a fresh start: the same again.
    drop((ours, real));
    let (ours2, real2) = pair();
    for (args, stdin) in script {
        let real_on_real = ctl(ETCDCTL_PATH, &real2, args, *stdin);
        // etcdctl 3.4 reads passwords by running `stty`, which complains
        // on stderr when stdin is no terminal; ours reads them directly.
        let real_on_real = without_stty(&real_on_real);
        let ours_on_ours = without_stty(&ctl(OUR_ETCDCTL, &ours2, args, *stdin));
        if ours_on_ours != real_on_real {
            diffs.push(format!(
                "### etcdctl {}\n--- our etcdctl, our server\n{ours_on_ours}\n--- real etcdctl, etcd\n{real_on_real}",
                args.join(" ")
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} step(s) differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn without_stty(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("stty: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

const ROOT: &str = "root:pw";

fn auth_state(p: &EtcdProcess) -> (String, String, u16, u16) {
    let get = |path: &'static str, creds: Option<&'static str>| send(p, &("GET", path, creds, ""));
    (
        get("/v2/auth/enable", None).body,
        get("/v2/auth/users/alice", Some(ROOT)).body,
        get("/v2/keys/foo/x", Some("alice:apw")).status,
        send(p, &("PUT", "/v2/keys/foo/x", Some("alice:apw"), "value=2")).status,
    )
}

/// The auth records live in the v2 store: replayed from the WAL after a
/// restart, and restored from a Raft snapshot (`--snapshot-count` small
/// enough for the writes below to cut one) plus the entries after it.
#[test]
fn v2_auth_survives_restart_and_snapshot() {
    let mut p = start(None, &["--snapshot-count=20"]);
    let steps: &[Step] = &[
        (
            "PUT",
            "/v2/auth/users/root",
            None,
            r#"{"user":"root","password":"pw"}"#,
        ),
        (
            "PUT",
            "/v2/auth/roles/reader",
            None,
            r#"{"role":"reader","permissions":{"kv":{"read":["/foo/*"]}}}"#,
        ),
        (
            "PUT",
            "/v2/auth/users/alice",
            None,
            r#"{"user":"alice","password":"apw","roles":["reader"]}"#,
        ),
        ("PUT", "/v2/keys/foo/x", None, "value=1"),
        ("PUT", "/v2/auth/enable", None, ""),
    ];
    for s in steps {
        let r = send(&p, s);
        assert!(r.status < 300, "{s:?}: {r:?}");
    }
    let expected = (
        "{\"enabled\":true}\n".to_string(),
        r#"{"user":"alice","roles":[{"role":"reader","permissions":{"kv":{"read":["/foo/*"],"write":null}}}]}"#.to_string() + "\n",
        200,
        401,
    );
    assert_eq!(auth_state(&p), expected);
    p.restart();
    assert_eq!(auth_state(&p), expected, "after a restart (WAL replay)");
    // Enough entries for a snapshot and for the WAL before it to be released.
    for i in 0..60 {
        let r = send_raw(
            &p,
            "PUT",
            "/v2/keys/fill",
            Some(ROOT),
            &format!("value={i}"),
        );
        assert!(r.status < 300, "{r:?}");
    }
    let snap_dir = p.data_path().join("member").join("snap");
    let snaps = || {
        std::fs::read_dir(&snap_dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".snap"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert!(snaps() > 0, "no Raft snapshot in {}", snap_dir.display());
    p.restart();
    assert_eq!(auth_state(&p), expected, "after a restart from a snapshot");
}
