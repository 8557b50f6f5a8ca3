//! Bootstrap by DNS (`--discovery-srv <domain>`, `--discovery-srv-name`):
//! SRV records name the initial cluster (etcd's `srv.GetCluster` and
//! `embed.Config.GetDNSClusterNames`).
//!
//! Records looked up: `_etcd-server-ssl[-<name>]._tcp.<domain>` (https peers)
//! and `_etcd-server[-<name>]._tcp.<domain>` (http peers). Each SRV target is
//! resolved; the one whose address and port equal one of our advertised peer
//! URLs (resolved) is us and gets `--name`, the others are named `0`, `1`, ...
//! in answer order. Peer URLs are `scheme://<target without dot>:<port>`, so
//! member ids derive from the host names, as in etcd; our own advertised peer
//! URLs are replaced by our SRV-derived ones (they resolve to the same
//! address, which is what etcd checks).
//!
//! Deviation: etcd 3.4.23 keeps the `_etcd-server` (http) answers only when
//! that lookup *fails* and fails whenever the `-ssl` lookup fails, so it
//! cannot bootstrap http peers from SRV; we use the answers of both lookups
//! and fail only when neither gives a peer (etcd 3.5's intent).
//!
//! Test seam: when the environment variable [`DNS_SERVER_ENV`]
//! (`ETCD_RS_DNS_SERVER=<ip>:<port>`) is set, every DNS query (SRV and the
//! targets' addresses) goes to that server only, over plain UDP/TCP, instead
//! of the system's resolvers. It exists for tests that run a DNS server on
//! loopback; do not set it in production.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use etcd_raft_node::DurableLog;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::TokioAsyncResolver;

use crate::config::ServerConfig;
use crate::ServerError;

/// Environment variable naming the only DNS server to query (test seam).
pub const DNS_SERVER_ENV: &str = "ETCD_RS_DNS_SERVER";

/// When `cfg` asks for SRV discovery and the member has no log yet, sets
/// `initial_cluster` (and our advertised peer URLs) from the SRV records.
pub(crate) async fn resolve(mut cfg: ServerConfig) -> Result<ServerConfig, ServerError> {
    if cfg.discovery_srv.is_empty()
        || DurableLog::exists(&cfg.wal_dir())
        || !cfg.initial_cluster_state_new
    {
        return Ok(cfg);
    }
    let setup = |e: String| ServerError::Config(format!("error setting up initial cluster: {e}"));
    let resolver = resolver().map_err(setup)?;
    let suffix = if cfg.discovery_srv_name.is_empty() {
        String::new()
    } else {
        format!("-{}", cfg.discovery_srv_name)
    };
    let apurls = &cfg.initial_advertise_peer_urls;
    let domain = &cfg.discovery_srv;
    let ssl = get_cluster(
        &resolver,
        "https",
        &format!("etcd-server-ssl{suffix}"),
        &cfg.name,
        domain,
        apurls,
    )
    .await;
    let http = get_cluster(
        &resolver,
        "http",
        &format!("etcd-server{suffix}"),
        &cfg.name,
        domain,
        apurls,
    )
    .await;
    let mut parts = Vec::new();
    let mut last_err = None;
    for r in [ssl, http] {
        match r {
            Ok(p) => parts.extend(p),
            Err(e) => last_err = Some(e),
        }
    }
    if parts.is_empty() {
        let e = last_err.unwrap_or_else(|| "no SRV records".into());
        tracing::error!(target: "embed", "couldn't resolve during SRV discovery ({e})");
        return Err(setup(e));
    }
    for (name, url) in &parts {
        tracing::info!(target: "embed", notice = true, "got bootstrap from DNS for etcd-server at {name}={url}");
    }
    let own: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n == cfg.name)
        .map(|(_, u)| u.clone())
        .collect();
    if own.is_empty() {
        return Err(setup(format!(
            "cannot find local etcd member {:?} in SRV records",
            cfg.name
        )));
    }
    cfg.initial_cluster = parts
        .iter()
        .map(|(n, u)| format!("{n}={u}"))
        .collect::<Vec<_>>()
        .join(",");
    cfg.initial_advertise_peer_urls = own;
    Ok(cfg)
}

