//! Auth on the server: who a request runs as, and the checks etcd 3.4 makes
//! before proposing or reading (the checks at apply time are in
//! `apply/auth.rs`).
//!
//! Identity travels with the request, not through every signature: the API
//! layer runs each client call inside [`Credentials::scope`] (a Tokio
//! task-local holding the `token` metadata and, later, a TLS-verified CN).
//! Code that runs outside any scope is the server itself (lease expiry,
//! publishing, lock cleanup) and acts as `root`, like etcd's `WithRoot`.
//!
//! Where each check happens (etcd's `v3_server.go`, `apply_auth.go`,
//! `v3rpc/maintenance.go`, `server.go`):
//! - Writes (put, delete, txn, lease revoke, auth changes) carry the
//!   caller's user name and auth revision in the Raft request header and
//!   are checked when applied, identically on every member; a header
//!   revision older than the store's fails with `AuthOldRevision`.
//! - Range reads are checked before reading, and fail if the auth store
//!   moved past the caller's revision meanwhile.
//! - Watch creation checks read permission on its range.
//! - Member add/remove/update/promote need the `root` role; so do
//!   Defragment, Hash, HashKV and Snapshot, whose errors etcd returns
//!   unmapped (`auth: ...`, code Unknown).
//! - Compaction, lease grant/keep-alive/time-to-live, member list, status,
//!   alarms and move-leader are not checked in etcd 3.4, so not here.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use etcd_auth::{AuthError, AuthInfo, AuthStore, PermType, SimpleTokens, TokenProvider, Write, ROOT_USER};
use etcd_backend::{Backend, Table};
use etcd_proto::etcdserverpb::RequestHeader;
use etcd_proto::EtcdError;

use crate::config::ServerConfig;
use crate::{EtcdServer, ServerError};

/// Auth state shared by the applier (writer) and the request paths (readers).
pub(crate) struct AuthState {
    pub(crate) store: parking_lot::RwLock<AuthStore>,
    pub(crate) tokens: TokenProvider,
    pub(crate) bcrypt_cost: u32,
}

/// What a client presented with a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The `token` (or `authorization`) metadata, if any.
    pub token: Option<String>,
    /// The common name of a client certificate the TLS layer verified, when
    /// `--client-cert-auth` is on; used only when no token was given.
    pub verified_cn: Option<String>,
}

tokio::task_local! {
    static CREDENTIALS: Credentials;
}

impl Credentials {
    /// Runs `f` as a client request with these credentials.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CREDENTIALS.scope(self, f).await
    }

    /// The credentials of the client request being served, `None` inside
    /// the server's own work. Tasks spawned for a request (watch streams)
    /// take them along with this and re-enter [`Credentials::scope`].
    pub fn current() -> Option<Credentials> {
        CREDENTIALS.try_with(|c| c.clone()).ok()
    }
}

/// Who a request runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The server itself: allowed everything.
    Internal,
    /// A client; `AuthInfo::default()` when it gave no credentials.
    Client(AuthInfo),
}

/// Maps an auth error to etcd's client-visible one.
pub(crate) fn auth_error(e: AuthError) -> EtcdError {
    match e {
        AuthError::RootUserNotExist => EtcdError::RootUserNotExist,
        AuthError::RootRoleNotExist => EtcdError::RootRoleNotExist,
        AuthError::UserAlreadyExist => EtcdError::UserAlreadyExist,
        AuthError::UserEmpty => EtcdError::UserEmpty,
        AuthError::UserNotFound => EtcdError::UserNotFound,
        AuthError::RoleAlreadyExist => EtcdError::RoleAlreadyExist,
        AuthError::RoleNotFound => EtcdError::RoleNotFound,
        AuthError::RoleEmpty => EtcdError::RoleEmpty,
        AuthError::AuthFailed => EtcdError::AuthFailed,
        AuthError::NoPasswordUser => EtcdError::NoPasswordUser,
        AuthError::PermissionDenied => EtcdError::PermissionDenied,
        AuthError::RoleNotGranted => EtcdError::RoleNotGranted,
        AuthError::PermissionNotGranted => EtcdError::PermissionNotGranted,
        AuthError::AuthNotEnabled => EtcdError::AuthNotEnabled,
        AuthError::AuthOldRevision => EtcdError::AuthOldRevision,
        AuthError::InvalidAuthToken => EtcdError::InvalidAuthToken,
        AuthError::InvalidAuthMgmt => EtcdError::InvalidAuthMgmt,
        other => {
            tracing::warn!(target: "auth", "{other}");
            EtcdError::AuthFailed
        }
    }
}

