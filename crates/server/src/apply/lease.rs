//! Applying lease requests: LeaseGrant, LeaseRevoke, LeaseCheckpoint (etcd's
//! `applierV3backend.Lease*`), and the lessor's side of applying KV writes.
//!
//! Contract:
//! - The lessor changes only replicated state here; what it returns is
//!   written to the backend in the same batch as the entry's consistent
//!   index, so a lease and its entry become durable together.
//! - Revoke deletes the lease's keys (sorted, so every member deletes them in
//!   the same order) in ONE KV transaction, i.e. one revision, and removes the
//!   lease record in the same backend batch (etcd: same backend txn).
//! - Promotion happens when the leader applies the empty entry of its term:
//!   by then it has applied everything of earlier terms (etcd does the same).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use etcd_backend::{Backend, Table};
use etcd_lease::{LeaseError, LeaseRecord, Lessor};
use etcd_mvcc::KvStore;
use etcd_proto::etcdserverpb::{
    request_op, DeleteRangeRequest, InternalRaftRequest, LeaseCheckpointResponse,
    LeaseGrantResponse, LeaseRevokeResponse, RequestOp, ResponseHeader, TxnRequest,
};
use etcd_proto::EtcdError;

use super::{fatal, kv, Applier, ApplyResponse, ApplyResult};

/// What the applier needs for leases.
pub(crate) struct LeaseApply {
    /// The lessor shared with the server and its lease loop.
    pub(crate) lessor: Arc<Lessor>,
    /// This member, to know when the local node leads.
    pub(crate) member_id: u64,
    /// How much longer than their TTL leases live after a promotion (etcd:
    /// one election timeout, so clients have time to find the new leader).
    pub(crate) promote_extend: Duration,
}

/// The lessor's client-visible errors.
pub(crate) fn lease_error(e: LeaseError) -> EtcdError {
    match e {
        LeaseError::NotFound | LeaseError::Expired => EtcdError::LeaseNotFound,
        LeaseError::Exists => EtcdError::LeaseExist,
        LeaseError::TtlTooLarge => EtcdError::LeaseTtlTooLarge,
        LeaseError::NotPrimary => EtcdError::NotLeader,
        _ => EtcdError::LeaseNotFound,
    }
}

/// Loads the persisted leases and re-attaches the keys the KV store holds
/// for them. The lessor starts non-primary.
pub(crate) fn restore(
    lessor: &Lessor,
    backend: &Backend,
    kv: &KvStore,
) -> Result<(), crate::ServerError> {
    let rows = backend.range(Table::Lease, &[], None, 0)?;
    let records = rows.iter().map(|(k, v)| match LeaseRecord::from_bytes(v) {
        Some(r) if etcd_lease::lease_id_from_key(k) == Some(r.id) => r,
        _ => fatal(&format!("corrupt lease record under key {k:02x?}")),
    });
    let orphans = lessor.restore(records.collect::<Vec<_>>(), kv.leased_keys()?);
    for (id, key) in orphans {
        tracing::error!(target: "mvcc", "failed to attach a lease: key {:?} lease {id:x} not found",
            String::from_utf8_lossy(&key));
    }
    Ok(())
}

/// Whether `req` is a lease request.
pub(super) fn handles(req: &InternalRaftRequest) -> bool {
    req.lease_grant.is_some() || req.lease_revoke.is_some() || req.lease_checkpoint.is_some()
}

/// Applies a lease request (see [`handles`]).
pub(super) fn apply(a: &mut Applier, index: u64, req: &InternalRaftRequest) -> ApplyResult {
    let result = if let Some(r) = &req.lease_grant {
        grant(a, r.id, r.ttl)
    } else if let Some(r) = &req.lease_revoke {
        return revoke(a, index, r.id);
    } else if let Some(r) = &req.lease_checkpoint {
        for cp in &r.checkpoints {
            if let Some(record) = a.lease.lessor.checkpoint(cp.id, cp.remaining_ttl) {
                a.backend
                    .put(Table::Lease, &record.key(), &record.to_bytes());
            }
        }
        Ok(ApplyResponse::LeaseCheckpoint(LeaseCheckpointResponse {
            header: Some(header(&a.kv)),
        }))
    } else {
        unreachable!("lease::apply called for a non-lease request")
    };
    a.kv.set_consistent_index(index);
    result
}

