//! The replicated auth state: users, roles, the enabled flag and the auth
//! revision, with etcd 3.4's rules.
//!
//! Contract:
//! - Only the applier changes it, in log order; each change returns the
//!   backend writes that persist it (see `records.rs`), so a member that
//!   reloads the tables has the same state.
//! - The revision starts at 1 and grows by one with every change that
//!   alters users, roles or permissions, and on disable (not on enable, as
//!   in etcd). Requests carry the revision they were authorized at; a
//!   check against a newer store fails with `AuthOldRevision`, so no write
//!   slips through on permissions that were revoked meanwhile.
//! - Root rules while enabled: the `root` user can't be deleted, can't lose
//!   the `root` role, and the `root` role can't be deleted. Enabling needs a
//!   `root` user holding the `root` role. Granting the `root` role does not
//!   need a role named `root` to exist; a holder of it may do anything.
//! - The permission cache is rebuilt after every change, so checks read
//!   only memory.

use std::collections::{BTreeMap, HashMap};

use etcd_proto::authpb::{Permission, Role, User, UserAddOptions};
use prost::Message as _;

use crate::perms::{PermType, UserPerms};
use crate::records::{self, put_enabled, put_revision, put_role, put_user, AuthTable, Write};
use crate::AuthError;

/// The user whose `root` role makes it the administrator.
pub const ROOT_USER: &str = "root";
/// The role that grants everything.
pub const ROOT_ROLE: &str = "root";

/// Who a request runs as, and the auth revision it was authorized at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthInfo {
    /// The user name ("" for none).
    pub username: String,
    /// The auth revision the credentials were checked at (0 for none).
    pub revision: u64,
}

/// Users, roles, the enabled flag and the revision.
#[derive(Debug, Clone, Default)]
pub struct AuthStore {
    enabled: bool,
    revision: u64,
    users: BTreeMap<String, User>,
    roles: BTreeMap<String, Role>,
    perms: HashMap<String, UserPerms>,
}

fn has_root_role(u: &User) -> bool {
    u.roles.binary_search_by(|r| r.as_str().cmp(ROOT_ROLE)).is_ok()
}

