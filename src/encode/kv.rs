//! The `kv` payload: `key=value` pairs separated by one space, values bare or double-quoted.
//!
//! A string is written bare when it matches `[A-Za-z0-9._:/@+-]+`; otherwise it is quoted with `\"`,
//! `\\`, `\n`, `\r`, `\t` escaped, and other control characters written as `\u00XX`.
//! `label` is one comma-joined value.

use crate::event::{Event, Value};

/// Appends the `kv` payload of `event` to `out`.
pub fn write(event: &Event<'_>, include_msg: bool, out: &mut Vec<u8>) {
    let mut int = itoa::Buffer::new();
    out.extend_from_slice(b"log_ts=");
    out.extend_from_slice(int.format(event.time.unix).as_bytes());
    out.extend_from_slice(b" norm_id=");
    out.extend_from_slice(event.norm_id.as_bytes());
    if !event.labels.is_empty() {
        out.extend_from_slice(b" label=");
        labels(event, out);
    }
    for field in &event.fields {
        out.push(b' ');
        out.extend_from_slice(field.name.as_bytes());
        out.push(b'=');
        value(&field.value, out);
    }
    out.extend_from_slice(b" device_name=");
    string(event.device_name, out);
    out.extend_from_slice(b" source_name=");
    string(event.source_name, out);
    out.extend_from_slice(b" severity=");
    out.extend_from_slice(int.format(event.severity).as_bytes());
    out.extend_from_slice(b" facility=");
    out.extend_from_slice(int.format(event.facility).as_bytes());
    if include_msg {
        out.extend_from_slice(b" msg=");
        string(&event.msg, out);
    }
    if let Some(reason) = &event.parse_error {
        out.extend_from_slice(b" parse_error=");
        string(reason, out);
    }
}

/// The labels as one value: bare when there is one, else quoted (the comma is not a bare character).
fn labels(event: &Event<'_>, out: &mut Vec<u8>) {
    if let [only] = event.labels.as_slice() {
        return string(only, out);
    }
    out.push(b'"');
    for (i, label) in event.labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Labels are alphanumeric words: nothing to escape.
        out.extend_from_slice(label.as_bytes());
    }
    out.push(b'"');
}

fn value(value: &Value<'_>, out: &mut Vec<u8>) {
    match value {
        Value::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Value::Float(f) => out.extend_from_slice(super::json::float_text(*f).as_bytes()),
        Value::Ip(s) | Value::Str(s) => string(s, out),
    }
}

/// A byte a value may hold without quotes: `[A-Za-z0-9._:/@+-]`. Branch-free, so the folds over
/// 16-byte chunks below compile to vector code.
#[inline(always)]
const fn is_bare(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit_or_colon = b.wrapping_sub(b'0') < 11;
    let dash_dot_slash = b.wrapping_sub(b'-') < 3;
    letter | digit_or_colon | dash_dot_slash | (b == b'_') | (b == b'@') | (b == b'+')
}

/// A byte that must be escaped inside quotes.
#[inline(always)]
const fn needs_escape(b: u8) -> bool {
    (b < 0x20) | (b == 0x7f) | (b == b'"') | (b == b'\\')
}

/// The same two predicates as tables, for the byte-at-a-time parts (short values, chunk tails).
const BARE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_bare(b as u8);
        b += 1;
    }
    table
};
const ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = needs_escape(b as u8);
        b += 1;
    }
    table
};

fn all_bare(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(16);
    let whole = chunks.all(|c| c.iter().fold(0, |bad, &b| bad | u8::from(!is_bare(b))) == 0);
    whole && chunks.remainder().iter().all(|&b| BARE[usize::from(b)])
}

/// Writes `text` bare or quoted.
fn string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    if !bytes.is_empty() && all_bare(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if has_control(bytes) {
        escape_each(bytes, out);
    } else {
        // Only `"` and `\` need escaping: copy the runs between them whole.
        let mut rest = bytes;
        while let Some(i) = memchr::memchr2(b'"', b'\\', rest) {
            let (clean, tail) = rest.split_at(i);
            out.extend_from_slice(clean);
            escape(tail[0], out);
            rest = &tail[1..];
        }
        out.extend_from_slice(rest);
    }
    out.push(b'"');
}

/// Whether `bytes` holds a control character (below 0x20, or 0x7f); 32 bytes at a time, branch-free
/// inside a chunk (an OR of bytes, not of bools) so the check compiles to a few vector instructions.
fn has_control(bytes: &[u8]) -> bool {
    let control = |b: u8| u8::from((b < 0x20) | (b == 0x7f));
    let mut chunks = bytes.chunks_exact(32);
    chunks.any(|c| c.iter().fold(0, |any, &b| any | control(b)) != 0)
        || chunks.remainder().iter().any(|&b| control(b) != 0)
}

/// Writes every byte of `bytes`, escaping those that need it (the rare path: control characters).
fn escape_each(bytes: &[u8], out: &mut Vec<u8>) {
    let mut rest = bytes;
    loop {
        let clean = clean_prefix(rest);
        out.extend_from_slice(&rest[..clean]);
        let Some(&b) = rest.get(clean) else { break };
        escape(b, out);
        rest = &rest[clean + 1..];
    }
}

/// How many leading bytes of `bytes` need no escaping (16 at a time while none does).
fn clean_prefix(bytes: &[u8]) -> usize {
    let mut done = 0;
    for chunk in bytes.chunks_exact(16) {
        if chunk.iter().fold(false, |any, &b| any | needs_escape(b)) {
            break;
        }
        done += 16;
    }
    done + bytes[done..]
        .iter()
        .position(|&b| ESCAPE[usize::from(b)])
        .unwrap_or(bytes.len() - done)
}

fn escape(b: u8, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        b => {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> String {
        let mut out = Vec::new();
        string(text, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bare_or_quoted() {
        assert_eq!(s("web01"), "web01");
        assert_eq!(
            s("/var/log/apache2/access.log"),
            "/var/log/apache2/access.log"
        );
        assert_eq!(s("http://x.dk/a"), "http://x.dk/a");
        assert_eq!(s("a b"), "\"a b\"");
        assert_eq!(s("/a?b=1&c"), "\"/a?b=1&c\"");
        assert_eq!(s("kk\\ab12"), "\"kk\\\\ab12\"");
        assert_eq!(s("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(s("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
        assert_eq!(s("nul\0"), "\"nul\\u0000\"");
        assert_eq!(s(""), "\"\"");
        assert_eq!(
            s("a+b@c_d-e.f:g/h0123456789XYZ"),
            "a+b@c_d-e.f:g/h0123456789XYZ"
        );
        assert_eq!(s("[x]"), "\"[x]\"");
        assert_eq!(s("\"\\\""), "\"\\\"\\\\\\\"\"");
        let long = format!(
            "{}\"{}\\{}",
            "a b".repeat(20),
            "c".repeat(40),
            "d".repeat(33)
        );
        assert_eq!(
            s(&long),
            format!(
                "\"{}\\\"{}\\\\{}\"",
                "a b".repeat(20),
                "c".repeat(40),
                "d".repeat(33)
            )
        );
        let control = format!("{}\"\u{1b}[0m{}\\", "x ".repeat(20), "y".repeat(40));
        assert_eq!(
            s(&control),
            format!(
                "\"{}\\\"\\u001b[0m{}\\\\\"",
                "x ".repeat(20),
                "y".repeat(40)
            )
        );
        assert_eq!(
            s("long text of more than sixteen bytes \"quoted\" and \u{7f}"),
            "\"long text of more than sixteen bytes \\\"quoted\\\" and \\u007f\""
        );
    }
}
