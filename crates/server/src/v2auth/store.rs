//! The v2 auth store: etcd 3.4's `v2auth.store`, kept in the v2 store
//! itself and changed with ordinary v2 requests through Raft, so it is
//! replicated, survives restarts in the WAL and travels in snapshots.
//!
//! Layout: `/2/enabled` (`true`/`false` as JSON), `/2/users/<name>` and
//! `/2/roles/<name>` (JSON records, see [`super::model`]). The root role is
//! built in and never stored.
//!
//! Order matters for clients: every read, quorum read (`QGET`) and write is
//! the one etcd makes, in etcd's order, because each shows in
//! `/v2/stats/store` and writes move the v2 index. In particular, the
//! first write of a process first creates `/2`, `/2/users/`, `/2/roles/`
//! and `/2/enabled` (`false`) with `prevExist=false` (failing harmlessly
//! when they exist), once per server, as etcd's `ensureAuthDirectories`.

use std::sync::{Arc, Mutex, Weak};

use etcd_proto::etcdserverpb::Request;
use etcd_proto::EtcdError;
use etcd_v2store::error::{KEY_NOT_FOUND, NODE_EXIST};
use etcd_v2store::Event;

use super::model::*;
use crate::{EtcdServer, V2Failure, V2Response};

/// The v2 store's prefix for auth records.
pub const STORE_PERMS_PREFIX: &str = "/2";

/// The servers whose auth directories were ensured in this process (etcd
/// keeps this flag in its per-process auth store; `Weak` keeps a dropped
/// server's address from being reused while listed).
static ENSURED: Mutex<Vec<Weak<EtcdServer>>> = Mutex::new(Vec::new());

/// The v2 auth operations of one server.
pub struct V2AuthStore<'a> {
    server: &'a Arc<EtcdServer>,
}

fn from_failure(f: V2Failure) -> V2AuthError {
    match f {
        V2Failure::Store(e) => V2AuthError::Store(e),
        V2Failure::Server(e) => V2AuthError::Server(e),
    }
}

fn is_code(e: &V2AuthError, code: u32) -> bool {
    matches!(e, V2AuthError::Store(s) if s.code == code)
}

fn value(ev: &Event) -> Result<serde_json::Value, V2AuthError> {
    let raw = ev.node.value.as_deref().unwrap_or("");
    serde_json::from_str(raw).map_err(|e| V2AuthError::Internal(e.to_string()))
}

fn undecodable(_: DecodeError) -> V2AuthError {
    V2AuthError::Internal("stored v2 auth record does not decode".into())
}

fn last_segment(key: &str) -> String {
    key.rsplit('/').next().unwrap_or("").to_string()
}

impl<'a> V2AuthStore<'a> {
    /// The auth store of `server`.
    pub fn new(server: &'a Arc<EtcdServer>) -> V2AuthStore<'a> {
        V2AuthStore { server }
    }

    async fn run(&self, r: Request) -> Result<Event, V2AuthError> {
        match self.server.v2_do(r).await.map_err(from_failure)? {
            V2Response::Event(ev) => Ok(ev),
            V2Response::Watcher(_) => Err(V2AuthError::Server(EtcdError::Stopped)),
        }
    }

    /// A read of `/2/<res>`, local or (`quorum`) through Raft.
    async fn read(&self, res: &str, quorum: bool) -> Result<Event, V2AuthError> {
        self.run(Request {
            method: Some(if quorum { "QGET" } else { "GET" }.into()),
            path: Some(format!("{STORE_PERMS_PREFIX}/{}", res.trim_matches('/'))),
            ..Default::default()
        })
        .await
    }

    fn ensured(&self) -> bool {
        let list = ENSURED.lock().unwrap_or_else(|e| e.into_inner());
        let me = Arc::downgrade(self.server);
        list.iter().any(|w| w.ptr_eq(&me))
    }

    fn mark_ensured(&self) {
        let mut list = ENSURED.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(self.server));
    }

    async fn create(&self, path: &str, dir: bool, val: &str) -> Result<Event, V2AuthError> {
        self.run(Request {
            method: Some("PUT".into()),
            path: Some(path.into()),
            dir: Some(dir),
            val: Some(val.into()),
            prev_exist: Some(false),
            ..Default::default()
        })
        .await
    }

    /// etcd's `ensureAuthDirectories` (see the module docs).
    async fn ensure_dirs(&self) -> Result<(), V2AuthError> {
        if self.ensured() {
            return Ok(());
        }
        let p = STORE_PERMS_PREFIX;
        for dir in [p.to_string(), format!("{p}/users/"), format!("{p}/roles/")] {
            match self.create(&dir, true, "").await {
                Err(e) if !is_code(&e, NODE_EXIST) => return Err(e),
                _ => {}
            }
        }
        match self.create(&format!("{p}/enabled"), false, "false").await {
            Err(e) if !is_code(&e, NODE_EXIST) => Err(e),
            _ => {
                self.mark_ensured();
                Ok(())
            }
        }
    }

