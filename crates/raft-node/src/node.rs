//! The Raft thread: owns the raft-rs `RawNode` and the [`DurableLog`].
//!
//! One loop, one thread. Each turn it takes every queued input (proposals,
//! read-index requests, peer messages, snapshot requests), ticks when due, and
//! handles one `Ready` in raft-rs's documented order ("Processing the Ready
//! State"):
//! 1. send leader messages (they may go out before the local fsync, §10.2.1 of
//!    the Raft thesis);
//! 2. hand already-committed entries to the applier;
//! 3. persist hard state and new entries with one fsync;
//! 4. send the messages that had to wait for that fsync;
//! 5. advance, then hand over what the `LightReady` newly commits.
//!
//! Draining all queued proposals before each `Ready` is what batches many
//! client writes into one fsync.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use raft::eraftpb::{ConfChange, ConfState, Entry, Message, Snapshot};
use raft::{RawNode, ReadState, StateRole};

use crate::durable::DurableLog;
use crate::storage::RaftStorage;
use crate::NodeError;

/// Timing and identity of the local Raft member.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This member's id.
    pub id: u64,
    /// Milliseconds per tick (etcd's `--heartbeat-interval`).
    pub tick_ms: u64,
    /// Ticks without a leader before campaigning (`election-timeout / heartbeat-interval`).
    pub election_ticks: usize,
    /// Raft index already applied to the state machine at start.
    pub applied_index: u64,
    /// True when this member alone is a voter: campaign at once instead of
    /// waiting out an election timeout (etcd's "fast-forwarding ticks").
    pub single_voter_fast_start: bool,
}

/// What the applier receives, in log order.
pub enum ApplyItem {
    /// Committed entries to apply.
    Entries(Vec<Entry>),
    /// A snapshot from the leader to install before any later entry.
    Snapshot(Snapshot),
}

/// Inputs to the Raft thread.
pub enum Input {
    /// Propose `data` (an encoded request) as a normal entry.
    Propose(Vec<u8>),
    /// Propose a configuration change.
    ProposeConfChange(ConfChange),
    /// Ask for a read index; the answer comes through [`NodeEvents::read_states`].
    ReadIndex(Vec<u8>),
    /// A message from a peer.
    Step(Message),
    /// The applier made the state machine durable at `index`: snapshot there.
    Snapshot {
        /// Applied index the snapshot covers.
        index: u64,
        /// Configuration at that index.
        conf_state: ConfState,
        /// Opaque snapshot payload.
        data: Vec<u8>,
    },
    /// Move leadership to the given member.
    TransferLeader(u64),
    /// Make a committed, validated conf change take effect in raft-rs. The
    /// applier sends it when it applies the entry, in log order (as etcd's
    /// applier calls `ApplyConfChange`); an invalid change is not sent.
    ApplyConfChange(ConfChange),
    /// Whether a snapshot reached peer `to` (raft-rs resumes replication).
    ReportSnapshot {
        /// The peer.
        to: u64,
        /// True when the peer stored it.
        ok: bool,
    },
    /// Report each peer's matched index (leader only; empty otherwise).
    Progress(std::sync::mpsc::Sender<Vec<(u64, u64)>>),
    /// Stop the loop.
    Stop,
}

/// Where the Raft thread sends what it produces.
pub trait NodeEvents: Send + 'static {
    /// Messages to peers, in order per peer.
    fn send(&mut self, msgs: Vec<Message>);
    /// Read states answered by the leader.
    fn read_states(&mut self, states: Vec<ReadState>);
    /// Leader or role changed.
    fn role_changed(&mut self, leader: u64, role: StateRole, term: u64);
    /// A storage failure: the member must stop.
    fn fatal(&mut self, err: NodeError);
}

/// Counters the rest of the server reads without talking to the thread.
#[derive(Default, Debug)]
pub struct NodeStatus {
    /// Current leader id (0 when none).
    pub leader: AtomicU64,
    /// Current term.
    pub term: AtomicU64,
    /// Commit index.
    pub commit: AtomicU64,
    /// Index of the last entry in the log.
    pub last_index: AtomicU64,
}

/// A handle to send inputs to the Raft thread.
#[derive(Clone)]
pub struct NodeHandle {
    tx: Sender<Input>,
    status: Arc<NodeStatus>,
}

