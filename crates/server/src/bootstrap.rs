//! First start versus restart: what is on disk decides.
//!
//! A new member writes a WAL whose metadata holds its id and the cluster id,
//! and whose first entries are the initial cluster as Raft conf changes at
//! term 1 (as etcd does), already committed. A restart reads both back.

use etcd_proto::etcdserverpb::Metadata;
use etcd_raft_node::raft::eraftpb::{ConfChange, ConfChangeType, Entry, EntryType, HardState};
use etcd_raft_node::{DurableLog, Recovered};
use prost::Message as _;
use protobuf::Message as _;

use crate::config::ServerConfig;
use crate::membership::{cluster_id, parse_initial_cluster, Member};
use crate::ServerError;

/// The durable log plus who we are.
pub struct Booted {
    /// The opened log.
    pub log: DurableLog,
    /// This member's id.
    pub member_id: u64,
    /// The cluster id.
    pub cluster_id: u64,
    /// What was recovered (None on first start).
    pub recovered: Option<Recovered>,
    /// The initial members (first start only).
    pub initial_members: Vec<Member>,
}

/// What a member joining an existing cluster learned from it.
pub struct JoinInfo {
    /// This member's id (assigned by `member add`).
    pub member_id: u64,
    /// The cluster's id.
    pub cluster_id: u64,
    /// The cluster's members.
    pub members: Vec<Member>,
}

/// True when the member has no log yet and must join an existing cluster.
pub fn needs_join(cfg: &ServerConfig) -> bool {
    !DurableLog::exists(&cfg.wal_dir()) && !crate::import_etcd::pending(cfg) && !cfg.initial_cluster_state_new
}

/// Asks the other members listed in `--initial-cluster` who we are (etcd's
/// `GetClusterFromRemotePeers` + `ValidateClusterAndAssignIDs`): the member
/// whose peer URLs equal ours gives our id; the answer's header the cluster id.
pub async fn join(cfg: &ServerConfig) -> Result<JoinInfo, ServerError> {
    let peers = cluster_map(&cfg.initial_cluster)?;
    let mut own = cfg.initial_advertise_peer_urls.clone();
    own.sort();
    let mut last_err = String::from("no other member listed in --initial-cluster");
    for (name, urls) in &peers {
        if *name == cfg.name {
            continue;
        }
        for url in urls {
            let resp = match etcd_transport::fetch::get_with(&cfg.peer_dialer, url, "/members", std::time::Duration::from_secs(2)).await {
                Ok(r) if r.status == 200 => r,
                Ok(r) => {
                    last_err = format!("{url}: status {}", r.status);
                    continue;
                }
                Err(e) => {
                    last_err = format!("{url}: {e}");
                    continue;
                }
            };
            let members: Vec<Member> = serde_json::from_slice(&resp.body)
                .map_err(|e| ServerError::Config(format!("bad member list from {url}: {e}")))?;
            let me = members.iter().find(|m| {
                let mut u = m.peer_urls.clone();
                u.sort();
                u == own
            });
            let Some(me) = me else {
                return Err(ServerError::Config(format!(
                    "error validating peerURLs {{ClusterID:{:x} Members:[...]}}: member count is unequal or PeerURLs {:?} not found in the existing cluster",
                    resp.cluster_id.unwrap_or(0), own
                )));
            };
            return Ok(JoinInfo {
                member_id: me.id,
                cluster_id: resp.cluster_id.unwrap_or(0),
                members,
            });
        }
    }
    Err(ServerError::Config(format!(
        "cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs ({last_err})"
    )))
}

