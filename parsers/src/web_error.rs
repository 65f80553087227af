//! Apache (2.2 and 2.4) and Nginx error-log lines: header fields and the message, borrowed from the line.

use crate::scan::{find, from, parse_u16, parse_u32, parse_u64, split_at, trim_eol};
use crate::time::{parse_ctime, parse_slashed, DateTime};
use crate::ParseError;

/// One Apache error-log line, borrowing from the input.
///
/// Invariants: `time` has a year and no offset (the line gives no zone); `level` is a non-empty run
/// of ASCII alphanumerics (`error`, `notice`, `trace3`); `module` is non-empty when `Some`;
/// `error_code` is `AH` and five digits; `message` has no trailing CR/LF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApacheError<'a> {
    /// `[Wed Nov 25 14:32:52.123456 2026]`.
    pub time: DateTime,
    /// The module of Apache 2.4's `[module:level]`.
    pub module: Option<&'a [u8]>,
    /// The level as written.
    pub level: &'a [u8],
    /// `[pid N]` or `[pid N:tid M]`.
    pub pid: Option<u32>,
    /// The `tid` of `[pid N:tid M]`.
    pub tid: Option<u64>,
    /// The address of `[client ADDR]` or `[client ADDR:PORT]` (an IP or, rarely, a name).
    pub client: Option<&'a [u8]>,
    /// The port of `[client ADDR:PORT]`.
    pub client_port: Option<u16>,
    /// The `AHnnnnn` code that starts Apache 2.4 messages.
    pub error_code: Option<&'a [u8]>,
    /// The text after the header and the error code. When a source-file or OS-error prefix
    /// (`mod_rewrite.c(470): `, `(13)Permission denied: `) comes before `[client …]`, the message
    /// starts at that prefix and keeps the client bracket, so that nothing is lost.
    pub message: &'a [u8],
}

/// Parses an Apache error-log line: `[time] [module:level] [pid P:tid T] [client A:P] AHnnnnn: message`
/// (Apache 2.4) or `[time] [level] [client A] message` (Apache 2.2); every bracket after the level is
/// optional. Never panics; allocates nothing.
pub fn parse_apache(line: &[u8]) -> Result<ApacheError<'_>, ParseError> {
    let line = trim_eol(line);
    let rest = line
        .strip_prefix(b"[")
        .ok_or(ParseError::new("expected '['", 0))?;
    let (time, used) = parse_ctime(rest).map_err(|e| e.shifted(1))?;
    let mut at = 1 + used;
    at = expect(line, at, b"] [", "expected '] [' after time")?;
    let (level_bracket, next) = bracket(line, at).ok_or(ParseError::new("expected ']'", at))?;
    let (module, level) = match level_bracket.iter().position(|&b| b == b':') {
        Some(i) => {
            let (module, level) = split_at(level_bracket, i);
            (Some(module).filter(|m| !m.is_empty()), from(level, 1))
        }
        None => (None, level_bracket),
    };
    if level.is_empty() || !level.iter().all(u8::is_ascii_alphanumeric) {
        return Err(ParseError::new("expected a level", at));
    }
    at = next;
    let mut record = ApacheError {
        time,
        module,
        level,
        pid: None,
        tid: None,
        client: None,
        client_port: None,
        error_code: None,
        message: &[],
    };
    if let Some((inner, next)) = tagged_bracket(line, at, b"pid ") {
        let (pid, tid) = match find(inner, b":tid ") {
            Some(i) => (inner.get(..i).unwrap_or(&[]), parse_u64(from(inner, i + 5))),
            None => (inner, None),
        };
        record.pid = parse_u32(pid);
        record.tid = tid;
        at = next;
    }
    let with_port = record.pid.is_some() || record.module.is_some();
    let body = from(line, at);
    record.message = body;
    let mut after_client = body;
    let mut prefixed = false;
    if let Some((inner, next)) = tagged_bracket(line, at, b"client ") {
        (record.client, record.client_port) = split_client(inner, with_port);
        after_client = from(line, next);
        record.message = after_client;
    } else if let Some(i) = client_after_prefix(body) {
        if let Some((inner, next)) = tagged_bracket(body, i, b"client ") {
            (record.client, record.client_port) = split_client(inner, with_port);
            after_client = from(body, next);
            prefixed = true;
        }
    }
    if let Some((code, text)) = error_code(after_client) {
        record.error_code = Some(code);
        if !prefixed {
            record.message = text;
        }
    }
    Ok(record)
}

