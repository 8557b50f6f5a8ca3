//! Whole-pipeline tests of `parse`, with expectations taken from etcd 3.4.23's behaviour.

use std::collections::HashMap;
use std::io::Write;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn run_with_env(args: &[&str], env: &HashMap<String, String>) -> EtcdConfig {
    match parse(args.iter().map(|s| s.to_string()).collect(), env) {
        Ok(ParseOutcome::Run(c)) => *c,
        other => panic!("expected a config for {args:?}, got {other:?}"),
    }
}

fn run(args: &[&str]) -> EtcdConfig {
    run_with_env(args, &HashMap::new())
}

fn error(args: &[&str]) -> ConfigError {
    match parse(
        args.iter().map(|s| s.to_string()).collect(),
        &HashMap::new(),
    ) {
        Err(e) => e,
        Ok(other) => panic!("expected an error for {args:?}, got {other:?}"),
    }
}

fn urls(list: &[EtcdUrl]) -> String {
    join_urls(list)
}

#[test]
fn defaults_are_etcds() {
    let c = run(&[]);
    assert_eq!(c.name, "default");
    assert_eq!(c.data_dir, "default.etcd");
    assert_eq!(c.wal_dir, "");
    assert_eq!(urls(&c.listen_client_urls), "http://localhost:2379");
    assert_eq!(urls(&c.advertise_client_urls), "http://localhost:2379");
    assert_eq!(urls(&c.listen_peer_urls), "http://localhost:2380");
    assert_eq!(
        urls(&c.initial_advertise_peer_urls),
        "http://localhost:2380"
    );
    assert_eq!(c.initial_cluster, "default=http://localhost:2380");
    assert_eq!(c.initial_cluster_state, ClusterState::New);
    assert_eq!(c.initial_cluster_token, "etcd-cluster");
    assert_eq!(c.snapshot_count, 100_000);
    assert_eq!(
        (c.heartbeat_interval_ms, c.election_timeout_ms),
        (100, 1000)
    );
    assert_eq!(c.election_ticks(), 10);
    assert_eq!((c.max_txn_ops, c.max_request_bytes), (128, 1_572_864));
    assert_eq!(c.quota_backend_bytes, 0);
    assert_eq!((c.max_snapshots, c.max_wals), (5, 5));
    assert_eq!(c.max_concurrent_streams, u32::MAX);
    assert_eq!(c.grpc_keepalive_interval_ms, 2 * 3600 * 1000);
    assert_eq!(c.experimental_warning_apply_duration_ms, 100);
    assert_eq!(
        (c.logger.as_str(), c.log_level.as_str()),
        ("capnslog", "info")
    );
    assert_eq!(c.log_outputs, ["default"]);
    assert_eq!(
        (c.cors.clone(), c.host_whitelist.clone()),
        (vec!["*".to_string()], vec!["*".to_string()])
    );
    assert!(c.strict_reconfig_check && c.initial_election_tick_advance && c.enable_grpc_gateway);
    assert!(!c.enable_v2 && !c.pre_vote && !c.force_new_cluster);
    assert_eq!(
        (c.auth_token.as_str(), c.bcrypt_cost, c.auth_token_ttl_secs),
        ("simple", 10, 300)
    );
    assert!(c.explicitly_set().is_empty());
    assert!(c.check_implemented().is_ok());
    assert_eq!(
        c.startup_logs,
        vec![StartupLog::DataDirDefaulted {
            data_dir: "default.etcd".into()
        }]
    );
    assert_eq!(
        c.listen_client_urls[0].socket_addr(),
        Some("127.0.0.1:2379".parse().unwrap())
    );
    assert_eq!(
        c.log_settings(),
        LogSettings {
            logger: "capnslog".into(),
            level: "info".into(),
            outputs: vec!["default".into()]
        }
    );
}

