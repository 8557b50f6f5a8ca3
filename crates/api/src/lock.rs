//! The gRPC `v3lockpb.Lock` service and its gateway routes
//! (`/v3/lock/lock`, `/v3/lock/unlock`, also under `/v3beta`).
//!
//! Lock is etcd's mutex recipe (`clientv3/concurrency/mutex.go`) run in the
//! server, in this order:
//! 1. One txn: if the contender key `name/<lease hex>` does not exist
//!    (create revision 0), put it with the lease; either way read it and the
//!    first-created key under `name/`. The key's create revision is our
//!    place in line; an existing key (same lease) keeps its place, so
//!    locking twice with one lease is one hold.
//! 2. If ours is the first-created key, the lock is held: answer at once.
//! 3. Otherwise wait until every key created before ours is gone
//!    ([`wait_deletes`]).
//! 4. Read our key again: if it is gone or was re-created (its lease expired
//!    or was revoked while we waited), answer `mutex: session is expired`,
//!    never a lock we do not hold (etcd 3.4.x's fix for the Jepsen report,
//!    etcd #11456).
//!
//! If the wait fails, or the caller goes away while waiting, the key is
//! deleted so it does not block later contenders. Unlock deletes the key.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use etcd_proto::etcdserverpb::request_op::Request as Op;
use etcd_proto::etcdserverpb::{
    DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
};
use etcd_proto::v3lockpb::lock_server::Lock;
use etcd_proto::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse};
use etcd_server::EtcdServer;
use tonic::{Request, Response, Status};

use crate::concurrency::{
    contender_key, create_revision_is, delete_if_created_at, first_created, gateway_call, get_op,
    prefix_of, session_lease, txn_range_kv, wait_deletes, Cleanup, ConcurrencyError,
};

/// Lock service over a server.
pub struct LockService(pub Arc<EtcdServer>);

/// Acquires the lock `req.name` for `req.lease` (see the module docs).
pub(crate) async fn lock(
    server: Arc<EtcdServer>,
    req: LockRequest,
) -> Result<LockResponse, ConcurrencyError> {
    let lease = session_lease(&server, req.lease).await?;
    let prefix = prefix_of(&req.name);
    let key = contender_key(&prefix, lease);
    let owner = RequestOp {
        request: Some(Op::RequestRange(first_created(&prefix))),
    };
    let put = RequestOp {
        request: Some(Op::RequestPut(PutRequest {
            key: key.clone(),
            lease,
            ..Default::default()
        })),
    };
    let resp = server
        .txn(TxnRequest {
            compare: vec![create_revision_is(&key, 0)],
            success: vec![put, owner.clone()],
            failure: vec![get_op(&key), owner],
        })
        .await?;
    let mut header = resp.header.unwrap_or_default();
    let my_rev = if resp.succeeded {
        header.revision
    } else {
        // The key existed a moment ago in the same txn; if it is absent the
        // store changed under us, which cannot happen inside one txn.
        txn_range_kv(&resp, 0)
            .map(|kv| kv.create_revision)
            .ok_or(ConcurrencyError::SessionExpired)?
    };
    let holder = txn_range_kv(&resp, 1);
    if holder.is_none_or(|kv| kv.create_revision == my_rev) {
        return Ok(LockResponse {
            header: Some(header),
            key,
        });
    }

    let cleanup = Cleanup::new(server.clone(), delete_if_created_at(&key, my_rev));
    if let Err(e) = wait_deletes(&server, &prefix, my_rev - 1).await {
        cleanup.run().await;
        return Err(e);
    }
    let check = server
        .range(RangeRequest {
            key: key.clone(),
            ..Default::default()
        })
        .await;
    let check = match check {
        Ok(c) => c,
        Err(e) => {
            cleanup.run().await;
            return Err(e.into());
        }
    };
    cleanup.disarm();
    let still_ours = check
        .kvs
        .first()
        .is_some_and(|kv| kv.create_revision == my_rev && kv.lease == lease);
    if !still_ours {
        return Err(ConcurrencyError::SessionExpired);
    }
    header = check.header.unwrap_or_default();
    Ok(LockResponse {
        header: Some(header),
        key,
    })
}

/// Releases a lock: deletes its key (an unknown key is not an error).
pub(crate) async fn unlock(
    server: Arc<EtcdServer>,
    req: UnlockRequest,
) -> Result<UnlockResponse, ConcurrencyError> {
    let resp = server
        .delete_range(DeleteRangeRequest {
            key: req.key,
            ..Default::default()
        })
        .await?;
    Ok(UnlockResponse {
        header: resp.header,
    })
}

#[tonic::async_trait]
impl Lock for LockService {
    async fn lock(&self, req: Request<LockRequest>) -> Result<Response<LockResponse>, Status> {
        Ok(Response::new(lock(self.0.clone(), req.into_inner()).await?))
    }

    async fn unlock(
        &self,
        req: Request<UnlockRequest>,
    ) -> Result<Response<UnlockResponse>, Status> {
        Ok(Response::new(
            unlock(self.0.clone(), req.into_inner()).await?,
        ))
    }
}

/// The gateway's lock routes.
pub(crate) fn gateway_routes() -> Router<Arc<EtcdServer>> {
    let mut r = Router::new();
    for prefix in ["/v3", "/v3beta"] {
        r = r
            .route(
                &format!("{prefix}/lock/lock"),
                post(|State(s): State<Arc<EtcdServer>>, b: Bytes| async move {
                    gateway_call(&b, |q| lock(s, q)).await
                }),
            )
            .route(
                &format!("{prefix}/lock/unlock"),
                post(|State(s): State<Arc<EtcdServer>>, b: Bytes| async move {
                    gateway_call(&b, |q| unlock(s, q)).await
                }),
            );
    }
    r
}
