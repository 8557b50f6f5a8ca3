//! `--client-cert-auth` with auth enabled: the verified client certificate's
//! common name is the user when the request carries no token (a token, from
//! `--user`, wins). Ours and the real etcd 3.4.23 run the same etcdctl
//! script; exit codes, stdout and stderr must be equal.

mod common;
mod tls_support;

use std::path::{Path, PathBuf};

use common::CtlOutput;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use tls_support::{ctl, Member};

/// A CA, a server pair for 127.0.0.1 and client pairs named after their CN.
fn pki(dir: &Path, client_cns: &[&str]) {
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "auth test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("write");
    for cn in std::iter::once("server").chain(client_cns.iter().copied()) {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().expect("ip"))];
        let key = KeyPair::generate().expect("key");
        let cert = p.signed_by(&key, &ca_cert, &ca_key).expect("cert");
        std::fs::write(dir.join(format!("{cn}.pem")), cert.pem()).expect("write");
        std::fs::write(dir.join(format!("{cn}-key.pem")), key.serialize_pem()).expect("write");
    }
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

/// The etcdctl flags presenting `cn`'s certificate.
fn cert_flags(dir: &Path, cn: &str) -> Vec<String> {
    vec![
        format!("--cacert={}", path(dir, "ca.pem")),
        format!("--cert={}", path(dir, &format!("{cn}.pem"))),
        format!("--key={}", path(dir, &format!("{cn}-key.pem"))),
    ]
}

/// One run: (exit code, stdout, stderr without client log lines).
fn seen(out: CtlOutput) -> (i32, String, String) {
    let stderr: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("{\"level\""))
        .collect();
    (out.code, out.stdout, stderr.join("\n"))
}

/// The script, run against a server of `binary`.
fn script(binary: &Path, dir: &Path) -> Vec<(i32, String, String)> {
    let flags = vec![
        format!("--cert-file={}", path(dir, "server.pem")),
        format!("--key-file={}", path(dir, "server-key.pem")),
        format!("--trusted-ca-file={}", path(dir, "ca.pem")),
        "--client-cert-auth".to_string(),
    ];
    let m = Member::single(binary, "https", "http", &flags);
    let ep = m.client_url("https");
    let run = |cn: &str, extra: &[&str], args: &[&str]| {
        let mut f = cert_flags(dir, cn);
        f.extend(extra.iter().map(|s| s.to_string()));
        seen(ctl(&ep, &f, args))
    };
    for args in [
        &["user", "add", "root:rootpw"][..],
        &["role", "add", "root"],
        &["user", "grant-role", "root", "root"],
        &["user", "add", "alice:apw"],
        &["user", "add", "bob:bpw"],
        &["role", "add", "reader"],
        &["role", "grant-permission", "reader", "read", "foo"],
        &["user", "grant-role", "alice", "reader"],
        &["put", "foo", "bar"],
        &["auth", "enable"],
    ] {
        let out = run("root", &[], args);
        assert_eq!(out.0, 0, "{args:?}: {out:?}\n{}", m.log());
    }
    vec![
        // CN root: everything, no password.
        run("root", &[], &["put", "foo", "baz"]),
        run("root", &[], &["user", "list"]),
        // CN alice: her role's permissions.
        run("alice", &[], &["get", "foo", "--print-value-only"]),
        run("alice", &[], &["put", "foo", "x"]),
        run("alice", &[], &["user", "list"]),
        // CN bob: a user without roles.
        run("bob", &[], &["get", "foo"]),
        // A CN naming no user.
        run("nobody", &[], &["get", "foo"]),
        // A token wins over the certificate, both ways.
        run("alice", &["--user=bob:bpw"], &["get", "foo"]),
        run(
            "bob",
            &["--user=alice:apw"],
            &["get", "foo", "--print-value-only"],
        ),
        run("root", &["--user=alice:apw"], &["put", "foo", "y"]),
    ]
}

#[test]
fn client_cert_cn_is_the_user_like_etcd() {
    let dir = tempfile::tempdir().expect("tempdir");
    pki(dir.path(), &["root", "alice", "bob", "nobody"]);
    let ours = script(&common::server_binary(), dir.path());
    let real = script(&PathBuf::from("/usr/bin/etcd"), dir.path());
    assert_eq!(
        ours[2].1, "baz\n",
        "alice reads through her CN: {:?}",
        ours[2]
    );
    assert!(
        ours[3].2.contains("etcdserver: permission denied"),
        "{:?}",
        ours[3]
    );
    assert!(
        ours[7].2.contains("etcdserver: permission denied"),
        "token wins: {:?}",
        ours[7]
    );
    for (i, (o, r)) in ours.iter().zip(&real).enumerate() {
        assert_eq!(o, r, "step {i} differs (left: ours, right: etcd 3.4)");
    }
}