fn header(kv: &KvStore) -> ResponseHeader {
    ResponseHeader {
        revision: kv.current_revision(),
        ..Default::default()
    }
}

fn grant(a: &Applier, id: i64, ttl_s: i64) -> ApplyResult {
    let record = a.lease.lessor.grant(id, ttl_s).map_err(lease_error)?;
    a.backend
        .put(Table::Lease, &record.key(), &record.to_bytes());
    Ok(ApplyResponse::LeaseGrant(LeaseGrantResponse {
        header: Some(header(&a.kv)),
        id: record.id,
        ttl: record.ttl_s,
        error: String::new(),
    }))
}

fn revoke(a: &mut Applier, index: u64, id: i64) -> ApplyResult {
    let keys = match a.lease.lessor.revoke(id) {
        Ok(keys) => keys,
        Err(e) => {
            a.kv.set_consistent_index(index);
            return Err(lease_error(e));
        }
    };
    if keys.is_empty() {
        a.kv.set_consistent_index(index);
    } else {
        let deletes = TxnRequest {
            success: keys
                .into_iter()
                .map(|key| RequestOp {
                    request: Some(request_op::Request::RequestDeleteRange(
                        DeleteRangeRequest {
                            key,
                            ..Default::default()
                        },
                    )),
                })
                .collect(),
            ..Default::default()
        };
        // The lease is already gone, so the deletes' detach is a no-op.
        match a.kv.txn(&deletes, index, &|_| false) {
            Ok((_, events)) => kv::after_write(a, &events),
            Err(e) => fatal(&format!(
                "revoking lease {id:x}: deleting its keys failed: {e}"
            )),
        }
    }
    a.backend.delete(Table::Lease, &etcd_lease::lease_key(id));
    Ok(ApplyResponse::LeaseRevoke(LeaseRevokeResponse {
        header: Some(header(&a.kv)),
    }))
}

/// Called for the empty entry a new leader appends: promote the lessor if
/// this member leads.
pub(super) fn on_empty_entry(a: &Applier) {
    if a.node.status().leader.load(Ordering::Relaxed) == a.lease.member_id {
        a.lease.lessor.promote(a.lease.promote_extend);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_backend::BackendConfig;
    use etcd_lease::{LessorConfig, ManualClock};
    use etcd_proto::etcdserverpb::PutRequest;

    #[test]
    fn restore_reads_lease_table_and_leased_keys_from_the_backend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let backend = Arc::new(Backend::open(&path, BackendConfig::default()).unwrap());
            let kv = KvStore::open(backend.clone()).unwrap();
            for r in [
                LeaseRecord { id: 7, ttl_s: 60, remaining_ttl_s: 0 },
                LeaseRecord { id: 9, ttl_s: 600, remaining_ttl_s: 42 },
            ] {
                backend.put(Table::Lease, &r.key(), &r.to_bytes());
            }
            let put = |key: &[u8], lease, index| {
                let req = PutRequest { key: key.to_vec(), value: b"v".to_vec(), lease, ..Default::default() };
                kv.put(&req, index, &|_| true).unwrap();
            };
            put(b"a", 7, 1);
            put(b"b", 9, 2);
            put(b"c", 0, 3);
            backend.commit().unwrap();
        }
        let backend = Arc::new(Backend::open(&path, BackendConfig::default()).unwrap());
        let kv = KvStore::open(backend.clone()).unwrap();
        let lessor = Lessor::new(LessorConfig::default(), Arc::new(ManualClock::new()));
        restore(&lessor, &backend, &kv).unwrap();
        assert_eq!(lessor.len(), 2);
        assert!(!lessor.is_primary());
        assert_eq!(lessor.lease_of(b"a"), 7);
        assert_eq!(lessor.lease_of(b"b"), 9);
        assert_eq!(lessor.lease_of(b"c"), 0);
        assert_eq!(lessor.record(9).unwrap().remaining_ttl_s, 42);
        lessor.promote(Duration::ZERO);
        assert_eq!(lessor.time_to_live(9, true).unwrap().remaining_s, 42);
    }
}
