//! logfmt / `key=value` lines (`ts=… level=info msg="user logged in" user=bob`): the pairs, borrowed.
//!
//! Pairs are separated by spaces or tabs. A value is bare (up to the next space or tab, may be empty)
//! or double-quoted with `\"` and `\\` escapes (and `\n`, `\r`, `\t`, see [`unescape`]). Text that is
//! not a pair (a word without `=`, or `=` without a key) is skipped: it stays in the original line
//! only. A quoted value without its closing quote, or with text glued after it, is an error for the
//! whole line.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

use crate::scan::{from, split_at, trim_eol};
use crate::ParseError;

/// One `key=value` pair.
///
/// Invariants: `key` is non-empty and holds no space, tab, `=` or `"`; a bare `value` holds no space
/// or tab; a quoted `value` is the raw text between the quotes, still escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    /// The key as written.
    pub key: &'a [u8],
    /// The value as written (between the quotes for a quoted value).
    pub value: &'a [u8],
    /// The value was double-quoted: decode it with [`unescape`].
    pub quoted: bool,
}

/// The pairs of one line, in order; after an error the iterator ends.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    line: &'a [u8],
    pos: usize,
}

/// Iterates over the `key=value` pairs of `line` (a trailing `\r`/`\n` is ignored). Never panics;
/// allocates nothing.
pub fn pairs(line: &[u8]) -> Pairs<'_> {
    Pairs {
        line: trim_eol(line),
        pos: 0,
    }
}

#[inline]
fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<Pair<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = self.line;
            while line.get(self.pos).copied().is_some_and(is_blank) {
                self.pos += 1;
            }
            let start = self.pos;
            let rest = from(line, start);
            if rest.is_empty() {
                return None;
            }
            let key_len = rest
                .iter()
                .position(|&c| is_blank(c) || c == b'=' || c == b'"')
                .unwrap_or(rest.len());
            let (key, after) = split_at(rest, key_len);
            if key.is_empty() || after.first() != Some(&b'=') {
                // Not a pair: skip this word (a `"` inside it is just text).
                let word = rest.iter().position(|&c| is_blank(c)).unwrap_or(rest.len());
                self.pos = start + word.max(1);
                continue;
            }
            let value_at = start + key_len + 1;
            let value_rest = from(line, value_at);
            if value_rest.first() != Some(&b'"') {
                let len = value_rest
                    .iter()
                    .position(|&c| is_blank(c))
                    .unwrap_or(value_rest.len());
                self.pos = value_at + len;
                return Some(Ok(Pair {
                    key,
                    value: split_at(value_rest, len).0,
                    quoted: false,
                }));
            }
            let body = from(value_rest, 1);
            let Some(close) = closing_quote(body) else {
                self.pos = line.len();
                return Some(Err(ParseError::new(
                    "unterminated quoted value",
                    line.len(),
                )));
            };
            let end = value_at + 1 + close + 1;
            if line.get(end).is_some_and(|&c| !is_blank(c)) {
                self.pos = line.len();
                return Some(Err(ParseError::new(
                    "expected a space after a quoted value",
                    end,
                )));
            }
            self.pos = end;
            return Some(Ok(Pair {
                key,
                value: split_at(body, close).0,
                quoted: true,
            }));
        }
    }
}

/// The index of the first `"` in `body` that is not escaped by a backslash.
fn closing_quote(body: &[u8]) -> Option<usize> {
    let mut i = 0usize;
    loop {
        let j = i + memchr2(b'"', b'\\', from(body, i))?;
        if body.get(j) == Some(&b'"') {
            return Some(j);
        }
        i = j + 2;
    }
}

