//! Auth state where it is stored and moved, and the other ways in:
//! - users, roles and the enabled flag survive restarts and reach a member
//!   that catches up from the leader's Raft snapshot, equal on all members;
//! - a backup (`snapshot save`) of ours or of the real etcd 3.4 with auth
//!   enabled, restored with our `etcdutl`, keeps auth working (log in,
//!   permissions hold) — the `authRevision` byte order is translated;
//! - the JSON gateway takes the token in `Authorization`, and answers
//!   without one with etcd's error JSON (compared with the real etcd);
//! - with `--client-cert-auth`, the client certificate's CN is the user
//!   when no token is given (compared with the real etcd through etcdctl).

mod common;
mod tls_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};
use common::{run_with_timeout, CtlOutput, EtcdOpts, EtcdProcess, ETCDCTL_PATH};
use serde_json::Value;
use tls_support::Member;

const REAL_ETCD: &str = "/usr/bin/etcd";
const TIMEOUT: Duration = Duration::from_secs(30);

/// The auth setup every test starts from, as etcdctl arguments.
const SETUP: &[&[&str]] = &[
    &["user", "add", "root:rootpw"],
    &["role", "add", "root"],
    &["user", "grant-role", "root", "root"],
    &["user", "add", "alice:apw"],
    &["role", "add", "reader"],
    &["role", "grant-permission", "reader", "read", "foo"],
    &[
        "role",
        "grant-permission",
        "reader",
        "--prefix",
        "readwrite",
        "pre/",
    ],
    &["user", "grant-role", "alice", "reader"],
    &["user", "add", "bob:bpw"],
    &["put", "foo", "bar"],
    &["auth", "enable"],
];

fn setup(ctl: impl Fn(&[&str]) -> CtlOutput) {
    for args in SETUP {
        let out = ctl(args);
        assert_eq!(out.code, 0, "etcdctl {args:?}: {}", out.stderr);
    }
}

fn ctl_at(endpoint: &str, args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(ETCDCTL_PATH);
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .args(args);
    run_with_timeout(cmd, None, TIMEOUT)
}

/// `args` run as `user` (`name:password`).
fn as_user<'a>(user: &'a str, args: &[&'a str]) -> Vec<String> {
    std::iter::once(format!("--user={user}"))
        .chain(args.iter().map(|s| s.to_string()))
        .collect()
}

fn run(endpoint: &str, user: &str, args: &[&str]) -> CtlOutput {
    let a = as_user(user, args);
    ctl_at(endpoint, &a.iter().map(String::as_str).collect::<Vec<_>>())
}

/// What the auth state looks like from `endpoint`, as root.
fn auth_view(endpoint: &str) -> String {
    let mut view = String::new();
    for args in [
        &["user", "list"][..],
        &["role", "list"],
        &["user", "get", "alice"],
        &["user", "get", "bob"],
        &["role", "get", "reader"],
    ] {
        let out = run(endpoint, "root:rootpw", args);
        assert_eq!(out.code, 0, "{args:?} on {endpoint}: {}", out.stderr);
        view.push_str(&out.stdout);
    }
    view
}

