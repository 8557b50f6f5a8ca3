//! Bootstrap by discovery (`--discovery <url>`): etcd 3.4's v2 discovery
//! protocol, which turns a discovery URL into an initial cluster.
//!
//! A discovery URL is `http://host:port/<prefix>/<token>` on a v2 keys API
//! (`/v2/keys/discovery/<token>` on an etcd). The protocol, in order:
//! 1. read `<url>/_config/size` (the cluster size) and list `<url>`: when
//!    `size` members registered before us the cluster is full — stop;
//! 2. register: `PUT <url>/<member-id-hex>` with `prevExist=false` and the
//!    value `name=peerURL,...` (sorted pairs); an existing key means this id
//!    registered before ([`DiscoveryFailure::DuplicateId`]);
//! 3. list again and watch the directory (`wait=true&recursive=true` from the
//!    listing's `X-Etcd-Index` + 1) until `size` members are known;
//! 4. the first `size` registrations by `createdIndex` are the cluster; their
//!    values joined with `,` are the `--initial-cluster`.
//!
//! The member id registered, and every member id of the resulting cluster, is
//! derived from its peer URLs with the discovery URL as the cluster token
//! (etcd's `embed.Config.PeerURLsMapAndToken`), so the same flags give the
//! same ids as etcd. Unreachable discovery endpoints (connection errors, 5xx)
//! are retried with etcd's backoff, 2^n seconds capped at 256 s.
//!
//! Discovery runs only on a member's first start (no WAL) with
//! `--initial-cluster-state new`; a restart reads its cluster from the WAL.
//!
//! The core — size parsing, the full-cluster rule, building the cluster
//! string — is pure; [`crate::discovery_client`] does the HTTP.

use std::time::Duration;

use etcd_raft_node::DurableLog;

use crate::config::ServerConfig;
use crate::discovery_client::{KeysClient, KeysError, Node, CODE_NODE_EXIST};
use crate::membership::{parse_initial_cluster, Member};
use crate::ServerError;

/// Backoff exponent cap: 2^8 s = 256 s between retries, as etcd.
const BACKOFF_EXPONENT_MAX: u32 = 8;
/// Retries of an unreachable discovery endpoint before giving up (etcd's
/// `math.MaxUint32`: in practice, forever).
const RETRIES_MAX: u32 = u32::MAX;
/// Upper bound on watch answers read while waiting for the cluster to fill
/// (each is one registration, or a change under the token we skip).
const WATCH_EVENTS_MAX: usize = 100_000;

/// Why discovery failed; `Display` gives etcd's `discovery: ...` messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryFailure {
    /// The registered values do not form an initial cluster.
    #[error("discovery: invalid URL")]
    InvalidUrl,
    /// `_config/size` is not a number.
    #[error("discovery: size key is bad")]
    BadSizeKey,
    /// `_config/size` does not exist. etcd 3.4 never reports this one: its
    /// check misses the v2 client's error type, so a missing size key fails
    /// with the v2 error itself (`100: Key not found (/…) [index]`); so do we.
    #[error("discovery: size key not found")]
    SizeNotFound,
    /// This member id registered before.
    #[error("discovery: found duplicate id")]
    DuplicateId,
    /// Two registrations carry the same name.
    #[error("discovery: found duplicate name")]
    DuplicateName,
    /// `size` members registered before this one.
    #[error("discovery: cluster is full")]
    FullCluster,
    /// The endpoint stayed unreachable.
    #[error("discovery: too many retries")]
    TooManyRetries,
    /// The endpoint does not speak the v2 keys API.
    #[error("discovery: bad discovery endpoint")]
    BadEndpoint,
    /// Anything else (a v2 error, an unusable URL).
    #[error("{0}")]
    Other(String),
}

/// A failed discovery, with what etcd's start-up reports about it.
#[derive(Clone, Debug, thiserror::Error)]
#[error("failed to {op} discovery cluster ({failure})")]
pub struct DiscoveryError {
    /// The step (`join`).
    pub op: &'static str,
    /// What went wrong.
    pub failure: DiscoveryFailure,
    name: String,
    discovery_url: String,
    data_dir: String,
    fallback_proxy: bool,
}

impl DiscoveryError {
    /// True when the member should run as a v2 proxy instead (cluster full
    /// with `--discovery-fallback=proxy`), as etcd does.
    pub fn wants_proxy_fallback(&self) -> bool {
        self.fallback_proxy && self.failure == DiscoveryFailure::FullCluster
    }

