//! Output formats (`-w simple|json|fields|protobuf|table`) and the simple
//! format itself, mirroring etcdctl's printer.go / printer_simple.go: which
//! format supports which response, and the exact text of each.

use std::io::Write;

use etcd_proto::etcdserverpb::*;
use etcd_proto::mvccpb::KeyValue;
use prost::Message;

use crate::exit::{fail, EXIT_BAD_FEATURE};
use crate::{fields, json, table};

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Human-readable lines.
    Simple,
    /// Go `encoding/json` of the response.
    Json,
    /// `"Field" : value` lines.
    Fields,
    /// Raw protobuf bytes.
    Protobuf,
    /// ASCII tables (only for member list and endpoint commands).
    Table,
}

impl Format {
    /// Parses `--write-out`.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "simple" => Format::Simple,
            "json" => Format::Json,
            "fields" => Format::Fields,
            "protobuf" => Format::Protobuf,
            "table" => Format::Table,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Format::Simple => "simple",
            Format::Json => "json",
            Format::Fields => "fields",
            Format::Protobuf => "protobuf",
            Format::Table => "table",
        }
    }
}

/// One endpoint's health (etcdctl's `epHealth`).
#[derive(Debug, Clone)]
pub struct EpHealth {
    /// The endpoint as given.
    pub ep: String,
    /// Healthy or not.
    pub health: bool,
    /// Go duration string of the probe.
    pub took: String,
    /// Error text ("" when healthy).
    pub error: String,
}

/// Where the output goes and in which format.
pub struct Printer {
    /// The format.
    pub format: Format,
    /// `--hex`.
    pub hex: bool,
    /// `--print-value-only`.
    pub value_only: bool,
}

/// Writes to stdout (ignoring a closed pipe, like Go's fmt does).
pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
}

/// Writes raw bytes to stdout.
pub fn out_bytes(b: &[u8]) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(b);
}

fn hex_escape(b: &[u8]) -> String {
    b.iter().map(|x| format!("\\x{x:02x}")).collect()
}

impl Printer {
    fn unsupported(&self) -> ! {
        fail(
            EXIT_BAD_FEATURE,
            &format!("{} not supported as output format", self.format.name()),
        )
    }

    /// JSON or protobuf of an RPC response, else unsupported.
    fn rpc<M: Message>(&self, m: &M, json: impl FnOnce() -> String) {
        match self.format {
            Format::Json => out(&format!("{}\n", json())),
            Format::Protobuf => out_bytes(&m.encode_to_vec()),
            _ => self.unsupported(),
        }
    }

