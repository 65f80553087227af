//! The `kv` payload: `key=value` pairs separated by one space, values bare or double-quoted.
//!
//! A string is written bare when it matches `[A-Za-z0-9._:/@+-]+`; otherwise it is quoted with `\"`,
//! `\\`, `\n`, `\r`, `\t` escaped, and other control characters written as `\u00XX`.
//! `label` is one comma-joined value.

use super::append::append;
use super::scan;
use crate::event::{Event, Value};
use crate::normalise::text::lies_within;

/// Appends the `kv` payload of `event` to `out`; `names` is `event`'s device and source name as
/// [`names`] writes them.
pub fn write(event: &Event<'_>, include_msg: bool, names: &[u8], out: &mut Vec<u8>) {
    let msg = event.msg.as_bytes();
    let msg_flags = if include_msg { scan::kv_flags(msg) } else { 0 };
    // Values cut from a `msg` that needs no escaping need none either: only their bare check is done.
    let clean: &[u8] = if include_msg && msg_flags & scan::ESCAPE == 0 {
        msg
    } else {
        &[]
    };
    let mut int = itoa::Buffer::new();
    out.extend_from_slice(b"log_ts=");
    append(out, int.format(event.time.unix).as_bytes());
    out.extend_from_slice(b" norm_id=");
    append(out, event.norm_id.as_bytes());
    if !event.labels.is_empty() {
        out.extend_from_slice(b" label=");
        labels(event, out);
    }
    for field in &event.fields {
        out.push(b' ');
        append(out, field.name.as_bytes());
        out.push(b'=');
        match &field.value {
            Value::Int(n) => append(out, int.format(*n).as_bytes()),
            Value::Float(f) => append(out, super::json::float_text(*f).as_bytes()),
            Value::Ip(s) | Value::Str(s) => {
                let bytes = s.as_bytes();
                let flags = if lies_within(bytes, clean) {
                    scan::bare_flags(bytes)
                } else {
                    scan::kv_flags(bytes)
                };
                flagged(bytes, flags, out);
            }
        }
    }
    append(out, names);
    out.extend_from_slice(b" severity=");
    append(out, int.format(event.severity).as_bytes());
    out.extend_from_slice(b" facility=");
    append(out, int.format(event.facility).as_bytes());
    if include_msg {
        out.extend_from_slice(b" msg=");
        flagged(msg, msg_flags, out);
    }
    if let Some(reason) = &event.parse_error {
        out.extend_from_slice(b" parse_error=");
        string(reason, out);
    }
}

/// Appends the `device_name` and `source_name` fields, with the space before each.
pub fn names(device_name: &str, source_name: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b" device_name=");
    string(device_name, out);
    out.extend_from_slice(b" source_name=");
    string(source_name, out);
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
        append(out, label.as_bytes());
    }
    out.push(b'"');
}

/// Writes `text` bare or quoted.
fn string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    flagged(bytes, scan::kv_flags(bytes), out);
}

/// Writes `bytes`, whose [`scan::kv_flags`] are `flags` (or whose `NOT_BARE` flag is, when they
/// hold nothing to escape), bare or quoted. Inlined into its few callers: the call (saving and
/// restoring registers) was a fifth of the work for a short value.
#[inline(always)]
fn flagged(bytes: &[u8], flags: u8, out: &mut Vec<u8>) {
    if flags == 0 && !bytes.is_empty() {
        append(out, bytes);
        return;
    }
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if flags & scan::ESCAPE == 0 {
        append(out, bytes);
    } else {
        escape_each(bytes, out);
    }
    out.push(b'"');
}

/// Writes every byte of `bytes`, escaping those that need it (the rare path).
fn escape_each(bytes: &[u8], out: &mut Vec<u8>) {
    let mut rest = bytes;
    loop {
        let clean = scan::escape_free_prefix(rest);
        append(out, &rest[..clean]);
        let Some(&b) = rest.get(clean) else { break };
        escape(b, out);
        rest = &rest[clean + 1..];
    }
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
    use proptest::prelude::*;

    /// `string` written the plain way, one character at a time: what the fast path must match.
    fn reference(text: &str) -> String {
        let bare = |c: char| c.is_ascii_alphanumeric() || "._:/@+-".contains(c);
        if !text.is_empty() && text.chars().all(bare) {
            return text.to_string();
        }
        let mut out = String::from("\"");
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c < ' ' || c == '\u{7f}' => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

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

    #[test]
    fn lengths_around_the_window_size() {
        for len in [15, 16, 17, 31, 32, 33] {
            let bare = "a".repeat(len);
            assert_eq!(s(&bare), bare);
            for (at, odd) in [(0, " "), (len / 2, "\""), (len - 1, "\u{1}")] {
                let mut text = bare.clone();
                text.replace_range(at..at + 1, odd);
                assert_eq!(s(&text), reference(&text), "{text:?}");
            }
        }
        assert_eq!(s("blåbærgrød"), "\"blåbærgrød\"");
        assert_eq!(s("ab\\"), "\"ab\\\\\"");
    }

    #[test]
    fn values_cut_from_msg_are_escaped_as_any_other() {
        let msgs = [
            "Failed password for \"x\\y\" from 10.0.0.1 port 22 ssh2 and more text",
            "Failed password for invalid user admin from 10.0.0.1 port 22 ssh2",
        ];
        for msg in msgs {
            for include_msg in [true, false] {
                let mut event = Event::new("h", "/x");
                event.msg = std::borrow::Cow::Borrowed(msg);
                event.str("message", &msg[7..]);
                event.str("action", &msg[..6]);
                event.str("tail", &msg[msg.len() - 20..]);
                let mut out = Vec::new();
                write(&event, include_msg, b"", &mut out);
                let text = String::from_utf8(out).unwrap();
                let fields = format!(
                    " message={} action={} tail={} severity",
                    reference(&msg[7..]),
                    reference(&msg[..6]),
                    reference(&msg[msg.len() - 20..])
                );
                assert!(text.contains(&fields), "{text}");
                assert_eq!(text.ends_with(&reference(msg)), include_msg, "{text}");
            }
        }
    }

    proptest! {
        #[test]
        fn matches_the_character_at_a_time_reference(text in any::<String>()) {
            prop_assert_eq!(s(&text), reference(&text));
        }

        #[test]
        fn matches_the_reference_on_log_like_text(
            text in "[a-zA-Z0-9._:/@+ \"\\\\\t\n\r\u{0}\u{1b}\u{7f}æ€-]{0,80}"
        ) {
            prop_assert_eq!(s(&text), reference(&text));
        }
    }
}