#[test]
fn typical_member_command_line() {
    let c = run(&[
        "--name",
        "infra1",
        "--data-dir=/var/lib/etcd",
        "-listen-client-urls",
        "http://127.0.0.1:2379,http://10.0.0.1:2379",
        "--advertise-client-urls",
        "http://10.0.0.1:2379",
        "--listen-peer-urls",
        "http://10.0.0.1:2380",
        "--initial-advertise-peer-urls",
        "http://10.0.0.1:2380",
        "--initial-cluster",
        "infra1=http://10.0.0.1:2380,infra2=http://10.0.0.2:2380",
        "--initial-cluster-state",
        "existing",
        "--heartbeat-interval",
        "50",
        "--election-timeout",
        "500",
        "--quota-backend-bytes",
        "8589934592",
        "--logger",
        "zap",
        "--log-outputs",
        "stdout",
    ]);
    assert_eq!(c.name, "infra1");
    assert_eq!(c.data_dir, "/var/lib/etcd");
    assert_eq!(
        urls(&c.listen_client_urls),
        "http://10.0.0.1:2379,http://127.0.0.1:2379"
    );
    assert_eq!(c.initial_cluster_state, ClusterState::Existing);
    assert_eq!(c.initial_cluster_map().unwrap().len(), 2);
    assert_eq!(c.quota_backend_bytes, 8_589_934_592);
    assert_eq!(c.log_outputs, ["stdout"]);
    assert!(c.startup_logs.is_empty());
    let set: Vec<&str> = c.explicitly_set().iter().map(String::as_str).collect();
    assert!(set.contains(&"initial-cluster") && set.contains(&"logger") && !set.contains(&"debug"));
    // Every flag here is honoured, the quota among them.
    assert!(c.check_implemented().is_ok());
}

#[test]
fn initial_cluster_follows_a_non_default_name() {
    let c = run(&[
        "--name",
        "abc",
        "--initial-advertise-peer-urls",
        "http://10.0.0.9:2380",
    ]);
    assert_eq!(c.initial_cluster, "abc=http://10.0.0.9:2380");
    // etcd keeps its default cluster for the default name, even with other peer URLs.
    let c = run(&["--initial-advertise-peer-urls", "http://10.0.0.9:2380"]);
    assert_eq!(c.initial_cluster, "default=http://localhost:2380");
    // An explicit cluster is kept.
    let c = run(&[
        "--name",
        "abc",
        "--initial-cluster",
        "abc=http://1.2.3.4:2380",
    ]);
    assert_eq!(c.initial_cluster, "abc=http://1.2.3.4:2380");
    // Discovery drops the default cluster instead of conflicting with it.
    let c = run(&["--discovery", "https://discovery.etcd.io/x"]);
    assert_eq!(c.initial_cluster, "");
}

#[test]
fn default_host_replaces_localhost_advertise_for_wildcard_listen() {
    let mut c = run(&[
        "--name",
        "n1",
        "--listen-peer-urls",
        "http://0.0.0.0:2380",
        "--listen-client-urls",
        "http://0.0.0.0:2379",
        "--advertise-client-urls",
        "http://localhost:2379",
    ]);
    assert_eq!(c.initial_cluster, "n1=http://localhost:2380");
    assert!(c.apply_default_host("10.1.2.3"));
    assert_eq!(urls(&c.initial_advertise_peer_urls), "http://10.1.2.3:2380");
    assert_eq!(urls(&c.advertise_client_urls), "http://10.1.2.3:2379");
    assert_eq!(c.initial_cluster, "n1=http://10.1.2.3:2380");
    assert!(!run(&[]).apply_default_host("10.1.2.3"));
}

