//! The key commands: get, ls, set, mk, mkdir, setdir, update, updatedir,
//! rm, rmdir. Each builds etcdctl's client first (so an unreachable
//! cluster is reported before a missing argument, as etcdctl does), then
//! checks its arguments, sends one keys request under `--total-timeout`
//! and prints the reply.

use std::io::Read;

use super::client::{encode_values, path_escape, Client, Error};
use super::format::{decode, print_response_key, KeysResponse};
use super::http::Request;
use super::{Ctx, EXIT_BAD_ARGS, EXIT_SERVER_ERROR};

/// `/v2/keys<key>?<query>`, canonicalised and escaped like the Go client.
pub fn keys_path(key: &str, query: &[(&str, String)]) -> String {
    let key = if key.is_empty() || key.starts_with('/') {
        key.to_string()
    } else {
        format!("/{key}")
    };
    let p = path_escape(&etcd_gotext::canonical_url_path(&format!("/v2/keys{key}")));
    if query.is_empty() {
        p
    } else {
        format!("{p}?{}", encode_values(query))
    }
}

fn req(method: &'static str, path_query: String, form: Option<String>) -> Request {
    Request {
        method,
        path_query,
        body: form.map(|f| ("application/x-www-form-urlencoded", f)),
        basic_auth: None,
        wait: false,
    }
}

/// Sends a keys request and decodes the reply.
pub async fn call(c: &mut Client, r: Request, one_shot: bool) -> Result<KeysResponse, Error> {
    let resp = c.call(r, one_shot).await?;
    decode(&resp)
}

/// How a set treats an existing node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PrevExist {
    Ignore,
    Yes,
    No,
}

struct Set<'a> {
    key: &'a str,
    value: &'a str,
    ttl_s: i64,
    prev_value: &'a str,
    prev_index: i64,
    prev_exist: PrevExist,
    dir: bool,
}

fn set_request(s: &Set) -> Request {
    let mut q: Vec<(&str, String)> = Vec::new();
    let mut form: Vec<(&str, String)> = Vec::new();
    if s.dir {
        q.push(("dir", "true".into()));
    } else {
        if !s.prev_value.is_empty() {
            q.push(("prevValue", s.prev_value.into()));
        }
        form.push(("value", s.value.into()));
    }
    if s.prev_index != 0 {
        q.push(("prevIndex", (s.prev_index as u64).to_string()));
    }
    match s.prev_exist {
        PrevExist::Ignore => {}
        PrevExist::Yes => q.push(("prevExist", "true".into())),
        PrevExist::No => q.push(("prevExist", "false".into())),
    }
    if s.ttl_s > 0 {
        form.push(("ttl", s.ttl_s.to_string()));
    }
    req("PUT", keys_path(s.key, &q), Some(encode_values(&form)))
}

/// Argument `i`, or all of stdin (etcdctl's `argOrStdin`).
fn arg_or_stdin(ctx: &Ctx, i: usize) -> Option<String> {
    if let Some(a) = ctx.args.get(i) {
        return Some(a.clone());
    }
    let mut s = String::new();
    match std::io::stdin().read_to_string(&mut s) {
        Ok(_) if !s.is_empty() => Some(s),
        _ => None,
    }
}

fn key_arg(ctx: &Ctx) -> String {
    match ctx.args.first() {
        Some(k) => k.clone(),
        None => ctx.fail(EXIT_BAD_ARGS, &Error::Other("key required".into())),
    }
}

