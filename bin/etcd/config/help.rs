//! `etcd --help` and `etcd --version` texts.
//!
//! Like etcd, help is two parts: the short usage goes to stderr (it is also what a
//! command-line error prints after the message) and the flag listing goes to stdout.
//! The listing is rendered from the flag table, so it can never name a flag we do not
//! accept, and keeps etcd's sections, flag order and shown defaults.

use super::flags::{Group, FLAGS};

/// The short usage, printed to stderr after a command-line error and for `--help`.
pub const USAGE: &str = "Usage:

  etcd [flags]
    Start an etcd server.

  etcd --version
    Show the version of etcd.

  etcd -h | --help
    Show the help information about etcd.

  etcd --config-file
    Path to the server configuration file. Note that if a configuration file is provided, other command line flags and environment variables will be ignored.

  etcd gateway
    Run the stateless pass-through etcd TCP connection forwarding proxy.

  etcd grpc-proxy
    Run the stateless etcd v3 gRPC L7 reverse proxy.
";

/// What `--help` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Help {
    /// Written to stderr first (etcd prints its usage there).
    pub stderr: String,
    /// Written to stdout: the flag listing.
    pub stdout: String,
}

impl Help {
    /// Builds the help texts.
    pub fn new() -> Help {
        Help {
            stderr: format!("{USAGE}\n"),
            stdout: format!("{}\n", flags_listing()),
        }
    }

    /// Prints both parts to their streams.
    pub fn print(&self) {
        eprint!("{}", self.stderr);
        print!("{}", self.stdout);
    }
}

/// The `--version` text.
pub fn version_text() -> String {
    format!(
        "etcd Version: 3.4.23\nGit SHA: etcd-rs {}\nGo Version: rust\nGo OS/Arch: linux/amd64\n",
        env!("CARGO_PKG_VERSION")
    )
}

fn heading(group: Group) -> &'static str {
    match group {
        Group::Member => "Member:",
        Group::Clustering => "Clustering:",
        Group::Security => "Security:",
        Group::Auth => "Auth:",
        Group::Profiling => "Profiling and Monitoring:",
        Group::Logging => "Logging:",
        Group::Proxy => "v2 Proxy (to be deprecated in v4):",
        Group::Experimental => "Experimental feature:",
        Group::Unsafe => "Unsafe feature:",
        Group::Deprecated => "TO BE DEPRECATED:\n",
    }
}

fn trailer(group: Group) -> &'static str {
    match group {
        Group::Unsafe => {
            "\nCAUTIOUS with unsafe flag! It may break the guarantees given by the consensus protocol!\n"
        }
        _ => "",
    }
}

/// The flag listing, section by section.
fn flags_listing() -> String {
    let mut out = String::new();
    for group in Group::ALL {
        out.push('\n');
        out.push_str(heading(group));
        out.push('\n');
        for flag in FLAGS.iter().filter(|f| f.group == Some(group)) {
            out.push_str(&format!(
                "  --{} {}\n    {}\n",
                flag.name, flag.shown_default, flag.help
            ));
        }
        out.push_str(trailer(group));
    }
    out
}

