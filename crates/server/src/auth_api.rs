//! The Auth service's calls on the server (etcd's `v3_server.go` Auth*).
//!
//! Every change and every listing is proposed through Raft: the applier
//! checks the caller's root role (and the auth revision) at apply time, the
//! same on every member. Passwords are bcrypt-hashed here, before
//! proposing, so the Raft log never holds a plain password and apply stays
//! deterministic (etcd 3.5's `hashedPassword`). Authenticate checks the
//! password locally first, then proposes only the user name and a fresh
//! token prefix; if the auth store changed between the check and the
//! apply, it checks again (etcd does the same).

use etcd_auth::{hash_password, verify_password, SimpleTokens, TokenProvider};
use etcd_proto::etcdserverpb::*;
use etcd_proto::EtcdError;

use crate::apply::{ApplyResponse, AuthApplied};
use crate::auth::auth_error;
use crate::EtcdServer;

/// How often Authenticate re-checks a password that went stale while its
/// token was being issued.
const AUTHENTICATE_ATTEMPTS_MAX: usize = 5;

impl EtcdServer {
    async fn propose_auth(&self, req: InternalRaftRequest) -> Result<(AuthApplied, ResponseHeader), EtcdError> {
        match self.propose(req).await? {
            ApplyResponse::Auth(a) => Ok((a, self.header(0))),
            other => {
                tracing::error!(target: "etcdserver", "unexpected apply response {other:?}");
                Err(EtcdError::Stopped)
            }
        }
    }

    async fn hash_new_password(&self, password: String) -> Result<String, EtcdError> {
        let cost = self.auth.bcrypt_cost;
        let hashed = tokio::task::spawn_blocking(move || hash_password(&password, cost))
            .await
            .map_err(|_| EtcdError::Stopped)?
            .map_err(auth_error)?;
        Ok(String::from_utf8(hashed).expect("bcrypt hashes are ASCII"))
    }

    /// Auth.AuthEnable.
    pub async fn auth_enable(&self) -> Result<AuthEnableResponse, EtcdError> {
        let req = InternalRaftRequest {
            auth_enable: Some(AuthEnableRequest {}),
            ..Default::default()
        };
        let (_, h) = self.propose_auth(req).await?;
        Ok(AuthEnableResponse { header: Some(h) })
    }

    /// Auth.AuthDisable.
    pub async fn auth_disable(&self) -> Result<AuthDisableResponse, EtcdError> {
        let req = InternalRaftRequest {
            auth_disable: Some(AuthDisableRequest {}),
            ..Default::default()
        };
        let (_, h) = self.propose_auth(req).await?;
        Ok(AuthDisableResponse { header: Some(h) })
    }

    /// Auth.AuthStatus (etcd 3.5): answered locally, no permission needed.
    pub fn auth_status(&self) -> AuthStatusResponse {
        let store = self.auth.store.read();
        AuthStatusResponse {
            header: Some(self.header(0)),
            enabled: store.is_enabled(),
            auth_revision: store.revision(),
        }
    }

    /// Auth.Authenticate.
    pub async fn authenticate(&self, req: AuthenticateRequest) -> Result<AuthenticateResponse, EtcdError> {
        self.linearizable_barrier().await?;
        for _ in 0..AUTHENTICATE_ATTEMPTS_MAX {
            let (hash, checked_revision) = self.auth.store.read().password_hash(&req.name).map_err(auth_error)?;
            let password = req.password.clone();
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .map_err(|_| EtcdError::Stopped)?;
            if !ok {
                tracing::warn!(target: "auth", "invalid authentication was requested for user {}", req.name);
                return Err(EtcdError::AuthFailed);
            }
            let simple_token = match &self.auth.tokens {
                TokenProvider::Simple(_) => SimpleTokens::gen_prefix(),
                TokenProvider::Jwt(_) => String::new(),
            };
            let internal = InternalAuthenticateRequest {
                name: req.name.clone(),
                password: String::new(),
                simple_token,
            };
            let (applied, h) = self
                .propose_auth(InternalRaftRequest {
                    authenticate: Some(internal),
                    ..Default::default()
                })
                .await?;
            if checked_revision == self.auth.store.read().revision() {
                let AuthApplied::Token(token) = applied else {
                    return Err(EtcdError::Stopped);
                };
                return Ok(AuthenticateResponse { header: Some(h), token });
            }
            tracing::info!(target: "auth", "revision when password checked became stale; retrying");
        }
        Err(EtcdError::AuthOldRevision)
    }

    /// Auth.UserAdd.
    pub async fn user_add(&self, mut req: AuthUserAddRequest) -> Result<AuthUserAddResponse, EtcdError> {
        let no_password = req.options.is_some_and(|o| o.no_password);
        if !no_password {
            req.hashed_password = self.hash_new_password(std::mem::take(&mut req.password)).await?;
        }
        req.password.clear();
        let (_, h) = self
            .propose_auth(InternalRaftRequest {
                auth_user_add: Some(req),
                ..Default::default()
            })
            .await?;
        Ok(AuthUserAddResponse { header: Some(h) })
    }

    /// Auth.UserGet: root, or the user itself.
    pub async fn user_get(&self, req: AuthUserGetRequest) -> Result<AuthUserGetResponse, EtcdError> {
        let (a, h) = self
            .propose_auth(InternalRaftRequest {
                auth_user_get: Some(req),
                ..Default::default()
            })
            .await?;
        let AuthApplied::Names(roles) = a else {
            return Err(EtcdError::Stopped);
        };
        Ok(AuthUserGetResponse { header: Some(h), roles })
    }

