//! `txn`: reads compares, success ops and failure ops from stdin (each
//! block ends with an empty line), in etcdctl's exact line syntax:
//! `<target>("<key>") <op> "<value>"` for compares, `get|put|del ...` with
//! their flags for operations.

use std::io::BufRead;

use etcd_proto::etcdserverpb::{compare, request_op, Compare, RequestOp, TxnRequest};

use crate::cli::{parse_flags, Parsed};
use crate::exit::{exit, fail, EXIT_BAD_ARGS, EXIT_ERROR, EXIT_INVALID_INPUT};
use crate::global::{globals, must_connect};
use crate::gofmt::unquote_prefix;
use crate::kv::{del_request, get_request, put_request};
use crate::printer::out;
use crate::spec::ROOT;

/// Splits a line into words like etcdctl's `argify`: `"..."` (Go-unquoted),
/// `'...'`, or runs of non-space characters.
pub fn argify(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut raw: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            let mut j = i + 1;
            let mut closed = false;
            while j < b.len() {
                if b[j] == b'\\' && j + 1 < b.len() {
                    j += 2;
                    continue;
                }
                if b[j] == b'"' {
                    closed = true;
                    break;
                }
                j += 1;
            }
            if closed {
                raw.push(s[i..=j].to_string());
                i = j + 1;
                continue;
            }
            i += 1;
            continue;
        }
        if c == b'\'' {
            if let Some(end) = s[i + 1..].find('\'') {
                raw.push(s[i..i + 1 + end + 1].to_string());
                i = i + 1 + end + 1;
            } else {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let end = s[i..]
            .find(|ch: char| ch.is_whitespace())
            .map(|e| i + e)
            .unwrap_or(s.len());
        raw.push(s[i..end].to_string());
        i = end;
    }
    let n = raw.len();
    raw.into_iter()
        .map(|a| {
            if a.starts_with('\'') {
                // etcdctl slices with the number of words, not the word's
                // length; keep that behaviour (and its panic).
                if n < 2 || n - 1 > a.len() {
                    crate::exit::fail(2, "panic: runtime error: slice bounds out of range");
                }
                a[1..n - 1].to_string()
            } else if a.starts_with('"') {
                match unquote_prefix(&a) {
                    Some((v, _)) => String::from_utf8_lossy(&v).into_owned(),
                    None => fail(EXIT_INVALID_INPUT, "unexpected EOF"),
                }
            } else {
                a
            }
        })
        .collect()
}

fn read_line(r: &mut impl BufRead) -> String {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(_) if line.ends_with('\n') => line,
        Ok(_) => fail(EXIT_INVALID_INPUT, "EOF"),
        Err(e) => fail(EXIT_INVALID_INPUT, &e.to_string()),
    }
}

fn go_quote_str(s: &str) -> String {
    crate::gofmt::quote(s.as_bytes())
}

