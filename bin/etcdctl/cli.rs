//! Command-line parsing with cobra/pflag semantics, so that etcdctl's
//! messages and exit codes carry over:
//! - the command path is found first, skipping flags (a `--flag` without `=`
//!   that is not boolean is assumed to take the next word), with unique
//!   prefixes of command names accepted;
//! - then all words are parsed against the command's flags and the
//!   persistent flags of its ancestors, flags and arguments interleaved,
//!   `--` ending flag parsing;
//! - errors use pflag's wording (`unknown flag: --x`, `invalid argument ...`).

use std::collections::HashMap;

use crate::spec::{Cmd, Flag, Kind, ROOT};

/// The `--help` flag every command has.
pub const HELP_FLAG: Flag = Flag {
    name: "help",
    short: Some('h'),
    kind: Kind::Bool,
    default: "false",
    usage: "",
};

/// A parsed command line.
#[derive(Debug)]
pub struct Parsed {
    /// Root first, the command to run last.
    pub path: Vec<&'static Cmd>,
    /// Flags given on the command line, by long name (validated raw values;
    /// repeated list flags joined with ',').
    pub values: HashMap<&'static str, String>,
    /// Positional arguments.
    pub args: Vec<String>,
    /// How many positional arguments came before `--` (cobra's ArgsLenAtDash).
    pub dash_at: Option<usize>,
    /// `-h` / `--help` was given.
    pub help: bool,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Outcome {
    /// Run a command (or print its help).
    Parsed(Parsed),
    /// No such command (message includes suggestions).
    UnknownCommand(String),
    /// A flag error on the command at the end of the path.
    FlagError(Vec<&'static Cmd>, String),
}

/// All flags visible on the command at the end of `path`.
pub fn visible_flags(path: &[&'static Cmd]) -> Vec<&'static Flag> {
    let last = path[path.len() - 1];
    let mut v: Vec<&'static Flag> = last.flags.iter().chain(last.persistent.iter()).collect();
    for c in &path[..path.len() - 1] {
        v.extend(c.persistent.iter());
    }
    v.push(&HELP_FLAG);
    v
}

fn find_flag<'a>(flags: &[&'a Flag], name: &str) -> Option<&'a Flag> {
    flags.iter().copied().find(|f| f.name == name)
}

fn find_short<'a>(flags: &[&'a Flag], c: char) -> Option<&'a Flag> {
    flags.iter().copied().find(|f| f.short == Some(c))
}

/// The subcommand named `word` (exact, else unique prefix).
fn child(cmd: &'static Cmd, word: &str) -> Option<&'static Cmd> {
    if let Some(c) = cmd.subs.iter().find(|c| c.name() == word) {
        return Some(c);
    }
    let mut matches = cmd.subs.iter().filter(|c| c.name().starts_with(word));
    match (matches.next(), matches.next()) {
        (Some(c), None) if !word.is_empty() => Some(c),
        _ => None,
    }
}

/// Non-flag words of `args`, as cobra's `stripFlags` sees them.
fn strip_flags(args: &[String], flags: &[&Flag]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let s = &args[i];
        i += 1;
        if s == "--" {
            break;
        }
        if let Some(name) = s.strip_prefix("--") {
            if !s.contains('=') && find_flag(flags, name).is_none_or(|f| f.kind != Kind::Bool) {
                if args.len() - i <= 1 {
                    break;
                }
                i += 1;
            }
            continue;
        }
        if s.starts_with('-') && !s.contains('=') && s.chars().count() == 2 {
            let c = s.chars().nth(1).unwrap_or('-');
            if find_short(flags, c).is_none_or(|f| f.kind != Kind::Bool) {
                if args.len() - i <= 1 {
                    break;
                }
                i += 1;
            }
            continue;
        }
        if !s.is_empty() && !s.starts_with('-') {
            out.push(s.clone());
        }
    }
    out
}