    fn print_kv(&self, kv: &KeyValue) {
        let (k, v) = if self.hex {
            (hex_escape(&kv.key), hex_escape(&kv.value))
        } else {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                String::from_utf8_lossy(&kv.value).into_owned(),
            )
        };
        let mut o = std::io::stdout().lock();
        if !self.value_only {
            if self.hex {
                let _ = o.write_all(format!("{k}\n").as_bytes());
            } else {
                let _ = o.write_all(&kv.key);
                let _ = o.write_all(b"\n");
            }
        }
        if self.hex {
            let _ = o.write_all(format!("{v}\n").as_bytes());
        } else {
            let _ = o.write_all(&kv.value);
            let _ = o.write_all(b"\n");
        }
    }

    /// `get`.
    pub fn get(&self, r: &RangeResponse) {
        match self.format {
            Format::Simple => r.kvs.iter().for_each(|kv| self.print_kv(kv)),
            Format::Fields => fields::get(r),
            _ => self.rpc(r, || json::range(r)),
        }
    }

    /// `put`.
    pub fn put(&self, r: &PutResponse) {
        match self.format {
            Format::Simple => {
                out("OK\n");
                if let Some(kv) = &r.prev_kv {
                    self.print_kv(kv);
                }
            }
            Format::Fields => fields::put(r),
            _ => self.rpc(r, || json::put(r)),
        }
    }

    /// `del`.
    pub fn del(&self, r: &DeleteRangeResponse) {
        match self.format {
            Format::Simple => {
                out(&format!("{}\n", r.deleted));
                r.prev_kvs.iter().for_each(|kv| self.print_kv(kv));
            }
            Format::Fields => fields::del(r),
            _ => self.rpc(r, || json::del(r)),
        }
    }

    /// `txn`.
    pub fn txn(&self, r: &TxnResponse) {
        use response_op::Response;
        match self.format {
            Format::Simple => {
                out(if r.succeeded {
                    "SUCCESS\n"
                } else {
                    "FAILURE\n"
                });
                for op in &r.responses {
                    out("\n");
                    match &op.response {
                        Some(Response::ResponseDeleteRange(x)) => self.del(x),
                        Some(Response::ResponsePut(x)) => self.put(x),
                        Some(Response::ResponseRange(x)) => self.get(x),
                        _ => out(&format!("unexpected response {op:?}\n")),
                    }
                }
            }
            Format::Fields => fields::txn(r),
            _ => self.rpc(r, || json::txn(r)),
        }
    }

    /// One watch response.
    pub fn watch(&self, r: &WatchResponse) {
        match self.format {
            Format::Simple => {
                for e in &r.events {
                    out(if e.r#type == 1 { "DELETE\n" } else { "PUT\n" });
                    if let Some(p) = &e.prev_kv {
                        self.print_kv(p);
                    }
                    self.print_kv(&e.kv.clone().unwrap_or_default());
                }
            }
            Format::Fields => fields::watch(r),
            Format::Json => out(&format!("{}\n", json::watch(r))),
            Format::Protobuf => {
                let m = WatchResponse {
                    header: Some(r.header.unwrap_or_default()),
                    events: r.events.clone(),
                    compact_revision: r.compact_revision,
                    canceled: r.canceled,
                    created: r.created,
                    ..Default::default()
                };
                out_bytes(&m.encode_to_vec());
            }
            Format::Table => self.unsupported(),
        }
    }

    /// clientv3 lease responses embed the header, so `-w protobuf` prints
    /// the header's bytes alone.
    fn lease_rpc(&self, h: &Option<ResponseHeader>, json: impl FnOnce() -> String) {
        match self.format {
            Format::Json => out(&format!("{}\n", json())),
            Format::Protobuf => out_bytes(&(*h).unwrap_or_default().encode_to_vec()),
            _ => self.unsupported(),
        }
    }

    /// `lease grant`.
    pub fn grant(&self, r: &LeaseGrantResponse) {
        match self.format {
            Format::Simple => out(&format!(
                "lease {:016x} granted with TTL({}s)\n",
                r.id, r.ttl
            )),
            Format::Fields => fields::grant(r),
            _ => self.lease_rpc(&r.header, || json::grant(r)),
        }
    }

    /// `lease revoke`.
    pub fn revoke(&self, id: i64, r: &LeaseRevokeResponse) {
        match self.format {
            Format::Simple => out(&format!("lease {id:016x} revoked\n")),
            Format::Fields => fields::hdr(&r.header),
            Format::Json => out(&format!("{}\n", json::header_only(&r.header))),
            Format::Protobuf => fail(
                EXIT_BAD_FEATURE,
                &format!("marshal unsupported for type etcdserverpb.LeaseRevokeResponse ({r:?})"),
            ),
            Format::Table => self.unsupported(),
        }
    }

    /// `lease keep-alive`.
    pub fn keep_alive(&self, r: &LeaseKeepAliveResponse) {
        match self.format {
            Format::Simple => out(&format!(
                "lease {:016x} keepalived with TTL({})\n",
                r.id, r.ttl
            )),
            Format::Fields => fields::keep_alive(r),
            _ => self.lease_rpc(&r.header, || json::keep_alive(r)),
        }
    }

    /// `lease timetolive`.
    pub fn time_to_live(&self, r: &LeaseTimeToLiveResponse, keys: bool) {
        match self.format {
            Format::Simple => {
                if r.granted_ttl == 0 && r.ttl == -1 {
                    out(&format!("lease {:016x} already expired\n", r.id));
                    return;
                }
                let mut txt = format!(
                    "lease {:016x} granted with TTL({}s), remaining({}s)",
                    r.id, r.granted_ttl, r.ttl
                );
                if keys {
                    let ks: Vec<String> = r
                        .keys
                        .iter()
                        .map(|k| String::from_utf8_lossy(k).into_owned())
                        .collect();
                    txt.push_str(&format!(
                        ", attached keys({})",
                        crate::gofmt::string_slice(&ks)
                    ));
                }
                out(&format!("{txt}\n"));
            }
            Format::Fields => fields::time_to_live(r),
            _ => self.lease_rpc(&r.header, || json::time_to_live(r)),
        }
    }

    /// `lease list`.
    pub fn leases(&self, r: &LeaseLeasesResponse) {
        match self.format {
            Format::Simple => {
                let mut s = format!("found {} leases\n", r.leases.len());
                for l in &r.leases {
                    s.push_str(&format!("{:016x}\n", l.id));
                }
                out(&s);
            }
            Format::Fields => fields::leases(r),
            _ => self.lease_rpc(&r.header, || json::leases(r)),
        }
    }

    fn cluster_id(h: &Option<ResponseHeader>) -> u64 {
        h.as_ref().map(|h| h.cluster_id).unwrap_or(0)
    }

    /// `member add` (the simple format's extra lines are printed by the command).
    pub fn member_add(&self, r: &MemberAddResponse) {
        match self.format {
            Format::Simple => out(&format!(
                "Member {:16x} added to cluster {:16x}\n",
                r.member.as_ref().map(|m| m.id).unwrap_or(0),
                Self::cluster_id(&r.header)
            )),
            _ => self.rpc(r, || json::member_add(r)),
        }
    }

    /// `member remove`.
    pub fn member_remove(&self, id: u64, r: &MemberRemoveResponse) {
        match self.format {
            Format::Simple => out(&format!(
                "Member {id:16x} removed from cluster {:16x}\n",
                Self::cluster_id(&r.header)
            )),
            _ => self.rpc(r, || json::members(&r.header, &r.members)),
        }
    }

    /// `member update`.
    pub fn member_update(&self, id: u64, r: &MemberUpdateResponse) {
        match self.format {
            Format::Simple => out(&format!(
                "Member {id:16x} updated in cluster {:16x}\n",
                Self::cluster_id(&r.header)
            )),
            _ => self.rpc(r, || json::members(&r.header, &r.members)),
        }
    }

    /// `member promote`.
    pub fn member_promote(&self, id: u64, r: &MemberPromoteResponse) {
        match self.format {
            Format::Simple => out(&format!(
                "Member {id:16x} promoted in cluster {:16x}\n",
                Self::cluster_id(&r.header)
            )),
            _ => self.rpc(r, || json::members(&r.header, &r.members)),
        }
    }

    /// `member list`.
    pub fn member_list(&self, r: &MemberListResponse) {
        match self.format {
            Format::Simple => {
                let (_, rows) = table::member_rows(r);
                rows.iter()
                    .for_each(|row| out(&format!("{}\n", row.join(", "))));
            }
            Format::Fields => fields::member_list(r),
            Format::Table => {
                let (h, rows) = table::member_rows(r);
                out(&table::render(&h, &rows));
            }
            _ => self.rpc(r, || json::members(&r.header, &r.members)),
        }
    }

    /// `endpoint health` (simple goes to stderr, like etcdctl).
    pub fn endpoint_health(&self, hs: &[EpHealth]) {
        match self.format {
            Format::Simple => {
                let mut e = std::io::stderr().lock();
                for h in hs {
                    let line = if h.error.is_empty() {
                        format!(
                            "{} is healthy: successfully committed proposal: took = {}\n",
                            h.ep, h.took
                        )
                    } else {
                        format!(
                            "{} is unhealthy: failed to commit proposal: {}\n",
                            h.ep, h.error
                        )
                    };
                    let _ = e.write_all(line.as_bytes());
                }
            }
            Format::Json => {
                let items = hs.iter().map(|h| {
                    json::Obj::new()
                        .raw("endpoint", &crate::gofmt::json_string(h.ep.as_bytes()))
                        .raw("health", &h.health.to_string())
                        .raw("took", &crate::gofmt::json_string(h.took.as_bytes()))
                        .string("error", &h.error)
                        .done()
                });
                out(&format!("{}\n", json::list(items)));
            }
            Format::Fields => fields::endpoint_health(hs),
            Format::Table => {
                let (h, rows) = table::health_rows(hs);
                out(&table::render(&h, &rows));
            }
            Format::Protobuf => self.unsupported(),
        }
    }

    /// `endpoint status`.
    pub fn endpoint_status(&self, st: &[(String, StatusResponse)]) {
        match self.format {
            Format::Simple => {
                let (_, rows) = table::status_rows(st);
                rows.iter()
                    .for_each(|row| out(&format!("{}\n", row.join(", "))));
            }
            Format::Json => {
                let items = st.iter().map(|(ep, r)| {
                    json::Obj::new()
                        .raw("Endpoint", &crate::gofmt::json_string(ep.as_bytes()))
                        .raw("Status", &json::status(r))
                        .done()
                });
                out(&format!("{}\n", json::list(items)));
            }
            Format::Fields => fields::endpoint_status(st),
            Format::Table => {
                let (h, rows) = table::status_rows(st);
                out(&table::render(&h, &rows));
            }
            Format::Protobuf => self.unsupported(),
        }
    }

    /// `endpoint hashkv`.
    pub fn endpoint_hashkv(&self, hs: &[(String, HashKvResponse)]) {
        match self.format {
            Format::Simple => {
                let (_, rows) = table::hashkv_rows(hs);
                rows.iter()
                    .for_each(|row| out(&format!("{}\n", row.join(", "))));
            }
            Format::Json => {
                let items = hs.iter().map(|(ep, r)| {
                    json::Obj::new()
                        .raw("Endpoint", &crate::gofmt::json_string(ep.as_bytes()))
                        .raw("HashKV", &json::hash_kv(r))
                        .done()
                });
                out(&format!("{}\n", json::list(items)));
            }
            Format::Fields => fields::endpoint_hashkv(hs),
            Format::Table => {
                let (h, rows) = table::hashkv_rows(hs);
                out(&table::render(&h, &rows));
            }
            Format::Protobuf => self.unsupported(),
        }
    }

    /// `move-leader`.
    pub fn move_leader(&self, leader: u64, target: u64, r: &MoveLeaderResponse) {
        match self.format {
            Format::Simple => out(&format!(
                "Leadership transferred from {leader:x} to {target:x}\n"
            )),
            Format::Json | Format::Protobuf => self.rpc(r, || json::header_only(&r.header)),
            _ => self.unsupported(),
        }
    }

    /// `alarm list` / `alarm disarm`.
    pub fn alarm(&self, r: &AlarmResponse) {
        match self.format {
            Format::Simple => {
                for a in &r.alarms {
                    out(&format!(
                        "memberID:{} alarm:{} \n",
                        a.member_id,
                        alarm_name(a.alarm)
                    ));
                }
            }
            Format::Fields => fields::alarm(r),
            _ => self.rpc(r, || json::alarm(r)),
        }
    }

    /// A response printed as a plain message in simple format and as its
    /// header elsewhere (auth, user and role mutations).
    pub fn header_msg<M: Message>(&self, simple: &str, h: &Option<ResponseHeader>, m: &M) {
        match self.format {
            Format::Simple => out(simple),
            Format::Fields => fields::hdr(h),
            _ => self.rpc(m, || json::header_only(h)),
        }
    }

    /// `role get`.
    pub fn role_get(&self, role: &str, r: &AuthRoleGetResponse) {
        match self.format {
            Format::Simple => out(&crate::role::role_get_text(role, r)),
            Format::Fields => fields::role_get(r),
            _ => self.rpc(r, || {
                json::hdr(json::Obj::new(), &r.header)
                    .list("perm", r.perm.iter().map(json::permission).collect())
                    .done()
            }),
        }
    }

    /// `role list`.
    pub fn role_list(&self, r: &AuthRoleListResponse) {
        match self.format {
            Format::Simple => r.roles.iter().for_each(|x| out(&format!("{x}\n"))),
            Format::Fields => fields::name_list("Roles", &r.header, &r.roles),
            _ => self.rpc(r, || {
                json::hdr(json::Obj::new(), &r.header)
                    .strings("roles", &r.roles)
                    .done()
            }),
        }
    }

    /// `user list`.
    pub fn user_list(&self, r: &AuthUserListResponse) {
        match self.format {
            Format::Simple => r.users.iter().for_each(|x| out(&format!("{x}\n"))),
            Format::Fields => self.unsupported(),
            _ => self.rpc(r, || {
                json::hdr(json::Obj::new(), &r.header)
                    .strings("users", &r.users)
                    .done()
            }),
        }
    }

    /// `user get` (without `--detail`).
    pub fn user_get(&self, name: &str, r: &AuthUserGetResponse) {
        match self.format {
            Format::Simple => {
                let mut s = format!("User: {name}\nRoles:");
                for role in &r.roles {
                    s.push(' ');
                    s.push_str(role);
                }
                s.push('\n');
                out(&s);
            }
            Format::Fields => self.unsupported(),
            _ => self.rpc(r, || {
                json::hdr(json::Obj::new(), &r.header)
                    .strings("roles", &r.roles)
                    .done()
            }),
        }
    }
}

/// `AlarmType` names.
pub fn alarm_name(a: i32) -> &'static str {
    match a {
        1 => "NOSPACE",
        2 => "CORRUPT",
        _ => "NONE",
    }
}
