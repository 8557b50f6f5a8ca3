//! Real `etcdctl` 3.4.23 against the server under test: the key-value commands
//! from the usage documents (seed article 003), asserting etcd's exact stdout,
//! stderr's `Error:` line and exit codes.
//!
//! etcdctl exit codes seen here: 0 ok, 1 server error (e.g. compacted),
//! 3 invalid input (malformed txn compare), 4 unsupported output format,
//! 128 bad arguments (`--print-value-only` with a non-simple format).

mod common;

use common::{CtlOutput, EtcdOpts, EtcdProcess};

fn start() -> EtcdProcess {
    EtcdProcess::start(EtcdOpts::default())
}

fn put(p: &EtcdProcess, k: &str, v: &str) {
    let out = p.etcdctl(&["put", k, v]).ok();
    assert_eq!(out.stdout, "OK\n", "put {k} {v}: {out:#?}");
}

fn stdout_ok(p: &EtcdProcess, args: &[&str]) -> String {
    p.etcdctl(args).ok().stdout
}

/// Asserts a failed etcdctl run: exit code, last stderr line, empty stdout.
fn assert_err(out: &CtlOutput, code: i32, last_line: &str) {
    assert_eq!(out.code, code, "{out:#?}");
    assert_eq!(out.last_err_line(), last_line, "{out:#?}");
    assert_eq!(out.stdout, "", "{out:#?}");
}

const COMPACTED: &str = "Error: etcdserver: mvcc: required revision has been compacted";
const FUTURE: &str = "Error: etcdserver: mvcc: required revision is a future revision";

/// Seed 003, "读取键过往版本的值" and "压缩修订版本": revisions 2..5, reads at
/// old revisions, `compaction 5`, then a read at revision 4 fails.
#[test]
fn revision_walkthrough_003() {
    let p = start();
    put(&p, "foo", "bar"); // rev 2
    put(&p, "foo1", "bar1"); // rev 3
    put(&p, "foo", "bar_new"); // rev 4
    put(&p, "foo1", "bar1_new"); // rev 5

    assert_eq!(stdout_ok(&p, &["get", "--prefix", "foo"]), "foo\nbar_new\nfoo1\nbar1_new\n");
    assert_eq!(stdout_ok(&p, &["get", "--prefix", "--rev=4", "foo"]), "foo\nbar_new\nfoo1\nbar1\n");
    assert_eq!(stdout_ok(&p, &["get", "--prefix", "--rev=3", "foo"]), "foo\nbar\nfoo1\nbar1\n");
    assert_eq!(stdout_ok(&p, &["get", "--prefix", "--rev=2", "foo"]), "foo\nbar\n");
    assert_eq!(stdout_ok(&p, &["get", "--prefix", "--rev=1", "foo"]), "");

    assert_eq!(stdout_ok(&p, &["compaction", "5"]), "compacted revision 5\n");
    let out = p.etcdctl(&["get", "--rev=4", "foo"]);
    assert_err(&out, 1, COMPACTED);
    assert!(
        out.stderr.contains("code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted"),
        "{out:#?}"
    );
    // The compact revision itself stays readable.
    assert_eq!(stdout_ok(&p, &["get", "--rev=5", "foo"]), "foo\nbar_new\n");
    // Nothing changed: still revision 5.
    let ids = p.ids();
    assert_eq!(
        ids.normalise(&stdout_ok(&p, &["get", "foo1", "-w", "json"])),
        "{\"header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":5,\"raft_term\":<TERM>},\
         \"kvs\":[{\"key\":\"Zm9vMQ==\",\"create_revision\":3,\"mod_revision\":5,\"version\":2,\"value\":\"YmFyMV9uZXc=\"}],\"count\":1}\n"
    );
}

