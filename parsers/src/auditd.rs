//! Linux audit records (`[node=N ]type=T msg=audit(EPOCH.MS:SERIAL): k=v …`): header, fields, hex values.

use crate::scan::{from, leading_digits, parse_u64, split_at, trim_eol};
use crate::ParseError;

/// The header of one audit record and its unparsed body, borrowing from the line.
///
/// Invariants: `record_type` is non-empty and has no space; `millis` < 1000 (the first three
/// fraction digits; the kernel writes exactly three); `body` has no trailing CR/LF and stops before
/// the enriched-format separator (0x1D) if the line has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRecord<'a> {
    /// `node=NAME` written before `type=` by a multi-host setup.
    pub node: Option<&'a [u8]>,
    /// `SYSCALL`, `EXECVE`, `USER_LOGIN`, … (or `UNKNOWN[1334]`).
    pub record_type: &'a [u8],
    /// Seconds since the epoch, UTC.
    pub seconds: u64,
    /// Milliseconds of the time stamp.
    pub millis: u32,
    /// The event serial: the records of one event share it.
    pub serial: u64,
    /// The `k=v …` text after `): `.
    pub body: &'a [u8],
}

/// Parses the record header; the fields are read from `body` with [`fields`]. Never panics;
/// allocates nothing.
pub fn parse(line: &[u8]) -> Result<AuditRecord<'_>, ParseError> {
    // Cut at the enriched part first, so a line end before the separator is trimmed too.
    let line = match memchr::memchr(0x1d, line) {
        Some(gs) => line.get(..gs).unwrap_or(line),
        None => line,
    };
    let line = trim_eol(line);
    let mut at = 0;
    let mut node = None;
    if let Some(rest) = line.strip_prefix(b"node=") {
        let end = memchr::memchr(b' ', rest).ok_or(ParseError::new("expected ' type='", 5))?;
        node = Some(rest.get(..end).unwrap_or(&[])).filter(|n| !n.is_empty());
        at = 5 + end + 1;
    }
    let rest = from(line, at)
        .strip_prefix(b"type=")
        .ok_or(ParseError::new("expected 'type='", at))?;
    at += 5;
    let end = memchr::memchr(b' ', rest).ok_or(ParseError::new("expected ' msg=audit('", at))?;
    let record_type = rest.get(..end).unwrap_or(&[]);
    if record_type.is_empty() {
        return Err(ParseError::new("expected a record type", at));
    }
    at += end + 1;
    let rest = from(line, at)
        .strip_prefix(b"msg=audit(")
        .ok_or(ParseError::new("expected 'msg=audit('", at))?;
    at += 10;
    let (seconds, rest) = leading_digits(rest);
    let seconds = parse_u64(seconds).ok_or(ParseError::new("expected epoch seconds", at))?;
    let rest = rest
        .strip_prefix(b".")
        .ok_or(ParseError::new("expected '.'", at))?;
    let (fraction, rest) = leading_digits(rest);
    let millis = fraction
        .iter()
        .take(3)
        .chain(b"000".iter())
        .take(3)
        .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    let rest = rest
        .strip_prefix(b":")
        .ok_or(ParseError::new("expected ':' before serial", at))?;
    let (serial, rest) = leading_digits(rest);
    let serial = parse_u64(serial).ok_or(ParseError::new("expected serial", at))?;
    let body = rest
        .strip_prefix(b"):")
        .ok_or(ParseError::new("expected '):'", at))?;
    Ok(AuditRecord {
        node,
        record_type,
        seconds,
        millis,
        serial,
        body: body.strip_prefix(b" ").unwrap_or(body),
    })
}

/// How a value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditValue<'a> {
    /// Unquoted: a number, a word, or hex-encoded text (see [`decode_hex`]).
    Bare(&'a [u8]),
    /// In double quotes (the quotes removed): literal text.
    Quoted(&'a [u8]),
    /// In single quotes: the `msg='k=v …'` of a user-space record, itself a field list for [`fields`].
    Nested(&'a [u8]),
}

/// One `key=value` of a record body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditField<'a> {
    /// The key as written (non-empty).
    pub key: &'a [u8],
    /// The value.
    pub value: AuditValue<'a>,
}

/// The `key=value` fields of a record body (or of a nested `msg='…'`), in order. Words without `=`
/// (the `avc:  denied  { read }` of AVC records) are skipped. Never panics; allocates nothing.
pub fn fields(body: &[u8]) -> Fields<'_> {
    Fields { rest: body }
}

