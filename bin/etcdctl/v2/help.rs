//! urfave/cli v1 help text: the application, command and group templates,
//! flag descriptions, and Go's `text/tabwriter` as urfave configures it
//! (minwidth 1, tabwidth 8, padding 2, padded with spaces). Every help line
//! has at most one tab, so a block is a run of lines with a tab and the
//! first column is as wide as its widest cell plus two.

use super::spec::{Cmd, Flag, Kind, COMMANDS, GLOBAL, HELP, HELP_CMD, VERSION};

/// The etcdctl version the v2 program reports.
pub const VERSION_TEXT: &str = "3.4.23";

/// `--name placeholder, -n placeholder<TAB>usage (default: ...)`.
fn flag_line(fl: &Flag) -> String {
    let (placeholder, usage) = unquote_usage(fl.usage);
    let (needs, default) = match fl.kind {
        Kind::Bool => (false, String::new()),
        Kind::Str(d) if d.is_empty() => (true, String::new()),
        Kind::Str(d) => (true, format!(" (default: \"{d}\")")),
        Kind::Int => (true, " (default: 0)".to_string()),
        Kind::Duration(d) => (true, format!(" (default: {d})")),
        Kind::List => (true, String::new()),
    };
    let placeholder = match (placeholder, needs) {
        (Some(p), _) => p,
        (None, true) => "value".to_string(),
        (None, false) => String::new(),
    };
    let names: Vec<String> = fl
        .names()
        .map(|n| {
            let dash = if n.chars().count() == 1 { "-" } else { "--" };
            if placeholder.is_empty() {
                format!("{dash}{n}")
            } else {
                format!("{dash}{n} {placeholder}")
            }
        })
        .collect();
    format!(
        "{}\t{}",
        names.join(", "),
        format!("{usage}{default}").trim()
    )
}

/// The first back-quoted word of `usage` (unquoted in the text) if any.
fn unquote_usage(usage: &str) -> (Option<String>, String) {
    if let Some(i) = usage.find('`') {
        if let Some(j) = usage[i + 1..].find('`') {
            let name = &usage[i + 1..i + 1 + j];
            let text = format!("{}{}{}", &usage[..i], name, &usage[i + 2 + j..]);
            return (Some(name.to_string()), text);
        }
    }
    (None, usage.to_string())
}

/// Pads the cell before each line's tab to the block's widest cell + 2.
pub fn align(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].contains('\t') {
            out.push(lines[i].to_string());
            i += 1;
            continue;
        }
        let mut j = i;
        while j < lines.len() && lines[j].contains('\t') {
            j += 1;
        }
        let width = lines[i..j]
            .iter()
            .map(|l| l.split('\t').next().unwrap_or("").chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        for l in &lines[i..j] {
            let (a, b) = l.split_once('\t').unwrap_or((l, ""));
            let pad = width - a.chars().count();
            out.push(format!("{a}{}{b}", " ".repeat(pad)));
        }
        i = j;
    }
    out.join("\n")
}

fn command_lines(cmds: &[Cmd], with_help: bool) -> String {
    let mut s = String::new();
    let help = with_help.then_some(&HELP_CMD);
    for c in cmds.iter().chain(help) {
        let mut names = vec![c.name];
        names.extend(c.aliases);
        s.push_str(&format!("\n   {}\t{}", names.join(", "), c.usage));
    }
    s
}

fn options(flags: &[&Flag]) -> String {
    flags
        .iter()
        .map(|f| format!("{}\n   ", flag_line(f)))
        .collect()
}

/// `etcdctl --help`, or an application's help for group `name` (urfave
/// runs a group as a nested application whose only flag is `--help`).
pub fn app(group: Option<&Cmd>) -> String {
    let (name, usage, cmds, flags): (String, &str, &[Cmd], Vec<&Flag>) = match group {
        None => {
            let mut fl: Vec<&Flag> = GLOBAL.iter().collect();
            fl.push(&HELP);
            fl.push(&VERSION);
            (
                "etcdctl".into(),
                "A simple command line client for etcd.",
                COMMANDS,
                fl,
            )
        }
        Some(g) => (format!("etcdctl {}", g.name), g.usage, g.subs, vec![&HELP]),
    };
    let opts: Vec<String> = flags.iter().map(|f| flag_line(f)).collect();
    align(&format!(
        "NAME:\n   {name} - {usage}\n\nUSAGE:\n   {name} [global options] command [command options] [arguments...]\n\nVERSION:\n   {VERSION_TEXT}\n\nCOMMANDS:{}\n\nGLOBAL OPTIONS:\n   {}\n",
        command_lines(cmds, group.is_none()),
        opts.join("\n   ")
    ))
}

/// A group's own help (`etcdctl member`, `etcdctl member -h`).
pub fn group(g: &Cmd) -> String {
    align(&format!(
        "NAME:\n   etcdctl {0} - {1}\n\nUSAGE:\n   etcdctl {0} command [command options] [arguments...]\n\nCOMMANDS:{2}\n\nOPTIONS:\n   {3}\n",
        g.name,
        g.usage,
        command_lines(g.subs, false),
        options(&[&HELP])
    ))
}

/// A command's help; `name` is its help name ("etcdctl member list"; empty
/// for the application's own `help` command, as urfave leaves it).
pub fn command(name: &str, c: &Cmd) -> String {
    let flags: Vec<&Flag> = c.flags.iter().collect();
    let opt = if flags.is_empty() {
        ""
    } else {
        " [command options]"
    };
    let args = if c.args_usage.is_empty() {
        "[arguments...]"
    } else {
        c.args_usage
    };
    let mut s = format!(
        "NAME:\n   {name} - {}\n\nUSAGE:\n   {name}{opt} {args}",
        c.usage
    );
    if !c.description.is_empty() {
        s.push_str(&format!("\n\nDESCRIPTION:\n   {}", c.description));
    }
    if !flags.is_empty() {
        s.push_str(&format!("\n\nOPTIONS:\n   {}", options(&flags)));
    }
    s.push('\n');
    align(&s)
}
