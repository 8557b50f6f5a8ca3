//! The `ETCDCTL_API=2` command tree: names, usage lines and flags exactly
//! as etcdctl 3.4's v2 program (urfave/cli v1) declares them, since the
//! help text is rendered from these strings byte for byte.

/// How a flag takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--x` or `--x=true|false`.
    Bool,
    /// A string; the default is shown quoted when not empty.
    Str(&'static str),
    /// A Go `int` (shown with `(default: 0)`).
    Int,
    /// A Go duration; the default as Go prints it.
    Duration(&'static str),
    /// Repeatable string flag collecting a list.
    List,
}

/// One flag: `names` as urfave writes them ("output, o").
#[derive(Debug)]
pub struct Flag {
    pub names: &'static str,
    pub kind: Kind,
    pub usage: &'static str,
}

/// One command (a group when `subs` is not empty).
#[derive(Debug)]
pub struct Cmd {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub usage: &'static str,
    pub args_usage: &'static str,
    pub description: &'static str,
    pub flags: &'static [Flag],
    pub subs: &'static [Cmd],
}

const fn f(names: &'static str, kind: Kind, usage: &'static str) -> Flag {
    Flag { names, kind, usage }
}

const fn cmd(
    name: &'static str,
    usage: &'static str,
    args_usage: &'static str,
    flags: &'static [Flag],
) -> Cmd {
    Cmd {
        name,
        aliases: &[],
        usage,
        args_usage,
        description: "",
        flags,
        subs: &[],
    }
}

const fn group(name: &'static str, usage: &'static str, subs: &'static [Cmd]) -> Cmd {
    Cmd {
        name,
        aliases: &[],
        usage,
        args_usage: "",
        description: "",
        flags: &[],
        subs,
    }
}

use Kind::*;

/// The flag every command and group gets.
pub const HELP: Flag = f("help, h", Bool, "show help");
/// The application's version flag.
pub const VERSION: Flag = f("version, v", Bool, "print the version");

/// The `help` command urfave adds to the application and to each group.
pub const HELP_CMD: Cmd = Cmd {
    name: "help",
    aliases: &["h"],
    usage: "Shows a list of commands or help for one command",
    args_usage: "[command]",
    description: "",
    flags: &[],
    subs: &[],
};

/// The global flags (without help and version, which urfave appends).
pub const GLOBAL: &[Flag] = &[
    f("debug", Bool, "output cURL commands which can be used to reproduce the request"),
    f("no-sync", Bool, "don't synchronize cluster information before sending request"),
    f("output, o", Str("simple"), "output response in the given format (`simple`, `extended` or `json`)"),
    f("discovery-srv, D", Str(""), "domain name to query for SRV records describing cluster endpoints"),
    f("insecure-discovery", Bool, "accept insecure SRV records describing cluster endpoints"),
    f("peers, C", Str(""), "DEPRECATED - \"--endpoints\" should be used instead"),
    f("endpoint", Str(""), "DEPRECATED - \"--endpoints\" should be used instead"),
    f("endpoints", Str(""), "a comma-delimited list of machine addresses in the cluster (default: \"http://127.0.0.1:2379,http://127.0.0.1:4001\")"),
    f("cert-file", Str(""), "identify HTTPS client using this SSL certificate file"),
    f("key-file", Str(""), "identify HTTPS client using this SSL key file"),
    f("ca-file", Str(""), "verify certificates of HTTPS-enabled servers using this CA bundle"),
    f("username, u", Str(""), "provide username[:password] and prompt if password is not supplied."),
    f("timeout", Duration("2s"), "connection timeout per request"),
    f("total-timeout", Duration("5s"), "timeout for the command execution (except watch)"),
];

const TTL: Flag = f("ttl", Int, "key time-to-live in seconds");
const SORT: Flag = f("sort", Bool, "returns result in sorted order");
const QUORUM: Flag = f("quorum, q", Bool, "require quorum for get request");
const ROLES: Flag = f("roles", List, "List of roles to grant or revoke");

const SET_DESCRIPTION: &str = "Set sets the value of a key.

   When <value> begins with '-', <value> is interpreted as a flag.
   Insert '--' for workaround:

   $ set -- <key> <value>";

/// The application's commands, in help order (urfave appends `help`).
pub const COMMANDS: &[Cmd] = &[
    cmd(
        "backup",
        "backup an etcd directory",
        " ",
        &[
            f("data-dir", Str(""), "Path to the etcd data dir"),
            f("wal-dir", Str(""), "Path to the etcd wal dir"),
            f("backup-dir", Str(""), "Path to the backup dir"),
            f("backup-wal-dir", Str(""), "Path to the backup wal dir"),
            f("with-v3", Bool, "Backup v3 backend data"),
        ],
    ),
    cmd(
        "cluster-health",
        "check the health of the etcd cluster",
        " ",
        &[f(
            "forever, f",
            Bool,
            "forever check the health every 10 second until CTRL+C",
        )],
    ),
    cmd(
        "mk",
        "make a new key with a given value",
        "<key> <value>",
        &[
            f(
                "in-order",
                Bool,
                "create in-order key under directory <key>",
            ),
            TTL,
        ],
    ),
    cmd("mkdir", "make a new directory", "<key>", &[TTL]),
    cmd(
        "rm",
        "remove a key or a directory",
        "<key>",
        &[
            f(
                "dir",
                Bool,
                "removes the key if it is an empty directory or a key-value pair",
            ),
            f(
                "recursive, r",
                Bool,
                "removes the key and all child keys(if it is a directory)",
            ),
            f("with-value", Str(""), "previous value"),
            f("with-index", Int, "previous index"),
        ],
    ),
    cmd(
        "rmdir",
        "removes the key if it is an empty directory or a key-value pair",
        "<key>",
        &[],
    ),
    cmd(
        "get",
        "retrieve the value of a key",
        "<key>",
        &[SORT, QUORUM],
    ),
    cmd(
        "ls",
        "retrieve a directory",
        "[key]",
        &[
            SORT,
            f(
                "recursive, r",
                Bool,
                "returns all key names recursively for the given path",
            ),
            f("p", Bool, "append slash (/) to directories"),
            QUORUM,
        ],
    ),
    Cmd {
        description: SET_DESCRIPTION,
        ..cmd(
            "set",
            "set the value of a key",
            "<key> <value>",
            &[
                TTL,
                f("swap-with-value", Str(""), "previous value"),
                f("swap-with-index", Int, "previous index"),
            ],
        )
    },
    cmd(
        "setdir",
        "create a new directory or update an existing directory TTL",
        "<key>",
        &[TTL],
    ),
    cmd(
        "update",
        "update an existing key with a given value",
        "<key> <value>",
        &[TTL],
    ),
    cmd(
        "updatedir",
        "update an existing directory",
        "<key> <value>",
        &[TTL],
    ),
    cmd(
        "watch",
        "watch a key for changes",
        "<key>",
        &[
            f("forever, f", Bool, "forever watch a key until CTRL+C"),
            f("after-index", Int, "watch after the given index"),
            f(
                "recursive, r",
                Bool,
                "returns all values for key and child keys",
            ),
        ],
    ),
    cmd(
        "exec-watch",
        "watch a key for changes and exec an executable",
        "<key> <command> [args...]",
        &[
            f("after-index", Int, "watch after the given index"),
            f(
                "recursive, r",
                Bool,
                "watch all values for key and child keys",
            ),
        ],
    ),
    group(
        "member",
        "member add, remove and list subcommands",
        &[
            cmd("list", "enumerate existing cluster members", " ", &[]),
            cmd(
                "add",
                "add a new member to the etcd cluster",
                "<name> <peerURL>",
                &[],
            ),
            cmd(
                "remove",
                "remove an existing member from the etcd cluster",
                "<memberID>",
                &[],
            ),
            cmd(
                "update",
                "update an existing member in the etcd cluster",
                "<memberID> <peerURLs>",
                &[],
            ),
        ],
    ),
    group(
        "user",
        "user add, grant and revoke subcommands",
        &[
            cmd("add", "add a new user for the etcd cluster", "<user>", &[]),
            cmd("get", "get details for a user", "<user>", &[]),
            cmd("list", "list all current users", "<user>", &[]),
            cmd(
                "remove",
                "remove a user for the etcd cluster",
                "<user>",
                &[],
            ),
            cmd("grant", "grant roles to an etcd user", "<user>", &[ROLES]),
            cmd(
                "revoke",
                "revoke roles for an etcd user",
                "<user>",
                &[ROLES],
            ),
            cmd("passwd", "change password for a user", "<user>", &[]),
        ],
    ),
    group(
        "role",
        "role add, grant and revoke subcommands",
        &[
            cmd("add", "add a new role for the etcd cluster", "<role> ", &[]),
            cmd("get", "get details for a role", "<role>", &[]),
            cmd("list", "list all roles", " ", &[]),
            cmd(
                "remove",
                "remove a role from the etcd cluster",
                "<role>",
                &[],
            ),
            cmd(
                "grant",
                "grant path matches to an etcd role",
                "<role>",
                &[
                    f("path", Str(""), "Path granted for the role to access"),
                    f("read", Bool, "Grant read-only access"),
                    f("write", Bool, "Grant write-only access"),
                    f("readwrite, rw", Bool, "Grant read-write access"),
                ],
            ),
            cmd(
                "revoke",
                "revoke path matches for an etcd role",
                "<role>",
                &[
                    f("path", Str(""), "Path revoked for the role to access"),
                    f("read", Bool, "Revoke read access"),
                    f("write", Bool, "Revoke write access"),
                    f("readwrite, rw", Bool, "Revoke read-write access"),
                ],
            ),
        ],
    ),
    group(
        "auth",
        "overall auth controls",
        &[
            cmd("enable", "enable auth access controls", " ", &[]),
            cmd("disable", "disable auth access controls", " ", &[]),
        ],
    ),
];

impl Flag {
    /// The flag's names, trimmed.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        self.names.split(',').map(str::trim)
    }

    /// The canonical (first) name.
    pub fn key(&self) -> &'static str {
        self.names().next().unwrap_or("")
    }
}

impl Cmd {
    /// Whether `name` is this command's name or an alias.
    pub fn has_name(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

/// The command named `name` among `cmds`, or the help command.
pub fn find<'a>(cmds: &'a [Cmd], name: &str) -> Option<&'a Cmd> {
    cmds.iter()
        .find(|c| c.has_name(name))
        .or_else(|| HELP_CMD.has_name(name).then_some(&HELP_CMD))
}
