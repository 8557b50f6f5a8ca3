//! TLS on the client URLs of a single member, with the real etcdctl 3.4 and
//! curl as clients: certificates and client-cert auth, refusals (no client
//! certificate, one from another CA, a revoked one, a cipher suite not
//! allowed), the gateway and HTTP endpoints over HTTPS (h1 and h2), mixed
//! http/https listeners, auto TLS, and etcd's start-up refusals. Where a
//! refusal is visible to a client, ours is compared with the real etcd 3.4's.

mod common;
mod tls_support;

use std::time::Duration;

use common::server_binary;
use tls_support::{ctl, curl, real_etcd, Member, Pki, CTL_TIMEOUTS};

fn with_timeouts(mut flags: Vec<String>) -> Vec<String> {
    flags.extend(CTL_TIMEOUTS.iter().map(|s| s.to_string()));
    flags
}

#[test]
fn etcdctl_over_https_with_client_cert_auth() {
    let pki = Pki::new();
    let m = Member::single(&server_binary(), "https", "http", &pki.client_auth_flags());
    let ep = m.client_url("https");
    let ok = ctl(&ep, &pki.ctl_flags("client"), &["put", "k", "v"]);
    assert_eq!((ok.code, ok.stdout.as_str()), (0, "OK\n"), "{}", ok.stderr);
    let got = ctl(&ep, &pki.ctl_flags("client"), &["get", "k"]);
    assert_eq!(got.stdout, "k\nv\n", "{}", got.stderr);
    // An endpoint without a scheme is dialed with TLS when TLS flags are given.
    let bare = format!("127.0.0.1:{}", m.client_port);
    let got = ctl(
        &bare,
        &pki.ctl_flags("client"),
        &["get", "k", "--print-value-only"],
    );
    assert_eq!(got.stdout, "v\n", "{}", got.stderr);
    let status = ctl(&ep, &pki.ctl_flags("client"), &["endpoint", "health"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
}

/// What etcdctl shows when `flags` are refused by a member started with
/// client-cert auth: (exit code, last stderr line).
fn refused(binary: &std::path::Path, pki: &Pki, flags: Vec<String>) -> (i32, String) {
    let m = Member::single(binary, "https", "http", &pki.client_auth_flags());
    let out = ctl(&m.client_url("https"), &with_timeouts(flags), &["get", "k"]);
    (out.code, out.last_err_line().to_string())
}

#[test]
fn client_without_certificate_is_refused_like_etcd() {
    let pki = Pki::new();
    let flags = vec![format!("--cacert={}", pki.path("ca.pem"))];
    let ours = refused(&server_binary(), &pki, flags.clone());
    assert_eq!(ours, (1, "Error: context deadline exceeded".to_string()));
    assert_eq!(ours, refused(&real_etcd(), &pki, flags));
}

#[test]
fn client_cert_from_another_ca_is_refused_like_etcd() {
    let pki = Pki::new();
    let ours = refused(&server_binary(), &pki, pki.ctl_flags("other"));
    assert_eq!(ours, (1, "Error: context deadline exceeded".to_string()));
    assert_eq!(ours, refused(&real_etcd(), &pki, pki.ctl_flags("other")));
}

#[test]
fn revoked_client_cert_is_refused() {
    let pki = Pki::new();
    let mut flags = pki.client_auth_flags();
    flags.push(format!("--client-crl-file={}", pki.path("crl.pem")));
    let m = Member::single(&server_binary(), "https", "http", &flags);
    let ep = m.client_url("https");
    let out = ctl(&ep, &with_timeouts(pki.ctl_flags("revoked")), &["get", "k"]);
    assert_eq!(
        (out.code, out.last_err_line()),
        (1, "Error: context deadline exceeded")
    );
    assert!(m.log().contains("rejected connection from"), "{}", m.log());
    let ok = ctl(&ep, &pki.ctl_flags("client"), &["put", "k", "v"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

fn curl_tls<'a>(pki: &'a Pki, extra: &[&'a str]) -> Vec<String> {
    let mut v = vec![
        "--cacert".to_string(),
        pki.path("ca.pem"),
        "--cert".to_string(),
        pki.path("client.pem"),
        "--key".to_string(),
        pki.path("client-key.pem"),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_curl(args: &[String]) -> (i32, String) {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    curl(&refs)
}

#[test]
fn gateway_health_and_metrics_over_https_h1_and_h2() {
    let pki = Pki::new();
    let m = Member::single(&server_binary(), "https", "http", &pki.client_auth_flags());
    let base = m.client_url("https");
    let put = format!("{base}/v3/kv/put");
    let (code, body) = run_curl(&curl_tls(
        &pki,
        &[
            "--http1.1",
            "-X",
            "POST",
            "-d",
            r#"{"key":"YQ==","value":"MQ=="}"#,
            &put,
        ],
    ));
    assert_eq!(code, 0);
    assert!(body.contains("\"header\""), "{body}");
    for version in ["--http1.1", "--http2"] {
        let range = format!("{base}/v3/kv/range");
        let (code, body) = run_curl(&curl_tls(
            &pki,
            &[version, "-X", "POST", "-d", r#"{"key":"YQ=="}"#, &range],
        ));
        assert_eq!(code, 0, "{version}");
        assert!(body.contains(r#""value":"MQ==""#), "{version}: {body}");
        let (code, body) = run_curl(&curl_tls(&pki, &[version, &format!("{base}/health")]));
        assert_eq!(
            (code, body.as_str()),
            (0, r#"{"health":"true"}"#),
            "{version}"
        );
        let (code, body) = run_curl(&curl_tls(&pki, &[version, &format!("{base}/version")]));
        assert_eq!(code, 0);
        assert!(body.contains("\"etcdserver\":\"3.4"), "{body}");
        let (code, body) = run_curl(&curl_tls(&pki, &[version, &format!("{base}/metrics")]));
        assert_eq!(code, 0);
        assert!(body.contains("# TYPE"), "metrics over TLS");
    }
    // Without a client certificate curl is refused in the handshake.
    let (code, _) = curl(&["--cacert", &pki.path("ca.pem"), &format!("{base}/health")]);
    assert_ne!(code, 0);
}

/// curl's exit code for a TLS 1.2 handshake offering only `cipher`, against
/// a member that allows only ECDHE-ECDSA-AES128-GCM.
fn tls12_with_cipher(binary: &std::path::Path, pki: &Pki, cipher: &str) -> i32 {
    let mut flags = pki.client_auth_flags();
    flags.push("--cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".to_string());
    let m = Member::single(binary, "https", "http", &flags);
    let url = format!("{}/health", m.client_url("https"));
    run_curl(&curl_tls(
        pki,
        &["--tls-max", "1.2", "--ciphers", cipher, &url],
    ))
    .0
}

#[test]
fn cipher_suite_not_allowed_is_refused_like_etcd() {
    let pki = Pki::new();
    let ours = tls12_with_cipher(&server_binary(), &pki, "ECDHE-ECDSA-AES256-GCM-SHA384");
    assert_eq!(ours, 35, "curl: SSL connect error");
    assert_eq!(
        ours,
        tls12_with_cipher(&real_etcd(), &pki, "ECDHE-ECDSA-AES256-GCM-SHA384")
    );
    assert_eq!(
        tls12_with_cipher(&server_binary(), &pki, "ECDHE-ECDSA-AES128-GCM-SHA256"),
        0
    );
}

/// Starts `binary` with `args` expecting it to fail: (exit code, the line
/// carrying `needle`).
fn start_failure(binary: &std::path::Path, args: &[String], needle: &str) -> (Option<i32>, String) {
    let mut m = Member::reserve();
    let mut all = vec![
        format!("--listen-peer-urls={}", m.peer_url("http")),
        format!("--initial-advertise-peer-urls={}", m.peer_url("http")),
        format!("--initial-cluster=default={}", m.peer_url("http")),
    ];
    all.extend(
        args.iter()
            .map(|a| a.replace("{client}", &m.client_url("https"))),
    );
    m.spawn(binary, "default", &all);
    let status = m
        .wait_exit(Duration::from_secs(20))
        .expect("the member exits");
    let log = m.log();
    let line = log
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in\n{log}"));
    // Drop the timestamp: `2026-11-21 21:52:07.825428 C | etcdmain: ...`.
    let line = line
        .split_once(' ')
        .and_then(|(_, r)| r.split_once(' '))
        .map_or(line, |(_, r)| r);
    (status.code(), line.to_string())
}

#[test]
fn unknown_cipher_suite_is_refused_at_start_like_etcd() {
    let args = vec![
        "--listen-client-urls={client}".to_string(),
        "--advertise-client-urls={client}".to_string(),
        "--cipher-suites=TLS_FOO".to_string(),
    ];
    let ours = start_failure(&server_binary(), &args, "cipher suite");
    assert_eq!(
        ours,
        (
            Some(1),
            "C | etcdmain: unexpected TLS cipher suite \"TLS_FOO\"".to_string()
        )
    );
    assert_eq!(ours, start_failure(&real_etcd(), &args, "cipher suite"));
}

#[test]
fn https_client_url_without_certificate_is_refused_at_start_like_etcd() {
    let args = vec![
        "--listen-client-urls={client}".to_string(),
        "--advertise-client-urls={client}".to_string(),
    ];
    let ours = start_failure(&server_binary(), &args, "must be provided");
    assert_eq!(ours.0, Some(1));
    assert!(ours.1.starts_with("C | etcdmain: TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:"), "{}", ours.1);
    let real = start_failure(&real_etcd(), &args, "must be provided");
    // Same text but for the port.
    let strip = |s: &str| {
        s.chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
    };
    assert_eq!((ours.0, strip(&ours.1)), (real.0, strip(&real.1)));
}

#[test]
fn http_and_https_listeners_side_by_side() {
    let pki = Pki::new();
    let mut m = Member::reserve();
    let plain_port = common::free_port();
    let plain = format!("http://127.0.0.1:{plain_port}");
    let mut args = vec![
        format!("--listen-client-urls={},{plain}", m.client_url("https")),
        format!("--advertise-client-urls={}", m.client_url("https")),
        format!("--listen-peer-urls={}", m.peer_url("http")),
        format!("--initial-advertise-peer-urls={}", m.peer_url("http")),
        format!("--initial-cluster=default={}", m.peer_url("http")),
    ];
    args.extend(pki.client_auth_flags());
    m.spawn(&server_binary(), "default", &args);
    m.wait_ready();
    let ok = ctl(
        &m.client_url("https"),
        &pki.ctl_flags("client"),
        &["put", "k", "tls"],
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let got = ctl(&plain, &[], &["get", "k", "--print-value-only"]);
    assert_eq!(got.stdout, "tls\n", "{}", got.stderr);
    assert!(
        m.log()
            .contains("The scheme of client url http://127.0.0.1:"),
        "warning for the http URL"
    );
}

#[test]
fn auto_tls_serves_a_self_signed_certificate() {
    let m = Member::single(
        &server_binary(),
        "https",
        "http",
        &["--auto-tls".to_string()],
    );
    let ep = m.client_url("https");
    // etcdctl 3.4 only skips verification with TLS turned on explicitly.
    let insecure = vec![
        "--insecure-transport=false".to_string(),
        "--insecure-skip-tls-verify".to_string(),
    ];
    let ok = ctl(&ep, &insecure, &["put", "k", "auto"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let got = ctl(&ep, &insecure, &["get", "k", "--print-value-only"]);
    assert_eq!(got.stdout, "auto\n");
    let fixtures = m.data_dir().join("fixtures").join("client");
    assert!(fixtures.join("cert.pem").exists() && fixtures.join("key.pem").exists());
    // Without skipping verification the self-signed certificate is not trusted.
    let out = ctl(&ep, &with_timeouts(Vec::new()), &["get", "k"]);
    assert_eq!(out.code, 1);
}