fn resolver() -> Result<TokioAsyncResolver, String> {
    match std::env::var(DNS_SERVER_ENV) {
        Ok(addr) if !addr.is_empty() => {
            let sa: SocketAddr = addr
                .parse()
                .map_err(|e| format!("bad {DNS_SERVER_ENV}={addr:?}: {e}"))?;
            let servers = NameServerConfigGroup::from_ips_clear(&[sa.ip()], sa.port(), true);
            let mut opts = ResolverOpts::default();
            opts.use_hosts_file = false;
            Ok(TokioAsyncResolver::tokio(
                ResolverConfig::from_parts(None, vec![], servers),
                opts,
            ))
        }
        _ => TokioAsyncResolver::tokio_from_system_conf().map_err(|e| e.to_string()),
    }
}

/// `host:port` of a URL (no scheme, no path).
fn host_port(url: &str) -> Option<(String, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let hp = rest.split('/').next()?;
    Some((hp.to_string(), scheme))
}

async fn resolve_addr(
    resolver: &TokioAsyncResolver,
    host: &str,
    port: u16,
) -> Result<SocketAddr, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let ips = resolver
        .lookup_ip(format!("{host}."))
        .await
        .map_err(|e| e.to_string())?;
    let all: Vec<IpAddr> = ips.iter().collect();
    let ip = all
        .iter()
        .find(|i| i.is_ipv4())
        .or(all.first())
        .ok_or_else(|| format!("no address for {host}"))?;
    Ok(SocketAddr::new(*ip, port))
}

/// etcd's `srv.GetCluster`: (name, peer URL) pairs from one SRV service.
async fn get_cluster(
    resolver: &TokioAsyncResolver,
    scheme: &str,
    service: &str,
    name: &str,
    domain: &str,
    apurls: &[String],
) -> Result<Vec<(String, String)>, String> {
    let mut ours: HashMap<SocketAddr, String> = HashMap::new();
    for u in apurls {
        let (hp, _) = host_port(u).ok_or_else(|| format!("bad URL {u:?}"))?;
        let (host, port) = hp
            .rsplit_once(':')
            .ok_or_else(|| format!("missing port in address {hp:?}"))?;
        let port: u16 = port.parse().map_err(|_| format!("bad port in {hp:?}"))?;
        ours.insert(resolve_addr(resolver, host, port).await?, u.clone());
    }
    let query = format!("_{service}._tcp.{}.", domain.trim_end_matches('.'));
    let answers = resolver
        .srv_lookup(query.as_str())
        .await
        .map_err(|e| format!("error querying DNS SRV records for _{service} {e}"))?;
    let mut parts = Vec::new();
    let mut err = String::new();
    let mut temp_name = 0;
    for srv in answers.iter() {
        let target = srv.target().to_utf8();
        let short = target.trim_end_matches('.');
        let addr = match resolve_addr(resolver, short, srv.port()).await {
            Ok(a) => a,
            Err(e) => {
                err = e;
                continue;
            }
        };
        let url_host = if short.contains(':') {
            format!("[{short}]:{}", srv.port())
        } else {
            format!("{short}:{}", srv.port())
        };
        let matched = ours.get(&addr);
        let n = match matched {
            Some(_) => name.to_string(),
            None => {
                temp_name += 1;
                (temp_name - 1).to_string()
            }
        };
        match matched {
            Some(u) if host_port(u).map(|(_, s)| s) != Some(scheme) => {
                err = format!("bootstrap at {scheme}://{url_host} from DNS for {service} has scheme mismatch with expected peer {u}");
            }
            _ => parts.push((n, format!("{scheme}://{url_host}"))),
        }
    }
    if parts.is_empty() {
        return Err(format!(
            "error querying DNS SRV records for _{service} {err}"
        ));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_splits_urls() {
        assert_eq!(
            host_port("http://a.b:2380/x"),
            Some(("a.b:2380".to_string(), "http"))
        );
        assert_eq!(host_port("nope"), None);
    }
}