/// The maintenance service's unmapped form of an auth error.
fn raw_auth_error(e: EtcdError) -> EtcdError {
    match e {
        EtcdError::UserEmpty => EtcdError::AuthRawUserEmpty,
        EtcdError::UserNotFound => EtcdError::AuthRawUserNotFound,
        EtcdError::PermissionDenied => EtcdError::AuthRawPermissionDenied,
        EtcdError::InvalidAuthToken => EtcdError::AuthRawInvalidAuthToken,
        EtcdError::AuthOldRevision => EtcdError::AuthRawOldRevision,
        other => other,
    }
}

fn table(t: etcd_auth::AuthTable) -> Table {
    match t {
        etcd_auth::AuthTable::Auth => Table::Auth,
        etcd_auth::AuthTable::Users => Table::AuthUsers,
        etcd_auth::AuthTable::Roles => Table::AuthRoles,
    }
}

/// Buffers `writes` into the backend's current batch.
pub(crate) fn persist(backend: &Backend, writes: &[Write]) {
    for w in writes {
        match w {
            Write::Put { table: t, key, value } => backend.put(table(*t), key, value),
            Write::Delete { table: t, key } => backend.delete(table(*t), key),
        }
    }
}

/// Reads the auth tables into a store (writing revision 1 into a fresh one).
pub(crate) fn load_store(backend: &Backend) -> Result<AuthStore, ServerError> {
    let rows = |t| backend.range(t, b"", None, 0);
    let (store, writes) = AuthStore::load(&rows(Table::Auth)?, &rows(Table::AuthUsers)?, &rows(Table::AuthRoles)?)
        .map_err(|e| ServerError::Config(format!("cannot load the auth store: {e}")))?;
    persist(backend, &writes);
    Ok(store)
}

/// Opens the auth state for `cfg` from the backend.
pub(crate) fn open(cfg: &ServerConfig, backend: &Backend) -> Result<Arc<AuthState>, ServerError> {
    let tokens = TokenProvider::from_options(&cfg.auth_token, cfg.auth_token_ttl_s)
        .map_err(|e| ServerError::Config(format!("failed to create token provider: {e}")))?;
    Ok(Arc::new(AuthState {
        store: parking_lot::RwLock::new(load_store(backend)?),
        tokens,
        bcrypt_cost: cfg.bcrypt_cost,
    }))
}

impl EtcdServer {
    /// Who the current request runs as; fails on an invalid token.
    pub(crate) async fn caller(&self) -> Result<Caller, EtcdError> {
        let Some(creds) = Credentials::current() else {
            return Ok(Caller::Internal);
        };
        Ok(Caller::Client(self.resolve(&creds).await?.unwrap_or_default()))
    }

    /// etcd's `AuthInfoFromCtx`: the token's user, else the verified CN.
    async fn resolve(&self, creds: &Credentials) -> Result<Option<AuthInfo>, EtcdError> {
        if let Some(token) = &creds.token {
            return self
                .token_info(token)
                .await
                .map(Some)
                .ok_or(EtcdError::InvalidAuthToken);
        }
        Ok(creds.verified_cn.as_ref().map(|cn| AuthInfo {
            username: cn.clone(),
            revision: self.auth.store.read().revision(),
        }))
    }

