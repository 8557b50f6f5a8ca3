//! Which keys a request names: etcd's `key` / `range_end` convention.
//!
//! - `range_end` empty: the single key `key`;
//! - `range_end == [0]`: every key `>= key` ("from key");
//! - otherwise: keys in `[key, range_end)` (empty if `range_end <= key`).

/// A set of keys named by a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRange<'a> {
    /// Exactly one key.
    Single(&'a [u8]),
    /// Keys from `start` (inclusive) to `end` (exclusive; `None` = unbounded).
    Span {
        /// First key, inclusive.
        start: &'a [u8],
        /// Upper bound, exclusive; `None` for no bound.
        end: Option<&'a [u8]>,
    },
}

impl<'a> KeyRange<'a> {
    /// Interprets a request's `key` and `range_end`.
    pub fn new(key: &'a [u8], range_end: &'a [u8]) -> KeyRange<'a> {
        match range_end {
            [] => KeyRange::Single(key),
            [0] => KeyRange::Span {
                start: key,
                end: None,
            },
            end => KeyRange::Span {
                start: key,
                end: Some(end),
            },
        }
    }

    /// Whether `k` is in the range.
    pub fn contains(&self, k: &[u8]) -> bool {
        match *self {
            KeyRange::Single(key) => k == key,
            KeyRange::Span { start, end } => k >= start && end.is_none_or(|e| k < e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions() {
        assert_eq!(KeyRange::new(b"a", b""), KeyRange::Single(b"a"));
        assert_eq!(
            KeyRange::new(b"a", b"\0"),
            KeyRange::Span {
                start: b"a",
                end: None
            }
        );
        assert_eq!(
            KeyRange::new(b"a", b"b"),
            KeyRange::Span {
                start: b"a",
                end: Some(b"b")
            }
        );
        let from = KeyRange::new(b"b", b"\0");
        assert!(from.contains(b"b") && from.contains(b"zzz") && !from.contains(b"a"));
        let span = KeyRange::new(b"b", b"d");
        assert!(span.contains(b"c") && !span.contains(b"d"));
        assert!(
            !KeyRange::new(b"d", b"b").contains(b"c"),
            "inverted range is empty"
        );
    }
}
