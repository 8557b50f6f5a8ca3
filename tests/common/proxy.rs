//! A fault-injecting TCP proxy in front of every member's peer port.
//!
//! Contract:
//! - One listener per member `to`; the member advertises the listener's URL as
//!   its peer URL, so every peer connection to `to` goes through the proxy,
//!   which forwards to the member's real `--listen-peer-urls` port.
//! - The proxy reads the HTTP request head of each new connection (bounded:
//!   [`HEAD_BYTES_MAX`], [`HEAD_TIMEOUT`]) and learns the dialing member from
//!   its `X-Server-From` header (hex member id). Ids map to indices through
//!   [`FaultProxy::learn_id`]; the proxy also learns `to`'s id from
//!   `X-Raft-To`. A connection whose `from` is still unknown (e.g. a plain
//!   `/version` probe) is governed by no rule: it passes. A keep-alive
//!   connection may carry later requests (Go's `http.Transport` reuses a
//!   connection opened for a probe for Raft pipeline posts): the proxy
//!   follows request boundaries (`Content-Length` bodies) and reads every
//!   later head too, so the dialer is learned from the first request that
//!   names it.
//! - Rules are per directed pair. Bytes flowing from the dialer to `to` obey
//!   `rule(from, to)`; bytes flowing back obey `rule(to, from)` (real etcd's
//!   stream readers dial the peer and receive in the response body, ours send
//!   in the request body: both are covered).
//!   - `Pass`: forward.
//!   - `Drop`: new connections from `from` are refused (closed at once after
//!     the head) and live ones are closed, both sides, as soon as the rule is
//!     set (every connection re-checks on every rule change and every chunk).
//!   - `Delay(d)`: each chunk is forwarded `d` after it was read, in order.
//!   - `Blackhole`: connections stay open, bytes are read and discarded. A
//!     connection that discarded bytes has a torn byte stream, so once no
//!     blackhole governs it any more it is closed (as a real TCP connection
//!     would eventually time out) and the members reconnect.
//! - Everything runs on the proxy's own tokio runtime; dropping the proxy
//!   shuts the runtime down, which ends every task and closes every socket.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

/// Upper bound on an HTTP request head the proxy reads before forwarding.
pub const HEAD_BYTES_MAX: usize = 64 * 1024;
/// Upper bound on the time a new connection may take to send its head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Chunks buffered per direction of one connection (delay queue).
pub const CHUNKS_IN_FLIGHT_MAX: usize = 1024;
/// Size of one read from a socket.
const CHUNK_BYTES: usize = 16 * 1024;
/// Upper bound on connecting to the member behind the proxy.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What happens to traffic of one directed member pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Rule {
    /// Forward unchanged.
    #[default]
    Pass,
    /// Close live connections and refuse new ones.
    Drop,
    /// Forward each chunk this long after it was read.
    Delay(Duration),
    /// Keep connections, silently discard the bytes.
    Blackhole,
}

/// Counters, for tests to check the proxy really carried (or cut) traffic.
#[derive(Debug, Default)]
pub struct ProxyStats {
    /// Connections accepted whose dialer was identified.
    pub identified: AtomicU64,
    /// Connections refused or closed because of a `Drop` rule.
    pub dropped: AtomicU64,
    /// Bytes forwarded (both directions, all connections).
    pub bytes_forwarded: AtomicU64,
    /// Bytes discarded by a `Blackhole` rule.
    pub bytes_discarded: AtomicU64,
}

struct Shared {
    rules: Mutex<HashMap<(usize, usize), Rule>>,
    ids: Mutex<HashMap<u64, usize>>,
    targets: Mutex<Vec<Option<SocketAddr>>>,
    /// Bumped on every rule change; live connections watch it.
    generation: watch::Sender<u64>,
    stats: ProxyStats,
}

impl Shared {
    fn rule(&self, from: Option<usize>, to: Option<usize>) -> Rule {
        match (from, to) {
            (Some(f), Some(t)) => self
                .rules
                .lock()
                .unwrap()
                .get(&(f, t))
                .copied()
                .unwrap_or_default(),
            _ => Rule::Pass,
        }
    }

    fn index_of(&self, id: Option<u64>) -> Option<usize> {
        id.and_then(|id| self.ids.lock().unwrap().get(&id).copied())
    }
}

