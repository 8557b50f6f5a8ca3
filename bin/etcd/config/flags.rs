//! The table of every flag the `etcd` binary accepts, with kind, default and help.
//!
//! The names, kinds and defaults are etcd 3.4.23's (`etcdmain/config.go`), so every
//! command line that etcd accepts is accepted here and vice versa. The table order
//! within a group is the order `--help` lists them in. Flags with `group: None` are
//! accepted but not shown by `--help` (as in etcd). The same names are the YAML keys
//! of `--config-file` and, upper-cased with `_`, the `ETCD_*` environment variables.

use super::value::{apply, Kind, Value};

/// A `--help` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Group {
    Member,
    Clustering,
    Security,
    Auth,
    Profiling,
    Logging,
    Proxy,
    Experimental,
    Unsafe,
    Deprecated,
}

impl Group {
    /// Every section, in `--help` order.
    pub(crate) const ALL: [Group; 10] = [
        Group::Member,
        Group::Clustering,
        Group::Security,
        Group::Auth,
        Group::Profiling,
        Group::Logging,
        Group::Proxy,
        Group::Experimental,
        Group::Unsafe,
        Group::Deprecated,
    ];
}

/// One accepted flag.
#[derive(Debug)]
pub(crate) struct FlagSpec {
    /// Name without dashes; also the YAML key.
    pub(crate) name: &'static str,
    /// How its text is parsed.
    pub(crate) kind: Kind,
    /// Default as flag text (`""` means the kind's empty value).
    pub(crate) default: &'static str,
    /// Default as `--help` shows it (quoted or not, like etcd's listing).
    pub(crate) shown_default: &'static str,
    /// Help section; `None` for flags `--help` does not list.
    pub(crate) group: Option<Group>,
    /// Description lines for `--help`.
    pub(crate) help: &'static str,
}

impl FlagSpec {
    /// The value the flag has before anything sets it.
    pub(crate) fn default_value(&self) -> Value {
        let mut value = match self.kind {
            Kind::Str | Kind::Select(_) => Value::Str(String::new()),
            Kind::Bool => Value::Bool(false),
            Kind::Uint | Kind::Uint32 => Value::Uint(0),
            Kind::Int => Value::Int(0),
            Kind::Duration => Value::DurationNs(0),
            Kind::Urls => Value::Urls(Vec::new()),
            Kind::Cors | Kind::UniqueStrings | Kind::Strings => Value::List(Vec::new()),
            Kind::Ignored => return Value::Ignored,
        };
        if !self.default.is_empty() {
            let applied = apply(self.kind, self.name, &mut value, self.default);
            assert!(applied.is_ok(), "bad built-in default for --{}", self.name);
        }
        value
    }
}

/// Looks a flag up by name.
pub(crate) fn lookup(name: &str) -> Option<&'static FlagSpec> {
    FLAGS.iter().find(|f| f.name == name)
}

/// Flags from etcd 2 that etcd 3.4 still accepts and ignores with a warning.
pub(crate) const IGNORED: &[&str] = &[
    "cluster-active-size",
    "cluster-remove-delay",
    "cluster-sync-interval",
    "config",
    "force",
    "max-result-buffer",
    "max-retry-attempts",
    "peer-heartbeat-interval",
    "peer-election-timeout",
    "retry-interval",
    "snapshot",
    "v",
    "vv",
    "test.coverprofile",
    "test.outputdir",
];

/// The ignored flags as specs (kind `Ignored`, hidden).
pub(crate) fn ignored_spec(name: &str) -> Option<FlagSpec> {
    let name = *IGNORED.iter().find(|n| **n == name)?;
    Some(FlagSpec {
        name,
        kind: Kind::Ignored,
        default: "",
        shown_default: "",
        group: None,
        help: "",
    })
}

macro_rules! flag {
    ($name:literal, $kind:expr, $default:literal, $shown:literal, $group:expr, $help:literal) => {
        FlagSpec {
            name: $name,
            kind: $kind,
            default: $default,
            shown_default: $shown,
            group: $group,
            help: $help,
        }
    };
}

use Group::*;
use Kind::*;

