//! `alarm list|disarm`, `defrag`, `move-leader`: the Maintenance service
//! commands.

use etcd_proto::etcdserverpb::{alarm_request::AlarmAction, AlarmRequest, AlarmResponse};

use crate::cli::Parsed;
use crate::endpoint::endpoints_from_cluster;
use crate::exit::{exit, fail, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::global::{connect_to, globals, must_connect};
use crate::printer::out;

/// `alarm list`.
pub async fn alarm_list(p: &mut Parsed) {
    if !p.args.is_empty() {
        fail(EXIT_BAD_ARGS, "alarm list command accepts no arguments");
    }
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let req = AlarmRequest {
        action: AlarmAction::Get as i32,
        member_id: 0,
        alarm: 0,
    };
    let resp = c
        .alarm(req)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().alarm(&resp);
}

/// `alarm disarm`: lists the alarms, then deactivates each (as etcd's
/// client does); the answer carries the deactivated alarms and no header.
pub async fn alarm_disarm(p: &mut Parsed) {
    if !p.args.is_empty() {
        fail(EXIT_BAD_ARGS, "alarm disarm command accepts no arguments");
    }
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let list = c
        .alarm(AlarmRequest {
            action: AlarmAction::Get as i32,
            member_id: 0,
            alarm: 0,
        })
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    let mut ret = AlarmResponse::default();
    for a in list.alarms {
        let r = c
            .alarm(AlarmRequest {
                action: AlarmAction::Deactivate as i32,
                member_id: a.member_id,
                alarm: a.alarm,
            })
            .await
            .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
        ret.alarms.extend(r.alarms);
    }
    g.printer().alarm(&ret);
}

/// `defrag [--cluster]` (`--data-dir` is offline defragmentation, which
/// belongs to etcdutl).
pub async fn defrag(p: &mut Parsed) {
    if !p.string("data-dir").is_empty() {
        fail(
            EXIT_ERROR,
            "offline defragmentation (--data-dir) is done by etcdutl in etcd-rs",
        );
    }
    let g = globals(p);
    let mut failures = 0;
    for ep in endpoints_from_cluster(p, &g).await {
        let res = match connect_to(&g, vec![ep.clone()]).await {
            Ok(c) => c.defragment().await,
            Err(e) => Err(e),
        };
        match res {
            Ok(_) => out(&format!("Finished defragmenting etcd member[{ep}]\n")),
            Err(e) => {
                eprintln!("Failed to defragment etcd member[{ep}] ({e})");
                failures += 1;
            }
        }
    }
    if failures != 0 {
        exit(EXIT_ERROR);
    }
}

/// `move-leader <target id>`: finds the leader among the endpoints and asks
/// it to transfer leadership.
pub async fn move_leader(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(EXIT_BAD_ARGS, "move-leader command needs 1 argument");
    }
    let s = p.args[0].clone();
    let target = u64::from_str_radix(&s, 16).unwrap_or_else(|_| {
        fail(
            EXIT_BAD_ARGS,
            &format!("strconv.ParseUint: parsing {s:?}: invalid syntax"),
        )
    });
    let g = globals(p);
    for ep in &g.endpoints {
        let c = connect_to(&g, vec![ep.clone()])
            .await
            .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
        let st = c
            .status()
            .await
            .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
        let me = st.header.as_ref().map(|h| h.member_id).unwrap_or(0);
        if me == st.leader {
            let resp = c
                .move_leader(target)
                .await
                .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
            g.printer().move_leader(st.leader, target, &resp);
            return;
        }
    }
    fail(
        EXIT_BAD_ARGS,
        &format!(
            "no leader endpoint given at {}",
            crate::gofmt::string_slice(&g.endpoints)
        ),
    );
}
