//! The auth crate's errors. Each client-visible one maps to exactly one
//! entry of etcd's error table (the server does the mapping).

/// Why an auth operation or check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Enabling auth needs a `root` user.
    #[error("auth: root user does not exist")]
    RootUserNotExist,
    /// Enabling auth needs the `root` user to hold the `root` role.
    #[error("auth: root user does not have root role")]
    RootRoleNotExist,
    /// The user exists already.
    #[error("auth: user already exists")]
    UserAlreadyExist,
    /// No user name was given (or no credentials with auth enabled).
    #[error("auth: user name is empty")]
    UserEmpty,
    /// No such user.
    #[error("auth: user not found")]
    UserNotFound,
    /// The role exists already.
    #[error("auth: role already exists")]
    RoleAlreadyExist,
    /// No such role.
    #[error("auth: role not found")]
    RoleNotFound,
    /// No role name was given.
    #[error("auth: role name is empty")]
    RoleEmpty,
    /// Wrong user name or password.
    #[error("auth: authentication failed, invalid user ID or password")]
    AuthFailed,
    /// A password was given for a user created with `--no-password`.
    #[error("auth: authentication failed, password was given for no password user")]
    NoPasswordUser,
    /// The user may not do this.
    #[error("auth: permission denied")]
    PermissionDenied,
    /// The user does not hold the role being revoked.
    #[error("auth: role is not granted to the user")]
    RoleNotGranted,
    /// The role has no such permission to revoke.
    #[error("auth: permission is not granted to the role")]
    PermissionNotGranted,
    /// Authentication was asked for while auth is disabled.
    #[error("auth: authentication is not enabled")]
    AuthNotEnabled,
    /// The request was authorized against an older auth revision.
    #[error("auth: revision in header is old")]
    AuthOldRevision,
    /// The token is unknown, expired, forged or malformed.
    #[error("auth: invalid auth token")]
    InvalidAuthToken,
    /// A change that would lock everybody out (root rules while enabled).
    #[error("auth: invalid auth management")]
    InvalidAuthMgmt,
    /// The `--auth-token` option string is malformed.
    #[error("auth: invalid auth options: {0}")]
    InvalidAuthOpts(String),
    /// A verify-only JWT provider (public key only) was asked to sign.
    #[error("auth: token signing attempted with verify-only key")]
    VerifyOnly,
    /// Hashing a password failed.
    #[error("auth: failed to hash the password: {0}")]
    Hash(String),
    /// A stored user or role does not decode: the backend is corrupt.
    #[error("auth: corrupt {0} record")]
    Corrupt(&'static str),
}
