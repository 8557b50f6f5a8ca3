//! `auth enable|disable`.

use etcd_proto::etcdserverpb::{
    AuthDisableRequest, AuthEnableRequest, AuthRoleAddRequest, AuthUserGrantRoleRequest,
};

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::global::{globals, must_connect};
use crate::printer::out;

/// `auth enable`: creates the root role and grants it to root when the
/// server asks for it, then enables auth.
pub async fn enable(p: &mut Parsed) {
    if !p.args.is_empty() {
        fail(
            EXIT_BAD_ARGS,
            "auth enable command does not accept any arguments",
        );
    }
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    loop {
        match c.auth_enable(AuthEnableRequest {}).await {
            Ok(_) => break,
            Err(e) if e.to_string() == "etcdserver: root user does not have root role" => {
                c.role_add(AuthRoleAddRequest {
                    name: "root".into(),
                })
                .await
                .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
                c.user_grant_role(AuthUserGrantRoleRequest {
                    user: "root".into(),
                    role: "root".into(),
                })
                .await
                .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
            }
            Err(e) => fail(EXIT_ERROR, &e.to_string()),
        }
    }
    out("Authentication Enabled\n");
}

/// `auth disable`.
pub async fn disable(p: &mut Parsed) {
    if !p.args.is_empty() {
        fail(
            EXIT_BAD_ARGS,
            "auth disable command does not accept any arguments",
        );
    }
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    c.auth_disable(AuthDisableRequest {})
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    out("Authentication Disabled\n");
}
