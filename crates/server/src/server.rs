//! `EtcdServer`: starts the Raft thread and the applier, and gives the API
//! layer typed calls. Every mutation is proposed through Raft and answered
//! after it is applied; linearizable reads wait for a read index.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use etcd_backend::{Backend, BackendConfig};
use etcd_mvcc::KvStore;
use etcd_proto::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    InternalRaftRequest, MemberAttrUpdate, MemberListResponse, MemberRaftAttrUpdate, PutRequest, PutResponse,
    RangeRequest, RangeResponse, ResponseHeader, StatusResponse, TxnRequest,
    TxnResponse,
};
use etcd_proto::EtcdError;
use etcd_raft_node::{Input, NodeConfig, NodeHandle};
use prost::Message as _;

use crate::apply::{ApplyResponse, Applier};
use crate::bootstrap::boot;
use crate::config::ServerConfig;
use crate::events::ServerEvents;
use crate::membership::{ConfChangeContext, Member};
use crate::membership_store::MembershipStore;
use crate::reconfig;
use etcd_raft_node::raft::eraftpb::{ConfChange, ConfChangeType};
use crate::read_index::ReadIndexer;
use crate::wait::{IdGenerator, Wait};
use crate::{validate, ServerError};

/// The version of etcd whose behaviour we reproduce.
pub const ETCD_VERSION: &str = "3.4.23";
/// The cluster version etcd 3.4 reports.
pub const CLUSTER_VERSION: &str = "3.4.0";

/// A running member.
pub struct EtcdServer {
    cfg: ServerConfig,
    member_id: u64,
    pub(crate) members: Arc<MembershipStore>,
    pub(crate) kv: Arc<KvStore>,
    pub(crate) backend: Arc<Backend>,
    pub(crate) node: NodeHandle,
    pub(crate) wait: Arc<Wait>,
    pub(crate) ids: IdGenerator,
    pub(crate) applied_rx: tokio::sync::watch::Receiver<u64>,
    leader_rx: tokio::sync::watch::Receiver<u64>,
    ready_tx: tokio::sync::watch::Sender<bool>,
    reads: Arc<ReadIndexer>,
    transport: Arc<etcd_transport::Transport>,
    lead_elected: Arc<parking_lot::Mutex<Option<std::time::Instant>>>,
    apply_thread: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
    pub(crate) lessor: Arc<etcd_lease::Lessor>,
    watch_hub: Arc<etcd_mvcc::watch::WatchHub>,
    pub(crate) v2: Arc<parking_lot::Mutex<etcd_v2store::Store>>,
    /// Asks the applier for a backend view pinned between two entries.
    pub(crate) backup_tx: std::sync::mpsc::Sender<crate::backup::ExportReply>,
    pub(crate) auth: Arc<crate::auth::AuthState>,
    pub(crate) alarms: Arc<crate::alarm::AlarmStore>,
    pub(crate) quota: crate::quota::Quota,
}