impl NodeHandle {
    /// Queues an input; fails only when the thread has stopped.
    pub fn send(&self, input: Input) -> Result<(), NodeError> {
        self.tx.send(input).map_err(|_| NodeError::Stopped)
    }

    /// Shared counters.
    pub fn status(&self) -> &NodeStatus {
        &self.status
    }
}

/// Starts the Raft thread. Applied items go to `apply_tx` (bounded: a slow
/// applier slows Raft down rather than growing memory).
pub fn start(
    cfg: NodeConfig,
    log: DurableLog,
    events: Box<dyn NodeEvents>,
    apply_tx: SyncSender<ApplyItem>,
    logger: slog::Logger,
) -> Result<(NodeHandle, std::thread::JoinHandle<()>), NodeError> {
    let raft_cfg = raft::Config {
        id: cfg.id,
        election_tick: cfg.election_ticks,
        heartbeat_tick: 1,
        applied: cfg.applied_index,
        max_size_per_msg: 1024 * 1024,
        max_inflight_msgs: 4096 / 8,
        check_quorum: true,
        pre_vote: true,
        read_only_option: raft::ReadOnlyOption::Safe,
        ..Default::default()
    };
    raft_cfg.validate()?;
    let raw = RawNode::new(&raft_cfg, log.storage(), &logger)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let status = Arc::new(NodeStatus::default());
    let handle = NodeHandle { tx, status: status.clone() };
    let mut worker = Worker {
        raw,
        log,
        events,
        apply_tx,
        status,
        tick: Duration::from_millis(cfg.tick_ms.max(1)),
        last_role: (0, StateRole::Follower, 0),
        fast_start: cfg.single_voter_fast_start,
    };
    let join = std::thread::Builder::new()
        .name("raft".into())
        .spawn(move || worker.run(rx))
        .map_err(NodeError::Io)?;
    Ok((handle, join))
}

struct Worker {
    raw: RawNode<RaftStorage>,
    log: DurableLog,
    events: Box<dyn NodeEvents>,
    apply_tx: SyncSender<ApplyItem>,
    status: Arc<NodeStatus>,
    tick: Duration,
    last_role: (u64, StateRole, u64),
    fast_start: bool,
}

