//! Small conversions from log bytes to field text: lossy UTF-8, IP canonical form, snake_case.

use std::borrow::Cow;
use std::net::IpAddr;

use super::ipv6_text::Ipv6Text;
use crate::event::{Event, Value};

/// The bytes as text, invalid UTF-8 replaced by U+FFFD; borrowed when already valid.
pub fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    // The strict check is much faster than the lossy decoder on the (common) valid input.
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Whether `part` lies inside `whole`: is a slice of those very bytes, not merely equal to some of
/// them. An empty `whole` holds nothing.
pub fn lies_within(part: &[u8], whole: &[u8]) -> bool {
    let (start, whole_start) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    !whole.is_empty() && start >= whole_start && start + part.len() <= whole_start + whole.len()
}

/// A record's bytes with their UTF-8 check done once: a field cut from the record becomes text by
/// slicing the checked text (O(1)), not by checking its bytes again.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordText<'a> {
    bytes: &'a [u8],
    /// The record as text when it is valid UTF-8.
    text: Option<&'a str>,
}

impl<'a> RecordText<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        RecordText {
            bytes,
            text: std::str::from_utf8(bytes).ok(),
        }
    }

    /// The whole record as text, invalid UTF-8 replaced.
    pub fn whole(&self) -> Cow<'a, str> {
        match self.text {
            Some(text) => Cow::Borrowed(text),
            None => String::from_utf8_lossy(self.bytes),
        }
    }

    /// `part` as text; `part` is normally a slice of this record (anything else is checked on its own).
    pub fn str(&self, part: &'a [u8]) -> Cow<'a, str> {
        if let Some(text) = self.text {
            let start = (part.as_ptr() as usize).wrapping_sub(self.bytes.as_ptr() as usize);
            if start <= self.bytes.len() && part.len() <= self.bytes.len() - start {
                // `get` checks only that both ends fall on character boundaries.
                if let Some(slice) = text.get(start..start + part.len()) {
                    return Cow::Borrowed(slice);
                }
            }
        }
        lossy(part)
    }

    /// Like [`RecordText::str`] for bytes that may have been unescaped into a buffer of their own.
    pub fn cow(&self, part: Cow<'a, [u8]>) -> Cow<'a, str> {
        match part {
            Cow::Borrowed(part) => self.str(part),
            owned => lossy_cow(owned),
        }
    }
}

/// Like [`lossy`] for a `Cow` that may already own its bytes.
pub fn lossy_cow(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => lossy(b),
        Cow::Owned(b) => Cow::Owned(match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }),
    }
}

/// Adds an address as `ip_field` (canonical IP text) when it is an IP, else as `host_field`.
pub fn address<'a>(
    event: &mut Event<'a>,
    ip_field: &'static str,
    host_field: &'static str,
    raw: &'a [u8],
) {
    if is_ipv4(raw) {
        // Already canonical: slice the record's checked text instead of checking the bytes again.
        let ip = event.record.str(raw);
        event.dynamic(Cow::Borrowed(ip_field), Value::Ip(ip));
    } else if let Some(ip) = ip_text(raw) {
        event.dynamic(Cow::Borrowed(ip_field), Value::Ip(ip));
    } else {
        event.text(host_field, raw);
    }
}

/// The IP address in `raw` in its canonical text form (IPv6 compressed), borrowed when `raw` already is.
pub fn ip_text(raw: &[u8]) -> Option<Cow<'_, str>> {
    if is_ipv4(raw) {
        // ASCII digits and dots only, so this check cannot fail.
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    let text = std::str::from_utf8(raw).ok()?;
    let ip: IpAddr = text.parse().ok()?;
    match ip {
        IpAddr::V4(_) => Some(Cow::Borrowed(text)),
        IpAddr::V6(v6) => {
            // Built on the stack, so an address that is already canonical (the usual case) costs no
            // allocation.
            let canonical = Ipv6Text::new(v6);
            Some(if canonical.as_bytes() == text.as_bytes() {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(v6.to_string())
            })
        }
    }
}

