//! What a data dir was initialised as (etcd's `identifyDataDirOrDie`):
//! `member/` means a member, `proxy/` a v2 proxy, neither an empty dir.
//! An initialised dir decides how etcd starts, whatever the flags say.
//!
//! Contract: other entries are reported (etcd warns about them and goes
//! on); a dir holding both `member/` and `proxy/` is an error, with etcd's
//! message; a data dir that does not exist is empty.

use std::path::Path;

/// How a data dir was initialised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nothing yet.
    Empty,
    /// `member/`.
    Member,
    /// `proxy/`.
    Proxy,
}

impl Kind {
    /// etcd's name for it in log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Empty => "empty",
            Kind::Member => "member",
            Kind::Proxy => "proxy",
        }
    }
}

/// Classifies the entry names of a data dir; the second value lists the
/// names that are neither `member` nor `proxy`.
pub fn classify<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(Kind, Vec<String>), String> {
    let (mut member, mut proxy, mut other) = (false, false, Vec::new());
    for name in names {
        match name {
            "member" => member = true,
            "proxy" => proxy = true,
            n => other.push(n.to_string()),
        }
    }
    other.sort();
    match (member, proxy) {
        (true, true) => Err("invalid datadir. Both member and proxy directories exist.".into()),
        (true, false) => Ok((Kind::Member, other)),
        (false, true) => Ok((Kind::Proxy, other)),
        (false, false) => Ok((Kind::Empty, other)),
    }
}

/// Reads and classifies `dir`, logging etcd's warnings and notice.
pub fn identify(dir: &str) -> anyhow::Result<Kind> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Kind::Empty),
        Err(_) => anyhow::bail!("error listing data dir: {dir}"),
    };
    let mut names = Vec::new();
    for e in entries {
        names.push(e?.file_name().to_string_lossy().into_owned());
    }
    let (kind, other) = classify(names.iter().map(String::as_str)).map_err(anyhow::Error::msg)?;
    for name in other {
        tracing::warn!(target: "etcdmain", "found invalid file/dir {name} under data dir {dir} (Ignore this if you are upgrading etcd)");
    }
    if kind != Kind::Empty {
        let k = kind.as_str();
        tracing::info!(target: "etcdmain", notice = true, "the server is already initialized as {k} before, starting as etcd {k}...");
    }
    Ok(kind)
}

/// Creates `dir` and its parents, owner-only (etcd's `TouchDirAll`, 0700).
pub fn create_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_like_etcd() {
        assert_eq!(classify([]).expect("empty"), (Kind::Empty, vec![]));
        assert_eq!(classify(["member"]).expect("m"), (Kind::Member, vec![]));
        assert_eq!(
            classify(["proxy", "x"]).expect("p"),
            (Kind::Proxy, vec!["x".to_string()])
        );
        assert_eq!(
            classify(["member", "proxy"]).expect_err("both"),
            "invalid datadir. Both member and proxy directories exist."
        );
    }

    #[test]
    fn missing_dir_is_empty_and_proxy_dir_is_proxy() {
        let d = tempfile::tempdir().expect("tempdir");
        let missing = d.path().join("nope");
        assert_eq!(
            identify(missing.to_str().expect("utf8")).expect("identify"),
            Kind::Empty
        );
        create_private(&d.path().join("proxy")).expect("mkdir");
        assert_eq!(
            identify(d.path().to_str().expect("utf8")).expect("identify"),
            Kind::Proxy
        );
    }
}
