//! Our etcdctl against the real etcdctl 3.4.23, byte for byte.
//!
//! Each scenario runs the same script of etcdctl invocations twice: the
//! real `/usr/bin/etcdctl` against server A and ours against server B, two
//! fresh servers of the same kind (ours by default, the real etcd 3.4 when
//! `ETCD_RS_TEST_ETCD` is set, or explicitly in `*_real_etcd` tests). Since
//! both servers see the same requests in the same order, revisions line up.
//! Outputs are compared (stdout, stderr, exit code) after replacing only what
//! legitimately differs: each server's cluster/member ids, raft term and
//! endpoint, lease ids (both print the lease they were granted), durations
//! of health probes, and the timestamp/client id in etcd client log lines.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{run_with_timeout, CtlOutput, EtcdOpts, EtcdProcess, Ids, ETCDCTL_PATH};

const OURS: &str = env!("CARGO_BIN_EXE_etcdctl");
const REAL_ETCD: &str = "/usr/bin/etcd";
const TIMEOUT: Duration = Duration::from_secs(30);
const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

/// One invocation: arguments (the endpoint is prepended unless `raw`) and stdin.
#[derive(Clone)]
struct Step {
    args: Vec<String>,
    stdin: Option<String>,
    raw: bool,
}

fn step(args: &[&str]) -> Step {
    Step {
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: None,
        raw: false,
    }
}

fn step_in(args: &[&str], stdin: &str) -> Step {
    Step {
        stdin: Some(stdin.to_string()),
        ..step(args)
    }
}

fn raw(args: &[&str]) -> Step {
    Step {
        raw: true,
        ..step(args)
    }
}

fn run(bin: &str, server: Option<&EtcdProcess>, s: &Step) -> CtlOutput {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL") {
            cmd.env_remove(k);
        }
    }
    if let (Some(srv), false) = (server, s.raw) {
        cmd.arg(format!("--endpoints={}", srv.endpoint()));
    }
    cmd.args(&s.args);
    run_with_timeout(cmd, s.stdin.as_ref().map(|x| x.as_bytes()), TIMEOUT)
}

/// Replaces `word` followed by a run of characters in `class` with `with`.
fn mask_after(s: &str, word: &str, class: impl Fn(char) -> bool, with: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(word) {
        out.push_str(&rest[..i + word.len()]);
        rest = &rest[i + word.len()..];
        let n = rest.find(|c: char| !class(c)).unwrap_or(rest.len());
        out.push_str(with);
        rest = &rest[n..];
    }
    out.push_str(rest);
    out
}

struct Norm {
    ids: Option<Ids>,
    endpoint: String,
    peer: String,
    leases: Vec<i64>,
}

/// Protobuf varint encoding of `v`.
fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

