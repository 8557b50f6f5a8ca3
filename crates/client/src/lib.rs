//! An etcd v3 client over the tonic stubs of `etcd-proto`, used by our
//! `etcdctl` and `benchmark`.
//!
//! - [`Client::connect`] dials the configured endpoints in order and keeps
//!   the first reachable one; calls fail over to the next endpoint on
//!   `Unavailable` and are retried when that is safe (see [`client`]).
//! - Every call is bounded by the command timeout when one is set.
//! - With credentials the client authenticates and sends the token on every
//!   call, refreshing it when the server reports it invalid.
//! - Wrappers exist for every v3 service: KV, Watch, Lease (with
//!   keep-alive), Cluster, Maintenance, Auth, Lock and Election. Requests
//!   and responses are `etcd-proto`'s messages.
//!
//! ```no_run
//! # async fn demo() -> etcd_client::Result<()> {
//! use std::time::Duration;
//! use etcd_client::{Client, ClientConfig};
//!
//! let cfg = ClientConfig::new(["127.0.0.1:2379", "127.0.0.1:22379"])
//!     .command_timeout(Duration::from_secs(5));
//! let client = Client::connect(cfg).await?;
//! let lease = client.lease_grant(60, 0).await?;
//! client
//!     .put_request(etcd_proto::etcdserverpb::PutRequest {
//!         key: b"k".to_vec(),
//!         value: b"v".to_vec(),
//!         lease: lease.id,
//!         ..Default::default()
//!     })
//!     .await?;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod cluster;
pub mod config;
pub mod election;
pub mod error;
pub mod kv;
pub mod lease;
pub mod lock;
pub mod maintenance;
pub mod tls;
pub mod watch;

pub use client::{Client, Retry};
pub use config::{AttemptError, ClientConfig};
pub use error::{Error, Result};
pub use kv::prefix_range_end;
pub use lease::KeepAlive;
pub use tls::TlsOptions;
pub use watch::Watcher;
