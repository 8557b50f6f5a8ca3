//! Learning the cluster from its members (etcd's
//! `GetClusterFromRemotePeers`): `GET <peerURL>/members` on each known peer
//! URL in turn, the first usable answer wins.
//!
//! An answer is usable when its body is a JSON member list and it carries a
//! hex `X-Etcd-Cluster-ID`; an empty member list ends the search with an
//! error (as etcd). The HTTP status is not looked at (nor does etcd). Each
//! peer gets [`PEER_TIMEOUT`]. The parsing is pure ([`parse_answer`]); only
//! [`fetch`] does I/O.

use std::collections::BTreeMap;
use std::time::Duration;

use etcd_server::membership::Member;
use etcd_transport::tls_dial::PeerDialer;

/// Upper bound on one peer's `/members` answer (etcd's 10 s client timeout).
pub const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// What the cluster told us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteCluster {
    /// Every member's client URLs, sorted (the proxy's endpoints).
    pub client_urls: Vec<String>,
    /// Every member's peer URLs, sorted (saved in the cluster file).
    pub peer_urls: Vec<String>,
}

/// Why one peer's answer was not used.
#[derive(Debug, PartialEq, Eq)]
pub enum AnswerError {
    /// Try the next peer (etcd logs and continues).
    Skip(String),
    /// Stop searching (the member list was empty).
    Fatal(String),
}

/// Interprets one `/members` answer.
pub fn parse_answer(cluster_id: Option<&str>, body: &[u8]) -> Result<RemoteCluster, AnswerError> {
    let members: Vec<Member> = serde_json::from_slice(body)
        .map_err(|e| AnswerError::Skip(format!("could not unmarshal cluster response: {e}")))?;
    let id_ok = cluster_id.is_some_and(|s| u64::from_str_radix(s, 16).is_ok());
    if !id_ok {
        return Err(AnswerError::Skip(format!(
            "could not parse the cluster ID from cluster res: {:?}",
            cluster_id.unwrap_or("")
        )));
    }
    if members.is_empty() {
        return Err(AnswerError::Fatal(
            "failed to get raft cluster member(s) from the given URLs".into(),
        ));
    }
    // Keyed by id, as etcd's cluster map: a repeated id counts once.
    let by_id: BTreeMap<u64, Member> = members.into_iter().map(|m| (m.id, m)).collect();
    let mut client_urls: Vec<String> = by_id.values().flat_map(|m| m.client_urls.clone()).collect();
    let mut peer_urls: Vec<String> = by_id.values().flat_map(|m| m.peer_urls.clone()).collect();
    client_urls.sort();
    peer_urls.sort();
    Ok(RemoteCluster {
        client_urls,
        peer_urls,
    })
}

/// Asks each of `peer_urls` in turn; logs each failure as etcd does.
pub async fn fetch(dialer: &PeerDialer, peer_urls: &[String]) -> Result<RemoteCluster, String> {
    for url in peer_urls {
        let resp = match etcd_transport::fetch::get_with(dialer, url, "/members", PEER_TIMEOUT)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(target: "etcdserver", "could not get cluster response from {url}: {e}");
                continue;
            }
        };
        let id = resp.cluster_id.map(|id| format!("{id:x}"));
        match parse_answer(id.as_deref(), &resp.body) {
            Ok(c) => return Ok(c),
            Err(AnswerError::Skip(why)) => {
                tracing::warn!(target: "etcdserver", "{why}");
            }
            Err(AnswerError::Fatal(why)) => return Err(why),
        }
    }
    Err("could not retrieve cluster information from the given URLs".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"[
        {"id":2,"name":"b","peerURLs":["http://p2"],"clientURLs":["http://c2"]},
        {"id":1,"name":"a","peerURLs":["http://p1"],"clientURLs":["http://c1","http://c0"]},
        {"id":2,"name":"b","peerURLs":["http://p2"],"clientURLs":["http://c2"]}
    ]"#;

    #[test]
    fn urls_are_sorted_and_members_counted_once() {
        let c = parse_answer(Some("abc"), TWO.as_bytes()).expect("usable");
        assert_eq!(c.client_urls, ["http://c0", "http://c1", "http://c2"]);
        assert_eq!(c.peer_urls, ["http://p1", "http://p2"]);
    }

    #[test]
    fn unpublished_member_has_no_client_urls() {
        let body = r#"[{"id":1,"peerURLs":["http://p1"]}]"#;
        let c = parse_answer(Some("1"), body.as_bytes()).expect("usable");
        assert!(c.client_urls.is_empty());
        assert_eq!(c.peer_urls, ["http://p1"]);
    }

    #[test]
    fn bad_answers_are_skipped_and_an_empty_list_stops() {
        assert!(matches!(
            parse_answer(Some("1"), b"404 page not found"),
            Err(AnswerError::Skip(_))
        ));
        assert!(matches!(
            parse_answer(None, TWO.as_bytes()),
            Err(AnswerError::Skip(_))
        ));
        assert!(matches!(
            parse_answer(Some("zz"), TWO.as_bytes()),
            Err(AnswerError::Skip(_))
        ));
        assert!(matches!(
            parse_answer(Some("1"), b"[]"),
            Err(AnswerError::Fatal(_))
        ));
    }
}
