//! Flag value kinds and how a text value is applied to each, with Go's parsing rules.
//!
//! etcd parses its flags with Go's `flag` package and a few custom value types from
//! `pkg/flags`; the same text must be accepted or rejected here, with the same error
//! text, since that text reaches the user (`invalid value "x" for flag -y: parse error`):
//! - integers use `strconv.Parse{Uint,Int}` with base 0 (`0x1f`, `0o17`, `017`, `0b1`,
//!   `1_000` after a prefix); failures are `parse error` / `value out of range`,
//!   except `max-concurrent-streams`, whose custom type reports strconv's own text;
//! - booleans accept `1 t T TRUE true True` and `0 f F FALSE false False`;
//! - durations use `time.ParseDuration` (`1h2m3.5s`, `100ms`, `0`), stored in nanoseconds;
//! - URL lists replace the previous list; an empty text leaves it unchanged (etcd's
//!   `UniqueURLs` allows `""` as an exception that adds nothing);
//! - unique string lists are split on `,`, de-duplicated and sorted.

use super::url::EtcdUrl;

/// How a flag's text is interpreted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Free text.
    Str,
    /// Go `bool`; may be given without a value.
    Bool,
    /// Go `uint`/`uint64`.
    Uint,
    /// etcd's custom uint32 value (strconv error texts).
    Uint32,
    /// Go `int`/`int64`.
    Int,
    /// Go `time.Duration`.
    Duration,
    /// etcd's `UniqueURLs` with the empty-string exception.
    Urls,
    /// `cors`: URLs, or `*`.
    Cors,
    /// etcd's `UniqueStringsValue`: split on `,`, unique, sorted.
    UniqueStrings,
    /// etcd's `StringsValue`: split on `,`, order kept.
    Strings,
    /// etcd's `SelectiveStringValue`: one of the listed values.
    Select(&'static [&'static str]),
    /// A flag from older releases that is accepted and ignored with a warning.
    Ignored,
}

impl Kind {
    /// Go's `IsBoolFlag`: may appear without `=value`.
    pub(crate) fn is_bool(self) -> bool {
        matches!(self, Kind::Bool | Kind::Ignored)
    }
}

/// A flag's current value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// For `Str` and `Select`.
    Str(String),
    /// For `Bool`.
    Bool(bool),
    /// For `Uint` and `Uint32`.
    Uint(u64),
    /// For `Int`.
    Int(i64),
    /// For `Duration`, in nanoseconds (Go durations may be negative).
    DurationNs(i64),
    /// For `Urls`.
    Urls(Vec<EtcdUrl>),
    /// For `Cors`, `UniqueStrings` and `Strings`.
    List(Vec<String>),
    /// For `Ignored`.
    Ignored,
}

/// Applies `text` to `current` as flag kind `kind`. `Ok(Some(_))` carries a warning to
/// log; `Err` carries the reason Go's value type gives (without the flag name).
pub(crate) fn apply(
    kind: Kind,
    name: &str,
    current: &mut Value,
    text: &str,
) -> Result<Option<String>, String> {
    let new = match kind {
        Kind::Str => Value::Str(text.to_string()),
        Kind::Bool => Value::Bool(parse_go_bool(text).ok_or("parse error")?),
        Kind::Uint => Value::Uint(parse_go_uint(text, 64).map_err(NumError::flag_text)?),
        Kind::Uint32 => {
            Value::Uint(parse_go_uint(text, 32).map_err(|e| e.strconv_text("ParseUint", text))?)
        }
        Kind::Int => Value::Int(parse_go_int(text, 64).map_err(NumError::flag_text)?),
        Kind::Duration => {
            Value::DurationNs(etcd_gotext::parse_duration_ns(text).map_err(|_| "parse error")?)
        }
        Kind::Urls if text.is_empty() => return Ok(None),
        Kind::Urls => Value::Urls(EtcdUrl::parse_list(text)?),
        Kind::Cors => cors_value(current, text)?,
        Kind::UniqueStrings => Value::List(unique_sorted(text.split(','))),
        Kind::Strings => Value::List(text.split(',').map(str::to_string).collect()),
        Kind::Select(valid) if valid.contains(&text) => Value::Str(text.to_string()),
        Kind::Select(_) => return Err("invalid value".to_string()),
        Kind::Ignored => {
            return Ok(Some(format!(
                "flag \"-{name}\" is no longer supported - ignoring."
            )))
        }
    };
    *current = new;
    Ok(None)
}

/// `cors`: `*` is added to whatever is there; anything else replaces it with URLs.
fn cors_value(current: &Value, text: &str) -> Result<Value, String> {
    if text == "*" {
        let mut list = match current {
            Value::List(l) => l.clone(),
            _ => Vec::new(),
        };
        list.push("*".to_string());
        return Ok(Value::List(unique_sorted(list.iter().map(String::as_str))));
    }
    let urls = EtcdUrl::parse_list(text)?;
    Ok(Value::List(unique_sorted(urls.iter().map(EtcdUrl::as_str))))
}

/// De-duplicates and sorts.
pub(crate) fn unique_sorted<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = items.map(str::to_string).collect();
    set.into_iter().collect()
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Why a Go integer parse failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NumError {
    Syntax,
    Range,
}

