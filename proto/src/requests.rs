//! Facts about requests that clients and the server both need, so they
//! agree on them: the end of a prefix range, and which txns only read.

use crate::etcdserverpb::request_op::Request;
use crate::etcdserverpb::{RangeRequest, TxnRequest};

/// The end of the range of all keys starting with `prefix` (clientv3's
/// `GetPrefixRangeEnd`); `[0]` (all keys) for an empty or all-0xff prefix.
///
/// ```
/// assert_eq!(etcd_proto::prefix_range_end(b"abc"), b"abd".to_vec());
/// assert_eq!(etcd_proto::prefix_range_end(b"a\xff"), b"b".to_vec());
/// assert_eq!(etcd_proto::prefix_range_end(b""), vec![0]);
/// ```
pub fn prefix_range_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// Whether every op of both branches is a Range (no nested txn): etcd
/// serves such a txn outside Raft, and a client may retry it.
pub fn txn_is_read_only(req: &TxnRequest) -> bool {
    ranges_only(req, |_| true)
}

/// Whether every op of both branches is a serializable Range: served
/// locally without a ReadIndex round, like a serializable Range.
pub fn txn_is_serializable(req: &TxnRequest) -> bool {
    ranges_only(req, |r| r.serializable)
}

fn ranges_only(req: &TxnRequest, ok: impl Fn(&RangeRequest) -> bool) -> bool {
    req.success
        .iter()
        .chain(&req.failure)
        .all(|op| matches!(&op.request, Some(Request::RequestRange(r)) if ok(r)))
}