/// One Nginx error-log line, borrowing from the input.
///
/// Invariants: `time` has a year and no offset; `level` is a non-empty run of ASCII letters;
/// `message` has no trailing CR/LF; `client` is non-empty when `Some`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NginxError<'a> {
    /// `2026/11/25 14:32:52`.
    pub time: DateTime,
    /// The level as written (`error`, `warn`, `notice`, …).
    pub level: &'a [u8],
    /// The PID of `PID#TID:`.
    pub pid: Option<u32>,
    /// The TID of `PID#TID:`.
    pub tid: Option<u64>,
    /// The connection number of `*CID `.
    pub connection: Option<u64>,
    /// The text after `PID#TID: ` and `*CID `.
    pub message: &'a [u8],
    /// The value of the first `, client: ADDR` in the message (Nginx appends its context there).
    pub client: Option<&'a [u8]>,
}

/// Parses an Nginx error-log line `yyyy/mm/dd hh:mm:ss [level] PID#TID: [*CID ]message`.
///
/// Never panics; allocates nothing.
pub fn parse_nginx(line: &[u8]) -> Result<NginxError<'_>, ParseError> {
    let line = trim_eol(line);
    let (time, used) = parse_slashed(line)?;
    let at = expect(line, used, b" [", "expected ' [' after time")?;
    let (level, next) = bracket(line, at).ok_or(ParseError::new("expected ']'", at))?;
    if level.is_empty() || !level.iter().all(u8::is_ascii_alphabetic) {
        return Err(ParseError::new("expected a level", at));
    }
    let mut rest = from(line, next);
    let (mut pid, mut tid) = (None, None);
    if let Some(colon) = find(rest, b": ") {
        let ids = rest.get(..colon).unwrap_or(&[]);
        if let Some(hash) = ids.iter().position(|&b| b == b'#') {
            let (p, t) = split_at(ids, hash);
            if let (Some(p), Some(t)) = (parse_u32(p), parse_u64(from(t, 1))) {
                (pid, tid) = (Some(p), Some(t));
                rest = from(rest, colon + 2);
            }
        }
    }
    let mut connection = None;
    if let Some(star) = rest.strip_prefix(b"*") {
        let digits = star.iter().take_while(|b| b.is_ascii_digit()).count();
        if star.get(digits) == Some(&b' ') {
            connection = parse_u64(star.get(..digits).unwrap_or(&[]));
            if connection.is_some() {
                rest = from(star, digits + 1);
            }
        }
    }
    let client = find(rest, b", client: ").and_then(|i| {
        let value = from(rest, i + 10);
        let end = value.iter().position(|&b| b == b',').unwrap_or(value.len());
        Some(value.get(..end)?).filter(|v| !v.is_empty())
    });
    Ok(NginxError {
        time,
        level,
        pid,
        tid,
        connection,
        message: rest,
        client,
    })
}

/// `line[at..]` must start with `token`; returns the offset after it.
fn expect(line: &[u8], at: usize, token: &[u8], reason: &'static str) -> Result<usize, ParseError> {
    if from(line, at).starts_with(token) {
        Ok(at + token.len())
    } else {
        Err(ParseError::new(reason, at))
    }
}

/// The contents of a bracket whose `[` is just before `at`, and the offset after `]` and one space.
fn bracket(line: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = from(line, at);
    let close = memchr::memchr(b']', rest)?;
    let mut next = at + close + 1;
    if line.get(next) == Some(&b' ') {
        next += 1;
    }
    Some((rest.get(..close)?, next))
}

/// The contents after `tag` of a bracket `[tag…]` starting at `at`, and the offset after it.
fn tagged_bracket<'a>(line: &'a [u8], at: usize, tag: &[u8]) -> Option<(&'a [u8], usize)> {
    let rest = from(line, at).strip_prefix(b"[")?;
    if !rest.starts_with(tag) {
        return None;
    }
    let (inner, next) = bracket(line, at + 1)?;
    Some((from(inner, tag.len()), next))
}

