//! HTTP/1.1 connections from the proxy to member client URLs, kept alive
//! and reused (etcd's transport with `MaxIdleConnsPerHost` = 128).
//!
//! Contract:
//! - A connection is dialed through the [`PeerDialer`] (TLS for `https://`)
//!   within `--proxy-dial-timeout`; its reads and writes carry the
//!   `--proxy-read-timeout` / `--proxy-write-timeout` deadlines.
//! - A connection goes back to the idle list only after its response body
//!   was read to the end; a body dropped early (the client went away) takes
//!   its connection with it. At most [`IDLE_PER_HOST_MAX`] idle connections
//!   are kept per endpoint.
//! - A request that fails on a reused idle connection (the member may have
//!   closed it meanwhile) is sent once more on a fresh one before the
//!   endpoint counts as failed, as Go's transport retries such requests.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use etcd_transport::tls_dial::PeerDialer;
use http_body_util::Full;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::timeout_io::TimeoutIo;

/// Idle connections kept per endpoint (etcd's `DefaultMaxIdleConnsPerHost`).
pub const IDLE_PER_HOST_MAX: usize = 128;

/// The body of a request forwarded to a member (already read in full).
pub type ReqBody = Full<Bytes>;

/// Timeouts of member connections.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// `--proxy-dial-timeout`.
    pub dial: Duration,
    /// `--proxy-read-timeout` (zero: none).
    pub read: Duration,
    /// `--proxy-write-timeout` (zero: none).
    pub write: Duration,
}

/// Keep-alive connections per endpoint (`scheme://host:port`).
pub struct Pool {
    dialer: PeerDialer,
    timeouts: Timeouts,
    idle: std::sync::Mutex<HashMap<String, Vec<SendRequest<ReqBody>>>>,
}

impl Pool {
    /// A pool dialing with `dialer`.
    pub fn new(dialer: PeerDialer, timeouts: Timeouts) -> Arc<Pool> {
        Arc::new(Pool {
            dialer,
            timeouts,
            idle: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Sends `make()` to the endpoint `base` and returns the response
    /// headers with a streaming body. `make` builds the request afresh for
    /// a retry.
    pub async fn send(
        self: &Arc<Self>,
        base: &str,
        make: impl Fn() -> hyper::Request<ReqBody>,
    ) -> Result<hyper::Response<PooledBody>, String> {
        if let Some(mut sender) = self.take_idle(base) {
            if let Ok(resp) = sender.send_request(make()).await {
                return Ok(self.wrap(base, sender, resp));
            }
        }
        let mut sender = self.dial(base).await?;
        let resp = sender
            .send_request(make())
            .await
            .map_err(|e| e.to_string())?;
        Ok(self.wrap(base, sender, resp))
    }

    fn take_idle(&self, base: &str) -> Option<SendRequest<ReqBody>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.get_mut(base)?;
        while let Some(s) = list.pop() {
            if s.is_ready() {
                return Some(s);
            }
        }
        None
    }

    fn put_idle(&self, base: &str, sender: SendRequest<ReqBody>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.entry(base.to_string()).or_default();
        if list.len() < IDLE_PER_HOST_MAX {
            list.push(sender);
        }
    }

    async fn dial(&self, base: &str) -> Result<SendRequest<ReqBody>, String> {
        let uri: hyper::Uri = base
            .parse()
            .map_err(|e| format!("bad endpoint {base}: {e}"))?;
        let stream = self.dialer.connect(&uri, self.timeouts.dial).await?;
        let io = TimeoutIo::new(stream, self.timeouts.read, self.timeouts.write);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            // A broken connection shows up in the request using it.
            let _ = conn.await;
        });
        Ok(sender)
    }

    fn wrap(
        self: &Arc<Self>,
        base: &str,
        sender: SendRequest<ReqBody>,
        resp: hyper::Response<Incoming>,
    ) -> hyper::Response<PooledBody> {
        let pool = Arc::downgrade(self);
        let base = base.to_string();
        resp.map(|inner| {
            let mut body = PooledBody {
                inner,
                sender: Some(sender),
                pool,
                base,
            };
            // An empty body (e.g. `Content-Length: 0`) may never be polled.
            if body.inner.is_end_stream() {
                body.release();
            }
            body
        })
    }
}

/// A member's response body, streamed; returns its connection to the pool
/// when read to the end.
pub struct PooledBody {
    inner: Incoming,
    sender: Option<SendRequest<ReqBody>>,
    pool: Weak<Pool>,
    base: String,
}

impl PooledBody {
    fn release(&mut self) {
        if let (Some(s), Some(pool)) = (self.sender.take(), self.pool.upgrade()) {
            pool.put_idle(&self.base, s);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        match &r {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Err(_))) => this.sender = None,
            _ => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