/// Compaction edge cases: repeating a compaction, compacting the future, the
/// `compact` spelling used by seed 003, `--physical`.
#[test]
fn compaction_errors() {
    let p = start();
    for i in 0..6 {
        put(&p, "key", &format!("v{i}")); // revs 2..7
    }
    assert_eq!(stdout_ok(&p, &["compaction", "3"]), "compacted revision 3\n");
    assert_err(&p.etcdctl(&["compaction", "3"]), 1, COMPACTED);
    assert_err(&p.etcdctl(&["compaction", "2"]), 1, COMPACTED);
    assert_err(&p.etcdctl(&["compaction", "100"]), 1, FUTURE);
    assert_err(&p.etcdctl(&["get", "key", "--rev=100"]), 1, FUTURE);
    assert_err(&p.etcdctl(&["get", "key", "--rev=2"]), 1, COMPACTED);
    assert_eq!(stdout_ok(&p, &["compact", "5"]), "compacted revision 5\n");
    assert_eq!(stdout_ok(&p, &["compaction", "--physical", "7"]), "compacted revision 7\n");
    assert_eq!(stdout_ok(&p, &["get", "key"]), "key\nv5\n");
    assert_eq!(stdout_ok(&p, &["get", "key", "--rev=7"]), "key\nv5\n");
    assert_err(&p.etcdctl(&["get", "key", "--rev=6"]), 1, COMPACTED);
}

/// Seed 003 "键操作": /testdir keys, ranges, prefixes, limit, hex, value-only.
#[test]
fn get_variants() {
    let p = start();
    put(&p, "/testdir/testkey", "Hello world"); // rev 2
    put(&p, "/testdir/testkey2", "Hello world2"); // rev 3
    put(&p, "/testdir/testkey3", "Hello world3"); // rev 4

    assert_eq!(stdout_ok(&p, &["get", "/testdir/testkey"]), "/testdir/testkey\nHello world\n");
    assert_eq!(
        stdout_ok(&p, &["get", "/testdir/testkey", "--hex"]),
        "\\x2f\\x74\\x65\\x73\\x74\\x64\\x69\\x72\\x2f\\x74\\x65\\x73\\x74\\x6b\\x65\\x79\n\
         \\x48\\x65\\x6c\\x6c\\x6f\\x20\\x77\\x6f\\x72\\x6c\\x64\n"
    );
    assert_eq!(stdout_ok(&p, &["get", "/testdir/testkey", "--print-value-only"]), "Hello world\n");
    assert_eq!(
        stdout_ok(&p, &["get", "/testdir/testkey", "/testdir/testkey3"]),
        "/testdir/testkey\nHello world\n/testdir/testkey2\nHello world2\n"
    );
    let all = "/testdir/testkey\nHello world\n/testdir/testkey2\nHello world2\n/testdir/testkey3\nHello world3\n";
    assert_eq!(stdout_ok(&p, &["get", "--prefix", "/testdir/testkey"]), all);
    assert_eq!(
        stdout_ok(&p, &["get", "--prefix", "--limit=2", "/testdir/testkey"]),
        "/testdir/testkey\nHello world\n/testdir/testkey2\nHello world2\n"
    );
    assert_eq!(
        stdout_ok(&p, &["get", "--prefix", "/testdir/", "--keys-only"]),
        "/testdir/testkey\n\n/testdir/testkey2\n\n/testdir/testkey3\n\n"
    );
    assert_eq!(
        stdout_ok(&p, &["get", "--prefix", "/testdir/", "--print-value-only", "--hex"]),
        "\\x48\\x65\\x6c\\x6c\\x6f\\x20\\x77\\x6f\\x72\\x6c\\x64\n\
         \\x48\\x65\\x6c\\x6c\\x6f\\x20\\x77\\x6f\\x72\\x6c\\x64\\x32\n\
         \\x48\\x65\\x6c\\x6c\\x6f\\x20\\x77\\x6f\\x72\\x6c\\x64\\x33\n"
    );
    assert_eq!(
        stdout_ok(&p, &["get", "--prefix", "/testdir/", "--sort-by=KEY", "--order=DESCEND", "--keys-only"]),
        "/testdir/testkey3\n\n/testdir/testkey2\n\n/testdir/testkey\n\n"
    );
    assert_eq!(stdout_ok(&p, &["get", "--prefix", "/nothing/"]), "");
    assert_eq!(stdout_ok(&p, &["get", "nothing"]), "");

    // Make every sort target distinct: testkey gets version 3, mod rev 6.
    put(&p, "/testdir/testkey", "x"); // rev 5
    put(&p, "/testdir/testkey", "A"); // rev 6
    let keys = |args: &[&str]| {
        let mut a = vec!["get", "--prefix", "/testdir/", "--keys-only"];
        a.extend_from_slice(args);
        stdout_ok(&p, &a).split('\n').filter(|l| !l.is_empty()).map(str::to_string).collect::<Vec<_>>()
    };
    let (k1, k2, k3) = ("/testdir/testkey", "/testdir/testkey2", "/testdir/testkey3");
    assert_eq!(keys(&["--sort-by=MODIFY"]), [k2, k3, k1]);
    assert_eq!(keys(&["--sort-by=MODIFY", "--order=DESCEND"]), [k1, k3, k2]);
    assert_eq!(keys(&["--sort-by=CREATE", "--order=DESCEND"]), [k3, k2, k1]);
    assert_eq!(keys(&["--sort-by=CREATE", "--order=ASCEND"]), [k1, k2, k3]);
    assert_eq!(keys(&["--sort-by=VALUE"]), [k1, k2, k3]); // "A" < "Hello world2" < "Hello world3"
    assert_eq!(keys(&["--sort-by=VALUE", "--order=DESCEND"]), [k3, k2, k1]);
    assert_eq!(keys(&["--sort-by=VERSION", "--order=DESCEND", "--limit=1"]), [k1]);
    assert_eq!(keys(&["--order=DESCEND"]), [k3, k2, k1]);

    // Seed 003 "读取大于等于指定键的 byte 值的键".
    put(&p, "a", "123");
    put(&p, "b", "456");
    put(&p, "z", "789");
    assert_eq!(stdout_ok(&p, &["get", "--from-key", "b"]), "b\n456\nz\n789\n");
    assert_eq!(stdout_ok(&p, &["get", "--from-key", "b", "--limit=1"]), "b\n456\n");
    assert_eq!(stdout_ok(&p, &["get", "a", "c"]), "a\n123\nb\n456\n");
    // The empty key with --from-key is the whole key space.
    assert_eq!(
        stdout_ok(&p, &["get", "--from-key", "", "--keys-only"]),
        format!("{k1}\n\n{k2}\n\n{k3}\n\na\n\nb\n\nz\n\n")
    );
}

