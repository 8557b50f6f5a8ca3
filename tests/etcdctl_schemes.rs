//! Real `etcdctl` 3.4.23 with endpoints written as URLs (`http://host:port`),
//! as users and `--cluster` (the members' advertised client URLs) give them.
//! grpc-go then sends `:authority: http://host:port`, which Go's HTTP/2
//! server takes and the `h2` crate refuses unless the server strips the
//! scheme (crates/api/src/h2_authority.rs). Same expectations for the real
//! etcd and ours.

mod common;

use std::process::Command;

use common::{run_with_timeout, CtlOutput, EtcdOpts, EtcdProcess, ETCDCTL_PATH, ETCDCTL_TIMEOUT};

/// `etcdctl --endpoints=<url> <args>`, with no inherited ETCDCTL_* settings.
fn ctl(url: &str, args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(ETCDCTL_PATH);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={url}"))
        .args(args);
    run_with_timeout(cmd, None, ETCDCTL_TIMEOUT)
}

/// Checks one `endpoint status` line: `<url>, <member hex>, <version>,
/// <db size>, true, false, <term>, <index>, <applied index>, <errors>`.
fn assert_status_line(line: &str, p: &EtcdProcess) {
    let fields: Vec<&str> = line.split(", ").collect();
    assert_eq!(fields.len(), 10, "{line:?}");
    assert_eq!(fields[0], p.client_url(), "{line:?}");
    assert_eq!(fields[1], format!("{:x}", p.ids().member_id), "{line:?}");
    assert_eq!(fields[2], "3.4.23", "{line:?}");
    assert!(
        fields[3].ends_with(" kB") || fields[3].ends_with(" MB"),
        "{line:?}"
    );
    assert_eq!(&fields[4..6], ["true", "false"], "{line:?}");
    for n in &fields[6..9] {
        assert!(n.parse::<u64>().is_ok(), "{line:?}");
    }
    assert_eq!(fields[9], "", "{line:?}");
}

/// etcdctl prints health to stderr: `<url> is healthy: successfully committed
/// proposal: took = <duration>`.
fn assert_healthy(out: &CtlOutput, p: &EtcdProcess) {
    assert_eq!(out.code, 0, "{out:#?}");
    let prefix = format!(
        "{} is healthy: successfully committed proposal: took = ",
        p.client_url()
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{out:#?}");
    assert!(lines[0].starts_with(&prefix), "{out:#?}");
    assert_eq!(out.stdout, "", "{out:#?}");
}

#[test]
fn kv_commands_with_an_http_url_endpoint() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let url = p.client_url();
    assert_eq!(ctl(&url, &["put", "foo", "bar"]).ok().stdout, "OK\n");
    assert_eq!(ctl(&url, &["get", "foo"]).ok().stdout, "foo\nbar\n");
    assert_eq!(ctl(&url, &["put", "foo", "baz"]).ok().stdout, "OK\n");
    assert_eq!(
        ctl(&url, &["get", "foo", "--print-value-only"]).ok().stdout,
        "baz\n"
    );
    assert_eq!(ctl(&url, &["del", "foo"]).ok().stdout, "1\n");
    // Several RPCs on one connection (lease grant, keep-alive, txn, range,
    // delete): later header blocks lean on the client's HPACK dynamic table.
    assert_eq!(
        ctl(&url, &["lock", "mylock", "echo", "hello"]).ok().stdout,
        "hello\n"
    );
    // The same server still answers plain host:port endpoints.
    assert_eq!(p.etcdctl(&["get", "foo"]).ok().stdout, "");
}

#[test]
fn endpoint_status_and_health_with_an_http_url_endpoint() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let url = p.client_url();
    let out = ctl(&url, &["endpoint", "status"]).ok();
    assert_eq!(out.stdout.lines().count(), 1, "{out:#?}");
    assert_status_line(out.stdout.lines().next().unwrap_or(""), &p);
    assert_healthy(&ctl(&url, &["endpoint", "health"]), &p);
}

#[test]
fn endpoint_commands_with_cluster_dial_the_advertised_urls() {
    let p = EtcdProcess::start(EtcdOpts::default());
    // `--cluster` dials the members' advertised client URLs (http://...),
    // whatever form the given endpoint had.
    for ep in [p.endpoint(), p.client_url()] {
        let out = ctl(&ep, &["endpoint", "status", "--cluster"]).ok();
        assert_eq!(out.stdout.lines().count(), 1, "{out:#?}");
        assert_status_line(out.stdout.lines().next().unwrap_or(""), &p);
        assert_healthy(&ctl(&ep, &["endpoint", "health", "--cluster"]), &p);
    }
    let out = ctl(&p.client_url(), &["member", "list"]).ok();
    let expected = format!(
        "{:x}, started, {}, {}, {}, false\n",
        p.ids().member_id,
        p.name(),
        p.peer_url(),
        p.client_url()
    );
    assert_eq!(out.stdout, expected);
}
