//! Real `etcdctl lease` against the server under test (seed 003 "租约"):
//! grant, put with a lease, timetolive (with keys), list, keep-alive once,
//! revoke (keys go with it), and the errors for unknown leases.
//! Remaining TTLs depend on timing, so they are checked as a bounded range.

mod common;

use common::{EtcdOpts, EtcdProcess};

/// Parses "lease <hex id> granted with TTL(<ttl>s)\n" and returns the id.
fn grant(p: &EtcdProcess, ttl_s: u64) -> String {
    let out = p.etcdctl(&["lease", "grant", &ttl_s.to_string()]).ok().stdout;
    let id = out
        .strip_prefix("lease ")
        .and_then(|r| r.strip_suffix(&format!(" granted with TTL({ttl_s}s)\n")))
        .unwrap_or_else(|| panic!("unexpected grant output {out:?}"));
    // etcdctl prints lease ids zero-padded to 16 lowercase hex digits (%016x).
    assert!(
        id.len() == 16 && id.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "lease id {id:?}"
    );
    id.to_string()
}

/// Parses "..., remaining(<n>s)<suffix>" from a timetolive line.
fn remaining_s(line: &str, prefix: &str, suffix: &str) -> u64 {
    let rest = line
        .strip_prefix(prefix)
        .and_then(|r| r.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("unexpected timetolive output {line:?}"));
    rest.strip_prefix(", remaining(")
        .and_then(|r| r.strip_suffix("s)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected remaining in {line:?}"))
}

#[test]
fn lease_lifecycle() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let id = grant(&p, 100);
    assert_eq!(p.etcdctl(&["put", &format!("--lease={id}"), "foo10", "bar"]).ok().stdout, "OK\n");
    assert_eq!(p.etcdctl(&["put", &format!("--lease={id}"), "foo11", "baz"]).ok().stdout, "OK\n");

    let prefix = format!("lease {id} granted with TTL(100s)");
    let out = p.etcdctl(&["lease", "timetolive", &id]).ok().stdout;
    let left = remaining_s(&out, &prefix, "\n");
    assert!((90..=100).contains(&left), "{out}");
    // etcd lists attached keys in no particular order.
    let out = p.etcdctl(&["lease", "timetolive", "--keys", &id]).ok().stdout;
    let suffix = if out.contains("[foo10 foo11]") {
        ", attached keys([foo10 foo11])\n"
    } else {
        ", attached keys([foo11 foo10])\n"
    };
    let left = remaining_s(&out, &prefix, suffix);
    assert!((90..=100).contains(&left), "{out}");

    assert_eq!(p.etcdctl(&["lease", "list"]).ok().stdout, format!("found 1 leases\n{id}\n"));
    assert_eq!(
        p.etcdctl(&["lease", "keep-alive", "--once", &id]).ok().stdout,
        format!("lease {id} keepalived with TTL(100)\n")
    );

    assert_eq!(p.etcdctl(&["lease", "revoke", &id]).ok().stdout, format!("lease {id} revoked\n"));
    assert_eq!(p.etcdctl(&["get", "--prefix", "foo1"]).ok().stdout, "");
    assert_eq!(p.etcdctl(&["lease", "timetolive", &id]).ok().stdout, format!("lease {id} already expired\n"));
    assert_eq!(p.etcdctl(&["lease", "list"]).ok().stdout, "found 0 leases\n");

    let out = p.etcdctl(&["lease", "revoke", &id]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.last_err_line(), "Error: failed to revoke lease (etcdserver: requested lease not found)");
    let out = p.etcdctl(&["put", "--lease=1234abcd", "x", "y"]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.last_err_line(), "Error: etcdserver: requested lease not found");
    assert_eq!(out.stdout, "");
    assert_eq!(p.etcdctl(&["get", "x"]).ok().stdout, "");

    // Revisions: 2 puts + the revoke's deletion of both keys = revision 4.
    let out = p.etcdctl(&["get", "x", "-w", "json"]).ok().stdout;
    assert!(out.contains("\"revision\":4,"), "{out}");
}
