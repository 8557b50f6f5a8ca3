//! etcdctl's usage text (its own cobra usage template, aligned by Go's
//! tabwriter), printed for `-h`, for commands that only group others, and
//! after flag errors.

use crate::cli::{visible_flags, HELP_FLAG};
use crate::spec::{Cmd, Flag, Kind, HIDDEN_FLAGS};
use crate::tabwriter;

/// etcdctl's version as it reports it.
pub const VERSION: &str = "3.4.23";
/// The API version it reports.
pub const API_VERSION: &str = "3.4";

fn flag_lines(flags: &[&Flag], help_of: Option<&str>) -> String {
    let mut sorted: Vec<&Flag> = flags
        .iter()
        .copied()
        .filter(|f| !HIDDEN_FLAGS.contains(&f.name))
        .collect();
    sorted.sort_by_key(|f| f.name);
    let mut out = String::new();
    for f in sorted {
        match f.short {
            Some(c) => out.push_str(&format!("  -{c}, --{}", f.name)),
            None => out.push_str(&format!("      --{}", f.name)),
        }
        let bool_flag = f.kind == Kind::Bool;
        if bool_flag {
            out.push('[');
        }
        if f.kind == Kind::Str {
            out.push_str(&format!("={:?}", f.default));
        } else {
            out.push_str(&format!("={}", f.default));
        }
        if bool_flag {
            out.push(']');
        }
        let usage = if f.name == "help" {
            format!("help for {}", help_of.unwrap_or(""))
        } else {
            f.usage.to_string()
        };
        out.push_str(&format!("\t{usage}\n"));
    }
    out
}

fn use_line(path: &[&'static Cmd]) -> String {
    let cmd = path[path.len() - 1];
    let mut s = if path.len() > 1 {
        let parent: Vec<&str> = path[..path.len() - 1].iter().map(|c| c.name()).collect();
        format!("{} {}", parent.join(" "), cmd.use_line)
    } else {
        cmd.use_line.to_string()
    };
    if !s.contains("[flags]") {
        s.push_str(" [flags]");
    }
    s
}

fn runnable_descendants(cmd: &'static Cmd, prefix: &str, out: &mut Vec<(String, &'static str)>) {
    for c in cmd.subs {
        let name = if prefix.is_empty() {
            c.name().to_string()
        } else {
            format!("{prefix} {}", c.name())
        };
        if c.runnable {
            out.push((name.clone(), c.short));
        }
        runnable_descendants(c, &name, out);
    }
}

/// The usage text of the command at the end of `path`.
pub fn usage(path: &[&'static Cmd]) -> String {
    let cmd = path[path.len() - 1];
    let root = path.len() == 1;
    let mut t = String::from("NAME:\n");
    if root {
        t.push_str(&format!("\t{} - {}\n", cmd.name(), cmd.short));
    } else {
        let name: Vec<&str> = path[1..].iter().map(|c| c.name()).collect();
        t.push_str(&format!("\t{} - {}\n", name.join(" "), cmd.short));
    }
    t.push_str(&format!("\nUSAGE:\n\t{}\n", use_line(path)));
    if root {
        t.push_str(&format!("\nVERSION:\n\t{VERSION}\n"));
    }
    if !cmd.subs.is_empty() {
        t.push_str(&format!("\nAPI VERSION:\n\t{API_VERSION}\n"));
        t.push_str("\n\nCOMMANDS:\n");
        let mut subs = Vec::new();
        runnable_descendants(cmd, "", &mut subs);
        for (name, short) in subs {
            t.push_str(&format!("\t{name}\t{short}\n"));
        }
    }
    if !cmd.long.is_empty() {
        t.push_str("\nDESCRIPTION:\n");
        for line in cmd
            .long
            .trim_matches(|c| c == '\n' || c == '\t' || c == ' ')
            .split('\n')
        {
            t.push_str(&format!("\t{line}\n"));
        }
    }
    let mut local: Vec<&Flag> = cmd.flags.iter().chain(cmd.persistent.iter()).collect();
    local.push(&HELP_FLAG);
    t.push_str("\nOPTIONS:\n");
    t.push_str(&flag_lines(&local, Some(cmd.name())));
    if !root {
        let inherited: Vec<&Flag> = path[..path.len() - 1]
            .iter()
            .flat_map(|c| c.persistent.iter())
            .collect();
        t.push_str("\nGLOBAL OPTIONS:\n");
        t.push_str(&flag_lines(&inherited, None));
    }
    t.push('\n');
    let _ = visible_flags;
    tabwriter::align(&t)
}
