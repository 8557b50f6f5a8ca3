//! The quoting Go's `time` package uses inside its error messages.
//!
//! It is not `strconv.Quote`: every byte of a non-ASCII character, and every
//! control byte below the space, is written as `\xNN`; `"` and `\` get a
//! backslash; everything else (DEL included) is copied. So
//! `5µx` quotes as `"5\xc2\xb5x"`, as real etcdctl shows.

/// `text` in double quotes, escaped as Go's `time` errors do.
pub(crate) fn time_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c.is_ascii() && c >= ' ' {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{byte:02x}"));
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::time_quote;

    #[test]
    fn quotes_like_go_time_errors() {
        assert_eq!(time_quote("1h"), "\"1h\"");
        assert_eq!(time_quote(""), "\"\"");
        assert_eq!(time_quote("5µx"), r#""5\xc2\xb5x""#);
        assert_eq!(time_quote("1\"s"), r#""1\"s""#);
        assert_eq!(time_quote(r"x\y"), r#""x\\y""#);
        assert_eq!(time_quote("a\tb\x7f"), "\"a\\x09b\x7f\"");
    }
}
