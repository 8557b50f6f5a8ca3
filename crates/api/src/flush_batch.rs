//! [`FlushBatch`]: a client connection's writes gathered into fewer syscalls.
//!
//! hyper's HTTP/2 connection task writes and flushes after every poll. When
//! one applied put fans out to many watch streams on the same connection,
//! tokio runs the connection task right after each stream task (its LIFO
//! slot), so every watch response became its own `writev` and its own
//! wake-up of the client. grpc-go (etcd's server) avoids that in its
//! `loopyWriter`: with less than a small batch buffered it yields the
//! processor once before flushing, so other streams' frames join the write.
//!
//! This wrapper does the same below hyper:
//! - writes are copied into a buffer of at most [`BATCH_BYTES_MAX`] bytes
//!   and always accepted while it has room (a larger write first drains the
//!   buffer, then goes straight to the socket);
//! - the first flush of a batch holding fewer than [`YIELD_BELOW_BYTES`]
//!   bytes wakes its own task and returns `Pending` once (tokio queues a
//!   self-woken task behind the tasks already runnable), and the next flush
//!   writes everything buffered, then flushes the socket.
//!
//! Contract: bytes reach the socket in the order written, a `Ready(Ok)` flush
//! means every byte written before it was handed to the socket, and the
//! buffer never grows past [`BATCH_BYTES_MAX`]. Shutdown writes out the
//! buffer first.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most bytes buffered before writes go to the socket.
pub(crate) const BATCH_BYTES_MAX: usize = 64 * 1024;

/// A flush of fewer bytes than this yields once first (grpc-go's
/// `minBatchSize`).
pub(crate) const YIELD_BELOW_BYTES: usize = 1000;

/// An I/O stream whose writes are batched; see the module docs.
#[derive(Debug)]
pub(crate) struct FlushBatch<I> {
    inner: I,
    buf: Vec<u8>,
    /// Bytes of `buf` already written to `inner`.
    sent: usize,
    /// The pending batch already yielded once.
    yielded: bool,
}

impl<I> FlushBatch<I> {
    pub(crate) fn new(inner: I) -> FlushBatch<I> {
        FlushBatch {
            inner,
            buf: Vec::new(),
            sent: 0,
            yielded: false,
        }
    }
}

impl<I: AsyncWrite + Unpin> FlushBatch<I> {
    /// Writes the whole buffer to `inner` (not flushing it).
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.buf.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.buf[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.buf.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    /// Room for `len` more bytes, draining first if needed; `false` when the
    /// write should bypass the buffer (it would not fit even when empty).
    fn poll_room(&mut self, cx: &mut Context<'_>, len: usize) -> Poll<io::Result<bool>> {
        if self.buf.len() + len <= BATCH_BYTES_MAX {
            return Poll::Ready(Ok(true));
        }
        ready!(self.poll_drain(cx))?;
        Poll::Ready(Ok(len <= BATCH_BYTES_MAX))
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for FlushBatch<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for FlushBatch<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if ready!(this.poll_room(cx, data.len()))? {
            this.buf.extend_from_slice(data);
            return Poll::Ready(Ok(data.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if ready!(this.poll_room(cx, total))? {
            for b in bufs {
                this.buf.extend_from_slice(b);
            }
            return Poll::Ready(Ok(total));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.buf.len() > this.sent {
            if !this.yielded && this.buf.len() - this.sent < YIELD_BELOW_BYTES {
                this.yielded = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            ready!(this.poll_drain(cx))?;
        }
        this.yielded = false;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn small_writes_reach_the_peer_in_order_after_flush() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let mut w = FlushBatch::new(a);
        w.write_all(b"hello ").await.unwrap();
        w.write_all(b"world").await.unwrap();
        assert_eq!(w.buf.len(), 11, "buffered until flushed");
        w.flush().await.unwrap();
        assert!(w.buf.is_empty());
        let mut got = [0u8; 11];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello world");
    }

    #[tokio::test]
    async fn large_writes_bypass_and_keep_order_under_backpressure() {
        // A tiny pipe forces partial writes and Pending from the socket side.
        let (a, mut b) = tokio::io::duplex(4096);
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            b.read_to_end(&mut all).await.unwrap();
            all
        });
        let mut w = FlushBatch::new(a);
        let mut expect = Vec::new();
        for i in 0..200u32 {
            let chunk = vec![
                (i % 251) as u8;
                if i % 7 == 0 {
                    BATCH_BYTES_MAX + 10
                } else {
                    300 + i as usize
                }
            ];
            w.write_all(&chunk).await.unwrap();
            expect.extend_from_slice(&chunk);
            if i % 5 == 0 {
                w.flush().await.unwrap();
            }
            assert!(w.buf.len() <= BATCH_BYTES_MAX);
        }
        w.shutdown().await.unwrap();
        drop(w);
        assert_eq!(reader.await.unwrap(), expect);
    }

    #[tokio::test]
    async fn a_small_flush_yields_exactly_once() {
        let (a, _b) = tokio::io::duplex(1 << 16);
        let mut w = FlushBatch::new(a);
        w.write_all(b"x").await.unwrap();
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut w).poll_flush(&mut cx).is_pending());
        assert!(matches!(
            Pin::new(&mut w).poll_flush(&mut cx),
            Poll::Ready(Ok(()))
        ));
        // Nothing buffered: flushes straight through.
        assert!(matches!(
            Pin::new(&mut w).poll_flush(&mut cx),
            Poll::Ready(Ok(()))
        ));
    }
}