/// Runs key command `name`.
pub async fn run(ctx: &Ctx, name: &str) {
    let mut c = ctx.client().await;
    let f = &ctx.flags;
    let out = ctx.output();
    let (request, one_shot) = match name {
        "get" | "ls" => {
            let key = if name == "get" {
                key_arg(ctx)
            } else {
                ctx.args.first().cloned().unwrap_or("/".into())
            };
            let q = vec![
                ("recursive", f.bool("recursive").to_string()),
                ("sorted", f.bool("sort").to_string()),
                ("quorum", f.bool("quorum").to_string()),
            ];
            (req("GET", keys_path(&key, &q), None), false)
        }
        "set" | "mk" | "update" => {
            let key = key_arg(ctx);
            let Some(value) = arg_or_stdin(ctx, 1) else {
                ctx.fail(EXIT_BAD_ARGS, &Error::Other("value required".into()))
            };
            if name == "mk" && f.bool("in-order") {
                let mut form = vec![("value", value.clone())];
                if f.int("ttl") > 0 {
                    form.push(("ttl", f.int("ttl").to_string()));
                }
                (
                    req("POST", keys_path(&key, &[]), Some(encode_values(&form))),
                    false,
                )
            } else {
                let prev_exist = match name {
                    "mk" => PrevExist::No,
                    "update" => PrevExist::Yes,
                    _ => PrevExist::Ignore,
                };
                let s = Set {
                    key: &key,
                    value: &value,
                    ttl_s: f.int("ttl"),
                    prev_value: f.str("swap-with-value"),
                    prev_index: f.int("swap-with-index"),
                    prev_exist,
                    dir: false,
                };
                (set_request(&s), prev_exist == PrevExist::No)
            }
        }
        "mkdir" | "setdir" | "updatedir" => {
            let key = key_arg(ctx);
            let prev_exist = match name {
                "mkdir" => PrevExist::No,
                "updatedir" => PrevExist::Yes,
                _ => PrevExist::Ignore,
            };
            let s = Set {
                key: &key,
                value: "",
                ttl_s: f.int("ttl"),
                prev_value: "",
                prev_index: 0,
                prev_exist,
                dir: true,
            };
            (set_request(&s), prev_exist == PrevExist::No)
        }
        "rm" | "rmdir" => {
            let key = key_arg(ctx);
            let mut q: Vec<(&str, String)> = Vec::new();
            if !f.str("with-value").is_empty() {
                q.push(("prevValue", f.str("with-value").into()));
            }
            if f.int("with-index") != 0 {
                q.push(("prevIndex", (f.int("with-index") as u64).to_string()));
            }
            if name == "rmdir" || f.bool("dir") {
                q.push(("dir", "true".into()));
            }
            if f.bool("recursive") {
                q.push(("recursive", "true".into()));
            }
            let mut r = req("DELETE", keys_path(&key, &q), None);
            r.body = None;
            (r, true)
        }
        _ => return,
    };
    let resp = match ctx.timed(call(&mut c, request, one_shot)).await {
        Ok(r) => r,
        Err(e) => ctx.fail(EXIT_SERVER_ERROR, &e),
    };
    match name {
        "get" if resp.node.dir => ctx.die(&format!("{}: is a directory", resp.node.key)),
        "ls" if out == "simple" => {
            if !resp.node.dir {
                println!("{}", resp.node.key);
            }
            for n in resp.node.nodes.iter().flatten() {
                print_tree(n, f.bool("p"));
            }
        }
        "mkdir" | "setdir" | "updatedir" if out == "simple" => {}
        "rm" | "rmdir" if resp.node.dir && out == "simple" => {}
        _ => print_response_key(&resp, out),
    }
}

fn print_tree(n: &super::format::Node, slash: bool) {
    if n.dir && slash {
        println!("{}/", n.key);
    } else {
        println!("{}", n.key);
    }
    for c in n.nodes.iter().flatten() {
        print_tree(c, slash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_request_encodes_like_the_go_client() {
        let r = set_request(&Set {
            key: "a b",
            value: "v&w",
            ttl_s: 5,
            prev_value: "",
            prev_index: 3,
            prev_exist: PrevExist::No,
            dir: false,
        });
        assert_eq!(r.path_query, "/v2/keys/a%20b?prevExist=false&prevIndex=3");
        assert_eq!(r.body.unwrap().1, "ttl=5&value=v%26w");
    }
}
