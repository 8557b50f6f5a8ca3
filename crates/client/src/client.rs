//! The connection core: endpoint selection, failover, retries, auth token.
//!
//! Contract:
//! - `connect` tries the endpoints in order, each bounded by the dial timeout,
//!   and keeps the first that answers; an unreachable endpoint is skipped.
//! - A unary call that fails with `Unavailable` moves to the next reachable
//!   endpoint and is tried again when that is safe: always for idempotent
//!   ("repeatable") calls, and for mutations only when the request cannot
//!   have reached a server (the connection was refused). This mirrors etcd's
//!   Go client retry interceptor. Attempts are bounded by
//!   [`MAX_ATTEMPTS_PER_ENDPOINT`] × endpoints, the whole call by the command
//!   timeout.
//! - With credentials, `Authenticate` runs at connect time and the token is
//!   sent as the `token` metadata on every call; an `invalid auth token`
//!   answer re-authenticates once and repeats the call.

use std::future::Future;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use etcd_proto::etcdserverpb::auth_client::AuthClient;
use etcd_proto::etcdserverpb::AuthenticateRequest;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use crate::config::{endpoint_url, AttemptError, ClientConfig};
use crate::error::{Error, Result};

/// Upper bound on attempts of one call per configured endpoint.
pub const MAX_ATTEMPTS_PER_ENDPOINT: usize = 2;

/// Whether a call may be repeated after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads and other calls that are safe to send twice.
    Repeatable,
    /// Mutations: repeated only if the first attempt never left the client.
    NonRepeatable,
}

/// A connected etcd v3 client. Cheap to clone; clones share the connection.
///
/// ```no_run
/// # async fn demo() -> etcd_client::Result<()> {
/// use etcd_client::{Client, ClientConfig};
/// let client = Client::connect(ClientConfig::new(["127.0.0.1:2379"])).await?;
/// client.put("foo", "bar").await?;
/// let resp = client.get("foo").await?;
/// assert_eq!(resp.kvs[0].value, b"bar");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: ClientConfig,
    conn: tokio::sync::Mutex<Conn>,
    token: StdMutex<Option<AsciiMetadataValue>>,
}

#[derive(Clone)]
struct Conn {
    index: usize,
    channel: Channel,
}

impl Client {
    /// Connects to the first reachable endpoint and authenticates if
    /// credentials are set.
    pub async fn connect(cfg: ClientConfig) -> Result<Client> {
        if cfg.endpoints.is_empty() {
            return Err(Error::InvalidArgument("no endpoints given".into()));
        }
        let conn = dial_from(&cfg, 0).await?;
        let client = Client {
            inner: Arc::new(Inner {
                cfg,
                conn: tokio::sync::Mutex::new(conn),
                token: StdMutex::new(None),
            }),
        };
        if client.inner.cfg.credentials.is_some() {
            let auth = client.authenticate();
            let res = match client.inner.cfg.command_timeout {
                Some(t) => tokio::time::timeout(t, auth)
                    .await
                    .map_err(|_| Error::Timeout(t))?,
                None => auth.await,
            };
            match res {
                Ok(()) => {}
                // Credentials against a cluster without auth are ignored, as
                // etcd's Go client does.
                Err(Error::Status(s))
                    if s.message() == "etcdserver: authentication is not enabled" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(client)
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// The endpoint currently in use, as configured.
    pub async fn current_endpoint(&self) -> String {
        let i = self.inner.conn.lock().await.index;
        self.inner.cfg.endpoints[i].clone()
    }

    /// The current channel and its endpoint index.
    pub(crate) async fn channel(&self) -> (usize, Channel) {
        let c = self.inner.conn.lock().await;
        (c.index, c.channel.clone())
    }

    /// Moves off endpoint `failed` (if still current) to the next reachable one.
    pub(crate) async fn failover(&self, failed: usize) -> Result<()> {
        let mut c = self.inner.conn.lock().await;
        if c.index != failed {
            return Ok(());
        }
        let n = self.inner.cfg.endpoints.len();
        *c = dial_from(&self.inner.cfg, (failed + 1) % n).await?;
        Ok(())
    }

    /// Wraps `msg` with the auth token, if any.
    pub(crate) fn request<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        if let Some(t) = self.inner.token.lock().expect("token lock").clone() {
            r.metadata_mut().insert("token", t);
        }
        r
    }

    /// Runs `fut` under the command timeout.
    pub(crate) async fn bounded<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        match self.inner.cfg.command_timeout {
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .map_err(|_| Error::Timeout(t))?,
            None => fut.await,
        }
    }

    /// One unary call with failover, retry and token refresh (module docs).
    pub(crate) async fn unary<Req, Resp, F, Fut>(
        &self,
        retry: Retry,
        req: Req,
        call: F,
    ) -> Result<Resp>
    where
        Req: Clone,
        F: Fn(Channel, Request<Req>) -> Fut,
        Fut: Future<Output = std::result::Result<Response<Resp>, Status>>,
    {
        self.bounded(self.unary_unbounded(retry, req, call)).await
    }

    async fn unary_unbounded<Req, Resp, F, Fut>(
        &self,
        retry: Retry,
        req: Req,
        call: F,
    ) -> Result<Resp>
    where
        Req: Clone,
        F: Fn(Channel, Request<Req>) -> Fut,
        Fut: Future<Output = std::result::Result<Response<Resp>, Status>>,
    {
        let max_attempts = MAX_ATTEMPTS_PER_ENDPOINT * self.inner.cfg.endpoints.len();
        let mut refreshed = false;
        let mut attempt = 0usize;
        loop {
            let (index, channel) = self.channel().await;
            let status = match call(channel, self.request(req.clone())).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s) => s,
            };
            if let Some(hook) = &self.inner.cfg.on_attempt_error {
                hook(&AttemptError {
                    endpoint: self.inner.cfg.endpoints[index].clone(),
                    attempt: attempt as u32,
                    status: status.clone(),
                });
            }
            attempt += 1;
            if !refreshed && self.inner.cfg.credentials.is_some() && needs_new_token(&status) {
                refreshed = true;
                self.authenticate().await?;
                continue;
            }
            let safe = match retry {
                Retry::Repeatable => status.code() == tonic::Code::Unavailable,
                Retry::NonRepeatable => never_sent(&status),
            };
            if !safe || attempt >= max_attempts {
                return Err(status.into());
            }
            if self.failover(index).await.is_err() {
                return Err(status.into());
            }
        }
    }

    /// Calls `Authenticate` with the configured credentials and stores the token.
    pub async fn authenticate(&self) -> Result<()> {
        let Some((name, password)) = self.inner.cfg.credentials.clone() else {
            return Ok(());
        };
        let req = AuthenticateRequest { name, password };
        let resp = self
            .unary_unbounded_noauth(req, |ch, r| async move {
                AuthClient::new(ch).authenticate(r).await
            })
            .await?;
        let token: AsciiMetadataValue = MetadataValue::try_from(resp.token.as_str())
            .map_err(|_| Error::InvalidArgument("server sent a non-ASCII token".into()))?;
        *self.inner.token.lock().expect("token lock") = Some(token);
        Ok(())
    }

    async fn unary_unbounded_noauth<Req, Resp, F, Fut>(&self, req: Req, call: F) -> Result<Resp>
    where
        Req: Clone,
        F: Fn(Channel, Request<Req>) -> Fut,
        Fut: Future<Output = std::result::Result<Response<Resp>, Status>>,
    {
        let max_attempts = MAX_ATTEMPTS_PER_ENDPOINT * self.inner.cfg.endpoints.len();
        let mut attempt = 0usize;
        loop {
            let (index, channel) = self.channel().await;
            match call(channel, Request::new(req.clone())).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s) => {
                    attempt += 1;
                    if s.code() != tonic::Code::Unavailable || attempt >= max_attempts {
                        return Err(s.into());
                    }
                    if self.failover(index).await.is_err() {
                        return Err(s.into());
                    }
                }
            }
        }
    }

    /// Opens a streaming call, moving to another endpoint when the current
    /// one is unavailable (bounded like unary calls).
    pub(crate) async fn open_stream<Req, Resp, F, Fut>(&self, req: Req, call: F) -> Result<Resp>
    where
        Req: Clone,
        F: Fn(Channel, Request<Req>) -> Fut,
        Fut: Future<Output = std::result::Result<Response<Resp>, Status>>,
    {
        self.bounded(self.unary_unbounded(Retry::Repeatable, req, call))
            .await
    }
}

