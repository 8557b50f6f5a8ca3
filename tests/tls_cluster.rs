//! TLS between members (peer URLs over https): a 3-member cluster with
//! certificates from a test CA and peer client-cert auth, one with
//! `--auto-tls --peer-auto-tls`, and `--peer-cert-allowed-cn` refusing peers
//! whose certificate names another CN. Clients are the real etcdctl 3.4.

mod common;
mod tls_support;

use std::time::Duration;

use common::{server_binary, wait_until};
use tls_support::{ctl, Member, Pki};

/// Starts three members with https peer and client URLs; `args` are added to
/// each. With `wait`, returns once all serve clients.
fn cluster(args: &[String], wait: bool) -> Vec<Member> {
    let mut members: Vec<Member> = (0..3).map(|_| Member::reserve()).collect();
    let initial: Vec<String> = members
        .iter()
        .enumerate()
        .map(|(i, m)| format!("m{i}={}", m.peer_url("https")))
        .collect();
    let initial = initial.join(",");
    for (i, m) in members.iter_mut().enumerate() {
        let mut all = vec![
            format!("--listen-client-urls={}", m.client_url("https")),
            format!("--advertise-client-urls={}", m.client_url("https")),
            format!("--listen-peer-urls={}", m.peer_url("https")),
            format!("--initial-advertise-peer-urls={}", m.peer_url("https")),
            format!("--initial-cluster={initial}"),
            "--initial-cluster-token=tls-cluster".to_string(),
        ];
        all.extend(args.iter().cloned());
        m.spawn(&server_binary(), &format!("m{i}"), &all);
    }
    if wait {
        for m in &mut members {
            m.wait_ready();
        }
    }
    members
}

#[test]
fn peer_tls_cluster_replicates_writes() {
    let pki = Pki::new();
    let mut args = pki.client_auth_flags();
    args.extend(pki.peer_auth_flags());
    let members = cluster(&args, true);
    let put = ctl(
        &members[0].client_url("https"),
        &pki.ctl_flags("client"),
        &["put", "k", "over-tls"],
    );
    assert_eq!(put.code, 0, "{}\n{}", put.stderr, members[0].log());
    for m in &members[1..] {
        let got = ctl(
            &m.client_url("https"),
            &pki.ctl_flags("client"),
            &["get", "k", "--print-value-only"],
        );
        assert_eq!(got.stdout, "over-tls\n", "{}", got.stderr);
    }
    let all: Vec<String> = members.iter().map(|m| m.client_url("https")).collect();
    let list = ctl(
        &all.join(","),
        &pki.ctl_flags("client"),
        &["member", "list"],
    );
    assert_eq!(list.stdout.lines().count(), 3, "{}", list.stderr);
    assert!(
        list.stdout.contains("https://127.0.0.1:"),
        "{}",
        list.stdout
    );
    let health = ctl(
        &all.join(","),
        &pki.ctl_flags("client"),
        &["endpoint", "health"],
    );
    assert_eq!(health.code, 0, "{}", health.stderr);
}

#[test]
fn auto_tls_cluster_works_with_insecure_etcdctl() {
    let args = vec!["--auto-tls".to_string(), "--peer-auto-tls".to_string()];
    let members = cluster(&args, true);
    let insecure = vec![
        "--insecure-transport=false".to_string(),
        "--insecure-skip-tls-verify".to_string(),
    ];
    let put = ctl(
        &members[2].client_url("https"),
        &insecure,
        &["put", "auto", "yes"],
    );
    assert_eq!(put.code, 0, "{}", put.stderr);
    let got = ctl(
        &members[0].client_url("https"),
        &insecure,
        &["get", "auto", "--print-value-only"],
    );
    assert_eq!(got.stdout, "yes\n", "{}", got.stderr);
    for m in &members {
        assert!(m.data_dir().join("fixtures/peer/cert.pem").exists());
        assert!(m.data_dir().join("fixtures/client/cert.pem").exists());
    }
}

#[test]
fn peer_with_another_cn_is_refused() {
    let pki = Pki::new();
    let mut args = pki.client_auth_flags();
    args.extend(pki.peer_auth_flags());
    args.push("--peer-cert-allowed-cn=not-etcd-peer".to_string());
    let mut members = cluster(&args, false);
    let refused = wait_until(Duration::from_secs(20), || {
        // The dialing side checks the CN too (as Go's does), so the refusal
        // shows on the listening side as a failed handshake.
        members
            .iter()
            .any(|m| m.log().contains("rejected connection from"))
    });
    assert!(refused, "{}", members[0].log());
    // No leader can be elected: nobody reaches the others.
    for m in &mut members {
        assert!(m.exited().is_none(), "{}", m.log());
        assert!(!m.log().contains(common::READY_LINE));
    }
}

#[test]
fn member_joins_a_peer_tls_cluster() {
    let pki = Pki::new();
    let mut args = pki.client_auth_flags();
    args.extend(pki.peer_auth_flags());
    let members = cluster(&args, true);
    let ep = members[0].client_url("https");
    let put = ctl(&ep, &pki.ctl_flags("client"), &["put", "before-join", "1"]);
    assert_eq!(put.code, 0, "{}", put.stderr);
    let mut joiner = Member::reserve();
    // etcd refuses a member change until every member has been connected
    // for a while ("etcdserver: unhealthy cluster"): retry, bounded.
    let peer_urls = format!("--peer-urls={}", joiner.peer_url("https"));
    let mut add = ctl(
        &ep,
        &pki.ctl_flags("client"),
        &["member", "add", "m3", &peer_urls],
    );
    let added = wait_until(Duration::from_secs(30), || {
        if add.code != 0 && add.stderr.contains("unhealthy cluster") {
            add = ctl(
                &ep,
                &pki.ctl_flags("client"),
                &["member", "add", "m3", &peer_urls],
            );
        }
        add.code == 0 || !add.stderr.contains("unhealthy cluster")
    });
    assert!(added && add.code == 0, "{}", add.stderr);
    let initial = add
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("ETCD_INITIAL_CLUSTER=\""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("member add printed {}", add.stdout))
        .to_string();
    let mut all = vec![
        format!("--listen-client-urls={}", joiner.client_url("https")),
        format!("--advertise-client-urls={}", joiner.client_url("https")),
        format!("--listen-peer-urls={}", joiner.peer_url("https")),
        format!("--initial-advertise-peer-urls={}", joiner.peer_url("https")),
        format!("--initial-cluster={initial}"),
        "--initial-cluster-state=existing".to_string(),
        "--initial-cluster-token=tls-cluster".to_string(),
    ];
    all.extend(args.iter().cloned());
    // Joining asks the others for the member list over peer TLS first.
    joiner.spawn(&server_binary(), "m3", &all);
    joiner.wait_ready();
    let got = ctl(
        &joiner.client_url("https"),
        &pki.ctl_flags("client"),
        &["get", "before-join", "--print-value-only"],
    );
    assert_eq!(got.stdout, "1\n", "{}\n{}", got.stderr, joiner.log());
}
