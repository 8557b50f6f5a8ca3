//! urfave/cli v1's command-line handling as etcdctl's v2 program sees it:
//! Go's `flag` package (stops at the first non-flag, `-x` and `--x` alike,
//! `--x=v` or `--x v`), urfave's reordering of a command's own flags in
//! front of its arguments, groups run as nested applications, and the
//! usage/help outcomes with their exit codes. Nothing here does I/O: the
//! caller prints an [`Outcome::Print`] or runs an [`Outcome::Run`].

use std::collections::HashMap;
use std::time::Duration;

use super::help;
use super::spec::{find, Cmd, Flag, Kind, COMMANDS, GLOBAL, HELP, HELP_CMD, VERSION};

/// A parsed flag value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    Str(String),
    Int(i64),
    Duration(Duration),
    List(Vec<String>),
}

/// Flag values by canonical name, defaults filled in.
#[derive(Clone, Debug, Default)]
pub struct Values(HashMap<&'static str, Value>);

impl Values {
    fn defaults(flags: &[&Flag]) -> Values {
        let mut m = HashMap::new();
        for f in flags {
            let v = match f.kind {
                Kind::Bool => Value::Bool(false),
                Kind::Str(d) => Value::Str(d.to_string()),
                Kind::Int => Value::Int(0),
                Kind::Duration(d) => Value::Duration(etcd_gotext::parse_duration(d).unwrap_or_default()),
                Kind::List => Value::List(Vec::new()),
            };
            m.insert(f.key(), v);
        }
        Values(m)
    }

    /// A boolean flag (false when unknown).
    pub fn bool(&self, k: &str) -> bool {
        matches!(self.0.get(k), Some(Value::Bool(true)))
    }

    /// A string flag ("" when unknown).
    pub fn str(&self, k: &str) -> &str {
        match self.0.get(k) {
            Some(Value::Str(s)) => s,
            _ => "",
        }
    }

    /// An int flag (0 when unknown).
    pub fn int(&self, k: &str) -> i64 {
        match self.0.get(k) {
            Some(Value::Int(i)) => *i,
            _ => 0,
        }
    }

    /// A duration flag (zero when unknown).
    pub fn duration(&self, k: &str) -> Duration {
        match self.0.get(k) {
            Some(Value::Duration(d)) => *d,
            _ => Duration::ZERO,
        }
    }

    /// A list flag (empty when unknown).
    pub fn list(&self, k: &str) -> &[String] {
        match self.0.get(k) {
            Some(Value::List(v)) => v,
            _ => &[],
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Outcome {
    /// Print and exit (help, version, usage errors).
    Print {
        stdout: String,
        stderr: String,
        code: i32,
    },
    /// Run command `path` ("get", "member list").
    Run {
        global: Values,
        path: Vec<&'static str>,
        flags: Values,
        args: Vec<String>,
    },
}

fn print(stdout: String, stderr: String, code: i32) -> Outcome {
    Outcome::Print {
        stdout,
        stderr,
        code,
    }
}

fn no_topic(name: &str) -> Outcome {
    print(String::new(), format!("No help topic for '{name}'\n"), 3)
}

/// Parses etcdctl's arguments (without the program name).
pub fn parse(args: &[String]) -> Outcome {
    let mut gflags: Vec<&Flag> = GLOBAL.iter().collect();
    gflags.push(&HELP);
    gflags.push(&VERSION);
    let (global, rest) = match go_parse(&gflags, args) {
        Ok(x) => x,
        Err(e) => {
            return print(
                format!("Incorrect Usage. {e}\n\n{}", help::app(None)),
                format!("{e}\n"),
                1,
            )
        }
    };
    if global.bool("help") {
        return print(help::app(None), String::new(), 0);
    }
    if global.bool("version") {
        return print(
            format!("etcdctl version: {}\nAPI version: 2\n", help::VERSION_TEXT),
            String::new(),
            0,
        );
    }
    let Some(name) = rest.first() else {
        return print(help::app(None), String::new(), 0);
    };
    let Some(c) = find(COMMANDS, name) else {
        return no_topic(name);
    };
    if !c.subs.is_empty() {
        return group(global, c, &rest[1..]);
    }
    leaf(global, COMMANDS, &[], c, &rest[1..])
}

/// A group (member, user, role, auth) as urfave's nested application.
fn group(global: Values, g: &'static Cmd, args: &[String]) -> Outcome {
    let (flags, rest) = match go_parse(&[&HELP], args) {
        Ok(x) => x,
        Err(e) => {
            return print(
                format!("Incorrect Usage. {e}\n\n{}", help::group(g)),
                format!("{e}\n"),
                1,
            )
        }
    };
    if flags.bool("help") {
        return print(help::group(g), String::new(), 0);
    }
    match rest.first() {
        None => print(help::group(g), String::new(), 0),
        Some(name) => match find(g.subs, name) {
            Some(c) => leaf(global, g.subs, &[g], c, &rest[1..]),
            None => no_topic(name),
        },
    }
}

/// A command without subcommands; `parents` is its group, if any.
fn leaf(
    global: Values,
    siblings: &'static [Cmd],
    parents: &[&'static Cmd],
    c: &'static Cmd,
    args: &[String],
) -> Outcome {
    let mut path: Vec<&'static str> = parents.iter().map(|p| p.name).collect();
    path.push(c.name);
    // urfave gives the application's own `help` command no help name.
    let full = if parents.is_empty() && c.name == HELP_CMD.name {
        String::new()
    } else {
        format!("etcdctl {}", path.join(" "))
    };
    let mut flags: Vec<&Flag> = c.flags.iter().collect();
    flags.push(&HELP);
    let reordered = reorder(&flags, args);
    let (values, rest) = match go_parse(&flags, &reordered) {
        Ok(x) => x,
        Err(e) => {
            return print(
                format!("Incorrect Usage: {e}\n\n{}", help::command(&full, c)),
                format!("{e}\n"),
                1,
            )
        }
    };
    if values.bool("help") {
        return print(help::command(&full, c), String::new(), 0);
    }
    if c.name == HELP_CMD.name {
        let group = parents.first();
        return match (rest.first(), group) {
            (None, None) => print(help::app(None), String::new(), 0),
            (None, Some(g)) => print(help::app(Some(g)), String::new(), 0),
            (Some(name), _) => match siblings.iter().find(|s| s.has_name(name)) {
                Some(t) => {
                    let p = group.map_or(format!("etcdctl {}", t.name), |g| {
                        format!("etcdctl {} {}", g.name, t.name)
                    });
                    print(help::command(&p, t), String::new(), 0)
                }
                None if HELP_CMD.has_name(name) => {
                    let p = group.map_or(String::new(), |g| format!("etcdctl {} help", g.name));
                    print(help::command(&p, &HELP_CMD), String::new(), 0)
                }
                None => no_topic(name),
            },
        };
    }
    Outcome::Run {
        global,
        path,
        flags: values,
        args: rest,
    }
}

/// Whether `arg` names one of `flags` (urfave's `argIsFlag`).
fn is_flag(flags: &[&Flag], arg: &str) -> bool {
    if arg == "-" || arg == "--" || !arg.starts_with('-') {
        return false;
    }
    let name = arg.strip_prefix("--").unwrap_or(arg);
    let name = name.strip_prefix('-').unwrap_or(name);
    let name = name.split('=').next().unwrap_or("");
    flags.iter().any(|f| f.names().any(|n| n == name))
}

/// Moves the command's own flags (and a value following each) in front of
/// the other arguments; everything after `--` stays behind them.
fn reorder(flags: &[&Flag], args: &[String]) -> Vec<String> {
    let (mut front, mut back) = (Vec::new(), Vec::new());
    let mut may_take_value = false;
    for (i, arg) in args.iter().enumerate() {
        if may_take_value && !is_flag(flags, arg) {
            may_take_value = false;
            front.push(arg.clone());
        } else if arg == "--" {
            back.insert(0, "--".to_string());
            back.extend_from_slice(&args[i + 1..]);
            break;
        } else if is_flag(flags, arg) {
            front.push(arg.clone());
            may_take_value = !arg.contains('=');
        } else {
            back.push(arg.clone());
        }
    }
    front.extend(back);
    front
}

/// Go's `flag.FlagSet.Parse`: returns the values and the remaining
/// arguments, or the error text Go would give.
fn go_parse(flags: &[&Flag], args: &[String]) -> Result<(Values, Vec<String>), String> {
    let mut values = Values::defaults(flags);
    let mut i = 0;
    while i < args.len() {
        let s = &args[i];
        if s.len() < 2 || !s.starts_with('-') {
            break;
        }
        let mut minuses = 1;
        if s.as_bytes()[1] == b'-' {
            minuses = 2;
            if s.len() == 2 {
                i += 1;
                break;
            }
        }
        let name = &s[minuses..];
        if name.is_empty() || name.starts_with('-') || name.starts_with('=') {
            return Err(format!("bad flag syntax: {s}"));
        }
        i += 1;
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (name, None),
        };
        let Some(fl) = flags.iter().find(|f| f.names().any(|n| n == name)) else {
            return Err(format!("flag provided but not defined: -{name}"));
        };
        if fl.kind == Kind::Bool {
            let v = match value {
                None => true,
                Some(v) => parse_bool(&v).ok_or_else(|| {
                    format!("invalid boolean value {v:?} for -{name}: parse error")
                })?,
            };
            values.0.insert(fl.key(), Value::Bool(v));
            continue;
        }
        let v = match value {
            Some(v) => v,
            None if i < args.len() => {
                i += 1;
                args[i - 1].clone()
            }
            None => return Err(format!("flag needs an argument: -{name}")),
        };
        let bad = || format!("invalid value {v:?} for flag -{name}: parse error");
        let parsed = match fl.kind {
            Kind::Int => Value::Int(parse_int(&v).ok_or_else(bad)?),
            Kind::Duration(_) => Value::Duration(etcd_gotext::parse_duration(&v).map_err(|_| bad())?),
            Kind::List => {
                let mut l = values.list(fl.key()).to_vec();
                l.push(v.clone());
                Value::List(l)
            }
            _ => Value::Str(v.clone()),
        };
        values.0.insert(fl.key(), parsed);
    }
    Ok((values, args[i..].to_vec()))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: decimal, 0x, 0o/0, 0b prefixes.
fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let v = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_flags_move_before_arguments() {
        let Outcome::Run { flags, args, .. } = parse(&strs(&["set", "k", "v", "--ttl", "5"]))
        else {
            panic!()
        };
        assert_eq!(flags.int("ttl"), 5);
        assert_eq!(args, strs(&["k", "v"]));
    }

    #[test]
    fn unknown_flag_after_an_argument_is_an_argument() {
        let Outcome::Run { args, .. } = parse(&strs(&["get", "x", "--bogus"])) else {
            panic!()
        };
        assert_eq!(args, strs(&["x", "--bogus"]));
    }

    #[test]
    fn go_int_forms() {
        assert_eq!(parse_int("0x10"), Some(16));
        assert_eq!(parse_int("abc"), None);
    }

    #[test]
    fn unknown_command_is_exit_3() {
        match parse(&strs(&["frob"])) {
            Outcome::Print { stderr, code, .. } => {
                assert_eq!(stderr, "No help topic for 'frob'\n");
                assert_eq!(code, 3);
            }
            o => panic!("{o:?}"),
        }
    }
}
