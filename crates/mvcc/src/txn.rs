//! The Txn request (etcd's applierV3backend.Txn).
//!
//! Order that matters:
//! 1. Evaluate the compares of the txn and, recursively, of every nested txn
//!    on the chosen branches, all against the state *before* the txn: the
//!    result is a [`Path`].
//! 2. Check the chosen operations, puts first (key exists for
//!    `ignore_value`/`ignore_lease`, then lease exists), then ranges (revision
//!    not future, not compacted), again against the state before the txn.
//!    Any failure fails the whole txn with no change.
//! 3. Apply the operations in order; each read sees the earlier writes. The
//!    whole txn takes one main revision, or none if it changed nothing.

use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{
    RangeRequest, RequestOp, ResponseHeader, ResponseOp, TxnRequest, TxnResponse,
};

use crate::error::MvccError;
use crate::view::View;
use crate::write::WriteTxn;
use crate::{compare, delete_range, put, range};

/// Which branches a txn and its nested txns take.
#[derive(Debug)]
struct Path {
    succeeded: bool,
    /// One entry per nested txn op of the chosen branch, in order.
    nested: Vec<Path>,
}

impl Path {
    fn branch<'r>(&self, req: &'r TxnRequest) -> &'r [RequestOp] {
        if self.succeeded {
            &req.success
        } else {
            &req.failure
        }
    }
}

fn path(view: &View<'_>, req: &TxnRequest) -> Result<Path, MvccError> {
    let mut succeeded = true;
    for c in &req.compare {
        if !compare::holds(view, c)? {
            succeeded = false;
            break;
        }
    }
    let ops = if succeeded {
        &req.success
    } else {
        &req.failure
    };
    let mut nested = Vec::new();
    for op in ops {
        if let Some(Request::RequestTxn(t)) = &op.request {
            nested.push(path(view, t)?);
        }
    }
    Ok(Path { succeeded, nested })
}

/// Calls `f` on every non-txn op on the chosen path, depth first, in order.
fn for_each_op(
    req: &TxnRequest,
    path: &Path,
    f: &mut dyn FnMut(&Request) -> Result<(), MvccError>,
) -> Result<(), MvccError> {
    let mut nested = path.nested.iter();
    for op in path.branch(req) {
        match &op.request {
            Some(Request::RequestTxn(t)) => {
                let p = nested.next().expect("one path per nested txn");
                for_each_op(t, p, f)?;
            }
            Some(r) => f(r)?,
            None => {}
        }
    }
    Ok(())
}

/// Whether `key` is in etcd's range `[start, end)` (`end` empty: `start`
/// only; `end` = `\0`: every key from `start`).
fn in_range(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    match end {
        [] => key == start,
        [0] => key >= start,
        _ => key >= start && key < end,
    }
}

fn check_range(view: &View<'_>, r: &RangeRequest) -> Result<(), MvccError> {
    match r.revision {
        0 => Ok(()),
        rev if rev > view.rev => Err(MvccError::FutureRev),
        rev if rev < view.compact_rev => Err(MvccError::Compacted),
        _ => Ok(()),
    }
}

/// Evaluates, checks and applies `req`.
pub(crate) fn apply(
    w: &mut WriteTxn<'_>,
    req: &TxnRequest,
    lease_exists: &dyn Fn(i64) -> bool,
) -> Result<TxnResponse, MvccError> {
    let path = path(&w.view(), req)?;
    // A put that keeps the old value or lease needs its key to exist when it
    // runs: deleted earlier in this txn (and not put again since), it would
    // fail half-way through (etcd 3.4 panics there); refuse it up front.
    let mut deleted: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut put_again: Vec<Vec<u8>> = Vec::new();
    for_each_op(req, &path, &mut |r| match r {
        Request::RequestPut(p) => {
            put::check(w, p, lease_exists, false)?;
            let keeps_old = p.ignore_value || p.ignore_lease;
            let gone = deleted.iter().any(|(k, e)| in_range(&p.key, k, e));
            if keeps_old && gone && !put_again.contains(&p.key) {
                return Err(MvccError::KeyNotFound);
            }
            put_again.push(p.key.clone());
            Ok(())
        }
        Request::RequestDeleteRange(d) => {
            deleted.push((d.key.clone(), d.range_end.clone()));
            put_again.retain(|k| !in_range(k, &d.key, &d.range_end));
            Ok(())
        }
        _ => Ok(()),
    })?;
    let view = w.view();
    for_each_op(req, &path, &mut |r| match r {
        Request::RequestRange(rr) => check_range(&view, rr),
        _ => Ok(()),
    })?;
    let mut resp = apply_path(w, req, &path)?;
    crate::metrics::count_txn(&resp);
    resp.header = Some(ResponseHeader {
        revision: w.read_rev(),
        ..Default::default()
    });
    Ok(resp)
}

/// Serves a txn [`etcd_proto::txn_is_read_only`] from `view`: the compares choose a branch,
/// its ranges are checked and read; no revision is taken.
pub(crate) fn read_only(view: &View<'_>, req: &TxnRequest) -> Result<TxnResponse, MvccError> {
    assert!(etcd_proto::txn_is_read_only(req), "read_only called with a txn that writes");
    let path = path(view, req)?;
    for_each_op(req, &path, &mut |r| match r {
        Request::RequestRange(rr) => check_range(view, rr),
        _ => Ok(()),
    })?;
    let mut responses = Vec::new();
    for op in path.branch(req) {
        if let Some(Request::RequestRange(r)) = &op.request {
            let response = Some(Response::ResponseRange(range::range(view, r)?));
            responses.push(ResponseOp { response });
        }
    }
    let resp = TxnResponse {
        header: Some(ResponseHeader {
            revision: view.rev,
            ..Default::default()
        }),
        succeeded: path.succeeded,
        responses,
    };
    crate::metrics::count_txn(&resp);
    Ok(resp)
}

/// Applies the chosen branch. Nested responses carry an empty header, as
/// etcd's do.
fn apply_path(
    w: &mut WriteTxn<'_>,
    req: &TxnRequest,
    path: &Path,
) -> Result<TxnResponse, MvccError> {
    let mut nested = path.nested.iter();
    let ops = path.branch(req);
    let mut responses = Vec::with_capacity(ops.len());
    for op in ops {
        let response = match &op.request {
            Some(Request::RequestRange(r)) => {
                Some(Response::ResponseRange(range::range(&w.view(), r)?))
            }
            Some(Request::RequestPut(p)) => Some(Response::ResponsePut(put::apply(w, p)?)),
            Some(Request::RequestDeleteRange(d)) => {
                Some(Response::ResponseDeleteRange(delete_range::apply(w, d)?))
            }
            Some(Request::RequestTxn(t)) => {
                let p = nested.next().expect("one path per nested txn");
                Some(Response::ResponseTxn(apply_path(w, t, p)?))
            }
            None => None,
        };
        responses.push(ResponseOp { response });
    }
    Ok(TxnResponse {
        header: Some(ResponseHeader::default()),
        succeeded: path.succeeded,
        responses,
    })
}
