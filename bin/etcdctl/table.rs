//! The `-w table` format (olekukonko/tablewriter as etcdctl uses it:
//! upper-case centred headers, right-aligned cells, `+---+` borders) and
//! the row builders shared with the simple format.

use etcd_proto::etcdserverpb::{HashKvResponse, MemberListResponse, StatusResponse};

use crate::gofmt::humanize_bytes;
use crate::printer::EpHealth;

/// Header and rows of `member list`.
pub fn member_rows(r: &MemberListResponse) -> (Vec<String>, Vec<Vec<String>>) {
    let hdr = [
        "ID",
        "Status",
        "Name",
        "Peer Addrs",
        "Client Addrs",
        "Is Learner",
    ];
    let rows = r
        .members
        .iter()
        .map(|m| {
            vec![
                format!("{:x}", m.id),
                if m.name.is_empty() {
                    "unstarted"
                } else {
                    "started"
                }
                .to_string(),
                m.name.clone(),
                m.peer_ur_ls.join(","),
                m.client_ur_ls.join(","),
                m.is_learner.to_string(),
            ]
        })
        .collect();
    (hdr.iter().map(|s| s.to_string()).collect(), rows)
}

/// Header and rows of `endpoint health`.
pub fn health_rows(hs: &[EpHealth]) -> (Vec<String>, Vec<Vec<String>>) {
    let hdr = ["endpoint", "health", "took", "error"];
    let rows = hs
        .iter()
        .map(|h| {
            vec![
                h.ep.clone(),
                h.health.to_string(),
                h.took.clone(),
                h.error.clone(),
            ]
        })
        .collect();
    (hdr.iter().map(|s| s.to_string()).collect(), rows)
}

/// Header and rows of `endpoint status`.
pub fn status_rows(st: &[(String, StatusResponse)]) -> (Vec<String>, Vec<Vec<String>>) {
    let hdr = [
        "endpoint",
        "ID",
        "version",
        "db size",
        "is leader",
        "is learner",
        "raft term",
        "raft index",
        "raft applied index",
        "errors",
    ];
    let rows = st
        .iter()
        .map(|(ep, r)| {
            let member = r.header.as_ref().map(|h| h.member_id).unwrap_or(0);
            vec![
                ep.clone(),
                format!("{member:x}"),
                r.version.clone(),
                humanize_bytes(r.db_size.max(0) as u64),
                (r.leader == member).to_string(),
                r.is_learner.to_string(),
                r.raft_term.to_string(),
                r.raft_index.to_string(),
                r.raft_applied_index.to_string(),
                r.errors.join(", "),
            ]
        })
        .collect();
    (hdr.iter().map(|s| s.to_string()).collect(), rows)
}

/// Header and rows of `endpoint hashkv`.
pub fn hashkv_rows(hs: &[(String, HashKvResponse)]) -> (Vec<String>, Vec<Vec<String>>) {
    let rows = hs
        .iter()
        .map(|(ep, r)| vec![ep.clone(), r.hash.to_string()])
        .collect();
    (vec!["endpoint".into(), "hash".into()], rows)
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// Renders a table.
pub fn render(hdr: &[String], rows: &[Vec<String>]) -> String {
    let titles: Vec<String> = hdr.iter().map(|h| h.to_uppercase()).collect();
    let mut w: Vec<usize> = titles.iter().map(|t| width(t)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(width(c));
        }
    }
    let border: String = {
        let mut s = String::from("+");
        for x in &w {
            s.push_str(&"-".repeat(x + 2));
            s.push('+');
        }
        s.push('\n');
        s
    };
    let mut out = border.clone();
    out.push('|');
    for (t, x) in titles.iter().zip(&w) {
        let pad = x - width(t);
        let left = pad / 2;
        out.push_str(&format!(
            " {}{}{} |",
            " ".repeat(left),
            t,
            " ".repeat(pad - left)
        ));
    }
    out.push('\n');
    out.push_str(&border);
    for r in rows {
        out.push('|');
        for (c, x) in r.iter().zip(&w) {
            out.push_str(&format!(" {}{} |", " ".repeat(x - width(c)), c));
        }
        out.push('\n');
    }
    out.push_str(&border);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_tablewriter() {
        let t = render(
            &["endpoint".into(), "hash".into()],
            &[vec!["127.0.0.1:23790".into(), "1327823584".into()]],
        );
        assert_eq!(
            t,
            "+-----------------+------------+\n|    ENDPOINT     |    HASH    |\n+-----------------+------------+\n| 127.0.0.1:23790 | 1327823584 |\n+-----------------+------------+\n"
        );
    }
}
