//! Command-line and `ETCD_*` environment parsing with the rules of Go's `flag` package,
//! which etcd uses.
//!
//! Command line, in order:
//! - `-name` and `--name` are the same; `---name` is `bad flag syntax`;
//! - `--name=value` or `--name value` (the next argument is taken whatever it looks
//!   like); booleans also as bare `--name`, but then only `--name=false` can unset;
//! - parsing stops at the first argument that is not a flag, or after `--`; leftovers
//!   are reported by the caller (`'x' is not a valid flag`);
//! - `-h`, `-help` (any dashes) ask for help; an unknown name is an error;
//! - a flag given twice keeps the last value.
//!
//! Environment (only when no config file is used): for each flag not set on the
//! command line, in name order, a non-empty `ETCD_<NAME>` (upper case, `-` → `_`)
//! sets it and is logged as used. Then every other variable is checked: one that names
//! a flag already set on the command line is fatal (etcd refuses the ambiguity), any
//! other `ETCD_*` one is warned about as unrecognised.

use std::collections::{BTreeSet, HashMap};

use super::flags::{ignored_spec, lookup, FLAGS, IGNORED};
use super::store::FlagStore;
use super::value::Kind;
use super::{ConfigError, Invalid, StartupLog};

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Args {
    /// `-h` / `--help`.
    Help,
    /// Flags parsed; these arguments were left over.
    Parsed(Vec<String>),
}

/// The kind of a flag by name, including the ignored legacy flags.
fn kind_of(name: &str) -> Option<Kind> {
    lookup(name)
        .map(|f| f.kind)
        .or_else(|| ignored_spec(name).map(|f| f.kind))
}

/// Parses `args` (without the program name) into `store`.
pub(crate) fn parse_args(args: &[String], store: &mut FlagStore) -> Result<Args, ConfigError> {
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg.len() < 2 || !arg.starts_with('-') {
            break;
        }
        let dashes = if arg.starts_with("--") { 2 } else { 1 };
        if arg == "--" {
            i += 1;
            break;
        }
        let body = &arg[dashes..];
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(ConfigError::Usage(format!("bad flag syntax: {arg}")));
        }
        i += 1;
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(kind) = kind_of(name) else {
            if name == "help" || name == "h" {
                return Ok(Args::Help);
            }
            return Err(ConfigError::Usage(format!(
                "flag provided but not defined: -{name}"
            )));
        };
        if kind.is_bool() {
            let text = inline.unwrap_or("true");
            store.set_text(name, text).map_err(|why| {
                ConfigError::Usage(format!("invalid boolean value {text:?} for -{name}: {why}"))
            })?;
            continue;
        }
        let text = match inline {
            Some(v) => v,
            None if i < args.len() => {
                i += 1;
                &args[i - 1]
            }
            None => {
                return Err(ConfigError::Usage(format!(
                    "flag needs an argument: -{name}"
                )))
            }
        };
        store.set_text(name, text).map_err(|why| {
            ConfigError::Usage(format!("invalid value {text:?} for flag -{name}: {why}"))
        })?;
    }
    Ok(Args::Parsed(args[i..].to_vec()))
}