/// `ADDR:PORT` → (ADDR, PORT). Without `with_port` (Apache 2.2, which writes no port) only an address
/// with a single colon is split, so that an IPv6 address stays whole; a split never leaves an
/// address ending in `:` (`::1` stays whole).
fn split_client(inner: &[u8], with_port: bool) -> (Option<&[u8]>, Option<u16>) {
    if let Some(colon) = inner.iter().rposition(|&b| b == b':') {
        let (addr, port) = split_at(inner, colon);
        if let Some(port) = parse_u16(from(port, 1)) {
            let whole_address = !addr.is_empty() && !addr.ends_with(b":");
            if whole_address && (with_port || !addr.contains(&b':')) {
                return (Some(addr), Some(port));
            }
        }
    }
    (Some(inner).filter(|a| !a.is_empty()), None)
}

/// Where `[client ` starts after a source-file (`file.c(470): `) or OS-error (`(13)Permission denied`)
/// prefix at the start of `body`.
fn client_after_prefix(body: &[u8]) -> Option<usize> {
    let i = find(body, b"[client ")?;
    let prefix = body.get(..i)?;
    let os_error = prefix.starts_with(b"(") && prefix.get(1).is_some_and(u8::is_ascii_digit);
    let source_file = prefix.ends_with(b"): ");
    ((os_error || source_file) && !prefix.contains(&b'[')).then_some(i)
}