impl EtcdServer {
    /// Opens or creates the data dir and starts Raft and the applier. Must be
    /// called inside a Tokio runtime.
    pub async fn start(cfg: ServerConfig) -> Result<Arc<EtcdServer>, ServerError> {
        crate::metrics::install_hooks();
        let cfg = crate::discovery::resolve(cfg).await?;
        let joined = if crate::bootstrap::needs_join(&cfg) { Some(crate::bootstrap::join(&cfg).await?) } else { None };
        let booted = boot(&cfg, joined)?;
        let backend_path = cfg.snap_dir().join("db");
        let backend = Arc::new(Backend::open(
            &backend_path,
            BackendConfig {
                batch_interval_ms: cfg.backend_batch_interval_ms,
                batch_limit: cfg.backend_batch_limit,
            },
        )?);
        let kv = Arc::new(KvStore::open(backend.clone())?);
        let lessor = crate::lease::open_lessor(&cfg, &backend, &kv)?;
        let auth = crate::auth::open(&cfg, &backend)?;
        let alarms = Arc::new(crate::alarm::AlarmStore::open(backend.clone())?);
        crate::quota::Quota::log(cfg.quota_backend_bytes);
        let quota = crate::quota::Quota::new(cfg.quota_backend_bytes);
        let (nospace_tx, nospace_rx) = tokio::sync::mpsc::channel(crate::apply::alarm::HELD_ANSWERS_MAX);
        let snapshot_data = booted
            .recovered
            .as_ref()
            .and_then(|r| r.snapshot.as_ref())
            .map(|s| s.data.to_vec());
        let (membership_data, v2_data) = match snapshot_data.as_deref() {
            Some(d) => {
                let (m, v2) = crate::snapshot_payload::decode(d);
                (Some(m), v2)
            }
            None => (None, None),
        };
        let members = Arc::new(MembershipStore::new(backend.clone(), booted.cluster_id, membership_data.as_deref()));
        if cfg.initial_corrupt_check && booted.recovered.is_some() {
            crate::corrupt::initial_check(booted.member_id, &kv, &members, cfg.request_timeout()).await?;
        }
        let v2 = Arc::new(parking_lot::Mutex::new(etcd_v2store::Store::new()));
        if let Some(saved) = &v2_data {
            v2.lock().recover(saved).map_err(|e| ServerError::Config(format!("bad v2 store in the snapshot: {e}")))?;
        }
        let member_id = booted.member_id;
        let snapshot_index = booted
            .recovered
            .as_ref()
            .and_then(|r| r.snapshot.as_ref())
            .map(|s| s.get_metadata().index)
            .unwrap_or(0);
        let conf_state = booted
            .recovered
            .as_ref()
            .and_then(|r| r.snapshot.as_ref())
            .map(|s| s.get_metadata().get_conf_state().clone())
            .unwrap_or_default();
        tracing::info!(target: "etcdserver", "{} member {:x} in cluster {:x}",
            if booted.recovered.is_some() { "restarting" } else { "starting" },
            member_id, booted.cluster_id);
        if let Some(r) = &booted.recovered {
            tracing::info!(target: "etcdserver", "recovered log: snapshot index {}, last index {}, commit {}, backend consistent index {}",
                snapshot_index, r.last_index, r.hard_state.commit, kv.consistent_index());
        }

        let (apply_tx, apply_rx) = std::sync::mpsc::sync_channel(1024);
        let (applied_tx, applied_rx) = tokio::sync::watch::channel(snapshot_index);
        let (leader_tx, leader_rx) = tokio::sync::watch::channel(0u64);
        let lead_elected = Arc::new(parking_lot::Mutex::new(None));
        let read_answers = Arc::new(parking_lot::Mutex::new(std::collections::HashMap::new()));
        let transport = etcd_transport::Transport::new(member_id, booted.cluster_id, tokio::runtime::Handle::current());
        transport.set_dialer(cfg.peer_dialer.clone());
        let known = if booted.initial_members.is_empty() { members.list() } else { booted.initial_members.clone() };
        for m in &known {
            transport.add_peer(m.id, m.peer_urls.clone());
        }
        let events = ServerEvents {
            member_id,
            transport: transport.clone(),
            read_answers: read_answers.clone(),
            leader_tx,
            lead_elected: lead_elected.clone(),
            heartbeats: crate::warnings::HeartbeatWatch::new(std::time::Duration::from_millis(cfg.heartbeat_ms)),
        };
        // A lone voter campaigns at once instead of waiting out an election
        // timeout. On a restart the membership mirror in the backend tells
        // how many members there were.
        let member_count = if known.is_empty() {
            backend.range(etcd_backend::Table::Members, b"", None, 0).map(|v| v.len()).unwrap_or(0)
        } else {
            known.len()
        };
        let single = member_count == 1;
        let (node, _join) = etcd_raft_node::start(
            NodeConfig {
                id: member_id,
                tick_ms: cfg.heartbeat_ms,
                election_ticks: cfg.election_ticks(),
                applied_index: snapshot_index,
                single_voter_fast_start: single,
            },
            booted.log,
            Box::new(events),
            apply_tx,
            etcd_raft_node::raft_logger(),
        )?;
        {
            let node = node.clone();
            transport.set_deliver(Arc::new(move |m| {
                let _ = node.send(Input::Step(m));
            }));
        }
        {
            let members = members.clone();
            let gone = Arc::new(std::sync::Once::new());
            transport.set_removal(
                Arc::new(move |id| members.is_removed(id)),
                Arc::new(move || gone.call_once(crate::apply::removed_self)),
            );
        }
        let (snapshot_tx, snapshot_requests) = std::sync::mpsc::channel();
        let (backup_tx, backup_requests) = std::sync::mpsc::channel();
        {
            let node = node.clone();
            transport.set_snapshots(
                Arc::new(move |m| {
                    let _ = snapshot_tx.send(m);
                }),
                Arc::new(move |to, ok| {
                    let _ = node.send(Input::ReportSnapshot { to, ok });
                }),
                cfg.snap_dir(),
            );
        }
        let wait = Arc::new(Wait::default());
        let watch_hub = crate::watch::start_hub(&kv, cfg.watch_progress_notify_interval_ms)?;
        let applier = Applier {
            snapshot_requests,
            backup_requests,
            snap_dir: cfg.snap_dir(),
            watch_hub: watch_hub.clone(),
            transport: transport.clone(),
            kv: kv.clone(),
            backend: backend.clone(),
            members: members.clone(),
            wait: wait.clone(),
            applied_tx,
            node: node.clone(),
            snapshot_count: cfg.snapshot_count,
            commit_interval: std::time::Duration::from_millis(cfg.backend_batch_interval_ms.max(1)),
            conf_state,
            applied_index: snapshot_index,
            snapshot_index,
            lease: crate::lease::lease_apply(&cfg, &lessor, member_id),
            v2: v2.clone(),
            auth: auth.clone(),
            alarm: crate::apply::alarm::AlarmApply { alarms: alarms.clone(), quota, nospace_tx },
        };
        let apply_thread = std::thread::Builder::new()
            .name("apply".into())
            .spawn(move || applier.run(apply_rx))?;
        let reads = ReadIndexer::new(member_id, node.clone(), cfg.request_timeout(), read_answers);
        let (ready_tx, _) = tokio::sync::watch::channel(false);
        let server = Arc::new(EtcdServer {
            ids: IdGenerator::new(member_id),
            cfg,
            member_id,
            members,
            kv,
            backend,
            node,
            wait,
            applied_rx,
            leader_rx,
            ready_tx,
            reads,
            transport,
            lead_elected,
            apply_thread: parking_lot::Mutex::new(Some(apply_thread)),
            lessor,
            watch_hub,
            v2,
            backup_tx,
            auth,
            alarms,
            quota,
        });
        let s = server.clone();
        tokio::spawn(async move { s.publish().await });
        crate::lease_loop::spawn(&server);
        crate::v2::spawn_sync(&server);
        crate::alarm::spawn_nospace_raiser(&server, nospace_rx);
        crate::compactor::spawn(&server, server.cfg.auto_compaction);
        crate::corrupt::spawn_monitor(&server, std::time::Duration::from_millis(server.cfg.corrupt_check_time_ms));
        Ok(server)
    }