/// Decodes a quoted value: `\"`, `\\`, `\n`, `\r`, `\t`; any other backslash sequence is kept as
/// written. Borrowed when there is no backslash.
pub fn unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr(b'\\', raw) else {
        return Cow::Borrowed(raw);
    };
    let (head, mut rest) = split_at(raw, first);
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(head);
    while let Some(j) = memchr(b'\\', rest) {
        let (before, tail) = split_at(rest, j);
        out.extend_from_slice(before);
        match tail.get(1) {
            Some(&c @ (b'"' | b'\\')) => out.push(c),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(&c) => out.extend_from_slice(&[b'\\', c]),
            None => out.push(b'\\'),
        }
        rest = from(tail, 2);
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::mutations;
    use proptest::prelude::*;

    const LOGFMT: &[u8] =
        br#"ts=2026-11-26T10:00:00Z level=info msg="user logged in" user=bob duration=12ms"#;
    const ESCAPES: &[u8] =
        b"at=warn path=\"/a b\" err=\"said \\\"no\\\"\\n\" empty= q=\"\" tab=\"a\\tb\"\r\n";
    const STRAY: &[u8] = br#"INFO starting worker id=7 =orphan "quoted text" k=v"#;

    fn collect(line: &[u8]) -> Vec<(String, String, bool)> {
        pairs(line)
            .map(|p| {
                let p = p.unwrap();
                let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                (s(p.key), s(p.value), p.quoted)
            })
            .collect()
    }

    fn pair(k: &str, v: &str, quoted: bool) -> (String, String, bool) {
        (k.to_string(), v.to_string(), quoted)
    }

    #[test]
    fn logfmt_line() {
        assert_eq!(
            collect(LOGFMT),
            vec![
                pair("ts", "2026-11-26T10:00:00Z", false),
                pair("level", "info", false),
                pair("msg", "user logged in", true),
                pair("user", "bob", false),
                pair("duration", "12ms", false),
            ]
        );
    }

    #[test]
    fn quoted_values_and_escapes() {
        let got = collect(ESCAPES);
        assert_eq!(
            got,
            vec![
                pair("at", "warn", false),
                pair("path", "/a b", true),
                pair("err", r#"said \"no\"\n"#, true),
                pair("empty", "", false),
                pair("q", "", true),
                pair("tab", r"a\tb", true),
            ]
        );
        assert_eq!(&*unescape(br#"said \"no\"\n"#), b"said \"no\"\n");
        assert_eq!(&*unescape(br"a\tb\\c\x\"), b"a\tb\\c\\x\\");
        assert!(matches!(unescape(b"plain"), Cow::Borrowed(b"plain")));
    }

    #[test]
    fn stray_text_is_skipped() {
        assert_eq!(
            collect(STRAY),
            vec![pair("id", "7", false), pair("k", "v", false)]
        );
        assert!(collect(b"no pairs here").is_empty());
        assert!(collect(b"").is_empty());
        assert_eq!(
            collect(b"a=b=c\tx=1"),
            vec![pair("a", "b=c", false), pair("x", "1", false)]
        );
    }

    #[test]
    fn broken_quotes_fail_the_line() {
        let all: Vec<_> = pairs(br#"a=1 msg="never closed"#).collect();
        assert_eq!(all.len(), 2);
        assert!(all[0].is_ok());
        assert_eq!(all[1].unwrap_err().reason, "unterminated quoted value");
        let all: Vec<_> = pairs(br#"msg="x"y b=2"#).collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].unwrap_err().offset, 7);
        assert!(pairs(br#"msg="ends in backslash\"#)
            .next()
            .unwrap()
            .is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            for p in pairs(&b) {
                match p {
                    Ok(p) => { let _ = unescape(p.value); prop_assert!(!p.key.is_empty()); }
                    Err(e) => prop_assert!(e.offset <= b.len()),
                }
            }
        }

        #[test]
        fn never_panics_on_mutations(b in mutations(&[LOGFMT, ESCAPES, STRAY])) {
            for p in pairs(&b) {
                match p {
                    Ok(p) => { let _ = unescape(p.value); }
                    Err(e) => prop_assert!(e.offset <= b.len()),
                }
            }
        }
    }
}
