//! `user add|delete|get|list|passwd|grant-role|revoke-role`.

use std::io::BufRead;

use etcd_proto::etcdserverpb::*;

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::global::{globals, must_connect};
use crate::printer::out;

fn stdin_line() -> Option<String> {
    let mut l = String::new();
    match std::io::stdin().lock().read_line(&mut l) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(l.trim_end_matches(['\r', '\n']).to_string()),
    }
}

/// `fmt.Scanf("%s")`: the first whitespace-delimited word of stdin.
fn scan_word() -> String {
    stdin_line()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

fn read_password_interactive(name: &str) -> String {
    out(&format!("Password of {name}: "));
    let p1 = stdin_line().unwrap_or_else(|| fail(EXIT_BAD_ARGS, "failed to ask password: EOF"));
    if p1.is_empty() {
        fail(EXIT_BAD_ARGS, "empty password");
    }
    out(&format!("Type password of {name} again for confirmation: "));
    let p2 = stdin_line().unwrap_or_else(|| fail(EXIT_BAD_ARGS, "failed to ask password: EOF"));
    if p1 != p2 {
        fail(EXIT_BAD_ARGS, "given passwords are different");
    }
    p1
}

/// `user add`.
pub async fn add(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(
            EXIT_BAD_ARGS,
            "user add command requires user name as its argument",
        );
    }
    let arg = p.args[0].clone();
    let no_password = p.bool("no-password");
    let (user, password) = if no_password {
        (arg, String::new())
    } else if !p.string("new-user-password").is_empty() {
        (arg, p.string("new-user-password"))
    } else if let Some((u, pw)) = arg.split_once(':') {
        if u.is_empty() {
            fail(EXIT_BAD_ARGS, "empty user name is not allowed");
        }
        (u.to_string(), pw.to_string())
    } else if !p.bool("interactive") {
        (arg, scan_word())
    } else {
        let pw = read_password_interactive(&arg);
        (arg, pw)
    };
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .add_user(&user, &password, no_password)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer()
        .header_msg(&format!("User {user} created\n"), &resp.header, &resp);
}

/// `user delete`.
pub async fn delete(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(
            EXIT_BAD_ARGS,
            "user delete command requires user name as its argument",
        );
    }
    let name = p.args[0].clone();
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .user_delete(AuthUserDeleteRequest { name: name.clone() })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer()
        .header_msg(&format!("User {name} deleted\n"), &resp.header, &resp);
}

/// `user get [--detail]`.
pub async fn get(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(
            EXIT_BAD_ARGS,
            "user get command requires user name as its argument",
        );
    }
    let name = p.args[0].clone();
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .user_get(AuthUserGetRequest { name: name.clone() })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    let printer = g.printer();
    if p.bool("detail") {
        out(&format!("User: {name}\n"));
        for role in &resp.roles {
            out("\n");
            let r = c
                .role_get(AuthRoleGetRequest { role: role.clone() })
                .await
                .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
            printer.role_get(role, &r);
        }
    } else {
        printer.user_get(&name, &resp);
    }
}

/// `user list`.
pub async fn list(p: &mut Parsed) {
    if !p.args.is_empty() {
        fail(EXIT_BAD_ARGS, "user list command requires no arguments");
    }
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .user_list(AuthUserListRequest {})
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().user_list(&resp);
}

/// `user passwd`.
pub async fn passwd(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(
            EXIT_BAD_ARGS,
            "user passwd command requires user name as its argument",
        );
    }
    let name = p.args[0].clone();
    let password = if p.bool("interactive") {
        read_password_interactive(&name)
    } else {
        scan_word()
    };
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .user_change_password(AuthUserChangePasswordRequest {
            name,
            password,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer()
        .header_msg("Password updated\n", &resp.header, &resp);
}

/// `user grant-role`.
pub async fn grant_role(p: &mut Parsed) {
    if p.args.len() != 2 {
        fail(
            EXIT_BAD_ARGS,
            "user grant command requires user name and role name as its argument",
        );
    }
    let (user, role) = (p.args[0].clone(), p.args[1].clone());
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .user_grant_role(AuthUserGrantRoleRequest {
            user: user.clone(),
            role: role.clone(),
        })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().header_msg(
        &format!("Role {role} is granted to user {user}\n"),
        &resp.header,
        &resp,
    );
}

/// `user revoke-role`.
pub async fn revoke_role(p: &mut Parsed) {
    if p.args.len() != 2 {
        fail(
            EXIT_BAD_ARGS,
            "user revoke-role requires user name and role name as its argument",
        );
    }
    let (user, role) = (p.args[0].clone(), p.args[1].clone());
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .user_revoke_role(AuthUserRevokeRoleRequest {
            name: user.clone(),
            role: role.clone(),
        })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().header_msg(
        &format!("Role {role} is revoked from user {user}\n"),
        &resp.header,
        &resp,
    );
}
