//! Apache/Nginx access logs (common, combined and vhost_combined), told apart by their shape.
//!
//! Layout: `[vhost:port ]client ident user [dd/Mon/yyyy:hh:mm:ss ±zzzz] "request" status bytes[ "referer" "user-agent"][ anything more]`.
//! A quoted field ends at a `"` that is not escaped by a backslash and is followed by a
//! space or the end of the line, so raw quotes that broken loggers leave inside a field
//! do not end it early.

use std::borrow::Cow;

use memchr::{memchr, memchr2, memrchr};

use crate::scan::{from, parse_u16, parse_u64, split_at, trim_eol};
use crate::time::{parse_clf, DateTime};
use crate::ParseError;

/// One access-log line, borrowing from the input.
///
/// Invariants: `client`, `ident` and `user` are non-empty and contain no space;
/// `time.year` and `time.offset_seconds` are always `Some`; quoted fields are raw
/// (still escaped, see [`unescape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRecord<'a> {
    /// `%v:%p` as written (e.g. `vhost1.domaine.fr:443`), only for vhost_combined.
    pub vhost: Option<&'a [u8]>,
    /// `%h`, the client address or host name.
    pub client: &'a [u8],
    /// `%l`, identd name (`-` kept as written).
    pub ident: &'a [u8],
    /// `%u`, authenticated user (`-` kept as written).
    pub user: &'a [u8],
    /// `%t`; year and offset are always `Some`.
    pub time: DateTime,
    /// `%r`, the first line of the request.
    pub request: Request<'a>,
    /// `%>s`; `None` for `-`.
    pub status: Option<u16>,
    /// `%b`/`%O`; `None` for `-`.
    pub bytes: Option<u64>,
    /// Raw text inside the quotes, still escaped; `None` if the field is absent.
    pub referer: Option<&'a [u8]>,
    /// Raw text inside the quotes, still escaped; `None` if the field is absent.
    pub user_agent: Option<&'a [u8]>,
}

/// The quoted request field of an access-log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// `METHOD target HTTP/x.y`: method up to the first space, version after the last space (must start with `HTTP/`; `version` is the part after `HTTP/`, e.g. b"1.1"), target between (as sent).
    ///
    /// `method` is a non-empty HTTP token, `version` is non-empty, `target` may hold
    /// spaces and is still escaped.
    Line {
        /// Request method, e.g. `GET`.
        method: &'a [u8],
        /// Request target as sent, still escaped.
        target: &'a [u8],
        /// Protocol version after `HTTP/`, e.g. `1.1`.
        version: &'a [u8],
    },
    /// Anything else inside the quotes (e.g. TLS garbage `\x16\x03\x01...`, "-" or empty), raw and still escaped.
    Other(&'a [u8]),
}

/// Parses one access-log line (a trailing `\r`/`\n` is ignored).
///
/// Never panics; allocates nothing. Fields after the user agent are ignored. A user
/// agent whose closing quote is missing (a line cut short) runs to the end of the line;
/// every other unterminated quoted field is an error.
pub fn parse(line: &[u8]) -> Result<AccessRecord<'_>, ParseError> {
    let line = trim_eol(line);

    // Space-separated tokens before the `[` of the timestamp: 3 (common/combined) or 4 (vhost).
    let mut toks: [&[u8]; 4] = [&[]; 4];
    let mut n = 0usize;
    let mut pos = 0usize;
    while line.get(pos) != Some(&b'[') {
        let rest = from(line, pos);
        let Some(end) = rest.iter().position(|&c| c == b' ') else {
            return Err(ParseError::new("expected '[' before the time", line.len()));
        };
        if end == 0 {
            return Err(ParseError::new("empty field", pos));
        }
        let Some(slot) = toks.get_mut(n) else {
            return Err(ParseError::new("expected '[' before the time", pos));
        };
        *slot = split_at(rest, end).0;
        n += 1;
        pos += end + 1;
    }
    let [t0, t1, t2, t3] = toks;
    let (vhost, client, ident, user) = match n {
        3 => (None, t0, t1, t2),
        4 => (Some(t0), t1, t2, t3),
        _ => return Err(ParseError::new("expected client ident user", pos)),
    };

    // [time]
    pos += 1;
    let (time, used) = parse_clf(from(line, pos)).map_err(|e| e.shifted(pos))?;
    pos += used;
    if line.get(pos) != Some(&b']') {
        return Err(ParseError::new("expected ']' after the time", pos));
    }
    pos += 1;

    // "request"
    if line.get(pos..pos + 2) != Some(b" \"") {
        return Err(ParseError::new("expected ' \"' before the request", pos));
    }
    pos += 2;
    let (raw_request, used) = quoted(line, pos)?;
    pos += used;

    // status bytes
    let (status, used) = number_field(line, pos, "expected status")?;
    let status = match status {
        None => None,
        Some(s) => Some(parse_u16(s).ok_or(ParseError::new("bad status", pos))?),
    };
    pos += used;
    let (bytes, used) = number_field(line, pos, "expected bytes")?;
    let bytes = match bytes {
        None => None,
        Some(s) => Some(parse_u64(s).ok_or(ParseError::new("bad byte count", pos))?),
    };
    pos += used;

    // [ "referer" "user-agent"]
    let mut referer = None;
    let mut user_agent = None;
    if line.get(pos..pos + 2) == Some(b" \"") {
        pos += 2;
        let (r, used) = quoted(line, pos)?;
        referer = Some(r);
        pos += used;
        if line.get(pos..pos + 2) == Some(b" \"") {
            pos += 2;
            // A line cut short inside the user agent keeps what is there.
            user_agent = Some(match quoted(line, pos) {
                Ok((ua, _)) => ua,
                Err(_) => from(line, pos),
            });
        }
    }

    Ok(AccessRecord {
        vhost,
        client,
        ident,
        user,
        time,
        request: request(raw_request),
        status,
        bytes,
        referer,
        user_agent,
    })
}

