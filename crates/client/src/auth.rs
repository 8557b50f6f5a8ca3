//! Auth service: enable/disable, users, roles, permissions.
//!
//! Every call here is a thin wrapper over the RPC of the same name; all are
//! mutations except the reads (`user_get`, `user_list`, `role_get`,
//! `role_list`), which are retried on failover.

use etcd_proto::authpb::{Permission, UserAddOptions};
use etcd_proto::etcdserverpb::auth_client::AuthClient;
use etcd_proto::etcdserverpb::*;

use crate::client::{Client, Retry};
use crate::error::Result;

macro_rules! auth_call {
    ($(#[$doc:meta])* $name:ident, $retry:expr, $req:ty, $resp:ty) => {
        $(#[$doc])*
        pub async fn $name(&self, req: $req) -> Result<$resp> {
            self.unary($retry, req, |ch, r| async move { AuthClient::new(ch).$name(r).await })
                .await
        }
    };
}

impl Client {
    auth_call!(/// `AuthEnable`.
        auth_enable, Retry::NonRepeatable, AuthEnableRequest, AuthEnableResponse);
    auth_call!(/// `AuthDisable`.
        auth_disable, Retry::NonRepeatable, AuthDisableRequest, AuthDisableResponse);
    auth_call!(/// `UserAdd`.
        user_add, Retry::NonRepeatable, AuthUserAddRequest, AuthUserAddResponse);
    auth_call!(/// `UserGet`.
        user_get, Retry::Repeatable, AuthUserGetRequest, AuthUserGetResponse);
    auth_call!(/// `UserList`.
        user_list, Retry::Repeatable, AuthUserListRequest, AuthUserListResponse);
    auth_call!(/// `UserDelete`.
        user_delete, Retry::NonRepeatable, AuthUserDeleteRequest, AuthUserDeleteResponse);
    auth_call!(/// `UserChangePassword`.
        user_change_password, Retry::NonRepeatable, AuthUserChangePasswordRequest, AuthUserChangePasswordResponse);
    auth_call!(/// `UserGrantRole`.
        user_grant_role, Retry::NonRepeatable, AuthUserGrantRoleRequest, AuthUserGrantRoleResponse);
    auth_call!(/// `UserRevokeRole`.
        user_revoke_role, Retry::NonRepeatable, AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponse);
    auth_call!(/// `RoleAdd`.
        role_add, Retry::NonRepeatable, AuthRoleAddRequest, AuthRoleAddResponse);
    auth_call!(/// `RoleGet`.
        role_get, Retry::Repeatable, AuthRoleGetRequest, AuthRoleGetResponse);
    auth_call!(/// `RoleList`.
        role_list, Retry::Repeatable, AuthRoleListRequest, AuthRoleListResponse);
    auth_call!(/// `RoleDelete`.
        role_delete, Retry::NonRepeatable, AuthRoleDeleteRequest, AuthRoleDeleteResponse);
    auth_call!(/// `RoleGrantPermission`.
        role_grant_permission, Retry::NonRepeatable, AuthRoleGrantPermissionRequest, AuthRoleGrantPermissionResponse);
    auth_call!(/// `RoleRevokePermission`.
        role_revoke_permission, Retry::NonRepeatable, AuthRoleRevokePermissionRequest, AuthRoleRevokePermissionResponse);

    /// Adds a user; an empty password with `no_password` creates a user that
    /// can only authenticate by certificate.
    pub async fn add_user(
        &self,
        name: &str,
        password: &str,
        no_password: bool,
    ) -> Result<AuthUserAddResponse> {
        self.user_add(AuthUserAddRequest {
            name: name.to_string(),
            password: password.to_string(),
            options: Some(UserAddOptions { no_password }),
            ..Default::default()
        })
        .await
    }

    /// Grants `perm` to `role`.
    pub async fn grant_permission(
        &self,
        role: &str,
        perm: Permission,
    ) -> Result<AuthRoleGrantPermissionResponse> {
        self.role_grant_permission(AuthRoleGrantPermissionRequest {
            name: role.to_string(),
            perm: Some(perm),
        })
        .await
    }
}
