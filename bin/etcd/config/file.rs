//! `--config-file`: etcd's YAML configuration format.
//!
//! etcd converts the YAML to JSON and decodes it into its config struct, so:
//! - keys are the flag names (matched case-insensitively); unknown keys are ignored;
//! - values keep JSON types: text for text flags, `true`/`false` for booleans, integers
//!   for numbers, and durations as integers of *nanoseconds* (`5s` is an error);
//! - URL lists (`listen-client-urls`, ...), `cors` and `host-whitelist` are one
//!   comma-joined string; `log-outputs` and `cipher-suites` are YAML lists;
//! - TLS settings live under `client-transport-security` / `peer-transport-security`
//!   (`cert-file`, `key-file`, `client-cert-auth`, `trusted-ca-file`, `auto-tls`);
//! - a `null` value leaves the default;
//! - a type mismatch is reported with Go's decoder text
//!   (`json: cannot unmarshal string into Go struct field configYAML.x of type uint64`),
//!   a bad URL list with `unexpected error setting up <key>: <reason>`.

use serde_yaml::Value as Yaml;

use super::flags::{lookup, FlagSpec};
use super::store::FlagStore;
use super::url::EtcdUrl;
use super::value::{unique_sorted, Kind, Value};
use super::ConfigError;

/// Flags etcd's YAML cannot set at top level (no YAML key, or only nested).
const NOT_YAML_KEYS: &[&str] = &[
    "config-file",
    "version",
    "cert-file",
    "key-file",
    "client-cert-auth",
    "trusted-ca-file",
    "auto-tls",
    "client-crl-file",
    "client-cert-allowed-hostname",
    "peer-cert-file",
    "peer-key-file",
    "peer-client-cert-auth",
    "peer-trusted-ca-file",
    "peer-auto-tls",
    "peer-crl-file",
    "peer-cert-allowed-cn",
    "peer-cert-allowed-hostname",
    "experimental-peer-skip-client-san-verification",
];

/// Keys of the TLS sections, with the flag each sets for clients and for peers.
const SECURITY_KEYS: &[(&str, &str, &str)] = &[
    ("cert-file", "cert-file", "peer-cert-file"),
    ("key-file", "key-file", "peer-key-file"),
    (
        "client-cert-auth",
        "client-cert-auth",
        "peer-client-cert-auth",
    ),
    ("trusted-ca-file", "trusted-ca-file", "peer-trusted-ca-file"),
    ("auto-tls", "auto-tls", "peer-auto-tls"),
];

/// Reads and decodes a config file.
pub(crate) fn load(path: &str) -> Result<FlagStore, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::invalid(format!("open {path}: {}", io_reason(&e))))?;
    from_yaml(&text)
}

/// Go's wording for the common open errors.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn decode_error(detail: String) -> ConfigError {
    ConfigError::invalid(format!(
        "error unmarshaling JSON: while decoding JSON: json: {detail}"
    ))
}

/// Decodes YAML text into flag values (see module docs).
pub(crate) fn from_yaml(text: &str) -> Result<FlagStore, ConfigError> {
    let doc: Yaml = serde_yaml::from_str(text)
        .map_err(|e| ConfigError::invalid(format!("error converting YAML to JSON: yaml: {e}")))?;
    let mut store = FlagStore::new();
    let map = match doc {
        Yaml::Null => return Ok(store),
        Yaml::Mapping(m) => m,
        other => {
            return Err(decode_error(format!(
                "cannot unmarshal {} into Go value of type embed.configYAML",
                json_type(&other)
            )))
        }
    };
    for (key, value) in map {
        let Some(key) = key.as_str().map(str::to_ascii_lowercase) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        if key == "client-transport-security" || key == "peer-transport-security" {
            security_section(&mut store, &key, &value)?;
            continue;
        }
        if NOT_YAML_KEYS.contains(&key.as_str()) {
            continue;
        }
        if let Some(spec) = lookup(&key) {
            set_from_yaml(&mut store, spec, &key, &value)?;
        }
    }
    Ok(store)
}

