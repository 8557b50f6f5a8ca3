//! Accepting `:authority` values that carry a URL scheme.
//!
//! etcdctl 3.4 (grpc-go) dials an endpoint given as `http://host:port` with
//! the HTTP/2 `:authority` pseudo-header set to that whole string. Go's
//! server takes it; the `h2` crate under hyper resets such a stream as
//! malformed. [`AuthorityFix`] sits between the accepted socket and hyper and
//! strips the scheme before `h2` sees the request.
//!
//! Contract of the read side (writes are passed through untouched):
//! - A connection that does not open with the HTTP/2 client preface (HTTP/1.1
//!   gateway traffic, curl) is passed through byte for byte.
//! - An HTTP/2 connection is passed through frame by frame. Its first header
//!   block (HEADERS plus its CONTINUATIONs) is decoded. If its `:authority`
//!   has no `://` (or the block does not decode), the decision is "leave
//!   alone": the block's original bytes and everything after them are passed
//!   through, with no parsing and no copies from then on.
//! - Otherwise the connection is in rewrite mode for good: every header block
//!   from the client is decoded with the client's HPACK state and re-encoded
//!   without state (literals without indexing, no Huffman), the scheme (and
//!   any path) cut from `:authority`, as one HEADERS frame (END_HEADERS set,
//!   END_STREAM kept, padding and priority dropped) plus CONTINUATION frames
//!   past [`MAX_FRAME_PAYLOAD_BYTES`]. All blocks must be rewritten because
//!   hyper's decoder never sees the client's dynamic-table insertions.
//!   Frames other than header blocks keep their bytes.
//!
//! Invariants and bounds:
//! - The client's HPACK encoder table is bounded by the server's
//!   SETTINGS_HEADER_TABLE_SIZE, which hyper leaves at
//!   [`HEADER_TABLE_SIZE_BYTES`]; a larger size update is a decode error.
//! - At most [`MAX_HEADER_BLOCK_BYTES`] of one header block (frames included)
//!   are buffered; a larger block fails the read with `InvalidData`, which
//!   closes the connection. Other frames are streamed, never buffered whole.
//! - A malformed block in rewrite mode also fails the read (the HPACK states
//!   of client and server could no longer be kept in step).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The HTTP/2 client connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The size of an HTTP/2 frame header.
const FRAME_HEADER_BYTES: usize = 9;
/// Frame type HEADERS.
const TYPE_HEADERS: u8 = 0x1;
/// Frame type CONTINUATION.
const TYPE_CONTINUATION: u8 = 0x9;
/// HEADERS flag END_STREAM.
const FLAG_END_STREAM: u8 = 0x1;
/// HEADERS/CONTINUATION flag END_HEADERS.
const FLAG_END_HEADERS: u8 = 0x4;
/// HEADERS flag PADDED.
const FLAG_PADDED: u8 = 0x8;
/// HEADERS flag PRIORITY.
const FLAG_PRIORITY: u8 = 0x20;
/// The largest frame payload hyper accepts by default (SETTINGS_MAX_FRAME_SIZE).
pub const MAX_FRAME_PAYLOAD_BYTES: usize = 16_384;
/// hyper's SETTINGS_HEADER_TABLE_SIZE (the HTTP/2 default).
pub const HEADER_TABLE_SIZE_BYTES: usize = 4096;
/// The most bytes of one header block (frame headers included) buffered.
pub const MAX_HEADER_BLOCK_BYTES: usize = 1 << 20;
/// Bytes read from the socket at a time while frames are parsed.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Where the connection stands.
enum Phase {
    /// Matching the client preface.
    Preface,
    /// Parsing frames; `rewrite` once the first block asked for it.
    Frames { rewrite: bool },
    /// Passing bytes straight through.
    Passthrough,
}

/// A header block being collected: the raw frames as received, and the
/// concatenated header block fragment.
struct Block {
    stream_id: [u8; 4],
    end_stream: bool,
    raw: Vec<u8>,
    fragment: Vec<u8>,
}

/// The byte transformation, without I/O: input from the client goes in,
/// bytes for the server come out.
pub struct Fixer {
    phase: Phase,
    /// Input not yet consumed (an incomplete frame header or header frame).
    pending: Vec<u8>,
    /// Payload bytes of the current non-header frame still to pass on.
    skip_bytes: usize,
    block: Option<Block>,
    decoder: httlib_hpack::Decoder<'static>,
}

impl Default for Fixer {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixer {
    /// A fixer at the start of a connection.
    pub fn new() -> Fixer {
        let decoder = httlib_hpack::Decoder::with_dynamic_size(HEADER_TABLE_SIZE_BYTES as u32);
        Fixer {
            phase: Phase::Preface,
            pending: Vec::new(),
            skip_bytes: 0,
            block: None,
            decoder,
        }
    }