    /// A `PUT` of `/2/<res>` (`prev_exist`: update, else create).
    async fn set(&self, res: &str, json: String, prev_exist: bool) -> Result<Event, V2AuthError> {
        self.ensure_dirs().await?;
        self.run(Request {
            method: Some("PUT".into()),
            path: Some(format!("{STORE_PERMS_PREFIX}/{res}")),
            val: Some(json),
            prev_exist: Some(prev_exist),
            ..Default::default()
        })
        .await
    }

    async fn delete(&self, res: &str) -> Result<(), V2AuthError> {
        self.ensure_dirs().await?;
        self.run(Request {
            method: Some("DELETE".into()),
            path: Some(format!("{STORE_PERMS_PREFIX}/{res}")),
            prev_exist: Some(true),
            ..Default::default()
        })
        .await
        .map(|_| ())
    }

    /// Whether auth is on (a local read of `/2/enabled`; anything but a
    /// stored `true` is off).
    pub async fn auth_enabled(&self) -> bool {
        match self.read("enabled", false).await {
            Ok(ev) => matches!(value(&ev), Ok(serde_json::Value::Bool(true))),
            Err(_) => false,
        }
    }

    async fn children(&self, res: &str) -> Result<Vec<String>, V2AuthError> {
        match self.read(res, false).await {
            Ok(ev) => Ok(ev.node.nodes.iter().map(|n| last_segment(&n.key)).collect()),
            Err(e) if is_code(&e, KEY_NOT_FOUND) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The user names, sorted.
    pub async fn all_users(&self) -> Result<Vec<String>, V2AuthError> {
        let mut names = self.children("users").await?;
        names.sort();
        Ok(names)
    }

    async fn user(&self, name: &str, quorum: bool) -> Result<User, V2AuthError> {
        let ev = match self.read(&format!("users/{name}"), quorum).await {
            Err(e) if is_code(&e, KEY_NOT_FOUND) => {
                return Err(auth_err(404, format!("User {name} does not exist.")))
            }
            other => other?,
        };
        let u = User::from_json(&value(&ev)?).map_err(undecodable)?;
        Ok(u.with_root_role())
    }

    /// One user (local read).
    pub async fn get_user(&self, name: &str) -> Result<User, V2AuthError> {
        self.user(name, false).await
    }

    /// Updates the user when it exists (a quorum read decides), creates it
    /// otherwise; `true` when created.
    pub async fn create_or_update_user(&self, u: User) -> Result<(User, bool), V2AuthError> {
        if self.user(&u.user, true).await.is_ok() {
            return Ok((self.update_user(u).await?, false));
        }
        Ok((self.create_user(u).await?, true))
    }

    /// Creates a user (root gets the root role); the stored password is a
    /// bcrypt hash.
    pub async fn create_user(&self, u: User) -> Result<User, V2AuthError> {
        let mut u = u.with_root_role();
        if u.password.is_empty() {
            let msg = format!("Cannot create user {} with an empty password", u.user);
            return Err(auth_err(400, msg));
        }
        u.password = hash(u.password.clone()).await?;
        match self
            .set(&format!("users/{}", u.user), go_json(&u), false)
            .await
        {
            Err(e) if is_code(&e, NODE_EXIST) => {
                Err(auth_err(409, format!("User {} already exists.", u.user)))
            }
            Err(e) => Err(e),
            Ok(_) => {
                tracing::info!(target: "etcdserver", user_name = %u.user, "created a user");
                Ok(u)
            }
        }
    }

    /// Deletes a user; root only while auth is off.
    pub async fn delete_user(&self, name: &str) -> Result<(), V2AuthError> {
        if self.auth_enabled().await && name == ROOT_USER {
            return Err(auth_err(
                403,
                "Cannot delete root user while auth is enabled.",
            ));
        }
        match self.delete(&format!("users/{name}")).await {
            Err(e) if is_code(&e, KEY_NOT_FOUND) => {
                Err(auth_err(404, format!("User {name} does not exist")))
            }
            other => other,
        }
    }

    /// Applies a password change and role grants/revokes to a user.
    pub async fn update_user(&self, u: User) -> Result<User, V2AuthError> {
        let old = self.user(&u.user, true).await?;
        let new_hash = match u.password.is_empty() {
            true => None,
            false => Some(hash(u.password.clone()).await?),
        };
        let new = old.merge(&u, new_hash)?;
        if new == old {
            let msg = "User not updated. Use grant/revoke/password to update the user.";
            return Err(auth_err(400, msg));
        }
        self.set(&format!("users/{}", u.user), go_json(&new), true)
            .await?;
        tracing::info!(target: "etcdserver", user_name = %u.user, "updated a user");
        Ok(new)
    }

    /// The role names with root, sorted.
    pub async fn all_roles(&self) -> Result<Vec<String>, V2AuthError> {
        let mut names = vec![ROOT_ROLE.to_string()];
        names.extend(self.children("roles").await?);
        names.sort();
        Ok(names)
    }

    async fn role(&self, name: &str, quorum: bool) -> Result<Role, V2AuthError> {
        if name == ROOT_ROLE {
            return Ok(root_role());
        }
        let ev = match self.read(&format!("roles/{name}"), quorum).await {
            Err(e) if is_code(&e, KEY_NOT_FOUND) => {
                return Err(auth_err(404, format!("Role {name} does not exist.")))
            }
            other => other?,
        };
        Role::from_json(&value(&ev)?).map_err(undecodable)
    }

    /// One role (local read; root is built in).
    pub async fn get_role(&self, name: &str) -> Result<Role, V2AuthError> {
        self.role(name, false).await
    }

    /// Creates a role as given.
    pub async fn create_role(&self, r: &Role) -> Result<(), V2AuthError> {
        if r.role == ROOT_ROLE {
            return Err(root_role_error(&r.role));
        }
        match self
            .set(&format!("roles/{}", r.role), go_json(r), false)
            .await
        {
            Err(e) if is_code(&e, NODE_EXIST) => {
                Err(auth_err(409, format!("Role {} already exists.", r.role)))
            }
            Err(e) => Err(e),
            Ok(_) => {
                tracing::info!(target: "etcdserver", role_name = %r.role, "created a new role");
                Ok(())
            }
        }
    }

    /// Deletes a role (never root).
    pub async fn delete_role(&self, name: &str) -> Result<(), V2AuthError> {
        if name == ROOT_ROLE {
            return Err(root_role_error(name));
        }
        match self.delete(&format!("roles/{name}")).await {
            Err(e) if is_code(&e, KEY_NOT_FOUND) => {
                Err(auth_err(404, format!("Role {name} doesn't exist.")))
            }
            other => other,
        }
    }

    /// Applies a role's grant and revoke.
    pub async fn update_role(&self, r: &Role) -> Result<Role, V2AuthError> {
        if r.role == ROOT_ROLE {
            return Err(root_role_error(&r.role));
        }
        let old = self.role(&r.role, true).await?;
        let new = old.merge(r)?;
        if new == old {
            return Err(auth_err(
                400,
                "Role not updated. Use grant/revoke to update the role.",
            ));
        }
        self.set(&format!("roles/{}", r.role), go_json(&new), true)
            .await?;
        tracing::info!(target: "etcdserver", role_name = %r.role, "updated a new role");
        Ok(new)
    }

    /// Turns auth on: root must exist; a missing guest role is created with
    /// full access.
    pub async fn enable_auth(&self) -> Result<(), V2AuthError> {
        if self.auth_enabled().await {
            return Err(auth_err(409, "already enabled"));
        }
        if self.user(ROOT_USER, true).await.is_err() {
            return Err(auth_err(409, "No root user available, please create one"));
        }
        if self.role(GUEST_ROLE, true).await.is_err() {
            tracing::info!(target: "etcdserver", "no guest role access found; creating default");
            self.create_role(&default_guest_role()).await?;
        }
        self.set("enabled", "true".into(), true).await?;
        tracing::info!(target: "etcdserver", "enabled auth");
        Ok(())
    }

    /// Turns auth off.
    pub async fn disable_auth(&self) -> Result<(), V2AuthError> {
        if !self.auth_enabled().await {
            return Err(auth_err(409, "already disabled"));
        }
        self.set("enabled", "false".into(), true).await?;
        tracing::info!(target: "etcdserver", "disabled auth");
        Ok(())
    }

    /// Whether `password` is the user's (bcrypt, off the async threads).
    pub async fn check_password(&self, user: &User, password: &str) -> bool {
        let (hash, password) = (user.password.clone(), password.to_string());
        tokio::task::spawn_blocking(move || etcd_auth::verify_password(&password, hash.as_bytes()))
            .await
            .unwrap_or(false)
    }
}

fn root_role_error(name: &str) -> V2AuthError {
    auth_err(403, format!("Cannot modify role {name}: is root role."))
}

/// bcrypt at Go's default cost (etcd's v2 auth ignores `--bcrypt-cost`).
async fn hash(password: String) -> Result<String, V2AuthError> {
    let cost = etcd_auth::BCRYPT_COST_DEFAULT;
    let h = tokio::task::spawn_blocking(move || etcd_auth::hash_password(&password, cost))
        .await
        .map_err(|e| V2AuthError::Internal(e.to_string()))?
        .map_err(|e| V2AuthError::Internal(e.to_string()))?;
    String::from_utf8(h).map_err(|e| V2AuthError::Internal(e.to_string()))
}