/// The token expired or predates an auth change: fetch a new one.
fn needs_new_token(s: &Status) -> bool {
    matches!(
        s.message(),
        "etcdserver: invalid auth token" | "etcdserver: revision of auth store is old"
    )
}

/// A transport failure before the request was written (connection refused or
/// not yet established).
fn never_sent(s: &Status) -> bool {
    if s.code() != tonic::Code::Unavailable {
        return false;
    }
    let m = s.message().to_ascii_lowercase();
    m.contains("connect") || m.contains("no address available")
}

/// Connects to the first reachable endpoint, starting at `start` and wrapping.
async fn dial_from(cfg: &ClientConfig, start: usize) -> Result<Conn> {
    let n = cfg.endpoints.len();
    let mut last = String::new();
    for k in 0..n {
        let index = (start + k) % n;
        match dial(cfg, &cfg.endpoints[index]).await {
            Ok(channel) => return Ok(Conn { index, channel }),
            Err(e) => last = e,
        }
    }
    Err(Error::Unreachable {
        endpoints: cfg.endpoints.clone(),
        last,
    })
}

async fn dial(cfg: &ClientConfig, ep: &str) -> std::result::Result<Channel, String> {
    let tls = crate::tls::wants_tls(ep, cfg.tls.is_some());
    let url = if tls {
        // tonic speaks plain HTTP/2 over the stream our connector secures.
        format!("http://{}", crate::tls::authority(ep))
    } else {
        endpoint_url(ep)
    };
    let endpoint = Endpoint::from_shared(url)
        .map_err(|e| e.to_string())?
        .connect_timeout(cfg.dial_timeout)
        .http2_keep_alive_interval(nonzero(cfg.keepalive_time))
        .keep_alive_timeout(nonzero(cfg.keepalive_timeout))
        .keep_alive_while_idle(true);
    let connector = match (tls, &cfg.tls) {
        (false, _) => None,
        (true, Some(c)) => Some(c.clone()),
        (true, None) => Some(
            crate::tls::TlsOptions::default()
                .client_config()
                .map_err(|e| e.to_string())?,
        ),
    }
    .map(|c| crate::tls::TlsConnector::new(c, crate::tls::authority(ep)));
    let connect = async {
        match connector {
            Some(c) => endpoint.connect_with_connector(c).await,
            None => endpoint.connect().await,
        }
    };
    match tokio::time::timeout(cfg.dial_timeout, connect).await {
        Ok(Ok(ch)) => Ok(ch),
        Ok(Err(e)) => Err(format!("{e}: {:?}", std::error::Error::source(&e))),
        Err(_) => Err(format!("dial {ep}: timed out")),
    }
}

fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}
