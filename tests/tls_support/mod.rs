//! Support for the TLS process tests: a small PKI made with rcgen in a temp
//! dir, and server processes started with any URLs (the common harness only
//! knows `http://` members).
//!
//! Contract: every process is killed (SIGKILL, by its own PID) and reaped on
//! drop; every wait is a bounded poll; temp dirs are removed on drop.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber,
};

use crate::common::{free_port, run_with_timeout, wait_until, CtlOutput, ETCDCTL_PATH, READY_LINE};

/// Upper bound for a member to log that it serves clients.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// etcdctl's own bounds for a refused connection (it retries until then).
pub const CTL_TIMEOUTS: [&str; 2] = ["--dial-timeout=1s", "--command-timeout=3s"];

/// A CA and certificates signed by it (plus a second, untrusted CA).
pub struct Pki {
    dir: tempfile::TempDir,
}

/// The serial number of `revoked.pem`, listed in `crl.pem`.
const REVOKED_SERIAL: u64 = 0x5eed;

fn ca(cn: &str) -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("key");
    let cert = p.self_signed(&key).expect("self-signed CA");
    (cert, key)
}

fn leaf(
    cn: &str,
    serial: Option<u64>,
    issuer: &(rcgen::Certificate, KeyPair),
) -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::ExplicitNoCa;
    p.subject_alt_names = vec![
        SanType::IpAddress("127.0.0.1".parse().expect("ip")),
        SanType::DnsName("localhost".try_into().expect("dns")),
    ];
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.serial_number = serial.map(SerialNumber::from);
    let key = KeyPair::generate().expect("key");
    let cert = p
        .signed_by(&key, &issuer.0, &issuer.1)
        .expect("signed leaf");
    (cert, key)
}

impl Pki {
    /// Writes `ca.pem`, `ca2.pem` (untrusted), and pairs `<name>.pem` /
    /// `<name>-key.pem`: `server` (CN server), `client` (CN root), `peer`
    /// (CN etcd-peer), `other` (CN root, signed by ca2), `revoked` (CN root,
    /// listed in `crl.pem`).
    pub fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("etcd-rs-tls")
            .tempdir()
            .expect("tempdir");
        let pki = Pki { dir };
        let ca1 = ca("etcd-rs test CA");
        let ca2 = ca("another CA");
        pki.write("ca.pem", &ca1.0.pem());
        pki.write("ca2.pem", &ca2.0.pem());
        for (name, cn, serial, issuer) in [
            ("server", "server", None, &ca1),
            ("client", "root", None, &ca1),
            ("peer", "etcd-peer", None, &ca1),
            ("other", "root", None, &ca2),
            ("revoked", "root", Some(REVOKED_SERIAL), &ca1),
        ] {
            let (cert, key) = leaf(cn, serial, issuer);
            pki.write(&format!("{name}.pem"), &cert.pem());
            pki.write(&format!("{name}-key.pem"), &key.serialize_pem());
        }
        let now = rcgen::date_time_ymd(2020, 1, 1);
        let crl = CertificateRevocationListParams {
            this_update: now,
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(REVOKED_SERIAL),
                revocation_time: now,
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = crl.signed_by(&ca1.0, &ca1.1).expect("crl");
        pki.write("crl.pem", &crl.pem().expect("crl pem"));
        pki
    }

    fn write(&self, name: &str, data: &str) {
        std::fs::write(self.dir.path().join(name), data).expect("write pki file");
    }

    /// The path of one of the files, as a string for flags.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    /// Server flags for client TLS with client-cert auth.
    pub fn client_auth_flags(&self) -> Vec<String> {
        vec![
            format!("--cert-file={}", self.path("server.pem")),
            format!("--key-file={}", self.path("server-key.pem")),
            format!("--trusted-ca-file={}", self.path("ca.pem")),
            "--client-cert-auth".to_string(),
        ]
    }

    /// Server flags for peer TLS with peer client-cert auth.
    pub fn peer_auth_flags(&self) -> Vec<String> {
        vec![
            format!("--peer-cert-file={}", self.path("peer.pem")),
            format!("--peer-key-file={}", self.path("peer-key.pem")),
            format!("--peer-trusted-ca-file={}", self.path("ca.pem")),
            "--peer-client-cert-auth".to_string(),
        ]
    }

