//! Cluster membership: members, their ids and the cluster id, derived exactly
//! as etcd derives them so ids match between etcd and etcd-rs for the same
//! flags (sha1 of sorted peer URLs + cluster token; cluster id = sha1 of the
//! sorted member ids).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// One member of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Member id.
    pub id: u64,
    /// Peer URLs (sorted).
    #[serde(rename = "peerURLs")]
    pub peer_urls: Vec<String>,
    /// Raft learner (non-voting).
    #[serde(rename = "isLearner", default, skip_serializing_if = "std::ops::Not::not")]
    pub is_learner: bool,
    /// Name; empty until the member has published it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Client URLs; empty until published.
    #[serde(rename = "clientURLs", default, skip_serializing_if = "Vec::is_empty")]
    pub client_urls: Vec<String>,
}

impl Member {
    /// A member as etcd's `NewMember` builds it (no time component).
    pub fn new(name: &str, peer_urls: &[String], cluster_token: &str) -> Member {
        let mut urls = peer_urls.to_vec();
        urls.sort();
        let mut h = Sha1::new();
        for u in &urls {
            h.update(u.as_bytes());
        }
        h.update(cluster_token.as_bytes());
        let digest = h.finalize();
        let id = u64::from_be_bytes(digest[..8].try_into().expect("sha1 is 20 bytes"));
        Member { id, peer_urls: urls, is_learner: false, name: name.to_string(), client_urls: vec![] }
    }

    /// Converts to the gRPC message.
    pub fn to_proto(&self) -> etcd_proto::etcdserverpb::Member {
        etcd_proto::etcdserverpb::Member {
            id: self.id,
            name: self.name.clone(),
            peer_ur_ls: self.peer_urls.clone(),
            client_ur_ls: self.client_urls.clone(),
            is_learner: self.is_learner,
        }
    }
}

/// The cluster id etcd derives from the member ids.
pub fn cluster_id(member_ids: &[u64]) -> u64 {
    let mut ids = member_ids.to_vec();
    ids.sort_unstable();
    let mut h = Sha1::new();
    for id in ids {
        h.update(id.to_be_bytes());
    }
    let digest = h.finalize();
    u64::from_be_bytes(digest[..8].try_into().expect("sha1 is 20 bytes"))
}

/// Parses `--initial-cluster` (`name=url,name=url2,...`) with etcd's
/// `types.NewURLsMap` rules and messages: name → its peer URLs, validated
/// and sorted (an entry without `=` is a name with an empty, invalid URL).
pub fn parse_initial_cluster(s: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    Ok(crate::etcd_url::parse_urls_map(s)?
        .into_iter()
        .map(|(name, urls)| (name, urls.iter().map(|u| u.as_str().to_string()).collect()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_real_etcd() {
        // Observed from etcd 3.4.23 started with
        // --initial-cluster default=http://127.0.0.1:23800 (token etcd-cluster):
        // member 2e1259d415f2a040 in cluster 48276a8f75b6a87.
        let m = Member::new("default", &["http://127.0.0.1:23800".into()], "etcd-cluster");
        assert_eq!(format!("{:x}", m.id), "2e1259d415f2a040");
        assert_eq!(format!("{:x}", cluster_id(&[m.id])), "48276a8f75b6a87");
    }

    #[test]
    fn ids_match_etcds_procfile_cluster() {
        // etcd's Procfile cluster (token etcd-cluster-1), ids as `member list`
        // prints them in ../shared/seeds/003.
        for (name, url, id) in [
            ("infra1", "http://127.0.0.1:12380", "8211f1d0f64f3269"),
            ("infra2", "http://127.0.0.1:22380", "91bc3c398fb3c146"),
            ("infra3", "http://127.0.0.1:32380", "fd422379fda50e48"),
        ] {
            let m = Member::new(name, &[url.to_string()], "etcd-cluster-1");
            assert_eq!(format!("{:x}", m.id), id, "{name}");
        }
    }

    #[test]
    fn initial_cluster_parses() {
        let m = parse_initial_cluster("a=http://x:1,b=http://y:2,a=http://z:3").unwrap();
        assert_eq!(m["a"], vec!["http://x:1", "http://z:3"]);
        assert_eq!(
            parse_initial_cluster("bogus"),
            Err("URL scheme must be http, https, unix, or unixs: ".to_string())
        );
    }
}

/// The context of a membership conf change (etcd's `ConfigChangeContext`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfChangeContext {
    /// The member added (or promoted: only its id matters).
    #[serde(rename = "Member")]
    pub member: Member,
    /// A learner being promoted to voter.
    #[serde(rename = "IsPromote", default)]
    pub is_promote: bool,
}

impl ConfChangeContext {
    /// Parses a conf change context; a bare member (as bootstrap writes) is
    /// accepted too.
    pub fn parse(b: &[u8]) -> Option<ConfChangeContext> {
        serde_json::from_slice::<ConfChangeContext>(b)
            .ok()
            .or_else(|| serde_json::from_slice::<Member>(b).ok().map(|member| ConfChangeContext { member, is_promote: false }))
    }
}

impl Member {
    /// A member added at runtime, as etcd's MemberAdd builds it: no name yet,
    /// and the current time in the id hash so re-adding a URL gives a new id.
    pub fn new_at(peer_urls: &[String], unix_secs: u64) -> Member {
        let mut urls = peer_urls.to_vec();
        urls.sort();
        let mut h = Sha1::new();
        for u in &urls {
            h.update(u.as_bytes());
        }
        h.update(unix_secs.to_string().as_bytes());
        let digest = h.finalize();
        let id = u64::from_be_bytes(digest[..8].try_into().expect("sha1 is 20 bytes"));
        Member { id, peer_urls: urls, is_learner: false, name: String::new(), client_urls: vec![] }
    }

    /// A member has started once it published its name (etcd's `IsStarted`).
    pub fn is_started(&self) -> bool {
        !self.name.is_empty()
    }
}