/// The environment variable for a flag: `ETCD_` + upper case with `_` for `-`.
pub(crate) fn env_key(name: &str) -> String {
    format!("ETCD_{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// Applies `ETCD_*` variables to flags the command line left unset (see module docs).
pub(crate) fn apply_env(
    store: &mut FlagStore,
    env: &HashMap<String, String>,
) -> Result<(), ConfigError> {
    let mut names: Vec<&str> = FLAGS.iter().map(|f| f.name).collect();
    names.extend(IGNORED.iter().copied());
    names.sort_unstable();
    let already_set: BTreeSet<String> = store.set_names().iter().map(|n| env_key(n)).collect();
    let mut used = BTreeSet::new();
    let mut failure = None;
    for name in names {
        let key = env_key(name);
        if already_set.contains(&key) {
            continue;
        }
        let Some(text) = env.get(&key).filter(|v| !v.is_empty()) else {
            continue;
        };
        used.insert(key.clone());
        match store.set_text(name, text) {
            Ok(()) => store.logs.push(StartupLog::EnvUsed {
                key,
                value: text.clone(),
            }),
            Err(why) => {
                failure = Some(format!("invalid value {text:?} for {key}: {why}"));
            }
        }
    }
    let mut keys: Vec<&String> = env.keys().collect();
    keys.sort();
    for key in keys {
        if used.contains(key) {
            continue;
        }
        if already_set.contains(key) {
            return Err(ConfigError::EnvShadowed {
                key: key.clone(),
                logs: std::mem::take(&mut store.logs),
            });
        }
        if key.starts_with("ETCD_") {
            store.logs.push(StartupLog::EnvUnrecognized {
                key: key.clone(),
                value: env[key].clone(),
            });
        }
    }
    match failure {
        None => Ok(()),
        Some(reason) => Err(ConfigError::Invalid(Box::new(Invalid {
            reason,
            logs: std::mem::take(&mut store.logs),
            stderr_lines: Vec::new(),
            logging: None,
            advertise_client_urls_unset: false,
        }))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn usage_error(list: &[&str]) -> String {
        match parse_args(&args(list), &mut FlagStore::new()) {
            Err(ConfigError::Usage(msg)) => msg,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn go_flag_syntax() {
        let mut s = FlagStore::new();
        let out = parse_args(
            &args(&[
                "-name",
                "a",
                "--data-dir=/x",
                "--debug",
                "--pre-vote=false",
                "rest",
                "--v",
            ]),
            &mut s,
        )
        .unwrap();
        assert_eq!(out, Args::Parsed(args(&["rest", "--v"])));
        assert_eq!(s.str("name"), "a");
        assert_eq!(s.str("data-dir"), "/x");
        assert!(s.bool("debug"));
        assert!(s.is_set("pre-vote"));
        // The next argument is the value even when it looks like a flag.
        let mut s = FlagStore::new();
        parse_args(&args(&["--name", "--debug"]), &mut s).unwrap();
        assert_eq!(s.str("name"), "--debug");
        assert!(!s.bool("debug"));
        // `--` ends the flags.
        let mut s = FlagStore::new();
        let out = parse_args(&args(&["--", "--name", "x"]), &mut s).unwrap();
        assert_eq!(out, Args::Parsed(args(&["--name", "x"])));
    }

    #[test]
    fn help_and_errors_like_go() {
        assert_eq!(
            parse_args(&args(&["-h"]), &mut FlagStore::new()).unwrap(),
            Args::Help
        );
        assert_eq!(
            parse_args(&args(&["--help=x"]), &mut FlagStore::new()).unwrap(),
            Args::Help
        );
        assert_eq!(
            usage_error(&["--bogus"]),
            "flag provided but not defined: -bogus"
        );
        assert_eq!(usage_error(&["---name"]), "bad flag syntax: ---name");
        assert_eq!(usage_error(&["--name"]), "flag needs an argument: -name");
        assert_eq!(
            usage_error(&["--debug=maybe"]),
            "invalid boolean value \"maybe\" for -debug: parse error"
        );
        assert_eq!(
            usage_error(&["--heartbeat-interval", "abc"]),
            "invalid value \"abc\" for flag -heartbeat-interval: parse error"
        );
        assert_eq!(
            usage_error(&["--initial-cluster-state", "foo"]),
            "invalid value \"foo\" for flag -initial-cluster-state: invalid value"
        );
        assert_eq!(
            usage_error(&["--listen-client-urls", "foo"]),
            "invalid value \"foo\" for flag -listen-client-urls: URL scheme must be http, https, unix, or unixs: foo"
        );
    }

    #[test]
    fn ignored_flags_warn() {
        let mut s = FlagStore::new();
        parse_args(&args(&["--peer-heartbeat-interval", "x"]), &mut s).unwrap();
        assert_eq!(
            s.logs,
            vec![StartupLog::IgnoredFlag {
                message: "flag \"-peer-heartbeat-interval\" is no longer supported - ignoring."
                    .into()
            }]
        );
    }

    #[test]
    fn environment_fills_unset_flags() {
        let env: HashMap<String, String> = [
            ("ETCD_NAME", "envname"),
            ("ETCD_SNAPSHOT_COUNT", "7"),
            ("ETCD_FOO", "bar"),
            ("ETCD_WAL_DIR", ""),
            ("HOME", "/root"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut s = FlagStore::new();
        apply_env(&mut s, &env).unwrap();
        assert_eq!(s.str("name"), "envname");
        assert_eq!(s.uint("snapshot-count"), 7);
        assert!(!s.is_set("wal-dir"));
        assert_eq!(
            s.logs,
            vec![
                StartupLog::EnvUsed {
                    key: "ETCD_NAME".into(),
                    value: "envname".into()
                },
                StartupLog::EnvUsed {
                    key: "ETCD_SNAPSHOT_COUNT".into(),
                    value: "7".into()
                },
                StartupLog::EnvUnrecognized {
                    key: "ETCD_FOO".into(),
                    value: "bar".into()
                },
                StartupLog::EnvUnrecognized {
                    key: "ETCD_WAL_DIR".into(),
                    value: "".into()
                },
            ]
        );
    }

    #[test]
    fn environment_conflicts_and_bad_values() {
        let env: HashMap<String, String> = [("ETCD_NAME".to_string(), "x".to_string())]
            .into_iter()
            .collect();
        let mut s = FlagStore::new();
        parse_args(&args(&["--name", "y"]), &mut s).unwrap();
        match apply_env(&mut s, &env) {
            Err(e @ ConfigError::EnvShadowed { .. }) => assert_eq!(
                e.to_string(),
                "conflicting environment variable \"ETCD_NAME\" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)"
            ),
            other => panic!("{other:?}"),
        }
        let env: HashMap<String, String> =
            [("ETCD_HEARTBEAT_INTERVAL".to_string(), "abc".to_string())]
                .into_iter()
                .collect();
        let err = apply_env(&mut FlagStore::new(), &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value \"abc\" for ETCD_HEARTBEAT_INTERVAL: parse error"
        );
    }
}
