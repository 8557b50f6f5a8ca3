//! The command tree of etcdctl 3.4: names, usage lines, descriptions and
//! flags, exactly as the real etcdctl declares them (they are printed in
//! usage text and matched by the parser).

/// The value kind of a flag (decides parsing and how usage shows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--flag`, `--flag=false`.
    Bool,
    /// Any string.
    Str,
    /// Signed 64-bit integer.
    Int64,
    /// Go `int`.
    Int,
    /// Go duration (`2s`, `500ms`).
    Duration,
    /// Comma-separated list.
    StrSlice,
}

/// One flag.
#[derive(Debug)]
pub struct Flag {
    /// Long name.
    pub name: &'static str,
    /// One-letter shorthand.
    pub short: Option<char>,
    /// Value kind.
    pub kind: Kind,
    /// Default value as pflag prints it.
    pub default: &'static str,
    /// Help text.
    pub usage: &'static str,
}

/// One command.
#[derive(Debug)]
pub struct Cmd {
    /// Cobra `Use` (name first).
    pub use_line: &'static str,
    /// One-line description.
    pub short: &'static str,
    /// Long description ("" for none).
    pub long: &'static str,
    /// Flags of this command only.
    pub flags: &'static [Flag],
    /// Flags this command passes down to its subcommands.
    pub persistent: &'static [Flag],
    /// Subcommands, sorted by name.
    pub subs: &'static [Cmd],
    /// Whether the command does something itself (else it prints help).
    pub runnable: bool,
}

impl Cmd {
    /// The command's name (first word of `use_line`).
    pub fn name(&self) -> &'static str {
        self.use_line.split(' ').next().unwrap_or(self.use_line)
    }
}

const fn f(name: &'static str, kind: Kind, default: &'static str, usage: &'static str) -> Flag {
    Flag {
        name,
        short: None,
        kind,
        default,
        usage,
    }
}

const fn fs(
    name: &'static str,
    short: char,
    kind: Kind,
    default: &'static str,
    usage: &'static str,
) -> Flag {
    Flag {
        name,
        short: Some(short),
        kind,
        default,
        usage,
    }
}

const fn leaf(use_line: &'static str, short: &'static str, flags: &'static [Flag]) -> Cmd {
    Cmd {
        use_line,
        short,
        long: "",
        flags,
        persistent: &[],
        subs: &[],
        runnable: true,
    }
}

const fn leaf_long(
    use_line: &'static str,
    short: &'static str,
    long: &'static str,
    flags: &'static [Flag],
) -> Cmd {
    Cmd {
        use_line,
        short,
        long,
        flags,
        persistent: &[],
        subs: &[],
        runnable: true,
    }
}

const fn group(use_line: &'static str, short: &'static str, subs: &'static [Cmd]) -> Cmd {
    Cmd {
        use_line,
        short,
        long: "",
        flags: &[],
        persistent: &[],
        subs,
        runnable: false,
    }
}

use Kind::*;

/// Flags we accept but leave out of usage text (etcdctl 3.5 additions).
pub const HIDDEN_FLAGS: &[&str] = &["count-only"];

/// etcdctl's global (persistent root) flags.
pub const GLOBAL_FLAGS: &[Flag] = &[
    f("cacert", Str, "", "verify certificates of TLS-enabled secure servers using this CA bundle"),
    f("cert", Str, "", "identify secure client using this TLS certificate file"),
    f("command-timeout", Duration, "5s", "timeout for short running command (excluding dial timeout)"),
    f("debug", Bool, "false", "enable client-side debug logging"),
    f("dial-timeout", Duration, "2s", "dial timeout for client connections"),
    fs("discovery-srv", 'd', Str, "", "domain name to query for SRV records describing cluster endpoints"),
    f("discovery-srv-name", Str, "", "service name to query when using DNS discovery"),
    f("endpoints", StrSlice, "[127.0.0.1:2379]", "gRPC endpoints"),
    f("hex", Bool, "false", "print byte strings as hex encoded strings"),
    f("insecure-discovery", Bool, "true", "accept insecure SRV records describing cluster endpoints"),
    f("insecure-skip-tls-verify", Bool, "false", "skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)"),
    f("insecure-transport", Bool, "true", "disable transport security for client connections"),
    f("keepalive-time", Duration, "2s", "keepalive time for client connections"),
    f("keepalive-timeout", Duration, "6s", "keepalive timeout for client connections"),
    f("key", Str, "", "identify secure client using this TLS key file"),
    f("password", Str, "", "password for authentication (if this option is used, --user option shouldn't include password)"),
    f("user", Str, "", "username[:password] for authentication (prompt if password is not supplied)"),
    fs("write-out", 'w', Str, "simple", "set the output format (fields, json, protobuf, simple, table)"),
];