/// Parses one compare line.
pub fn parse_compare(line: &str) -> Result<Compare, String> {
    let Some((target, rest)) = line.split_once('(') else {
        return Err(format!("malformed comparison: {line}"));
    };
    // fmt.Sscanf(rest, "%q) %s %q", &key, &op, &val)
    let (mut key, mut op, mut val) = (String::new(), String::new(), String::new());
    let mut n = 0;
    let mut scan_err: Option<String> = None;
    'scan: {
        let Some((k, after)) = unquote_prefix(rest) else {
            scan_err = Some("unexpected EOF".into());
            break 'scan;
        };
        key = String::from_utf8_lossy(&k).into_owned();
        n = 1;
        let Some(after) = after.strip_prefix(')') else {
            scan_err = Some("input does not match format".into());
            break 'scan;
        };
        let after = after.trim_start();
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        if end == 0 {
            scan_err = Some("unexpected EOF".into());
            break 'scan;
        }
        op = after[..end].to_string();
        n = 2;
        match unquote_prefix(&after[end..]) {
            Some((v, _)) => {
                val = String::from_utf8_lossy(&v).into_owned();
                n = 3;
            }
            None => scan_err = Some("unexpected EOF".into()),
        }
    }
    if n != 3 {
        return Err(format!(
            "malformed comparison: {line}; got {target}({}) {op} {}",
            go_quote_str(&key),
            go_quote_str(&val)
        ));
    }
    if let Some(e) = scan_err {
        return Err(format!("malformed comparison: {line} ({e})"));
    }
    let result = match op.as_str() {
        "=" => compare::CompareResult::Equal,
        "!=" => compare::CompareResult::NotEqual,
        "<" => compare::CompareResult::Less,
        ">" => compare::CompareResult::Greater,
        _ => fail(2, "panic: Unknown result op"),
    } as i32;
    let int = |v: &str| {
        v.parse::<i64>()
            .map_err(|_| format!("invalid txn compare request: {line}"))
    };
    let (t, union) = match target {
        "ver" | "version" => (
            compare::CompareTarget::Version,
            compare::TargetUnion::Version(int(&val)?),
        ),
        "c" | "create" => (
            compare::CompareTarget::Create,
            compare::TargetUnion::CreateRevision(int(&val)?),
        ),
        "m" | "mod" => (
            compare::CompareTarget::Mod,
            compare::TargetUnion::ModRevision(int(&val)?),
        ),
        "val" | "value" => (
            compare::CompareTarget::Value,
            compare::TargetUnion::Value(val.into_bytes()),
        ),
        "lease" => fail(2, "panic: bad compare value"),
        _ => {
            return Err(format!(
                "malformed comparison: {line} (unknown target {target})"
            ))
        }
    };
    let key = if target == "lease" {
        Vec::new()
    } else {
        key.into_bytes()
    };
    Ok(Compare {
        result,
        target: t as i32,
        key,
        range_end: Vec::new(),
        target_union: Some(union),
    })
}

/// Parses one operation line (`get ...`, `put ...`, `del ...`).
pub fn parse_op(line: &str) -> Result<RequestOp, String> {
    let args = argify(line);
    if args.len() < 2 {
        return Err(format!("invalid txn compare request: {line}"));
    }
    let bad = || format!("invalid txn request: {line}");
    let cmd = ROOT
        .subs
        .iter()
        .find(|c| matches!(c.name(), "get" | "put" | "del") && c.name() == args[0])
        .ok_or_else(bad)?;
    let p: Parsed = parse_flags(&[cmd], &args[1..]).map_err(|_| bad())?;
    let req = match cmd.name() {
        "get" => request_op::Request::RequestRange(get_request(&p)),
        "put" => request_op::Request::RequestPut(put_request(&p, false)),
        _ => request_op::Request::RequestDeleteRange(del_request(&p)),
    };
    Ok(RequestOp { request: Some(req) })
}

fn read_block<T>(r: &mut impl BufRead, parse: impl Fn(&str) -> Result<T, String>) -> Vec<T> {
    let mut out = Vec::new();
    loop {
        let line = read_line(r);
        let line = line.trim();
        if line.is_empty() {
            return out;
        }
        match parse(line) {
            Ok(v) => out.push(v),
            Err(e) => fail(EXIT_INVALID_INPUT, &e),
        }
    }
}

/// `etcdctl txn`.
pub async fn txn(p: &mut Parsed) {
    if !p.args.is_empty() {
        fail(EXIT_BAD_ARGS, "txn command does not accept argument");
    }
    let interactive = p.bool("interactive");
    let g = globals(p);
    let c = must_connect(&g, crate::exit::EXIT_BAD_CONNECTION).await;
    let stdin = std::io::stdin();
    let mut r = stdin.lock();
    let prompt = |s: &str| {
        if interactive {
            out(&format!("{s}\n"));
        }
    };
    prompt("compares:");
    let compare = read_block(&mut r, parse_compare);
    prompt("success requests (get, put, del):");
    let success = read_block(&mut r, parse_op);
    prompt("failure requests (get, put, del):");
    let failure = read_block(&mut r, parse_op);
    let resp = c
        .txn(TxnRequest {
            compare,
            success,
            failure,
        })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().txn(&resp);
    let _ = exit;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_parse() {
        let c = parse_compare("mod(\"key1\") > \"0\"").unwrap();
        assert_eq!(c.key, b"key1");
        assert_eq!(c.target_union, Some(compare::TargetUnion::ModRevision(0)));
        assert!(parse_compare("foo(\"k\") = \"1\"")
            .unwrap_err()
            .contains("unknown target foo"));
    }

    #[test]
    fn argify_quotes() {
        assert_eq!(argify("put k \"a b\""), vec!["put", "k", "a b"]);
    }
}
