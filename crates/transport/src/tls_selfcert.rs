//! Auto TLS (`--auto-tls`, `--peer-auto-tls`): a self-signed certificate
//! for the listen hosts, kept in `<data-dir>/fixtures/{client,peer}/` as
//! `cert.pem` and `key.pem` like etcd's `transport.SelfCert`.
//!
//! Contract:
//! - When both files already exist they are used as they are (a restarted
//!   member keeps its certificate).
//! - Otherwise a new pair is written: subject `O=etcd`, valid from today for
//!   365 days, key usages digital signature and key encipherment, extended
//!   usages server and client auth, one SAN per listen host (an IP SAN for an
//!   address, a DNS SAN otherwise). The key file is created with mode 0600.
//! - The returned [`TlsInfo`] is marked `self_cert`: dialing with it skips
//!   server verification, as etcd does.
//!
//! Deviation: etcd uses an ECDSA P-521 key, which rustls (ring) cannot sign
//! with; etcd-rs uses P-256. etcd's extended usage is server auth only.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::tls::{TlsError, TlsInfo};

/// How long a generated certificate is valid.
pub const SELF_CERT_VALID_DAYS: i64 = 365;

/// The auto-TLS material in `dir` for `hosts` (`host:port` or `host`),
/// generated when missing (see module docs).
pub fn self_cert(dir: &Path, hosts: &[String]) -> Result<TlsInfo, TlsError> {
    let err = |e: &dyn std::fmt::Display| TlsError::SelfCert(e.to_string());
    std::fs::create_dir_all(dir).map_err(|e| {
        err(&format!(
            "cannot create cert directory {}: {e}",
            dir.display()
        ))
    })?;
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let info = TlsInfo {
        cert_file: cert_path.clone(),
        key_file: key_path.clone(),
        self_cert: true,
        ..TlsInfo::default()
    };
    if cert_path.exists() && key_path.exists() {
        return Ok(info);
    }
    let (cert_pem, key_pem) = generate(hosts, unix_days_now()).map_err(|e| err(&e))?;
    std::fs::write(&cert_path, cert_pem)
        .map_err(|e| err(&format!("cannot write {}: {e}", cert_path.display())))?;
    tracing::info!(target: "pkg/transport", "created cert file {}", cert_path.display());
    write_private(&key_path, key_pem.as_bytes())
        .map_err(|e| err(&format!("cannot write {}: {e}", key_path.display())))?;
    tracing::info!(target: "pkg/transport", "created key file {}", key_path.display());
    Ok(info)
}

/// A self-signed (certificate PEM, PKCS#8 key PEM) for `hosts`, valid from
/// `today` (days since the Unix epoch).
pub fn generate(hosts: &[String], today: i64) -> Result<(String, String), rcgen::Error> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "etcd");
    params.distinguished_name = dn;
    let (y, m, d) = civil_from_days(today);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil_from_days(today + SELF_CERT_VALID_DAYS);
    params.not_after = rcgen::date_time_ymd(y, m, d);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    for host in hosts {
        let h = split_host(host);
        let san = match h.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(h.to_string().try_into()?),
        };
        if !params.subject_alt_names.contains(&san) {
            params.subject_alt_names.push(san);
        }
    }
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The host of `host:port`, `[v6]:port`, or a bare host.
fn split_host(hostport: &str) -> &str {
    if let Some(rest) = hostport.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match hostport.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => hostport,
    }
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

fn unix_days_now() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (secs / 86_400) as i64
}

/// (year, month, day) of a day count since 1970-01-01, in rcgen's widths.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let (y, m, d) = etcd_gotext::civil_from_days(days);
    (y as i32, m as u8, d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_split() {
        assert_eq!(split_host("127.0.0.1:2380"), "127.0.0.1");
        assert_eq!(split_host("[::1]:2380"), "::1");
        assert_eq!(split_host("localhost"), "localhost");
        assert_eq!(split_host("::1"), "::1");
    }

    #[test]
    fn generated_pair_loads_and_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let fixtures = dir.path().join("fixtures").join("peer");
        let hosts = vec!["127.0.0.1:2380".to_string(), "localhost:2380".to_string()];
        let info = self_cert(&fixtures, &hosts).unwrap();
        assert!(info.self_cert);
        info.server_config().unwrap();
        info.client_config().unwrap();
        let mode = std::fs::metadata(&info.key_file).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);
        let cert = crate::tls::read_certs(&info.cert_file).unwrap();
        let (ips, dns) = crate::tls_verify::subject_alt_names(&cert[0]);
        assert_eq!(ips, vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(dns, vec!["localhost".to_string()]);
        let before = std::fs::read(&info.cert_file).unwrap();
        self_cert(&fixtures, &hosts).unwrap();
        assert_eq!(
            std::fs::read(&info.cert_file).unwrap(),
            before,
            "existing pair is kept"
        );
    }
}
