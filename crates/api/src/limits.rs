//! Per-connection HTTP/2 limits for client listeners, from etcd's flags:
//! `--max-concurrent-streams` (default unlimited, `u32::MAX`),
//! `--grpc-keepalive-interval` (2 h) and `--grpc-keepalive-timeout` (20 s):
//! the server pings an idle client every interval and closes the connection
//! when a ping is not answered within the timeout; either at 0 turns
//! keepalive off, as in etcd.
//!
//! `--grpc-keepalive-min-time` (5 s) is recorded but not enforced: grpc-go
//! answers a client pinging more often with GOAWAY `ENHANCE_YOUR_CALM`, but
//! hyper's HTTP/2 server exposes no ping-rate policy, so too-frequent pings
//! are simply answered.
//!
//! The limits are process-wide, set once by the binary before serving.

use std::sync::OnceLock;
use std::time::Duration;

/// HTTP/2 limits for client connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// Concurrent streams one connection may open.
    pub max_concurrent_streams: u32,
    /// Minimum gap a client should keep between pings (not enforced; see module docs).
    pub keepalive_min_time_ms: u64,
    /// Idle time before the server pings the client (0: never).
    pub keepalive_interval_ms: u64,
    /// Wait for a ping answer before closing (0: keepalive off).
    pub keepalive_timeout_ms: u64,
}

impl Default for ClientLimits {
    /// etcd's defaults.
    fn default() -> ClientLimits {
        ClientLimits {
            max_concurrent_streams: u32::MAX,
            keepalive_min_time_ms: 5_000,
            keepalive_interval_ms: 2 * 60 * 60 * 1000,
            keepalive_timeout_ms: 20_000,
        }
    }
}

static LIMITS: OnceLock<ClientLimits> = OnceLock::new();

/// Sets the limits for every client connection accepted afterwards; the
/// first call wins.
pub fn set_client_limits(limits: ClientLimits) {
    let _ = LIMITS.set(limits);
}

/// The limits in force (etcd's defaults if never set).
pub(crate) fn client_limits() -> &'static ClientLimits {
    LIMITS.get_or_init(ClientLimits::default)
}

impl ClientLimits {
    /// Configures a connection builder with these limits.
    pub(crate) fn apply(
        &self,
        builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    ) {
        let mut h2 = builder.http2();
        h2.max_concurrent_streams(self.max_concurrent_streams);
        if self.keepalive_interval_ms > 0 && self.keepalive_timeout_ms > 0 {
            h2.timer(hyper_util::rt::TokioTimer::new())
                .keep_alive_interval(Some(Duration::from_millis(self.keepalive_interval_ms)))
                .keep_alive_timeout(Duration::from_millis(self.keepalive_timeout_ms));
        }
    }
}
