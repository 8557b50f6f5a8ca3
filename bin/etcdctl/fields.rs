//! The `-w fields` format: one `"Name" : value` line per field, strings and
//! bytes Go-quoted (`%q`), numbers and booleans as Go prints them.

use etcd_proto::etcdserverpb::*;
use etcd_proto::mvccpb::KeyValue;

use crate::gofmt::{quote, string_slice};
use crate::printer::{alarm_name, out, EpHealth};

fn kv(pfx: &str, kv: &KeyValue) {
    out(&format!(
        "\"{pfx}Key\" : {}\n\"{pfx}CreateRevision\" : {}\n\"{pfx}ModRevision\" : {}\n\"{pfx}Version\" : {}\n\"{pfx}Value\" : {}\n\"{pfx}Lease\" : {}\n",
        quote(&kv.key),
        kv.create_revision,
        kv.mod_revision,
        kv.version,
        quote(&kv.value),
        kv.lease
    ));
}

/// The four header lines.
pub fn hdr(h: &Option<ResponseHeader>) {
    let h = (*h).unwrap_or_default();
    out(&format!(
        "\"ClusterID\" : {}\n\"MemberID\" : {}\n\"Revision\" : {}\n\"RaftTerm\" : {}\n",
        h.cluster_id, h.member_id, h.revision, h.raft_term
    ));
}

/// `get`.
pub fn get(r: &RangeResponse) {
    hdr(&r.header);
    r.kvs.iter().for_each(|x| kv("", x));
    out(&format!("\"More\" : {}\n\"Count\" : {}\n", r.more, r.count));
}

/// `put`.
pub fn put(r: &PutResponse) {
    hdr(&r.header);
    if let Some(p) = &r.prev_kv {
        kv("Prev", p);
    }
}

/// `del`.
pub fn del(r: &DeleteRangeResponse) {
    hdr(&r.header);
    out(&format!("\"Deleted\" : {}\n", r.deleted));
    r.prev_kvs.iter().for_each(|x| kv("Prev", x));
}

/// `txn`.
pub fn txn(r: &TxnResponse) {
    use response_op::Response;
    hdr(&r.header);
    out(&format!("\"Succeeded\" : {}\n", r.succeeded));
    for op in &r.responses {
        match &op.response {
            Some(Response::ResponseDeleteRange(x)) => del(x),
            Some(Response::ResponsePut(x)) => put(x),
            Some(Response::ResponseRange(x)) => get(x),
            other => out(&format!(
                "\"Unknown\" : {}\n",
                quote(format!("{other:?}").as_bytes())
            )),
        }
    }
}

/// One watch response.
pub fn watch(r: &WatchResponse) {
    hdr(&Some(r.header.unwrap_or_default()));
    for e in &r.events {
        out(if e.r#type == 1 {
            "\"Type\" : DELETE\n"
        } else {
            "\"Type\" : PUT\n"
        });
        if let Some(p) = &e.prev_kv {
            kv("Prev", p);
        }
        kv("", &e.kv.clone().unwrap_or_default());
    }
}

/// `lease grant`.
pub fn grant(r: &LeaseGrantResponse) {
    hdr(&r.header);
    out(&format!("\"ID\" : {}\n\"TTL\" : {}\n", r.id, r.ttl));
}

/// `lease keep-alive`.
pub fn keep_alive(r: &LeaseKeepAliveResponse) {
    hdr(&r.header);
    out(&format!("\"ID\" : {}\n\"TTL\" : {}\n", r.id, r.ttl));
}

/// `lease timetolive`.
pub fn time_to_live(r: &LeaseTimeToLiveResponse) {
    hdr(&r.header);
    out(&format!(
        "\"ID\" : {}\n\"TTL\" : {}\n\"GrantedTTL\" : {}\n",
        r.id, r.ttl, r.granted_ttl
    ));
    for k in &r.keys {
        out(&format!("\"Key\" : {}\n", quote(k)));
    }
}

/// `lease list`.
pub fn leases(r: &LeaseLeasesResponse) {
    hdr(&r.header);
    for l in &r.leases {
        out(&format!("\"ID\" : {}\n", l.id));
    }
}

/// `member list`.
pub fn member_list(r: &MemberListResponse) {
    hdr(&r.header);
    for m in &r.members {
        let mut s = format!(
            "\"ID\" : {}\n\"Name\" : {}\n",
            m.id,
            quote(m.name.as_bytes())
        );
        for u in &m.peer_ur_ls {
            s.push_str(&format!("\"PeerURL\" : {}\n", quote(u.as_bytes())));
        }
        for u in &m.client_ur_ls {
            s.push_str(&format!("\"ClientURL\" : {}\n", quote(u.as_bytes())));
        }
        s.push_str(&format!("\"IsLearner\" : {}\n\n", m.is_learner));
        out(&s);
    }
}

/// `endpoint health`.
pub fn endpoint_health(hs: &[EpHealth]) {
    for h in hs {
        out(&format!(
            "\"Endpoint\" : {}\n\"Health\" : {}\n\"Took\" : {}\n\"Error\" : {}\n\n",
            quote(h.ep.as_bytes()),
            h.health,
            h.took,
            h.error
        ));
    }
}

/// `endpoint status`.
pub fn endpoint_status(st: &[(String, StatusResponse)]) {
    for (ep, r) in st {
        hdr(&r.header);
        out(&format!(
            "\"Version\" : {}\n\"DBSize\" : {}\n\"Leader\" : {}\n\"IsLearner\" : {}\n\"RaftIndex\" : {}\n\"RaftTerm\" : {}\n\"RaftAppliedIndex\" : {}\n\"Errors\" : {}\n\"Endpoint\" : {}\n\n",
            quote(r.version.as_bytes()),
            r.db_size,
            r.leader,
            r.is_learner,
            r.raft_index,
            r.raft_term,
            r.raft_applied_index,
            string_slice(&r.errors),
            quote(ep.as_bytes())
        ));
    }
}

/// `endpoint hashkv`.
pub fn endpoint_hashkv(hs: &[(String, HashKvResponse)]) {
    for (ep, r) in hs {
        hdr(&r.header);
        out(&format!(
            "\"Endpoint\" : {}\n\"Hash\" : {}\n\n",
            quote(ep.as_bytes()),
            r.hash
        ));
    }
}

/// `alarm list`.
pub fn alarm(r: &AlarmResponse) {
    hdr(&r.header);
    for a in &r.alarms {
        out(&format!(
            "\"MemberID\" : {}\n\"AlarmType\" : {}\n\n",
            a.member_id,
            alarm_name(a.alarm)
        ));
    }
}

/// `role get`.
pub fn role_get(r: &AuthRoleGetResponse) {
    hdr(&r.header);
    for p in &r.perm {
        let t = match p.perm_type {
            1 => "WRITE",
            2 => "READWRITE",
            _ => "READ",
        };
        out(&format!(
            "\"PermType\" :  {t}\n\"Key\" : {}\n\"RangeEnd\" : {}\n",
            quote(&p.key),
            quote(&p.range_end)
        ));
    }
}

/// `role list` style: header then `"Roles" : "a" "b"`.
pub fn name_list(label: &str, h: &Option<ResponseHeader>, names: &[String]) {
    hdr(h);
    let mut s = format!("\"{label}\" :");
    for n in names {
        s.push(' ');
        s.push_str(&quote(n.as_bytes()));
    }
    s.push('\n');
    out(&s);
}
