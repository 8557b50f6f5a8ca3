//! Applying alarm requests, and what raised alarms and the quota do to other
//! requests (etcd's `applierV3backend.Alarm`, `applierV3Capped`,
//! `applierV3Corrupt`, `quotaApplierV3`).
//!
//! Contract:
//! - Deterministic gates: whether a request is refused because of an alarm
//!   depends only on the replicated alarm set ([`refuse`]).
//! - The quota check at apply is not deterministic (each member looks at its
//!   own file size), exactly as in etcd: the request is applied everywhere,
//!   only the answer differs. A member whose check fails raises NOSPACE; the
//!   proposer's answer is held back until that alarm is applied
//!   ([`answer`]), so a client that saw `NoSpace` also sees the alarm.

use std::sync::Arc;

use etcd_proto::etcdserverpb::{
    alarm_request::AlarmAction, AlarmRequest, AlarmResponse, AlarmType, InternalRaftRequest,
};
use etcd_proto::EtcdError;

use super::{Applier, ApplyResponse, ApplyResult};
use crate::alarm::{request_text, AlarmStore};
use crate::quota::{cost_txn, Quota};

/// Proposer answers held back until NOSPACE is raised: (request id, answer).
pub(crate) type HeldAnswer = (u64, ApplyResult);
/// Most answers held back at once; beyond it answers go out at once.
pub(crate) const HELD_ANSWERS_MAX: usize = 1024;

/// What the applier needs for alarms and the quota.
pub(crate) struct AlarmApply {
    /// The replicated alarm set.
    pub(crate) alarms: Arc<AlarmStore>,
    /// The space quota.
    pub(crate) quota: Quota,
    /// To the task that raises NOSPACE and then releases the answer.
    pub(crate) nospace_tx: tokio::sync::mpsc::Sender<HeldAnswer>,
}

/// Applies an alarm request.
pub(super) fn apply(a: &Applier, r: &AlarmRequest) -> ApplyResult {
    let store = &a.alarm.alarms;
    let mut resp = AlarmResponse::default();
    let before = store.get(r.alarm).len();
    match AlarmAction::try_from(r.action) {
        Ok(AlarmAction::Get) => resp.alarms = store.get(r.alarm),
        Ok(AlarmAction::Activate) => {
            if r.alarm == AlarmType::None as i32 {
                // etcd stores it but no alarm of type NONE means anything.
                tracing::warn!(target: "etcdserver", "unimplemented alarm activation ({})", request_text(r));
            }
            let m = store.activate(r.member_id, r.alarm);
            resp.alarms.push(m.clone());
            if before == 0 && store.get(r.alarm).len() == 1 {
                let name = AlarmType::try_from(m.alarm)
                    .map(|t| t.as_str_name())
                    .unwrap_or("UNKNOWN");
                tracing::warn!(target: "etcdserver", "alarm {name} raised by peer {:x}", m.member_id);
            }
        }
        Ok(AlarmAction::Deactivate) => {
            if let Some(m) = store.deactivate(r.member_id, r.alarm) {
                resp.alarms.push(m);
                if before > 0 && store.get(r.alarm).is_empty() {
                    tracing::info!(target: "etcdserver", "alarm disarmed {}", request_text(r));
                }
            }
        }
        Err(_) => return Ok(ApplyResponse::Empty),
    }
    Ok(ApplyResponse::Alarm(resp))
}

/// The error a raised alarm imposes on `req`, if any (CORRUPT first: it is
/// the outer applier in etcd).
pub(super) fn refuse(a: &Applier, req: &InternalRaftRequest) -> Option<EtcdError> {
    let store = &a.alarm.alarms;
    if store.has(AlarmType::Corrupt)
        && (req.put.is_some()
            || req.range.is_some()
            || req.delete_range.is_some()
            || req.txn.is_some()
            || req.compaction.is_some()
            || req.lease_grant.is_some()
            || req.lease_revoke.is_some())
    {
        return Some(EtcdError::Corrupt);
    }
    if store.has(AlarmType::Nospace)
        && (req.put.is_some()
            || req.lease_grant.is_some()
            || req.txn.as_ref().is_some_and(|t| cost_txn(t) > 0))
    {
        return Some(EtcdError::NoSpace);
    }
    None
}

/// Applies `req` with `apply`, then answers `NoSpace` instead of success if
/// the request did not fit in the quota before it was applied.
pub(super) fn charged(
    a: &mut Applier,
    req: &InternalRaftRequest,
    apply: impl FnOnce(&mut Applier) -> ApplyResult,
) -> ApplyResult {
    let cost = Quota::cost(req);
    let fits = a.alarm.quota.fits(a.backend.size_bytes(), cost);
    match apply(a) {
        Ok(_) if !fits => Err(EtcdError::NoSpace),
        other => other,
    }
}

/// The answer to hand the proposer now, or `None` when it is held back
/// until this member has raised NOSPACE.
pub(super) fn answer(a: &Applier, id: u64, result: ApplyResult) -> Option<ApplyResult> {
    if !matches!(result, Err(EtcdError::NoSpace)) || a.alarm.alarms.has(AlarmType::Nospace) {
        return Some(result);
    }
    tracing::warn!(target: "etcdserver", "applying raft message exceeded backend quota");
    match a.alarm.nospace_tx.try_send((id, result)) {
        Ok(()) => None,
        Err(
            tokio::sync::mpsc::error::TrySendError::Full((_, r))
            | tokio::sync::mpsc::error::TrySendError::Closed((_, r)),
        ) => Some(r),
    }
}