    async fn token_info(&self, token: &str) -> Option<AuthInfo> {
        match &self.auth.tokens {
            TokenProvider::Simple(t) => {
                // Issued when its Authenticate entry applied; wait for that.
                let index = SimpleTokens::index_of(token)?;
                let mut applied = self.applied_rx.clone();
                tokio::time::timeout(self.config().request_timeout(), applied.wait_for(|a| *a >= index))
                    .await
                    .ok()?
                    .ok()?;
                let username = t.user(token, Instant::now())?;
                Some(AuthInfo {
                    username,
                    revision: self.auth.store.read().revision(),
                })
            }
            TokenProvider::Jwt(j) => j
                .info(token)
                .map(|(username, revision)| AuthInfo { username, revision }),
        }
    }

    /// The Raft request header for proposal `id`: the caller's user name
    /// and auth revision (the server's own requests go as `root`).
    pub(crate) async fn request_header(&self, id: u64) -> Result<RequestHeader, EtcdError> {
        let info = match self.caller().await? {
            Caller::Internal => AuthInfo {
                username: ROOT_USER.to_string(),
                revision: self.auth.store.read().revision(),
            },
            Caller::Client(info) => info,
        };
        Ok(RequestHeader {
            id,
            username: info.username,
            auth_revision: info.revision,
        })
    }

    /// Read permission on `[key, range_end)` for the current caller, before
    /// a local read; pass the result to [`EtcdServer::check_read_after`].
    pub(crate) async fn check_read(&self, key: &[u8], range_end: &[u8]) -> Result<Caller, EtcdError> {
        let caller = self.caller().await?;
        if let Caller::Client(info) = &caller {
            self.auth
                .store
                .read()
                .is_op_permitted(info, key, range_end, PermType::Read)
                .map_err(auth_error)?;
        }
        Ok(caller)
    }

    /// Permission for a read-only txn served locally (etcd's
    /// `checkTxnAuth`); pass the result to [`EtcdServer::check_read_after`].
    pub(crate) async fn check_txn_read(&self, req: &etcd_proto::etcdserverpb::TxnRequest) -> Result<Caller, EtcdError> {
        let caller = self.caller().await?;
        if let Caller::Client(info) = &caller {
            crate::apply::auth::check_txn(&self.auth.store.read(), info, req)?;
        }
        Ok(caller)
    }

    /// After a checked read: fails if the auth store changed meanwhile.
    pub(crate) fn check_read_after(&self, caller: &Caller) -> Result<(), EtcdError> {
        match caller {
            Caller::Client(i) if i.revision != 0 && i.revision != self.auth.store.read().revision() => {
                Err(EtcdError::AuthOldRevision)
            }
            _ => Ok(()),
        }
    }

    /// Root permission for membership changes.
    pub async fn check_admin(&self) -> Result<(), EtcdError> {
        match self.caller().await? {
            Caller::Internal => Ok(()),
            Caller::Client(info) => self
                .auth
                .store
                .read()
                .is_admin_permitted(Some(&info))
                .map_err(auth_error),
        }
    }

    /// Root permission for Defragment, Hash, HashKV and Snapshot, with the
    /// unmapped errors etcd's maintenance service returns.
    pub async fn check_maintenance_admin(&self) -> Result<(), EtcdError> {
        self.check_admin().await.map_err(raw_auth_error)
    }

    /// Read permission for a new watcher on `[key, range_end)` (after the
    /// watch service's own normalisation: `"\0"` as range end is checked
    /// as the single key, as etcd 3.4 does).
    pub async fn check_watch(
        &self,
        creds: Option<&Credentials>,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<(), EtcdError> {
        let Some(creds) = creds else { return Ok(()) };
        let info = self.resolve(creds).await?.unwrap_or_default();
        let key: &[u8] = if key.is_empty() { &[0] } else { key };
        let range_end: &[u8] = if range_end == [0] { &[] } else { range_end };
        self.auth
            .store
            .read()
            .is_op_permitted(&info, key, range_end, PermType::Read)
            .map_err(auth_error)
    }

    /// Whether auth is enabled.
    pub fn auth_enabled(&self) -> bool {
        self.auth.store.read().is_enabled()
    }
}
