//! `member list|add|remove|update` over `/v2/members` and
//! `cluster-health` (each member's client URLs probed at `/health`),
//! with etcdctl's messages and exit codes.

use serde_json::Value;

use super::client::{Client, Error};
use super::http::Request;
use super::{Ctx, EXIT_CLUSTER_NOT_HEALTHY, EXIT_SERVER_ERROR};

/// A member as `/v2/members` describes it.
#[derive(Clone, Debug, Default)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn member(v: &Value) -> Member {
    Member {
        id: v
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        name: v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        peer_urls: strings(v, "peerURLs"),
        client_urls: strings(v, "clientURLs"),
    }
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

fn json_err(e: serde_json::Error) -> Error {
    Error::Other(e.to_string())
}

fn unexpected(status: u16) -> Error {
    Error::Other(format!("unexpected status code {status}"))
}

/// `GET /v2/members`.
pub async fn list(c: &mut Client) -> Result<Vec<Member>, Error> {
    let r = c
        .call(request("GET", "/v2/members".into(), None), false)
        .await?;
    if r.status != 200 {
        return Err(unexpected(r.status));
    }
    let v: Value = serde_json::from_slice(&r.body).map_err(json_err)?;
    Ok(v.get("members")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(member).collect())
        .unwrap_or_default())
}

async fn leader(c: &mut Client) -> Result<Member, Error> {
    let r = c
        .call(request("GET", "/v2/members/leader".into(), None), false)
        .await?;
    if r.status != 200 {
        return Err(unexpected(r.status));
    }
    let v: Value = serde_json::from_slice(&r.body).map_err(json_err)?;
    Ok(member(&v))
}