/// `AHnnnnn: text` → (`AHnnnnn`, `text`).
fn error_code(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let code = text.get(..7)?;
    let digits_ok = code.starts_with(b"AH") && code.get(2..)?.iter().all(u8::is_ascii_digit);
    (digits_ok && text.get(7..9) == Some(b": ")).then(|| (code, from(text, 9)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::mutations;
    use proptest::prelude::*;

    const APACHE: &[&[u8]] = &[
        b"[Wed Nov 25 14:32:52.123456 2026] [core:error] [pid 1234:tid 140245] [client 10.0.0.1:5678] AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1",
        b"[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
        b"[Mon Dec 26 16:22:08 2016] [error] [client 192.168.33.1] File does not exist: /var/www/favicon.ico\r\n",
        b"[Wed Oct 20 19:20:59.121211 2021] [rewrite:trace3] [pid 121591:tid 140413273032448] mod_rewrite.c(470): [client 10.121.192.8:38350] 10.121.192.8 - - [x/sid#1][rid#2/initial] applying pattern",
        b"[Tue Mar 03 10:00:00.000001 2026] [authz_core:error] [pid 7] (13)Permission denied: [client 2001:db8::7:50312] AH01630: client denied by server configuration: /srv/www",
        b"[Tue Mar 03 10:00:00 2026] [:error] [pid 7] [client ::1] PHP Warning:  oops",
    ];

    const NGINX: &[&[u8]] = &[
        b"2026/11/25 14:32:52 [error] 1234#1234: *5 open() \"/usr/share/nginx/html/x\" failed (2: No such file or directory), client: 10.0.0.1, server: localhost, request: \"GET /x HTTP/1.1\", host: \"localhost\"",
        b"2021/08/26 16:53:12 [error] 29060#29060: *2194 directory index of \"/var/www/html/\" is forbidden, client: ::1, server: localhost",
        b"2026/11/25 14:32:52 [notice] 1#1: signal process started\n",
        b"2026/11/25 14:32:52 [emerg] bind() to 0.0.0.0:80 failed",
    ];

    #[test]
    fn apache_24_full_header() {
        let e = parse_apache(APACHE[0]).unwrap();
        assert_eq!(e.module, Some(&b"core"[..]));
        assert_eq!(e.level, b"error");
        assert_eq!((e.pid, e.tid), (Some(1234), Some(140_245)));
        assert_eq!(
            (e.client, e.client_port),
            (Some(&b"10.0.0.1"[..]), Some(5678))
        );
        assert_eq!(e.error_code, Some(&b"AH00126"[..]));
        assert_eq!(
            e.message,
            b"Invalid URI in request GET /../../etc/passwd HTTP/1.1"
        );
        assert_eq!(e.time.nanos, 123_456_000);
    }

    #[test]
    fn apache_22_with_and_without_client() {
        let e = parse_apache(APACHE[1]).unwrap();
        assert_eq!((e.module, e.level, e.pid), (None, &b"error"[..], None));
        assert_eq!(e.client, None);
        assert_eq!(e.message, b"mod_jk child workerEnv in error state 6");
        let e = parse_apache(APACHE[2]).unwrap();
        assert_eq!(
            (e.client, e.client_port),
            (Some(&b"192.168.33.1"[..]), None)
        );
        assert_eq!(e.message, b"File does not exist: /var/www/favicon.ico");
    }

    #[test]
    fn apache_prefix_before_client_stays_in_message() {
        let e = parse_apache(APACHE[3]).unwrap();
        assert_eq!(
            (e.client, e.client_port),
            (Some(&b"10.121.192.8"[..]), Some(38350))
        );
        assert!(e.message.starts_with(b"mod_rewrite.c(470): [client "));
        assert_eq!(e.error_code, None);
        let e = parse_apache(APACHE[4]).unwrap();
        assert_eq!(
            (e.client, e.client_port),
            (Some(&b"2001:db8::7"[..]), Some(50312))
        );
        assert_eq!(e.error_code, Some(&b"AH01630"[..]));
        assert!(e.message.starts_with(b"(13)Permission denied: [client"));
    }

    #[test]
    fn apache_empty_module_and_ipv6_without_port() {
        let e = parse_apache(APACHE[5]).unwrap();
        assert_eq!((e.module, e.level), (None, &b"error"[..]));
        assert_eq!((e.client, e.client_port), (Some(&b"::1"[..]), None));
        let e = parse_apache(b"[Mon Dec 26 16:22:08 2016] [error] [client ::1] x").unwrap();
        assert_eq!((e.client, e.client_port), (Some(&b"::1"[..]), None));
    }

    #[test]
    fn apache_rejects() {
        assert!(parse_apache(b"").is_err());
        assert!(parse_apache(b"[Mon Dec 26 16:22:08 2016]").is_err());
        assert!(parse_apache(b"[Mon Dec 26 16:22:08 2016] [] x").is_err());
        assert!(parse_apache(b"[Mon Dec 26 16:22:08 2016] [core:] x").is_err());
        assert!(parse_apache(b"[Mon Dec 26 16:22:08 2016] [error x").is_err());
        assert!(parse_apache(b"PHP Warning: x").is_err());
        let e = parse_apache(b"[Mon Dec 26 16:22:08 2016] [error]").unwrap();
        assert_eq!(e.message, b"");
    }

    #[test]
    fn nginx_lines() {
        let e = parse_nginx(NGINX[0]).unwrap();
        assert_eq!(
            (e.level, e.pid, e.tid, e.connection),
            (&b"error"[..], Some(1234), Some(1234), Some(5))
        );
        assert!(e.message.starts_with(b"open() \""));
        assert_eq!(e.client, Some(&b"10.0.0.1"[..]));
        let e = parse_nginx(NGINX[1]).unwrap();
        assert_eq!(e.client, Some(&b"::1"[..]));
        let e = parse_nginx(NGINX[2]).unwrap();
        assert_eq!((e.connection, e.client), (None, None));
        assert_eq!(e.message, b"signal process started");
        let e = parse_nginx(NGINX[3]).unwrap();
        assert_eq!((e.level, e.pid), (&b"emerg"[..], None));
        assert_eq!(e.message, b"bind() to 0.0.0.0:80 failed");
    }

    #[test]
    fn nginx_rejects() {
        assert!(parse_nginx(b"").is_err());
        assert!(parse_nginx(b"2026/11/25 14:32:52 error").is_err());
        assert!(parse_nginx(b"2026/11/25 14:32:52 [err-or] 1#1: x").is_err());
        assert!(parse_nginx(b"2026-11-25 14:32:52 [error] 1#1: x").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_apache(&b);
            let _ = parse_nginx(&b);
        }

        #[test]
        fn apache_never_panics_on_mutations(b in mutations(APACHE)) {
            let _ = parse_apache(&b);
        }

        #[test]
        fn nginx_never_panics_on_mutations(b in mutations(NGINX)) {
            let _ = parse_nginx(&b);
        }
    }
}
