//! Applying auth requests, and the permission checks etcd makes at apply
//! time on KV and lease writes (etcd's `apply_auth.go`).
//!
//! Contract: the outcome depends only on the entry (its header's user name
//! and auth revision) and the replicated auth store, so every member
//! decides the same. Auth changes go to the backend in the same batch as
//! the entry's index. Token bookkeeping (simple tokens, JWT signing) is
//! per member and only affects the proposer's answer.

use std::time::{Instant, SystemTime};

use etcd_auth::{AuthInfo, AuthStore, PermType, TokenProvider};
use etcd_proto::authpb::Permission;
use etcd_proto::etcdserverpb::{request_op::Request, InternalRaftRequest, RequestOp, TxnRequest};
use etcd_proto::EtcdError;

use super::{fatal, Applier, ApplyResponse, ApplyResult};
use crate::auth::{auth_error, persist};

/// What an applied auth request returns.
#[derive(Debug)]
pub enum AuthApplied {
    /// Nothing but success.
    Done,
    /// An issued token.
    Token(String),
    /// User or role names (a user's roles, the user list, the role list).
    Names(Vec<String>),
    /// A role's permissions.
    Permissions(Vec<Permission>),
}

/// Whether `req` is an auth request.
pub(super) fn handles(req: &InternalRaftRequest) -> bool {
    req.auth_enable.is_some()
        || req.auth_disable.is_some()
        || req.authenticate.is_some()
        || req.auth_user_add.is_some()
        || req.auth_user_delete.is_some()
        || req.auth_user_get.is_some()
        || req.auth_user_change_password.is_some()
        || req.auth_user_grant_role.is_some()
        || req.auth_user_revoke_role.is_some()
        || req.auth_user_list.is_some()
        || req.auth_role_list.is_some()
        || req.auth_role_add.is_some()
        || req.auth_role_delete.is_some()
        || req.auth_role_get.is_some()
        || req.auth_role_grant_permission.is_some()
        || req.auth_role_revoke_permission.is_some()
}

/// Requests only a `root` role holder may make (etcd's `needAdminPermission`).
fn needs_admin(req: &InternalRaftRequest) -> bool {
    handles(req) && req.authenticate.is_none() && req.auth_user_get.is_none() && req.auth_role_get.is_none()
}

fn info_of(req: &InternalRaftRequest) -> AuthInfo {
    let h = req.header.clone().unwrap_or_default();
    AuthInfo {
        username: h.username,
        revision: h.auth_revision,
    }
}

/// Applies an auth request at `index`.
pub(super) fn apply(a: &mut Applier, index: u64, req: &InternalRaftRequest) -> ApplyResult {
    let info = info_of(req);
    let mut store = a.auth.store.write();
    if needs_admin(req) {
        store.is_admin_permitted(Some(&info)).map_err(auth_error)?;
    }
    let done = |writes: Result<Vec<etcd_auth::Write>, etcd_auth::AuthError>| -> ApplyResult {
        persist(&a.backend, &writes.map_err(auth_error)?);
        Ok(ApplyResponse::Auth(AuthApplied::Done))
    };
    let tokens = &a.auth.tokens;
    if req.auth_enable.is_some() {
        done(store.enable())
    } else if req.auth_disable.is_some() {
        let w = store.disable();
        if let TokenProvider::Simple(t) = tokens {
            t.clear();
        }
        done(Ok(w))
    } else if let Some(r) = &req.authenticate {
        store.can_authenticate(&r.name).map_err(auth_error)?;
        let token = match tokens {
            TokenProvider::Simple(t) => t.assign(&r.simple_token, index, &r.name, Instant::now()),
            TokenProvider::Jwt(j) => j
                .assign(&r.name, store.revision(), SystemTime::now())
                .map_err(auth_error)?,
        };
        Ok(ApplyResponse::Auth(AuthApplied::Token(token)))
    } else if let Some(r) = &req.auth_user_add {
        let no_password = r.options.is_some_and(|o| o.no_password);
        done(store.user_add(&r.name, r.hashed_password.as_bytes().to_vec(), no_password))
    } else if let Some(r) = &req.auth_user_delete {
        let w = store.user_delete(&r.name);
        invalidate(tokens, &r.name, w.is_ok());
        done(w)
    } else if let Some(r) = &req.auth_user_change_password {
        let w = store.user_change_password(&r.name, r.hashed_password.as_bytes().to_vec());
        invalidate(tokens, &r.name, w.is_ok());
        done(w)
    } else if let Some(r) = &req.auth_user_grant_role {
        done(store.user_grant_role(&r.user, &r.role))
    } else if let Some(r) = &req.auth_user_revoke_role {
        done(store.user_revoke_role(&r.name, &r.role))
    } else if let Some(r) = &req.auth_user_get {
        if store.is_admin_permitted(Some(&info)).is_err() && r.name != info.username {
            store.is_admin_permitted(Some(&info)).map_err(auth_error)?;
        }
        Ok(ApplyResponse::Auth(AuthApplied::Names(
            store.user_get(&r.name).map_err(auth_error)?,
        )))
    } else if req.auth_user_list.is_some() {
        Ok(ApplyResponse::Auth(AuthApplied::Names(store.user_list())))
    } else if req.auth_role_list.is_some() {
        Ok(ApplyResponse::Auth(AuthApplied::Names(store.role_list())))
    } else if let Some(r) = &req.auth_role_add {
        done(store.role_add(&r.name))
    } else if let Some(r) = &req.auth_role_delete {
        done(store.role_delete(&r.role))
    } else if let Some(r) = &req.auth_role_get {
        if let Err(e) = store.is_admin_permitted(Some(&info)) {
            if !store.has_role(&info.username, &r.role) {
                return Err(auth_error(e));
            }
        }
        Ok(ApplyResponse::Auth(AuthApplied::Permissions(
            store.role_get(&r.role).map_err(auth_error)?,
        )))
    } else if let Some(r) = &req.auth_role_grant_permission {
        let perm = r.perm.clone().unwrap_or_default();
        done(store.role_grant_permission(&r.name, perm))
    } else if let Some(r) = &req.auth_role_revoke_permission {
        done(store.role_revoke_permission(&r.role, &r.key, &r.range_end))
    } else {
        fatal("auth::apply called for a request that is not an auth request")
    }
}