/// The proxies of one cluster (one listener per member).
pub struct FaultProxy {
    shared: Arc<Shared>,
    ports: Vec<u16>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Binds `n` loopback listeners (fresh ports) and starts serving them.
    /// Connections to member `i` are forwarded once [`Self::set_target`] names
    /// its real peer port (until then they are closed).
    pub fn start(n: usize) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .expect("proxy runtime");
        let (generation, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            rules: Mutex::new(HashMap::new()),
            ids: Mutex::new(HashMap::new()),
            targets: Mutex::new(vec![None; n]),
            generation,
            stats: ProxyStats::default(),
        });
        let mut ports = Vec::with_capacity(n);
        for to in 0..n {
            let listener = runtime
                .block_on(TcpListener::bind("127.0.0.1:0"))
                .expect("bind proxy listener");
            ports.push(listener.local_addr().expect("proxy addr").port());
            runtime.spawn(accept_loop(listener, to, shared.clone()));
        }
        FaultProxy {
            shared,
            ports,
            runtime: Some(runtime),
        }
    }

    /// The port member `i`'s peers dial (its advertised peer port).
    pub fn port(&self, i: usize) -> u16 {
        self.ports[i]
    }

    /// `http://127.0.0.1:<proxy port of i>`.
    pub fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    /// Where connections to member `i` are forwarded (its listen peer port).
    pub fn set_target(&self, i: usize, port: u16) {
        self.shared.targets.lock().unwrap()[i] = Some(SocketAddr::from(([127, 0, 0, 1], port)));
    }

    /// Records that member id `id` is member index `i`.
    pub fn learn_id(&self, id: u64, i: usize) {
        self.shared.ids.lock().unwrap().insert(id, i);
        self.bump();
    }

    /// The learned id → index map.
    pub fn ids(&self) -> HashMap<u64, usize> {
        self.shared.ids.lock().unwrap().clone()
    }

    /// Sets the rule for traffic from member `from` to member `to`.
    pub fn set_rule(&self, from: usize, to: usize, rule: Rule) {
        assert_ne!(from, to, "a member does not dial itself");
        {
            let mut rules = self.shared.rules.lock().unwrap();
            if rule == Rule::Pass {
                rules.remove(&(from, to));
            } else {
                rules.insert((from, to), rule);
            }
        }
        self.bump();
    }

    /// The rule for `from → to`.
    pub fn rule(&self, from: usize, to: usize) -> Rule {
        self.shared.rule(Some(from), Some(to))
    }

    /// Sets `rule` on every pair between the two groups, both directions.
    pub fn set_between(&self, group_a: &[usize], group_b: &[usize], rule: Rule) {
        for &a in group_a {
            for &b in group_b {
                self.set_rule(a, b, rule);
                self.set_rule(b, a, rule);
            }
        }
    }

    /// Cuts every link between the two groups, both directions.
    pub fn partition(&self, group_a: &[usize], group_b: &[usize]) {
        self.set_between(group_a, group_b, Rule::Drop);
    }

    /// Cuts `from → to` only.
    pub fn one_way(&self, from: usize, to: usize) {
        self.set_rule(from, to, Rule::Drop);
    }

    /// Every pair back to `Pass`.
    pub fn heal_all(&self) {
        self.shared.rules.lock().unwrap().clear();
        self.bump();
    }

    /// Traffic counters.
    pub fn stats(&self) -> &ProxyStats {
        &self.shared.stats
    }

    fn bump(&self) {
        self.shared.generation.send_modify(|g| *g += 1);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn accept_loop(listener: TcpListener, to: usize, shared: Arc<Shared>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_connection(socket, to, shared.clone()));
    }
}

/// Reads up to the end of the HTTP request head; returns the bytes read so far
/// (the head and possibly the start of the body).
async fn read_head(socket: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let read = async {
        loop {
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                return Some(());
            }
            if buf.len() >= HEAD_BYTES_MAX {
                return None;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(k) => buf.extend_from_slice(&chunk[..k]),
            }
        }
    };
    tokio::time::timeout(HEAD_TIMEOUT, read).await.ok()??;
    Some(buf)
}

/// The hex id in header `name` of an HTTP head, if any.
fn header_hex(head: &[u8], name: &str) -> Option<u64> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = std::str::from_utf8(&head[..end]).ok()?;
    text.split("\r\n").skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        if k.trim().eq_ignore_ascii_case(name) {
            u64::from_str_radix(v.trim(), 16).ok()
        } else {
            None
        }
    })
}

/// Per-connection view of the two directions' rules.
struct Conn {
    shared: Arc<Shared>,
    /// The dialer's member id (0: not known yet).
    from_id: AtomicU64,
    to: usize,
    /// Wakes the rule watcher when a writer decides to close.
    close: Notify,
    /// Set once a blackhole discarded bytes of this connection.
    torn: AtomicBool,
}

impl Conn {
    fn from(&self) -> Option<usize> {
        let id = self.from_id.load(Ordering::Relaxed);
        self.shared.index_of((id != 0).then_some(id))
    }
    /// Rule for bytes flowing dialer → member (`upstream`) or back.
    fn rule(&self, upstream: bool) -> Rule {
        let (from, to) = (self.from(), Some(self.to));
        if upstream {
            self.shared.rule(from, to)
        } else {
            self.shared.rule(to, from)
        }
    }
    /// Whether the connection must be closed now.
    fn must_close(&self) -> bool {
        let (up, down) = (self.rule(true), self.rule(false));
        if up == Rule::Drop || down == Rule::Drop {
            return true;
        }
        self.torn.load(Ordering::Relaxed) && up != Rule::Blackhole && down != Rule::Blackhole
    }
}