/// Cobra's suggestions for a mistyped command: Levenshtein distance ≤ 2 or
/// a name starting with what was typed.
fn suggestions(cmd: &Cmd, typed: &str) -> String {
    let lower = typed.to_lowercase();
    let names: Vec<&str> = cmd
        .subs
        .iter()
        .map(|c| c.name())
        .filter(|n| {
            levenshtein(&lower, &n.to_lowercase()) <= 2 || n.to_lowercase().starts_with(&lower)
        })
        .collect();
    if names.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n\nDid you mean this?\n");
    for n in names {
        s.push('\t');
        s.push_str(n);
        s.push('\n');
    }
    s
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses etcdctl's arguments (without the program name).
pub fn parse(args: &[String]) -> Outcome {
    let mut path: Vec<&'static Cmd> = vec![&ROOT];
    let mut rest: Vec<String> = args.to_vec();
    loop {
        let cmd = path[path.len() - 1];
        let words = strip_flags(&rest, &visible_flags(&path));
        let Some(first) = words.first() else { break };
        let Some(next) = child(cmd, first) else { break };
        if let Some(pos) = rest.iter().position(|a| a == first) {
            rest.remove(pos);
        }
        path.push(next);
    }
    if path.len() == 1 {
        let words = strip_flags(&rest, &visible_flags(&path));
        if let Some(w) = words.first() {
            return Outcome::UnknownCommand(format!(
                "unknown command {w:?} for \"etcdctl\"{}",
                suggestions(&ROOT, w)
            ));
        }
    }
    match parse_flags(&path, &rest) {
        Ok(p) => Outcome::Parsed(p),
        Err(msg) => Outcome::FlagError(path, msg),
    }
}

/// Parses flags and arguments of the command at the end of `path`.
pub fn parse_flags(path: &[&'static Cmd], words: &[String]) -> Result<Parsed, String> {
    let flags = visible_flags(path);
    let mut p = Parsed {
        path: path.to_vec(),
        values: HashMap::new(),
        args: Vec::new(),
        dash_at: None,
        help: false,
    };
    let mut i = 0;
    while i < words.len() {
        let s = &words[i];
        i += 1;
        if s == "--" {
            p.dash_at = Some(p.args.len());
            p.args.extend(words[i..].iter().cloned());
            break;
        }
        if let Some(body) = s.strip_prefix("--") {
            if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
                return Err(format!("bad flag syntax: {s}"));
            }
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(flag) = find_flag(&flags, name) else {
                return Err(format!("unknown flag: --{name}"));
            };
            let value = match inline {
                Some(v) => v,
                None if flag.kind == Kind::Bool => "true".to_string(),
                None if i < words.len() => {
                    i += 1;
                    words[i - 1].clone()
                }
                None => return Err(format!("flag needs an argument: {s}")),
            };
            set(&mut p, flag, &value, format!("--{}", flag.name))?;
            continue;
        }
        if s.len() > 1 && s.starts_with('-') {
            let chars: Vec<char> = s[1..].chars().collect();
            let mut k = 0;
            while k < chars.len() {
                let c = chars[k];
                let Some(flag) = find_short(&flags, c) else {
                    return Err(format!("unknown shorthand flag: '{c}' in {s}"));
                };
                let shown = format!("-{c}, --{}", flag.name);
                let tail: String = chars[k + 1..].iter().collect();
                if let Some(v) = tail.strip_prefix('=') {
                    set(&mut p, flag, v, shown)?;
                    break;
                }
                if flag.kind == Kind::Bool {
                    set(&mut p, flag, "true", shown)?;
                    k += 1;
                    continue;
                }
                if !tail.is_empty() {
                    set(&mut p, flag, &tail, shown)?;
                } else if i < words.len() {
                    i += 1;
                    set(&mut p, flag, &words[i - 1].clone(), shown)?;
                } else {
                    return Err(format!("flag needs an argument: '{c}' in -{c}"));
                }
                break;
            }
            continue;
        }
        p.args.push(s.clone());
    }
    Ok(p)
}

fn set(p: &mut Parsed, flag: &'static Flag, value: &str, shown: String) -> Result<(), String> {
    if let Err(e) = validate(flag.kind, value) {
        return Err(format!(
            "invalid argument {value:?} for {shown:?} flag: {e}"
        ));
    }
    if flag.name == "help" {
        p.help = parse_bool(value).unwrap_or(false);
        return Ok(());
    }
    match (flag.kind, p.values.get_mut(flag.name)) {
        (Kind::StrSlice, Some(old)) => {
            old.push(',');
            old.push_str(value);
        }
        _ => {
            p.values.insert(flag.name, value.to_string());
        }
    }
    Ok(())
}

/// Checks a value the way pflag's typed setters would.
pub fn validate(kind: Kind, v: &str) -> Result<(), String> {
    match kind {
        Kind::Bool => parse_bool(v).map(|_| ()),
        Kind::Int64 | Kind::Int => parse_int(v).map(|_| ()),
        Kind::Duration => etcd_gotext::parse_duration(v).map(|_| ()),
        Kind::Str | Kind::StrSlice => Ok(()),
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {v:?}: invalid syntax")),
    }
}

/// Go's `strconv.ParseInt(v, 0, 64)` (base prefixes 0x, 0o, 0b, 0 accepted).
pub fn parse_int(v: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {v:?}: invalid syntax");
    let (neg, body) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let body_nu = body.replace('_', "");
    let (radix, digits) = if let Some(d) = body_nu.strip_prefix("0x").or(body_nu.strip_prefix("0X"))
    {
        (16, d.to_string())
    } else if let Some(d) = body_nu.strip_prefix("0b").or(body_nu.strip_prefix("0B")) {
        (2, d.to_string())
    } else if let Some(d) = body_nu.strip_prefix("0o").or(body_nu.strip_prefix("0O")) {
        (8, d.to_string())
    } else if body_nu.len() > 1 && body_nu.starts_with('0') {
        (8, body_nu[1..].to_string())
    } else {
        (10, body_nu.clone())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(syntax());
    }
    let mag = u128::from_str_radix(&digits, radix).map_err(|_| syntax())?;
    let limit = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
    if mag > limit {
        return Err(format!(
            "strconv.ParseInt: parsing {v:?}: value out of range"
        ));
    }
    Ok(if neg {
        (mag as i128).wrapping_neg() as i64
    } else {
        mag as i64
    })
}

impl Parsed {
    /// The command being run.
    pub fn cmd(&self) -> &'static Cmd {
        self.path[self.path.len() - 1]
    }

    /// Command path without the root, e.g. `lease grant`.
    pub fn name(&self) -> String {
        self.path[1..]
            .iter()
            .map(|c| c.name())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether the flag was given on the command line.
    pub fn changed(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    fn raw(&self, name: &str) -> String {
        if let Some(v) = self.values.get(name) {
            return v.clone();
        }
        visible_flags(&self.path)
            .into_iter()
            .find(|f| f.name == name)
            .map(|f| f.default.to_string())
            .unwrap_or_default()
    }

    /// A string flag.
    pub fn string(&self, name: &str) -> String {
        self.raw(name)
    }

    /// A boolean flag.
    pub fn bool(&self, name: &str) -> bool {
        parse_bool(&self.raw(name)).unwrap_or(false)
    }

    /// An integer flag.
    pub fn int(&self, name: &str) -> i64 {
        parse_int(&self.raw(name)).unwrap_or(0)
    }
}
