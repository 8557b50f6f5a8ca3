//! The leader's lease loop (etcd's `lessor.runLoop` plus the server's
//! handling of expired leases): every 500 ms
//! 1. demote the lessor if this member no longer leads (promotion happens in
//!    apply, at the new leader's empty entry);
//! 2. hand up to `LEASE_REVOKE_RATE_PER_S / 2` expired leases to the revoker,
//!    which proposes a `LeaseRevoke` for each, at most `MAX_PENDING_REVOKES`
//!    in flight; if the revoker is still busy the batch is dropped and the
//!    leases come back after the lessor's retry interval;
//! 3. propose due checkpoints, `MAX_LEASE_CHECKPOINT_BATCH` per entry, at
//!    most `LEASE_CHECKPOINT_RATE_PER_S / 2` entries per round.
//!
//! Expiry is thus decided only by the leader and carried out through Raft;
//! apply never looks at a clock. The loop ends when the server is dropped.

use std::sync::{Arc, Weak};

use etcd_lease::{
    LEASE_CHECKPOINT_RATE_PER_S, LEASE_LOOP_INTERVAL, LEASE_REVOKE_RATE_PER_S,
    MAX_LEASE_CHECKPOINT_BATCH, MAX_PENDING_REVOKES,
};
use etcd_proto::etcdserverpb::{LeaseCheckpoint, LeaseRevokeRequest};
use etcd_proto::EtcdError;
use tokio::sync::{mpsc, Semaphore};

use crate::EtcdServer;

/// Starts the loop and the revoker for `server`.
pub(crate) fn spawn(server: &Arc<EtcdServer>) {
    let (batches_tx, batches_rx) = mpsc::channel::<Vec<i64>>(1);
    tokio::spawn(revoker(Arc::downgrade(server), batches_rx));
    let weak = Arc::downgrade(server);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(LEASE_LOOP_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(s) = weak.upgrade() else { return };
            round(&s, &batches_tx).await;
        }
    });
}

async fn round(s: &EtcdServer, batches: &mpsc::Sender<Vec<i64>>) {
    let lessor = s.lessor();
    if lessor.is_primary() && s.leader() != s.member_id() {
        lessor.demote();
    }
    if !lessor.is_primary() {
        return;
    }
    let expired = lessor.expired_leases(LEASE_REVOKE_RATE_PER_S / 2);
    if !expired.is_empty() {
        // Busy revoker: drop; the leases are reported again later.
        let _ = batches.try_send(expired);
    }
    for _ in 0..LEASE_CHECKPOINT_RATE_PER_S / 2 {
        let due = lessor.due_checkpoints(MAX_LEASE_CHECKPOINT_BATCH);
        let full = due.len() == MAX_LEASE_CHECKPOINT_BATCH;
        if due.is_empty() {
            break;
        }
        let cps = due
            .into_iter()
            .map(|(id, remaining_ttl)| LeaseCheckpoint { id, remaining_ttl })
            .collect();
        if let Err(e) = s.lease_checkpoint(cps).await {
            tracing::warn!(target: "lease", "failed to checkpoint leases ({e})");
            break;
        }
        if !full {
            break;
        }
    }
}

/// Proposes one revoke per expired lease, `MAX_PENDING_REVOKES` at a time.
async fn revoker(server: Weak<EtcdServer>, mut batches: mpsc::Receiver<Vec<i64>>) {
    let pending = Arc::new(Semaphore::new(MAX_PENDING_REVOKES));
    while let Some(batch) = batches.recv().await {
        for id in batch {
            let Ok(permit) = pending.clone().acquire_owned().await else {
                return;
            };
            let Some(s) = server.upgrade() else { return };
            tokio::spawn(async move {
                match s.lease_revoke(LeaseRevokeRequest { id }).await {
                    Ok(_) | Err(EtcdError::LeaseNotFound) => {}
                    Err(e) => {
                        tracing::warn!(target: "etcdserver", "failed to revoke lease {id:x} ({e})")
                    }
                }
                drop(permit);
            });
        }
    }
}