/// Permissions hold at `endpoint`: alice reads foo but may not write it,
/// writes under pre/, a wrong password is refused.
fn assert_permissions_hold(endpoint: &str) {
    let got = run(endpoint, "alice:apw", &["get", "foo", "--print-value-only"]);
    assert_eq!(
        (got.code, got.stdout.as_str()),
        (0, "bar\n"),
        "{}",
        got.stderr
    );
    let denied = run(endpoint, "alice:apw", &["put", "foo", "x"]);
    assert!(
        denied.stderr.contains("etcdserver: permission denied"),
        "{denied:?}"
    );
    let ok = run(endpoint, "alice:apw", &["put", "pre/a", "x"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let bob = run(endpoint, "bob:bpw", &["get", "foo"]);
    assert!(
        bob.stderr.contains("etcdserver: permission denied"),
        "{bob:?}"
    );
    let wrong = run(endpoint, "alice:nope", &["get", "foo"]);
    assert!(
        wrong
            .stderr
            .contains("etcdserver: authentication failed, invalid user ID or password"),
        "{wrong:?}"
    );
    let anon = ctl_at(endpoint, &["get", "foo"]);
    assert!(
        anon.stderr.contains("etcdserver: user name is empty"),
        "{anon:?}"
    );
}

#[test]
fn auth_state_survives_restart_and_snapshot_catch_up() {
    const KEYS: usize = 6000;
    const CLIENTS: usize = 32;
    let mut c = Cluster::start(
        3,
        ClusterOpts {
            args: vec!["--snapshot-count".into(), "1000".into()],
            ..Default::default()
        },
    );
    let leader = c.wait_leader(TIMEOUT);
    let f = (leader + 1) % 3;
    c.kill9(f);
    setup(|a| {
        c.etcdctl(
            leader,
            &as_user("root:rootpw", a)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    });
    // Push the log past the 5000 entries kept after a snapshot, as root.
    let token = {
        let out = run(&c.endpoint(leader), "root:rootpw", &["user", "list"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let ch = c.channel(leader);
        c.block_on(async move {
            etcd_proto::etcdserverpb::auth_client::AuthClient::new(ch)
                .authenticate(etcd_proto::etcdserverpb::AuthenticateRequest {
                    name: "root".into(),
                    password: "rootpw".into(),
                })
                .await
                .expect("authenticate")
                .into_inner()
                .token
        })
    };
    let ch = c.channel_timeout(leader, Duration::from_secs(10));
    let failures: usize = c.block_on(async move {
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|w| {
                let mut kv = etcd_proto::etcdserverpb::kv_client::KvClient::new(ch.clone());
                let token: tonic::metadata::MetadataValue<_> = token.parse().expect("token");
                tokio::spawn(async move {
                    let mut failed = 0;
                    for n in (w..KEYS).step_by(CLIENTS) {
                        let mut req = tonic::Request::new(etcd_proto::etcdserverpb::PutRequest {
                            key: format!("bulk/{n:05}").into(),
                            value: b"v".to_vec(),
                            ..Default::default()
                        });
                        req.metadata_mut().insert("token", token.clone());
                        if kv.put(req).await.is_err() {
                            failed += 1;
                        }
                    }
                    failed
                })
            })
            .collect();
        let mut failed = 0;
        for t in tasks {
            failed += t.await.expect("writer task");
        }
        failed
    });
    assert_eq!(failures, 0, "bulk puts failed\n{}", c.logs());
    c.restart(f);
    let all = [0, 1, 2];
    // (wait_converged compares HashKV, which needs root with auth on.)
    let converged = common::wait_until(Duration::from_secs(60), || {
        let applied: Vec<Option<u64>> = c
            .statuses(&all)
            .into_iter()
            .map(|s| s.map(|s| s.raft_applied_index))
            .collect();
        applied.iter().all(|a| a.is_some() && *a == applied[0])
    });
    assert!(converged, "members did not converge\n{}", c.logs());
    assert!(
        c.log(f).contains("finished applying incoming snapshot"),
        "member {f} caught up without a snapshot\n{}",
        c.logs()
    );
    let want = auth_view(&c.endpoint(leader));
    assert!(
        want.contains("alice") && want.contains("[pre/, pre0) (prefix pre/)"),
        "{want}"
    );
    for i in all {
        assert_eq!(auth_view(&c.endpoint(i)), want, "member {i}");
        assert_permissions_hold(&c.endpoint(i));
    }
    // Every member restarted (one at a time): the same state, from disk.
    for i in all {
        c.restart(i);
    }
    c.wait_leader(TIMEOUT);
    for i in all {
        assert_eq!(auth_view(&c.endpoint(i)), want, "member {i} after restart");
        assert_permissions_hold(&c.endpoint(i));
    }
}

fn etcdutl(args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdutl"));
    cmd.args(args);
    run_with_timeout(cmd, None, TIMEOUT)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Restores `snap` with our etcdutl and starts our server on it.
fn restore_and_start(snap: &Path) -> (Member, String) {
    let mut m = Member::reserve();
    let peer = m.peer_url("http");
    let cluster = format!("default={peer}");
    let out = etcdutl(&[
        "snapshot",
        "restore",
        s(snap),
        "--name",
        "default",
        "--data-dir",
        s(&m.data_dir()),
        "--initial-cluster",
        &cluster,
        "--initial-advertise-peer-urls",
        &peer,
    ]);
    assert_eq!(out.code, 0, "restore failed: {}", out.stderr);
    let client = m.client_url("http");
    let args = vec![
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster={cluster}"),
    ];
    m.spawn(&common::server_binary(), "default", &args);
    m.wait_ready();
    (m, client.trim_start_matches("http://").to_string())
}

fn backup_restores_with_auth(binary: Option<PathBuf>) {
    let p = EtcdProcess::start(EtcdOpts {
        binary,
        ..EtcdOpts::default()
    });
    setup(|a| {
        p.etcdctl(
            &as_user("root:rootpw", a)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    });
    let want = auth_view(&p.endpoint());
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("auth.db");
    let out = run(
        &p.endpoint(),
        "root:rootpw",
        &["snapshot", "save", s(&snap)],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (m, endpoint) = restore_and_start(&snap);
    assert_eq!(auth_view(&endpoint), want, "\n{}", m.log());
    assert_permissions_hold(&endpoint);
    // Still enabled, and still changeable (the revision came along).
    let out = run(&endpoint, "root:rootpw", &["user", "add", "carol:cpw"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(&endpoint, "carol:cpw", &["get", "foo"]);
    assert!(
        out.stderr.contains("etcdserver: permission denied"),
        "{out:?}"
    );
}

#[test]
fn backup_of_ours_with_auth_restores_with_auth() {
    backup_restores_with_auth(None);
}

#[test]
fn backup_of_real_etcd_with_auth_restores_with_auth() {
    backup_restores_with_auth(Some(PathBuf::from(REAL_ETCD)));
}

/// A gateway POST with an optional `Authorization` header: (status, JSON).
fn gateway(p: &EtcdProcess, path: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut args = vec![
        "-sS".to_string(),
        "--max-time".into(),
        "10".into(),
        "-w".into(),
        "\n%{http_code}".into(),
        "-X".into(),
        "POST".into(),
        "-d".into(),
        body.into(),
    ];
    if let Some(t) = token {
        args.extend(["-H".into(), format!("Authorization: {t}")]);
    }
    args.push(format!("{}{path}", p.client_url()));
    let mut cmd = Command::new("curl");
    cmd.args(&args);
    let out = run_with_timeout(cmd, None, TIMEOUT);
    let (json, status) = out.stdout.rsplit_once('\n').expect("status line");
    let mut v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    if let Some(h) = v.get_mut("header").and_then(Value::as_object_mut) {
        for id in ["cluster_id", "member_id", "raft_term"] {
            h.insert(id.into(), Value::from("<ID>"));
        }
    }
    if let Some(t) = v.get_mut("token") {
        *t = Value::from("<TOKEN>");
    }
    (status.parse().expect("status"), v)
}

fn gateway_session(p: &EtcdProcess) -> Vec<(u16, Value)> {
    setup(|a| {
        p.etcdctl(
            &as_user("root:rootpw", a)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    });
    let auth = |body| gateway(p, "/v3/auth/authenticate", body, None);
    let login = r#"{"name":"alice","password":"apw"}"#;
    let token = {
        let (_, v) = auth(login);
        assert_eq!(v["token"], "<TOKEN>", "{v}");
        // The real token, unnormalised, for the calls below.
        let out = run_with_timeout(
            {
                let mut c = Command::new("curl");
                c.args(["-sS", "--max-time", "10", "-X", "POST", "-d", login])
                    .arg(format!("{}/v3/auth/authenticate", p.client_url()));
                c
            },
            None,
            TIMEOUT,
        );
        let v: Value = serde_json::from_str(&out.stdout).expect("json");
        v["token"].as_str().expect("token").to_string()
    };
    let foo = r#"{"key":"Zm9v"}"#;
    let put = r#"{"key":"Zm9v","value":"eA=="}"#;
    vec![
        auth(login),
        auth(r#"{"name":"alice","password":"wrong"}"#),
        gateway(p, "/v3/kv/range", foo, Some(&token)),
        gateway(p, "/v3/kv/range", foo, None),
        gateway(p, "/v3/kv/range", foo, Some("bogus.token")),
        gateway(p, "/v3/kv/put", put, Some(&token)),
        gateway(p, "/v3/kv/put", put, None),
        gateway(p, "/v3/auth/user/list", "{}", Some(&token)),
    ]
}

#[test]
fn gateway_auth_matches_etcd() {
    let ours = EtcdProcess::start(EtcdOpts::default());
    let real = EtcdProcess::start(EtcdOpts {
        binary: Some(PathBuf::from(REAL_ETCD)),
        ..EtcdOpts::default()
    });
    let (ours, real) = (gateway_session(&ours), gateway_session(&real));
    assert_eq!(ours[2].0, 200, "{:?}", ours[2]);
    for (i, (o, r)) in ours.iter().zip(&real).enumerate() {
        assert_eq!(
            o, r,
            "gateway call {i} differs (left: ours, right: etcd 3.4)"
        );
    }
}