/// Whether `raw` is dotted-quad IPv4 text as `Ipv4Addr`'s parser accepts it (four decimal octets of at
/// most 255, no leading zero), without its general-purpose parser: most addresses in logs are IPv4.
fn is_ipv4(raw: &[u8]) -> bool {
    let mut octets = 0;
    for part in raw.split(|&b| b == b'.') {
        octets += 1;
        let canonical = match part {
            [d] => d.is_ascii_digit(),
            [b'1'..=b'9', d] => d.is_ascii_digit(),
            [b'1', d, e] => d.is_ascii_digit() && e.is_ascii_digit(),
            [b'2', b'0'..=b'4', d] => d.is_ascii_digit(),
            [b'2', b'5', b'0'..=b'5'] => true,
            _ => false,
        };
        if !canonical || octets > 4 {
            return false;
        }
    }
    octets == 4
}

/// A decimal integer written canonically: no sign, no leading zero, at most 18 digits.
pub fn canonical_int(raw: &[u8]) -> Option<i64> {
    if raw.is_empty() || raw.len() > 18 || (raw.len() > 1 && raw[0] == b'0') {
        return None;
    }
    raw.iter().try_fold(0i64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
    })
}

/// `name` in snake_case ([`snake_case`]), borrowed when it already is, as names often are.
pub fn to_snake_case(name: Cow<'_, str>) -> Cow<'_, str> {
    if is_snake_case(&name) {
        name
    } else {
        Cow::Owned(snake_case(&name))
    }
}

/// Whether [`snake_case`] would return `name` unchanged, for names of ASCII lowercase letters, digits
/// and single inner underscores (others are simply converted).
fn is_snake_case(name: &str) -> bool {
    let bytes = name.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_';
    !bytes.is_empty()
        && bytes.first() != Some(&b'_')
        && bytes.last() != Some(&b'_')
        && bytes.iter().all(inner)
        && !bytes.windows(2).any(|pair| pair == b"__")
}

/// `camelCase`, `dotted.name`, `kebab-name` and `Mixed Case` to `snake_case`; runs of capitals stay one
/// word (`eventID` → `event_id`, `HTTPStatus` → `http_status`).
pub fn snake_case(name: &str) -> String {
    if name.is_ascii() {
        ascii_snake_case(name.as_bytes())
    } else {
        unicode_snake_case(name)
    }
}

/// [`snake_case`] of an ASCII name (nearly all of them), byte by byte: the same rules as
/// [`unicode_snake_case`] without decoding characters or looking up Unicode case tables.
fn ascii_snake_case(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev: Option<u8> = None;
    for (i, &c) in name.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() {
                let boundary = match prev {
                    Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                    Some(p) if p.is_ascii_uppercase() => {
                        name.get(i + 1).is_some_and(u8::is_ascii_lowercase)
                    }
                    _ => false,
                };
                if boundary {
                    separate(&mut out);
                }
                out.push(char::from(c.to_ascii_lowercase()));
            } else {
                out.push(char::from(c));
            }
        } else {
            separate(&mut out);
        }
        prev = Some(c);
    }
    without_trailing_separator(out)
}

