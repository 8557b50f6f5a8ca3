//! `role add|delete|get|list|grant-permission|revoke-permission`.

use etcd_client::prefix_range_end;
use etcd_proto::authpb::Permission;
use etcd_proto::etcdserverpb::*;

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::global::{globals, must_connect};

fn perm_type_name(t: i32) -> &'static str {
    match t {
        1 => "WRITE",
        2 => "READWRITE",
        _ => "READ",
    }
}

/// The simple format of `role get`.
pub fn role_get_text(role: &str, r: &AuthRoleGetResponse) -> String {
    let mut s = format!("Role {role}\nKV Read:\n");
    let range = |p: &Permission| {
        let key = String::from_utf8_lossy(&p.key).into_owned();
        let end = String::from_utf8_lossy(&p.range_end).into_owned();
        let mut t = if end != "\x00" {
            format!("\t[{key}, {end})")
        } else {
            format!("\t[{key}, <open ended>")
        };
        if prefix_range_end(&p.key) == p.range_end {
            t.push_str(&format!(" (prefix {key})"));
        }
        t.push('\n');
        t
    };
    let line = |p: &Permission| {
        if p.range_end.is_empty() {
            format!("\t{}\n", String::from_utf8_lossy(&p.key))
        } else {
            range(p)
        }
    };
    for p in &r.perm {
        if p.perm_type == 0 || p.perm_type == 2 {
            s.push_str(&line(p));
        }
    }
    s.push_str("KV Write:\n");
    for p in &r.perm {
        if p.perm_type == 1 || p.perm_type == 2 {
            s.push_str(&line(p));
        }
    }
    s
}

fn one_arg(p: &Parsed, msg: &str) -> String {
    if p.args.len() != 1 {
        fail(EXIT_BAD_ARGS, msg);
    }
    p.args[0].clone()
}

/// `role add`.
pub async fn add(p: &mut Parsed) {
    let name = one_arg(p, "role add command requires role name as its argument");
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .role_add(AuthRoleAddRequest { name: name.clone() })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer()
        .header_msg(&format!("Role {name} created\n"), &resp.header, &resp);
}

/// `role delete`.
pub async fn delete(p: &mut Parsed) {
    let name = one_arg(p, "role delete command requires role name as its argument");
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .role_delete(AuthRoleDeleteRequest { role: name.clone() })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer()
        .header_msg(&format!("Role {name} deleted\n"), &resp.header, &resp);
}

/// `role get`.
pub async fn get(p: &mut Parsed) {
    let name = one_arg(p, "role get command requires role name as its argument");
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .role_get(AuthRoleGetRequest { role: name.clone() })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().role_get(&name, &resp);
}

/// `role list`.
pub async fn list(p: &mut Parsed) {
    if !p.args.is_empty() {
        fail(EXIT_BAD_ARGS, "role list command requires no arguments");
    }
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .role_list(AuthRoleListRequest {})
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().role_list(&resp);
}

/// etcdctl's `permRange`: key and range end from arguments and flags.
fn perm_range(p: &Parsed, args: &[String]) -> (Vec<u8>, Vec<u8>) {
    let (prefix, from_key) = (p.bool("prefix"), p.bool("from-key"));
    let key = args[0].as_bytes().to_vec();
    if key.is_empty() {
        if prefix && from_key {
            fail(
                EXIT_BAD_ARGS,
                "--from-key and --prefix flags are mutually exclusive",
            );
        }
        let end = if prefix || from_key {
            vec![0]
        } else {
            Vec::new()
        };
        return (vec![0], end);
    }
    let end = if args.len() == 1 {
        if prefix {
            if from_key {
                fail(
                    EXIT_BAD_ARGS,
                    "--from-key and --prefix flags are mutually exclusive",
                );
            }
            prefix_range_end(&key)
        } else if from_key {
            vec![0]
        } else {
            Vec::new()
        }
    } else if prefix {
        fail(
            EXIT_BAD_ARGS,
            "unexpected endkey argument with --prefix flag",
        )
    } else if from_key {
        fail(
            EXIT_BAD_ARGS,
            "unexpected endkey argument with --from-key flag",
        )
    } else {
        args[1].as_bytes().to_vec()
    };
    (key, end)
}

/// `role grant-permission`.
pub async fn grant_permission(p: &mut Parsed) {
    if p.args.len() < 3 {
        fail(
            EXIT_BAD_ARGS,
            "role grant command requires role name, permission type, and key [endkey] as its argument",
        );
    }
    let perm_type = match p.args[1].to_uppercase().as_str() {
        "READ" => 0,
        "WRITE" => 1,
        "READWRITE" => 2,
        _ => fail(
            EXIT_BAD_ARGS,
            &format!("invalid permission type: {}", p.args[1]),
        ),
    };
    let role = p.args[0].clone();
    let (key, range_end) = perm_range(p, &p.args[2..]);
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .grant_permission(
            &role,
            Permission {
                perm_type,
                key,
                range_end,
            },
        )
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer()
        .header_msg(&format!("Role {role} updated\n"), &resp.header, &resp);
}

/// `role revoke-permission`.
pub async fn revoke_permission(p: &mut Parsed) {
    if p.args.len() < 2 {
        fail(
            EXIT_BAD_ARGS,
            "role revoke-permission command requires role name and key [endkey] as its argument",
        );
    }
    let role = p.args[0].clone();
    let key_arg = p.args[1].clone();
    let (key, range_end) = perm_range(p, &p.args[1..]);
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .role_revoke_permission(AuthRoleRevokePermissionRequest {
            role: role.clone(),
            key,
            range_end: range_end.clone(),
        })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    let end = String::from_utf8_lossy(&range_end).into_owned();
    let msg = if end.is_empty() {
        format!("Permission of key {key_arg} is revoked from role {role}\n")
    } else if end != "\x00" {
        format!("Permission of range [{key_arg}, {end}) is revoked from role {role}\n")
    } else {
        format!("Permission of range [{key_arg}, <open ended> is revoked from role {role}\n")
    };
    g.printer().header_msg(&msg, &resp.header, &resp);
    let _ = perm_type_name;
}