impl NumError {
    /// The text Go's `flag` package reports.
    fn flag_text(self) -> String {
        match self {
            NumError::Syntax => "parse error".to_string(),
            NumError::Range => "value out of range".to_string(),
        }
    }

    /// The text `strconv` itself reports.
    fn strconv_text(self, func: &str, input: &str) -> String {
        let why = match self {
            NumError::Syntax => "invalid syntax",
            NumError::Range => "value out of range",
        };
        format!("strconv.{func}: parsing {input:?}: {why}")
    }
}

/// Go's `strconv.ParseUint(text, 0, bits)`.
pub(crate) fn parse_go_uint(text: &str, bits: u32) -> Result<u64, NumError> {
    let (base, digits, prefixed) = if let Some(r) = strip_prefix_ci(text, "0x") {
        (16, r, true)
    } else if let Some(r) = strip_prefix_ci(text, "0b") {
        (2, r, true)
    } else if let Some(r) = strip_prefix_ci(text, "0o") {
        (8, r, true)
    } else if text.len() > 1 && text.starts_with('0') {
        (8, &text[1..], true)
    } else {
        (10, text, false)
    };
    if digits.is_empty() {
        return Err(NumError::Syntax);
    }
    if digits.contains('_') && !(prefixed && underscores_ok(text)) {
        return Err(NumError::Syntax);
    }
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut value: u64 = 0;
    let mut overflow = false;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(base).ok_or(NumError::Syntax)?;
        match value
            .checked_mul(base as u64)
            .and_then(|v| v.checked_add(d as u64))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    if overflow || value > max {
        return Err(NumError::Range);
    }
    Ok(value)
}

/// Go's `strconv.ParseInt(text, 0, bits)`.
pub(crate) fn parse_go_int(text: &str, bits: u32) -> Result<i64, NumError> {
    let (negative, magnitude) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let value = parse_go_uint(magnitude, 64)?;
    let limit = 1u64 << (bits - 1);
    if negative {
        if value > limit {
            return Err(NumError::Range);
        }
        Ok((value as i64).wrapping_neg())
    } else {
        if value >= limit {
            return Err(NumError::Range);
        }
        Ok(value as i64)
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Go's `underscoreOK`: underscores only between digits (or after the base prefix).
fn underscores_ok(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut saw = '^';
    let mut i = 0;
    if bytes.len() >= 2 && bytes[0] == b'0' && bytes[1].is_ascii_alphabetic() {
        i = 2;
        saw = '0';
    }
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            saw = '0';
        } else if b == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            return false;
        }
        i += 1;
    }
    saw != '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_integers() {
        assert_eq!(parse_go_uint("100", 64), Ok(100));
        assert_eq!(parse_go_uint("0x10", 64), Ok(16));
        assert_eq!(parse_go_uint("010", 64), Ok(8));
        assert_eq!(parse_go_uint("0b101", 64), Ok(5));
        assert_eq!(parse_go_uint("0x_1_0", 64), Ok(16));
        assert_eq!(parse_go_uint("1_000", 64), Err(NumError::Syntax));
        assert_eq!(parse_go_uint("-1", 64), Err(NumError::Syntax));
        assert_eq!(parse_go_uint("abc", 64), Err(NumError::Syntax));
        assert_eq!(parse_go_uint("4294967296", 32), Err(NumError::Range));
        assert_eq!(
            parse_go_uint("99999999999999999999", 64),
            Err(NumError::Range)
        );
        assert_eq!(parse_go_int("-5", 64), Ok(-5));
        assert_eq!(parse_go_int("-9223372036854775808", 64), Ok(i64::MIN));
        assert_eq!(
            parse_go_int("9223372036854775808", 64),
            Err(NumError::Range)
        );
    }

    #[test]
    fn apply_kinds() {
        let mut v = Value::Bool(false);
        assert_eq!(
            apply(Kind::Bool, "x", &mut v, "maybe"),
            Err("parse error".into())
        );
        apply(Kind::Bool, "x", &mut v, "T").unwrap();
        assert_eq!(v, Value::Bool(true));
        let mut v = Value::Uint(0);
        assert_eq!(
            apply(Kind::Uint32, "x", &mut v, "abc"),
            Err("strconv.ParseUint: parsing \"abc\": invalid syntax".into())
        );
        let mut v = Value::List(vec!["*".into()]);
        apply(Kind::Cors, "cors", &mut v, "http://b:1,http://a:1").unwrap();
        assert_eq!(
            v,
            Value::List(vec!["http://a:1".into(), "http://b:1".into()])
        );
        apply(Kind::Cors, "cors", &mut v, "*").unwrap();
        assert_eq!(
            v,
            Value::List(vec!["*".into(), "http://a:1".into(), "http://b:1".into()])
        );
        let mut v = Value::List(vec![]);
        apply(Kind::UniqueStrings, "x", &mut v, "b,a,b").unwrap();
        assert_eq!(v, Value::List(vec!["a".into(), "b".into()]));
        let mut v = Value::Str("new".into());
        assert_eq!(
            apply(Kind::Select(&["new", "existing"]), "x", &mut v, "old"),
            Err("invalid value".into())
        );
        let mut v = Value::Ignored;
        assert_eq!(
            apply(Kind::Ignored, "peer-heartbeat-interval", &mut v, "true"),
            Ok(Some(
                "flag \"-peer-heartbeat-interval\" is no longer supported - ignoring.".into()
            ))
        );
    }
}