fn security_section(store: &mut FlagStore, section: &str, value: &Yaml) -> Result<(), ConfigError> {
    let Yaml::Mapping(map) = value else {
        return Err(decode_error(format!(
            "cannot unmarshal {} into Go struct field configYAML.{section} of type embed.securityConfig",
            json_type(value)
        )));
    };
    let peer = section.starts_with("peer");
    for (key, v) in map {
        let Some(key) = key.as_str().map(str::to_ascii_lowercase) else {
            continue;
        };
        let Some(&(_, client_flag, peer_flag)) = SECURITY_KEYS.iter().find(|k| k.0 == key) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let spec = lookup(if peer { peer_flag } else { client_flag }).expect("security flag");
        let path = format!("{section}.{key}");
        set_from_yaml(store, spec, &path, v)?;
    }
    Ok(())
}

/// JSON's name for the type of a YAML value, as Go's decoder reports it.
fn json_type(v: &Yaml) -> &'static str {
    match v {
        Yaml::String(_) => "string",
        Yaml::Number(_) => "number",
        Yaml::Bool(_) => "bool",
        Yaml::Sequence(_) => "array",
        Yaml::Mapping(_) | Yaml::Tagged(_) => "object",
        Yaml::Null => "null",
    }
}

/// Go's type name of a flag's field in etcd's config struct.
fn go_type(spec: &FlagSpec) -> &'static str {
    match (spec.kind, spec.name) {
        (Kind::Uint, "snapshot-count") => "uint64",
        (Kind::Uint, _) => "uint",
        (Kind::Uint32, _) => "uint32",
        (Kind::Int, "quota-backend-bytes") => "int64",
        (Kind::Int, _) => "int",
        (Kind::Duration, _) => "time.Duration",
        (Kind::Bool, _) => "bool",
        (Kind::Strings, _) => "[]string",
        (Kind::UniqueStrings, "log-outputs" | "log-output") => "[]string",
        _ => "string",
    }
}

fn set_from_yaml(
    store: &mut FlagStore,
    spec: &'static FlagSpec,
    path: &str,
    v: &Yaml,
) -> Result<(), ConfigError> {
    let struct_name = if spec.name.starts_with("proxy") || spec.name == "discovery-fallback" {
        "configProxy"
    } else {
        "configYAML"
    };
    let mismatch = |shown: String| {
        decode_error(format!(
            "cannot unmarshal {shown} into Go struct field {struct_name}.{path} of type {}",
            go_type(spec)
        ))
    };
    let wrong_type = || mismatch(json_type(v).to_string());
    let bad_number = || mismatch(format!("number {}", number_text(v)));
    let value = match go_type(spec) {
        "string" => {
            let text = v.as_str().ok_or_else(wrong_type)?;
            match string_value(spec, text)? {
                Some(value) => value,
                None => return Ok(()),
            }
        }
        "bool" => Value::Bool(v.as_bool().ok_or_else(wrong_type)?),
        "[]string" => {
            let items = v.as_sequence().ok_or_else(wrong_type)?;
            let list = items
                .iter()
                .map(|i| i.as_str().map(str::to_string).ok_or_else(wrong_type))
                .collect::<Result<Vec<_>, _>>()?;
            Value::List(list)
        }
        go => {
            if !v.is_number() {
                return Err(wrong_type());
            }
            match go {
                "uint" | "uint64" => Value::Uint(v.as_u64().ok_or_else(bad_number)?),
                "uint32" => Value::Uint(
                    v.as_u64()
                        .filter(|n| *n <= u64::from(u32::MAX))
                        .ok_or_else(bad_number)?,
                ),
                "time.Duration" => Value::DurationNs(v.as_i64().ok_or_else(bad_number)?),
                _ => Value::Int(v.as_i64().ok_or_else(bad_number)?),
            }
        }
    };
    store.set_value(spec, value);
    Ok(())
}

