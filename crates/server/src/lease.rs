//! The server's lease calls (etcd's `v3_server.go` Lease*): grant and revoke
//! go through Raft like every write; renew and time-to-live are answered by
//! the leader's lessor, which alone knows expiries; the lease list is local.
//!
//! Lease ids of 0 are replaced before proposing, so every member grants the
//! same id: the request id generator's next value with the sign bit cleared
//! (etcd's `reqIDGen.Next() & (1<<63 - 1)`).
//!
//! Not built yet: a follower forwards renew / time-to-live to the leader over
//! the peer transport in etcd; here a follower answers `NotLeader` (or
//! `NoLeader` without one).

use std::sync::Arc;
use std::time::Duration;

use etcd_backend::Backend;
use etcd_lease::{
    min_lease_ttl_s, LeaseError, Lessor, LessorConfig, SystemClock, DEFAULT_CHECKPOINT_INTERVAL,
};
use etcd_mvcc::KvStore;
use etcd_proto::etcdserverpb::{
    InternalRaftRequest, LeaseCheckpoint, LeaseCheckpointRequest, LeaseGrantRequest,
    LeaseGrantResponse, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseStatus,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, ResponseHeader,
};
use etcd_proto::EtcdError;

use crate::apply::{lease_error, restore_lessor, ApplyResponse, LeaseApply};
use crate::config::ServerConfig;
use crate::{EtcdServer, ServerError};

/// How long a leader waits for its applied index to reach its commit index
/// before answering a renew or time-to-live (etcd's `applyTimeout`).
const APPLY_WAIT: Duration = Duration::from_secs(1);

/// The lessor for `cfg`, restored from the backend (non-primary).
pub(crate) fn open_lessor(
    cfg: &ServerConfig,
    backend: &Backend,
    kv: &KvStore,
) -> Result<Arc<Lessor>, ServerError> {
    let lessor = Lessor::new(
        LessorConfig {
            min_ttl_s: min_lease_ttl_s(cfg.election_ticks() as u64, cfg.heartbeat_ms),
            checkpoint_interval: cfg.lease_checkpoint.then_some(DEFAULT_CHECKPOINT_INTERVAL),
            checkpoint_persist: cfg.lease_checkpoint_persist,
            ..Default::default()
        },
        Arc::new(SystemClock),
    );
    restore_lessor(&lessor, backend, kv)?;
    Ok(Arc::new(lessor))
}

/// The applier's lease settings.
pub(crate) fn lease_apply(cfg: &ServerConfig, lessor: &Arc<Lessor>, member_id: u64) -> LeaseApply {
    LeaseApply {
        lessor: lessor.clone(),
        member_id,
        promote_extend: Duration::from_millis(cfg.election_ms),
    }
}

impl EtcdServer {
    /// The lessor.
    pub fn lessor(&self) -> &Arc<Lessor> {
        &self.lessor
    }

    fn lease_header(&self, h: Option<ResponseHeader>) -> Option<ResponseHeader> {
        Some(self.header(h.map_or(0, |h| h.revision)))
    }

    fn not_leader(&self) -> EtcdError {
        if self.leader() == 0 {
            EtcdError::NoLeader
        } else {
            EtcdError::NotLeader
        }
    }

    /// LeaseGrant: id 0 gets a generated id; the TTL is raised to the minimum.
    pub async fn lease_grant(
        &self,
        mut req: LeaseGrantRequest,
    ) -> Result<LeaseGrantResponse, EtcdError> {
        while req.id == 0 {
            req.id = (self.ids.next() & (i64::MAX as u64)) as i64;
        }
        if req.ttl > etcd_lease::MAX_LEASE_TTL_S {
            // Checked again when applied; failing early saves a proposal.
            return Err(EtcdError::LeaseTtlTooLarge);
        }
        match self
            .propose(InternalRaftRequest {
                lease_grant: Some(req),
                ..Default::default()
            })
            .await?
        {
            ApplyResponse::LeaseGrant(mut r) => {
                r.header = self.lease_header(r.header);
                Ok(r)
            }
            other => unexpected(other),
        }
    }

    /// LeaseRevoke: deletes the lease and its keys in one revision.
    pub async fn lease_revoke(
        &self,
        req: LeaseRevokeRequest,
    ) -> Result<LeaseRevokeResponse, EtcdError> {
        match self
            .propose(InternalRaftRequest {
                lease_revoke: Some(req),
                ..Default::default()
            })
            .await?
        {
            ApplyResponse::LeaseRevoke(mut r) => {
                r.header = self.lease_header(r.header);
                Ok(r)
            }
            other => unexpected(other),
        }
    }

