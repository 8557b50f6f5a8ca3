//! The one table of errors a client can see: etcd's gRPC code and exact text.
//!
//! Clients match on the message (etcd's `rpctypes` turns the text back into a
//! typed error), so each string is etcd 3.4's, byte for byte. Every layer maps
//! its own error into an [`EtcdError`]; [`EtcdError::to_status`] is the one
//! place that builds a `tonic::Status`.

use tonic::{Code, Status};

macro_rules! etcd_errors {
    ($( $name:ident => ($code:ident, $msg:literal), )*) => {
        /// An error with a fixed gRPC code and etcd's exact message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EtcdError { $( #[doc = $msg] $name, )* }

        impl EtcdError {
            /// The gRPC status code etcd answers with.
            pub fn code(self) -> Code { match self { $( EtcdError::$name => Code::$code, )* } }
            /// etcd's exact message text.
            pub fn message(self) -> &'static str { match self { $( EtcdError::$name => $msg, )* } }
            /// Every entry of the table, for tests and reverse lookups.
            pub const ALL: &'static [EtcdError] = &[ $( EtcdError::$name, )* ];
        }
    };
}

etcd_errors! {
    EmptyKey => (InvalidArgument, "etcdserver: key is not provided"),
    KeyNotFound => (InvalidArgument, "etcdserver: key not found"),
    ValueProvided => (InvalidArgument, "etcdserver: value is provided"),
    LeaseProvided => (InvalidArgument, "etcdserver: lease is provided"),
    TooManyOps => (InvalidArgument, "etcdserver: too many operations in txn request"),
    DuplicateKey => (InvalidArgument, "etcdserver: duplicate key given in txn request"),
    Compacted => (OutOfRange, "etcdserver: mvcc: required revision has been compacted"),
    FutureRev => (OutOfRange, "etcdserver: mvcc: required revision is a future revision"),
    NoSpace => (ResourceExhausted, "etcdserver: mvcc: database space exceeded"),
    LeaseNotFound => (NotFound, "etcdserver: requested lease not found"),
    LeaseExist => (FailedPrecondition, "etcdserver: lease already exists"),
    LeaseTtlTooLarge => (OutOfRange, "etcdserver: too large lease TTL"),
    WatchCanceled => (Cancelled, "etcdserver: watch canceled"),
    MemberExist => (FailedPrecondition, "etcdserver: member ID already exist"),
    PeerUrlExist => (FailedPrecondition, "etcdserver: Peer URLs already exists"),
    MemberNotEnoughStarted => (FailedPrecondition, "etcdserver: re-configuration failed due to not enough started members"),
    MemberBadUrls => (InvalidArgument, "etcdserver: given member URLs are invalid"),
    MemberNotFound => (NotFound, "etcdserver: member not found"),
    MemberNotLearner => (FailedPrecondition, "etcdserver: can only promote a learner member"),
    LearnerNotReady => (FailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader"),
    TooManyLearners => (FailedPrecondition, "etcdserver: too many learner members in cluster"),
    RequestTooLarge => (InvalidArgument, "etcdserver: request is too large"),
    TooManyRequests => (ResourceExhausted, "etcdserver: too many requests"),
    RootUserNotExist => (FailedPrecondition, "etcdserver: root user does not exist"),
    RootRoleNotExist => (FailedPrecondition, "etcdserver: root user does not have root role"),
    UserAlreadyExist => (FailedPrecondition, "etcdserver: user name already exists"),
    UserEmpty => (InvalidArgument, "etcdserver: user name is empty"),
    UserNotFound => (FailedPrecondition, "etcdserver: user name not found"),
    RoleAlreadyExist => (FailedPrecondition, "etcdserver: role name already exists"),
    RoleNotFound => (FailedPrecondition, "etcdserver: role name not found"),
    RoleEmpty => (InvalidArgument, "etcdserver: role name is empty"),
    AuthFailed => (InvalidArgument, "etcdserver: authentication failed, invalid user ID or password"),
    PermissionDenied => (PermissionDenied, "etcdserver: permission denied"),
    RoleNotGranted => (FailedPrecondition, "etcdserver: role is not granted to the user"),
    PermissionNotGranted => (FailedPrecondition, "etcdserver: permission is not granted to the role"),
    AuthNotEnabled => (FailedPrecondition, "etcdserver: authentication is not enabled"),
    InvalidAuthToken => (Unauthenticated, "etcdserver: invalid auth token"),
    InvalidAuthMgmt => (InvalidArgument, "etcdserver: invalid auth management"),
    AuthOldRevision => (InvalidArgument, "etcdserver: revision of auth store is old"),
    // The maintenance service returns the auth store's own errors unmapped,
    // so etcd's clients see them with code Unknown and the "auth: " text.
    AuthRawUserEmpty => (Unknown, "auth: user name is empty"),
    AuthRawUserNotFound => (Unknown, "auth: user not found"),
    AuthRawPermissionDenied => (Unknown, "auth: permission denied"),
    AuthRawInvalidAuthToken => (Unknown, "auth: invalid auth token"),
    AuthRawOldRevision => (Unknown, "auth: revision in header is old"),
    NoPasswordUser => (Unknown, "auth: authentication failed, password was given for no password user"),
    NoLeader => (Unavailable, "etcdserver: no leader"),
    NotLeader => (FailedPrecondition, "etcdserver: not leader"),
    LeaderChanged => (Unavailable, "etcdserver: leader changed"),
    NotCapable => (Unavailable, "etcdserver: not capable"),
    Stopped => (Unavailable, "etcdserver: server stopped"),
    Timeout => (Unavailable, "etcdserver: request timed out"),
    TimeoutDueToLeaderFail => (Unavailable, "etcdserver: request timed out, possibly due to previous leader failure"),
    TimeoutDueToConnectionLost => (Unavailable, "etcdserver: request timed out, possibly due to connection lost"),
    TimeoutWaitAppliedIndex => (Unavailable, "etcdserver: request timed out, waiting for the applied index took too long"),
    Unhealthy => (Unavailable, "etcdserver: unhealthy cluster"),
    Corrupt => (DataLoss, "etcdserver: corrupt cluster"),
    NotSupportedForLearner => (Unavailable, "etcdserver: rpc not supported for learner"),
    BadLeaderTransferee => (FailedPrecondition, "etcdserver: bad leader transferee"),
    TimeoutLeaderTransfer => (Unknown, "etcdserver: request timed out, leader transfer took too long"),
}

impl EtcdError {
    /// The gRPC status a client receives for this error.
    pub fn to_status(self) -> Status {
        Status::new(self.code(), self.message())
    }
}

impl std::fmt::Display for EtcdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for EtcdError {}

impl From<EtcdError> for Status {
    fn from(e: EtcdError) -> Status {
        e.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_unique_and_prefixed() {
        let mut seen = std::collections::HashSet::new();
        for e in EtcdError::ALL {
            assert!(e.message().starts_with("etcdserver: ") || e.message().starts_with("auth: "), "{e:?}");
            assert!(seen.insert(e.message()), "duplicate message {}", e.message());
        }
    }

    #[test]
    fn compacted_matches_etcd() {
        let s = EtcdError::Compacted.to_status();
        assert_eq!(s.code(), Code::OutOfRange);
        assert_eq!(s.message(), "etcdserver: mvcc: required revision has been compacted");
    }
}