/// `-w json|fields|simple|protobuf|table` for get and put.
#[test]
fn get_output_formats() {
    let p = start();
    put(&p, "foo", "bar"); // rev 2
    put(&p, "foo1", "bar1"); // rev 3
    put(&p, "foo", "bar_new"); // rev 4
    let ids = p.ids();
    let json = ids.normalise(&stdout_ok(&p, &["get", "--prefix", "foo", "-w", "json"]));
    assert_eq!(
        json,
        "{\"header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":4,\"raft_term\":<TERM>},\
         \"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":2,\"mod_revision\":4,\"version\":2,\"value\":\"YmFyX25ldw==\"},\
         {\"key\":\"Zm9vMQ==\",\"create_revision\":3,\"mod_revision\":3,\"version\":1,\"value\":\"YmFyMQ==\"}],\"count\":2}\n"
    );
    let json = ids.normalise(&stdout_ok(&p, &["get", "--prefix", "foo", "--limit=1", "-w", "json"]));
    assert_eq!(
        json,
        "{\"header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":4,\"raft_term\":<TERM>},\
         \"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":2,\"mod_revision\":4,\"version\":2,\"value\":\"YmFyX25ldw==\"}],\
         \"more\":true,\"count\":2}\n"
    );
    // No match: no kvs, no count.
    let json = ids.normalise(&stdout_ok(&p, &["get", "nothing", "-w", "json"]));
    assert_eq!(
        json,
        "{\"header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":4,\"raft_term\":<TERM>}}\n"
    );

    let fields = ids.normalise(&stdout_ok(&p, &["get", "foo", "-w", "fields"]));
    assert_eq!(
        fields,
        "\"ClusterID\" : <CLUSTER_ID>\n\"MemberID\" : <MEMBER_ID>\n\"Revision\" : 4\n\"RaftTerm\" : <TERM>\n\
         \"Key\" : \"foo\"\n\"CreateRevision\" : 2\n\"ModRevision\" : 4\n\"Version\" : 2\n\"Value\" : \"bar_new\"\n\
         \"Lease\" : 0\n\"More\" : false\n\"Count\" : 1\n"
    );
    assert_eq!(stdout_ok(&p, &["get", "foo", "-w", "simple"]), "foo\nbar_new\n");

    // protobuf: the raw RangeResponse.
    let out = p.etcdctl(&["get", "foo", "-w", "protobuf"]).ok();
    let top = pb::parse(&out.stdout_bytes);
    let header = pb::parse(pb::bytes(&top, 1));
    assert_eq!(pb::varint(&header, 1), ids.cluster_id);
    assert_eq!(pb::varint(&header, 2), ids.member_id);
    assert_eq!(pb::varint(&header, 3), 4);
    assert_eq!(pb::varint(&header, 4), ids.raft_term);
    let kv = pb::parse(pb::bytes(&top, 2));
    assert_eq!(pb::bytes(&kv, 1), b"foo");
    assert_eq!(pb::varint(&kv, 2), 2);
    assert_eq!(pb::varint(&kv, 3), 4);
    assert_eq!(pb::varint(&kv, 4), 2);
    assert_eq!(pb::bytes(&kv, 5), b"bar_new");
    assert_eq!(pb::varint(&top, 4), 1);
    assert_eq!(top.len(), 3, "header, one kv, count: {top:?}");

    // table is not supported for get.
    let out = p.etcdctl(&["get", "foo", "-w", "table"]);
    assert_eq!(out.code, 4, "{out:#?}");
    assert_eq!(out.last_err_line(), "Error: table not supported as output format");
    let out = p.etcdctl(&["get", "foo", "--print-value-only", "-w", "json"]);
    assert_eq!(out.code, 128, "{out:#?}");
    assert_eq!(out.last_err_line(), "Error: print-value-only is only for `--write-out=simple`");

    // put outputs.
    let out = stdout_ok(&p, &["put", "foo", "v5", "--prev-kv"]); // rev 5
    assert_eq!(out, "OK\nfoo\nbar_new\n");
    let json = ids.normalise(&stdout_ok(&p, &["put", "foo", "v6", "--prev-kv", "-w", "json"])); // rev 6
    assert_eq!(
        json,
        "{\"header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":6,\"raft_term\":<TERM>},\
         \"prev_kv\":{\"key\":\"Zm9v\",\"create_revision\":2,\"mod_revision\":5,\"version\":3,\"value\":\"djU=\"}}\n"
    );
    let json = ids.normalise(&stdout_ok(&p, &["put", "new", "v", "-w", "json"])); // rev 7
    assert_eq!(
        json,
        "{\"header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":7,\"raft_term\":<TERM>}}\n"
    );
    let fields = ids.normalise(&stdout_ok(&p, &["put", "new", "w", "-w", "fields"])); // rev 8
    assert_eq!(
        fields,
        "\"ClusterID\" : <CLUSTER_ID>\n\"MemberID\" : <MEMBER_ID>\n\"Revision\" : 8\n\"RaftTerm\" : <TERM>\n"
    );
}

