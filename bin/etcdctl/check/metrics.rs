//! The server's resident memory as `check datascale` reads it: a GET of
//! `<endpoint>/metrics` (`http://` added to a bare `host:port`) and the
//! first line starting with `process_resident_memory_bytes`.
//!
//! Like etcdctl, failures are printed on stdout (`fetch error: ...`,
//! `could not find: ...`, `parse error: ...`) and reported as 0, which the
//! command turns into its `FAIL: Could not read ...` line. An `https://`
//! endpoint is dialed with the client certificate and
//! `--insecure-skip-tls-verify`.

use std::time::Duration;

use etcd_transport::tls::TlsInfo;
use etcd_transport::tls_dial::PeerDialer;

use crate::printer::out;

/// The metric read.
pub const RESIDENT_MEMORY_KEY: &str = "process_resident_memory_bytes";
/// Upper bound for the metrics request.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The value of [`RESIDENT_MEMORY_KEY`] in a Prometheus text page.
pub fn parse_resident_bytes(page: &str) -> Result<f64, String> {
    let value = page
        .split('\n')
        .find_map(|l| l.strip_prefix(RESIDENT_MEMORY_KEY))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("could not find: {RESIDENT_MEMORY_KEY}"))?;
    value
        .parse::<f64>()
        .map_err(|_| format!("parse error: strconv.ParseFloat: parsing {value:?}: invalid syntax"))
}

/// Resident memory of the member at `host` in bytes, 0 when unreadable
/// (after printing why).
pub async fn endpoint_resident_bytes(host: &str, cert: &str, key: &str, skip_verify: bool) -> f64 {
    let base = if host.starts_with("http://") || host.starts_with("https://") {
        host.to_string()
    } else {
        format!("http://{host}")
    };
    let dialer = if base.starts_with("https://") {
        let info = TlsInfo {
            cert_file: cert.into(),
            key_file: key.into(),
            self_cert: skip_verify,
            ..Default::default()
        };
        match PeerDialer::from_info(&info) {
            Ok(d) => d,
            Err(e) => {
                out(&format!("client certificate error: {e}\n"));
                return 0.0;
            }
        }
    } else {
        PeerDialer::default()
    };
    let page =
        match etcd_transport::fetch::get_with(&dialer, &base, "/metrics", FETCH_TIMEOUT).await {
            Ok(r) => String::from_utf8_lossy(&r.body).into_owned(),
            Err(e) => {
                out(&format!("fetch error: {e}\n"));
                return 0.0;
            }
        };
    parse_resident_bytes(&page).unwrap_or_else(|e| {
        out(&format!("{e}\n"));
        0.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sample_not_the_help_line() {
        let page = "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
                    # TYPE process_resident_memory_bytes gauge\n\
                    process_resident_memory_bytes 4.5056e+07\n";
        assert_eq!(parse_resident_bytes(page).unwrap(), 45_056_000.0);
        assert!(parse_resident_bytes("x 1\n")
            .unwrap_err()
            .starts_with("could not find"));
    }
}