    /// etcdctl flags presenting `name`'s pair and trusting ca.pem.
    pub fn ctl_flags(&self, name: &str) -> Vec<String> {
        vec![
            format!("--cacert={}", self.path("ca.pem")),
            format!("--cert={}", self.path(&format!("{name}.pem"))),
            format!("--key={}", self.path(&format!("{name}-key.pem"))),
        ]
    }
}

/// One server process with caller-chosen URLs.
pub struct Member {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Client port.
    pub client_port: u16,
    /// Peer port.
    pub peer_port: u16,
}

impl Member {
    /// Ports for a member that is started later.
    pub fn reserve() -> Member {
        let dir = tempfile::Builder::new()
            .prefix("etcd-rs-tls-member")
            .tempdir()
            .expect("tempdir");
        let client_port = free_port();
        let mut peer_port = free_port();
        while peer_port == client_port {
            peer_port = free_port();
        }
        Member {
            child: None,
            dir,
            client_port,
            peer_port,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `scheme://127.0.0.1:<client port>`.
    pub fn client_url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// `scheme://127.0.0.1:<peer port>`.
    pub fn peer_url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.peer_port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("etcd.log")
    }

    /// Starts `binary` with `--name`, `--data-dir` and `args`.
    pub fn spawn(&mut self, binary: &Path, name: &str, args: &[String]) {
        self.spawn_with_env(binary, name, args, &[]);
    }

    /// [`Member::spawn`] with `env` set after every `ETCD*` variable is cleared.
    pub fn spawn_with_env(&mut self, binary: &Path, name: &str, args: &[String], env: &[(&str, &str)]) {
        assert!(self.child.is_none());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log");
        let mut cmd = Command::new(binary);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().copied())
            .arg(format!("--name={name}"))
            .arg(format!("--data-dir={}", self.data_dir().display()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        self.child = Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("spawn {binary:?}: {e}")),
        );
    }

    /// A one-member cluster: client URL with `client_scheme`, peer URL with
    /// `peer_scheme`, plus `args`; waits until ready.
    pub fn single(
        binary: &Path,
        client_scheme: &str,
        peer_scheme: &str,
        args: &[String],
    ) -> Member {
        let mut m = Member::reserve();
        let mut all = vec![
            format!("--listen-client-urls={}", m.client_url(client_scheme)),
            format!("--advertise-client-urls={}", m.client_url(client_scheme)),
            format!("--listen-peer-urls={}", m.peer_url(peer_scheme)),
            format!("--initial-advertise-peer-urls={}", m.peer_url(peer_scheme)),
            format!("--initial-cluster=default={}", m.peer_url(peer_scheme)),
        ];
        all.extend(args.iter().cloned());
        m.spawn(binary, "default", &all);
        m.wait_ready();
        m
    }

    /// Waits until the member logs that it serves clients.
    pub fn wait_ready(&mut self) {
        let ok = wait_until(READY_TIMEOUT, || {
            self.log().contains(READY_LINE) || self.exited().is_some()
        });
        assert!(
            ok && self.exited().is_none(),
            "member did not become ready\n--- log ---\n{}",
            self.log()
        );
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("try_wait"))
    }

    /// Waits (bounded) for the process to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(timeout, || {
            status = self.exited();
            status.is_some()
        });
        status
    }

    /// Everything the process wrote.
    pub fn log(&self) -> String {
        std::fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs the real etcdctl against `endpoints` with `flags` then `args`.
pub fn ctl(endpoints: &str, flags: &[String], args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(ETCDCTL_PATH);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .args(flags)
        .args(args);
    run_with_timeout(cmd, None, Duration::from_secs(30))
}

/// Runs curl with `args`; (exit code, stdout).
pub fn curl(args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10"]).args(args);
    let out = run_with_timeout(cmd, None, Duration::from_secs(20));
    (out.code, out.stdout)
}

/// The real etcd binary, for side-by-side comparisons.
pub fn real_etcd() -> PathBuf {
    PathBuf::from("/usr/bin/etcd")
}