/// Iterator over [`AuditField`]s, see [`fields`].
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = AuditField<'a>;

    fn next(&mut self) -> Option<AuditField<'a>> {
        loop {
            let start = self.rest.iter().position(|&b| b != b' ')?;
            let rest = from(self.rest, start);
            let word_end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            let Some(eq) = memchr::memchr(b'=', rest.get(..word_end).unwrap_or(&[])) else {
                self.rest = from(rest, word_end);
                continue;
            };
            let (key, value) = split_at(rest, eq);
            let value = from(value, 1);
            let (value, after) = match value.first() {
                Some(b'"') => quoted(value),
                Some(b'\'') => nested(value),
                _ => {
                    let end = memchr::memchr(b' ', value).unwrap_or(value.len());
                    let (bare, after) = split_at(value, end);
                    (AuditValue::Bare(bare), after)
                }
            };
            self.rest = after;
            if !key.is_empty() {
                return Some(AuditField { key, value });
            }
        }
    }
}

/// `"text"…` → the text and what follows the closing quote (an unterminated value runs to the end).
fn quoted(value: &[u8]) -> (AuditValue<'_>, &[u8]) {
    let inner = from(value, 1);
    match memchr::memchr(b'"', inner) {
        Some(end) => {
            let (text, after) = split_at(inner, end);
            (AuditValue::Quoted(text), from(after, 1))
        }
        None => (AuditValue::Quoted(inner), &[]),
    }
}

/// `'k=v …'…` → the nested text and what follows the closing quote. A `'` inside a double-quoted
/// value does not close it.
fn nested(value: &[u8]) -> (AuditValue<'_>, &[u8]) {
    let inner = from(value, 1);
    let mut in_quotes = false;
    for (i, &b) in inner.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\'' if !in_quotes => {
                let (text, after) = split_at(inner, i);
                return (AuditValue::Nested(text), from(after, 1));
            }
            _ => {}
        }
    }
    (AuditValue::Nested(inner), &[])
}

/// Whether auditd writes `key` as an untrusted string: in double quotes when it is plain, else
/// hex-encoded. `a0`, `a1`, … are such strings only in `EXECVE` records (elsewhere they are the
/// system call's arguments in hex).
pub fn is_encoded(record_type: &[u8], key: &[u8]) -> bool {
    const ENCODED: &[&[u8]] = &[
        b"acct",
        b"cmd",
        b"comm",
        b"cwd",
        b"data",
        b"dir",
        b"exe",
        b"file",
        b"key",
        b"name",
        b"new",
        b"ocomm",
        b"old",
        b"path",
        b"proctitle",
        b"vm",
        b"watch",
    ];
    ENCODED.contains(&key) || (record_type == b"EXECVE" && argument_index(key).is_some())
}

/// `N` of an `EXECVE` argument key `aN`.
pub fn argument_index(key: &[u8]) -> Option<u32> {
    let digits = key.strip_prefix(b"a")?;
    if digits.len() > 1 && digits.first() == Some(&b'0') {
        return None;
    }
    u32::try_from(parse_u64(digits)?).ok()
}

