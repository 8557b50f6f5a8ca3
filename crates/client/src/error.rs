//! The client's one error type.
//!
//! A server error keeps its gRPC status; `Display` renders it the way etcd's
//! Go client does: the bare message for etcd's own errors (`etcdserver: ...`,
//! `mvcc: ...`), otherwise `rpc error: code = <Code> desc = <message>`.

use std::time::Duration;

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a gRPC error.
    #[error("{}", render_status(.0))]
    Status(tonic::Status),
    /// No endpoint could be reached within the dial timeout.
    #[error("context deadline exceeded")]
    Unreachable {
        /// The endpoints tried, in order.
        endpoints: Vec<String>,
        /// The last connection error seen.
        last: String,
    },
    /// The per-call (command) timeout elapsed.
    #[error("context deadline exceeded")]
    Timeout(Duration),
    /// An endpoint or argument could not be used as given.
    #[error("{0}")]
    InvalidArgument(String),
    /// A stream ended or failed outside of a gRPC status.
    #[error("{0}")]
    Stream(String),
    /// TLS settings could not be loaded (missing or malformed PEM files).
    #[error("{0}")]
    Tls(String),
}

impl Error {
    /// The gRPC status, for server errors.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            Error::Status(s) => Some(s),
            _ => None,
        }
    }

    /// The gRPC code of a server error, `Unavailable` for unreachable
    /// endpoints, `DeadlineExceeded` for timeouts.
    pub fn code(&self) -> tonic::Code {
        match self {
            Error::Status(s) => s.code(),
            Error::Unreachable { .. } => tonic::Code::Unavailable,
            Error::Timeout(_) => tonic::Code::DeadlineExceeded,
            Error::InvalidArgument(_) => tonic::Code::InvalidArgument,
            Error::Stream(_) => tonic::Code::Unknown,
            Error::Tls(_) => tonic::Code::InvalidArgument,
        }
    }
}

impl From<tonic::Status> for Error {
    fn from(s: tonic::Status) -> Self {
        Error::Status(s)
    }
}

/// Go's name for a gRPC code (`codes.Code.String()`), as printed by grpc-go.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

/// grpc-go's rendering of a status: `rpc error: code = X desc = Y`.
pub fn grpc_error_string(s: &tonic::Status) -> String {
    format!(
        "rpc error: code = {} desc = {}",
        code_name(s.code()),
        s.message()
    )
}

/// etcd's Go client turns statuses carrying one of etcd's own messages into
/// plain errors whose text is the message; other statuses keep grpc-go's form.
fn render_status(s: &tonic::Status) -> String {
    let m = s.message();
    if m.starts_with("etcdserver: ") || m.starts_with("mvcc: ") || m.starts_with("auth: ") {
        m.to_string()
    } else {
        grpc_error_string(s)
    }
}

/// Shorthand for results of client calls.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_messages_render_bare() {
        let e = Error::from(tonic::Status::not_found(
            "etcdserver: requested lease not found",
        ));
        assert_eq!(e.to_string(), "etcdserver: requested lease not found");
    }

    #[test]
    fn other_statuses_render_like_grpc_go() {
        let e = Error::from(tonic::Status::unavailable("connection refused"));
        assert_eq!(
            e.to_string(),
            "rpc error: code = Unavailable desc = connection refused"
        );
    }
}
