//! The crate's one error type: a recorded history that cannot be checked
//! because it is malformed (a recorder bug, not a server bug).

/// Why a history could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckerError {
    /// An operation completed before it was invoked.
    #[error(
        "operation {id} completes at {complete_ns} ns, before its invocation at {invoke_ns} ns"
    )]
    CompletesBeforeInvoke {
        /// The operation's id.
        id: u64,
        /// Invocation time.
        invoke_ns: u64,
        /// Completion time.
        complete_ns: u64,
    },
    /// An operation's output does not fit its input (e.g. a put answered as a get).
    #[error("operation {id}: output {output} does not answer input {input}")]
    MismatchedOutput {
        /// The operation's id.
        id: u64,
        /// The input, rendered.
        input: String,
        /// The output, rendered.
        output: String,
    },
    /// A list-append history appends one value to one key twice.
    #[error("value {value} is appended to {key} more than once")]
    DuplicateAppend {
        /// The key.
        key: String,
        /// The value.
        value: u64,
    },
    /// A linearizability group holds more operations than the checker accepts.
    #[error("group {group} has {ops} operations, more than the limit {limit}")]
    TooManyOps {
        /// The group's keys, rendered.
        group: String,
        /// Operations in it.
        ops: usize,
        /// The limit ([`crate::OPS_PER_GROUP_MAX`]).
        limit: usize,
    },
}
