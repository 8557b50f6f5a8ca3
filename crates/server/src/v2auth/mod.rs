//! etcd 3.4's v2 auth (`/v2/auth`, and the permission checks of `/v2/keys`
//! and `/v2/members`): users, roles and the on/off switch kept in the v2
//! store under `/2`, changed through Raft like any v2 key.
//!
//! - [`model`]: the records, their merges and pattern matching, Go JSON
//!   (pure, no I/O).
//! - [`store`]: the operations, as the sequence of v2 requests etcd makes.
//! - [`access`]: the checks a v2 request passes before it is served.
//!
//! Passwords are bcrypt hashes (Go's `$2a$` form at cost 10), made and
//! checked off the async threads before anything is proposed, so apply
//! stays deterministic.

pub mod access;
pub mod model;
pub mod store;

pub use access::V2Caller;
pub use model::{
    Permissions, Role, RwPermission, User, V2AuthError, GUEST_ROLE, ROOT_ROLE, ROOT_USER,
};
pub use store::{V2AuthStore, STORE_PERMS_PREFIX};
