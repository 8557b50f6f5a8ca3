//! The v2 auth records and their rules, without I/O: users and roles as
//! etcd 3.4 stores them (JSON values under `/2/users/<name>` and
//! `/2/roles/<name>` of the v2 store), the grant/revoke merges, the key
//! pattern match, and Go-compatible JSON in both directions.
//!
//! Go's `encoding/json` decides what clients see, so the model keeps its
//! distinctions: a nil list (`null`) differs from an empty one (`[]`), which
//! is why lists are `Option<Vec<_>>`; `omitempty` drops nil *and* empty
//! lists; decoding matches field names case-insensitively, ignores unknown
//! fields and leaves fields given as `null` untouched. Derived equality is
//! Go's `reflect.DeepEqual` on these types, which etcd uses to detect an
//! update that changes nothing.

use serde::Serialize;
use serde_json::{Map, Value};

/// The role every user named `root` holds; it may do everything.
pub const ROOT_ROLE: &str = "root";
/// The role of requests that carry no credentials.
pub const GUEST_ROLE: &str = "guest";
/// The user that must exist before auth can be enabled.
pub const ROOT_USER: &str = "root";

/// Why a v2 auth operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum V2AuthError {
    /// etcd's `auth.Error`: an HTTP status and an `auth: …` message.
    #[error("{message}")]
    Auth {
        /// The HTTP status etcd answers with.
        status: u16,
        /// The message, `auth: ` included.
        message: String,
    },
    /// The v2 store refused a request on `/2/…`.
    #[error(transparent)]
    Store(#[from] etcd_v2store::V2Error),
    /// Raft did not answer, or the server stops.
    #[error(transparent)]
    Server(#[from] etcd_proto::EtcdError),
    /// A stored record does not decode, or hashing failed.
    #[error("{0}")]
    Internal(String),
}

/// etcd's `authErr`: `auth: ` and the message.
pub(crate) fn auth_err(status: u16, message: impl std::fmt::Display) -> V2AuthError {
    V2AuthError::Auth {
        status,
        message: format!("auth: {message}"),
    }
}

/// Read and write key patterns (`/foo` exactly, `/foo/*` by prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RwPermission {
    /// Patterns that may be read; `None` is Go's nil.
    pub read: Option<Vec<String>>,
    /// Patterns that may be written; `None` is Go's nil.
    pub write: Option<Vec<String>>,
}

/// A role's permissions (only the key space has any in v2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Permissions {
    /// Key permissions.
    pub kv: RwPermission,
}

/// A role; `grant`/`revoke` only travel in update requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Role {
    /// Its name.
    pub role: String,
    /// What it may do.
    pub permissions: Permissions,
    /// Patterns to add (update requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<Permissions>,
    /// Patterns to remove (update requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke: Option<Permissions>,
}

/// A user; `password` is a bcrypt hash once stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct User {
    /// Its name.
    pub user: String,
    /// The password (plain in requests, a hash in the store).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// Its roles; `None` is Go's nil.
    pub roles: Option<Vec<String>>,
    /// Roles to add (update requests).
    #[serde(skip_serializing_if = "empty_list")]
    pub grant: Option<Vec<String>>,
    /// Roles to remove (update requests).
    #[serde(skip_serializing_if = "empty_list")]
    pub revoke: Option<Vec<String>>,
}

