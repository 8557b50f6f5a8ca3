//! Auth through the real etcdctl 3.4, against our server and the real etcd
//! 3.4.23 running the same script: users and roles are set up, auth is
//! enabled, then every operation of a matrix is run as each kind of caller
//! (root, a reader, a writer, a user without roles, no credentials, a wrong
//! password, the `--user u --password p` form) and the exit code, stderr
//! and (where ids do not vary) stdout must match etcd's exactly.

mod common;

use std::path::PathBuf;

use common::{CtlOutput, EtcdOpts, EtcdProcess, Ids};

const REAL_ETCD: &str = "/usr/bin/etcd";

struct Side {
    p: EtcdProcess,
    ids: Ids,
}

/// What is compared of one etcdctl run.
#[derive(Debug, PartialEq)]
struct Seen {
    code: i32,
    stderr: String,
    stdout: Option<String>,
}

fn seen(side: &Side, out: CtlOutput, with_stdout: bool) -> Seen {
    // Client retry logs carry timestamps and generated target names.
    let stderr: Vec<&str> = out.stderr.lines().filter(|l| !l.starts_with("{\"level\"")).collect();
    Seen {
        code: out.code,
        stderr: side
            .ids
            .normalise(&stderr.join("\n"))
            .replace(&side.p.endpoint(), "<ENDPOINT>"),
        stdout: with_stdout.then(|| {
            side.ids
                .normalise(&out.stdout)
                .replace(&side.p.client_url(), "<CLIENT_URL>")
                .replace(&side.p.peer_url(), "<PEER_URL>")
                .replace(&side.p.endpoint(), "<ENDPOINT>")
        }),
    }
}

fn both(sides: &[Side; 2], args: &[&str], stdin: Option<&str>, with_stdout: bool) -> Seen {
    let run = |s: &Side| {
        let out = match stdin {
            Some(i) => s.p.etcdctl_stdin(args, i),
            None => s.p.etcdctl(args),
        };
        seen(s, out, with_stdout)
    };
    let (ours, real) = (run(&sides[0]), run(&sides[1]));
    assert_eq!(ours, real, "etcdctl {args:?} differs (left: ours, right: etcd 3.4)");
    real
}

fn start() -> [Side; 2] {
    let ours = EtcdProcess::start(EtcdOpts::default());
    let real = EtcdProcess::start(EtcdOpts {
        binary: Some(PathBuf::from(REAL_ETCD)),
        ..EtcdOpts::default()
    });
    let side = |p: EtcdProcess| Side { ids: p.ids(), p };
    [side(ours), side(real)]
}

fn setup(s: &[Side; 2]) {
    both(
        s,
        &["user", "add", "root", "--interactive=false"],
        Some("rootpw\n"),
        true,
    );
    for u in ["alice:apw", "bob:bpw", "carol:cpw"] {
        both(s, &["user", "add", u], None, true);
    }
    for r in ["root", "reader", "writer"] {
        both(s, &["role", "add", r], None, true);
    }
    both(s, &["role", "grant-permission", "reader", "read", "foo"], None, true);
    both(
        s,
        &["role", "grant-permission", "reader", "--prefix", "read", "pre/"],
        None,
        true,
    );
    both(s, &["role", "grant-permission", "writer", "write", "foo"], None, true);
    both(
        s,
        &["role", "grant-permission", "writer", "--from-key", "readwrite", "zzz"],
        None,
        true,
    );
    both(s, &["user", "grant-role", "root", "root"], None, true);
    both(s, &["user", "grant-role", "alice", "reader"], None, true);
    both(s, &["user", "grant-role", "bob", "writer"], None, true);
    both(s, &["role", "get", "reader"], None, true);
    both(s, &["role", "get", "writer"], None, true);
    both(s, &["user", "get", "alice"], None, true);
    both(s, &["user", "list"], None, true);
    both(s, &["role", "list"], None, true);
    // Errors before enabling.
    both(s, &["user", "add", "alice:x"], None, true);
    both(s, &["role", "add", "reader"], None, true);
    both(s, &["user", "grant-role", "alice", "nosuch"], None, true);
    both(s, &["user", "grant-role", "nosuch", "reader"], None, true);
    both(s, &["role", "revoke-permission", "reader", "nosuch"], None, true);
    both(s, &["user", "revoke-role", "carol", "reader"], None, true);
    both(s, &["put", "foo", "v0"], None, true);
    both(s, &["compaction", "1"], None, true);
    both(s, &["auth", "enable"], None, true);
}

#[test]
fn auth_matrix_matches_etcd() {
    let s = start();
    // Enabling without a root user fails the same way.
    both(&s, &["auth", "enable"], None, true);
    setup(&s);
    let creds: [&[&str]; 7] = [
        &["--user", "root:rootpw"],
        &["--user", "alice:apw"],
        &["--user", "bob:bpw"],
        &["--user", "carol:cpw"],
        &[],
        &["--user", "alice:wrong"],
        &["--user", "alice", "--password", "apw"],
    ];
    // (args, compare stdout)
    let ops: &[(&[&str], bool)] = &[
        (&["get", "foo"], true),
        (&["get", "pre/", "--prefix"], true),
        (&["get", "a", "--from-key"], true),
        (&["put", "foo", "v1"], false),
        (&["put", "zzz1", "v"], false),
        (&["put", "--prev-kv", "zzz2", "v"], false),
        (&["del", "foo"], false),
        (&["del", "zzz", "--from-key"], false),
        (&["member", "list"], true),
        (&["defrag"], true),
        (&["endpoint", "hashkv"], false),
        (&["user", "list"], true),
        (&["role", "list"], true),
        (&["user", "get", "alice"], true),
        (&["role", "get", "reader"], true),
        (&["lease", "grant", "60"], false),
    ];
    for c in creds {
        for (op, with_stdout) in ops {
            let args: Vec<&str> = c.iter().chain(op.iter()).copied().collect();
            both(&s, &args, None, *with_stdout);
        }
        let args: Vec<&str> = c.iter().chain(["txn"].iter()).copied().collect();
        both(
            &s,
            &args,
            Some("value(\"foo\") = \"v1\"\n\nput zzz3 x\n\nget foo\n\n"),
            false,
        );
    }
    // Membership changes need root (root itself is not tried: an added
    // member that never starts would cost the single member its quorum).
    for c in &creds[1..] {
        let args: Vec<&str> = c
            .iter()
            .chain(["member", "add", "x", "--peer-urls=http://127.0.0.1:1"].iter())
            .copied()
            .collect();
        both(&s, &args, None, true);
    }
    // Watches that are refused end at once.
    for c in [&["--user", "carol:cpw"][..], &[], &["--user", "alice:apw"]] {
        let args: Vec<&str> = c.iter().chain(["watch", "zzz"].iter()).copied().collect();
        both(&s, &args, None, true);
    }
    // Root rules while enabled.
    let root = ["--user", "root:rootpw"];
    for op in [
        &["user", "delete", "root"][..],
        &["user", "revoke-role", "root", "root"],
        &["role", "delete", "root"],
    ] {
        let args: Vec<&str> = root.iter().chain(op.iter()).copied().collect();
        both(&s, &args, None, true);
    }
    let args: Vec<&str> = root.iter().chain(["auth", "disable"].iter()).copied().collect();
    both(&s, &args, None, true);
    both(&s, &["get", "foo"], None, true);
    both(&s, &["user", "delete", "carol"], None, true);
    both(&s, &["role", "delete", "writer"], None, true);
    both(&s, &["user", "get", "bob"], None, true);
}