/// The `message` of a members error body.
fn members_error(body: &[u8]) -> Error {
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

/// Go's `types.NewURLs` checks on peer URLs.
fn check_urls(urls: &[String]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for u in urls {
        let u = u.trim();
        let Some((scheme, rest)) = u.split_once("://") else {
            return Err(Error::Other(format!(
                "URL scheme must be http, https, unix, or unixs: {u}"
            )));
        };
        if !["http", "https", "unix", "unixs"].contains(&scheme) {
            return Err(Error::Other(format!(
                "URL scheme must be http, https, unix, or unixs: {u}"
            )));
        }
        let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
        if !host.contains(':') || host.ends_with(':') {
            return Err(Error::Other(format!(
                "URL address does not have the form \"host:port\": {u}"
            )));
        }
        if !path.is_empty() {
            return Err(Error::Other(format!("URL must not contain a path: {u}")));
        }
        out.push(u.to_string());
    }
    out.sort();
    Ok(out)
}

fn peer_body(urls: &[String]) -> String {
    let list: Vec<String> = urls
        .iter()
        .map(|u| crate::gofmt::json_string(u.as_bytes()))
        .collect();
    format!("{{\"peerURLs\":[{}]}}", list.join(","))
}

/// `etcdctl member <sub>`.
pub async fn run(ctx: &Ctx, sub: &str) {
    let args = &ctx.args;
    let wrong = match sub {
        "list" if !args.is_empty() => Some("No arguments accepted"),
        "add" if args.len() != 2 => Some("Provide a name and a single member peerURL"),
        "remove" if args.len() != 1 => Some("Provide a single member ID"),
        "update" if args.len() != 2 => Some(
            "Provide an ID and a list of comma separated peerURL (0xabcd http://example.com,http://example1.com)",
        ),
        _ => None,
    };
    if let Some(m) = wrong {
        ctx.die(m);
    }
    let mut c = ctx.client().await;
    let die = |e: Error| -> ! { ctx.die(&e.to_string()) };
    match sub {
        "list" => {
            let ms = ctx.timed(list(&mut c)).await.unwrap_or_else(|e| die(e));
            let l = match ctx.timed(leader(&mut c)).await {
                Ok(l) => l,
                Err(e) => ctx.die(&format!("Failed to get leader:  {e}")),
            };
            for m in ms {
                if m.name.is_empty() {
                    println!("{}[unstarted]: peerURLs={}", m.id, m.peer_urls.join(","));
                } else {
                    println!(
                        "{}: name={} peerURLs={} clientURLs={} isLeader={}",
                        m.id,
                        m.name,
                        m.peer_urls.join(","),
                        m.client_urls.join(","),
                        m.id == l.id
                    );
                }
            }
        }
        "add" => add(ctx, &mut c).await,
        "remove" => remove(ctx, &mut c).await,
        "update" => {
            let urls: Vec<String> = args[1].split(',').map(str::to_string).collect();
            let urls = check_urls(&urls).unwrap_or_else(|e| die(e));
            let path = format!("/v2/members/{}", args[0]);
            let fut = c.call(request("PUT", path, Some(peer_body(&urls))), false);
            let r = ctx.timed(fut).await.unwrap_or_else(|e| die(e));
            match r.status {
                204 => println!("Updated member with ID {} in cluster", args[0]),
                404 | 409 => die(members_error(&r.body)),
                s => die(unexpected(s)),
            }
        }
        _ => {}
    }
}

async fn add(ctx: &Ctx, c: &mut Client) {
    let die = |e: Error| -> ! { ctx.die(&e.to_string()) };
    let (name, url) = (&ctx.args[0], &ctx.args[1]);
    let urls = check_urls(std::slice::from_ref(url)).unwrap_or_else(|e| die(e));
    let fut = c.call(
        request("POST", "/v2/members".into(), Some(peer_body(&urls))),
        false,
    );
    let r = ctx.timed(fut).await.unwrap_or_else(|e| die(e));
    let added = match r.status {
        201 => member(
            &serde_json::from_slice(&r.body)
                .map_err(json_err)
                .unwrap_or_else(|e| die(e)),
        ),
        409 => die(members_error(&r.body)),
        s => die(unexpected(s)),
    };
    println!("Added member named {name} with ID {} to cluster", added.id);
    let ms = ctx.timed(list(c)).await.unwrap_or_else(|e| die(e));
    let mut conf = Vec::new();
    for m in &ms {
        for u in &m.peer_urls {
            let n = if m.id == added.id { name } else { &m.name };
            conf.push(format!("{n}={u}"));
        }
    }
    let q = |s: &str| crate::gofmt::quote(s.as_bytes());
    println!();
    println!("ETCD_NAME={}", q(name));
    println!("ETCD_INITIAL_CLUSTER={}", q(&conf.join(",")));
    println!("ETCD_INITIAL_CLUSTER_STATE=\"existing\"");
}

async fn remove(ctx: &Ctx, c: &mut Client) {
    let id = &ctx.args[0];
    let ms = match ctx.timed(list(c)).await {
        Ok(ms) => ms,
        Err(e) => ctx.die(&format!(
            "Error while verifying ID against known members: {e}"
        )),
    };
    let mut found = false;
    for m in &ms {
        found |= &m.id == id;
        if &m.name == id {
            eprint!("Found a member named {0}; if this is correct, please use its ID, eg:\n\tetcdctl member remove {1}\n", m.name, m.id);
            eprint!("For more details, read the documentation at https://github.com/etcd-io/etcd/blob/master/Documentation/runtime-configuration.md#remove-a-member\n\n");
        }
    }
    if !found {
        eprint!("Couldn't find a member in the cluster with an ID of {id}.\n");
        crate::exit::exit(1);
    }
    let fut = c.call(request("DELETE", format!("/v2/members/{id}"), None), false);
    let err = match ctx.timed(fut).await {
        Ok(r) if r.status == 204 || r.status == 410 => None,
        Ok(r) => Some(unexpected(r.status)),
        Err(e) => Some(e),
    };
    if let Some(e) = err {
        eprint!("Received an error trying to remove member {id}: {e}");
        crate::exit::exit(1);
    }
    println!("Removed member {id} from cluster");
}

/// `etcdctl cluster-health`: one round (or every 10 s with `--forever`).
pub async fn cluster_health(ctx: &Ctx) {
    let mut c = ctx.client_no_sync();
    let ms = match list(&mut c).await {
        Ok(ms) => ms,
        Err(e) => {
            println!("cluster may be unhealthy: failed to list members");
            ctx.fail(EXIT_SERVER_ERROR, &e)
        }
    };
    let transport = {
        let mut t = ctx.transport();
        t.header_timeout = std::time::Duration::ZERO;
        t
    };
    loop {
        let mut healthy = 0;
        for m in &ms {
            if m.client_urls.is_empty() {
                println!(
                    "member {} is unreachable: no available published client urls",
                    m.id
                );
                continue;
            }
            let mut checked = false;
            for url in &m.client_urls {
                let r = request("GET", "/health".into(), None);
                let body = match transport.send(url, &r).await {
                    Ok(b) => b.body,
                    Err(e) => {
                        println!(
                            "failed to check the health of member {} on {url}: {e}",
                            m.id
                        );
                        continue;
                    }
                };
                let v: Value = match serde_json::from_slice(&body) {
                    Ok(v) => v,
                    Err(e) => {
                        println!(
                            "failed to check the health of member {} on {url}: {e}",
                            m.id
                        );
                        continue;
                    }
                };
                checked = true;
                let h = v.as_object().and_then(|o| {
                    o.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("health"))
                        .map(|(_, v)| v.clone())
                });
                if h == Some(Value::String("true".into())) || h == Some(Value::Bool(true)) {
                    println!("member {} is healthy: got healthy result from {url}", m.id);
                    healthy += 1;
                } else {
                    println!(
                        "member {} is unhealthy: got unhealthy result from {url}",
                        m.id
                    );
                }
                break;
            }
            if !checked {
                println!(
                    "member {} is unreachable: [{}] are all unreachable",
                    m.id,
                    m.client_urls.join(" ")
                );
            }
        }
        match healthy {
            h if h == ms.len() => println!("cluster is healthy"),
            0 => println!("cluster is unavailable"),
            _ => println!("cluster is degraded"),
        }
        if !ctx.flags.bool("forever") {
            crate::exit::exit(if healthy == ms.len() {
                0
            } else {
                EXIT_CLUSTER_NOT_HEALTHY
            });
        }
        print!("\nnext check after 10 second...\n\n");
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    }
}