fn empty_list(v: &Option<Vec<String>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

fn len(v: &Option<Vec<String>>) -> usize {
    v.as_ref().map_or(0, Vec::len)
}

/// The built-in root role (never stored).
pub fn root_role() -> Role {
    Role {
        role: ROOT_ROLE.into(),
        permissions: everything(),
        ..Role::default()
    }
}

/// The guest role created when auth is enabled without one.
pub fn default_guest_role() -> Role {
    Role {
        role: GUEST_ROLE.into(),
        permissions: everything(),
        ..Role::default()
    }
}

fn everything() -> Permissions {
    Permissions {
        kv: RwPermission {
            read: Some(vec!["/*".into()]),
            write: Some(vec!["/*".into()]),
        },
    }
}

impl Permissions {
    /// Go's `IsEmpty` (a nil pointer is empty too: use on `Option`).
    pub fn is_empty(p: Option<&Permissions>) -> bool {
        p.is_none_or(|p| len(&p.kv.read) == 0 && len(&p.kv.write) == 0)
    }
}

/// A sorted set of names, as etcd's merges produce (never nil).
fn sorted(set: std::collections::BTreeSet<String>) -> Option<Vec<String>> {
    Some(set.into_iter().collect())
}

fn set_of(v: &Option<Vec<String>>) -> std::collections::BTreeSet<String> {
    v.iter().flatten().cloned().collect()
}

impl RwPermission {
    fn grant(&self, n: &RwPermission) -> Result<RwPermission, V2AuthError> {
        let add = |have: &Option<Vec<String>>, new: &Option<Vec<String>>, kind: &str| {
            let mut set = set_of(have);
            for p in new.iter().flatten() {
                if !set.insert(p.clone()) {
                    return Err(auth_err(
                        409,
                        format!("Granting duplicate {kind} permission {p}"),
                    ));
                }
            }
            Ok(sorted(set))
        };
        Ok(RwPermission {
            read: add(&self.read, &n.read, "read")?,
            write: add(&self.write, &n.write, "write")?,
        })
    }

    /// Revoking a pattern that was not granted is not an error.
    fn revoke(&self, n: &RwPermission) -> RwPermission {
        let remove = |have: &Option<Vec<String>>, gone: &Option<Vec<String>>| {
            let mut set = set_of(have);
            for p in gone.iter().flatten() {
                set.remove(p);
            }
            sorted(set)
        };
        RwPermission {
            read: remove(&self.read, &n.read),
            write: remove(&self.write, &n.write),
        }
    }

    fn patterns(&self, write: bool) -> impl Iterator<Item = &String> {
        if write { &self.write } else { &self.read }
            .iter()
            .flatten()
    }

    /// Whether `key` itself may be read (or written): a pattern ending in
    /// `*` matches by prefix, any other exactly.
    pub fn has_access(&self, key: &str, write: bool) -> bool {
        self.patterns(write).any(|p| match p.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => !p.is_empty() && p == key,
        })
    }

    /// Whether everything under `key` may be read (or written): only
    /// `*` patterns grant that.
    pub fn has_recursive_access(&self, key: &str, write: bool) -> bool {
        self.patterns(write).any(|p| {
            p.strip_suffix('*')
                .is_some_and(|prefix| key.starts_with(prefix))
        })
    }
}

impl Role {
    /// etcd's `Role.merge`: the grant applied, then the revoke.
    pub fn merge(&self, n: &Role) -> Result<Role, V2AuthError> {
        if self.role != n.role {
            let msg = format!(
                "Merging role with conflicting names: {} {}",
                self.role, n.role
            );
            return Err(auth_err(409, msg));
        }
        let mut permissions = self.permissions.clone();
        if let Some(g) = &n.grant {
            permissions.kv = permissions.kv.grant(&g.kv)?;
        }
        if let Some(r) = &n.revoke {
            permissions.kv = permissions.kv.revoke(&r.kv);
        }
        Ok(Role {
            role: self.role.clone(),
            permissions,
            ..Role::default()
        })
    }

    /// Access to `key` itself.
    pub fn has_key_access(&self, key: &str, write: bool) -> bool {
        self.role == ROOT_ROLE || self.permissions.kv.has_access(key, write)
    }

    /// Access to everything under `key`.
    pub fn has_recursive_access(&self, key: &str, write: bool) -> bool {
        self.role == ROOT_ROLE || self.permissions.kv.has_recursive_access(key, write)
    }
}

impl User {
    /// etcd's `User.merge`: `new_hash` replaces the password (the caller
    /// hashed `n.password` when it was not empty), then roles are granted
    /// (a duplicate is an error) and revoked (an ungranted one is too).
    pub fn merge(&self, n: &User, new_hash: Option<String>) -> Result<User, V2AuthError> {
        if self.user != n.user {
            let msg = format!(
                "Merging user data with conflicting usernames: {} {}",
                self.user, n.user
            );
            return Err(auth_err(409, msg));
        }
        let mut roles = set_of(&self.roles);
        for g in n.grant.iter().flatten() {
            if !roles.insert(g.clone()) {
                return Err(auth_err(
                    409,
                    format!("Granting duplicate role {g} for user {}", n.user),
                ));
            }
        }
        for r in n.revoke.iter().flatten() {
            if !roles.remove(r) {
                return Err(auth_err(
                    409,
                    format!("Revoking ungranted role {r} for user {}", n.user),
                ));
            }
        }
        Ok(User {
            user: self.user.clone(),
            password: new_hash.unwrap_or_else(|| self.password.clone()),
            roles: sorted(roles),
            ..User::default()
        })
    }

