//! Static validation of a Txn request before it is proposed (etcd's
//! `checkTxnRequest` + `checkIntervals` in the gRPC layer).
//!
//! 1. Shape, recursively: the largest of compares / success / failure must
//!    not exceed `max_txn_ops` (nested txns get what is left); every compare
//!    and op names a key; `ignore_value` / `ignore_lease` puts carry no
//!    value / lease; an op with no request is `KeyNotFound`.
//! 2. Duplicates, per branch of the top-level txn: no key may be put twice,
//!    nor put and deleted, anywhere on one branch including nested txns. A
//!    nested txn's success and failure branches may put the same key (only
//!    one runs). Delete ranges are compared as etcd does: a delete with
//!    `range_end = "\0"` covers no key for this purpose (etcd 3.4 quirk).

use std::collections::HashSet;

use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::{RequestOp, TxnRequest};

use crate::error::MvccError;

/// Validates `req` as etcd's gRPC layer does before proposing it.
pub fn check_txn_request(req: &TxnRequest, max_txn_ops: usize) -> Result<(), MvccError> {
    check_shape(req, max_txn_ops)?;
    check_intervals(&req.success)?;
    check_intervals(&req.failure)?;
    Ok(())
}

fn check_shape(req: &TxnRequest, max_txn_ops: usize) -> Result<(), MvccError> {
    let opc = req
        .compare
        .len()
        .max(req.success.len())
        .max(req.failure.len());
    if opc > max_txn_ops {
        return Err(MvccError::TooManyOps);
    }
    if req.compare.iter().any(|c| c.key.is_empty()) {
        return Err(MvccError::EmptyKey);
    }
    for op in req.success.iter().chain(&req.failure) {
        check_op(op, max_txn_ops - opc)?;
    }
    Ok(())
}

fn check_op(op: &RequestOp, max_txn_ops: usize) -> Result<(), MvccError> {
    match &op.request {
        Some(Request::RequestRange(r)) if r.key.is_empty() => Err(MvccError::EmptyKey),
        Some(Request::RequestPut(p)) if p.key.is_empty() => Err(MvccError::EmptyKey),
        Some(Request::RequestPut(p)) if p.ignore_value && !p.value.is_empty() => {
            Err(MvccError::ValueProvided)
        }
        Some(Request::RequestPut(p)) if p.ignore_lease && p.lease != 0 => {
            Err(MvccError::LeaseProvided)
        }
        Some(Request::RequestDeleteRange(d)) if d.key.is_empty() => Err(MvccError::EmptyKey),
        Some(Request::RequestTxn(t)) => check_shape(t, max_txn_ops),
        Some(_) => Ok(()),
        None => Err(MvccError::KeyNotFound),
    }
}

/// A deleted interval `[start, end)`; `end` `None` for a single key.
#[derive(Debug, Clone)]
struct Deleted {
    start: Vec<u8>,
    end: Option<Vec<u8>>,
}

impl Deleted {
    /// Whether a put of `key` overlaps this delete, by etcd's interval rules
    /// (a literal `"\0"` end lies below every non-empty key).
    fn covers(&self, key: &[u8]) -> bool {
        match &self.end {
            None => key == self.start.as_slice(),
            Some(end) => key >= self.start.as_slice() && key < end.as_slice(),
        }
    }
}

fn covered(dels: &[Deleted], key: &[u8]) -> bool {
    dels.iter().any(|d| d.covers(key))
}