impl Worker {
    fn run(&mut self, rx: Receiver<Input>) {
        // Every write waits for this thread's fsync (see `latency`).
        crate::latency::mark_latency_critical();
        self.maybe_fast_start();
        // Entries restored or bootstrapped before the thread started are
        // handed over now, not after the first tick.
        if let Err(e) = self.on_ready() {
            self.events.fatal(e);
            return;
        }
        let mut next_tick = Instant::now() + self.tick;
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            match rx.recv_timeout(timeout) {
                Ok(input) => {
                    if !self.handle(input) {
                        return;
                    }
                    // Take everything else queued: one Ready, one fsync for all.
                    while let Ok(input) = rx.try_recv() {
                        if !self.handle(input) {
                            return;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if Instant::now() >= next_tick {
                self.raw.tick();
                next_tick += self.tick;
                if next_tick < Instant::now() {
                    next_tick = Instant::now() + self.tick;
                }
            }
            if let Err(e) = self.on_ready() {
                self.events.fatal(e);
                return;
            }
        }
    }

    /// Returns false to stop.
    fn handle(&mut self, input: Input) -> bool {
        let res = match input {
            Input::Propose(data) => self.raw.propose(vec![], data),
            Input::ProposeConfChange(cc) => self.raw.propose_conf_change(vec![], cc),
            Input::ReadIndex(ctx) => {
                self.raw.read_index(ctx);
                Ok(())
            }
            Input::Step(m) => self.raw.step(m),
            Input::TransferLeader(to) => {
                self.raw.transfer_leader(to);
                Ok(())
            }
            Input::ApplyConfChange(cc) => match self.raw.apply_conf_change(&cc) {
                Ok(cs) => {
                    tracing::info!(target: "raft", "{:x} switched to configuration voters={:?} learners={:?}",
                        self.raw.raft.id, cs.voters, cs.learners);
                    self.maybe_fast_start();
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Input::ReportSnapshot { to, ok } => {
                let status = if ok { raft::SnapshotStatus::Finish } else { raft::SnapshotStatus::Failure };
                self.raw.report_snapshot(to, status);
                Ok(())
            }
            Input::Progress(reply) => {
                let mut out = Vec::new();
                if self.raw.raft.state == StateRole::Leader {
                    for (id, pr) in self.raw.raft.prs().iter() {
                        out.push((*id, pr.matched));
                    }
                }
                let _ = reply.send(out);
                Ok(())
            }
            Input::Snapshot { index, conf_state, data } => {
                if let Err(e) = self.log.create_snapshot(index, conf_state, data) {
                    self.events.fatal(e);
                    return false;
                }
                Ok(())
            }
            Input::Stop => return false,
        };
        // Dropped proposals (no leader, transfer in progress) are answered by
        // the proposer's timeout, as in etcd.
        if let Err(e) = res {
            tracing::debug!(target: "raft", "input rejected: {e}");
        }
        true
    }

    fn on_ready(&mut self) -> Result<(), NodeError> {
        if !self.raw.has_ready() {
            return Ok(());
        }
        let mut rd = self.raw.ready();
        if let Some(ss) = rd.ss() {
            self.note_role(ss.leader_id, ss.raft_state);
        }
        if !rd.messages().is_empty() {
            self.events.send(rd.take_messages());
        }
        if !rd.snapshot().is_empty() {
            let snap = rd.snapshot().clone();
            self.log.install_snapshot(&snap)?;
            self.deliver(ApplyItem::Snapshot(snap))?;
        }
        if !rd.read_states().is_empty() {
            self.events.read_states(rd.take_read_states());
        }
        let committed = rd.take_committed_entries();
        self.apply_entries(committed)?;
        let hs = rd.hs().cloned();
        fail::fail_point!("raft_before_save", |_| std::process::abort());
        self.log.persist(hs.as_ref(), rd.entries())?;
        fail::fail_point!("raft_after_save", |_| std::process::abort());
        if let Some(hs) = &hs {
            self.status.term.store(hs.term, Ordering::Relaxed);
        }
        if !rd.persisted_messages().is_empty() {
            self.events.send(rd.take_persisted_messages());
        }
        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            self.log.note_commit(commit);
        }
        if !light.messages().is_empty() {
            self.events.send(light.take_messages());
        }
        self.apply_entries(light.take_committed_entries())?;
        self.raw.advance_apply();
        let hs = self.log.hard_state();
        self.status.commit.store(hs.commit, Ordering::Relaxed);
        self.status.term.store(hs.term, Ordering::Relaxed);
        self.status.last_index.store(self.raw.raft.raft_log.last_index(), Ordering::Relaxed);
        Ok(())
    }

    fn note_role(&mut self, leader: u64, role: StateRole) {
        let term = self.raw.raft.term;
        self.status.leader.store(leader, Ordering::Relaxed);
        if (leader, role, term) != self.last_role {
            self.last_role = (leader, role, term);
            self.events.role_changed(leader, role, term);
        }
    }

    fn apply_entries(&mut self, entries: Vec<Entry>) -> Result<(), NodeError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.deliver(ApplyItem::Entries(entries))
    }

    /// A lone voter need not wait out an election timeout to lead: it
    /// campaigns at once (no other voter can be disrupted; it wins its own
    /// pre-vote and vote). etcd fast-forwards `election_ticks - 1` ticks
    /// instead, which still leaves raft's randomized remainder (up to another
    /// election timeout) before the campaign.
    fn maybe_fast_start(&mut self) {
        if !self.fast_start {
            return;
        }
        let voters = self.raw.raft.prs().conf().voters().ids().iter().collect::<Vec<_>>();
        if voters.len() == 1 && voters[0] == self.raw.raft.id && self.raw.raft.state != StateRole::Leader {
            if let Err(e) = self.raw.campaign() {
                tracing::debug!(target: "raft", "campaign at start rejected: {e}");
            }
            // Refused (a conf change still pending): retry at the next one;
            // the election timeout remains the fallback.
            self.fast_start = self.raw.raft.state == StateRole::Follower;
        }
    }

    fn deliver(&mut self, item: ApplyItem) -> Result<(), NodeError> {
        self.apply_tx.send(item).map_err(|_| NodeError::Stopped)
    }
}
