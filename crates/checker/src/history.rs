//! The history model: client operations on keys, each with an invocation
//! and (unless its outcome is unknown) a completion time from one monotonic
//! clock, and what the server answered.
//!
//! Contract:
//! - Times are nanoseconds from one [`Clock`] shared by every client of a
//!   run, so "A completed before B was invoked" is a real-time order.
//! - [`Outcome::Ok`] ops took effect exactly once, at some instant between
//!   invocation and completion, and the output is what the server said.
//! - [`Outcome::Failed`] ops definitely took no effect (the server refused
//!   them before proposing); the checker ignores them.
//! - [`Outcome::Unknown`] ops (timeouts, dropped connections) may have taken
//!   effect at any instant after invocation, or never; their output is unknown.
//! - Revisions are etcd's: a write's `rev` is the response header revision,
//!   which is the new `mod_revision` of every key it wrote. An absent key
//!   has `mod_revision` 0 for comparisons, as in etcd's txn compare.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// A monotonic clock for one run: nanoseconds since it was created.
#[derive(Debug)]
pub struct Clock {
    start: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            start: Instant::now(),
        }
    }
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Clock {
        Clock::default()
    }
    /// Nanoseconds since the clock was created.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A condition of a guarded transaction on one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Guard {
    /// `mod_revision(key) == rev` (0: the key is absent).
    ModRev(i64),
    /// `value(key) == value` (false for an absent key, as in etcd).
    Value(String),
}

/// What a client asked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// Linearizable range of one key.
    Get {
        /// The key.
        key: String,
    },
    /// Put of a unique value.
    Put {
        /// The key.
        key: String,
        /// The value (unique per run, so reads identify the write).
        value: String,
    },
    /// Delete of one key.
    Delete {
        /// The key.
        key: String,
    },
    /// `txn(if all guards hold) then put every (key, value) else nothing`.
    /// A compare-and-set is a txn with one guard and one put.
    Txn {
        /// Conditions, all of which must hold.
        guards: Vec<(String, Guard)>,
        /// Puts done when they hold.
        puts: Vec<(String, String)>,
    },
}

impl Input {
    /// Every key the operation reads or writes.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Input::Get { key } | Input::Put { key, .. } | Input::Delete { key } => vec![key],
            Input::Txn { guards, puts } => {
                let mut ks: Vec<&str> = guards
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .chain(puts.iter().map(|(k, _)| k.as_str()))
                    .collect();
                ks.sort_unstable();
                ks.dedup();
                ks
            }
        }
    }

    /// Whether the operation can change state.
    pub fn is_write(&self) -> bool {
        !matches!(self, Input::Get { .. })
    }
}

/// What the server answered to an [`Outcome::Ok`] op.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Output {
    /// The key's `(value, mod_revision)`, or None if absent.
    Get(Option<(String, i64)>),
    /// The revision of the put.
    Put {
        /// Header revision.
        rev: i64,
    },
    /// Whether a key was deleted, and the header revision.
    Delete {
        /// `deleted > 0`.
        deleted: bool,
        /// Header revision.
        rev: i64,
    },
    /// Whether the guards held, and the header revision.
    Txn {
        /// The txn's `succeeded`.
        succeeded: bool,
        /// Header revision.
        rev: i64,
    },
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Answered; took effect exactly once.
    Ok(Output),
    /// Refused; took no effect.
    Failed,
    /// No answer: took effect once at some time after invocation, or never.
    Unknown,
}

/// One operation of one client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Op {
    /// Unique within a history.
    pub id: u64,
    /// The client that issued it (a client runs one op at a time).
    pub client: u32,
    /// What was asked.
    pub input: Input,
    /// How it ended.
    pub outcome: Outcome,
    /// Invocation time ([`Clock::now_ns`]).
    pub invoke_ns: u64,
    /// Completion time; meaningful only for [`Outcome::Ok`] and [`Outcome::Failed`].
    pub complete_ns: u64,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = |ns: u64| format!("{:.3}", ns as f64 / 1e9);
        let end = match self.outcome {
            Outcome::Unknown => "?".to_string(),
            _ => t(self.complete_ns),
        };
        write!(
            f,
            "#{} c{} [{}..{}] ",
            self.id,
            self.client,
            t(self.invoke_ns),
            end
        )?;
        match &self.input {
            Input::Get { key } => write!(f, "get({key})")?,
            Input::Put { key, value } => write!(f, "put({key}={value})")?,
            Input::Delete { key } => write!(f, "delete({key})")?,
            Input::Txn { guards, puts } => {
                let gs: Vec<String> = guards
                    .iter()
                    .map(|(k, g)| match g {
                        Guard::ModRev(r) => format!("mod({k})=={r}"),
                        Guard::Value(v) => format!("value({k})=={v}"),
                    })
                    .collect();
                let ps: Vec<String> = puts.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "txn(if {} then put {})", gs.join(" && "), ps.join(", "))?
            }
        }
        match &self.outcome {
            Outcome::Ok(Output::Get(None)) => write!(f, " -> absent"),
            Outcome::Ok(Output::Get(Some((v, r)))) => write!(f, " -> {v}@{r}"),
            Outcome::Ok(Output::Put { rev }) => write!(f, " -> rev {rev}"),
            Outcome::Ok(Output::Delete { deleted, rev }) => {
                write!(f, " -> deleted={deleted} rev {rev}")
            }
            Outcome::Ok(Output::Txn { succeeded, rev }) => {
                write!(f, " -> succeeded={succeeded} rev {rev}")
            }
            Outcome::Failed => write!(f, " -> failed"),
            Outcome::Unknown => write!(f, " -> unknown"),
        }
    }
}

/// A thread-safe recorder: clients call [`Recorder::invoke`] before sending
/// and [`Recorder::complete`] after the answer (or timeout).
#[derive(Debug, Default)]
pub struct Recorder {
    clock: Clock,
    next_id: AtomicU64,
    ops: Mutex<Vec<Op>>,
}

/// A pending operation returned by [`Recorder::invoke`].
#[derive(Debug)]
pub struct Pending {
    id: u64,
    client: u32,
    input: Input,
    invoke_ns: u64,
}

impl Recorder {
    /// An empty recorder with a fresh clock.
    pub fn new() -> Recorder {
        Recorder::default()
    }
    /// The recorder's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
    /// Stamps the invocation of `input` by `client`.
    pub fn invoke(&self, client: u32, input: Input) -> Pending {
        Pending {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            client,
            input,
            invoke_ns: self.clock.now_ns(),
        }
    }
    /// Stamps the completion and stores the op.
    pub fn complete(&self, p: Pending, outcome: Outcome) {
        let complete_ns = self.clock.now_ns();
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).push(Op {
            id: p.id,
            client: p.client,
            input: p.input,
            outcome,
            invoke_ns: p.invoke_ns,
            complete_ns,
        });
    }
    /// Every op recorded so far, sorted by invocation time.
    pub fn ops(&self) -> Vec<Op> {
        let mut ops = self.ops.lock().unwrap_or_else(|e| e.into_inner()).clone();
        ops.sort_by_key(|o| (o.invoke_ns, o.id));
        ops
    }
}