#[test]
fn validation_messages_are_etcds() {
    let cases: &[(&[&str], &str)] = &[
        (&["--election-timeout", "100"], "--election-timeout[100ms] should be at least as 5 times as --heartbeat-interval[100ms]"),
        (&["--heartbeat-interval", "0"], "--heartbeat-interval must be >0 (set to 0ms)"),
        (&["--election-timeout", "0"], "--election-timeout must be >0 (set to 0ms)"),
        (&["--election-timeout", "99999999"], "--election-timeout[99999999ms] is too long, and should be set less than 50000ms"),
        (&["--listen-client-urls", "http://127.0.0.1:1"], "--advertise-client-urls is required when --listen-client-urls is set explicitly"),
        (&["--listen-client-urls", "http://foo.com:1", "--advertise-client-urls", "http://foo:2"], "expected IP in URL for binding (http://foo.com:1)"),
        (&["--advertise-client-urls", "http://:2379"], "--advertise-client-urls \"http://:2379\" must be \"host:port\" (unexpected empty host (http://:2379))"),
        (&["--initial-cluster", "a=http://x:1", "--discovery", "http://foo"], "multiple discovery or bootstrap flags are set. Choose one of \"initial-cluster\", \"discovery\" or \"discovery-srv\""),
        (&["--auto-compaction-mode", "x"], "unknown auto-compaction-mode \"x\""),
        (&["--logger", "foo"], "unknown logger option \"foo\""),
        (&["--log-level", "foo"], "unknown level \"foo\""),
        (&["--log-outputs", "stderr,stdout"], "--logger=capnslog supports only 1 value in '--log-outputs', got [\"stderr\" \"stdout\"]"),
        (&["--log-outputs", "/tmp/x.log"], "unknown log-output \"/tmp/x.log\" (only supports \"default\", \"stderr\", \"stdout\")"),
        (&["--logger", "zap", "--log-outputs", "default,stderr"], "multi logoutput for \"default\" is not supported yet"),
        (&["--experimental-enable-lease-checkpoint-persist"], "setting experimental-enable-lease-checkpoint-persist requires experimental-enable-lease-checkpoint"),
        (&["--name", "x", "extra"], "'extra' is not a valid flag"),
    ];
    for (args, message) in cases {
        let err = error(args);
        assert!(matches!(err, ConfigError::Invalid(_)), "{args:?}: {err:?}");
        assert_eq!(err.to_string(), *message, "{args:?}");
        assert_eq!(err.exit_code(), 1);
    }
    match error(&["--listen-client-urls", "http://127.0.0.1:1"]) {
        ConfigError::Invalid(inv) => {
            assert!(inv.advertise_client_urls_unset);
            assert_eq!(inv.logging.unwrap().logger, "capnslog");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn proxy_mode_does_not_need_advertise_urls() {
    let c = run(&[
        "--listen-client-urls",
        "http://127.0.0.1:1",
        "--proxy",
        "on",
    ]);
    assert_eq!(urls(&c.advertise_client_urls), "http://localhost:2379");
}

#[test]
fn usage_errors_exit_2() {
    let err = error(&["--bogus"]);
    assert_eq!(err.to_string(), "flag provided but not defined: -bogus");
    assert_eq!(err.exit_code(), 2);
    assert!(matches!(error(&["--name"]), ConfigError::Usage(_)));
}

#[test]
fn help_and_version() {
    let none = HashMap::new();
    for flag in ["-h", "--help", "-help"] {
        match parse(vec![flag.to_string()], &none).unwrap() {
            ParseOutcome::PrintHelp(h) => assert!(h.stdout.contains("--initial-cluster-token")),
            other => panic!("{other:?}"),
        }
    }
    match parse(vec!["-version".to_string()], &none).unwrap() {
        ParseOutcome::PrintVersion(v) => assert!(v.starts_with("etcd Version: 3.4.23\n")),
        other => panic!("{other:?}"),
    }
    // `--version=false` runs normally.
    assert!(matches!(
        parse(vec!["--version=false".to_string()], &none).unwrap(),
        ParseOutcome::Run(_)
    ));
}

#[test]
fn environment_sets_unset_flags_only() {
    let e = env(&[
        ("ETCD_NAME", "fromenv"),
        ("ETCD_SNAPSHOT_COUNT", "5"),
        ("ETCD_NOPE", "1"),
    ]);
    let c = run_with_env(&["--data-dir", "/d"], &e);
    assert_eq!(c.name, "fromenv");
    assert_eq!(c.snapshot_count, 5);
    assert!(c.explicitly_set().contains("name"));
    assert_eq!(
        c.startup_logs,
        vec![
            StartupLog::EnvUsed {
                key: "ETCD_NAME".into(),
                value: "fromenv".into()
            },
            StartupLog::EnvUsed {
                key: "ETCD_SNAPSHOT_COUNT".into(),
                value: "5".into()
            },
            StartupLog::EnvUnrecognized {
                key: "ETCD_NOPE".into(),
                value: "1".into()
            },
        ]
    );
    let err = parse(
        vec!["--name".into(), "flag".into()],
        &env(&[("ETCD_NAME", "env")]),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::EnvShadowed { .. }));
    assert_eq!(err.exit_code(), 1);
}

fn write_yaml(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn config_file_replaces_flags_and_environment() {
    let f = write_yaml(
        "name: node1\ndata-dir: /var/lib/etcd\nlisten-client-urls: http://127.0.0.1:2379\n\
         initial-advertise-peer-urls: http://10.0.0.1:2380\nsnapshot-count: 500\n\
         initial-cluster-state: \"\"\n",
    );
    let path = f.path().display().to_string();
    let c = run_with_env(
        &[
            "--config-file",
            &path,
            "--name",
            "ignored",
            "--snapshot-count",
            "7",
        ],
        &env(&[("ETCD_WAL_DIR", "/ignored")]),
    );
    assert_eq!(c.name, "node1");
    assert_eq!(c.snapshot_count, 500);
    assert_eq!(c.wal_dir, "");
    // In a file, listen-client-urls alone keeps the default advertise URL (as etcd).
    assert_eq!(urls(&c.advertise_client_urls), "http://localhost:2379");
    assert_eq!(c.initial_cluster, "node1=http://10.0.0.1:2380");
    assert_eq!(c.initial_cluster_state, ClusterState::New);
    assert_eq!(c.config_file.as_deref(), Some(path.as_str()));
    let set: Vec<&str> = c.explicitly_set().iter().map(String::as_str).collect();
    assert_eq!(
        set,
        [
            "config-file",
            "data-dir",
            "initial-advertise-peer-urls",
            "initial-cluster-state",
            "listen-client-urls",
            "name",
            "snapshot-count"
        ]
    );
    assert_eq!(
        c.startup_logs[0],
        StartupLog::ConfigFileLoaded { path: path.clone() }
    );
    // ETCD_CONFIG_FILE is honoured when the flag is absent.
    let c = run_with_env(&[], &env(&[("ETCD_CONFIG_FILE", &path)]));
    assert_eq!(c.name, "node1");
}

#[test]
fn config_file_errors() {
    let missing = error(&["--config-file", "/nonexistent/etcd.yaml"]);
    assert_eq!(
        missing.to_string(),
        "open /nonexistent/etcd.yaml: no such file or directory"
    );
    match &missing {
        ConfigError::Invalid(inv) => assert_eq!(
            inv.logs,
            vec![StartupLog::ConfigFileLoaded {
                path: "/nonexistent/etcd.yaml".into()
            }]
        ),
        other => panic!("{other:?}"),
    }
    let f = write_yaml("initial-cluster-state: sideways\n");
    let err = error(&["--config-file", &f.path().display().to_string()]);
    assert_eq!(err.to_string(), "unexpected clusterState \"sideways\"");
    let f = write_yaml("advertise-client-urls: nope\n");
    let err = error(&["--config-file", &f.path().display().to_string()]);
    assert!(matches!(err, ConfigError::FileUrl { .. }));
    assert_eq!(
        err.to_string(),
        "unexpected error setting up advertise-peer-urls: URL scheme must be http, https, unix, or unixs: nope"
    );
}

#[test]
fn unimplemented_flags_are_refused_unless_default() {
    let c = run(&["--enable-pprof", "--force-new-cluster", "--pre-vote=false", "--debug"]);
    let err = c.check_implemented().unwrap_err();
    assert_eq!(
        err.to_string(),
        "etcd-rs: flag --enable-pprof is not implemented yet\netcd-rs: flag --force-new-cluster is not implemented yet"
    );
    assert!(run(&["--enable-v2=false", "--max-txn-ops", "9"])
        .check_implemented()
        .is_ok());
    // Flags whose feature is missing are refused even when only tuned.
    assert_eq!(
        run(&["--max-wals", "9"]).check_implemented().unwrap_err().to_string(),
        "etcd-rs: flag --max-wals is not implemented yet"
    );
    let legacy = run(&["--peer-heartbeat-interval"]);
    assert!(legacy.check_implemented().is_err());
}

#[test]
fn deprecated_flags_fold_in_like_etcd() {
    // Same number of values: etcd keeps --log-outputs and only warns.
    let c = run(&["--log-output", "stdout"]);
    assert_eq!(c.log_outputs, ["default"]);
    assert_eq!(
        c.deprecation_warnings,
        [
            "[WARNING] Deprecated '--log-output' flag is set to [\"stdout\"]\nPlease use '--log-outputs' flag",
            crate::logging::CAPNSLOG_WARNING,
        ]
    );
    // More values in the deprecated flag: they win, with a warning.
    let c = run(&["--logger", "zap", "--log-output", "stdout,stderr"]);
    assert_eq!(c.log_outputs, ["stderr", "stdout"]);
    let c = run(&["--debug"]);
    assert_eq!(c.log_settings().level, "debug");
    assert_eq!(
        c.deprecation_warnings,
        [
            "[WARNING] Deprecated '--debug' flag is set to true (use '--log-level=debug' instead",
            "[WARNING] Deprecated '--debug' flag is set to true with inconsistent '--log-level=info' flag",
            crate::logging::CAPNSLOG_WARNING,
        ]
    );
}
