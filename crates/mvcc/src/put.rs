//! The Put request (etcd's applierV3backend.Put).
//!
//! Checks, in etcd's order, before any change: a standalone put first checks
//! the lease exists; then `ignore_value` / `ignore_lease` need the key to
//! exist (`KeyNotFound`). Inside a txn the checks run up front for the whole
//! txn (see `txn.rs`), so here they cannot fail.

use etcd_proto::etcdserverpb::{PutRequest, PutResponse, ResponseHeader};

use crate::error::MvccError;
use crate::write::WriteTxn;

/// Whether `req` may be applied: its lease exists and, with `ignore_value` /
/// `ignore_lease`, the key exists. Lease first when `lease_first` (standalone
/// put), key first otherwise (txn check order).
pub(crate) fn check(
    w: &WriteTxn<'_>,
    req: &PutRequest,
    lease_exists: &dyn Fn(i64) -> bool,
    lease_first: bool,
) -> Result<(), MvccError> {
    let lease_ok = req.lease == 0 || lease_exists(req.lease);
    if lease_first && !lease_ok {
        return Err(MvccError::LeaseNotFound);
    }
    if (req.ignore_value || req.ignore_lease) && w.view().latest(&req.key)?.is_none() {
        return Err(MvccError::KeyNotFound);
    }
    if !lease_ok {
        return Err(MvccError::LeaseNotFound);
    }
    Ok(())
}

/// Applies a checked put.
pub(crate) fn apply(w: &mut WriteTxn<'_>, req: &PutRequest) -> Result<PutResponse, MvccError> {
    crate::metrics::count(&crate::metrics::PUT_TOTAL, 1);
    crate::metrics::count(&crate::metrics::PUT_SIZE_BYTES_TOTAL, (req.key.len() + req.value.len()) as u64);
    let prev = w.view().latest(&req.key)?;
    let (value, lease) = match &prev {
        Some(p) => (
            if req.ignore_value {
                p.value.clone()
            } else {
                req.value.clone()
            },
            if req.ignore_lease { p.lease } else { req.lease },
        ),
        None if req.ignore_value || req.ignore_lease => return Err(MvccError::KeyNotFound),
        None => (req.value.clone(), req.lease),
    };
    let prev_kv = if req.prev_kv { prev.clone() } else { None };
    let rev = w.put(&req.key, value, lease, prev);
    Ok(PutResponse {
        header: Some(ResponseHeader {
            revision: rev,
            ..Default::default()
        }),
        prev_kv,
    })
}