    /// Logs what etcd's `etcdmain` logs before exiting on this error
    /// (capnslog wording). The caller then exits with status 1, except on
    /// a proxy fallback, which it starts.
    pub fn log_failure(&self) {
        let durl = &self.discovery_url;
        match &self.failure {
            // Not a failure: the caller starts the v2 proxy.
            _ if self.wants_proxy_fallback() => {
                tracing::info!(target: "etcdmain", notice = true, "discovery cluster full, falling back to proxy");
            }
            DiscoveryFailure::DuplicateId => {
                tracing::error!(target: "etcdmain", "member {:?} has previously registered with discovery service token ({durl}).", self.name);
                tracing::error!(target: "etcdmain", "But etcd could not find valid cluster configuration in the given data dir ({}).", self.data_dir);
                tracing::info!(target: "etcdmain", "Please check the given data dir path if the previous bootstrap succeeded");
                tracing::info!(target: "etcdmain", "or use a new discovery token if the previous bootstrap failed.");
            }
            DiscoveryFailure::DuplicateName => {
                tracing::error!(target: "etcdmain", "member with duplicated name has registered with discovery service token({durl}).");
                tracing::error!(target: "etcdmain", "please check (cURL) the discovery token for more information.");
                tracing::error!(target: "etcdmain", "please do not reuse the discovery token and generate a new one to bootstrap the cluster.");
            }
            _ => {
                tracing::error!(target: "etcdmain", "{self}");
                tracing::info!(target: "etcdmain", "discovery token {durl} was used, but failed to bootstrap the cluster.");
                tracing::info!(target: "etcdmain", "please generate a new discovery token and try to bootstrap again.");
            }
        }
    }
}

/// When `cfg` asks for discovery and the member has no log yet, runs the
/// protocol and returns `cfg` with `initial_cluster` set from it and the
/// discovery URL as `initial_cluster_token`; otherwise returns `cfg` as is.
/// `--discovery-srv` is handed to [`crate::discovery_srv`].
pub(crate) async fn resolve(mut cfg: ServerConfig) -> Result<ServerConfig, ServerError> {
    if !cfg.discovery_srv.is_empty() {
        return crate::discovery_srv::resolve(cfg).await;
    }
    if cfg.discovery_url.is_empty()
        || DurableLog::exists(&cfg.wal_dir())
        || !cfg.initial_cluster_state_new
    {
        return Ok(cfg);
    }
    let durl = cfg.discovery_url.clone();
    let me = Member::new(&cfg.name, &cfg.initial_advertise_peer_urls, &durl);
    let contents = self_entry(&cfg.name, &cfg.initial_advertise_peer_urls);
    let fail = |failure| DiscoveryError {
        op: "join",
        failure,
        name: cfg.name.clone(),
        discovery_url: durl.clone(),
        data_dir: cfg.data_dir.display().to_string(),
        fallback_proxy: cfg.discovery_fallback_proxy,
    };
    let mut d = Discovery::new(&durl, me.id).map_err(|f| ServerError::Discovery(fail(f)))?;
    if !cfg.discovery_proxy.is_empty() {
        let proxy = crate::discovery_client::proxy_authority(&cfg.discovery_proxy)
            .map_err(|e| ServerError::Discovery(fail(DiscoveryFailure::Other(e))))?;
        d.client.set_proxy(proxy);
    }
    let cluster = d
        .join_cluster(&contents)
        .await
        .map_err(|f| ServerError::Discovery(fail(f)))?;
    let map = parse_initial_cluster(&cluster).map_err(ServerError::Config)?;
    let mut urls: Vec<&String> = map.values().flatten().collect();
    let total = urls.len();
    urls.sort();
    urls.dedup();
    if urls.len() != total {
        return Err(ServerError::Config(format!(
            "discovery cluster {} has duplicate url",
            sorted_pairs(&cluster)
        )));
    }
    tracing::debug!(target: "etcdserver", "discovery gave initial cluster {cluster}");
    cfg.initial_cluster = cluster;
    cfg.initial_cluster_token = durl;
    Ok(cfg)
}