fn invalidate(tokens: &TokenProvider, user: &str, changed: bool) {
    if let (TokenProvider::Simple(t), true) = (tokens, changed) {
        t.invalidate_user(user);
    }
}

/// The permission checks on a KV or lease request before it is applied.
pub(super) fn check(a: &Applier, req: &InternalRaftRequest) -> Result<(), EtcdError> {
    let store = a.auth.store.read();
    if !store.is_enabled() {
        return Ok(());
    }
    let info = info_of(req);
    let may = |key: &[u8], end: &[u8], ty| store.is_op_permitted(&info, key, end, ty).map_err(auth_error);
    let lease_keys_writable = |id: i64| -> Result<(), EtcdError> {
        if let Some(ttl) = a.lease.lessor.time_to_live(id, true) {
            for k in &ttl.keys {
                may(k, b"", PermType::Write)?;
            }
        }
        Ok(())
    };
    if let Some(r) = &req.put {
        may(&r.key, b"", PermType::Write)?;
        lease_keys_writable(r.lease)?;
        if r.prev_kv {
            may(&r.key, b"", PermType::Read)?;
        }
    } else if let Some(r) = &req.delete_range {
        may(&r.key, &r.range_end, PermType::Write)?;
        if r.prev_kv {
            may(&r.key, &r.range_end, PermType::Read)?;
        }
    } else if let Some(r) = &req.range {
        may(&r.key, &r.range_end, PermType::Read)?;
    } else if let Some(r) = &req.txn {
        check_txn(&store, &info, r)?;
    } else if let Some(r) = &req.lease_revoke {
        lease_keys_writable(r.id)?;
    }
    Ok(())
}

/// etcd's `checkTxnAuth`: read on every compare, then each op of both
/// branches (nested txns are not looked into, as in etcd 3.4).
pub(crate) fn check_txn(store: &AuthStore, info: &AuthInfo, t: &TxnRequest) -> Result<(), EtcdError> {
    let may = |key: &[u8], end: &[u8], ty| store.is_op_permitted(info, key, end, ty).map_err(auth_error);
    for c in &t.compare {
        may(&c.key, &c.range_end, PermType::Read)?;
    }
    let ops = |list: &[RequestOp]| -> Result<(), EtcdError> {
        for op in list {
            match &op.request {
                Some(Request::RequestRange(r)) => may(&r.key, &r.range_end, PermType::Read)?,
                Some(Request::RequestPut(r)) => may(&r.key, b"", PermType::Write)?,
                Some(Request::RequestDeleteRange(r)) => {
                    if r.prev_kv {
                        may(&r.key, &r.range_end, PermType::Read)?;
                    }
                    may(&r.key, &r.range_end, PermType::Write)?;
                }
                _ => {}
            }
        }
        Ok(())
    };
    ops(&t.success)?;
    ops(&t.failure)
}