    /// Auth.UserList.
    pub async fn user_list(&self) -> Result<AuthUserListResponse, EtcdError> {
        let req = InternalRaftRequest {
            auth_user_list: Some(AuthUserListRequest {}),
            ..Default::default()
        };
        let (a, h) = self.propose_auth(req).await?;
        let AuthApplied::Names(users) = a else {
            return Err(EtcdError::Stopped);
        };
        Ok(AuthUserListResponse { header: Some(h), users })
    }

    /// Auth.UserDelete.
    pub async fn user_delete(&self, req: AuthUserDeleteRequest) -> Result<AuthUserDeleteResponse, EtcdError> {
        let (_, h) = self
            .propose_auth(InternalRaftRequest {
                auth_user_delete: Some(req),
                ..Default::default()
            })
            .await?;
        Ok(AuthUserDeleteResponse { header: Some(h) })
    }

    /// Auth.UserChangePassword.
    pub async fn user_change_password(
        &self,
        mut req: AuthUserChangePasswordRequest,
    ) -> Result<AuthUserChangePasswordResponse, EtcdError> {
        req.hashed_password = self.hash_new_password(std::mem::take(&mut req.password)).await?;
        let r = InternalRaftRequest {
            auth_user_change_password: Some(req),
            ..Default::default()
        };
        let (_, h) = self.propose_auth(r).await?;
        Ok(AuthUserChangePasswordResponse { header: Some(h) })
    }

    /// Auth.UserGrantRole.
    pub async fn user_grant_role(&self, req: AuthUserGrantRoleRequest) -> Result<AuthUserGrantRoleResponse, EtcdError> {
        let r = InternalRaftRequest {
            auth_user_grant_role: Some(req),
            ..Default::default()
        };
        let (_, h) = self.propose_auth(r).await?;
        Ok(AuthUserGrantRoleResponse { header: Some(h) })
    }

    /// Auth.UserRevokeRole.
    pub async fn user_revoke_role(
        &self,
        req: AuthUserRevokeRoleRequest,
    ) -> Result<AuthUserRevokeRoleResponse, EtcdError> {
        let r = InternalRaftRequest {
            auth_user_revoke_role: Some(req),
            ..Default::default()
        };
        let (_, h) = self.propose_auth(r).await?;
        Ok(AuthUserRevokeRoleResponse { header: Some(h) })
    }

    /// Auth.RoleAdd.
    pub async fn role_add(&self, req: AuthRoleAddRequest) -> Result<AuthRoleAddResponse, EtcdError> {
        let (_, h) = self
            .propose_auth(InternalRaftRequest {
                auth_role_add: Some(req),
                ..Default::default()
            })
            .await?;
        Ok(AuthRoleAddResponse { header: Some(h) })
    }

    /// Auth.RoleGet: root, or a holder of the role.
    pub async fn role_get(&self, req: AuthRoleGetRequest) -> Result<AuthRoleGetResponse, EtcdError> {
        let (a, h) = self
            .propose_auth(InternalRaftRequest {
                auth_role_get: Some(req),
                ..Default::default()
            })
            .await?;
        let AuthApplied::Permissions(perm) = a else {
            return Err(EtcdError::Stopped);
        };
        Ok(AuthRoleGetResponse { header: Some(h), perm })
    }

    /// Auth.RoleList.
    pub async fn role_list(&self) -> Result<AuthRoleListResponse, EtcdError> {
        let req = InternalRaftRequest {
            auth_role_list: Some(AuthRoleListRequest {}),
            ..Default::default()
        };
        let (a, h) = self.propose_auth(req).await?;
        let AuthApplied::Names(roles) = a else {
            return Err(EtcdError::Stopped);
        };
        Ok(AuthRoleListResponse { header: Some(h), roles })
    }

    /// Auth.RoleDelete.
    pub async fn role_delete(&self, req: AuthRoleDeleteRequest) -> Result<AuthRoleDeleteResponse, EtcdError> {
        let (_, h) = self
            .propose_auth(InternalRaftRequest {
                auth_role_delete: Some(req),
                ..Default::default()
            })
            .await?;
        Ok(AuthRoleDeleteResponse { header: Some(h) })
    }

    /// Auth.RoleGrantPermission.
    pub async fn role_grant_permission(
        &self,
        req: AuthRoleGrantPermissionRequest,
    ) -> Result<AuthRoleGrantPermissionResponse, EtcdError> {
        let r = InternalRaftRequest {
            auth_role_grant_permission: Some(req),
            ..Default::default()
        };
        let (_, h) = self.propose_auth(r).await?;
        Ok(AuthRoleGrantPermissionResponse { header: Some(h) })
    }

    /// Auth.RoleRevokePermission.
    pub async fn role_revoke_permission(
        &self,
        req: AuthRoleRevokePermissionRequest,
    ) -> Result<AuthRoleRevokePermissionResponse, EtcdError> {
        let r = InternalRaftRequest {
            auth_role_revoke_permission: Some(req),
            ..Default::default()
        };
        let (_, h) = self.propose_auth(r).await?;
        Ok(AuthRoleRevokePermissionResponse { header: Some(h) })
    }
}