/// etcd's `v2discovery.GetCluster`, for a v2 proxy started with
/// `--discovery`: the cluster registered under `durl`, without registering.
/// A full cluster gives its first `size` members at once; otherwise this
/// waits for the cluster to fill, as a member does. `dproxy` is
/// `--discovery-proxy`.
pub async fn get_cluster(durl: &str, dproxy: &str) -> Result<String, DiscoveryFailure> {
    // Id 0 is never a registration, so every registration counts.
    let mut d = Discovery::new(durl, 0)?;
    if !dproxy.is_empty() {
        let proxy = crate::discovery_client::proxy_authority(dproxy).map_err(DiscoveryFailure::Other)?;
        d.client.set_proxy(proxy);
    }
    match d.check_cluster().await {
        Ok((nodes, size, index)) => {
            let all = d.wait_nodes(nodes, size, index).await?;
            nodes_to_cluster(&all, size)
        }
        Err(DiscoveryFailure::FullCluster) => {
            let first = d.full.take().unwrap_or_default();
            nodes_to_cluster(&first, first.len() as u64)
        }
        Err(e) => Err(e),
    }
}

/// What this member registers: `name=url` pairs, sorted, comma-joined
/// (etcd's `URLsMap.String` of the one-member map).
pub(crate) fn self_entry(name: &str, peer_urls: &[String]) -> String {
    let pairs: Vec<String> = peer_urls.iter().map(|u| format!("{name}={u}")).collect();
    sorted_pairs(&pairs.join(","))
}

fn sorted_pairs(s: &str) -> String {
    let mut pairs: Vec<&str> = s.split(',').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    pairs.join(",")
}

/// Parses `_config/size`.
pub(crate) fn parse_size(value: &str) -> Result<u64, DiscoveryFailure> {
    value.parse().map_err(|_| DiscoveryFailure::BadSizeKey)
}