    /// A user named root always holds the root role.
    pub fn with_root_role(mut self) -> User {
        if self.user == ROOT_USER {
            let roles = self.roles.get_or_insert_with(Vec::new);
            if !roles.iter().any(|r| r == ROOT_ROLE) {
                roles.push(ROOT_ROLE.into());
            }
        }
        self
    }

    /// Whether the request carries roles (`len(Roles) != 0`).
    pub fn has_roles(&self) -> bool {
        len(&self.roles) != 0
    }

    /// Whether the request grants or revokes roles.
    pub fn has_grant_or_revoke(&self) -> bool {
        len(&self.grant) != 0 || len(&self.revoke) != 0
    }
}

/// Go's `json.Marshal`: compact, with `<`, `>`, `&`, U+2028 and U+2029
/// escaped (they can only occur inside strings, so a textual pass is exact).
pub fn go_json<T: Serialize>(v: &T) -> String {
    let s = serde_json::to_string(v).expect("v2 auth records serialise");
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return s;
    }
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Why a JSON value does not decode into a record (Go's decoder error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError;

/// The first JSON value of `bytes`, as Go's `json.Decoder.Decode` reads it
/// (anything after it is ignored).
pub fn first_value(bytes: &[u8]) -> Result<Value, DecodeError> {
    serde_json::Deserializer::from_slice(bytes)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .ok_or(DecodeError)
}

/// The value of field `name`: an exact key first, else any key equal to
/// it ignoring ASCII case (Go's rule); `null` counts as absent.
fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name)
        .or_else(|| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn string(m: &Map<String, Value>, name: &str) -> Result<String, DecodeError> {
    match field(m, name) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(DecodeError),
    }
}

fn list(m: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, DecodeError> {
    match field(m, name) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Null => Ok(String::new()),
                _ => Err(DecodeError),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(DecodeError),
    }
}

fn object(v: &Value) -> Result<Option<&Map<String, Value>>, DecodeError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        _ => Err(DecodeError),
    }
}

fn permissions(v: Option<&Value>) -> Result<Option<Permissions>, DecodeError> {
    let Some(m) = v.map(object).transpose()?.flatten() else {
        return Ok(None);
    };
    let mut p = Permissions::default();
    if let Some(kv) = field(m, "kv").map(object).transpose()?.flatten() {
        p.kv.read = list(kv, "read")?;
        p.kv.write = list(kv, "write")?;
    }
    Ok(Some(p))
}

impl User {
    /// Decodes a user as Go would into a zero `User`.
    pub fn from_json(v: &Value) -> Result<User, DecodeError> {
        let Some(m) = object(v)? else {
            return Ok(User::default());
        };
        Ok(User {
            user: string(m, "user")?,
            password: string(m, "password")?,
            roles: list(m, "roles")?,
            grant: list(m, "grant")?,
            revoke: list(m, "revoke")?,
        })
    }
}

