//! How auth state is laid out in the backend.
//!
//! Tables (etcd's bucket names):
//! - `auth`: key `authEnabled` → one byte, 1 enabled / 0 disabled;
//!   key `authRevision` → the auth revision as 8 bytes **little-endian**
//!   (etcd writes big-endian; our meta-like values are little-endian, STYLE §7).
//! - `authUsers`: user name bytes → protobuf `authpb.User` (password is the
//!   bcrypt hash, roles sorted).
//! - `authRoles`: role name bytes → protobuf `authpb.Role` (permissions
//!   sorted by key).
//!
//! `tests/golden.rs` pins these encodings.

use etcd_proto::authpb::{Role, User};
use prost::Message as _;

/// Key of the enabled flag in the `auth` table.
pub const ENABLED_KEY: &[u8] = b"authEnabled";
/// Key of the auth revision in the `auth` table.
pub const REVISION_KEY: &[u8] = b"authRevision";

/// The three tables auth state lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthTable {
    /// `auth`: the enabled flag and the revision.
    Auth,
    /// `authUsers`.
    Users,
    /// `authRoles`.
    Roles,
}

/// One change the caller must make to the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Put `value` under `key`.
    Put {
        /// The table.
        table: AuthTable,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Delete `key`.
    Delete {
        /// The table.
        table: AuthTable,
        /// The key.
        key: Vec<u8>,
    },
}

pub(crate) fn put_user(u: &User) -> Write {
    Write::Put {
        table: AuthTable::Users,
        key: u.name.clone(),
        value: u.encode_to_vec(),
    }
}

pub(crate) fn put_role(r: &Role) -> Write {
    Write::Put {
        table: AuthTable::Roles,
        key: r.name.clone(),
        value: r.encode_to_vec(),
    }
}

pub(crate) fn put_revision(rev: u64) -> Write {
    Write::Put {
        table: AuthTable::Auth,
        key: REVISION_KEY.to_vec(),
        value: rev.to_le_bytes().to_vec(),
    }
}

pub(crate) fn put_enabled(enabled: bool) -> Write {
    Write::Put {
        table: AuthTable::Auth,
        key: ENABLED_KEY.to_vec(),
        value: vec![u8::from(enabled)],
    }
}

pub(crate) fn decode_revision(v: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(v).ok().map(u64::from_le_bytes)
}
