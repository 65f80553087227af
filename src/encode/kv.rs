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
        let joined = event.labels.join(",");
        string(&joined, out);
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

fn value(value: &Value<'_>, out: &mut Vec<u8>) {
    match value {
        Value::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Value::Float(f) => out.extend_from_slice(super::json::float_text(*f).as_bytes()),
        Value::Ip(s) | Value::Str(s) => string(s, out),
    }
}

fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'@' | b'+' | b'-')
}

/// Writes `text` bare or quoted.
fn string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    if !bytes.is_empty() && bytes.iter().all(|&b| is_bare(b)) {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    let mut copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f | 0x7f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..i]);
        if escape.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(escape);
        }
        copied = i + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
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
    }
}