fn number_text(v: &Yaml) -> String {
    match v {
        Yaml::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Interprets a text value; `None` when etcd treats it as absent (empty list strings).
fn string_value(spec: &FlagSpec, text: &str) -> Result<Option<Value>, ConfigError> {
    let value = match spec.kind {
        Kind::Urls if text.is_empty() => return Ok(None),
        Kind::Urls => {
            let urls = EtcdUrl::parse_list(text).map_err(|reason| ConfigError::FileUrl {
                // etcd names the advertise-client-urls failure "advertise-peer-urls".
                key: if spec.name == "advertise-client-urls" {
                    "advertise-peer-urls"
                } else {
                    spec.name
                },
                reason,
            })?;
            Value::Urls(urls)
        }
        Kind::Cors if text.is_empty() => return Ok(None),
        Kind::Cors if text == "*" => Value::List(vec!["*".to_string()]),
        Kind::Cors => {
            let urls = EtcdUrl::parse_list(text).map_err(ConfigError::invalid)?;
            Value::List(unique_sorted(urls.iter().map(EtcdUrl::as_str)))
        }
        Kind::UniqueStrings if text.is_empty() => return Ok(None),
        Kind::UniqueStrings => Value::List(unique_sorted(text.split(','))),
        Kind::Select(_) if spec.name == "initial-cluster-state" => Value::Str(text.to_string()),
        Kind::Select(_) if text.is_empty() => return Ok(None),
        Kind::Select(valid) if valid.contains(&text) => Value::Str(text.to_string()),
        Kind::Select(_) => {
            let what = if spec.name == "proxy" {
                "proxyFlag".to_string()
            } else {
                format!("{} flag", spec.name)
            };
            return Err(ConfigError::invalid(format!(
                "unexpected error setting up {what}: invalid value"
            )));
        }
        _ => Value::Str(text.to_string()),
    };
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_etcd_yaml_shapes() {
        let s = from_yaml(
            "Name: infra1\ndata-dir: /var/lib/etcd\nsnapshot-count: 10000\n\
             listen-client-urls: http://10.0.0.1:2379,http://127.0.0.1:2379\n\
             log-outputs: [stderr]\ngrpc-keepalive-min-time: 5000000000\n\
             strict-reconfig-check: false\nwal-dir: null\nunknown-key: 1\n\
             client-transport-security:\n  cert-file: /c.pem\n  client-cert-auth: true\n\
             peer-transport-security:\n  key-file: /pk.pem\n",
        )
        .unwrap();
        assert_eq!(s.str("name"), "infra1");
        assert_eq!(s.str("data-dir"), "/var/lib/etcd");
        assert_eq!(s.uint("snapshot-count"), 10000);
        assert_eq!(s.urls("listen-client-urls").len(), 2);
        assert_eq!(s.list("log-outputs"), ["stderr"]);
        assert_eq!(s.duration_ms("grpc-keepalive-min-time"), 5000);
        assert!(!s.bool("strict-reconfig-check"));
        assert!(!s.is_set("wal-dir"));
        assert_eq!(s.str("cert-file"), "/c.pem");
        assert!(s.bool("client-cert-auth"));
        assert_eq!(s.str("peer-key-file"), "/pk.pem");
    }

    #[test]
    fn go_decoder_errors() {
        let err = |text: &str| from_yaml(text).unwrap_err().to_string();
        assert_eq!(
            err("snapshot-count: abc\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field configYAML.snapshot-count of type uint64"
        );
        assert_eq!(
            err("grpc-keepalive-min-time: 5s\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field configYAML.grpc-keepalive-min-time of type time.Duration"
        );
        assert_eq!(
            err("log-outputs: stderr\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go struct field configYAML.log-outputs of type []string"
        );
        assert_eq!(
            err("max-wals: -1\n"),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal number -1 into Go struct field configYAML.max-wals of type uint"
        );
        assert_eq!(
            err("listen-client-urls: foo\n"),
            "unexpected error setting up listen-client-urls: URL scheme must be http, https, unix, or unixs: foo"
        );
        assert_eq!(
            err("proxy: sideways\n"),
            "unexpected error setting up proxyFlag: invalid value"
        );
        assert!(err(": :\n  - x\n").starts_with("error converting YAML to JSON: yaml: "));
    }
}
