//! `--discovery-srv <domain>` (with `--discovery-srv-name`,
//! `--insecure-discovery`): client endpoints from DNS SRV records, as
//! etcdctl 3.4 finds them (`srv.GetClient("etcd-client", ...)`).
//!
//! Contract:
//! - two lookups, `_etcd-client-ssl[-<name>]._tcp.<domain>` giving
//!   `https://<target>:<port>` endpoints, then `_etcd-client[-<name>]._tcp.<domain>`
//!   giving `http://` ones, in answer order; the target keeps its trailing
//!   dot, as Go's `net.JoinHostPort(srv.Target, port)` does;
//! - it fails only when *both* lookups fail, with Go's message
//!   `dns lookup errors: lookup <name> on <server>: no such host and ...`;
//! - with `--insecure-discovery=false`, `http://` endpoints are dropped
//!   with a note on stderr;
//! - no discovered endpoint (or no domain) means `--endpoints` is used.
//!
//! Deviation: etcdctl also sets the TLS server name to the domain when
//! `--insecure-discovery=false`; our client library has no server-name
//! override, so certificates are checked against the endpoint host.
//!
//! Test seam: `ETCD_RS_DNS_SERVER=<ip>:<port>` (the server's
//! [`etcd_server::DNS_SERVER_ENV`]) sends every query to that server only;
//! SRV targets are then also resolved there (A records) and the endpoints
//! carry the address, since the system resolver that later dials the
//! endpoint cannot see the test server's names.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::error::{ResolveError, ResolveErrorKind};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::TokioAsyncResolver;

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_ERROR};
use crate::global::endpoints;

/// The service etcdctl looks up (`_etcd-client[-ssl]`).
const CLIENT_SERVICE: &str = "etcd-client";

/// The SRV service name (etcd's `GetSRVService`): `<service>[-ssl][-<name>]`.
pub fn srv_service(service: &str, service_name: &str, https: bool) -> String {
    let mut s = service.to_string();
    if https {
        s.push_str("-ssl");
    }
    if !service_name.is_empty() {
        s.push('-');
        s.push_str(service_name);
    }
    s
}

/// One SRV answer: target (as in the record, trailing dot kept) and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrvTarget {
    /// Target host name.
    pub target: String,
    /// Port.
    pub port: u16,
}

/// Endpoint URL of one answer (Go's `url.URL{Scheme, JoinHostPort}`).
pub fn endpoint_url(scheme: &str, t: &SrvTarget) -> String {
    if t.target.contains(':') {
        format!("{scheme}://[{}]:{}", t.target, t.port)
    } else {
        format!("{scheme}://{}:{}", t.target, t.port)
    }
}

/// Combines the two lookups as `srv.GetClient` does: https answers first,
/// an error only when both failed.
pub fn combine(
    https: Result<Vec<SrvTarget>, String>,
    http: Result<Vec<SrvTarget>, String>,
) -> Result<Vec<String>, String> {
    match (https, http) {
        (Err(a), Err(b)) => Err(format!("dns lookup errors: {a} and {b}")),
        (a, b) => {
            let mut eps: Vec<String> = Vec::new();
            for (scheme, r) in [("https", a), ("http", b)] {
                if let Ok(ts) = r {
                    eps.extend(ts.iter().map(|t| endpoint_url(scheme, t)));
                }
            }
            Ok(eps)
        }
    }
}

/// Drops `http://` endpoints (secure discovery), returning the kept ones and
/// the notes etcdctl prints for the dropped ones.
pub fn strip_insecure(eps: Vec<String>) -> (Vec<String>, Vec<String>) {
    let (mut kept, mut notes) = (Vec::new(), Vec::new());
    for ep in eps {
        if ep.starts_with("http://") {
            notes.push(format!("ignoring discovered insecure endpoint {ep:?}"));
        } else {
            kept.push(ep);
        }
    }
    (kept, notes)
}

/// Go's wording for a failed lookup of `name` asked of `server`.
fn lookup_error(name: &str, server: &str, e: &ResolveError) -> String {
    let why = match e.kind() {
        ResolveErrorKind::NoRecordsFound { response_code, .. }
            if *response_code == ResponseCode::NXDomain
                || *response_code == ResponseCode::NoError =>
        {
            "no such host".to_string()
        }
        ResolveErrorKind::NoRecordsFound { .. } => "server misbehaving".to_string(),
        ResolveErrorKind::Timeout => "i/o timeout".to_string(),
        other => other.to_string(),
    };
    format!("lookup {name} on {server}: {why}")
}

/// The resolver and the server named in error messages.
struct Dns {
    resolver: TokioAsyncResolver,
    server: String,
    /// Set under the test seam: resolve targets to addresses.
    seam: bool,
}