    /// Whether everything from now on passes through unchanged.
    pub fn is_passthrough(&self) -> bool {
        matches!(self.phase, Phase::Passthrough)
    }

    /// Whether the connection's header blocks are being rewritten.
    pub fn is_rewriting(&self) -> bool {
        matches!(self.phase, Phase::Frames { rewrite: true })
    }

    /// Consumes `input` from the client, appending to `out` what the server
    /// should read. An error means the connection must be closed.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        if self.is_passthrough() {
            out.extend_from_slice(input);
            return Ok(());
        }
        let mut input = input;
        // Stream the payload of a non-header frame without buffering it.
        if self.pending.is_empty() && self.skip_bytes > 0 {
            let n = self.skip_bytes.min(input.len());
            out.extend_from_slice(&input[..n]);
            self.skip_bytes -= n;
            input = &input[n..];
        }
        self.pending.extend_from_slice(input);
        let consumed = self.process(out)?;
        self.pending.drain(..consumed);
        if self.is_passthrough() {
            out.append(&mut self.pending);
            self.pending = Vec::new();
        }
        Ok(())
    }

    /// The client closed its side: whatever is still held goes out unchanged
    /// (the server will see the same truncation the client sent).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if let Some(block) = self.block.take() {
            if !self.is_rewriting() {
                out.extend_from_slice(&block.raw);
            }
        }
        if !self.is_rewriting() {
            out.append(&mut self.pending);
        }
        self.pending = Vec::new();
        self.phase = Phase::Passthrough;
    }

    /// Processes `self.pending`, returning how many bytes of it were used.
    fn process(&mut self, out: &mut Vec<u8>) -> io::Result<usize> {
        let buf = std::mem::take(&mut self.pending);
        let result = self.process_buf(&buf, out);
        self.pending = buf;
        result
    }

    fn process_buf(&mut self, buf: &[u8], out: &mut Vec<u8>) -> io::Result<usize> {
        let mut pos = 0;
        if matches!(self.phase, Phase::Preface) {
            let n = buf.len().min(PREFACE.len());
            if buf[..n] != PREFACE[..n] {
                self.phase = Phase::Passthrough;
                return Ok(0);
            }
            if n < PREFACE.len() {
                return Ok(0);
            }
            out.extend_from_slice(PREFACE);
            pos = PREFACE.len();
            self.phase = Phase::Frames { rewrite: false };
        }
        loop {
            if self.is_passthrough() {
                return Ok(pos);
            }
            if self.skip_bytes > 0 {
                let n = self.skip_bytes.min(buf.len() - pos);
                out.extend_from_slice(&buf[pos..pos + n]);
                self.skip_bytes -= n;
                pos += n;
                if self.skip_bytes > 0 {
                    return Ok(pos);
                }
            }
            let rest = &buf[pos..];
            if rest.len() < FRAME_HEADER_BYTES {
                return Ok(pos);
            }
            let len = u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
            let kind = rest[3];
            let flags = rest[4];
            let stream_id = [rest[5], rest[6], rest[7], rest[8]];
            let in_block = self.block.is_some();
            let header_frame = kind == TYPE_HEADERS && !in_block;
            let continuation = kind == TYPE_CONTINUATION
                && self
                    .block
                    .as_ref()
                    .is_some_and(|b| b.stream_id == stream_id);
            if in_block && !continuation {
                // Anything but the block's CONTINUATION here is a protocol
                // error; hyper reports it if we can still step aside.
                self.abandon_block(out)?;
                continue;
            }
            if !header_frame && !continuation {
                out.extend_from_slice(&rest[..FRAME_HEADER_BYTES]);
                self.skip_bytes = len;
                pos += FRAME_HEADER_BYTES;
                continue;
            }
            let held = self.block.as_ref().map_or(0, |b| b.raw.len());
            if held + FRAME_HEADER_BYTES + len > MAX_HEADER_BLOCK_BYTES {
                return Err(invalid(format!(
                    "HTTP/2 header block over {MAX_HEADER_BLOCK_BYTES} bytes"
                )));
            }
            if rest.len() < FRAME_HEADER_BYTES + len {
                return Ok(pos);
            }
            let frame = &rest[..FRAME_HEADER_BYTES + len];
            pos += frame.len();
            let payload = &frame[FRAME_HEADER_BYTES..];
            if header_frame {
                let mut block = Block {
                    stream_id,
                    end_stream: flags & FLAG_END_STREAM != 0,
                    raw: Vec::new(),
                    fragment: Vec::new(),
                };
                block.raw.extend_from_slice(frame);
                match headers_fragment(flags, payload) {
                    Some(f) => block.fragment.extend_from_slice(f),
                    None => {
                        self.block = Some(block);
                        self.abandon_block(out)?;
                        continue;
                    }
                }
                self.block = Some(block);
            } else if let Some(block) = self.block.as_mut() {
                block.raw.extend_from_slice(frame);
                block.fragment.extend_from_slice(payload);
            }
            if flags & FLAG_END_HEADERS != 0 {
                self.finish_block(out)?;
            }
        }
    }

    /// The block in progress cannot be parsed: before the decision, pass it
    /// on as received and step aside; in rewrite mode, fail.
    fn abandon_block(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let block = self.block.take();
        if self.is_rewriting() {
            return Err(invalid("malformed HTTP/2 header block".to_string()));
        }
        if let Some(block) = block {
            out.extend_from_slice(&block.raw);
        }
        self.phase = Phase::Passthrough;
        Ok(())
    }

    /// A complete header block: decide or rewrite.
    fn finish_block(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let Some(block) = self.block.take() else {
            return Ok(());
        };
        let headers = decode_block(&mut self.decoder, &block.fragment);
        let rewrite = self.is_rewriting();
        let Some(mut headers) = headers else {
            self.block = Some(block);
            return self.abandon_block(out);
        };
        let mut fixed = false;
        for (name, value) in headers.iter_mut() {
            if name.as_slice() == b":authority" {
                if let Some(host) = strip_scheme(value) {
                    *value = host.to_vec();
                    fixed = true;
                }
            }
        }
        if !rewrite && !fixed {
            out.extend_from_slice(&block.raw);
            self.phase = Phase::Passthrough;
            return Ok(());
        }
        self.phase = Phase::Frames { rewrite: true };
        let mut encoded = Vec::with_capacity(block.fragment.len() * 2);
        for (name, value) in &headers {
            encode_literal(name, value, &mut encoded);
        }
        write_header_frames(&encoded, block.stream_id, block.end_stream, out);
        Ok(())
    }
}

