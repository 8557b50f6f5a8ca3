//! `member add|remove|update|list|promote`.

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::global::{globals, must_connect};
use crate::gofmt::quote;
use crate::printer::{out, Format};

fn member_id(p: &Parsed) -> u64 {
    if p.args.len() != 1 {
        fail(EXIT_BAD_ARGS, "member ID is not provided");
    }
    let s = &p.args[0];
    u64::from_str_radix(s, 16).unwrap_or_else(|_| {
        fail(
            EXIT_BAD_ARGS,
            &format!("bad member ID arg (strconv.ParseUint: parsing {s:?}: invalid syntax), expecting ID in Hex"),
        )
    })
}

/// `member add <name> --peer-urls=... [--learner]`.
pub async fn add(p: &mut Parsed) {
    if p.args.is_empty() {
        fail(EXIT_BAD_ARGS, "member name not provided");
    }
    if p.args.len() > 1 {
        let mut ev = String::from("too many arguments");
        for s in &p.args {
            if s.to_lowercase().starts_with("http") {
                ev.push_str(&format!(", did you mean --peer-urls={s}"));
            }
        }
        fail(EXIT_BAD_ARGS, &ev);
    }
    let name = p.args[0].clone();
    let peer_urls = p.string("peer-urls");
    if peer_urls.is_empty() {
        fail(EXIT_BAD_ARGS, "member peer urls not provided");
    }
    let urls: Vec<String> = peer_urls.split(',').map(str::to_string).collect();
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .member_add(urls, p.bool("learner"))
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().member_add(&resp);
    if g.format == Format::Simple {
        let new_id = resp.member.as_ref().map(|m| m.id).unwrap_or(0);
        let mut conf = Vec::new();
        for m in &resp.members {
            for u in &m.peer_ur_ls {
                let n = if m.id == new_id {
                    name.as_str()
                } else {
                    m.name.as_str()
                };
                conf.push(format!("{n}={u}"));
            }
        }
        out(&format!(
            "\nETCD_NAME={}\nETCD_INITIAL_CLUSTER={}\nETCD_INITIAL_ADVERTISE_PEER_URLS={}\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n",
            quote(name.as_bytes()),
            quote(conf.join(",").as_bytes()),
            quote(peer_urls.as_bytes())
        ));
    }
}

/// `member remove <id>`.
pub async fn remove(p: &mut Parsed) {
    let id = member_id(p);
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .member_remove(id)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().member_remove(id, &resp);
}

/// `member update <id> --peer-urls=...`.
pub async fn update(p: &mut Parsed) {
    let id = member_id(p);
    let peer_urls = p.string("peer-urls");
    if peer_urls.is_empty() {
        fail(EXIT_BAD_ARGS, "member peer urls not provided");
    }
    let urls = peer_urls.split(',').map(str::to_string).collect();
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .member_update(id, urls)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().member_update(id, &resp);
}

/// `member list`.
pub async fn list(p: &mut Parsed) {
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .member_list()
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().member_list(&resp);
}

/// `member promote <id>`.
pub async fn promote(p: &mut Parsed) {
    let id = member_id(p);
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .member_promote(id)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().member_promote(id, &resp);
}
