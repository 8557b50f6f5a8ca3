//! The DeleteRange request (etcd's applierV3backend.DeleteRange).
//!
//! Deletes every live key of the range at the transaction's read revision;
//! deleting nothing changes nothing (no revision is taken). The header
//! revision is the transaction's read revision afterwards.

use etcd_proto::etcdserverpb::{DeleteRangeRequest, DeleteRangeResponse, ResponseHeader};

use crate::error::MvccError;
use crate::key_range::KeyRange;
use crate::write::WriteTxn;

/// Applies a delete.
pub(crate) fn apply(
    w: &mut WriteTxn<'_>,
    req: &DeleteRangeRequest,
) -> Result<DeleteRangeResponse, MvccError> {
    crate::metrics::count(&crate::metrics::DELETE_TOTAL, 1);
    let prevs = w.delete_range(KeyRange::new(&req.key, &req.range_end))?;
    Ok(DeleteRangeResponse {
        header: Some(ResponseHeader {
            revision: w.read_rev(),
            ..Default::default()
        }),
        deleted: prevs.len() as i64,
        prev_kvs: if req.prev_kv { prevs } else { Vec::new() },
    })
}