/// Puts and deletes of one branch, nested txns included.
fn check_intervals(ops: &[RequestOp]) -> Result<(HashSet<Vec<u8>>, Vec<Deleted>), MvccError> {
    let mut dels: Vec<Deleted> = ops
        .iter()
        .filter_map(|op| match &op.request {
            Some(Request::RequestDeleteRange(d)) => Some(Deleted {
                start: d.key.clone(),
                end: (!d.range_end.is_empty()).then(|| d.range_end.clone()),
            }),
            _ => None,
        })
        .collect();
    let mut puts: HashSet<Vec<u8>> = HashSet::new();
    for op in ops {
        let Some(Request::RequestTxn(t)) = &op.request else {
            continue;
        };
        let (puts_then, dels_then) = check_intervals(&t.success)?;
        let (puts_else, dels_else) = check_intervals(&t.failure)?;
        for k in &puts_then {
            if puts.contains(k) || covered(&dels, k) {
                return Err(MvccError::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        for k in puts_else {
            let clash = puts.contains(&k) && !puts_then.contains(&k);
            if clash || covered(&dels, &k) {
                return Err(MvccError::DuplicateKey);
            }
            puts.insert(k);
        }
        dels.extend(dels_then);
        dels.extend(dels_else);
    }
    for op in ops {
        let Some(Request::RequestPut(p)) = &op.request else {
            continue;
        };
        if puts.contains(&p.key) || covered(&dels, &p.key) {
            return Err(MvccError::DuplicateKey);
        }
        puts.insert(p.key.clone());
    }
    Ok((puts, dels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::etcdserverpb::{Compare, DeleteRangeRequest, PutRequest, RangeRequest};

    fn put(k: &str) -> RequestOp {
        RequestOp {
            request: Some(Request::RequestPut(PutRequest {
                key: k.into(),
                ..Default::default()
            })),
        }
    }
    fn del(k: &str, end: &str) -> RequestOp {
        RequestOp {
            request: Some(Request::RequestDeleteRange(DeleteRangeRequest {
                key: k.into(),
                range_end: end.into(),
                ..Default::default()
            })),
        }
    }
    fn get(k: &str) -> RequestOp {
        RequestOp {
            request: Some(Request::RequestRange(RangeRequest {
                key: k.into(),
                ..Default::default()
            })),
        }
    }
    fn txn(success: Vec<RequestOp>, failure: Vec<RequestOp>) -> TxnRequest {
        TxnRequest {
            compare: vec![],
            success,
            failure,
        }
    }
    fn nested(t: TxnRequest) -> RequestOp {
        RequestOp {
            request: Some(Request::RequestTxn(t)),
        }
    }
    fn check(t: &TxnRequest) -> Result<(), MvccError> {
        check_txn_request(t, 128)
    }

    #[test]
    fn too_many_ops_counts_the_largest_list_and_nesting_shrinks_the_budget() {
        let t = txn(vec![get("a"); 3], vec![]);
        assert!(check_txn_request(&t, 3).is_ok());
        assert!(matches!(
            check_txn_request(&t, 2),
            Err(MvccError::TooManyOps)
        ));
        let inner = txn(vec![get("b"); 2], vec![]);
        let t = txn(vec![get("a"), nested(inner)], vec![]);
        assert!(check_txn_request(&t, 4).is_ok());
        assert!(matches!(
            check_txn_request(&t, 3),
            Err(MvccError::TooManyOps)
        ));
    }

    #[test]
    fn shape_errors() {
        let mut t = txn(vec![], vec![]);
        t.compare.push(Compare::default());
        assert!(matches!(check(&t), Err(MvccError::EmptyKey)));
        assert!(matches!(
            check(&txn(vec![put("")], vec![])),
            Err(MvccError::EmptyKey)
        ));
        assert!(matches!(
            check(&txn(vec![RequestOp { request: None }], vec![])),
            Err(MvccError::KeyNotFound)
        ));
        let p = PutRequest {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            ignore_value: true,
            ..Default::default()
        };
        let op = RequestOp {
            request: Some(Request::RequestPut(p)),
        };
        assert!(matches!(
            check(&txn(vec![], vec![op])),
            Err(MvccError::ValueProvided)
        ));
        let p = PutRequest {
            key: b"k".to_vec(),
            lease: 5,
            ignore_lease: true,
            ..Default::default()
        };
        let op = RequestOp {
            request: Some(Request::RequestPut(p)),
        };
        assert!(matches!(
            check(&txn(vec![op], vec![])),
            Err(MvccError::LeaseProvided)
        ));
    }

    #[test]
    fn duplicate_puts_and_put_delete_overlaps() {
        assert!(matches!(
            check(&txn(vec![put("a"), put("a")], vec![])),
            Err(MvccError::DuplicateKey)
        ));
        assert!(
            check(&txn(vec![put("a")], vec![put("a")])).is_ok(),
            "branches are separate"
        );
        assert!(matches!(
            check(&txn(vec![put("a"), del("a", "")], vec![])),
            Err(MvccError::DuplicateKey)
        ));
        assert!(matches!(
            check(&txn(vec![del("a", "c"), put("b")], vec![])),
            Err(MvccError::DuplicateKey)
        ));
        assert!(
            check(&txn(vec![del("a", "c"), put("c")], vec![])).is_ok(),
            "range end is exclusive"
        );
        assert!(
            check(&txn(vec![del("a", "\0"), put("b")], vec![])).is_ok(),
            "etcd 3.4: from-key deletes never clash"
        );
        assert!(
            check(&txn(vec![del("a", ""), del("a", "z")], vec![])).is_ok(),
            "deletes may overlap"
        );
    }

    #[test]
    fn nested_txns() {
        let inner = txn(vec![put("a")], vec![put("a")]);
        assert!(
            check(&txn(vec![nested(inner.clone())], vec![])).is_ok(),
            "then/else of one txn may share keys"
        );
        assert!(matches!(
            check(&txn(vec![nested(inner.clone()), put("a")], vec![])),
            Err(MvccError::DuplicateKey)
        ));
        assert!(matches!(
            check(&txn(vec![nested(inner.clone()), nested(inner)], vec![])),
            Err(MvccError::DuplicateKey)
        ));
        let inner_del = txn(vec![del("a", "b")], vec![]);
        assert!(matches!(
            check(&txn(vec![nested(inner_del), put("a")], vec![])),
            Err(MvccError::DuplicateKey)
        ));
        let inner_put = txn(vec![], vec![put("x")]);
        assert!(matches!(
            check(&txn(vec![del("x", ""), nested(inner_put)], vec![])),
            Err(MvccError::DuplicateKey)
        ));
        let deep = txn(vec![nested(txn(vec![put("q")], vec![]))], vec![]);
        assert!(matches!(
            check(&txn(vec![nested(deep), put("q")], vec![])),
            Err(MvccError::DuplicateKey)
        ));
    }
}
