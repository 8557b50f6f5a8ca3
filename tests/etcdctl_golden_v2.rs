//! Our etcdctl against the real etcdctl 3.4.23 with `ETCDCTL_API=2`, byte
//! for byte (stdout, stderr, exit code).
//!
//! Like etcdctl_golden.rs, each script runs twice: the real etcdctl
//! against server A and ours against server B, two fresh servers of the
//! same kind started with `--enable-v2` (ours by default, the real etcd
//! with `ETCD_RS_TEST_ETCD`), so v2 indexes line up without masking. Only
//! endpoints, member ids and expiration times are masked. Listings use
//! `--sort` (etcd's v2 store lists children in map order).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{run_with_timeout, CtlOutput, EtcdOpts, EtcdProcess, ETCDCTL_PATH};

const OURS: &str = env!("CARGO_BIN_EXE_etcdctl");
const TIMEOUT: Duration = Duration::from_secs(30);

fn server() -> EtcdProcess {
    EtcdProcess::start(EtcdOpts {
        args: vec!["--enable-v2".into()],
        ..Default::default()
    })
}

/// Runs `bin` with `ETCDCTL_API=2`, `--endpoints` first unless `raw`.
fn run(bin: &str, p: Option<&EtcdProcess>, args: &[&str], stdin: Option<&str>) -> CtlOutput {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ETCDCTL_API", "2");
    if let Some(p) = p {
        cmd.arg(format!("--endpoints={}", p.client_url()));
    }
    cmd.args(args);
    run_with_timeout(cmd, stdin.map(str::as_bytes), TIMEOUT)
}

/// Replaces `word` followed by characters up to `end` with `with`.
fn mask_after(s: &str, word: &str, end: char, with: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(word) {
        out.push_str(&rest[..i + word.len()]);
        rest = &rest[i + word.len()..];
        let n = rest.find(end).unwrap_or(rest.len());
        out.push_str(with);
        rest = &rest[n..];
    }
    out.push_str(rest);
    out
}

fn norm(p: Option<&EtcdProcess>, o: &CtlOutput) -> String {
    let mut s = format!(
        "code {}\n--- stdout\n{}--- stderr\n{}",
        o.code, o.stdout, o.stderr
    );
    if let Some(p) = p {
        let ids = p.ids();
        s = ids
            .normalise(&s)
            .replace(&p.client_url(), "<EP>")
            .replace(&p.peer_url(), "<PEER>");
    }
    mask_after(&s, "\"expiration\":\"", '"', "<TIME>")
}