/// The last path segment of a key.
fn base(key: &str) -> &str {
    key.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// Registrations under the token (the `_config` directory left out), in
/// registration order.
pub(crate) fn registrations(dir: Node) -> Vec<Node> {
    let mut nodes: Vec<Node> = dir
        .nodes
        .into_iter()
        .filter(|n| base(&n.key) != "_config")
        .collect();
    nodes.sort_by_key(|n| n.created_index);
    nodes
}

/// etcd's full-cluster rule: full when `size` registrations precede ours
/// (or, not yet registered, `size` exist). Returns the first `size` when full.
pub(crate) fn check_full(nodes: &[Node], size: u64, self_id: &str) -> Result<(), Vec<Node>> {
    for (i, n) in nodes.iter().enumerate() {
        if base(&n.key) == self_id {
            break;
        }
        // As etcd (uint64 arithmetic): a size of 0 never fills.
        if i as u64 >= size.wrapping_sub(1) {
            return Err(nodes[..size as usize].to_vec());
        }
    }
    Ok(())
}

/// The initial cluster from the first `size` registrations (etcd's
/// `nodesToCluster`).
pub(crate) fn nodes_to_cluster(nodes: &[Node], size: u64) -> Result<String, DiscoveryFailure> {
    let joined = nodes
        .iter()
        .map(|n| n.value.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let mut names = std::collections::BTreeSet::new();
    for pair in joined.split(',') {
        let (name, url) = pair.split_once('=').ok_or(DiscoveryFailure::InvalidUrl)?;
        if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("unix")) {
            return Err(DiscoveryFailure::InvalidUrl);
        }
        names.insert(name);
    }
    if names.len() as u64 != size {
        return Err(DiscoveryFailure::DuplicateName);
    }
    Ok(joined)
}

/// One run of the protocol against one discovery URL.
struct Discovery {
    client: KeysClient,
    /// `scheme://host:port`, for log lines.
    endpoint: String,
    /// The token directory's path, e.g. `/v2/keys/discovery/<token>`.
    dir: String,
    /// Our id in hex.
    self_id: String,
    retries: u32,
    /// The first `size` registrations, kept by a check that found the
    /// cluster full (what [`get_cluster`] returns then).
    full: Option<Vec<Node>>,
}

/// Outcome of a cluster check: registrations, size, the listing's index.
type Checked = (Vec<Node>, u64, u64);

impl Discovery {
    fn new(durl: &str, member_id: u64) -> Result<Discovery, DiscoveryFailure> {
        let uri: http::Uri = durl
            .parse()
            .map_err(|e| DiscoveryFailure::Other(format!("parse {durl:?}: {e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(DiscoveryFailure::Other(
                    "https discovery URLs need TLS, which etcd-rs does not implement yet".into(),
                ))
            }
            _ => {
                return Err(DiscoveryFailure::Other(format!(
                    "unsupported protocol scheme in discovery URL {durl:?}"
                )))
            }
        }
        let authority = uri.authority().ok_or(DiscoveryFailure::InvalidUrl)?;
        let host_port = match authority.port_u16() {
            Some(_) => authority.as_str().to_string(),
            None => format!("{}:80", authority.host()),
        };
        Ok(Discovery {
            client: KeysClient::new(host_port),
            endpoint: format!("http://{authority}"),
            dir: uri.path().trim_end_matches('/').to_string(),
            self_id: format!("{member_id:x}"),
            retries: 0,
            full: None,
        })
    }

    async fn join_cluster(&mut self, contents: &str) -> Result<String, DiscoveryFailure> {
        self.check_cluster().await?;
        self.create_self(contents).await?;
        let (nodes, size, index) = self.check_cluster().await?;
        let all = self.wait_nodes(nodes, size, index).await?;
        nodes_to_cluster(&all, size)
    }

    async fn create_self(&mut self, contents: &str) -> Result<(), DiscoveryFailure> {
        let key = format!("{}/{}", self.dir, self.self_id);
        let created = match self.client.create(&key, contents).await {
            Ok(r) => r,
            Err(KeysError::Etcd {
                code: CODE_NODE_EXIST,
                ..
            }) => return Err(DiscoveryFailure::DuplicateId),
            Err(e) => return Err(other(e)),
        };
        // As etcd: wait until our registration is visible to a watcher.
        self.client
            .watch(&key, created.node.created_index, false)
            .await
            .map(|_| ())
            .map_err(other)
    }

    /// Reads the size and the registrations; retries an unreachable endpoint.
    async fn check_cluster(&mut self) -> Result<Checked, DiscoveryFailure> {
        loop {
            match self.check_cluster_once().await {
                Err(KeysError::Unreachable(detail)) => {
                    tracing::error!(target: "discovery", "{detail}");
                    self.backoff("cluster status check").await?;
                }
                Err(KeysError::InvalidJson) => return Err(DiscoveryFailure::BadEndpoint),
                Err(e) => return Err(other(e)),
                Ok(Err(f)) => return Err(f),
                Ok(Ok((nodes, size, index))) => {
                    return match check_full(&nodes, size, &self.self_id) {
                        Ok(()) => Ok((nodes, size, index)),
                        Err(first) => {
                            self.full = Some(first);
                            Err(DiscoveryFailure::FullCluster)
                        }
                    };
                }
            }
        }
    }

    async fn check_cluster_once(&self) -> Result<Result<Checked, DiscoveryFailure>, KeysError> {
        let size_resp = self
            .client
            .get(&format!("{}/_config/size", self.dir))
            .await?;
        let size = match parse_size(&size_resp.node.value) {
            Ok(s) => s,
            Err(f) => return Ok(Err(f)),
        };
        let listing = match self.client.get(&self.dir).await {
            Err(KeysError::Etcd { message, .. }) => {
                return Ok(Err(DiscoveryFailure::Other(message)))
            }
            r => r?,
        };
        Ok(Ok((registrations(listing.node), size, listing.index)))
    }

    async fn wait_nodes(
        &mut self,
        mut nodes: Vec<Node>,
        mut size: u64,
        mut index: u64,
    ) -> Result<Vec<Node>, DiscoveryFailure> {
        'retry: loop {
            nodes.truncate(size as usize);
            for n in &nodes {
                if base(&n.key) == self.self_id {
                    tracing::info!(target: "discovery", notice = true, "found self {} in the cluster", self.self_id);
                } else {
                    tracing::info!(target: "discovery", notice = true, "found peer {} in the cluster", base(&n.key));
                }
            }
            let mut wait_index = index + 1;
            let mut events = 0usize;
            while (nodes.len() as u64) < size {
                tracing::info!(target: "discovery", notice = true, "found {} peer(s), waiting for {} more", nodes.len(), size - nodes.len() as u64);
                events += 1;
                if events > WATCH_EVENTS_MAX {
                    return Err(DiscoveryFailure::Other(
                        "too many changes under the discovery token".into(),
                    ));
                }
                let resp = match self.client.watch(&self.dir, wait_index, true).await {
                    Ok(r) => r,
                    Err(KeysError::Unreachable(detail)) => {
                        tracing::error!(target: "discovery", "{detail}");
                        self.backoff("waiting for other nodes").await?;
                        (nodes, size, index) = self.check_cluster().await?;
                        continue 'retry;
                    }
                    Err(e) => return Err(other(e)),
                };
                wait_index = resp.node.modified_index + 1;
                // Deviation: etcd counts every change under the token; we
                // count only registrations (not `_config` edits).
                if resp.node.key.contains("/_config") || base(&resp.node.key) == "_config" {
                    continue;
                }
                tracing::info!(target: "discovery", notice = true, "found peer {} in the cluster", base(&resp.node.key));
                nodes.push(resp.node);
            }
            tracing::info!(target: "discovery", notice = true, "found {} needed peer(s)", nodes.len());
            return Ok(nodes);
        }
    }

    async fn backoff(&mut self, step: &str) -> Result<(), DiscoveryFailure> {
        if self.retries == RETRIES_MAX {
            return Err(DiscoveryFailure::TooManyRetries);
        }
        self.retries += 1;
        let secs = 1u64 << self.retries.min(BACKOFF_EXPONENT_MAX);
        tracing::info!(target: "discovery", "{step}: error connecting to {}, retrying in {secs}s", self.endpoint);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        Ok(())
    }
}

