//! The two line formats of etcd 3.4, as `tracing_subscriber` event formatters.
//!
//! capnslog: `2026-11-21 19:10:30.619569 I | etcdmain: message` — local time with
//! microseconds, a level letter, the package (the event's *target*) and the message.
//! Letters: `E` error, `W` warn, `I` info, `D` debug and trace; an event with the field
//! `notice = true` prints `N` and one with `critical = true` prints `C`. Other fields are
//! not printed (capnslog has none): put everything in the message.
//!
//! zap: one JSON object per line, keys in this order: `level` (`debug`, `info`,
//! `warn`, `error`), `ts` (`2026-11-21T19:10:30.619Z`), `caller` (the target), `msg`,
//! then every other field under its own name. Text, numbers and booleans keep their
//! JSON type; a value wrapped in [`super::json`] is embedded as raw JSON (for lists
//! such as `"listen-peer-urls":["http://..."]`). `notice`/`critical` markers are dropped.

use std::fmt;

use serde_json::Value as Json;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::clock::Clock;

/// Prefix marking a field value that is raw JSON (see [`super::json`]).
pub(crate) const RAW_JSON_MARK: &str = "\u{1}json:";

/// The capnslog letter for a level.
pub(crate) fn capnslog_letter(level: &Level, notice: bool, critical: bool) -> char {
    if critical {
        return 'C';
    }
    if notice {
        return 'N';
    }
    match *level {
        Level::ERROR => 'E',
        Level::WARN => 'W',
        Level::INFO => 'I',
        _ => 'D',
    }
}

/// One capnslog line, newline included.
pub(crate) fn capnslog_line(time: &str, letter: char, target: &str, message: &str) -> String {
    let mut line = format!("{time} {letter} | ");
    if !target.is_empty() {
        line.push_str(target);
        line.push_str(": ");
    }
    line.push_str(message);
    if !line.ends_with('\n') {
        line.push('\n');
    }
    line
}

/// Collects an event's message and fields.
#[derive(Default)]
struct Collected {
    message: String,
    /// In the order recorded (zap keeps field order).
    fields: Vec<(String, Json)>,
    notice: bool,
    critical: bool,
}

impl Collected {
    fn from_event(event: &Event<'_>) -> Collected {
        let mut c = Collected::default();
        event.record(&mut c);
        c
    }

    fn put(&mut self, field: &Field, value: Json) {
        match field.name() {
            "message" => {
                self.message = match value {
                    Json::String(s) => s,
                    other => other.to_string(),
                }
            }
            "notice" => self.notice = value == Json::Bool(true),
            "critical" => self.critical = value == Json::Bool(true),
            name => {
                self.fields.push((name.to_string(), value));
            }
        }
    }
}

impl Visit for Collected {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        let json = match text.strip_prefix(RAW_JSON_MARK) {
            Some(raw) => serde_json::from_str(raw).unwrap_or(Json::String(raw.to_string())),
            None => Json::String(text),
        };
        self.put(field, json);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Json::String(value.to_string()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Json::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Json::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        let json = serde_json::Number::from_f64(value)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(value.to_string()));
        self.put(field, json);
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Json::String(value.to_string()));
    }
}

/// capnslog line format.
pub struct CapnslogFormat {
    clock: Clock,
}

impl CapnslogFormat {
    /// A formatter reading the time from `clock`.
    pub fn new(clock: Clock) -> CapnslogFormat {
        CapnslogFormat { clock }
    }
}

impl<S, N> FormatEvent<S, N> for CapnslogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let c = Collected::from_event(event);
        let meta = event.metadata();
        let letter = capnslog_letter(meta.level(), c.notice, c.critical);
        let time = (self.clock)().capnslog();
        writer.write_str(&capnslog_line(&time, letter, meta.target(), &c.message))
    }
}

/// zap JSON line format.
pub struct ZapFormat {
    clock: Clock,
}

impl ZapFormat {
    /// A formatter reading the time from `clock`.
    pub fn new(clock: Clock) -> ZapFormat {
        ZapFormat { clock }
    }
}

fn zap_level(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        _ => "debug",
    }
}

impl<S, N> FormatEvent<S, N> for ZapFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let c = Collected::from_event(event);
        let meta = event.metadata();
        let text = |v: &str| Json::from(v).to_string();
        let mut line = format!(
            "{{\"level\":{},\"ts\":{},\"caller\":{},\"msg\":{}",
            text(zap_level(meta.level())),
            text(&(self.clock)().zap()),
            text(meta.target()),
            text(&c.message)
        );
        for (key, value) in &c.fields {
            line.push(',');
            line.push_str(&text(key));
            line.push(':');
            line.push_str(&value.to_string());
        }
        line.push('}');
        writer.write_str(&line)?;
        writer.write_char('\n')
    }
}
