//! etcd's v3 wire schema: messages, gRPC services and their JSON mapping.
//!
//! The `.proto` files under `proto/` are ours; package, message and field
//! numbers equal etcd's so any etcd client talks to us unchanged.

#![allow(missing_docs, clippy::all)]

mod requests;
pub use requests::{prefix_range_end, txn_is_read_only, txn_is_serializable};

/// `mvccpb`: stored key-values and watch events.
pub mod mvccpb {
    include!(concat!(env!("OUT_DIR"), "/mvccpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/mvccpb.serde.rs"));
}

/// `authpb`: users, roles, permissions.
pub mod authpb {
    include!(concat!(env!("OUT_DIR"), "/authpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/authpb.serde.rs"));
}

/// `etcdserverpb`: the v3 RPC messages and services, and the Raft envelope.
pub mod etcdserverpb {
    include!(concat!(env!("OUT_DIR"), "/etcdserverpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/etcdserverpb.serde.rs"));
}

/// `v3lockpb`: the Lock service (distributed locks held by the server).
pub mod v3lockpb {
    include!(concat!(env!("OUT_DIR"), "/v3lockpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/v3lockpb.serde.rs"));
}

/// `v3electionpb`: the Election service (leader election held by the server).
pub mod v3electionpb {
    include!(concat!(env!("OUT_DIR"), "/v3electionpb.rs"));
    include!(concat!(env!("OUT_DIR"), "/v3electionpb.serde.rs"));
}

pub mod errors;
pub use errors::EtcdError;