    /// Publishes this member's name and client URLs through Raft, retrying
    /// until it succeeds; then the member is ready to serve.
    async fn publish(self: Arc<Self>) {
        let attr = MemberAttrUpdate {
            member_id: self.member_id,
            name: self.cfg.name.clone(),
            client_urls: self.cfg.advertise_client_urls.clone(),
        };
        loop {
            let mut leader = self.leader_rx.clone();
            let _ = leader.wait_for(|l| *l != 0).await;
            let req = InternalRaftRequest { member_attr: Some(attr.clone()), ..Default::default() };
            match self.propose(req).await {
                Ok(_) => break,
                Err(e) => tracing::warn!(target: "etcdserver", "failed to publish local member to cluster through raft ({e})"),
            }
        }
        tracing::info!(target: "etcdserver", "published {{Name:{} ClientURLs:[{}]}} to cluster {:x}",
            attr.name, attr.client_urls.join(" "), self.cluster_id());
        self.ready_tx.send_replace(true);
        tracing::info!(target: "etcdserver/api", "enabled capabilities for version 3.4");
    }

    /// Resolves once the member has published itself and can serve clients.
    pub async fn wait_ready(&self) {
        let mut rx = self.ready_tx.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    /// This member's id.
    pub fn member_id(&self) -> u64 {
        self.member_id
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> u64 {
        self.members.cluster_id()
    }

    /// Current Raft term.
    pub fn term(&self) -> u64 {
        self.node.status().term.load(Ordering::Relaxed)
    }

    /// Current leader (0 when none).
    pub fn leader(&self) -> u64 {
        *self.leader_rx.borrow()
    }

    /// The watch hub: every applied write's events, for the Watch service.
    pub fn watch_hub(&self) -> &Arc<etcd_mvcc::watch::WatchHub> {
        &self.watch_hub
    }

    /// The store's current revision.
    pub fn revision(&self) -> i64 {
        self.kv.current_revision()
    }

    /// A response header; `revision` 0 means the current revision.
    pub fn header(&self, revision: i64) -> ResponseHeader {
        ResponseHeader {
            cluster_id: self.cluster_id(),
            member_id: self.member_id,
            revision: if revision == 0 { self.kv.current_revision() } else { revision },
            raft_term: self.term(),
        }
    }

    fn fill(&self, h: &mut Option<ResponseHeader>) {
        let rev = h.as_ref().map(|h| h.revision).unwrap_or(0);
        *h = Some(self.header(rev));
    }

    /// Proposes `req` and waits for it to be applied.
    pub(crate) async fn propose(&self, mut req: InternalRaftRequest) -> Result<ApplyResponse, EtcdError> {
        self.check_quota(&req).await?;
        let id = self.ids.next();
        req.header = Some(self.request_header(id).await?);
        let data = req.encode_to_vec();
        if data.len() > self.cfg.max_request_bytes {
            return Err(EtcdError::RequestTooLarge);
        }
        let start = std::time::Instant::now();
        let rx = self.wait.register(id);
        if self.node.send(Input::Propose(data)).is_err() {
            self.wait.cancel(id);
            crate::metrics::metrics().proposals_failed.inc();
            return Err(EtcdError::Stopped);
        }
        match tokio::time::timeout(self.cfg.request_timeout(), rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => {
                crate::metrics::metrics().proposals_failed.inc();
                Err(EtcdError::Stopped)
            }
            Err(_) => {
                self.wait.cancel(id);
                crate::metrics::metrics().proposals_failed.inc();
                Err(self.timeout_error(start))
            }
        }
    }

    /// Which timeout a proposal that started at `start` gets (etcd's
    /// `parseProposeCtxErr`): blamed on a leader change when a new leader
    /// was elected soon after it started, a plain timeout otherwise.
    fn timeout_error(&self, start: std::time::Instant) -> EtcdError {
        let window = std::time::Duration::from_millis(2 * self.cfg.election_ms);
        if let Some(elected) = *self.lead_elected.lock() {
            if start < elected && start + window > elected {
                return EtcdError::TimeoutDueToLeaderFail;
            }
        }
        EtcdError::Timeout
    }

    /// Waits until this member has applied everything committed before the
    /// call (ReadIndex), so a following local read is linearizable.
    pub async fn linearizable_barrier(&self) -> Result<(), EtcdError> {
        let index = self.reads.read_index().await?;
        let mut applied = self.applied_rx.clone();
        let reached = tokio::time::timeout(self.cfg.request_timeout(), async {
            applied.wait_for(|a| *a >= index).await.map(|_| ())
        })
        .await;
        match reached {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(EtcdError::Stopped),
            Err(_) => Err(EtcdError::TimeoutWaitAppliedIndex),
        }
    }

    /// Range (linearizable unless `serializable`).
    pub async fn range(&self, req: RangeRequest) -> Result<RangeResponse, EtcdError> {
        validate::range(&req)?;
        if !req.serializable {
            self.linearizable_barrier().await?;
        }
        let caller = self.check_read(&req.key, &req.range_end).await?;
        let mut resp = self.kv.range(&req).map_err(crate::apply::mvcc_error)?;
        self.check_read_after(&caller)?;
        self.fill(&mut resp.header);
        Ok(resp)
    }

    /// Put.
    pub async fn put(&self, req: PutRequest) -> Result<PutResponse, EtcdError> {
        validate::put(&req)?;
        match self.propose(InternalRaftRequest { put: Some(req), ..Default::default() }).await? {
            ApplyResponse::Put(mut r) => {
                self.fill(&mut r.header);
                Ok(r)
            }
            other => unexpected(other),
        }
    }

    /// DeleteRange.
    pub async fn delete_range(&self, req: DeleteRangeRequest) -> Result<DeleteRangeResponse, EtcdError> {
        validate::delete_range(&req)?;
        match self.propose(InternalRaftRequest { delete_range: Some(req), ..Default::default() }).await? {
            ApplyResponse::DeleteRange(mut r) => {
                self.fill(&mut r.header);
                Ok(r)
            }
            other => unexpected(other),
        }
    }

    /// Txn, proposed through Raft like every request that may write.
    pub async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, EtcdError> {
        validate::txn(&req, self.cfg.max_txn_ops)?;
        if etcd_proto::txn_is_read_only(&req) {
            // Like etcd: ranges only, so served here after the same
            // barrier as a Range (none when every range is serializable).
            if !etcd_proto::txn_is_serializable(&req) {
                self.linearizable_barrier().await?;
            }
            let caller = self.check_txn_read(&req).await?;
            let mut resp = self.kv.txn_read_only(&req).map_err(crate::apply::mvcc_error)?;
            self.check_read_after(&caller)?;
            self.fill(&mut resp.header);
            return Ok(resp);
        }
        match self.propose(InternalRaftRequest { txn: Some(req), ..Default::default() }).await? {
            ApplyResponse::Txn(mut r) => {
                self.fill(&mut r.header);
                Ok(r)
            }
            other => unexpected(other),
        }
    }

    /// Compact.
    pub async fn compact(&self, req: CompactionRequest) -> Result<CompactionResponse, EtcdError> {
        match self.propose(InternalRaftRequest { compaction: Some(req), ..Default::default() }).await? {
            ApplyResponse::Compaction(mut r) => {
                self.fill(&mut r.header);
                Ok(r)
            }
            other => unexpected(other),
        }
    }

    /// Maintenance.Status.
    pub fn status(&self) -> StatusResponse {
        let st = self.node.status();
        StatusResponse {
            header: Some(self.header(0)),
            version: ETCD_VERSION.to_string(),
            db_size: self.backend.size_bytes(),
            leader: self.leader(),
            raft_index: st.commit.load(Ordering::Relaxed),
            raft_term: self.term(),
            raft_applied_index: *self.applied_rx.borrow(),
            errors: self.status_errors(),
            db_size_in_use: self.backend.size_in_use_bytes(),
            is_learner: self.members.get(self.member_id).map(|m| m.is_learner).unwrap_or(false),
        }
    }

    /// Maintenance.HashKV: a hash of the key space up to `revision` (0: the
    /// newest), equal on members that applied the same log.
    pub fn hash_kv(&self, revision: i64) -> Result<etcd_proto::etcdserverpb::HashKvResponse, EtcdError> {
        // 0 hashes at the current revision, even when it is the compacted one.
        let (hash, compact_revision) = self.kv.hash_kv(revision).map_err(crate::apply::mvcc_error)?;
        Ok(etcd_proto::etcdserverpb::HashKvResponse {
            // etcd answers with the current revision, whatever was asked.
            header: Some(self.header(0)),
            hash,
            compact_revision,
        })
    }

    async fn configure(&self, mut cc: ConfChange) -> Result<Vec<Member>, EtcdError> {
        let id = self.ids.next();
        cc.id = id;
        let rx = self.wait.register(id);
        if self.node.send(Input::ProposeConfChange(cc)).is_err() {
            self.wait.cancel(id);
            return Err(EtcdError::Stopped);
        }
        match tokio::time::timeout(self.cfg.request_timeout(), rx).await {
            Ok(Ok(Ok(ApplyResponse::Members(m)))) => Ok(m),
            Ok(Ok(Ok(other))) => unexpected(other),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(EtcdError::Stopped),
            Err(_) => {
                self.wait.cancel(id);
                Err(EtcdError::Timeout)
            }
        }
    }

    async fn propose_members(&self, req: InternalRaftRequest) -> Result<Vec<Member>, EtcdError> {
        match self.propose(req).await? {
            ApplyResponse::Members(m) => Ok(m),
            other => unexpected(other),
        }
    }

    /// Cluster.MemberAdd: a voter or a learner with these peer URLs.
    pub async fn member_add(&self, peer_urls: Vec<String>, is_learner: bool) -> Result<(Member, Vec<Member>), EtcdError> {
        self.check_admin().await?;
        validate_peer_urls(&peer_urls)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut m = Member::new_at(&peer_urls, now);
        m.is_learner = is_learner;
        // etcd checks connectivity for learners too.
        self.may_add_member(is_learner)?;
        let mut cc = ConfChange::default();
        cc.set_change_type(if is_learner { ConfChangeType::AddLearnerNode } else { ConfChangeType::AddNode });
        cc.node_id = m.id;
        cc.context = serde_json::to_vec(&ConfChangeContext { member: m.clone(), is_promote: false })
            .expect("context serialises")
            .into();
        let members = self.configure(cc).await?;
        Ok((m, members))
    }

    /// Cluster.MemberRemove.
    pub async fn member_remove(&self, id: u64) -> Result<Vec<Member>, EtcdError> {
        self.check_admin().await?;
        let list = self.members.list();
        let Some(target) = list.iter().find(|m| m.id == id) else {
            return Err(EtcdError::MemberNotFound);
        };
        self.may_remove_member(&list, target)?;
        let mut cc = ConfChange::default();
        cc.set_change_type(ConfChangeType::RemoveNode);
        cc.node_id = id;
        self.configure(cc).await
    }

    /// Cluster.MemberUpdate: new peer URLs.
    pub async fn member_update(&self, id: u64, peer_urls: Vec<String>) -> Result<Vec<Member>, EtcdError> {
        self.check_admin().await?;
        validate_peer_urls(&peer_urls)?;
        let upd = MemberRaftAttrUpdate { member_id: id, peer_urls };
        self.propose_members(InternalRaftRequest { member_raft_attr: Some(upd), ..Default::default() }).await
    }

    /// Cluster.MemberPromote; only the leader can judge whether the learner
    /// has caught up (the API layer forwards to it).
    pub async fn member_promote(&self, id: u64) -> Result<Vec<Member>, EtcdError> {
        self.check_admin().await?;
        if !self.is_leader() {
            return Err(EtcdError::NotLeader);
        }
        let list = self.members.list();
        let target = list.iter().find(|m| m.id == id).ok_or(EtcdError::MemberNotFound)?;
        if !target.is_learner {
            return Err(EtcdError::MemberNotLearner);
        }
        let progress = self.progress();
        let matched = |m: u64| progress.iter().find(|(p, _)| *p == m).map(|(_, i)| *i);
        if let (Some(learner), Some(leader)) = (matched(id), matched(self.member_id)) {
            if (learner as f64) < (leader as f64) * reconfig::LEARNER_READY_PERCENT {
                return Err(EtcdError::LearnerNotReady);
            }
        }
        self.may_promote_member(&list)?;
        let mut cc = ConfChange::default();
        cc.set_change_type(ConfChangeType::AddNode);
        cc.node_id = id;
        let ctx = ConfChangeContext { member: target.clone(), is_promote: true };
        cc.context = serde_json::to_vec(&ctx).expect("context serialises").into();
        self.configure(cc).await
    }

    /// Maintenance.MoveLeader: hand leadership to `target` and wait for it.
    pub async fn move_leader(&self, target: u64) -> Result<(), EtcdError> {
        if !self.is_leader() {
            return Err(EtcdError::NotLeader);
        }
        match self.members.get(target) {
            Some(m) if !m.is_learner => {}
            _ => return Err(EtcdError::BadLeaderTransferee),
        }
        if target == self.member_id {
            return Ok(());
        }
        let _ = self.node.send(Input::TransferLeader(target));
        let mut leader = self.leader_rx.clone();
        let moved = tokio::time::timeout(self.cfg.request_timeout(), async {
            leader.wait_for(|l| *l == target).await.map(|_| ())
        })
        .await;
        match moved {
            Ok(Ok(())) => Ok(()),
            _ => Err(EtcdError::TimeoutLeaderTransfer),
        }
    }

    /// True when this member leads.
    pub fn is_leader(&self) -> bool {
        self.leader() == self.member_id
    }

    /// A member by id.
    pub fn member(&self, id: u64) -> Option<Member> {
        self.members.get(id)
    }

    /// Each peer's matched index, from the leader's Raft progress.
    fn progress(&self) -> Vec<(u64, u64)> {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.node.send(Input::Progress(tx)).is_err() {
            return vec![];
        }
        rx.recv_timeout(std::time::Duration::from_secs(1)).unwrap_or_default()
    }

    /// Cluster.MemberList.
    pub fn member_list(&self) -> MemberListResponse {
        // etcd's cluster service answers without a revision.
        MemberListResponse {
            header: Some(ResponseHeader { revision: 0, ..self.header(0) }),
            members: self.members.list().iter().map(|m| m.to_proto()).collect(),
        }
    }

    /// The peer transport (connectivity and v2 append stats).
    pub fn transport(&self) -> &Arc<etcd_transport::Transport> {
        &self.transport
    }

    /// The routes served on the peer URLs: Raft streams and `/version`.
    pub fn peer_router(&self) -> axum::Router {
        let version = format!(
            "{{\"etcdserver\":\"{ETCD_VERSION}\",\"etcdcluster\":\"{CLUSTER_VERSION}\"}}"
        );
        let members = self.members.clone();
        self.transport
            .router()
            .merge(crate::corrupt::peer_route(self.kv.clone(), self.members.clone(), self.member_id))
            .route("/version", axum::routing::get(move || async move { version }))
            .route(
                "/members",
                axum::routing::get(move || async move {
                    let body = serde_json::to_string(&members.list()).unwrap_or_default();
                    let cid = format!("{:x}", members.cluster_id());
                    ([("content-type", "application/json".to_string()), ("X-Etcd-Cluster-ID", cid)], body)
                }),
            )
    }

    /// Number of proposals waiting to be applied.
    pub fn pending_proposals(&self) -> usize {
        self.wait.len()
    }

    /// Stops the Raft thread, then waits (bounded) for the applier to apply
    /// what it was given and commit the backend, so a restart replays nothing.
    pub async fn stop(&self) {
        let _ = self.node.send(Input::Stop);
        let Some(handle) = self.apply_thread.lock().take() else { return };
        let joined = tokio::task::spawn_blocking(move || handle.join());
        if tokio::time::timeout(std::time::Duration::from_secs(5), joined).await.is_err() {
            tracing::warn!(target: "etcdserver", "the applier did not stop within 5s");
        }
    }
}

/// etcd's `types.NewURLs` rules for peer URLs: http(s)://host:port, no path.
fn validate_peer_urls(urls: &[String]) -> Result<(), EtcdError> {
    if urls.is_empty() {
        return Err(EtcdError::MemberBadUrls);
    }
    for u in urls {
        let rest = u
            .strip_prefix("http://")
            .or_else(|| u.strip_prefix("https://"))
            .ok_or(EtcdError::MemberBadUrls)?;
        let (host, port) = rest.rsplit_once(':').ok_or(EtcdError::MemberBadUrls)?;
        if host.is_empty() || port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) || rest.contains('/') {
            return Err(EtcdError::MemberBadUrls);
        }
    }
    Ok(())
}

fn unexpected<T>(r: ApplyResponse) -> Result<T, EtcdError> {
    tracing::error!(target: "etcdserver", "unexpected apply response {r:?}");
    Err(EtcdError::Stopped)
}
