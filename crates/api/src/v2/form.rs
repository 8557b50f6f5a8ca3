//! Go's `url.Values` from a query string or an urlencoded body: values in
//! order, a key may repeat, `FormValue` is the first.

/// Parsed form values, body values first (as Go's `ParseForm` merges them).
#[derive(Default, Debug)]
pub(crate) struct Form(Vec<(String, String)>);

/// Decodes `%XX` escapes (and `+` as a space when `plus`); `None` when malformed.
pub(crate) fn unescape(s: &str, plus: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl Form {
    /// Adds the pairs of `raw` (`a=1&b=2`); an error names the bad pair.
    pub(crate) fn extend(&mut self, raw: &str) -> Result<(), String> {
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = unescape(k, true).ok_or_else(|| format!("invalid URL escape {k:?}"))?;
            let v = unescape(v, true).ok_or_else(|| format!("invalid URL escape {v:?}"))?;
            self.0.push((k, v));
        }
        Ok(())
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `FormValue`: the first value or "".
    pub(crate) fn value(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    /// Go's `strconv.ParseBool` of the first value; false when absent.
    pub(crate) fn bool(&self, key: &str) -> Result<bool, ()> {
        match self.get(key) {
            None => Ok(false),
            Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(true),
            Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(false),
            Some(_) => Err(()),
        }
    }

    /// `strconv.ParseUint(v, 10, 64)` of the first value; 0 when absent.
    pub(crate) fn uint(&self, key: &str) -> Result<u64, ()> {
        match self.get(key) {
            None => Ok(0),
            Some(v) if !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()) => {
                v.parse().map_err(|_| ())
            }
            Some(_) => Err(()),
        }
    }
}