/// Seed 003 "删除键": single key, range, --prev-kv, --prefix, --from-key.
#[test]
fn del_variants() {
    let p = start();
    for (k, v) in [
        ("foo", "bar"),
        ("foo1", "bar1"),
        ("foo3", "bar3"),
        ("zoo", "val"),
        ("zoo1", "val1"),
        ("zoo2", "val2"),
        ("a", "123"),
        ("b", "456"),
        ("z", "789"),
    ] {
        put(&p, k, v);
    } // revs 2..10
    assert_eq!(stdout_ok(&p, &["del", "foo"]), "1\n"); // rev 11
    assert_eq!(stdout_ok(&p, &["del", "foo", "foo9"]), "2\n"); // rev 12
    assert_eq!(stdout_ok(&p, &["del", "--prev-kv", "zoo"]), "1\nzoo\nval\n"); // rev 13
    assert_eq!(stdout_ok(&p, &["del", "--prefix", "zoo"]), "2\n"); // rev 14
    assert_eq!(stdout_ok(&p, &["del", "--from-key", "b"]), "2\n"); // rev 15
    // Deleting nothing prints 0 and does not create a revision.
    assert_eq!(stdout_ok(&p, &["del", "nothing"]), "0\n");
    assert_eq!(stdout_ok(&p, &["del", "--prefix", "zoo"]), "0\n");
    assert_eq!(stdout_ok(&p, &["get", "--from-key", ""]), "a\n123\n");

    let ids = p.ids();
    put(&p, "c", "1"); // rev 16
    put(&p, "d", "2"); // rev 17
    let json = ids.normalise(&stdout_ok(&p, &["del", "a", "d", "--prev-kv", "-w", "json"])); // rev 18
    assert_eq!(
        json,
        "{\"header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":18,\"raft_term\":<TERM>},\
         \"deleted\":2,\"prev_kvs\":[{\"key\":\"YQ==\",\"create_revision\":8,\"mod_revision\":8,\"version\":1,\"value\":\"MTIz\"},\
         {\"key\":\"Yw==\",\"create_revision\":16,\"mod_revision\":16,\"version\":1,\"value\":\"MQ==\"}]}\n"
    );
    let json = ids.normalise(&stdout_ok(&p, &["del", "nothing", "-w", "json"]));
    assert_eq!(
        json,
        "{\"header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":18,\"raft_term\":<TERM>}}\n"
    );
    let fields = ids.normalise(&stdout_ok(&p, &["del", "--prev-kv", "d", "-w", "fields"])); // rev 19
    assert_eq!(
        fields,
        "\"ClusterID\" : <CLUSTER_ID>\n\"MemberID\" : <MEMBER_ID>\n\"Revision\" : 19\n\"RaftTerm\" : <TERM>\n\
         \"Deleted\" : 1\n\"PrevKey\" : \"d\"\n\"PrevCreateRevision\" : 17\n\"PrevModRevision\" : 17\n\
         \"PrevVersion\" : 1\n\"PrevValue\" : \"2\"\n\"PrevLease\" : 0\n"
    );
    assert_eq!(stdout_ok(&p, &["get", "--from-key", ""]), "");
}