fn name_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl AuthStore {
    /// Rebuilds the state from the rows of the three tables. Returns the
    /// writes a fresh store needs (revision 1, as etcd starts at).
    pub fn load(
        auth: &[(Vec<u8>, Vec<u8>)],
        users: &[(Vec<u8>, Vec<u8>)],
        roles: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(AuthStore, Vec<Write>), AuthError> {
        let mut s = AuthStore::default();
        for (k, v) in auth {
            if k == records::ENABLED_KEY {
                s.enabled = v.as_slice() == [1];
            } else if k == records::REVISION_KEY {
                s.revision = records::decode_revision(v).ok_or(AuthError::Corrupt("auth revision"))?;
            }
        }
        for (_, v) in users {
            let u = User::decode(v.as_slice()).map_err(|_| AuthError::Corrupt("user"))?;
            s.users.insert(name_of(&u.name), u);
        }
        for (_, v) in roles {
            let r = Role::decode(v.as_slice()).map_err(|_| AuthError::Corrupt("role"))?;
            s.roles.insert(name_of(&r.name), r);
        }
        let mut writes = Vec::new();
        if s.revision == 0 {
            s.revision = 1;
            writes.push(put_revision(1));
        }
        s.refresh_perms();
        Ok((s, writes))
    }

    /// Whether auth is enabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The auth revision.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    fn refresh_perms(&mut self) {
        self.perms = self
            .users
            .iter()
            .map(|(name, u)| {
                let perms = u
                    .roles
                    .iter()
                    .filter_map(|r| self.roles.get(r))
                    .flat_map(|r| r.key_permission.iter());
                (name.clone(), UserPerms::from_permissions(perms))
            })
            .collect();
    }

    /// Bumps the revision after a change and rebuilds the cache.
    fn commit(&mut self, mut writes: Vec<Write>) -> Vec<Write> {
        self.revision += 1;
        writes.push(put_revision(self.revision));
        self.refresh_perms();
        writes
    }

    /// AuthEnable: needs a `root` user with the `root` role; a no-op when
    /// already enabled.
    pub fn enable(&mut self) -> Result<Vec<Write>, AuthError> {
        if self.enabled {
            return Ok(vec![]);
        }
        let root = self.users.get(ROOT_USER).ok_or(AuthError::RootUserNotExist)?;
        if !has_root_role(root) {
            return Err(AuthError::RootRoleNotExist);
        }
        self.enabled = true;
        Ok(vec![put_enabled(true)])
    }

    /// AuthDisable; a no-op when already disabled.
    pub fn disable(&mut self) -> Vec<Write> {
        if !self.enabled {
            return vec![];
        }
        self.enabled = false;
        self.commit(vec![put_enabled(false)])
    }

    /// UserAdd with an already computed bcrypt hash (empty for a
    /// `--no-password` user).
    pub fn user_add(
        &mut self,
        name: &str,
        hashed_password: Vec<u8>,
        no_password: bool,
    ) -> Result<Vec<Write>, AuthError> {
        if name.is_empty() {
            return Err(AuthError::UserEmpty);
        }
        if self.users.contains_key(name) {
            return Err(AuthError::UserAlreadyExist);
        }
        let u = User {
            name: name.as_bytes().to_vec(),
            password: if no_password { vec![] } else { hashed_password },
            roles: vec![],
            options: Some(UserAddOptions { no_password }),
        };
        let w = put_user(&u);
        self.users.insert(name.to_string(), u);
        Ok(self.commit(vec![w]))
    }

    /// UserDelete.
    pub fn user_delete(&mut self, name: &str) -> Result<Vec<Write>, AuthError> {
        if self.enabled && name == ROOT_USER {
            return Err(AuthError::InvalidAuthMgmt);
        }
        let u = self.users.remove(name).ok_or(AuthError::UserNotFound)?;
        Ok(self.commit(vec![Write::Delete {
            table: AuthTable::Users,
            key: u.name,
        }]))
    }

    /// UserChangePassword with an already computed bcrypt hash.
    pub fn user_change_password(&mut self, name: &str, hashed_password: Vec<u8>) -> Result<Vec<Write>, AuthError> {
        let u = self.users.get_mut(name).ok_or(AuthError::UserNotFound)?;
        u.password = hashed_password;
        let w = put_user(u);
        Ok(self.commit(vec![w]))
    }

    /// UserGrantRole; granting a role the user holds changes nothing.
    pub fn user_grant_role(&mut self, name: &str, role: &str) -> Result<Vec<Write>, AuthError> {
        if !self.users.contains_key(name) {
            return Err(AuthError::UserNotFound);
        }
        if role != ROOT_ROLE && !self.roles.contains_key(role) {
            return Err(AuthError::RoleNotFound);
        }
        let u = self.users.get_mut(name).expect("checked above");
        let Err(pos) = u.roles.binary_search_by(|r| r.as_str().cmp(role)) else {
            return Ok(vec![]);
        };
        u.roles.insert(pos, role.to_string());
        let w = put_user(u);
        Ok(self.commit(vec![w]))
    }

    /// UserRevokeRole.
    pub fn user_revoke_role(&mut self, name: &str, role: &str) -> Result<Vec<Write>, AuthError> {
        if self.enabled && name == ROOT_USER && role == ROOT_ROLE {
            return Err(AuthError::InvalidAuthMgmt);
        }
        let u = self.users.get_mut(name).ok_or(AuthError::UserNotFound)?;
        let before = u.roles.len();
        u.roles.retain(|r| r != role);
        if u.roles.len() == before {
            return Err(AuthError::RoleNotGranted);
        }
        let w = put_user(u);
        Ok(self.commit(vec![w]))
    }

    /// UserGet: the user's roles.
    pub fn user_get(&self, name: &str) -> Result<Vec<String>, AuthError> {
        self.users
            .get(name)
            .map(|u| u.roles.clone())
            .ok_or(AuthError::UserNotFound)
    }

    /// UserList: every user name, sorted.
    pub fn user_list(&self) -> Vec<String> {
        self.users.keys().cloned().collect()
    }

    /// RoleAdd.
    pub fn role_add(&mut self, name: &str) -> Result<Vec<Write>, AuthError> {
        if name.is_empty() {
            return Err(AuthError::RoleEmpty);
        }
        if self.roles.contains_key(name) {
            return Err(AuthError::RoleAlreadyExist);
        }
        let r = Role {
            name: name.as_bytes().to_vec(),
            key_permission: vec![],
        };
        let w = put_role(&r);
        self.roles.insert(name.to_string(), r);
        Ok(self.commit(vec![w]))
    }

    /// RoleDelete: also revokes the role from every user holding it.
    pub fn role_delete(&mut self, name: &str) -> Result<Vec<Write>, AuthError> {
        if self.enabled && name == ROOT_ROLE {
            return Err(AuthError::InvalidAuthMgmt);
        }
        let r = self.roles.remove(name).ok_or(AuthError::RoleNotFound)?;
        let mut writes = vec![Write::Delete {
            table: AuthTable::Roles,
            key: r.name,
        }];
        for u in self.users.values_mut() {
            let before = u.roles.len();
            u.roles.retain(|x| x != name);
            if u.roles.len() != before {
                writes.push(put_user(u));
            }
        }
        Ok(self.commit(writes))
    }

    /// RoleGet: the role's permissions, sorted by key.
    pub fn role_get(&self, name: &str) -> Result<Vec<Permission>, AuthError> {
        self.roles
            .get(name)
            .map(|r| r.key_permission.clone())
            .ok_or(AuthError::RoleNotFound)
    }

    /// RoleList: every role name, sorted.
    pub fn role_list(&self) -> Vec<String> {
        self.roles.keys().cloned().collect()
    }

    /// RoleGrantPermission: a permission on the same `(key, range_end)`
    /// has its type replaced; otherwise it is added in key order.
    pub fn role_grant_permission(&mut self, name: &str, perm: Permission) -> Result<Vec<Write>, AuthError> {
        let r = self.roles.get_mut(name).ok_or(AuthError::RoleNotFound)?;
        match r
            .key_permission
            .iter_mut()
            .find(|p| p.key == perm.key && p.range_end == perm.range_end)
        {
            Some(p) => p.perm_type = perm.perm_type,
            None => {
                let pos = r.key_permission.partition_point(|p| p.key <= perm.key);
                r.key_permission.insert(pos, perm);
            }
        }
        let w = put_role(r);
        Ok(self.commit(vec![w]))
    }

    /// RoleRevokePermission of exactly `(key, range_end)`.
    pub fn role_revoke_permission(
        &mut self,
        name: &str,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<Vec<Write>, AuthError> {
        let r = self.roles.get_mut(name).ok_or(AuthError::RoleNotFound)?;
        let before = r.key_permission.len();
        r.key_permission.retain(|p| !(p.key == key && p.range_end == range_end));
        if r.key_permission.len() == before {
            return Err(AuthError::PermissionNotGranted);
        }
        let w = put_role(r);
        Ok(self.commit(vec![w]))
    }

    /// Whether `user` holds `role`.
    pub fn has_role(&self, user: &str, role: &str) -> bool {
        self.users.get(user).is_some_and(|u| u.roles.iter().any(|r| r == role))
    }

    /// The stored hash to check a password against, with the revision it
    /// was read at (etcd's `CheckPassword`, minus the slow bcrypt part).
    pub fn password_hash(&self, name: &str) -> Result<(Vec<u8>, u64), AuthError> {
        if !self.enabled {
            return Err(AuthError::AuthNotEnabled);
        }
        let u = self.users.get(name).ok_or(AuthError::AuthFailed)?;
        if u.options.is_some_and(|o| o.no_password) {
            return Err(AuthError::NoPasswordUser);
        }
        Ok((u.password.clone(), self.revision))
    }

    /// Whether a token may be issued to `name` (the applied part of
    /// Authenticate; the password was checked before proposing).
    pub fn can_authenticate(&self, name: &str) -> Result<(), AuthError> {
        if !self.enabled {
            return Err(AuthError::AuthNotEnabled);
        }
        let u = self.users.get(name).ok_or(AuthError::AuthFailed)?;
        if u.options.is_some_and(|o| o.no_password) {
            return Err(AuthError::AuthFailed);
        }
        Ok(())
    }

    /// May `info` access `[key, range_end)` this way? Always yes while
    /// auth is disabled.
    pub fn is_op_permitted(
        &self,
        info: &AuthInfo,
        key: &[u8],
        range_end: &[u8],
        ty: PermType,
    ) -> Result<(), AuthError> {
        if !self.enabled {
            return Ok(());
        }
        if info.revision == 0 {
            return Err(AuthError::UserEmpty);
        }
        if info.revision < self.revision {
            return Err(AuthError::AuthOldRevision);
        }
        let Some(u) = self.users.get(&info.username) else {
            return Err(AuthError::PermissionDenied);
        };
        if has_root_role(u) {
            return Ok(());
        }
        match self.perms.get(&info.username) {
            Some(p) if p.allows(key, range_end, ty) => Ok(()),
            _ => Err(AuthError::PermissionDenied),
        }
    }

    /// May `info` administer the cluster (holds the `root` role)? Always
    /// yes while auth is disabled.
    pub fn is_admin_permitted(&self, info: Option<&AuthInfo>) -> Result<(), AuthError> {
        if !self.enabled {
            return Ok(());
        }
        let name = match info {
            Some(i) if !i.username.is_empty() => &i.username,
            _ => return Err(AuthError::UserEmpty),
        };
        let u = self.users.get(name).ok_or(AuthError::UserNotFound)?;
        if !has_root_role(u) {
            return Err(AuthError::PermissionDenied);
        }
        Ok(())
    }
}