/// The header block fragment of a HEADERS frame payload, padding and
/// priority removed; `None` if the padding does not fit.
fn headers_fragment(flags: u8, payload: &[u8]) -> Option<&[u8]> {
    let mut start = 0;
    let mut end = payload.len();
    if flags & FLAG_PADDED != 0 {
        let pad = *payload.first()? as usize;
        start = 1;
        end = end.checked_sub(pad)?;
    }
    if flags & FLAG_PRIORITY != 0 {
        start += 5;
    }
    payload.get(start..end)
}

/// `value` without `scheme://` and anything from the first `/` after it, if
/// it has a scheme.
fn strip_scheme(value: &[u8]) -> Option<&[u8]> {
    let at = value.windows(3).position(|w| w == b"://")?;
    let host = &value[at + 3..];
    let end = host
        .iter()
        .position(|&b| b == b'/' || b == b'?' || b == b'#')
        .unwrap_or(host.len());
    Some(&host[..end])
}

/// Decodes an HPACK block with the connection's decoder; `None` if it is
/// malformed. The decoder is fed one checked representation at a time: it
/// must never see a truncated one (it would panic), and feeding the whole
/// block would cost time quadratic in the number of fields.
fn decode_block(
    decoder: &mut httlib_hpack::Decoder<'static>,
    block: &[u8],
) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut fields = Vec::new();
    let mut one = Vec::new();
    for range in representations(block)? {
        one.clear();
        one.extend_from_slice(&block[range]);
        decoder.decode(&mut one, &mut fields).ok()?;
    }
    Some(
        fields
            .into_iter()
            .map(|(name, value, _)| (name, value))
            .collect(),
    )
}

/// The byte ranges of an HPACK block's representations, checked
/// structurally (integers complete and at most 5 octets, strings inside the
/// block); `None` if one is not.
fn representations(block: &[u8]) -> Option<Vec<std::ops::Range<usize>>> {
    let mut ranges = Vec::new();
    let mut pos = 0;
    while pos < block.len() {
        let start = pos;
        let first = block[pos];
        let (prefix_bits, strings) = if first & 0x80 != 0 {
            (7, 0)
        } else if first & 0x40 != 0 {
            (6, 1)
        } else if first & 0x20 != 0 {
            (5, 0)
        } else {
            (4, 1)
        };
        let (index, used) = read_int(&block[pos..], prefix_bits)?;
        pos += used;
        // A literal with a new name carries two strings, an indexed name one.
        let count = if strings == 1 && index == 0 {
            2
        } else {
            strings
        };
        for _ in 0..count {
            let (len, used) = read_int(block.get(pos..).unwrap_or(&[]), 7)?;
            pos += used;
            if len > block.len() - pos {
                return None;
            }
            pos += len;
        }
        ranges.push(start..pos);
    }
    Some(ranges)
}