/// `etcdctl txn` reading compares/success/failure from stdin, with and without
/// `-i` (which adds the prompts), both branches, compares on
/// value/version/create/mod.
#[test]
fn txn_from_stdin() {
    let p = start();
    put(&p, "k1", "v1"); // rev 2
    const PROMPTS: &str = "compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\n";

    // Success branch: put + get.
    let out = p
        .etcdctl_stdin(&["txn", "-i"], "value(\"k1\") = \"v1\"\n\nput k2 ok\nget k1\n\nput k2 fail\n\n")
        .ok();
    assert_eq!(out.stdout, format!("{PROMPTS}SUCCESS\n\nOK\n\nk1\nv1\n")); // rev 3
    assert_eq!(stdout_ok(&p, &["get", "k2"]), "k2\nok\n");

    // Failure branch: put + del.
    let out = p
        .etcdctl_stdin(&["txn", "-i"], "value(\"k1\") = \"nope\"\n\nput k2 ok\n\nput k2 fail\ndel k1\n\n")
        .ok();
    assert_eq!(out.stdout, format!("{PROMPTS}FAILURE\n\nOK\n\n1\n")); // rev 4
    assert_eq!(stdout_ok(&p, &["get", "--prefix", "k"]), "k2\nfail\n");

    // Without -i: no prompts.
    put(&p, "k1", "v1"); // rev 5: k1 create 5, mod 5, version 1
    let out = p
        .etcdctl_stdin(&["txn"], "value(\"k1\") != \"v1\"\n\nput k2 ok\n\nget k1\n\n")
        .ok();
    assert_eq!(out.stdout, "FAILURE\n\nk1\nv1\n");

    // Compares on version, create and mod revision (all must hold).
    let input = "version(\"k1\") = \"1\"\ncreate(\"k1\") = \"5\"\nmod(\"k1\") > \"4\"\nmod(\"k1\") < \"6\"\n\n\
                 put k3 yes\n\nput k3 no\n\n";
    assert_eq!(p.etcdctl_stdin(&["txn"], input).ok().stdout, "SUCCESS\n\nOK\n"); // rev 6
    let input = "version(\"k1\") > \"1\"\n\nput k3 yes\n\nput k3 no\n\n";
    assert_eq!(p.etcdctl_stdin(&["txn"], input).ok().stdout, "FAILURE\n\nOK\n"); // rev 7
    assert_eq!(stdout_ok(&p, &["get", "k3"]), "k3\nno\n");
    // A missing key has version 0 and create revision 0.
    let input = "version(\"missing\") = \"0\"\ncreate(\"missing\") = \"0\"\n\ndel k3\n\n\n";
    assert_eq!(p.etcdctl_stdin(&["txn"], input).ok().stdout, "SUCCESS\n\n1\n"); // rev 8
    // Empty branches.
    assert_eq!(p.etcdctl_stdin(&["txn"], "\n\n\n").ok().stdout, "SUCCESS\n");
    assert_eq!(p.etcdctl_stdin(&["txn"], "value(\"k1\") = \"x\"\n\n\n\n").ok().stdout, "FAILURE\n");

    // JSON output of a read-only success branch.
    let ids = p.ids();
    let out = p.etcdctl_stdin(&["txn", "-w", "json"], "mod(\"k1\") = \"5\"\n\nget k1\n\n\n").ok();
    assert_eq!(
        ids.normalise(&out.stdout),
        "{\"header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":8,\"raft_term\":<TERM>},\
         \"succeeded\":true,\"responses\":[{\"Response\":{\"ResponseRange\":{\"header\":{\"revision\":8},\
         \"kvs\":[{\"key\":\"azE=\",\"create_revision\":5,\"mod_revision\":5,\"version\":1,\"value\":\"djE=\"}],\"count\":1}}}]}\n"
    );

    // Malformed compare: invalid input, exit code 3, nothing written.
    let out = p.etcdctl_stdin(&["txn"], "bogus\n\n\n\n");
    assert_eq!(out.code, 3, "{out:#?}");
    assert_eq!(out.last_err_line(), "Error: malformed comparison: bogus");
    let json = stdout_ok(&p, &["get", "k1", "-w", "json"]);
    assert!(json.contains("\"revision\":8,"), "{json}");
}

