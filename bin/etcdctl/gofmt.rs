//! Go formatting rules etcdctl's output depends on: `%q` quoting,
//! `encoding/json` string escaping, go-humanize's `Bytes`, and `%v` of string
//! slices. Durations (`time.ParseDuration`, `time.Duration.String`) come from
//! the `etcd-gotext` crate.

/// Go's `strconv.Quote` (`%q`) of raw bytes.
pub fn quote(b: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if is_print(c) => out.push(c),
                c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push_str(&format!("\\U{:08x}", c as u32)),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: graphic characters and the
/// ASCII space.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff)
}

/// Go's `strconv.Unquote` for `"..."` and `` `...` `` strings (used by
/// `fmt.Sscanf("%q")`). Returns the value and the rest of the input.
pub fn unquote_prefix(s: &str) -> Option<(Vec<u8>, &str)> {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('`') {
        let end = rest.find('`')?;
        return Some((rest.as_bytes()[..end].to_vec(), &rest[end + 1..]));
    }
    let rest = s.strip_prefix('"')?;
    let mut out = Vec::new();
    let mut it = rest.char_indices();
    while let Some((i, c)) = it.next() {
        match c {
            '"' => return Some((out, &rest[i + 1..])),
            '\n' => return None,
            '\\' => {
                let (_, e) = it.next()?;
                match e {
                    'a' => out.push(7),
                    'b' => out.push(8),
                    'f' => out.push(12),
                    'n' => out.push(b'\n'),
                    'r' => out.push(b'\r'),
                    't' => out.push(b'\t'),
                    'v' => out.push(11),
                    '\\' => out.push(b'\\'),
                    '"' => out.push(b'"'),
                    '\'' => return None,
                    'x' => {
                        let h: String = (0..2).filter_map(|_| it.next().map(|(_, c)| c)).collect();
                        out.push(u8::from_str_radix(&h, 16).ok()?);
                    }
                    'u' | 'U' => {
                        let n = if e == 'u' { 4 } else { 8 };
                        let h: String = (0..n).filter_map(|_| it.next().map(|(_, c)| c)).collect();
                        let ch = char::from_u32(u32::from_str_radix(&h, 16).ok()?)?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    '0'..='7' => {
                        let mut h = String::from(e);
                        h.extend((0..2).filter_map(|_| it.next().map(|(_, c)| c)));
                        out.push(u8::from_str_radix(&h, 8).ok()?);
                    }
                    _ => return None,
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    None
}

/// go-humanize `Bytes`: SI units, e.g. `20 kB`, `1.2 MB`, `9 B`.
pub fn humanize_bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 10 {
        return format!("{n} B");
    }
    let e = ((n as f64).ln() / 1000f64.ln()).floor() as usize;
    let val = ((n as f64) / 1000f64.powi(e as i32) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {}", UNITS[e])
    } else {
        format!("{val:.0} {}", UNITS[e])
    }
}

/// Go's `encoding/json` rendering of a string (HTML-safe escaping,
/// invalid UTF-8 as U+FFFD).
pub fn json_string(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `fmt.Sprintf("%v", []string{...})`: `[a b c]`.
pub fn string_slice(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_like_go() {
        assert_eq!(humanize_bytes(20480), "20 kB");
        assert_eq!(humanize_bytes(1_234_567), "1.2 MB");
        assert_eq!(humanize_bytes(5), "5 B");
    }

    #[test]
    fn quote_like_go() {
        assert_eq!(quote(b"a\"b\n\x01\xff"), "\"a\\\"b\\n\\x01\\xff\"");
        assert_eq!(
            unquote_prefix("\"a\\x41\") rest").unwrap(),
            (b"aA".to_vec(), ") rest")
        );
    }
}
