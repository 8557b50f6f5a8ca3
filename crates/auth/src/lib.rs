//! Authentication and authorization, as etcd 3.4 does them: users with
//! bcrypt password hashes, roles holding key permissions, the root rules,
//! the auth revision, a per-user permission cache, and the two token
//! providers (`simple` and `jwt`).
//!
//! The crate does no I/O. [`AuthStore`] is the replicated state: every
//! change is a method that validates against the current state and returns
//! the [`Write`]s the caller must put into the backend tables `auth`,
//! `authUsers` and `authRoles` in the same batch as the Raft index it
//! applies (so the server applies them exactly once, through Raft).
//! Token providers are per member and in memory, like etcd's: a restart
//! forgets simple tokens; JWTs verify on any member that has the key.

#![deny(missing_docs)]

mod error;
mod jwt;
mod password;
mod perms;
mod records;
mod simple_token;
mod store;
mod token;

pub use error::AuthError;
pub use jwt::JwtTokens;
pub use password::{hash_password, verify_password, BCRYPT_COST_DEFAULT};
pub use perms::{PermType, UserPerms};
pub use records::{AuthTable, Write, ENABLED_KEY, REVISION_KEY};
pub use simple_token::{SimpleTokens, SIMPLE_TOKEN_PREFIX_LEN, SIMPLE_TOKEN_TTL_DEFAULT_S};
pub use store::{AuthInfo, AuthStore, ROOT_ROLE, ROOT_USER};
pub use token::TokenProvider;