fn status_cells(line: &str) -> Vec<String> {
    line.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect()
}

/// `endpoint status|health`, `member list`, `version` in each output format.
/// Database size and raft indexes are implementation details; they are checked
/// for shape (and applied index == commit index on an idle member), the rest exactly.
#[test]
fn endpoint_and_member_commands() {
    let p = start();
    put(&p, "foo", "bar");
    let ids = p.ids();
    let ep = p.endpoint();
    let peer = p.peer_url();
    let client = p.client_url();
    let term = ids.raft_term.to_string();

    // endpoint status, simple: "ep, id, version, db size, leader, learner, term, index, applied, errors"
    let out = stdout_ok(&p, &["endpoint", "status"]);
    let f: Vec<&str> = out.strip_suffix(", \n").expect("trailing ', '").split(", ").collect();
    assert_eq!(f.len(), 9, "{out}");
    assert_eq!(f[0], ep);
    assert_eq!(f[1], format!("{:x}", ids.member_id));
    assert_eq!(f[2], "3.4.23");
    assert!(f[3].ends_with(" kB") || f[3].ends_with(" MB") || f[3].ends_with(" B"), "db size {out}");
    assert_eq!(&f[4..7], ["true", "false", term.as_str()]);
    assert_eq!(f[7], f[8], "raft index == applied index: {out}");
    let raft_index: u64 = f[7].parse().expect("raft index");

    // table
    let out = stdout_ok(&p, &["endpoint", "status", "-w", "table"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0], lines[2]);
    assert_eq!(lines[0], lines[4]);
    assert_eq!(
        status_cells(lines[1]),
        ["ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER", "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS"]
    );
    let row = status_cells(lines[3]);
    assert_eq!(row[0], ep);
    assert_eq!(row[1], format!("{:x}", ids.member_id));
    assert_eq!(row[2], "3.4.23");
    assert_eq!(row[3], f[3]);
    assert_eq!(&row[4..], ["true", "false", term.as_str(), f[7], f[8], ""]);

    // json
    let out = stdout_ok(&p, &["endpoint", "status", "-w", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let st = &v[0]["Status"];
    assert_eq!(v[0]["Endpoint"], ep.as_str());
    let mut keys: Vec<&String> = st.as_object().expect("object").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["dbSize", "dbSizeInUse", "header", "leader", "raftAppliedIndex", "raftIndex", "raftTerm", "version"]
    );
    assert_eq!(st["header"]["cluster_id"], ids.cluster_id);
    assert_eq!(st["header"]["member_id"], ids.member_id);
    assert_eq!(st["header"]["revision"], 2);
    assert_eq!(st["header"]["raft_term"], ids.raft_term);
    assert_eq!(st["version"], "3.4.23");
    assert_eq!(st["leader"], ids.member_id);
    assert_eq!(st["raftTerm"], ids.raft_term);
    assert_eq!(st["raftIndex"], raft_index);
    assert_eq!(st["raftAppliedIndex"], raft_index);
    assert!(st["dbSize"].as_u64().expect("dbSize") >= st["dbSizeInUse"].as_u64().expect("dbSizeInUse"));
    assert!(out.starts_with(&format!("[{{\"Endpoint\":\"{ep}\",\"Status\":{{\"header\":")), "{out}");

    // endpoint health: the verdict goes to stderr, stdout stays empty.
    let out = p.etcdctl(&["endpoint", "health"]).ok();
    assert_eq!(out.stdout, "");
    let line = out.stderr.trim_end();
    let prefix = format!("{ep} is healthy: successfully committed proposal: took = ");
    assert!(line.starts_with(&prefix) && !line.contains('\n'), "{out:#?}");
    let out = stdout_ok(&p, &["endpoint", "health", "-w", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v[0]["endpoint"], ep.as_str());
    assert_eq!(v[0]["health"], true);
    assert!(v[0]["took"].is_string());
    assert_eq!(v[0].as_object().expect("object").len(), 3, "{out}");

    // member list
    let hex = format!("{:x}", ids.member_id);
    assert_eq!(
        stdout_ok(&p, &["member", "list"]),
        format!("{hex}, started, default, {peer}, {client}, false\n")
    );
    let table = stdout_ok(&p, &["member", "list", "-w", "table"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert_eq!(status_cells(lines[1]), ["ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER"]);
    assert_eq!(status_cells(lines[3]), [hex.as_str(), "started", "default", &peer, &client, "false"]);
    let widths: Vec<usize> = [hex.len(), 7, 7, peer.len(), client.len(), 10].iter().map(|w| w + 2).collect();
    let border: String = widths.iter().map(|w| format!("+{}", "-".repeat(*w))).collect::<String>() + "+";
    assert_eq!(lines[0], border);
    assert_eq!(lines[2], border);
    assert_eq!(lines[4], border);
    assert_eq!(
        ids.normalise(&stdout_ok(&p, &["member", "list", "-w", "json"])),
        format!(
            "{{\"header\":{{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"raft_term\":<TERM>}},\
             \"members\":[{{\"ID\":<MEMBER_ID>,\"name\":\"default\",\"peerURLs\":[\"{peer}\"],\"clientURLs\":[\"{client}\"]}}]}}\n"
        )
    );
    assert_eq!(
        ids.normalise(&stdout_ok(&p, &["member", "list", "-w", "fields"])),
        format!(
            "\"ClusterID\" : <CLUSTER_ID>\n\"MemberID\" : <MEMBER_ID>\n\"Revision\" : 0\n\"RaftTerm\" : <TERM>\n\
             \"ID\" : <MEMBER_ID>\n\"Name\" : \"default\"\n\"PeerURL\" : \"{peer}\"\n\"ClientURL\" : \"{client}\"\n\
             \"IsLearner\" : false\n\n"
        )
    );

    assert_eq!(stdout_ok(&p, &["version"]), "etcdctl version: 3.4.23\nAPI version: 3.4\n");
}

/// A minimal protobuf reader for checking `-w protobuf` output.
mod pb {
    /// One top-level field: number and either a varint or a byte payload.
    #[derive(Debug)]
    pub enum Val<'a> {
        Varint(u64),
        Bytes(&'a [u8]),
    }

    fn read_varint(b: &[u8], i: &mut usize) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = b[*i];
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return v;
            }
        }
        panic!("varint too long");
    }

    pub fn parse(b: &[u8]) -> Vec<(u64, Val<'_>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let tag = read_varint(b, &mut i);
            match tag & 7 {
                0 => out.push((tag >> 3, Val::Varint(read_varint(b, &mut i)))),
                2 => {
                    let len = usize::try_from(read_varint(b, &mut i)).expect("len");
                    out.push((tag >> 3, Val::Bytes(&b[i..i + len])));
                    i += len;
                }
                w => panic!("unexpected wire type {w}"),
            }
        }
        out
    }

    pub fn varint(fields: &[(u64, Val<'_>)], n: u64) -> u64 {
        match fields.iter().find(|(f, _)| *f == n) {
            Some((_, Val::Varint(v))) => *v,
            other => panic!("field {n}: {other:?}"),
        }
    }

    pub fn bytes<'a>(fields: &[(u64, Val<'a>)], n: u64) -> &'a [u8] {
        match fields.iter().find(|(f, _)| *f == n) {
            Some((_, Val::Bytes(v))) => v,
            other => panic!("field {n}: {other:?}"),
        }
    }
}