const PUT_LONG: &str = "
Puts the given key into the store.

When <value> begins with '-', <value> is interpreted as a flag.
Insert '--' for workaround:

$ put <key> -- <value>
$ put -- <key> <value>

If <value> isn't given as a command line argument and '--ignore-value' is not specified,
this command tries to read the value from standard input.

If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
this command tries to read the value from standard input.

For example,
$ cat file | put <key>
will store the content of the file to <key>.
";

/// The root command.
pub static ROOT: Cmd = Cmd {
    use_line: "etcdctl",
    short: "A simple command line client for etcd3.",
    long: "",
    flags: &[],
    persistent: GLOBAL_FLAGS,
    runnable: false,
    subs: &[
        group("alarm <subcommand>", "Alarm related commands", &[
            leaf("disarm", "Disarms all alarms", &[]),
            leaf("list", "Lists all alarms", &[]),
        ]),
        group("auth <enable or disable>", "Enable or disable authentication", &[
            leaf("disable", "Disables authentication", &[]),
            leaf("enable", "Enables authentication", &[]),
        ]),
        group("check <subcommand>", "commands for checking properties of the etcd cluster", &[
            leaf_long("datascale [options]", "Check the memory usage of holding data for different workloads on a given server endpoint.",
                "If no endpoint is provided, localhost will be used. If multiple endpoints are provided, first endpoint will be used.", &[
                f("auto-compact", Bool, "false", "Compact storage with last revision after test is finished."),
                f("auto-defrag", Bool, "false", "Defragment storage after test is finished."),
                f("load", Str, "s", "The datascale check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)"),
                f("prefix", Str, "/etcdctl-check-datascale/", "The prefix for writing the datascale check's keys."),
            ]),
            leaf("perf [options]", "Check the performance of the etcd cluster", &[
                f("auto-compact", Bool, "false", "Compact storage with last revision after test is finished."),
                f("auto-defrag", Bool, "false", "Defragment storage after test is finished."),
                f("load", Str, "s", "The performance check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)"),
                f("prefix", Str, "/etcdctl-check-perf/", "The prefix for writing the performance check's keys."),
            ]),
        ]),
        leaf("compaction [options] <revision>", "Compacts the event history in etcd", &[
            f("physical", Bool, "false", "'true' to wait for compaction to physically remove all old revisions"),
        ]),
        Cmd {
            use_line: "completion",
            short: "Generate the autocompletion script for the specified shell",
            long: "Generate the autocompletion script for etcdctl for the specified shell.\nSee each sub-command's help for details on how to use the generated script.\n",
            flags: &[],
            persistent: &[],
            runnable: false,
            subs: &[
            leaf("bash", "Generate the autocompletion script for bash", &[f("no-descriptions", Bool, "false", "disable completion descriptions")]),
            leaf("fish", "Generate the autocompletion script for fish", &[f("no-descriptions", Bool, "false", "disable completion descriptions")]),
            leaf("powershell", "Generate the autocompletion script for powershell", &[f("no-descriptions", Bool, "false", "disable completion descriptions")]),
            leaf("zsh", "Generate the autocompletion script for zsh", &[f("no-descriptions", Bool, "false", "disable completion descriptions")]),
            ],
        },
        leaf("defrag", "Defragments the storage of the etcd members with given endpoints", &[
            f("cluster", Bool, "false", "use all endpoints from the cluster member list"),
            f("data-dir", Str, "", "Optional. If present, defragments a data directory not in use by etcd."),
        ]),
        leaf("del [options] <key> [range_end]", "Removes the specified key or range of keys [key, range_end)", &[
            f("from-key", Bool, "false", "delete keys that are greater than or equal to the given key using byte compare"),
            f("prefix", Bool, "false", "delete keys with matching prefix"),
            f("prev-kv", Bool, "false", "return deleted key-value pairs"),
        ]),
        leaf("elect <election-name> [proposal]", "Observes and participates in leader election", &[
            fs("listen", 'l', Bool, "false", "observation mode"),
        ]),
        Cmd {
            use_line: "endpoint <subcommand>",
            short: "Endpoint related commands",
            long: "",
            flags: &[],
            persistent: &[f("cluster", Bool, "false", "use all endpoints from the cluster member list")],
            runnable: false,
            subs: &[
                Cmd {
                    use_line: "hashkv",
                    short: "Prints the KV history hash for each endpoint in --endpoints",
                    long: "",
                    flags: &[],
                    persistent: &[f("rev", Int64, "0", "maximum revision to hash (default: all revisions)")],
                    subs: &[],
                    runnable: true,
                },
                leaf("health", "Checks the healthiness of endpoints specified in `--endpoints` flag", &[]),
                leaf_long("status", "Prints out the status of endpoints specified in `--endpoints` flag",
                    "When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.\nThe items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.\n", &[]),
            ],
        },
        leaf("get [options] <key> [range_end]", "Gets the key or a range of keys", &[
            f("consistency", Str, "l", "Linearizable(l) or Serializable(s)"),
            f("count-only", Bool, "false", "Get only the count"),
            f("from-key", Bool, "false", "Get keys that are greater than or equal to the given key using byte compare"),
            f("keys-only", Bool, "false", "Get only the keys"),
            f("limit", Int64, "0", "Maximum number of results"),
            f("order", Str, "", "Order of results; ASCEND or DESCEND (ASCEND by default)"),
            f("prefix", Bool, "false", "Get keys with matching prefix"),
            f("print-value-only", Bool, "false", "Only write values when using the \"simple\" output format"),
            f("rev", Int64, "0", "Specify the kv revision"),
            f("sort-by", Str, "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION"),
        ]),
        leaf("help [command]", "Help about any command", &[]),
        group("lease <subcommand>", "Lease related commands", &[
            leaf("grant <ttl>", "Creates leases", &[]),
            leaf("keep-alive [options] <leaseID>", "Keeps leases alive (renew)", &[
                f("once", Bool, "false", "Resets the keep-alive time to its original value and exits immediately"),
            ]),
            leaf("list", "List all active leases", &[]),
            leaf("revoke <leaseID>", "Revokes leases", &[]),
            leaf("timetolive <leaseID> [options]", "Get lease information", &[
                f("keys", Bool, "false", "Get keys attached to this lease"),
            ]),
        ]),
        leaf("lock <lockname> [exec-command arg1 arg2 ...]", "Acquires a named lock", &[
            f("ttl", Int, "10", "timeout for session"),
        ]),
        leaf("make-mirror [options] <destination>", "Makes a mirror at the destination etcd cluster", &[
            f("dest-cacert", Str, "", "Verify certificates of TLS enabled secure servers using this CA bundle"),
            f("dest-cert", Str, "", "Identify secure client using this TLS certificate file for the destination cluster"),
            f("dest-insecure-transport", Bool, "true", "Disable transport security for client connections"),
            f("dest-key", Str, "", "Identify secure client using this TLS key file"),
            f("dest-prefix", Str, "", "destination prefix to mirror a prefix to a different prefix in the destination cluster"),
            f("no-dest-prefix", Bool, "false", "mirror key-values to the root of the destination cluster"),
            f("prefix", Str, "", "Key-value prefix to mirror"),
        ]),
        group("member <subcommand>", "Membership related commands", &[
            leaf("add <memberName> [options]", "Adds a member into the cluster", &[
                f("learner", Bool, "false", "indicates if the new member is raft learner"),
                f("peer-urls", Str, "", "comma separated peer URLs for the new member."),
            ]),
            leaf_long("list", "Lists all members in the cluster",
                "When --write-out is set to simple, this command prints out comma-separated member lists for each endpoint.\nThe items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.\n", &[]),
            leaf_long("promote <memberID>", "Promotes a non-voting member in the cluster",
                "Promotes a non-voting learner member to a voting one in the cluster.\n", &[]),
            leaf("remove <memberID>", "Removes a member from the cluster", &[]),
            leaf("update <memberID> [options]", "Updates a member in the cluster", &[
                f("peer-urls", Str, "", "comma separated peer URLs for the updated member."),
            ]),
        ]),
        leaf("migrate", "Migrates keys in a v2 store to a mvcc store", &[
            f("data-dir", Str, "", "Path to the data directory"),
            f("no-ttl", Bool, "false", "Do not convert TTL keys"),
            f("transformer", Str, "", "Path to the user-provided transformer program"),
            f("wal-dir", Str, "", "Path to the WAL directory"),
        ]),
        leaf("move-leader <transferee-member-id>", "Transfers leadership to another etcd cluster member.", &[]),
        leaf_long("put [options] <key> <value> (<value> can also be given from stdin)", "Puts the given key into the store", PUT_LONG, &[
            f("ignore-lease", Bool, "false", "updates the key using its current lease"),
            f("ignore-value", Bool, "false", "updates the key using its current value"),
            f("lease", Str, "0", "lease ID (in hexadecimal) to attach to the key"),
            f("prev-kv", Bool, "false", "return the previous key-value pair before modification"),
        ]),
        group("role <subcommand>", "Role related commands", &[
            leaf("add <role name>", "Adds a new role", &[]),
            leaf("delete <role name>", "Deletes a role", &[]),
            leaf("get <role name>", "Gets detailed information of a role", &[]),
            leaf("grant-permission [options] <role name> <permission type> <key> [endkey]", "Grants a key to a role", &[
                f("from-key", Bool, "false", "grant a permission of keys that are greater than or equal to the given key using byte compare"),
                f("prefix", Bool, "false", "grant a prefix permission"),
            ]),
            leaf("list", "Lists all roles", &[]),
            leaf("revoke-permission <role name> <key> [endkey]", "Revokes a key from a role", &[
                f("from-key", Bool, "false", "revoke a permission of keys that are greater than or equal to the given key using byte compare"),
                f("prefix", Bool, "false", "revoke a prefix permission"),
            ]),
        ]),
        group("snapshot <subcommand>", "Manages etcd node snapshots", &[
            leaf("restore <filename> [options]", "Restores an etcd member snapshot to an etcd directory", &[
                f("data-dir", Str, "", "Path to the data directory"),
                f("initial-advertise-peer-urls", Str, "http://localhost:2380", "List of this member's peer URLs to advertise to the rest of the cluster"),
                f("initial-cluster", Str, "default=http://localhost:2380", "Initial cluster configuration for restore bootstrap"),
                f("initial-cluster-token", Str, "etcd-cluster", "Initial cluster token for the etcd cluster during restore bootstrap"),
                f("name", Str, "default", "Human-readable name for this member"),
                f("skip-hash-check", Bool, "false", "Ignore snapshot integrity hash value (required if copied from data directory)"),
                f("wal-dir", Str, "", "Path to the WAL directory (use --data-dir if none given)"),
            ]),
            leaf("save <filename>", "Stores an etcd node backend snapshot to a given file", &[]),
            leaf_long("status <filename>", "Gets backend snapshot status of a given file",
                "When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.\nThe items in the lists are hash, revision, total keys, total size.\n", &[]),
        ]),
        leaf("txn [options]", "Txn processes all the requests in one transaction", &[
            fs("interactive", 'i', Bool, "false", "Input transaction in interactive mode"),
        ]),
        group("user <subcommand>", "User related commands", &[
            leaf("add <user name or user:password> [options]", "Adds a new user", &[
                f("interactive", Bool, "true", "Read password from stdin instead of interactive terminal"),
                f("new-user-password", Str, "", "Supply password from the command line flag"),
                f("no-password", Bool, "false", "Create a user without password (CN based auth only)"),
            ]),
            leaf("delete <user name>", "Deletes a user", &[]),
            leaf("get <user name> [options]", "Gets detailed information of a user", &[
                f("detail", Bool, "false", "Show permissions of roles granted to the user"),
            ]),
            leaf("grant-role <user name> <role name>", "Grants a role to a user", &[]),
            leaf("list", "Lists all users", &[]),
            leaf("passwd <user name> [options]", "Changes password of user", &[
                f("interactive", Bool, "true", "If true, read password from stdin instead of interactive terminal"),
            ]),
            leaf("revoke-role <user name> <role name>", "Revokes a role from a user", &[]),
        ]),
        leaf("version", "Prints the version of etcdctl", &[]),
        leaf("watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]", "Watches events stream on keys or prefixes", &[
            fs("interactive", 'i', Bool, "false", "Interactive mode"),
            f("prefix", Bool, "false", "Watch on a prefix if prefix is set"),
            f("prev-kv", Bool, "false", "get the previous key-value pair before the event happens"),
            f("rev", Int64, "0", "Revision to start watching"),
        ]),
    ],
};