/// [`snake_case`] of any name.
fn unicode_snake_case(name: &str) -> String {
    // One allocation, the result: neighbours are looked up in `name`, not in a copy of its chars.
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev: Option<char> = None;
    for (i, c) in name.char_indices() {
        if c.is_alphanumeric() {
            if c.is_uppercase() {
                let next = name.get(i + c.len_utf8()..).and_then(|r| r.chars().next());
                let boundary = match prev {
                    Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                    Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                    _ => false,
                };
                if boundary {
                    separate(&mut out);
                }
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
        } else {
            separate(&mut out);
        }
        prev = Some(c);
    }
    without_trailing_separator(out)
}

/// Ends the word written so far with `_`, unless nothing is written yet or it already ends so: a
/// snake_case name has no leading and no doubled underscores.
fn separate(out: &mut String) {
    if !out.is_empty() && !out.ends_with('_') {
        out.push('_');
    }
}

/// `out` without the underscore a trailing separator left.
fn without_trailing_separator(mut out: String) -> String {
    while out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases_like_the_schema() {
        assert_eq!(snake_case("eventSource"), "event_source");
        assert_eq!(snake_case("eventID"), "event_id");
        assert_eq!(snake_case("requestInfo.userId"), "request_info_user_id");
        assert_eq!(snake_case("HTTPStatus"), "http_status");
        assert_eq!(snake_case("iut"), "iut");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(snake_case("x-forwarded-for"), "x_forwarded_for");
        assert_eq!(snake_case("@timestamp"), "timestamp");
    }

    #[test]
    fn lies_within_means_the_same_bytes() {
        let whole = b"Failed password for root";
        assert!(lies_within(&whole[7..15], whole));
        assert!(lies_within(whole, whole));
        assert!(lies_within(&whole[24..], whole), "the empty end");
        let copy = whole[7..15].to_vec();
        assert!(!lies_within(&copy, whole), "equal bytes elsewhere");
        assert!(
            !lies_within(&whole[..0], &whole[..0]),
            "an empty whole holds nothing"
        );
        let (left, right) = whole.split_at(10);
        assert!(!lies_within(whole, left) && !lies_within(whole, right));
    }

    #[test]
    fn ascii_names_are_converted_as_unicode_ones() {
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..20_000 {
            let name: String = (0..rng.usize(0..12))
                .map(|_| *rng.choice(b"aZ9_.- AbCDxyQ").unwrap() as char)
                .collect();
            assert_eq!(
                ascii_snake_case(name.as_bytes()),
                unicode_snake_case(&name),
                "{name:?}"
            );
        }
        assert_eq!(snake_case("Änderung.Grund"), "änderung_grund");
    }

    #[test]
    fn names_already_in_snake_case_are_borrowed() {
        for name in ["iut", "ip", "event_id", "a1_b2", "x"] {
            assert!(matches!(to_snake_case(name.into()), Cow::Borrowed(n) if n == name));
        }
        let names = [
            "eventID", "_x", "x_", "a__b", "", "é", "Ip", "a-b", "a.b", "a b", "ab_",
        ];
        for name in names {
            let converted = to_snake_case(name.into());
            assert!(matches!(converted, Cow::Owned(_)), "{name:?}");
            assert_eq!(converted, snake_case(name));
        }
        for name in ["iut", "a1_b2", "x", "event_id"] {
            assert_eq!(
                snake_case(name),
                name,
                "the borrowed ones are what snake_case gives"
            );
        }
    }

    #[test]
    fn ipv4_check_agrees_with_the_standard_parser() {
        let mut cases: Vec<String> = (0..1000)
            .flat_map(|n| [format!("{n}"), format!("0{n}"), format!("00{n}")])
            .map(|octet| format!("10.{octet}.0.1"))
            .collect();
        for text in [
            "1.2.3.4",
            "255.255.255.255",
            "0.0.0.0",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.a",
            "256.1.1.1",
            "1.2.3.1000",
            "",
            "::1",
            "1.2.3.4:80",
        ] {
            cases.push(text.into());
        }
        for text in &cases {
            let std = text.parse::<std::net::Ipv4Addr>().is_ok();
            assert_eq!(is_ipv4(text.as_bytes()), std, "{text:?}");
        }
    }

    #[test]
    fn ip_text_is_canonical() {
        assert_eq!(ip_text(b"10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(ip_text(b"2001:0db8:0:0::7").as_deref(), Some("2001:db8::7"));
        assert!(matches!(ip_text(b"::1"), Some(Cow::Borrowed("::1"))));
        assert_eq!(ip_text(b"example.org"), None);
    }

    #[test]
    fn record_text_slices_what_it_checked() {
        let line = "caf\u{e9} user=b\u{f8}rge".as_bytes();
        let text = RecordText::new(line);
        assert!(matches!(text.str(&line[11..]), Cow::Borrowed("b\u{f8}rge")));
        assert_eq!(
            text.str(&line[..4]),
            "caf\u{fffd}",
            "a cut through a character is replaced"
        );
        assert_eq!(text.str(b"elsewhere"), "elsewhere");
        let bad = RecordText::new(b"ok \xff x");
        assert_eq!(bad.whole(), "ok \u{fffd} x");
        assert_eq!(bad.str(&b"ok \xff x"[..2]), "ok");
    }

    #[test]
    fn canonical_ints_only() {
        assert_eq!(canonical_int(b"3"), Some(3));
        assert_eq!(canonical_int(b"0"), Some(0));
        assert_eq!(canonical_int(b"007"), None);
        assert_eq!(canonical_int(b"-1"), None);
        assert_eq!(canonical_int(b"1234567890123456789"), None);
    }
}
