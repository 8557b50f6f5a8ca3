//! Client settings: endpoints, timeouts, credentials.

use std::sync::Arc;
use std::time::Duration;

/// etcdctl's default dial timeout.
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(2);
/// etcdctl's default keepalive time.
pub const DEFAULT_KEEPALIVE_TIME: Duration = Duration::from_secs(2);
/// etcdctl's default keepalive timeout.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(6);

/// One failed attempt of a unary call, handed to [`ClientConfig::on_attempt_error`]
/// (etcd's Go client logs these as `retrying of unary invoker failed`).
#[derive(Debug, Clone)]
pub struct AttemptError {
    /// The endpoint the attempt went to.
    pub endpoint: String,
    /// Zero-based attempt number.
    pub attempt: u32,
    /// The gRPC status the attempt failed with.
    pub status: tonic::Status,
}

/// Callback for failed attempts.
pub type AttemptHook = Arc<dyn Fn(&AttemptError) + Send + Sync>;

/// How to reach and authenticate to a cluster.
///
/// ```
/// use std::time::Duration;
/// let cfg = etcd_client::ClientConfig::new(["127.0.0.1:2379", "127.0.0.1:22379"])
///     .dial_timeout(Duration::from_millis(500))
///     .command_timeout(Duration::from_secs(5))
///     .credentials("root", "secret");
/// assert_eq!(cfg.endpoints.len(), 2);
/// ```
#[derive(Clone)]
pub struct ClientConfig {
    /// Endpoints (`host:port`, `http://host:port`), tried in order.
    pub endpoints: Vec<String>,
    /// Upper bound to connect to one endpoint.
    pub dial_timeout: Duration,
    /// Upper bound for one call, retries included (None: unbounded).
    pub command_timeout: Option<Duration>,
    /// HTTP/2 keepalive ping interval.
    pub keepalive_time: Duration,
    /// HTTP/2 keepalive ping timeout.
    pub keepalive_timeout: Duration,
    /// User name and password for `Authenticate`.
    pub credentials: Option<(String, String)>,
    /// Called for each failed attempt of a unary call.
    pub on_attempt_error: Option<AttemptHook>,
    /// TLS settings (see [`crate::tls`] for which endpoints use them).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoints", &self.endpoints)
            .field("dial_timeout", &self.dial_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("user", &self.credentials.as_ref().map(|c| &c.0))
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl ClientConfig {
    /// Settings with etcdctl's defaults for the given endpoints.
    pub fn new<I, S>(endpoints: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClientConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            dial_timeout: DEFAULT_DIAL_TIMEOUT,
            command_timeout: None,
            keepalive_time: DEFAULT_KEEPALIVE_TIME,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            credentials: None,
            on_attempt_error: None,
            tls: None,
        }
    }

    /// Sets the dial timeout.
    pub fn dial_timeout(mut self, d: Duration) -> Self {
        self.dial_timeout = d;
        self
    }

    /// Sets the per-call timeout.
    pub fn command_timeout(mut self, d: Duration) -> Self {
        self.command_timeout = Some(d);
        self
    }

    /// Sets keepalive time and timeout.
    pub fn keepalive(mut self, time: Duration, timeout: Duration) -> Self {
        self.keepalive_time = time;
        self.keepalive_timeout = timeout;
        self
    }

    /// Authenticate as `user` with `password`.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Dials TLS endpoints with `config` (see [`crate::tls::TlsOptions`]).
    pub fn tls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Installs a hook called for every failed attempt of a unary call.
    pub fn on_attempt_error(mut self, hook: AttemptHook) -> Self {
        self.on_attempt_error = Some(hook);
        self
    }
}

/// `host:port` → `http://host:port`; URLs with a scheme are kept.
pub fn endpoint_url(ep: &str) -> String {
    let ep = ep.trim();
    if ep.starts_with("http://") || ep.starts_with("https://") {
        ep.to_string()
    } else if let Some(rest) = ep.strip_prefix("unixs://").or(ep.strip_prefix("unix://")) {
        format!("http://{rest}")
    } else {
        format!("http://{ep}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_endpoints_get_http() {
        assert_eq!(endpoint_url("127.0.0.1:2379"), "http://127.0.0.1:2379");
        assert_eq!(endpoint_url("https://a:1"), "https://a:1");
    }
}
