//! Applying v3 KV requests: put, delete-range, txn, compaction (and a range
//! when one is proposed). Validation that needs no state (sizes, op counts,
//! duplicate keys) happened before proposing; what depends on state (leases,
//! revisions) is decided here, identically on every member.

use etcd_mvcc::MvccError;
use etcd_proto::etcdserverpb::{CompactionResponse, InternalRaftRequest, ResponseHeader};
use etcd_proto::mvccpb::{event::EventType, Event};
use etcd_proto::EtcdError;

use super::{fatal, ApplyResponse, ApplyResult, Applier};

/// What every applied KV write does with the events it produced: hand them
/// to the watch hub (never blocks on a client), and keep the
/// lessor's key attachments in step (a put attaches the key to its lease and
/// detaches it from the previous one; a delete detaches it).
pub(super) fn after_write(a: &Applier, events: &[Event]) {
    a.watch_hub.notify(events);
    let lessor = &a.lease.lessor;
    for ev in events {
        let prev_lease = ev.prev_kv.as_ref().map_or(0, |p| p.lease);
        let Some(kv) = &ev.kv else { continue };
        let new_lease = if ev.r#type == EventType::Put as i32 { kv.lease } else { 0 };
        if prev_lease != 0 && prev_lease != new_lease {
            lessor.detach(prev_lease, &kv.key);
        }
        if new_lease != 0 && lessor.attach(new_lease, &kv.key).is_err() {
            fatal(&format!("applied a put with lease {new_lease:x}, which is not granted"));
        }
    }
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
    let lease_exists = |id: i64| a.lease.lessor.exists(id);
    let result = if let Some(r) = &req.put {
        kv.put(r, index, &lease_exists).map(|(resp, events)| {
            after_write(a, &events);
            ApplyResponse::Put(resp)
        })
    } else if let Some(r) = &req.delete_range {
        kv.delete_range(r, index).map(|(resp, events)| {
            after_write(a, &events);
            ApplyResponse::DeleteRange(resp)
        })
    } else if let Some(r) = &req.txn {
        kv.txn(r, index, &lease_exists).map(|(resp, events)| {
            after_write(a, &events);
            ApplyResponse::Txn(resp)
        })
    } else if let Some(r) = &req.compaction {
        let started = std::time::Instant::now();
        kv.compact(r.revision, index).map(|()| {
            crate::compactor::log_compacted(r.revision, started.elapsed());
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