async fn serve_connection(mut socket: TcpStream, to: usize, shared: Arc<Shared>) {
    let _ = socket.set_nodelay(true);
    let Some(head) = read_head(&mut socket).await else {
        return;
    };
    if let Some(to_id) = header_hex(&head, "X-Raft-To") {
        shared.ids.lock().unwrap().entry(to_id).or_insert(to);
    }
    let conn = Arc::new(Conn {
        shared: shared.clone(),
        from_id: AtomicU64::new(header_hex(&head, "X-Server-From").unwrap_or(0)),
        to,
        close: Notify::new(),
        torn: AtomicBool::new(false),
    });
    if conn.from().is_some() {
        shared.stats.identified.fetch_add(1, Ordering::Relaxed);
    }
    if conn.must_close() {
        shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let Some(target) = shared.targets.lock().unwrap()[to] else {
        return;
    };
    let upstream =
        match tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(target)).await {
            Ok(Ok(s)) => s,
            _ => return,
        };
    let _ = upstream.set_nodelay(true);
    let (client_r, client_w) = socket.into_split();
    let (up_r, up_w) = upstream.into_split();
    let mut generation = shared.generation.subscribe();
    let pumps = async {
        tokio::join!(
            pump(conn.clone(), true, Some(head), client_r, up_w),
            pump(conn.clone(), false, None, up_r, client_w),
        )
    };
    let watch_rules = async {
        loop {
            if conn.must_close() {
                return;
            }
            tokio::select! {
                changed = generation.changed() => {
                    if changed.is_err() {
                        // The proxy is going away; the runtime ends us.
                        std::future::pending::<()>().await;
                    }
                }
                _ = conn.close.notified() => {}
            }
        }
    };
    tokio::select! {
        _ = pumps => {}
        _ = watch_rules => {
            shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    // Dropping the halves closes both sides.
}

/// Forwards one direction: a reader stamps chunks with the time they were
/// read, a writer forwards each at stamp + delay (the rule at read time), in
/// order, re-checking the rule when forwarding. Ends at EOF, on an error, or
/// when a rule says close.
async fn pump(
    conn: Arc<Conn>,
    upstream: bool,
    first: Option<Vec<u8>>,
    mut r: OwnedReadHalf,
    mut w: OwnedWriteHalf,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(CHUNKS_IN_FLIGHT_MAX);
    let reader = {
        let conn = conn.clone();
        async move {
            let delay_of = |conn: &Conn| match conn.rule(upstream) {
                Rule::Delay(d) => d,
                _ => Duration::ZERO,
            };
            // Requests flow dialer → member: follow their boundaries.
            let mut tracker = upstream.then(RequestTracker::default);
            if let Some(first) = first {
                if let Some(t) = tracker.as_mut() {
                    t.feed(&first, &conn);
                }
                let _ = tx.send((Instant::now() + delay_of(&conn), first)).await;
            }
            let mut buf = vec![0u8; CHUNK_BYTES];
            loop {
                match r.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => {
                        if let Some(t) = tracker.as_mut() {
                            t.feed(&buf[..k], &conn);
                        }
                        let due = Instant::now() + delay_of(&conn);
                        if tx.send((due, buf[..k].to_vec())).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            match conn.rule(upstream) {
                Rule::Drop => {
                    conn.close.notify_one();
                    return;
                }
                Rule::Blackhole => {
                    conn.torn.store(true, Ordering::Relaxed);
                    conn.shared
                        .stats
                        .bytes_discarded
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    continue;
                }
                Rule::Pass | Rule::Delay(_) => {}
            }
            if conn.must_close() {
                conn.close.notify_one();
                return;
            }
            if w.write_all(&bytes).await.is_err() {
                return;
            }
            conn.shared
                .stats
                .bytes_forwarded
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        let _ = w.shutdown().await;
    };
    tokio::join!(reader, writer);
}

/// Follows HTTP/1.1 request boundaries in the dialer → member bytes so every
/// request head is read; stops following (keeps what it learned) at a body
/// it cannot delimit (chunked) or a head past [`HEAD_BYTES_MAX`].
#[derive(Default)]
struct RequestTracker {
    head: Vec<u8>,
    body_left: u64,
    opaque: bool,
}

impl RequestTracker {
    fn feed(&mut self, mut bytes: &[u8], conn: &Conn) {
        while !self.opaque && !bytes.is_empty() {
            if self.body_left > 0 {
                let skip = self.body_left.min(bytes.len() as u64);
                self.body_left -= skip;
                bytes = &bytes[skip as usize..];
                continue;
            }
            self.head.extend_from_slice(bytes);
            let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                self.opaque = self.head.len() > HEAD_BYTES_MAX;
                return;
            };
            let head: Vec<u8> = self.head.drain(..end + 4).collect();
            if let Some(id) = header_hex(&head, "X-Server-From") {
                conn.from_id.store(id, Ordering::Relaxed);
            }
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            if text.contains("transfer-encoding: chunked") {
                self.opaque = true;
                return;
            }
            self.body_left = text
                .split("\r\n")
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .and_then(|v| v.trim().parse().ok())
                })
                .unwrap_or(0);
            // Bytes after this head are body, then the next head.
            let rest = std::mem::take(&mut self.head);
            self.feed(&rest, conn);
            return;
        }
    }
}
