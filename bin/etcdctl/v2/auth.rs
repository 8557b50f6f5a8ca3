//! `user`, `role` and `auth enable|disable` over `/v2/auth/*`, printing
//! etcdctl's messages: server failures as the body's `message`, exit 1.

use serde_json::Value;

use super::client::{Client, Error};
use super::http::Request;
use super::Ctx;

/// Prompts on stdout and reads one line of stdin (etcdctl turns echo off
/// on a terminal; here the line is read as typed).
pub fn read_password(prompt: &str, ctx: &Ctx) -> String {
    use std::io::{BufRead, Write};
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        ctx.die("Error reading password");
    }
    println!();
    line.trim_end_matches(['\n', '\r']).to_string()
}

fn request(method: &'static str, path: String, body: Option<String>) -> Request {
    Request {
        method,
        path_query: path,
        body: body.map(|b| ("application/json", b)),
        basic_auth: None,
        wait: false,
    }
}

/// An auth error body's `message`, or the JSON decoding error.
fn auth_error(body: &[u8]) -> Error {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Error::Other(
            v.get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ),
        Err(_) => Error::Other(super::client::go_json_error(body).unwrap_or_default()),
    }
}

/// Sends and returns the JSON body when the status is one of `ok`.
async fn call(c: &mut Client, r: Request, ok: &[u16], plain_error: bool) -> Result<Value, Error> {
    let resp = c.call(r, false).await?;
    if !ok.contains(&resp.status) {
        if plain_error {
            return Err(Error::Other(format!(
                "unexpected status code {}",
                resp.status
            )));
        }
        return Err(auth_error(&resp.body));
    }
    Ok(serde_json::from_slice(&resp.body).unwrap_or(Value::Null))
}

