//! Checks that need no state, done before a request is proposed (etcd's
//! v3rpc `checkRangeRequest`, `checkPutRequest`, `checkDeleteRequest`,
//! `checkTxnRequest`). A rejected request never reaches the log.

use etcd_proto::etcdserverpb::{
    request_op::Request, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
};
use etcd_proto::EtcdError;

/// Range: a key is required.
pub fn range(r: &RangeRequest) -> Result<(), EtcdError> {
    if r.key.is_empty() {
        return Err(EtcdError::EmptyKey);
    }
    Ok(())
}

/// Put: a key is required; `ignore_value`/`ignore_lease` exclude a value/lease.
pub fn put(r: &PutRequest) -> Result<(), EtcdError> {
    if r.key.is_empty() {
        return Err(EtcdError::EmptyKey);
    }
    if r.ignore_value && !r.value.is_empty() {
        return Err(EtcdError::ValueProvided);
    }
    if r.ignore_lease && r.lease != 0 {
        return Err(EtcdError::LeaseProvided);
    }
    Ok(())
}

/// Delete: a key is required.
pub fn delete_range(r: &DeleteRangeRequest) -> Result<(), EtcdError> {
    if r.key.is_empty() {
        return Err(EtcdError::EmptyKey);
    }
    Ok(())
}

/// Txn: op counts per branch, keys of compares and ops (nested too), then
/// the rule that no key is written twice in one branch.
pub fn txn(r: &TxnRequest, max_txn_ops: usize) -> Result<(), EtcdError> {
    check_txn_shape(r, max_txn_ops)?;
    etcd_mvcc::check_txn_request(r, max_txn_ops).map_err(crate::apply::mvcc_error)
}

fn check_txn_shape(r: &TxnRequest, max_txn_ops: usize) -> Result<(), EtcdError> {
    if r.compare.len() > max_txn_ops || r.success.len() > max_txn_ops || r.failure.len() > max_txn_ops {
        return Err(EtcdError::TooManyOps);
    }
    if r.compare.iter().any(|c| c.key.is_empty()) {
        return Err(EtcdError::EmptyKey);
    }
    for op in r.success.iter().chain(r.failure.iter()) {
        request_op(op, max_txn_ops)?;
    }
    Ok(())
}

fn request_op(op: &RequestOp, max_txn_ops: usize) -> Result<(), EtcdError> {
    match &op.request {
        Some(Request::RequestRange(r)) => range(r),
        Some(Request::RequestPut(r)) => put(r),
        Some(Request::RequestDeleteRange(r)) => delete_range(r),
        Some(Request::RequestTxn(t)) => check_txn_shape(t, max_txn_ops),
        None => Ok(()),
    }
}