/// Opens the member's log, creating it on first start.
pub fn boot(cfg: &ServerConfig, joined: Option<JoinInfo>) -> Result<Booted, ServerError> {
    crate::import_etcd::import_if_etcd(cfg)?;
    let wal_dir = cfg.wal_dir();
    let snap_dir = cfg.snap_dir();
    if DurableLog::exists(&wal_dir) {
        let (log, recovered) = DurableLog::open(&wal_dir, &snap_dir)?;
        let meta = Metadata::decode(recovered.metadata.as_slice())
            .map_err(|e| ServerError::Config(format!("cannot decode WAL metadata: {e}")))?;
        return Ok(Booted {
            log,
            member_id: meta.node_id.unwrap_or(0),
            cluster_id: meta.cluster_id.unwrap_or(0),
            recovered: Some(recovered),
            initial_members: vec![],
        });
    }
    if let Some(j) = joined {
        // An empty log: the leader sends everything, membership included.
        let meta = Metadata { node_id: Some(j.member_id), cluster_id: Some(j.cluster_id) }.encode_to_vec();
        std::fs::create_dir_all(cfg.member_dir())?;
        let log = DurableLog::create(&wal_dir, &snap_dir, &meta, &[], &HardState::default())?;
        return Ok(Booted { log, member_id: j.member_id, cluster_id: j.cluster_id, recovered: None, initial_members: j.members });
    }
    if !cfg.initial_cluster_state_new {
        return Err(ServerError::Config("--initial-cluster-state=existing needs the cluster's member list".into()));
    }
    let (members, me) = initial_members(&cfg.initial_cluster, &cfg.initial_cluster_token, &cfg.name)?;
    let me = &me;
    let mut own_urls = cfg.initial_advertise_peer_urls.clone();
    own_urls.sort();
    if own_urls != me.peer_urls {
        return Err(ServerError::Config(format!(
            "--initial-cluster has {}={} but missing from --initial-advertise-peer-urls={} (\"{}\"(resolved from {:?}) != \"{}\"(resolved from {:?}))",
            me.name,
            me.peer_urls.join(","),
            cfg.initial_advertise_peer_urls.join(","),
            own_urls.join(","),
            own_urls,
            me.peer_urls.join(","),
            me.peer_urls,
        )));
    }
    let member_id = me.id;
    let cid = cluster_id(&members.iter().map(|m| m.id).collect::<Vec<_>>());
    let meta = Metadata { node_id: Some(member_id), cluster_id: Some(cid) }.encode_to_vec();
    let unnamed: Vec<Member> = members.iter().map(|m| Member { name: String::new(), ..m.clone() }).collect();
    let entries = add_member_entries(&unnamed);
    let mut hs = HardState::default();
    hs.term = 1;
    hs.commit = entries.len() as u64;
    std::fs::create_dir_all(cfg.member_dir())?;
    let log = DurableLog::create(&wal_dir, &snap_dir, &meta, &entries, &hs)?;
    Ok(Booted { log, member_id, cluster_id: cid, recovered: None, initial_members: members })
}

/// `--initial-cluster` as name → peer URLs, refused with etcd's message.
fn cluster_map(initial_cluster: &str) -> Result<std::collections::BTreeMap<String, Vec<String>>, ServerError> {
    parse_initial_cluster(initial_cluster)
        .map_err(|e| ServerError::Config(format!("error setting up initial cluster: {e}")))
}

/// The members of `--initial-cluster` (sorted by id) and this member among
/// them, found by `name`.
pub(crate) fn initial_members(
    initial_cluster: &str,
    token: &str,
    name: &str,
) -> Result<(Vec<Member>, Member), ServerError> {
    let peers = cluster_map(initial_cluster)?;
    let mut members: Vec<Member> = peers.iter().map(|(n, urls)| Member::new(n, urls, token)).collect();
    members.sort_by_key(|m| m.id);
    let me = members.iter().find(|m| m.name == name).cloned().ok_or_else(|| {
        ServerError::Config(format!("couldn't find local name {name:?} in the initial cluster configuration"))
    })?;
    Ok((members, me))
}

/// A new cluster's first log: one AddNode conf change per member at term 1,
/// indexes 1..=N, each carrying the member as JSON context.
pub(crate) fn add_member_entries(members: &[Member]) -> Vec<Entry> {
    members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut cc = ConfChange::default();
            cc.set_change_type(ConfChangeType::AddNode);
            cc.node_id = m.id;
            cc.context = serde_json::to_vec(m).expect("member serialises").into();
            let mut e = Entry::default();
            e.set_entry_type(EntryType::EntryConfChange);
            e.term = 1;
            e.index = i as u64 + 1;
            e.data = cc.write_to_bytes().expect("conf change encodes").into();
            e
        })
        .collect()
}
