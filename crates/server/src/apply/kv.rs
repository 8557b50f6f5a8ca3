//! Applying v3 KV requests: put, delete-range, txn, compaction (and a range
//! when one is proposed). Validation that needs no state (sizes, op counts,
//! duplicate keys) happened before proposing; what depends on state (leases,
//! revisions) is decided here, identically on every member.

use etcd_mvcc::MvccError;
use etcd_proto::etcdserverpb::{CompactionResponse, InternalRaftRequest, ResponseHeader};
use etcd_proto::EtcdError;

use super::{fatal, ApplyResponse, ApplyResult, Applier};

/// Leases arrive with the lessor; until then none exists.
fn lease_exists(_id: i64) -> bool {
    false
}

/// Maps a store error to the client-visible one; storage faults stop the member.
pub fn mvcc_error(e: MvccError) -> EtcdError {
    match e {
        MvccError::Compacted => EtcdError::Compacted,
        MvccError::FutureRev => EtcdError::FutureRev,
        MvccError::KeyNotFound => EtcdError::KeyNotFound,
        MvccError::LeaseNotFound => EtcdError::LeaseNotFound,
        MvccError::TooManyOps => EtcdError::TooManyOps,
        MvccError::DuplicateKey => EtcdError::DuplicateKey,
        MvccError::EmptyKey => EtcdError::EmptyKey,
        MvccError::ValueProvided => EtcdError::ValueProvided,
        MvccError::LeaseProvided => EtcdError::LeaseProvided,
        other => fatal(&format!("mvcc: {other}")),
    }
}

pub(super) fn apply(a: &mut Applier, index: u64, req: &InternalRaftRequest) -> ApplyResult {
    let kv = &a.kv;
    let result = if let Some(r) = &req.put {
        kv.put(r, index, &lease_exists).map(|(resp, _events)| ApplyResponse::Put(resp))
    } else if let Some(r) = &req.delete_range {
        kv.delete_range(r, index).map(|(resp, _events)| ApplyResponse::DeleteRange(resp))
    } else if let Some(r) = &req.txn {
        kv.txn(r, index, &lease_exists).map(|(resp, _events)| ApplyResponse::Txn(resp))
    } else if let Some(r) = &req.compaction {
        kv.compact(r.revision, index).map(|()| {
            ApplyResponse::Compaction(CompactionResponse {
                header: Some(ResponseHeader { revision: kv.current_revision(), ..Default::default() }),
            })
        })
    } else if let Some(r) = &req.range {
        let resp = kv.range(r);
        kv.set_consistent_index(index);
        resp.map(ApplyResponse::Range)
    } else {
        // Requests of later features (leases, auth, alarms, v2) are not
        // proposed yet; an unknown one still advances the applied index.
        kv.set_consistent_index(index);
        Ok(ApplyResponse::Empty)
    };
    match result {
        Ok(r) => Ok(r),
        Err(e) => {
            // A failed request changed nothing, but its index is applied.
            kv.set_consistent_index(index);
            Err(mvcc_error(e))
        }
    }
}