impl Role {
    /// Decodes a role as Go would into a zero `Role`.
    pub fn from_json(v: &Value) -> Result<Role, DecodeError> {
        let Some(m) = object(v)? else {
            return Ok(Role::default());
        };
        Ok(Role {
            role: string(m, "role")?,
            permissions: permissions(field(m, "permissions"))?.unwrap_or_default(),
            grant: permissions(field(m, "grant"))?,
            revoke: permissions(field(m, "revoke"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    fn role(json: &str) -> Role {
        Role::from_json(&serde_json::from_str(json).unwrap()).unwrap()
    }

    #[test]
    fn roles_print_nil_and_empty_lists_like_go() {
        let r = role(r#"{"role":"r1"}"#);
        assert_eq!(
            go_json(&r),
            r#"{"role":"r1","permissions":{"kv":{"read":null,"write":null}}}"#
        );
        let g = role(r#"{"role":"r1","grant":{"kv":{"read":["/foo/*","/bar"]}}}"#);
        let merged = r.merge(&g).unwrap();
        assert_eq!(
            go_json(&merged),
            r#"{"role":"r1","permissions":{"kv":{"read":["/bar","/foo/*"],"write":[]}}}"#
        );
        assert_eq!(
            go_json(&root_role()),
            r#"{"role":"root","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}"#
        );
    }

    #[test]
    fn role_merge_errors_and_no_op() {
        let r = role(r#"{"role":"r","permissions":{"kv":{"read":["/a"],"write":[]}}}"#);
        let dup = role(r#"{"role":"r","grant":{"kv":{"read":["/a"]}}}"#);
        assert_eq!(
            r.merge(&dup).unwrap_err().to_string(),
            "auth: Granting duplicate read permission /a"
        );
        // Revoking what was never granted changes nothing (and is no error).
        let noop = role(r#"{"role":"r","revoke":{"kv":{"read":["/zz"]}}}"#);
        assert_eq!(r.merge(&noop).unwrap(), r);
        let other = role(r#"{"role":"x"}"#);
        assert!(matches!(
            r.merge(&other),
            Err(V2AuthError::Auth { status: 409, .. })
        ));
    }

    #[test]
    fn user_merge_grants_revokes_and_keeps_the_hash() {
        let old = User {
            user: "a".into(),
            password: "h".into(),
            roles: strs(&["r2"]),
            ..User::default()
        };
        let grant = User {
            user: "a".into(),
            grant: strs(&["r1"]),
            ..User::default()
        };
        let u = old.merge(&grant, None).unwrap();
        assert_eq!(u.roles, strs(&["r1", "r2"]));
        assert_eq!(u.password, "h");
        assert_eq!(
            u.merge(&grant, None).unwrap_err().to_string(),
            "auth: Granting duplicate role r1 for user a"
        );
        let revoke = User {
            user: "a".into(),
            revoke: strs(&["r9"]),
            ..User::default()
        };
        assert_eq!(
            u.merge(&revoke, None).unwrap_err().to_string(),
            "auth: Revoking ungranted role r9 for user a"
        );
        let pw = User {
            user: "a".into(),
            password: "new".into(),
            ..User::default()
        };
        assert_eq!(u.merge(&pw, Some("h2".into())).unwrap().password, "h2");
        // Nothing to do: equal, which etcd reports as "not updated".
        let nothing = User {
            user: "a".into(),
            ..User::default()
        };
        assert_eq!(u.merge(&nothing, None).unwrap(), u);
        // A nil role list becomes an empty one: not equal, so stored.
        let bare = User {
            user: "b".into(),
            password: "h".into(),
            ..User::default()
        };
        let nb = User {
            user: "b".into(),
            ..User::default()
        };
        assert_ne!(bare.merge(&nb, None).unwrap(), bare);
    }

    #[test]
    fn users_print_like_go() {
        let u = User {
            user: "root".into(),
            ..User::default()
        }
        .with_root_role();
        assert_eq!(go_json(&u), r#"{"user":"root","roles":["root"]}"#);
        let u = User {
            user: "b<".into(),
            grant: Some(vec![]),
            ..User::default()
        };
        assert_eq!(go_json(&u), r#"{"user":"b\u003c","roles":null}"#);
    }

    #[test]
    fn patterns_match_exactly_or_by_prefix() {
        let p = RwPermission {
            read: strs(&["/foo/*", "/bar"]),
            write: None,
        };
        assert!(p.has_access("/foo/x", false));
        assert!(p.has_access("/foo/", false));
        assert!(!p.has_access("/foo", false));
        assert!(p.has_access("/bar", false));
        assert!(!p.has_access("/bar/x", false));
        assert!(!p.has_access("/foo/x", true));
        assert!(p.has_recursive_access("/foo/x", false));
        assert!(!p.has_recursive_access("/bar", false));
        let empty = RwPermission {
            read: strs(&[""]),
            write: None,
        };
        assert!(!empty.has_access("", false));
        let root = Role {
            role: "root".into(),
            ..Role::default()
        };
        assert!(root.has_recursive_access("/anything", true));
    }

    #[test]
    fn decoding_follows_go() {
        let v: Value =
            serde_json::from_str(r#"{"User":"a","PASSWORD":"p","roles":null,"x":1}"#).unwrap();
        let u = User::from_json(&v).unwrap();
        assert_eq!(
            (u.user.as_str(), u.password.as_str(), u.roles),
            ("a", "p", None)
        );
        let bad: Value = serde_json::from_str(r#"{"user":1}"#).unwrap();
        assert_eq!(User::from_json(&bad), Err(DecodeError));
        assert_eq!(User::from_json(&Value::Null), Ok(User::default()));
        assert!(User::from_json(&Value::String("x".into())).is_err());
        assert_eq!(
            first_value(b"{\"user\":\"a\"} trailing").unwrap()["user"],
            "a"
        );
        assert!(first_value(b"").is_err());
        assert!(first_value(b"garbage").is_err());
        let r = role(r#"{"role":"r","grant":{"kv":{}}}"#);
        assert!(Permissions::is_empty(r.grant.as_ref()));
        assert_eq!(
            go_json(&r),
            r#"{"role":"r","permissions":{"kv":{"read":null,"write":null}},"grant":{"kv":{"read":null,"write":null}}}"#
        );
    }
}