/// The bytes of hex text (`2F746D70` → `/tmp`, either letter case); `None` unless `hex` is a
/// non-empty, even-length run of hex digits.
pub fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    hex.chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::mutations;
    use proptest::prelude::*;

    const SEEDS: &[&[u8]] = &[
        b"type=EXECVE msg=audit(1764151200.123:9911): argc=3 a0=\"curl\" a1=\"-s\" a2=687474703A2F2F6576696C2E6578616D706C652F78",
        b"type=USER_LOGIN msg=audit(1764151260.500:9920): pid=2210 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct=\"admin\" exe=\"/usr/sbin/sshd\" hostname=? addr=198.51.100.23 terminal=sshd res=failed'",
        b"node=web01 type=SYSCALL msg=audit(1764151200.123:9911): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 items=2 ppid=2201 pid=2210 auid=1000 uid=1000 tty=pts0 ses=3 comm=\"curl\" exe=\"/usr/bin/curl\" key=(null)\x1dARCH=x86_64 SYSCALL=execve",
        b"type=AVC msg=audit(1764151200.001:12): avc:  denied  { read write } for  pid=1 comm=\"x\" name=\"y\" permissive=0",
        b"type=PROCTITLE msg=audit(1764151200.123:9911): proctitle=6375726C002D73\n",
    ];

    fn all(body: &[u8]) -> Vec<(&[u8], AuditValue<'_>)> {
        fields(body).map(|f| (f.key, f.value)).collect()
    }

    #[test]
    fn header() {
        let r = parse(SEEDS[0]).unwrap();
        assert_eq!(
            (r.node, r.record_type, r.seconds, r.millis, r.serial),
            (None, &b"EXECVE"[..], 1_764_151_200, 123, 9911)
        );
        assert!(r.body.starts_with(b"argc=3"));
        let r = parse(SEEDS[2]).unwrap();
        assert_eq!(r.node, Some(&b"web01"[..]));
        assert!(r.body.ends_with(b"key=(null)"), "enriched part dropped");
        // Found by the `auditd` fuzz target: a CR before the enriched separator stayed in the body.
        let r = parse(b"type=X msg=audit(1.5:7): pid=1\r\n\x1dUID=root").unwrap();
        assert_eq!(r.body, b"pid=1");
        let r = parse(b"type=DAEMON_START msg=audit(1.5:0): ").unwrap();
        assert_eq!((r.seconds, r.millis, r.body), (1, 500, &b""[..]));
        let r = parse(b"type=X msg=audit(1122475266.4294965305:0): initialized").unwrap();
        assert_eq!(r.millis, 429);
    }

    #[test]
    fn header_rejects() {
        assert!(parse(b"").is_err());
        assert!(parse(b"type=SYSCALL").is_err());
        assert!(parse(b"type= msg=audit(1.1:1): x").is_err());
        assert!(parse(b"type=SYSCALL msg=audit(1:1): x").is_err());
        assert!(parse(b"type=SYSCALL msg=audit(1.1:): x").is_err());
        assert!(parse(b"type=SYSCALL msg=audit(1.1:1) x").is_err());
        assert!(parse(b"node=a").is_err());
        assert!(parse(b"Jul 27 14:41:59 combo kernel: audit(1.2:0): initialized").is_err());
    }

    #[test]
    fn field_kinds() {
        let r = parse(SEEDS[1]).unwrap();
        let f = all(r.body);
        assert_eq!(f[0], (&b"pid"[..], AuditValue::Bare(b"2210")));
        let (key, AuditValue::Nested(inner)) = f[4] else {
            panic!("nested msg expected: {f:?}");
        };
        assert_eq!(key, b"msg");
        let inner = all(inner);
        assert_eq!(inner[1], (&b"acct"[..], AuditValue::Quoted(b"admin")));
        assert_eq!(inner[3], (&b"hostname"[..], AuditValue::Bare(b"?")));
        assert_eq!(inner[6], (&b"res"[..], AuditValue::Bare(b"failed")));
    }

    #[test]
    fn words_without_equals_are_skipped() {
        let r = parse(SEEDS[3]).unwrap();
        let keys: Vec<&[u8]> = fields(r.body).map(|f| f.key).collect();
        assert_eq!(keys, [&b"pid"[..], b"comm", b"name", b"permissive"]);
    }

    #[test]
    fn quotes_inside_nested_and_unterminated() {
        let f = all(b"msg='acct=\"o'brien\" res=success' x=1");
        let AuditValue::Nested(inner) = f[0].1 else {
            panic!("{f:?}")
        };
        assert_eq!(all(inner)[0].1, AuditValue::Quoted(b"o'brien"));
        assert_eq!(f[1], (&b"x"[..], AuditValue::Bare(b"1")));
        assert_eq!(all(b"a=\"open"), [(&b"a"[..], AuditValue::Quoted(b"open"))]);
        assert_eq!(all(b"m='k=v"), [(&b"m"[..], AuditValue::Nested(b"k=v"))]);
        assert_eq!(all(b"=v k="), [(&b"k"[..], AuditValue::Bare(b""))]);
    }

    #[test]
    fn hex_and_encoded_keys() {
        assert_eq!(decode_hex(b"2f746D70").as_deref(), Some(&b"/tmp"[..]));
        assert_eq!(decode_hex(b"abc"), None);
        assert_eq!(decode_hex(b""), None);
        assert_eq!(decode_hex(b"zz"), None);
        assert!(is_encoded(b"EXECVE", b"a12"));
        assert!(!is_encoded(b"SYSCALL", b"a0"));
        assert!(is_encoded(b"PROCTITLE", b"proctitle"));
        assert!(!is_encoded(b"EXECVE", b"argc"));
        assert_eq!(argument_index(b"a7"), Some(7));
        assert_eq!(argument_index(b"a07"), None);
        assert_eq!(argument_index(b"a1[0]"), None);
        assert_eq!(argument_index(b"a"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(r) = parse(&b) {
                for f in fields(r.body) {
                    if let AuditValue::Nested(inner) = f.value {
                        let _ = fields(inner).count();
                    }
                }
            }
            let _ = fields(&b).count();
            let _ = decode_hex(&b);
        }

        #[test]
        fn never_panics_on_mutations(b in mutations(SEEDS)) {
            if let Ok(r) = parse(&b) {
                for f in fields(r.body) {
                    if let AuditValue::Nested(inner) = f.value {
                        let _ = fields(inner).count();
                    }
                    if let AuditValue::Bare(v) = f.value {
                        let _ = decode_hex(v);
                    }
                }
            }
        }
    }
}