/// An HPACK integer with a `prefix_bits` prefix: (value, bytes used).
fn read_int(buf: &[u8], prefix_bits: u32) -> Option<(usize, usize)> {
    let mask = (1usize << prefix_bits) - 1;
    let mut value = (*buf.first()? as usize) & mask;
    if value < mask {
        return Some((value, 1));
    }
    for (i, &b) in buf.iter().enumerate().skip(1).take(4) {
        value += ((b & 0x7f) as usize) << (7 * (i - 1));
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Appends an HPACK integer whose first octet carries `high` bits above a
/// `prefix_bits` prefix.
fn write_int(value: usize, prefix_bits: u32, high: u8, out: &mut Vec<u8>) {
    let mask = (1usize << prefix_bits) - 1;
    if value < mask {
        out.push(high | value as u8);
        return;
    }
    out.push(high | mask as u8);
    let mut rest = value - mask;
    while rest >= 0x80 {
        out.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// A literal header field without indexing, new name, no Huffman coding.
fn encode_literal(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.push(0x00);
    write_int(name.len(), 7, 0, out);
    out.extend_from_slice(name);
    write_int(value.len(), 7, 0, out);
    out.extend_from_slice(value);
}

/// One HEADERS frame, then CONTINUATION frames, carrying `block`.
fn write_header_frames(block: &[u8], stream_id: [u8; 4], end_stream: bool, out: &mut Vec<u8>) {
    let mut chunks = block.chunks(MAX_FRAME_PAYLOAD_BYTES).peekable();
    let mut first = true;
    loop {
        let chunk = chunks.next().unwrap_or(&[]);
        let last = chunks.peek().is_none();
        let (kind, mut flags) = if first {
            (TYPE_HEADERS, if end_stream { FLAG_END_STREAM } else { 0 })
        } else {
            (TYPE_CONTINUATION, 0)
        };
        if last {
            flags |= FLAG_END_HEADERS;
        }
        let len = (chunk.len() as u32).to_be_bytes();
        out.extend_from_slice(&[len[1], len[2], len[3], kind, flags]);
        out.extend_from_slice(&stream_id);
        out.extend_from_slice(chunk);
        first = false;
        if last {
            return;
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// An accepted client connection whose reads go through a [`Fixer`].
pub struct AuthorityFix<T> {
    inner: T,
    fixer: Fixer,
    /// Bytes for the reader: `out[out_pos..]` not yet read.
    out: Vec<u8>,
    out_pos: usize,
    /// Read buffer while frames are parsed; freed on passthrough.
    scratch: Vec<u8>,
}

impl<T> AuthorityFix<T> {
    /// Wraps a freshly accepted connection.
    pub fn new(inner: T) -> AuthorityFix<T> {
        AuthorityFix {
            inner,
            fixer: Fixer::new(),
            out: Vec::new(),
            out_pos: 0,
            scratch: Vec::new(),
        }
    }

    /// The wrapped connection.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for AuthorityFix<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.out_pos < this.out.len() {
                let n = buf.remaining().min(this.out.len() - this.out_pos);
                buf.put_slice(&this.out[this.out_pos..this.out_pos + n]);
                this.out_pos += n;
                if this.out_pos == this.out.len() {
                    this.out.clear();
                    this.out_pos = 0;
                    if this.fixer.is_passthrough() {
                        this.out = Vec::new();
                    }
                }
                return Poll::Ready(Ok(()));
            }
            if this.fixer.is_passthrough() {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if this.scratch.is_empty() {
                this.scratch = vec![0; READ_CHUNK_BYTES];
            }
            let mut rb = ReadBuf::new(&mut this.scratch);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let filled = rb.filled().len();
            if filled == 0 {
                this.fixer.finish(&mut this.out);
            } else {
                this.fixer.push(&this.scratch[..filled], &mut this.out)?;
            }
            if this.fixer.is_passthrough() {
                this.scratch = Vec::new();
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for AuthorityFix<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A client listener whose connections are [`AuthorityFix`]ed, with
/// TCP_NODELAY set.
pub struct AuthorityFixListener {
    inner: TcpListener,
}

impl AuthorityFixListener {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener) -> AuthorityFixListener {
        AuthorityFixListener { inner }
    }
}

impl axum::serve::Listener for AuthorityFixListener {
    type Io = AuthorityFix<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // axum's own accept loop retries and backs off on accept errors.
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%addr, error = %e, "cannot set TCP_NODELAY");
        }
        (AuthorityFix::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[cfg(test)]
mod tests;
