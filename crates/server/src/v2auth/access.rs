//! Who may do what over the v2 API (etcd 3.4's `client_auth.go` checks),
//! given what the request carried: the store is read exactly as etcd reads
//! it (so `/v2/stats/store` counts match), and nothing is read at all for
//! the requests etcd lets through unchecked.
//!
//! - Key requests: when auth is on, a request without credentials acts as
//!   the `guest` role (only exact-or-prefix access, never recursive), one
//!   with basic auth as the user's roles (recursive requests need a `*`
//!   pattern). Bad credentials are refused outright.
//! - Member changes and `/v2/auth` management: the user must hold the root
//!   role (reads of `/v2/members` and `/v2/auth/enable` are open).
//! - With `--client-cert-auth`, a request without an `Authorization`
//!   header may name its user by the verified certificate's common name.

use super::model::{User, GUEST_ROLE, ROOT_ROLE};
use super::store::V2AuthStore;

/// The credentials a v2 request carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V2Caller {
    /// The `Authorization` header was present and not empty.
    pub has_authorization: bool,
    /// User and password from a well-formed `Basic` header.
    pub basic: Option<(String, String)>,
    /// The verified client certificate's common name (only set with
    /// `--client-cert-auth`).
    pub cert_cn: Option<String>,
}

impl V2AuthStore<'_> {
    async fn basic_user(&self, caller: &V2Caller) -> Option<User> {
        let (name, password) = caller.basic.as_ref()?;
        let user = self.get_user(name).await.ok()?;
        if self.check_password(&user, password).await {
            return Some(user);
        }
        tracing::warn!(target: "etcdserver", user_name = %name, "incorrect password");
        None
    }

    async fn cert_user(&self, caller: &V2Caller) -> Option<User> {
        self.get_user(caller.cert_cn.as_ref()?).await.ok()
    }

    /// etcd's `hasRootAccess`: auth is off, or the caller is a user with
    /// the root role.
    pub async fn has_root_access(&self, caller: &V2Caller) -> bool {
        if !self.auth_enabled().await {
            return true;
        }
        let user = if !caller.has_authorization && caller.cert_cn.is_some() {
            self.cert_user(caller).await
        } else {
            self.basic_user(caller).await
        };
        user.is_some_and(|u| u.roles.iter().flatten().any(|r| r == ROOT_ROLE))
    }

    /// etcd's `hasWriteRootAccess`: reads (`GET`, `HEAD`) pass unchecked.
    pub async fn has_write_root_access(&self, method: &str, caller: &V2Caller) -> bool {
        matches!(method, "GET" | "HEAD") || self.has_root_access(caller).await
    }

    /// etcd's `hasKeyPrefixAccess` for `key` (the path after `/v2/keys`).
    pub async fn has_key_access(
        &self,
        caller: &V2Caller,
        key: &str,
        recursive: bool,
        write: bool,
    ) -> bool {
        if !self.auth_enabled().await {
            return true;
        }
        let user = if caller.has_authorization {
            match self.basic_user(caller).await {
                Some(u) => u,
                None => return false,
            }
        } else {
            match self.cert_user(caller).await {
                Some(u) => u,
                None => return self.has_guest_access(key, write).await,
            }
        };
        for name in user.roles.iter().flatten() {
            let Ok(role) = self.get_role(name).await else {
                continue;
            };
            let ok = if recursive {
                role.has_recursive_access(key, write)
            } else {
                role.has_key_access(key, write)
            };
            if ok {
                return true;
            }
        }
        tracing::warn!(target: "etcdserver", user_name = %user.user, key, "invalid access for user on key");
        false
    }

    async fn has_guest_access(&self, key: &str, write: bool) -> bool {
        match self.get_role(GUEST_ROLE).await {
            Ok(role) => role.has_key_access(key, write),
            Err(_) => false,
        }
    }
}