/// A space then a token (`-` → `None`); returns it and the bytes consumed from `pos`.
#[inline]
fn number_field<'a>(
    line: &'a [u8],
    pos: usize,
    reason: &'static str,
) -> Result<(Option<&'a [u8]>, usize), ParseError> {
    if line.get(pos) != Some(&b' ') {
        return Err(ParseError::new(reason, pos));
    }
    let rest = from(line, pos + 1);
    let len = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
    let tok = split_at(rest, len).0;
    match tok {
        b"" => Err(ParseError::new(reason, pos + 1)),
        b"-" => Ok((None, len + 1)),
        _ => Ok((Some(tok), len + 1)),
    }
}

/// The content of a quoted field whose opening quote is just before `start`, and the
/// bytes consumed from `start` (content plus closing quote).
#[inline]
fn quoted(line: &[u8], start: usize) -> Result<(&[u8], usize), ParseError> {
    let body = from(line, start);
    let mut i = 0usize;
    loop {
        let Some(j) = memchr2(b'"', b'\\', from(body, i)) else {
            return Err(ParseError::new("unterminated quoted field", line.len()));
        };
        let j = i + j;
        if body.get(j) == Some(&b'\\') {
            i = j + 2; // the escaped byte is content
        } else {
            match body.get(j + 1) {
                None | Some(b' ') => return Ok((split_at(body, j).0, j + 1)),
                _ => i = j + 1, // a raw quote inside the field
            }
        }
    }
}

/// Whether `c` is an RFC 9110 `tchar`.
#[inline]
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Splits a raw request into [`Request::Line`] when it has that shape, else [`Request::Other`].
pub(crate) fn request(raw: &[u8]) -> Request<'_> {
    let (Some(sp1), Some(sp2)) = (raw.iter().position(|&c| c == b' '), memrchr(b' ', raw)) else {
        return Request::Other(raw);
    };
    if sp2 <= sp1 {
        return Request::Other(raw);
    }
    let (method, after) = split_at(raw, sp1);
    let target = from(after, 1).get(..sp2 - sp1 - 1).unwrap_or(&[]);
    let proto = from(raw, sp2 + 1);
    match proto.strip_prefix(b"HTTP/") {
        Some(version)
            if !version.is_empty() && !method.is_empty() && method.iter().all(|&c| is_tchar(c)) =>
        {
            Request::Line {
                method,
                target,
                version,
            }
        }
        _ => Request::Other(raw),
    }
}