const M: Option<Group> = Some(Member);
const C: Option<Group> = Some(Clustering);
const S: Option<Group> = Some(Security);
const A: Option<Group> = Some(Auth);
const P: Option<Group> = Some(Profiling);
const L: Option<Group> = Some(Logging);
const X: Option<Group> = Some(Proxy);
const E: Option<Group> = Some(Experimental);
const U: Option<Group> = Some(Unsafe);
const D: Option<Group> = Some(Deprecated);
const HIDDEN: Option<Group> = None;

/// Every flag except the ignored legacy ones.
#[rustfmt::skip]
pub(crate) static FLAGS: &[FlagSpec] = &[
    // Member
    flag!("name", Str, "default", "'default'", M, "Human-readable name of this member."),
    flag!("data-dir", Str, "", "'${name}.etcd'", M, "Directory holding this member's data."),
    flag!("wal-dir", Str, "", "''", M, "Separate directory for the write-ahead log."),
    flag!("snapshot-count", Uint, "100000", "'100000'", M, "Committed transactions between two snapshots to disk."),
    flag!("heartbeat-interval", Uint, "100", "'100'", M, "Heartbeat interval, in milliseconds."),
    flag!("election-timeout", Uint, "1000", "'1000'", M, "Election timeout, in milliseconds. See the tuning guide."),
    flag!("initial-election-tick-advance", Bool, "true", "'true'", M, "Fast-forward election ticks at boot so the first election happens sooner."),
    flag!("listen-peer-urls", Urls, "http://localhost:2380", "'http://localhost:2380'", M, "URLs to listen on for traffic from peers."),
    flag!("listen-client-urls", Urls, "http://localhost:2379", "'http://localhost:2379'", M, "URLs to listen on for traffic from clients."),
    flag!("max-snapshots", Uint, "5", "'5'", M, "Snapshot files to keep (0 keeps all)."),
    flag!("max-wals", Uint, "5", "'5'", M, "WAL files to keep (0 keeps all)."),
    flag!("quota-backend-bytes", Int, "0", "'0'", M, "Raise an alarm once the backend grows past this size (0 means the default quota)."),
    flag!("backend-batch-interval", Duration, "", "''", M, "Longest time before the backend transaction is committed."),
    flag!("backend-batch-limit", Int, "0", "'0'", M, "Most operations before the backend transaction is committed."),
    flag!("max-txn-ops", Uint, "128", "'128'", M, "Most operations allowed in one transaction."),
    flag!("max-request-bytes", Uint, "1572864", "'1572864'", M, "Largest client request, in bytes, the server accepts."),
    flag!("max-concurrent-streams", Uint32, "4294967295", "'math.MaxUint32'", M, "Most concurrent streams one client may open."),
    flag!("grpc-keepalive-min-time", Duration, "5s", "'5s'", M, "Shortest interval a client should wait between pings to the server."),
    flag!("grpc-keepalive-interval", Duration, "2h", "'2h'", M, "How often the server pings a client to check the connection (0 disables)."),
    flag!("grpc-keepalive-timeout", Duration, "20s", "'20s'", M, "Extra wait before a silent connection is closed (0 disables)."),
    // Clustering
    flag!("initial-advertise-peer-urls", Urls, "http://localhost:2380", "'http://localhost:2380'", C, "Peer URLs of this member, advertised to the rest of the cluster."),
    flag!("initial-cluster", Str, "default=http://localhost:2380", "'default=http://localhost:2380'", C, "Members of the cluster at bootstrap (name=peer-url,...)."),
    flag!("initial-cluster-state", Select(&["new", "existing"]), "new", "'new'", C, "State of the cluster at bootstrap ('new' or 'existing')."),
    flag!("initial-cluster-token", Str, "etcd-cluster", "'etcd-cluster'", C, "Token of the cluster during bootstrap.\n    A distinct token keeps members of separate clusters from talking to each other by mistake."),
    flag!("advertise-client-urls", Urls, "http://localhost:2379", "'http://localhost:2379'", C, "Client URLs of this member, advertised to clients.\n    They must be reachable from the clients of the cluster; client libraries connect to them."),
    flag!("discovery", Str, "", "''", C, "Discovery service URL used to bootstrap the cluster."),
    flag!("discovery-fallback", Select(&["proxy", "exit"]), "proxy", "'proxy'", C, "What to do when the discovery service fails ('exit' or 'proxy').\n    \"proxy\" serves only the v2 API."),
    flag!("discovery-proxy", Str, "", "''", C, "HTTP proxy for requests to the discovery service."),
    flag!("discovery-srv", Str, "", "''", C, "DNS domain whose SRV records bootstrap the cluster."),
    flag!("discovery-srv-name", Str, "", "''", C, "Suffix of the DNS SRV name queried at bootstrap."),
    flag!("strict-reconfig-check", Bool, "true", "'true'", C, "Refuse membership changes that would lose quorum."),
    flag!("pre-vote", Bool, "false", "'false'", C, "Run the extra Raft pre-vote phase before an election."),
    flag!("auto-compaction-retention", Str, "0", "'0'", C, "How much history auto compaction keeps. 0 turns auto compaction off."),
    flag!("auto-compaction-mode", Str, "periodic", "'periodic'", C, "How 'auto-compaction-retention' is read: periodic|revision. 'periodic' keeps a duration (hours when no unit is given, e.g. '5m' for minutes); 'revision' keeps a number of revisions."),
    flag!("enable-v2", Bool, "false", "'false'", C, "Serve the etcd v2 client API."),
    // Security
    flag!("cert-file", Str, "", "''", S, "TLS certificate file for client connections."),
    flag!("key-file", Str, "", "''", S, "TLS key file for client connections."),
    flag!("client-cert-auth", Bool, "false", "'false'", S, "Require client certificates."),
    flag!("client-crl-file", Str, "", "''", S, "Certificate revocation list for client certificates."),
    flag!("client-cert-allowed-hostname", Str, "", "''", S, "TLS host name client certificates must carry."),
    flag!("trusted-ca-file", Str, "", "''", S, "CA bundle trusted for client certificates."),
    flag!("auto-tls", Bool, "false", "'false'", S, "Serve clients over TLS with generated certificates."),
    flag!("peer-cert-file", Str, "", "''", S, "TLS certificate file for peer connections."),
    flag!("peer-key-file", Str, "", "''", S, "TLS key file for peer connections."),
    flag!("peer-client-cert-auth", Bool, "false", "'false'", S, "Require certificates from peers."),
    flag!("peer-trusted-ca-file", Str, "", "''", S, "CA bundle trusted for peer certificates."),
    flag!("peer-cert-allowed-cn", Str, "", "''", S, "Common name peer certificates must carry."),
    flag!("peer-cert-allowed-hostname", Str, "", "''", S, "TLS host name peer certificates must carry."),
    flag!("peer-auto-tls", Bool, "false", "'false'", S, "Talk to peers over TLS with generated certificates when --peer-key-file and --peer-cert-file are not given."),
    flag!("peer-crl-file", Str, "", "''", S, "Certificate revocation list for peer certificates."),
    flag!("cipher-suites", Strings, "", "''", S, "Comma-separated TLS cipher suites for clients and peers (empty means the library's choice)."),
    flag!("cors", Cors, "*", "'*'", S, "Comma-separated origins allowed for CORS (empty or * allows any)."),
    flag!("host-whitelist", UniqueStrings, "*", "'*'", S, "Host names accepted in HTTP requests when the server is not secure (empty or * allows any)."),
    // Auth
    flag!("auth-token", Str, "simple", "'simple'", A, "Kind of v3 auth token and its options ('simple' or 'jwt')."),
    flag!("bcrypt-cost", Uint, "10", "10", A, "Cost of bcrypt password hashing; between 4 and 31."),
    flag!("auth-token-ttl", Uint, "300", "300", A, "Lifetime of an auth token, in seconds."),
    // Profiling and monitoring
    flag!("enable-pprof", Bool, "false", "'false'", P, "Serve runtime profiling data over HTTP at client URL + \"/debug/pprof/\""),
    flag!("metrics", Str, "basic", "'basic'", P, "Detail of exported metrics; 'extensive' adds histograms."),
    flag!("listen-metrics-urls", Urls, "", "''", P, "URLs to listen on for the metrics and health endpoints."),
    // Logging
    flag!("logger", Str, "capnslog", "'capnslog'", L, "'zap' for structured logs or 'capnslog'. [WARN] 'capnslog' goes away in v3.5."),
    flag!("log-outputs", UniqueStrings, "default", "'default'", L, "Where logs go: 'stdout' or 'stderr' (skipping journald under systemd), or a comma-separated list of targets."),
    flag!("log-level", Str, "info", "'info'", L, "Log level: debug, info, warn, error, panic or fatal."),
    // v2 proxy
    flag!("proxy", Select(&["off", "readonly", "on"]), "off", "'off'", X, "Proxy mode ('off', 'readonly' or 'on')."),
    flag!("proxy-failure-wait", Uint, "5000", "5000", X, "How long a failed endpoint stays failed, in milliseconds."),
    flag!("proxy-refresh-interval", Uint, "30000", "30000", X, "Endpoint refresh interval, in milliseconds."),
    flag!("proxy-dial-timeout", Uint, "1000", "1000", X, "Dial timeout, in milliseconds."),
    flag!("proxy-write-timeout", Uint, "5000", "5000", X, "Write timeout, in milliseconds."),
    flag!("proxy-read-timeout", Uint, "0", "0", X, "Read timeout, in milliseconds."),
    // Experimental
    flag!("experimental-initial-corrupt-check", Bool, "false", "'false'", E, "Check for data corruption before serving clients or peers."),
    flag!("experimental-corrupt-check-time", Duration, "", "'0s'", E, "Time between two cluster corruption checks."),
    flag!("experimental-enable-v2v3", Str, "", "''", E, "Serve v2 requests from the v3 backend under this prefix."),
    flag!("experimental-backend-bbolt-freelist-type", Str, "", "'array'", E, "Freelist type of the backend (array or map)."),
    flag!("experimental-enable-lease-checkpoint", Bool, "false", "'false'", E, "Let the primary lessor persist remaining lease TTLs so long leases are not renewed forever."),
    flag!("experimental-compaction-batch-limit", Int, "0", "1000", E, "Most revisions deleted in one compaction batch."),
    flag!("experimental-peer-skip-client-san-verification", Bool, "false", "'false'", E, "Do not verify the SAN of client certificates on peer connections."),
    flag!("experimental-watch-progress-notify-interval", Duration, "", "'10m'", E, "Interval of periodic watch progress notifications."),
    flag!("experimental-warning-apply-duration", Duration, "100ms", "'100ms'", E, "Log a warning for requests that take longer than this to apply."),
    // Unsafe
    flag!("force-new-cluster", Bool, "false", "'false'", U, "Start a new one-member cluster from the existing data."),
    // To be deprecated
    flag!("debug", Bool, "false", "'false'", D, "Log at debug level. [WARN] Goes away in v3.5; use '--log-level=debug'."),
    flag!("log-package-levels", Str, "", "''", D, "Log level per etcd package (e.g. 'etcdmain=CRITICAL,etcdserver=DEBUG')."),
    // Accepted but not listed by --help
    flag!("config-file", Str, "", "", HIDDEN, "Server configuration file; when given, other flags and ETCD_* variables are ignored."),
    flag!("version", Bool, "false", "", HIDDEN, "Print the version and exit."),
    flag!("log-output", UniqueStrings, "default", "", HIDDEN, "Deprecated spelling of --log-outputs."),
    flag!("enable-grpc-gateway", Bool, "true", "", HIDDEN, "Serve the JSON gateway for the gRPC API."),
    // etcd-rs only (etcd has no web UI); hidden so --help stays etcd's.
    flag!("enable-ui", Bool, "true", "", HIDDEN, "Serve the built-in web UI under /ui/ on the client URLs."),
    flag!("experimental-enable-lease-checkpoint-persist", Bool, "false", "", HIDDEN, "Persist remaining lease TTLs; needs --experimental-enable-lease-checkpoint."),
    flag!("unsafe-no-fsync", Bool, "false", "", HIDDEN, "Never fsync: unsafe, loses data on a crash."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_names_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for f in FLAGS {
            assert!(seen.insert(f.name), "duplicate flag {}", f.name);
            let _ = f.default_value();
        }
        for name in IGNORED {
            assert!(seen.insert(name), "ignored flag {name} clashes");
        }
    }
}
