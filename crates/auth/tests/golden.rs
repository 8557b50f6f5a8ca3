//! Pins the on-disk encoding of the auth tables (`auth`, `authUsers`,
//! `authRoles`; see `records.rs`): a fixed sequence of changes must leave
//! exactly the rows in `golden/auth_tables.txt`, and loading those rows
//! must give back the same state. A format change fails here first.
//!
//! The file is one row per line, `<table> <key hex> <value hex>`, tables
//! and keys in order. Set `ETCD_RS_UPDATE_GOLDEN=1` to rewrite it after a
//! deliberate format change (and say so in the commit).

use std::collections::BTreeMap;

use etcd_auth::{AuthInfo, AuthStore, AuthTable, PermType, Write};
use etcd_proto::authpb::{permission, Permission};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/auth_tables.txt");

type Rows = Vec<(Vec<u8>, Vec<u8>)>;

type Tables = BTreeMap<&'static str, BTreeMap<Vec<u8>, Vec<u8>>>;

fn table_name(t: AuthTable) -> &'static str {
    match t {
        AuthTable::Auth => "auth",
        AuthTable::Users => "authUsers",
        AuthTable::Roles => "authRoles",
    }
}

fn apply(tables: &mut Tables, writes: Vec<Write>) {
    for w in writes {
        match w {
            Write::Put { table, key, value } => {
                tables
                    .entry(table_name(table))
                    .or_default()
                    .insert(key, value);
            }
            Write::Delete { table, key } => {
                tables.entry(table_name(table)).or_default().remove(&key);
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "-".to_string();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn perm(t: permission::Type, key: &[u8], range_end: &[u8]) -> Permission {
    Permission {
        perm_type: t as i32,
        key: key.to_vec(),
        range_end: range_end.to_vec(),
    }
}

/// A fixed history touching every kind of record.
fn build() -> (AuthStore, Tables) {
    let (mut s, first) = AuthStore::load(&[], &[], &[]).unwrap();
    let mut t = Tables::new();
    apply(&mut t, first);
    // A fixed "hash": the encoding, not bcrypt, is under test.
    let hash = b"$2a$10$0123456789012345678901uABCDEFGHIJKLMNOPQRSTUVWXYZabc".to_vec();
    apply(&mut t, s.user_add("root", hash.clone(), false).unwrap());
    apply(&mut t, s.user_add("alice", hash, false).unwrap());
    apply(&mut t, s.user_add("nopw", vec![], true).unwrap());
    apply(&mut t, s.user_add("gone", vec![], true).unwrap());
    apply(&mut t, s.user_delete("gone").unwrap());
    apply(&mut t, s.role_add("root").unwrap());
    apply(&mut t, s.role_add("rw").unwrap());
    apply(
        &mut t,
        s.role_grant_permission("rw", perm(permission::Type::Write, b"k", b""))
            .unwrap(),
    );
    apply(
        &mut t,
        s.role_grant_permission("rw", perm(permission::Type::Readwrite, b"a/", b"a0"))
            .unwrap(),
    );
    apply(
        &mut t,
        s.role_grant_permission("rw", perm(permission::Type::Read, b"z", b"\0"))
            .unwrap(),
    );
    apply(&mut t, s.user_grant_role("root", "root").unwrap());
    apply(&mut t, s.user_grant_role("alice", "rw").unwrap());
    apply(&mut t, s.user_grant_role("alice", "root").unwrap());
    apply(&mut t, s.user_revoke_role("alice", "root").unwrap());
    apply(&mut t, s.enable().unwrap());
    (s, t)
}

fn render(t: &Tables) -> String {
    let mut out = String::new();
    for (name, rows) in t {
        for (k, v) in rows {
            out.push_str(&format!("{name} {} {}\n", hex(k), hex(v)));
        }
    }
    out
}

#[test]
fn auth_tables_match_the_golden_file() {
    let (_, tables) = build();
    let got = render(&tables);
    if std::env::var_os("ETCD_RS_UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &got).unwrap();
    }
    let want = std::fs::read_to_string(GOLDEN).expect("golden file checked in");
    assert_eq!(got, want, "auth table encoding changed");
}

#[test]
fn revision_is_eight_bytes_little_endian_and_enabled_one_byte() {
    let (s, tables) = build();
    let auth = &tables["auth"];
    assert_eq!(auth[b"authRevision".as_slice()], s.revision().to_le_bytes());
    assert_eq!(auth[b"authEnabled".as_slice()], [1]);
}

#[test]
fn golden_rows_load_back_to_the_same_state() {
    let (built, _) = build();
    let mut rows: BTreeMap<&str, Rows> = BTreeMap::new();
    let text = std::fs::read_to_string(GOLDEN).unwrap();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let unhex = |s: &str| -> Vec<u8> {
            if s == "-" {
                return vec![];
            }
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        rows.entry(f[0])
            .or_default()
            .push((unhex(f[1]), unhex(f[2])));
    }
    let get = |n: &str| rows.get(n).cloned().unwrap_or_default();
    let (loaded, writes) =
        AuthStore::load(&get("auth"), &get("authUsers"), &get("authRoles")).unwrap();
    assert!(writes.is_empty(), "a loaded store needs no writes");
    assert!(loaded.is_enabled());
    assert_eq!(loaded.revision(), built.revision());
    assert_eq!(loaded.user_list(), built.user_list());
    assert_eq!(loaded.role_list(), built.role_list());
    assert_eq!(loaded.user_get("alice").unwrap(), vec!["rw".to_string()]);
    assert_eq!(
        loaded.role_get("rw").unwrap(),
        built.role_get("rw").unwrap()
    );
    let alice = AuthInfo {
        username: "alice".into(),
        revision: loaded.revision(),
    };
    assert!(loaded
        .is_op_permitted(&alice, b"a/x", b"", PermType::Write)
        .is_ok());
    assert!(loaded
        .is_op_permitted(&alice, b"k", b"", PermType::Read)
        .is_err());
}