/// Undoes Apache's escaping of `\"` and `\\` only; every other backslash sequence (`\x16`, `\n`) is kept as written. Borrowed when there is nothing to undo.
pub fn unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    // Find the first `\"` or `\\` pair; everything before it is copied as is.
    let mut i = 0usize;
    let first = loop {
        let Some(j) = memchr(b'\\', from(raw, i)) else {
            return Cow::Borrowed(raw);
        };
        let j = i + j;
        match raw.get(j + 1) {
            Some(b'"' | b'\\') => break j,
            Some(_) => i = j + 2,
            None => return Cow::Borrowed(raw),
        }
    };
    let (head, mut rest) = split_at(raw, first);
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(head);
    while let Some(j) = memchr(b'\\', rest) {
        let (before, tail) = split_at(rest, j);
        out.extend_from_slice(before);
        match tail.get(1) {
            Some(&c @ (b'"' | b'\\')) => out.push(c),
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

    const COMBINED: &[u8] = br#"83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36""#;
    const COMMON: &[u8] =
        br#"::1 - frank [26/Dec/2016:16:16:29 +0200] "GET /favicon.ico HTTP/1.1" 404 -"#;
    const ESCAPED: &[u8] = br#"2001:db8::7 - - [26/Nov/2026:09:15:00 +0100] "POST /api/v1/search?q=a%20b&x=1 HTTP/2.0" 503 1532 "-" "curl/8.5 \"test\" agent""#;
    const VHOST: &[u8] = br#"vhost1.domaine.fr:443 192.168.33.2 - - [26/Dec/2016:16:22:14 +0000] "GET /hello HTTP/1.1" 301 499 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:50.0) Gecko/20100101 Firefox/50.0""#;
    const TLS: &[u8] = br#"203.0.113.9 - - [26/Nov/2026:03:01:02 +0100] "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" 400 226 "-" "-""#;

    #[test]
    fn combined() {
        let r = parse(COMBINED).unwrap();
        assert_eq!(r.vhost, None);
        assert_eq!(r.client, b"83.149.9.216");
        assert_eq!(r.ident, b"-");
        assert_eq!(r.user, b"-");
        assert_eq!(r.time.unix_seconds(), Some(1_431_857_103));
        assert_eq!(
            r.request,
            Request::Line {
                method: b"GET",
                target: b"/presentations/logstash-monitorama-2013/images/kibana-search.png",
                version: b"1.1"
            }
        );
        assert_eq!(r.status, Some(200));
        assert_eq!(r.bytes, Some(203_023));
        assert_eq!(
            r.referer,
            Some(&b"http://semicomplete.com/presentations/logstash-monitorama-2013/"[..])
        );
        assert_eq!(r.user_agent, Some(&b"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"[..]));
    }

    #[test]
    fn common_with_dash_bytes() {
        let r = parse(COMMON).unwrap();
        assert_eq!(r.client, b"::1");
        assert_eq!(r.user, b"frank");
        assert_eq!(r.time.unix_seconds(), Some(1_482_761_789));
        assert_eq!(r.time.offset_seconds, Some(7200));
        assert_eq!(
            r.request,
            Request::Line {
                method: b"GET",
                target: b"/favicon.ico",
                version: b"1.1"
            }
        );
        assert_eq!((r.status, r.bytes), (Some(404), None));
        assert_eq!((r.referer, r.user_agent), (None, None));
    }

    #[test]
    fn escaped_user_agent() {
        let r = parse(ESCAPED).unwrap();
        assert_eq!(r.client, b"2001:db8::7");
        assert_eq!(r.time.unix_seconds(), Some(1_795_680_900));
        assert_eq!(
            r.request,
            Request::Line {
                method: b"POST",
                target: b"/api/v1/search?q=a%20b&x=1",
                version: b"2.0"
            }
        );
        assert_eq!((r.status, r.bytes), (Some(503), Some(1532)));
        assert_eq!(r.referer, Some(&b"-"[..]));
        let ua = r.user_agent.unwrap();
        assert_eq!(ua, br#"curl/8.5 \"test\" agent"#);
        assert_eq!(&*unescape(ua), br#"curl/8.5 "test" agent"#);
    }

    #[test]
    fn vhost_combined() {
        let r = parse(VHOST).unwrap();
        assert_eq!(r.vhost, Some(&b"vhost1.domaine.fr:443"[..]));
        assert_eq!(r.client, b"192.168.33.2");
        assert_eq!((r.ident, r.user), (&b"-"[..], &b"-"[..]));
        assert_eq!(r.time.unix_seconds(), Some(1_482_769_334));
        assert_eq!(
            r.request,
            Request::Line {
                method: b"GET",
                target: b"/hello",
                version: b"1.1"
            }
        );
        assert_eq!((r.status, r.bytes), (Some(301), Some(499)));
        assert_eq!(r.referer, Some(&b"-"[..]));
        assert_eq!(
            r.user_agent,
            Some(&b"Mozilla/5.0 (X11; Linux x86_64; rv:50.0) Gecko/20100101 Firefox/50.0"[..])
        );
    }

    #[test]
    fn tls_garbage_request() {
        let r = parse(TLS).unwrap();
        assert_eq!(
            r.request,
            Request::Other(br"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        );
        assert_eq!((r.status, r.bytes), (Some(400), Some(226)));
        assert_eq!(
            (r.referer, r.user_agent),
            (Some(&b"-"[..]), Some(&b"-"[..]))
        );
        assert_eq!(r.time.unix_seconds(), Some(1_795_658_462));
    }

    #[test]
    fn odd_requests() {
        let base = |req: &str| format!("1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] \"{req}\" 400 0");
        for (req, want) in [
            ("-", Request::Other(b"-")),
            ("", Request::Other(b"")),
            ("GET /", Request::Other(b"GET /")),
            ("GET / FTP/1.0", Request::Other(b"GET / FTP/1.0")),
            ("GET / HTTP/", Request::Other(b"GET / HTTP/")),
            (
                "GET /a b HTTP/1.0",
                Request::Line {
                    method: b"GET",
                    target: b"/a b",
                    version: b"1.0",
                },
            ),
            (
                "M-SEARCH * HTTP/1.1",
                Request::Line {
                    method: b"M-SEARCH",
                    target: b"*",
                    version: b"1.1",
                },
            ),
        ] {
            let line = base(req);
            assert_eq!(parse(line.as_bytes()).unwrap().request, want, "{req}");
        }
    }

    #[test]
    fn raw_quote_inside_user_agent_and_trailing_fields() {
        let line = br#"1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla "quoted"thing" "x-forwarded" 0.003"#;
        let r = parse(line).unwrap();
        assert_eq!(r.user_agent, Some(&br#"Mozilla "quoted"thing"#[..]));
        let line =
            b"1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\r\n";
        assert_eq!(parse(line).unwrap().user_agent, Some(&b"ua"[..]));
        let line = b"1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"Mozilla/5.0 (cut";
        assert_eq!(
            parse(line).unwrap().user_agent,
            Some(&b"Mozilla/5.0 (cut"[..])
        );
        let line = br#"1.2.3.4 - - [01/Jan/2020:00:00:00 +0000] "GET /a\\" 200 5 "-""#;
        let r = parse(line).unwrap();
        assert_eq!(r.request, Request::Other(br#"GET /a\\"#));
        assert_eq!(
            (r.status, r.referer, r.user_agent),
            (Some(200), Some(&b"-"[..]), None)
        );
    }

    #[test]
    fn rejects() {
        for line in [
            &b""[..],
            b"1.2.3.4 [20/Jul/2009:22:59:29 +0000] \"GET / HTTP/1.0\" 404 46210",
            b"1.2.3.4 - - [20/Jul/2009:22:59:29 +0000] \"GET / HTTP/1.0\" x 46210",
            b"1.2.3.4 - - [20/Jul/2009:22:59:29 +0000] \"GET / HTTP/1.0\" 200 1x",
            b"1.2.3.4 - - [20/Jul/2009:22:59:29 +0000] \"GET / HTTP/1.0\" 200",
            b"1.2.3.4 - - [20/Jul/2009:22:59:29 +0000] \"GET / HTTP/1.0 200 1",
            b"1.2.3.4 - - [20/Jul/2009:22:59:29 +0000 \"GET / HTTP/1.0\" 200 1",
            b"1.2.3.4 - - [20/Jul/2009:22:59:29 +0000]",
            b"1.2.3.4  - - [20/Jul/2009:22:59:29 +0000] \"GET / HTTP/1.0\" 200 1",
            b"a b c d e [20/Jul/2009:22:59:29 +0000] \"GET / HTTP/1.0\" 200 1",
            b"1.2.3.4 - - [20/Jul/2009:22:59:29 +0000] \"GET / HTTP/1.0\" 200 1 \"-",
        ] {
            let e = parse(line).unwrap_err();
            assert!(
                e.offset <= line.len(),
                "{e} for {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn unescapes_only_quote_and_backslash() {
        assert!(matches!(unescape(b"plain"), Cow::Borrowed(b"plain")));
        assert!(matches!(unescape(br"\x16\n"), Cow::Borrowed(_)));
        assert_eq!(&*unescape(br#"a\"b\\c\x16\"#), br#"a"b\c\x16\"#);
        assert_eq!(&*unescape(br"\\\\"), br"\\");
        assert_eq!(&*unescape(br"\x\\"), br"\x\");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Err(e) = parse(&b) {
                prop_assert!(e.offset <= b.len());
            }
            let _ = unescape(&b);
        }

        #[test]
        fn never_panics_on_mutations(b in mutations(&[COMBINED, COMMON, ESCAPED, VHOST, TLS])) {
            if let Ok(r) = parse(&b) {
                if let Some(ua) = r.user_agent { let _ = unescape(ua); }
            }
        }

        #[test]
        fn unescape_is_identity_without_pairs(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let escaped: Vec<u8> = b.iter().flat_map(|&c| match c {
                b'"' => vec![b'\\', b'"'],
                b'\\' => vec![b'\\', b'\\'],
                c => vec![c],
            }).collect();
            prop_assert_eq!(&*unescape(&escaped), &b[..]);
        }
    }
}