fn replace_bytes(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return hay.to_vec();
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// Collapses the padding of table lines (cell widths follow the values).
fn untable(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.starts_with('+') || l.starts_with('|') {
                let mut t = String::new();
                for c in l.chars() {
                    if (c == ' ' || c == '-') && t.ends_with(c) {
                        continue;
                    }
                    t.push(c);
                }
                t
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Norm {
    fn apply(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (i, id) in self.leases.iter().enumerate() {
            s = s
                .replace(&format!("{id:016x}"), &format!("<LEASE{i}>"))
                .replace(&id.to_string(), &format!("<LEASE{i}>"));
        }
        if let Some(ids) = &self.ids {
            s = ids.normalise(&s);
        }
        s = s
            .replace(&self.endpoint, "<EP>")
            .replace(&self.peer, "<PEER>");
        s = mask_after(&s, "\"ts\":", |c| c != ',', "<TS>");
        s = mask_after(&s, "endpoint://client-", |c| c != '/', "<UUID>");
        s = mask_after(&s, "took = ", |c| c != '\n', "<TOOK>");
        s = mask_after(&s, "\"took\":\"", |c| c != '"', "<TOOK>");
        s = mask_after(&s, "\"Took\" : ", |c| c != '\n', "<TOOK>");
        mask_after(&untable(&s), "| true | ", |c| c != ' ', "<TOOK>")
    }

    /// Protobuf output with ids, leases and URLs masked, as hex.
    fn proto(&self, b: &[u8]) -> String {
        let mut b = b.to_vec();
        for id in &self.leases {
            b = replace_bytes(&b, &varint(*id as u64), b"<L>");
        }
        if let Some(ids) = &self.ids {
            b = replace_bytes(&b, &varint(ids.cluster_id), b"<C>");
            b = replace_bytes(&b, &varint(ids.member_id), b"<M>");
        }
        b = replace_bytes(&b, self.endpoint.as_bytes(), b"<EP>");
        b = replace_bytes(&b, self.peer.as_bytes(), b"<PEER>");
        // The length of a message starting with a masked id differs too.
        let mut out = String::new();
        for (i, &c) in b.iter().enumerate() {
            let next = &b[i + 1..];
            if next.starts_with(b"\x08<C>") || next.starts_with(b"\x08<M>") {
                out.push_str("<LEN>");
            } else if c.is_ascii_graphic() {
                out.push(c as char);
            } else {
                out.push_str(&format!("\\x{c:02x}"));
            }
        }
        out
    }
}

fn lease_of(out: &CtlOutput) -> Option<i64> {
    if let Some(rest) = out.stdout.strip_prefix("lease ") {
        return i64::from_str_radix(rest.split(' ').next()?, 16).ok();
    }
    for pat in ["\"ID\":", "\"ID\" : "] {
        if let Some(i) = out.stdout.find(pat) {
            let rest = &out.stdout[i + pat.len()..];
            let n = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            return rest[..n].parse().ok();
        }
    }
    None
}

fn show(o: &CtlOutput) -> String {
    format!(
        "code {}\n--- stdout\n{}--- stderr\n{}",
        o.code, o.stdout, o.stderr
    )
}

/// Runs `script` with the real etcdctl on `a` and ours on `b`, comparing
/// every step.
fn compare(a: Option<&EtcdProcess>, b: Option<&EtcdProcess>, script: &[Step]) {
    let norm = |p: Option<&EtcdProcess>| Norm {
        ids: p.map(|p| p.ids()),
        endpoint: p.map(|p| p.endpoint()).unwrap_or_else(|| "\u{0}".into()),
        peer: p.map(|p| p.peer_url()).unwrap_or_else(|| "\u{0}".into()),
        leases: Vec::new(),
    };
    let (mut na, mut nb) = (norm(a), norm(b));
    let mut failures = Vec::new();
    for s in script {
        let mut ra = run(ETCDCTL_PATH, a, s);
        let mut rb = run(OURS, b, s);
        if s.args.iter().any(|x| x == "grant") {
            na.leases.extend(lease_of(&ra));
            nb.leases.extend(lease_of(&rb));
        }
        if s.args.iter().any(|x| x == "protobuf") {
            ra.stdout = na.proto(&ra.stdout_bytes);
            rb.stdout = nb.proto(&rb.stdout_bytes);
        }
        let (ea, eb) = (na.apply(&show(&ra)), nb.apply(&show(&rb)));
        if ea != eb {
            failures.push(format!(
                "### etcdctl {}\n--- real\n{ea}\n--- ours\n{eb}",
                s.args.join(" ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} step(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn server(binary: Option<&str>) -> EtcdProcess {
    EtcdProcess::start(EtcdOpts {
        binary: binary.map(PathBuf::from),
        ..EtcdOpts::default()
    })
}

fn kv_script() -> Vec<Step> {
    let mut s = vec![
        step(&["put", "foo", "bar"]),
        step(&["put", "foo2", "a<b>&\"é"]),
        step(&["put", "--prev-kv", "foo", "baz"]),
        step_in(&["put", "fromstdin"], "piped value"),
        step(&["put", "zz", "last"]),
    ];
    for w in FORMATS {
        s.push(step(&["-w", w, "get", "foo"]));
        s.push(step(&["-w", w, "get", "foo", "--prefix"]));
        s.push(step(&["-w", w, "get", "nothing"]));
        s.push(step(&["-w", w, "put", "foo", "v", "--prev-kv"]));
    }
    s.extend([
        step(&["get", "", "--prefix", "--keys-only"]),
        step(&["get", "", "--from-key", "--limit=2"]),
        step(&["get", "a", "g", "--order=DESCEND", "--sort-by=VALUE"]),
        step(&[
            "get",
            "foo",
            "--prefix",
            "--sort-by=CREATE",
            "--order=ASCEND",
        ]),
        step(&["get", "foo", "--rev=2"]),
        step(&["get", "foo", "--consistency=s", "--print-value-only"]),
        step(&["--hex", "get", "foo2"]),
        step(&["get", "foo", "--consistency=x"]),
        step(&["get", "foo", "--order=sideways"]),
        step(&["-w", "json", "get", "foo", "--print-value-only"]),
        step(&["get", "foo", "--prefix", "--from-key"]),
        step(&["get", "foo", "bar", "--prefix"]),
        step(&["get", "foo", "--rev=1000"]),
        step(&["put", "k", "v", "--lease=zz"]),
        step(&["put", "k"]),
        step(&["-w", "json", "del", "foo2", "--prev-kv"]),
        step(&["-w", "fields", "del", "fo", "--prefix", "--prev-kv"]),
        step(&["del", "zz", "--from-key"]),
        step(&["del"]),
        step(&["compaction", "2"]),
        step(&["compaction", "1000"]),
        step(&["compaction", "x"]),
        step(&["-w", "json", "compaction", "--physical", "3"]),
        step(&["get", "foo", "--rev=2"]),
    ]);
    s
}

fn txn_script() -> Vec<Step> {
    let ok = "mod(\"k1\") = \"0\"\n\nput k1 v1\nget k1\n\nput k1 other\n\n";
    let mut s = vec![];
    for w in ["simple", "json", "fields"] {
        s.push(step_in(&["-w", w, "txn"], ok));
    }
    s.extend([
        step_in(
            &["txn", "-i"],
            "value(\"k1\") = \"v1\"\n\ndel k1 --prev-kv\n\nput k1 x\n\n",
        ),
        step_in(&["txn"], "ver(\"k1\") > \"x\"\n\n\n\n"),
        step_in(&["txn"], "bogus(\"k1\") = \"1\"\n\n\n\n"),
        step_in(&["txn"], "mod(k1) = 1\n\n\n\n"),
        step_in(&["txn"], "\nnope k1\n\n\n"),
        step_in(&["txn"], "\nget\n\n\n"),
        step_in(&["txn"], "\n\nput k2 v2"),
        step(&["txn", "extra"]),
    ]);
    s
}

fn lease_script() -> Vec<Step> {
    let mut s = vec![step(&["lease", "grant", "100"])];
    for w in ["simple", "json", "fields"] {
        s.push(step(&["-w", w, "lease", "grant", "200"]));
    }
    s.extend([
        step(&["lease", "list"]),
        step(&["-w", "json", "lease", "list"]),
        step(&["-w", "fields", "lease", "list"]),
        // Leases granted from here on print no id: keep them last.
        step(&["-w", "protobuf", "lease", "grant", "200"]),
        step(&["-w", "table", "lease", "grant", "200"]),
        step(&["lease", "grant"]),
        step(&["lease", "grant", "x"]),
        step(&["lease", "revoke", "zz"]),
        step(&["lease", "revoke", "1234"]),
        step(&["lease", "timetolive", "1234"]),
        step(&["-w", "json", "lease", "timetolive", "1234"]),
        step(&["lease", "keep-alive", "--once", "1234"]),
    ]);
    s
}

fn cluster_script() -> Vec<Step> {
    let mut s = vec![];
    for w in FORMATS {
        s.push(step(&["-w", w, "member", "list"]));
        s.push(step(&["-w", w, "endpoint", "hashkv"]));
        s.push(step(&["-w", w, "endpoint", "health"]));
        // etcdctl 3.4 dereferences a missing header with `-w fields`.
        if w != "fields" {
            s.push(step(&["-w", w, "alarm", "list"]));
        }
    }
    s.extend([
        step(&["endpoint", "status", "-w", "protobuf"]),
        step(&["member", "remove", "xyz"]),
        step(&["member", "remove", "1234"]),
        step(&["member", "add"]),
        step(&["member", "add", "n", "http://x:1"]),
        step(&["member", "add", "n"]),
        step(&["member", "update", "1234"]),
        step(&["member", "promote", "1234"]),
        step(&["move-leader", "zz"]),
        step(&["move-leader", "1234"]),
        step(&["version"]),
        step(&["-w", "bogus", "member", "list"]),
        step(&["alarm", "list", "extra"]),
    ]);
    s
}

fn cli_script() -> Vec<Step> {
    vec![
        raw(&[]),
        raw(&["--help"]),
        raw(&["get", "-h"]),
        raw(&["help", "put"]),
        raw(&["lease"]),
        raw(&["member", "bogus"]),
        raw(&["endpoint", "status", "--help"]),
        raw(&["watch", "-h"]),
        raw(&["txn", "-h"]),
        raw(&["frobnicate"]),
        raw(&["l"]),
        raw(&["get", "--bogus", "x"]),
        raw(&["get", "-x"]),
        raw(&["get", "--limit=abc", "x"]),
        raw(&["get", "--prefix=maybe", "x"]),
        raw(&["--dial-timeout=x", "get", "a"]),
        raw(&["-w"]),
        raw(&["get", "--limit"]),
        raw(&["get"]),
        raw(&["put"]),
        raw(&["version"]),
        raw(&["vers"]),
    ]
}

#[test]
fn kv_commands_match_real_etcdctl() {
    let (a, b) = (server(None), server(None));
    compare(Some(&a), Some(&b), &kv_script());
}

#[test]
fn txn_matches_real_etcdctl() {
    let (a, b) = (server(None), server(None));
    compare(Some(&a), Some(&b), &txn_script());
}

#[test]
fn lease_commands_match_real_etcdctl() {
    let (a, b) = (server(None), server(None));
    compare(Some(&a), Some(&b), &lease_script());
}

#[test]
fn cluster_and_maintenance_commands_match_real_etcdctl() {
    let (a, b) = (server(None), server(None));
    compare(Some(&a), Some(&b), &cluster_script());
}

#[test]
fn usage_and_flag_errors_match_real_etcdctl() {
    compare(None, None, &cli_script());
}

#[test]
fn against_real_etcd_kv_and_cluster() {
    let (a, b) = (server(Some(REAL_ETCD)), server(Some(REAL_ETCD)));
    let mut script = kv_script();
    script.extend(cluster_script());
    compare(Some(&a), Some(&b), &script);
}

#[test]
fn failover_skips_an_unreachable_first_endpoint() {
    let (a, b) = (server(None), server(None));
    let dead = common::free_port();
    let steps = |p: &EtcdProcess| {
        let eps = format!("--endpoints=127.0.0.1:{dead},{}", p.endpoint());
        vec![
            raw(&[&eps, "put", "k", "v"]),
            raw(&[&eps, "get", "k"]),
            raw(&[&eps, "-w", "json", "get", "k"]),
        ]
    };
    // Same script shape on both sides, each naming its own server.
    let (sa, sb) = (steps(&a), steps(&b));
    let na = Norm {
        ids: Some(a.ids()),
        endpoint: a.endpoint(),
        peer: a.peer_url(),
        leases: vec![],
    };
    let nb = Norm {
        ids: Some(b.ids()),
        endpoint: b.endpoint(),
        peer: b.peer_url(),
        leases: vec![],
    };
    for (x, y) in sa.iter().zip(&sb) {
        let ra = na.apply(&show(&run(ETCDCTL_PATH, None, x)));
        let rb = nb.apply(&show(&run(OURS, None, y)));
        assert_eq!(ra, rb, "step {:?}", y.args);
        assert!(rb.starts_with("code 0"), "{rb}");
    }
}

#[test]
fn unreachable_endpoint_fails_like_etcdctl() {
    let dead = common::free_port();
    let eps = format!("--endpoints=127.0.0.1:{dead}");
    let script = vec![
        raw(&[&eps, "--command-timeout=1s", "get", "k"]),
        raw(&[&eps, "--command-timeout=1s", "put", "k", "v"]),
    ];
    let n = Norm {
        ids: None,
        endpoint: format!("127.0.0.1:{dead}"),
        peer: "\u{0}".into(),
        leases: vec![],
    };
    for s in &script {
        let ra = n.apply(&show(&run(ETCDCTL_PATH, None, s)));
        let rb = n.apply(&show(&run(OURS, None, s)));
        assert_eq!(ra, rb, "step {:?}", s.args);
    }
}

fn watch_lock_script() -> Vec<Step> {
    let mut s = vec![
        step(&["put", "w", "1"]),
        step(&["put", "w", "2"]),
        step(&["put", "w", "3"]),
        step(&["compaction", "3"]),
    ];
    for w in ["simple", "json", "fields"] {
        // A watch from a compacted revision is canceled by the server.
        s.push(step(&["-w", w, "watch", "w", "--rev=1"]));
    }
    s.extend([
        step(&["watch"]),
        step(&["watch", "w", "--"]),
        step(&["watch", "a", "b", "--prefix"]),
        step(&["lock", "mylock", "echo", "locked"]),
        step(&["lock", "mylock", "false"]),
        step(&["lock"]),
        step(&["elect"]),
        step(&["elect", "e"]),
        step(&["elect", "-l", "e", "p"]),
        step(&["snapshot", "save"]),
    ]);
    s
}

fn auth_script() -> Vec<Step> {
    let mut s = vec![
        step(&["user", "add", "root:rootpw"]),
        step(&["user", "add", "alice", "--new-user-password=pw"]),
        step(&["role", "add", "reader"]),
        step(&["role", "grant-permission", "reader", "read", "foo"]),
        step(&[
            "role",
            "grant-permission",
            "reader",
            "readwrite",
            "p",
            "--prefix",
        ]),
        step(&["role", "grant-permission", "reader", "write", "a", "z"]),
        step(&["role", "grant-permission", "reader", "bogus", "a"]),
        step(&["user", "grant-role", "alice", "reader"]),
    ];
    for w in ["simple", "json", "fields"] {
        s.push(step(&["-w", w, "role", "get", "reader"]));
        s.push(step(&["-w", w, "role", "list"]));
        s.push(step(&["-w", w, "user", "get", "alice"]));
        s.push(step(&["-w", w, "user", "list"]));
    }
    s.extend([
        step(&["user", "get", "alice", "--detail"]),
        step(&["role", "revoke-permission", "reader", "foo"]),
        step(&["user", "revoke-role", "alice", "reader"]),
        step(&["user", "get", "nobody"]),
        step(&["role", "delete", "reader"]),
        step(&["user", "delete", "alice"]),
        step(&["user", "add"]),
        step(&["auth", "enable", "extra"]),
    ]);
    s
}

#[test]
fn watch_lock_elect_match_real_etcdctl() {
    let (a, b) = (server(None), server(None));
    compare(Some(&a), Some(&b), &watch_lock_script());
}

#[test]
fn auth_user_role_commands_match_real_etcdctl() {
    let (a, b) = (server(None), server(None));
    compare(Some(&a), Some(&b), &auth_script());
}
