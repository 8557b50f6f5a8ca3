//! The gRPC `etcdserverpb.Auth` service and its JSON gateway routes
//! (`/v3/auth/...`): each call goes to the `EtcdServer`, which proposes it
//! through Raft (see `etcd_server::auth_api`). Who is asking comes from the
//! request's credentials scope (`auth_scope.rs`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use etcd_proto::etcdserverpb::auth_server::Auth;
use etcd_proto::etcdserverpb::*;
use etcd_server::EtcdServer;
use tonic::{Request, Response, Status};

use crate::gateway::call;

/// Auth service over a server.
pub struct AuthService(pub Arc<EtcdServer>);

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Auth for AuthService {
    async fn auth_enable(&self, _r: Request<AuthEnableRequest>) -> Answer<AuthEnableResponse> {
        Ok(Response::new(self.0.auth_enable().await?))
    }

    async fn auth_disable(&self, _r: Request<AuthDisableRequest>) -> Answer<AuthDisableResponse> {
        Ok(Response::new(self.0.auth_disable().await?))
    }

    async fn auth_status(&self, _r: Request<AuthStatusRequest>) -> Answer<AuthStatusResponse> {
        Ok(Response::new(self.0.auth_status()))
    }

    async fn authenticate(&self, r: Request<AuthenticateRequest>) -> Answer<AuthenticateResponse> {
        Ok(Response::new(self.0.authenticate(r.into_inner()).await?))
    }

    async fn user_add(&self, r: Request<AuthUserAddRequest>) -> Answer<AuthUserAddResponse> {
        Ok(Response::new(self.0.user_add(r.into_inner()).await?))
    }

    async fn user_get(&self, r: Request<AuthUserGetRequest>) -> Answer<AuthUserGetResponse> {
        Ok(Response::new(self.0.user_get(r.into_inner()).await?))
    }

    async fn user_list(&self, _r: Request<AuthUserListRequest>) -> Answer<AuthUserListResponse> {
        Ok(Response::new(self.0.user_list().await?))
    }

    async fn user_delete(&self, r: Request<AuthUserDeleteRequest>) -> Answer<AuthUserDeleteResponse> {
        Ok(Response::new(self.0.user_delete(r.into_inner()).await?))
    }

    async fn user_change_password(
        &self,
        r: Request<AuthUserChangePasswordRequest>,
    ) -> Answer<AuthUserChangePasswordResponse> {
        Ok(Response::new(self.0.user_change_password(r.into_inner()).await?))
    }

    async fn user_grant_role(&self, r: Request<AuthUserGrantRoleRequest>) -> Answer<AuthUserGrantRoleResponse> {
        Ok(Response::new(self.0.user_grant_role(r.into_inner()).await?))
    }

    async fn user_revoke_role(&self, r: Request<AuthUserRevokeRoleRequest>) -> Answer<AuthUserRevokeRoleResponse> {
        Ok(Response::new(self.0.user_revoke_role(r.into_inner()).await?))
    }

    async fn role_add(&self, r: Request<AuthRoleAddRequest>) -> Answer<AuthRoleAddResponse> {
        Ok(Response::new(self.0.role_add(r.into_inner()).await?))
    }

    async fn role_get(&self, r: Request<AuthRoleGetRequest>) -> Answer<AuthRoleGetResponse> {
        Ok(Response::new(self.0.role_get(r.into_inner()).await?))
    }

    async fn role_list(&self, _r: Request<AuthRoleListRequest>) -> Answer<AuthRoleListResponse> {
        Ok(Response::new(self.0.role_list().await?))
    }

    async fn role_delete(&self, r: Request<AuthRoleDeleteRequest>) -> Answer<AuthRoleDeleteResponse> {
        Ok(Response::new(self.0.role_delete(r.into_inner()).await?))
    }

    async fn role_grant_permission(
        &self,
        r: Request<AuthRoleGrantPermissionRequest>,
    ) -> Answer<AuthRoleGrantPermissionResponse> {
        Ok(Response::new(self.0.role_grant_permission(r.into_inner()).await?))
    }

    async fn role_revoke_permission(
        &self,
        r: Request<AuthRoleRevokePermissionRequest>,
    ) -> Answer<AuthRoleRevokePermissionResponse> {
        Ok(Response::new(self.0.role_revoke_permission(r.into_inner()).await?))
    }
}

type Srv = State<Arc<EtcdServer>>;

macro_rules! route {
    ($r:ident, $path:literal, $req:ty, |$s:ident, $q:ident| $body:expr) => {
        for prefix in ["/v3", "/v3beta"] {
            $r = $r.route(
                &format!("{prefix}{}", $path),
                post(|State($s): Srv, b: Bytes| async move { call(b, |$q: $req| async move { $body }).await }),
            );
        }
    };
}

/// The gateway's `/v3/auth/...` routes (and `/v3beta/auth/...`).
pub fn gateway_routes() -> Router<Arc<EtcdServer>> {
    let mut r = Router::new();
    route!(r, "/auth/enable", AuthEnableRequest, |s, _q| s.auth_enable().await);
    route!(r, "/auth/disable", AuthDisableRequest, |s, _q| s.auth_disable().await);
    route!(r, "/auth/status", AuthStatusRequest, |s, _q| Ok(s.auth_status()));
    route!(r, "/auth/authenticate", AuthenticateRequest, |s, q| s
        .authenticate(q)
        .await);
    route!(r, "/auth/user/add", AuthUserAddRequest, |s, q| s.user_add(q).await);
    route!(r, "/auth/user/get", AuthUserGetRequest, |s, q| s.user_get(q).await);
    route!(r, "/auth/user/list", AuthUserListRequest, |s, _q| s.user_list().await);
    route!(r, "/auth/user/delete", AuthUserDeleteRequest, |s, q| s
        .user_delete(q)
        .await);
    route!(r, "/auth/user/changepw", AuthUserChangePasswordRequest, |s, q| s
        .user_change_password(q)
        .await);
    route!(r, "/auth/user/grant", AuthUserGrantRoleRequest, |s, q| s
        .user_grant_role(q)
        .await);
    route!(r, "/auth/user/revoke", AuthUserRevokeRoleRequest, |s, q| s
        .user_revoke_role(q)
        .await);
    route!(r, "/auth/role/add", AuthRoleAddRequest, |s, q| s.role_add(q).await);
    route!(r, "/auth/role/get", AuthRoleGetRequest, |s, q| s.role_get(q).await);
    route!(r, "/auth/role/list", AuthRoleListRequest, |s, _q| s.role_list().await);
    route!(r, "/auth/role/delete", AuthRoleDeleteRequest, |s, q| s
        .role_delete(q)
        .await);
    route!(r, "/auth/role/grant", AuthRoleGrantPermissionRequest, |s, q| s
        .role_grant_permission(q)
        .await);
    route!(r, "/auth/role/revoke", AuthRoleRevokePermissionRequest, |s, q| s
        .role_revoke_permission(q)
        .await);
    r
}