    /// Proposes checkpoints of remaining TTLs (the leader's lease loop).
    pub(crate) async fn lease_checkpoint(
        &self,
        checkpoints: Vec<LeaseCheckpoint>,
    ) -> Result<(), EtcdError> {
        let req = LeaseCheckpointRequest { checkpoints };
        self.propose(InternalRaftRequest {
            lease_checkpoint: Some(req),
            ..Default::default()
        })
        .await
        .map(|_| ())
    }

    /// LeaseKeepAlive's renew of one lease: its TTL. `LeaseNotFound` for an
    /// unknown lease or one that expired (after its revoke applied).
    pub async fn lease_renew(&self, id: i64) -> Result<i64, EtcdError> {
        self.wait_primary().await?;
        match self.lessor.renew(id) {
            Ok(r) => {
                if r.clear_checkpoint {
                    // The next leader must not resurrect the old remaining TTL.
                    let cp = vec![LeaseCheckpoint {
                        id,
                        remaining_ttl: 0,
                    }];
                    if let Err(e) = self.lease_checkpoint(cp).await {
                        tracing::warn!(target: "lease", "failed to clear the checkpoint of lease {id:x} ({e})");
                    }
                }
                Ok(r.ttl_s)
            }
            Err(LeaseError::Expired) => self.wait_revoked(id).await,
            Err(LeaseError::NotPrimary) => Err(self.not_leader()),
            Err(e) => Err(lease_error(e)),
        }
    }

    /// An expired lease is being revoked: answer once the revoke applied.
    async fn wait_revoked(&self, id: i64) -> Result<i64, EtcdError> {
        let mut applied = self.applied_rx.clone();
        let waited = tokio::time::timeout(self.config().request_timeout(), async {
            loop {
                applied.borrow_and_update();
                if !self.lessor.exists(id) {
                    return Err(EtcdError::LeaseNotFound);
                }
                if !self.lessor.is_primary() {
                    return Err(self.not_leader());
                }
                if applied.changed().await.is_err() {
                    return Err(EtcdError::Stopped);
                }
            }
        })
        .await;
        waited.unwrap_or(Err(EtcdError::Timeout))
    }

    /// On the leader: waits until everything committed is applied (etcd's
    /// `waitAppliedIndex`) and the lessor is primary (a new leader promotes
    /// it when it applies the first entry of its term). `NotLeader` /
    /// `NoLeader` elsewhere.
    async fn wait_primary(&self) -> Result<(), EtcdError> {
        if self.leader() != self.member_id() {
            return Err(self.not_leader());
        }
        self.wait_applied_index().await?;
        let mut applied = self.applied_rx.clone();
        let promoted = tokio::time::timeout(self.config().request_timeout(), async {
            loop {
                applied.borrow_and_update();
                if self.lessor.is_primary() {
                    return Ok(());
                }
                if self.leader() != self.member_id() {
                    return Err(self.not_leader());
                }
                if applied.changed().await.is_err() {
                    return Err(EtcdError::Stopped);
                }
            }
        })
        .await;
        promoted.unwrap_or(Err(EtcdError::Timeout))
    }

    /// Waits until everything committed is applied (etcd's `waitAppliedIndex`).
    async fn wait_applied_index(&self) -> Result<(), EtcdError> {
        let commit = self
            .node
            .status()
            .commit
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut applied = self.applied_rx.clone();
        let reached = tokio::time::timeout(APPLY_WAIT, async {
            applied.wait_for(|a| *a >= commit).await.map(|_| ())
        })
        .await;
        match reached {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(EtcdError::Stopped),
            Err(_) => Err(EtcdError::TimeoutWaitAppliedIndex),
        }
    }

    /// LeaseTimeToLive, answered by the leader. An unknown lease answers
    /// TTL -1 (not an error), as etcd's gRPC layer does.
    pub async fn lease_time_to_live(
        &self,
        req: LeaseTimeToLiveRequest,
    ) -> Result<LeaseTimeToLiveResponse, EtcdError> {
        self.wait_primary().await?;
        let header = Some(self.header(0));
        Ok(match self.lessor.time_to_live(req.id, req.keys) {
            Some(t) => LeaseTimeToLiveResponse {
                header,
                id: req.id,
                ttl: t.remaining_s,
                granted_ttl: t.granted_ttl_s,
                keys: t.keys,
            },
            None => LeaseTimeToLiveResponse {
                header,
                id: req.id,
                ttl: -1,
                ..Default::default()
            },
        })
    }

    /// LeaseLeases: every granted lease, soonest expiry first (local state).
    pub fn lease_leases(&self) -> LeaseLeasesResponse {
        LeaseLeasesResponse {
            header: Some(self.header(0)),
            leases: self
                .lessor
                .leases()
                .into_iter()
                .map(|id| LeaseStatus { id })
                .collect(),
        }
    }
}

fn unexpected<T>(r: ApplyResponse) -> Result<T, EtcdError> {
    tracing::error!(target: "etcdserver", "unexpected apply response to a lease request {r:?}");
    Err(EtcdError::Stopped)
}