fn other(e: KeysError) -> DiscoveryFailure {
    match e {
        KeysError::InvalidJson => DiscoveryFailure::BadEndpoint,
        KeysError::Unreachable(d) => DiscoveryFailure::Other(d),
        KeysError::Etcd { message, .. } => DiscoveryFailure::Other(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, value: &str, created: u64) -> Node {
        Node {
            key: format!("/discovery/t/{id}"),
            value: value.into(),
            created_index: created,
            modified_index: created,
            nodes: vec![],
        }
    }

    #[test]
    fn self_entry_is_sorted_pairs() {
        let urls = ["http://b:2380".to_string(), "http://a:2380".to_string()];
        assert_eq!(self_entry("m1", &urls), "m1=http://a:2380,m1=http://b:2380");
    }

    #[test]
    fn registrations_skip_config_and_sort_by_created_index() {
        let dir = Node {
            key: "/discovery/t".into(),
            nodes: vec![
                node("b", "", 9),
                Node {
                    key: "/discovery/t/_config".into(),
                    ..Default::default()
                },
                node("a", "", 5),
            ],
            ..Default::default()
        };
        let ids: Vec<String> = registrations(dir)
            .iter()
            .map(|n| base(&n.key).to_string())
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn full_when_size_registered_before_us() {
        let nodes = vec![node("a", "", 1), node("b", "", 2), node("c", "", 3)];
        assert!(check_full(&nodes[..2], 3, "me").is_ok());
        assert_eq!(check_full(&nodes, 3, "me").unwrap_err().len(), 3);
        // Registered among the first `size`: not full, even with more after us.
        let mut with_me = nodes.clone();
        with_me.insert(1, node("me", "", 2));
        assert!(check_full(&with_me, 3, "me").is_ok());
        // Registered after `size` others: full.
        let late: Vec<Node> = nodes.iter().cloned().chain([node("me", "", 4)]).collect();
        assert!(check_full(&late, 3, "me").is_err());
        assert!(
            check_full(&nodes, 0, "me").is_ok(),
            "size 0 never fills, as in etcd"
        );
    }

    #[test]
    fn cluster_string_checks_names() {
        let ok = [
            node("a", "m1=http://a:1", 1),
            node("b", "m2=http://b:1,m2=http://b:2", 2),
        ];
        assert_eq!(
            nodes_to_cluster(&ok, 2).unwrap(),
            "m1=http://a:1,m2=http://b:1,m2=http://b:2"
        );
        let dup = [node("a", "m1=http://a:1", 1), node("b", "m1=http://b:1", 2)];
        assert_eq!(
            nodes_to_cluster(&dup, 2),
            Err(DiscoveryFailure::DuplicateName)
        );
        assert_eq!(
            nodes_to_cluster(&[node("a", "garbage", 1)], 1),
            Err(DiscoveryFailure::InvalidUrl)
        );
        assert_eq!(parse_size("x"), Err(DiscoveryFailure::BadSizeKey));
        assert_eq!(parse_size("3"), Ok(3));
    }

    #[test]
    fn errors_read_like_etcds() {
        let e = DiscoveryError {
            op: "join",
            failure: DiscoveryFailure::FullCluster,
            name: "m4".into(),
            discovery_url: "http://x/v2/keys/discovery/t".into(),
            data_dir: "d".into(),
            fallback_proxy: false,
        };
        assert_eq!(
            e.to_string(),
            "failed to join discovery cluster (discovery: cluster is full)"
        );
        assert!(!e.wants_proxy_fallback());
    }
}
