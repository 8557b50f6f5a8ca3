//! `<data-dir>/proxy/cluster`: the peer URLs a proxy last learned, so a
//! restarted proxy finds the cluster even if `--initial-cluster` is stale.
//!
//! Format (etcd 3.4's, byte for byte): one JSON object with a single field,
//! `{"PeerURLs":["http://10.0.0.1:2380",...]}`, URLs sorted, no newline.
//! Writes go to `cluster.bak`, are fsynced, then renamed over `cluster`, so
//! a crash leaves either the old or the new list, never a torn one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file's JSON shape.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ClusterFile {
    #[serde(rename = "PeerURLs", default)]
    peer_urls: Vec<String>,
}

/// Path of the cluster file in a proxy directory.
pub fn path(proxy_dir: &Path) -> PathBuf {
    proxy_dir.join("cluster")
}

/// The file's bytes for `peer_urls`.
pub fn encode(peer_urls: &[String]) -> Vec<u8> {
    serde_json::to_vec(&ClusterFile {
        peer_urls: peer_urls.to_vec(),
    })
    .expect("a list of strings always encodes")
}

/// The peer URLs in the file's bytes. A JSON `null` list reads as empty, as
/// Go's decoder does.
pub fn decode(bytes: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Loose {
        #[serde(rename = "PeerURLs", default)]
        peer_urls: Option<Vec<String>>,
    }
    let f: Loose = serde_json::from_slice(bytes)?;
    Ok(f.peer_urls.unwrap_or_default())
}

/// Reads the file: `Ok(None)` when it does not exist.
pub fn read(proxy_dir: &Path) -> anyhow::Result<Option<Vec<String>>> {
    match std::fs::read(path(proxy_dir)) {
        Ok(b) => Ok(Some(decode(&b)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Replaces the file atomically (write `cluster.bak`, fsync, rename).
pub fn write(proxy_dir: &Path, peer_urls: &[String]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let target = path(proxy_dir);
    let bak = proxy_dir.join("cluster.bak");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&bak)?;
    f.write_all(&encode(peer_urls))?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&bak, &target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_etcd() {
        let urls = vec![
            "http://127.0.0.1:2380".to_string(),
            "http://127.0.0.1:2381".to_string(),
        ];
        assert_eq!(
            encode(&urls),
            br#"{"PeerURLs":["http://127.0.0.1:2380","http://127.0.0.1:2381"]}"#
        );
        assert_eq!(encode(&[]), br#"{"PeerURLs":[]}"#);
    }

    #[test]
    fn decodes_what_etcd_writes_and_null() {
        let got = decode(br#"{"PeerURLs":["http://a:1"]}"#).expect("decode");
        assert_eq!(got, vec!["http://a:1".to_string()]);
        assert!(decode(br#"{"PeerURLs":null}"#).expect("null").is_empty());
        assert!(decode(b"{}").expect("empty object").is_empty());
        assert!(decode(b"not json").is_err());
    }

    #[test]
    fn write_then_read_round_trips_and_leaves_no_bak() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path()).expect("read"), None);
        let urls = vec!["http://127.0.0.1:1".to_string()];
        write(dir.path(), &urls).expect("write");
        write(dir.path(), &urls).expect("overwrite");
        assert_eq!(read(dir.path()).expect("read"), Some(urls));
        assert!(!dir.path().join("cluster.bak").exists());
    }
}
