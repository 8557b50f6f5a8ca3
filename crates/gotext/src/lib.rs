//! Go's text forms that etcd's users see, written once for the whole workspace.
//!
//! etcd is a Go program, so flags, logs and API bodies carry Go's spellings:
//! `time.ParseDuration` decides which flag values are accepted (and its error
//! text reaches the user verbatim), `time.Duration.String` prints `1m30s` or
//! `978µs`, `time.RFC3339Nano` prints timestamps, `url.QueryEscape` encodes
//! form values and `path.Clean` canonicalises keys and URL paths. Every crate
//! that needs one of these calls this crate rather than carrying its own copy.
//!
//! Contract: pure functions of their arguments (no clock, no I/O), exact to
//! Go 1.19 (the toolchain etcd 3.4.23 was built with) including edge cases
//! such as overflow and the quoting in error messages. Dates are proleptic
//! Gregorian in UTC.

#![deny(missing_docs)]

mod civil;
mod duration_format;
mod duration_parse;
mod path;
mod quote;
mod rfc3339;
mod url;

pub use civil::{civil_from_days, days_from_civil, UtcTime};
pub use duration_format::format_duration;
pub use duration_parse::{parse_duration, parse_duration_ns};
pub use path::{canonical_url_path, clean_rooted_path};
pub use rfc3339::rfc3339_nano;
pub use url::query_escape;