impl Default for Help {
    fn default() -> Help {
        Help::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every flag real etcd 3.4.23's `--help` lists, with the default it shows.
    const ETCD_LISTING: &[&str] = &[
        "--name 'default'",
        "--data-dir '${name}.etcd'",
        "--wal-dir ''",
        "--snapshot-count '100000'",
        "--heartbeat-interval '100'",
        "--election-timeout '1000'",
        "--initial-election-tick-advance 'true'",
        "--listen-peer-urls 'http://localhost:2380'",
        "--listen-client-urls 'http://localhost:2379'",
        "--max-snapshots '5'",
        "--max-wals '5'",
        "--quota-backend-bytes '0'",
        "--backend-batch-interval ''",
        "--backend-batch-limit '0'",
        "--max-txn-ops '128'",
        "--max-request-bytes '1572864'",
        "--max-concurrent-streams 'math.MaxUint32'",
        "--grpc-keepalive-min-time '5s'",
        "--grpc-keepalive-interval '2h'",
        "--grpc-keepalive-timeout '20s'",
        "--initial-advertise-peer-urls 'http://localhost:2380'",
        "--initial-cluster 'default=http://localhost:2380'",
        "--initial-cluster-state 'new'",
        "--initial-cluster-token 'etcd-cluster'",
        "--advertise-client-urls 'http://localhost:2379'",
        "--discovery ''",
        "--discovery-fallback 'proxy'",
        "--discovery-proxy ''",
        "--discovery-srv ''",
        "--discovery-srv-name ''",
        "--strict-reconfig-check 'true'",
        "--pre-vote 'false'",
        "--auto-compaction-retention '0'",
        "--auto-compaction-mode 'periodic'",
        "--enable-v2 'false'",
        "--cert-file ''",
        "--key-file ''",
        "--client-cert-auth 'false'",
        "--client-crl-file ''",
        "--client-cert-allowed-hostname ''",
        "--trusted-ca-file ''",
        "--auto-tls 'false'",
        "--peer-cert-file ''",
        "--peer-key-file ''",
        "--peer-client-cert-auth 'false'",
        "--peer-trusted-ca-file ''",
        "--peer-cert-allowed-cn ''",
        "--peer-cert-allowed-hostname ''",
        "--peer-auto-tls 'false'",
        "--peer-crl-file ''",
        "--cipher-suites ''",
        "--cors '*'",
        "--host-whitelist '*'",
        "--auth-token 'simple'",
        "--bcrypt-cost 10",
        "--auth-token-ttl 300",
        "--enable-pprof 'false'",
        "--metrics 'basic'",
        "--listen-metrics-urls ''",
        "--logger 'capnslog'",
        "--log-outputs 'default'",
        "--log-level 'info'",
        "--proxy 'off'",
        "--proxy-failure-wait 5000",
        "--proxy-refresh-interval 30000",
        "--proxy-dial-timeout 1000",
        "--proxy-write-timeout 5000",
        "--proxy-read-timeout 0",
        "--experimental-initial-corrupt-check 'false'",
        "--experimental-corrupt-check-time '0s'",
        "--experimental-enable-v2v3 ''",
        "--experimental-backend-bbolt-freelist-type 'array'",
        "--experimental-enable-lease-checkpoint 'false'",
        "--experimental-compaction-batch-limit 1000",
        "--experimental-peer-skip-client-san-verification 'false'",
        "--experimental-watch-progress-notify-interval '10m'",
        "--experimental-warning-apply-duration '100ms'",
        "--force-new-cluster 'false'",
        "--debug 'false'",
        "--log-package-levels ''",
    ];

    #[test]
    fn listing_matches_etcd_flag_for_flag() {
        let help = Help::new();
        let ours: Vec<&str> = help
            .stdout
            .lines()
            .filter(|l| l.starts_with("  --"))
            .map(str::trim)
            .collect();
        assert_eq!(ours, ETCD_LISTING);
        assert!(help.stdout.starts_with("\nMember:\n  --name 'default'\n"));
        assert!(help
            .stdout
            .ends_with("(e.g. 'etcdmain=CRITICAL,etcdserver=DEBUG').\n\n"));
        assert!(help.stdout.contains("\nTO BE DEPRECATED:\n\n  --debug"));
        assert!(help.stderr.starts_with("Usage:\n\n  etcd [flags]\n"));
    }

    #[test]
    fn version_layout() {
        let v = version_text();
        let keys: Vec<&str> = v.lines().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(
            keys,
            ["etcd Version", "Git SHA", "Go Version", "Go OS/Arch"]
        );
        assert!(v.starts_with("etcd Version: 3.4.23\nGit SHA: etcd-rs "));
    }
}
