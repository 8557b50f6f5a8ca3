//! The backend space quota (etcd's `backendQuota`, `quotaKVServer`,
//! `quotaApplierV3`).
//!
//! Rules (etcd 3.4):
//! - `--quota-backend-bytes` 0 means the 2 GiB default, a negative value
//!   turns the quota off, more than 8 GiB is allowed with a warning.
//! - Only puts, txns and lease grants cost anything: a put costs
//!   `256 + key + value` bytes, a txn the larger of its success and failure
//!   branches' puts, a lease grant 64. A request of cost 0 always passes.
//! - A request fits when `db file size + cost < quota`.
//! - Checked twice: before proposing (a request that does not fit is
//!   refused with `NoSpace` and the member raises NOSPACE), and when applying
//!   on every member (the request is applied, but answered `NoSpace`, and
//!   that member raises NOSPACE: its proposer's answer waits for the alarm).

use etcd_proto::etcdserverpb::{
    request_op, AlarmType, InternalRaftRequest, PutRequest, TxnRequest,
};
use etcd_proto::EtcdError;

use crate::EtcdServer;

/// etcd's default quota: 2 GiB.
pub const DEFAULT_QUOTA_BYTES: i64 = 2 * 1024 * 1024 * 1024;
/// Quotas above this (8 GiB) get a warning.
pub const MAX_QUOTA_BYTES: i64 = 8 * 1024 * 1024 * 1024;
/// Estimated bytes a lease takes.
const LEASE_OVERHEAD_BYTES: usize = 64;
/// Estimated bytes of a key's metadata.
const KV_OVERHEAD_BYTES: usize = 256;

/// The effective quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quota {
    /// `None`: no quota.
    limit_bytes: Option<i64>,
}

impl Quota {
    /// The quota for `--quota-backend-bytes` (see the module docs).
    pub(crate) fn new(quota_backend_bytes: i64) -> Quota {
        match quota_backend_bytes {
            n if n < 0 => Quota { limit_bytes: None },
            0 => Quota {
                limit_bytes: Some(DEFAULT_QUOTA_BYTES),
            },
            n => Quota {
                limit_bytes: Some(n),
            },
        }
    }

    /// Logs the quota once at start, as etcd does.
    pub(crate) fn log(quota_backend_bytes: i64) {
        if quota_backend_bytes < 0 {
            tracing::warn!(target: "etcdserver", "disabling backend quota");
        } else if quota_backend_bytes > MAX_QUOTA_BYTES {
            tracing::warn!(target: "etcdserver", "backend quota {quota_backend_bytes} exceeds maximum recommended quota {MAX_QUOTA_BYTES}");
        }
    }

    /// The charge of `req` against the quota.
    pub(crate) fn cost(req: &InternalRaftRequest) -> usize {
        if let Some(p) = &req.put {
            cost_put(p)
        } else if let Some(t) = &req.txn {
            cost_txn(t)
        } else if req.lease_grant.is_some() {
            LEASE_OVERHEAD_BYTES
        } else {
            0
        }
    }

    /// Whether a request costing `cost` fits in a database of `db_bytes`.
    pub(crate) fn fits(&self, db_bytes: i64, cost: usize) -> bool {
        match self.limit_bytes {
            _ if cost == 0 => true,
            None => true,
            Some(limit) => db_bytes.saturating_add(cost as i64) < limit,
        }
    }
}

fn cost_put(p: &PutRequest) -> usize {
    KV_OVERHEAD_BYTES + p.key.len() + p.value.len()
}

/// A txn's puts, the larger branch; nested txns are not counted (etcd 3.4).
pub(crate) fn cost_txn(t: &TxnRequest) -> usize {
    let branch = |ops: &[etcd_proto::etcdserverpb::RequestOp]| -> usize {
        ops.iter()
            .map(|op| match &op.request {
                Some(request_op::Request::RequestPut(p)) => cost_put(p),
                _ => 0,
            })
            .sum()
    };
    branch(&t.success).max(branch(&t.failure))
}

impl EtcdServer {
    /// The check before proposing: a request that does not fit is refused
    /// and this member raises NOSPACE (unless it is raised already).
    pub(crate) async fn check_quota(&self, req: &InternalRaftRequest) -> Result<(), EtcdError> {
        let cost = Quota::cost(req);
        if self.quota.fits(self.backend_size_bytes(), cost) {
            return Ok(());
        }
        if !self.alarms.has(AlarmType::Nospace) {
            // Boxed: raising goes through `propose`, which calls this check.
            Box::pin(self.raise_alarm(self.member_id(), AlarmType::Nospace)).await;
        }
        Err(EtcdError::NoSpace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::etcdserverpb::{LeaseGrantRequest, RangeRequest, RequestOp};

    fn put_op(k: &str, v: &str) -> RequestOp {
        RequestOp {
            request: Some(request_op::Request::RequestPut(PutRequest {
                key: k.into(),
                value: v.into(),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn quota_rules() {
        assert_eq!(Quota::new(0).limit_bytes, Some(DEFAULT_QUOTA_BYTES));
        assert_eq!(Quota::new(-1).limit_bytes, None);
        assert_eq!(
            Quota::new(10 * MAX_QUOTA_BYTES).limit_bytes,
            Some(10 * MAX_QUOTA_BYTES)
        );
        let q = Quota::new(1000);
        assert!(q.fits(999, 0), "free requests always pass");
        assert!(q.fits(700, 299));
        assert!(!q.fits(700, 300), "strictly below the quota");
        assert!(Quota::new(-1).fits(i64::MAX, 10));
    }

    #[test]
    fn costs_follow_etcd() {
        let put = InternalRaftRequest {
            put: Some(PutRequest {
                key: b"ab".to_vec(),
                value: b"cde".to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(Quota::cost(&put), 256 + 5);
        let txn = TxnRequest {
            success: vec![put_op("a", "b")],
            failure: vec![put_op("a", "b"), put_op("c", "d")],
            ..Default::default()
        };
        assert_eq!(cost_txn(&txn), 2 * 258);
        let reads = TxnRequest {
            success: vec![RequestOp {
                request: Some(request_op::Request::RequestRange(RangeRequest::default())),
            }],
            ..Default::default()
        };
        assert_eq!(cost_txn(&reads), 0);
        let grant = InternalRaftRequest {
            lease_grant: Some(LeaseGrantRequest::default()),
            ..Default::default()
        };
        assert_eq!(Quota::cost(&grant), 64);
        assert_eq!(Quota::cost(&InternalRaftRequest::default()), 0);
    }
}
