//! A connection whose reads and writes each have a deadline (etcd's
//! `transport.NewTimeoutTransport`: `--proxy-read-timeout` and
//! `--proxy-write-timeout`).
//!
//! Contract: a read (write) that makes no progress for the timeout fails
//! with `TimedOut`; any progress re-arms the deadline. A zero timeout means
//! no deadline, so long polls (v2 watches) wait as long as the member keeps
//! the request open, as with etcd's default read timeout of 0.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// One direction's deadline.
struct Deadline {
    timeout: Duration,
    armed: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    fn new(timeout: Duration) -> Deadline {
        Deadline {
            timeout,
            armed: None,
        }
    }

    /// Called when the operation is pending: arms the timer on first use;
    /// errs once it fires.
    fn poll_expired(&mut self, cx: &mut Context<'_>, what: &str) -> Poll<io::Error> {
        if self.timeout.is_zero() {
            return Poll::Pending;
        }
        let timeout = self.timeout;
        let sleep = self
            .armed
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("i/o timeout ({what})"),
            )),
            Poll::Pending => Poll::Pending,
        }
    }

    fn reset(&mut self) {
        self.armed = None;
    }
}

/// `S` with per-operation read and write deadlines.
pub struct TimeoutIo<S> {
    inner: S,
    read: Deadline,
    write: Deadline,
}

impl<S> TimeoutIo<S> {
    /// Wraps `inner`; a zero duration disables that direction's deadline.
    pub fn new(inner: S, read_timeout: Duration, write_timeout: Duration) -> TimeoutIo<S> {
        TimeoutIo {
            inner,
            read: Deadline::new(read_timeout),
            write: Deadline::new(write_timeout),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimeoutIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read.reset();
                Poll::Ready(r)
            }
            Poll::Pending => this.read.poll_expired(cx, "read").map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimeoutIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.write.reset();
                Poll::Ready(r)
            }
            Poll::Pending => this.write.poll_expired(cx, "write").map(Err),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Ready(r) => {
                this.write.reset();
                Poll::Ready(r)
            }
            Poll::Pending => this.write.poll_expired(cx, "write").map(Err),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn idle_read_times_out_and_zero_means_never() {
        let (a, _b) = tokio::io::duplex(64);
        let mut t = TimeoutIo::new(a, Duration::from_millis(50), Duration::ZERO);
        let mut buf = [0u8; 4];
        let err = t.read(&mut buf).await.expect_err("must time out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);

        let (a, _b) = tokio::io::duplex(64);
        let mut t = TimeoutIo::new(a, Duration::ZERO, Duration::ZERO);
        let r = tokio::time::timeout(Duration::from_millis(300), t.read(&mut buf)).await;
        assert!(
            r.is_err(),
            "no deadline: still waiting when the outer bound fires"
        );
    }

    #[tokio::test]
    async fn progress_rearms_the_deadline() {
        let (a, mut b) = tokio::io::duplex(64);
        // Five bytes 60 ms apart: 300 ms in all, more than the 200 ms deadline,
        // yet each read makes progress well within it.
        let mut t = TimeoutIo::new(a, Duration::from_millis(200), Duration::ZERO);
        let writer = tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                b.write_all(b"x").await.expect("write");
            }
            b
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 1];
        for _ in 0..5 {
            t.read_exact(&mut buf)
                .await
                .expect("each byte within the deadline");
            got.push(buf[0]);
        }
        assert_eq!(got, b"xxxxx");
        drop(writer.await.expect("writer"));
    }

    #[tokio::test]
    async fn blocked_write_times_out() {
        let (a, _b) = tokio::io::duplex(4);
        let mut t = TimeoutIo::new(a, Duration::ZERO, Duration::from_millis(50));
        let err = t.write_all(&[0u8; 64]).await.expect_err("peer never reads");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