fn dns() -> Result<Dns, String> {
    let seam = std::env::var(etcd_server::DNS_SERVER_ENV).unwrap_or_default();
    if !seam.is_empty() {
        let sa: SocketAddr = seam
            .parse()
            .map_err(|e| format!("bad {}={seam:?}: {e}", etcd_server::DNS_SERVER_ENV))?;
        let servers = NameServerConfigGroup::from_ips_clear(&[sa.ip()], sa.port(), true);
        let mut opts = ResolverOpts::default();
        opts.use_hosts_file = false;
        let cfg = ResolverConfig::from_parts(None, vec![], servers);
        return Ok(Dns {
            resolver: TokioAsyncResolver::tokio(cfg, opts),
            server: sa.to_string(),
            seam: true,
        });
    }
    let (cfg, opts) =
        hickory_resolver::system_conf::read_system_conf().map_err(|e| e.to_string())?;
    let server = cfg
        .name_servers()
        .first()
        .map(|n| n.socket_addr.to_string())
        .unwrap_or_else(|| "127.0.0.1:53".to_string());
    Ok(Dns {
        resolver: TokioAsyncResolver::tokio(cfg, opts),
        server,
        seam: false,
    })
}

impl Dns {
    async fn lookup(&self, service: &str, domain: &str) -> Result<Vec<SrvTarget>, String> {
        let name = format!("_{service}._tcp.{}", domain.trim_end_matches('.'));
        let answers = self
            .resolver
            .srv_lookup(format!("{name}."))
            .await
            .map_err(|e| lookup_error(&name, &self.server, &e))?;
        let mut out = Vec::new();
        for srv in answers.iter() {
            let mut target = srv.target().to_utf8();
            if self.seam {
                target = self.address_of(&target).await?;
            }
            out.push(SrvTarget {
                target,
                port: srv.port(),
            });
        }
        Ok(out)
    }

    /// The first IPv4 (else any) address of `host` (test seam only).
    async fn address_of(&self, host: &str) -> Result<String, String> {
        let short = host.trim_end_matches('.');
        if short.parse::<IpAddr>().is_ok() {
            return Ok(short.to_string());
        }
        let ips = self
            .resolver
            .lookup_ip(format!("{short}."))
            .await
            .map_err(|e| lookup_error(short, &self.server, &e))?;
        let all: Vec<IpAddr> = ips.iter().collect();
        all.iter()
            .find(|i| i.is_ipv4())
            .or(all.first())
            .map(IpAddr::to_string)
            .ok_or_else(|| format!("lookup {short} on {}: no such host", self.server))
    }
}

/// Looks the client endpoints of `domain` up (both SRV services).
pub async fn get_client(domain: &str, service_name: &str) -> Result<Vec<String>, String> {
    let dns = dns()?;
    let https = dns
        .lookup(&srv_service(CLIENT_SERVICE, service_name, true), domain)
        .await;
    let http = dns
        .lookup(&srv_service(CLIENT_SERVICE, service_name, false), domain)
        .await;
    combine(https, http)
}

/// etcdctl's `endpointsFromCmd`: the discovered endpoints when
/// `--discovery-srv` is set and finds any, else `--endpoints`. A failed
/// lookup exits like etcdctl (`Error: dns lookup errors: ...`, code 1).
///
/// The lookup runs on its own thread and runtime, so this can be called
/// from synchronous code inside the command's runtime.
pub fn endpoints_from_cmd(p: &Parsed) -> Vec<String> {
    let domain = p.string("discovery-srv");
    if domain.is_empty() {
        return endpoints(p);
    }
    let service_name = p.string("discovery-srv-name");
    let found = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(get_client(&domain, &service_name))
    })
    .join()
    .unwrap_or_else(|_| Err("DNS lookup thread panicked".to_string()));
    let mut eps = found.unwrap_or_else(|e| fail(EXIT_ERROR, &e));
    if !p.bool("insecure-discovery") {
        let (kept, notes) = strip_insecure(eps);
        for n in notes {
            eprintln!("{n}");
        }
        eps = kept;
    }
    if eps.is_empty() {
        return endpoints(p);
    }
    eps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(target: &str, port: u16) -> SrvTarget {
        SrvTarget {
            target: target.into(),
            port,
        }
    }

    #[test]
    fn service_names_follow_get_srv_service() {
        assert_eq!(srv_service("etcd-client", "", true), "etcd-client-ssl");
        assert_eq!(srv_service("etcd-client", "", false), "etcd-client");
        assert_eq!(srv_service("etcd-client", "a", true), "etcd-client-ssl-a");
    }

    #[test]
    fn https_answers_come_first_and_one_success_is_enough() {
        let eps = combine(
            Ok(vec![t("a.x.", 2379)]),
            Ok(vec![t("b.x.", 2380), t("::1", 1)]),
        )
        .unwrap();
        assert_eq!(
            eps,
            ["https://a.x.:2379", "http://b.x.:2380", "http://[::1]:1"]
        );
        assert_eq!(
            combine(Err("e1".into()), Ok(vec![t("b.", 1)])).unwrap(),
            ["http://b.:1"]
        );
        assert_eq!(
            combine(Err("e1".into()), Err("e2".into())).unwrap_err(),
            "dns lookup errors: e1 and e2"
        );
    }

    #[test]
    fn secure_discovery_drops_http() {
        let (kept, notes) = strip_insecure(vec!["http://a:1".into(), "https://b:2".into()]);
        assert_eq!(kept, ["https://b:2"]);
        assert_eq!(
            notes,
            ["ignoring discovered insecure endpoint \"http://a:1\""]
        );
    }
}