/// Runs every step with both etcdctls and reports all differences.
fn compare(a: Option<&EtcdProcess>, b: Option<&EtcdProcess>, script: &[(&[&str], Option<&str>)]) {
    let mut failures = Vec::new();
    for (args, stdin) in script {
        let ra = norm(a, &run(ETCDCTL_PATH, a, args, *stdin));
        let rb = norm(b, &run(OURS, b, args, *stdin));
        if ra != rb {
            failures.push(format!(
                "### etcdctl {}\n--- real\n{ra}\n--- ours\n{rb}",
                args.join(" ")
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

#[test]
fn key_commands_match_real_etcdctl() {
    let (a, b) = (server(), server());
    let mut s: Vec<(&[&str], Option<&str>)> = vec![
        (&["set", "/a", "1"], None),
        (&["mk", "/b", "x<y>&"], None),
        (&["mk", "/b", "again"], None),
        (&["mk", "/q"], None),
        (&["set", "/fromstdin"], Some("piped")),
        (&["update", "/nope", "v"], None),
        (&["update", "/a", "2"], None),
        (&["set", "/a", "3", "--swap-with-value", "9"], None),
        (&["set", "/a", "3", "--swap-with-index", "1"], None),
        (&["set", "/a", "3", "--swap-with-value", "2"], None),
        (&["mkdir", "/d"], None),
        (&["mkdir", "/d"], None),
        (&["setdir", "/d"], None),
        (&["set", "/d/x", "in"], None),
        (&["set", "--ttl", "100", "/t", "v"], None),
        (&["get", "/d"], None),
        (&["get", "/nope"], None),
        (&["get"], None),
        (&["get", "/a", "extra"], None),
        (&["rm", "/d"], None),
        (&["rmdir", "/d"], None),
        (&["updatedir", "/nodir"], None),
        (&["rm", "/a", "--with-value", "zz"], None),
        (&["ls", "--sort"], None),
        (&["ls", "--sort", "-p", "-r"], None),
        (&["ls", "/a"], None),
        (&["mk", "--in-order", "/queue", "job"], None),
        (&["-o", "bogus", "get", "/a"], None),
    ];
    for o in ["simple", "extended", "json"] {
        let steps: Vec<(&[&str], Option<&str>)> = match o {
            "simple" => vec![
                (&["-o", "simple", "get", "/a"], None),
                (&["-o", "simple", "get", "/t"], None),
                (&["-o", "simple", "set", "/a", "s"], None),
                (&["-o", "simple", "ls", "/d", "--sort"], None),
                (&["-o", "simple", "get", "/missing"], None),
                (&["-o", "simple", "mkdir", "/m1"], None),
                (&["-o", "simple", "rm", "/fromstdin"], None),
            ],
            "extended" => vec![
                (&["-o", "extended", "get", "/a"], None),
                (&["-o", "extended", "get", "/t"], None),
                (&["-o", "extended", "set", "/a", "e"], None),
                (&["-o", "extended", "ls", "/d", "--sort"], None),
                (&["-o", "extended", "get", "/missing"], None),
                (&["-o", "extended", "mkdir", "/m2"], None),
                (&["-o", "extended", "rm", "/b"], None),
            ],
            _ => vec![
                (&["-o", "json", "get", "/a"], None),
                (&["-o", "json", "get", "/t"], None),
                (&["-o", "json", "set", "/a", "j"], None),
                (&["-o", "json", "ls", "/d", "--sort", "-r"], None),
                (&["-o", "json", "get", "/missing"], None),
                (&["-o", "json", "mkdir", "/m3"], None),
                (&["-o", "json", "rm", "/m3", "--dir"], None),
            ],
        };
        s.extend(steps);
    }
    s.extend([
        (&["rm", "/d", "--recursive"] as &[&str], None),
        (&["watch", "/a", "--after-index", "1"], None),
        (
            &["-o", "json", "watch", "/d", "-r", "--after-index", "1"],
            None,
        ),
        (&["watch"], None),
        (&["exec-watch", "/a"], None),
    ]);
    compare(Some(&a), Some(&b), &s);
}

#[test]
fn member_user_role_auth_match_real_etcdctl() {
    let (a, b) = (server(), server());
    let s: Vec<(&[&str], Option<&str>)> = vec![
        (&["member", "list"], None),
        (&["member", "list", "x"], None),
        (&["member", "add"], None),
        (&["member", "add", "n", "x"], None),
        (&["member", "add", "n", "http://x"], None),
        (&["member", "remove"], None),
        (&["member", "remove", "1234"], None),
        (&["member", "update", "1234", "http://127.0.0.1:1"], None),
        (&["cluster-health"], None),
        (&["user", "list"], None),
        (&["role", "list"], None),
        (&["user", "add", "root:pw"], None),
        (&["user", "add", "alice:pw"], None),
        (&["role", "add", "r1"], None),
        (&["role", "add", "r1"], None),
        (&["role", "grant", "r1", "--path", "/foo/*", "--read"], None),
        (&["role", "grant", "r1", "--path", "/foo/*", "--read"], None),
        (&["role", "grant", "r1", "--path", "foo", "--read"], None),
        (&["role", "grant", "r1", "--path", "/foo"], None),
        (&["role", "grant", "r1"], None),
        (&["role", "get", "r1"], None),
        (&["role", "get", "nobody"], None),
        (&["user", "grant", "alice", "--roles", "r1"], None),
        (&["user", "grant", "alice"], None),
        (&["user", "get", "alice"], None),
        (&["user", "get", "nobody"], None),
        (&["user", "list"], None),
        (&["role", "list"], None),
        (&["user", "revoke", "alice", "--roles", "r1"], None),
        (
            &["role", "revoke", "r1", "--path", "/foo/*", "--read"],
            None,
        ),
        (&["auth", "enable", "x"], None),
        (&["auth", "enable"], None),
        (&["auth", "disable"], None),
        (&["-u", "root:pw", "auth", "disable"], None),
        (&["role", "remove", "r1"], None),
        (&["user", "remove", "alice"], None),
        (&["user", "remove", "nobody"], None),
    ];
    compare(Some(&a), Some(&b), &s);
}

#[test]
fn help_and_usage_errors_match_real_etcdctl() {
    let mut s: Vec<&[&str]> = vec![
        &[],
        &["--help"],
        &["-h"],
        &["h"],
        &["help", "get"],
        &["help", "member"],
        &["help", "help"],
        &["help", "--bogus"],
        &["member"],
        &["member", "-h"],
        &["member", "h"],
        &["member", "help", "list"],
        &["member", "bogus"],
        &["member", "--bogus"],
        &["member", "list", "--bogus"],
        &["frob"],
        &["g"],
        &["h", "frob"],
        &["-v"],
        &["--version"],
        &["--bogus", "get", "x"],
        &["get", "--bogus", "x"],
        &["set", "--ttl=abc", "k", "v"],
        &["-o"],
        &["--timeout=xx", "get", "k"],
        &["user", "help", "add"],
        &["auth"],
    ];
    for c in [
        "backup",
        "cluster-health",
        "mk",
        "mkdir",
        "rm",
        "rmdir",
        "get",
        "ls",
        "set",
        "setdir",
        "update",
        "updatedir",
        "watch",
        "exec-watch",
        "user",
        "role",
    ] {
        s.push(Box::leak(Box::new([c, "-h"])));
    }
    for g in ["user", "role"] {
        for c in ["add", "get", "list", "remove", "grant", "revoke"] {
            s.push(Box::leak(Box::new([g, c, "-h"])));
        }
    }
    let script: Vec<(&[&str], Option<&str>)> = s.into_iter().map(|a| (a, None)).collect();
    compare(None, None, &script);
}

#[test]
fn unreachable_endpoint_and_failover_match_real_etcdctl() {
    let dead = format!("--endpoints=http://127.0.0.1:{}", common::free_port());
    let bare = format!("--endpoints=127.0.0.1:{}", common::free_port());
    let (dead, bare) = (dead.as_str(), bare.as_str());
    let steps: [Vec<&str>; 5] = [
        vec![dead, "get", "/k"],
        vec![dead, "--no-sync", "get", "/k"],
        vec![dead, "member", "list"],
        vec![dead, "cluster-health"],
        vec![bare, "get", "/k"],
    ];
    let script: Vec<(&[&str], Option<&str>)> = steps.iter().map(|a| (a.as_slice(), None)).collect();
    compare(None, None, &script);
    // A dead endpoint next to a live one: the request fails over.
    let (a, b) = (server(), server());
    for p in [&a, &b] {
        let eps = format!(
            "--endpoints=http://127.0.0.1:{},{}",
            common::free_port(),
            p.client_url()
        );
        for bin in [ETCDCTL_PATH, OURS] {
            let o = run(bin, None, &[&eps, "--no-sync", "set", "/k", "v"], None);
            assert_eq!((o.code, o.stdout.as_str()), (0, "v\n"), "{bin}: {o:?}");
        }
    }
}