fn names(v: &Value, list: &str, field: &str) -> Vec<String> {
    v.get(list)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| {
                    e.get(field)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `etcdctl auth enable|disable`.
pub async fn enable(ctx: &Ctx, on: bool) {
    if !ctx.args.is_empty() {
        ctx.die("No arguments accepted");
    }
    let mut c = ctx.client().await;
    let r = request(
        if on { "PUT" } else { "DELETE" },
        "/v2/auth/enable".into(),
        None,
    );
    if let Err(e) = ctx.timed(call(&mut c, r, &[200, 201], false)).await {
        ctx.die(&e.to_string());
    }
    println!("Authentication {}", if on { "Enabled" } else { "Disabled" });
}

fn one_name(ctx: &Ctx, what: &str) -> String {
    match ctx.args.as_slice() {
        [n] => n.clone(),
        _ => ctx.die(&format!("Please provide a {what}")),
    }
}

/// A user's roles as the Go client decodes them: names, or — when the
/// server sends role objects — one empty string per object (the failed
/// first decode) followed by their names.
fn user_roles(v: &Value) -> Vec<String> {
    let Some(a) = v.get("roles").and_then(Value::as_array) else {
        return Vec::new();
    };
    if a.iter().all(Value::is_string) {
        return a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
    }
    let mut out = vec![String::new(); a.len()];
    out.extend(names(v, "roles", "role"));
    out
}

/// `etcdctl user <sub>`.
pub async fn user(ctx: &Ctx, sub: &str) {
    let die = |e: Error| -> ! { ctx.die(&e.to_string()) };
    if sub == "list" {
        if !ctx.args.is_empty() {
            ctx.die("No arguments accepted");
        }
        let mut c = ctx.client().await;
        let r = request("GET", "/v2/auth/users".into(), None);
        let v = ctx
            .timed(call(&mut c, r, &[200], false))
            .await
            .unwrap_or_else(|e| die(e));
        for u in names(&v, "users", "user") {
            println!("{u}");
        }
        return;
    }
    let roles = ctx.flags.list("roles").to_vec();
    if (sub == "grant" || sub == "revoke") && roles.is_empty() {
        ctx.die("No roles specified; please use `--roles`");
    }
    let arg = one_name(ctx, "username");
    let mut c = ctx.client().await;
    let name = arg.split(':').next().unwrap_or("").to_string();
    let path = format!("/v2/auth/users/{name}");
    let js = |s: &str| crate::gofmt::json_string(s.as_bytes());
    let list = |v: &[String]| v.iter().map(|s| js(s)).collect::<Vec<_>>().join(",");
    let (r, ok): (Request, &[u16]) = match sub {
        "add" => {
            let pass = match arg.split_once(':') {
                Some((_, p)) => p.to_string(),
                None => read_password("New password: ", ctx),
            };
            let body = format!(
                "{{\"user\":{},\"password\":{},\"roles\":null}}",
                js(&name),
                js(&pass)
            );
            (request("PUT", path, Some(body)), &[200, 201])
        }
        "remove" => (request("DELETE", path, None), &[200, 201]),
        "get" => (request("GET", path, None), &[200]),
        "passwd" => {
            let pass = read_password("New password: ", ctx);
            let body = format!(
                "{{\"user\":{},\"password\":{},\"roles\":null}}",
                js(&name),
                js(&pass)
            );
            (request("PUT", path, Some(body)), &[200])
        }
        "grant" | "revoke" => {
            let body = format!(
                "{{\"user\":{},\"roles\":null,\"{sub}\":[{}]}}",
                js(&name),
                list(&roles)
            );
            (request("PUT", path, Some(body)), &[200])
        }
        _ => return,
    };
    let v = ctx
        .timed(call(&mut c, r, ok, false))
        .await
        .unwrap_or_else(|e| die(e));
    match sub {
        "add" => println!("User {name} created"),
        "remove" => println!("User {name} removed"),
        "passwd" => println!("Password updated"),
        "get" => {
            println!(
                "User: {}",
                v.get("user").and_then(Value::as_str).unwrap_or("")
            );
            println!("Roles: {}", user_roles(&v).join(" "));
        }
        _ => println!("User {name} updated"),
    }
}

/// A role's read and write paths.
fn perms(v: &Value) -> (Vec<String>, Vec<String>) {
    let get = |k: &str| {
        v.pointer(&format!("/permissions/kv/{k}"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    (get("read"), get("write"))
}

/// `etcdctl role <sub>`.
pub async fn role(ctx: &Ctx, sub: &str) {
    let die = |e: Error| -> ! { ctx.die(&e.to_string()) };
    if sub == "list" {
        if !ctx.args.is_empty() {
            ctx.die("No arguments accepted");
        }
        let mut c = ctx.client().await;
        let r = request("GET", "/v2/auth/roles".into(), None);
        let v = ctx
            .timed(call(&mut c, r, &[200], true))
            .await
            .unwrap_or_else(|e| die(e));
        for r in names(&v, "roles", "role") {
            println!("{r}");
        }
        return;
    }
    if sub == "grant" || sub == "revoke" {
        return grant_revoke(ctx, sub == "grant").await;
    }
    let name = one_name(ctx, "role name");
    let mut c = ctx.client().await;
    let path = format!("/v2/auth/roles/{name}");
    let js = crate::gofmt::json_string(name.as_bytes());
    match sub {
        "add" => {
            let get = request("GET", path.clone(), None);
            if ctx.timed(call(&mut c, get, &[200], false)).await.is_ok() {
                ctx.die(&format!("Role {name} already exists"));
            }
            let body = format!(
                "{{\"role\":{js},\"permissions\":{{\"kv\":{{\"read\":null,\"write\":null}}}}}}"
            );
            let r = request("PUT", path, Some(body));
            ctx.timed(call(&mut c, r, &[200, 201], false))
                .await
                .unwrap_or_else(|e| die(e));
            println!("Role {name} created");
        }
        "remove" => {
            let r = request("DELETE", path, None);
            ctx.timed(call(&mut c, r, &[200, 201], false))
                .await
                .unwrap_or_else(|e| die(e));
            println!("Role {name} removed");
        }
        "get" => {
            let r = request("GET", path, None);
            let v = ctx
                .timed(call(&mut c, r, &[200], false))
                .await
                .unwrap_or_else(|e| die(e));
            let (read, write) = perms(&v);
            println!(
                "Role: {}",
                v.get("role").and_then(Value::as_str).unwrap_or("")
            );
            println!("KV Read:");
            for p in read {
                println!("\t{p}");
            }
            println!("KV Write:");
            for p in write {
                println!("\t{p}");
            }
        }
        _ => {}
    }
}

async fn grant_revoke(ctx: &Ctx, grant: bool) {
    let die = |e: Error| -> ! { ctx.die(&e.to_string()) };
    let f = &ctx.flags;
    let path = f.str("path");
    if path.is_empty() {
        ctx.die("No path specified; please use `--path`");
    }
    let canon = etcd_gotext::canonical_url_path(path);
    if canon != path {
        ctx.die(&format!("Not canonical path; please use `--path={canon}`"));
    }
    let picked: Vec<bool> = vec![f.bool("read"), f.bool("write"), f.bool("readwrite")];
    if picked.iter().filter(|b| **b).count() != 1 {
        ctx.die("Please specify exactly one of --read, --write or --readwrite");
    }
    let name = one_name(ctx, "role name");
    let mut c = ctx.client().await;
    let url = format!("/v2/auth/roles/{name}");
    let current = ctx
        .timed(call(
            &mut c,
            request("GET", url.clone(), None),
            &[200],
            false,
        ))
        .await
        .unwrap_or_else(|e| die(e));
    let p = crate::gofmt::json_string(path.as_bytes());
    let (read, write) = match (f.bool("read"), f.bool("write")) {
        (true, _) => (format!("[{p}]"), "null".to_string()),
        (_, true) => ("null".to_string(), format!("[{p}]")),
        _ => (format!("[{p}]"), format!("[{p}]")),
    };
    let js = crate::gofmt::json_string(name.as_bytes());
    let field = if grant { "grant" } else { "revoke" };
    let body = format!(
        "{{\"role\":{js},\"permissions\":{{\"kv\":{{\"read\":null,\"write\":null}}}},\"{field}\":{{\"kv\":{{\"read\":{read},\"write\":{write}}}}}}}"
    );
    let new = ctx
        .timed(call(&mut c, request("PUT", url, Some(body)), &[200], false))
        .await
        .unwrap_or_else(|e| die(e));
    if perms(&new) == perms(&current) && new.get("role") == current.get("role") {
        print!(
            "Role unchanged; already {}",
            if grant { "granted" } else { "revoked" }
        );
    }
    println!("Role {name} updated");
}
