//! `/v2/stats/self` and `/v2/stats/leader` on a 3-member `--enable-v2`
//! cluster: the same fields with the same JSON types as etcd 3.4 on the
//! leader and on a follower (values differ run to run; the `*Rate` fields
//! are omitted by both while zero, so they are compared only when present),
//! and the follower's 403 for leader stats.

mod common;
#[path = "common/v2http.rs"]
mod v2http;

use std::collections::BTreeMap;
use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};
use serde_json::Value;

/// The JSON types of `v`, follower ids replaced by `<ID>`, rate fields dropped.
fn shape(v: &Value, under_followers: bool) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = BTreeMap::new();
            for (k, x) in m {
                if k.ends_with("Rate") {
                    assert!(x.is_number(), "{k} is {x}");
                    continue;
                }
                let key = if under_followers { "<ID>".to_string() } else { k.clone() };
                out.insert(key, shape(x, k == "followers"));
            }
            Value::Object(out.into_iter().collect())
        }
        Value::Number(_) => Value::String("number".into()),
        Value::String(_) => Value::String("string".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Array(_) => Value::String("array".into()),
        Value::Null => Value::String("null".into()),
    }
}

fn port(c: &Cluster, i: usize) -> u16 {
    c.client_url(i).rsplit(':').next().expect("port").parse().expect("port number")
}

/// (leader self, leader's leader stats, follower self, follower's leader stats status+body shape)
fn stats(opts: ClusterOpts) -> Vec<(String, u16, Value)> {
    let opts = ClusterOpts {
        args: vec!["--enable-v2".into()],
        ..opts
    };
    let mut c = Cluster::start(3, opts);
    let leader = c.wait_leader(Duration::from_secs(15));
    let follower = (leader + 1) % 3;
    for n in 0..20 {
        let r = v2http::v2(port(&c, leader), "PUT", "/v2/keys/s", &format!("value={n}"));
        assert!(r.status == 200 || r.status == 201, "{r:#?}");
    }
    let mut out = Vec::new();
    for (who, i) in [("leader", leader), ("follower", follower)] {
        for path in ["/v2/stats/self", "/v2/stats/leader"] {
            let r = v2http::v2(port(&c, i), "GET", path, "");
            out.push((format!("{who} {path}"), r.status, shape(&r.json(), false)));
        }
    }
    let r = v2http::v2(port(&c, follower), "GET", "/v2/stats/self", "");
    assert_eq!(r.json()["state"], "StateFollower", "{r:#?}");
    assert_eq!(r.json()["leaderInfo"]["leader"], format!("{:x}", c.member_id(leader)), "{r:#?}");
    let r = v2http::v2(port(&c, leader), "GET", "/v2/stats/leader", "");
    let followers = r.json()["followers"].as_object().expect("followers").len();
    assert_eq!(followers, 2, "{r:#?}");
    out
}

#[test]
fn self_and_leader_stats_have_etcds_fields() {
    let ours = stats(ClusterOpts::default());
    let real = stats(ClusterOpts::real_etcd());
    assert_eq!(ours, real);
}
