//! Syslog lines in RFC 3164 (BSD, as files and old senders write them) and RFC 5424 layouts.

use memchr::{memchr, memchr3};

use crate::scan::{from, split_at, token, trim_eol, trim_start_spaces};
use crate::time::{month_from_abbrev, parse_rfc3164, parse_rfc3339, DateTime};
use crate::ParseError;

use crate::structured_data::sd_element_end;
pub use crate::structured_data::{sd_params, SdParam, SdParams};

/// Which syslog layout a line was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// BSD syslog (`<PRI>Mmm dd hh:mm:ss host tag: msg`), also with an RFC 3339 stamp.
    Rfc3164,
    /// IETF syslog (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`).
    Rfc5424,
}

/// Facility and severity from a `<PRI>` value 0..=191.
///
/// Invariants: `facility` ≤ 23, `severity` ≤ 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    /// Facility code, 0-23 (`PRI / 8`).
    pub facility: u8,
    /// Severity code, 0-7 (`PRI % 8`).
    pub severity: u8,
}

impl Priority {
    /// Splits a PRI value; `None` above 191.
    pub fn from_pri(pri: u8) -> Option<Priority> {
        (pri <= 191).then_some(Priority {
            facility: pri / 8,
            severity: pri % 8,
        })
    }
}

/// One syslog line, borrowing from the input.
///
/// Invariants: every `Some` slice is non-empty except possibly `message`, which never
/// starts with a space or a UTF-8 BOM and never ends with `\r` or `\n`; `msg_id` and
/// `structured_data` are only `Some` for [`Protocol::Rfc5424`]; `structured_data`, when
/// `Some`, is well-formed (see [`sd_params`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogRecord<'a> {
    /// Layout the line was written in.
    pub protocol: Protocol,
    /// `<PRI>` when present.
    pub pri: Option<Priority>,
    /// 3164 `Feb  1 21:54:44` → year None, offset None; an RFC 3339 stamp → full; 5424 `-` → None.
    pub time: Option<DateTime>,
    /// HOSTNAME; `None` when absent or `-`.
    pub hostname: Option<&'a [u8]>,
    /// 3164 TAG program (`sshd[3402]:` → `sshd`, `sshd(pam_unix)[12]:` → `sshd`); 5424 APP-NAME, `-` → None.
    pub app_name: Option<&'a [u8]>,
    /// `[3402]` → `3402`; 5424 PROCID, `-` → None.
    pub proc_id: Option<&'a [u8]>,
    /// 5424 MSGID, `-` → None.
    pub msg_id: Option<&'a [u8]>,
    /// 5424 raw SD text including brackets, `-` → None.
    pub structured_data: Option<&'a [u8]>,
    /// MSG; leading spaces removed; a UTF-8 BOM at its start removed; trailing `\r\n` removed.
    pub message: &'a [u8],
}

/// Parses one syslog line, RFC 5424 when it starts with `<PRI>VERSION ` (or `1 ` without
/// PRI), RFC 3164 otherwise.
///
/// RFC 5424 header fields must be printable US-ASCII (their RFC length limits are not
/// enforced); a header or SD that breaks the grammar is an error. RFC 3164 is lenient.
/// An RFC 3164 line without `<PRI>` must start with a timestamp (`Mmm dd hh:mm:ss` or
/// RFC 3339); with `<PRI>`, a missing timestamp gives `time: None`. Never panics,
/// allocates nothing; error offsets are from the start of `line`.
pub fn parse(line: &[u8]) -> Result<SyslogRecord<'_>, ParseError> {
    let line = trim_eol(line);
    let (pri, pos) = if line.first() == Some(&b'<') {
        parse_pri(line)?
    } else {
        (None, 0)
    };
    let rest = from(line, pos);
    let (ver, after_ver) = crate::scan::leading_digits(rest);
    let version_ok = if pri.is_some() {
        (1..=3).contains(&ver.len()) && ver.first() != Some(&b'0')
    } else {
        ver == b"1"
    };
    if version_ok && after_ver.first() == Some(&b' ') {
        parse_5424(line, pos + ver.len() + 1, pri)
    } else {
        parse_3164(line, pos, pri)
    }
}

/// `<PRI>` at the start of `line`: the priority and the bytes consumed.
fn parse_pri(line: &[u8]) -> Result<(Option<Priority>, usize), ParseError> {
    let (digits, rest) = crate::scan::leading_digits(from(line, 1));
    if digits.is_empty() || digits.len() > 3 || rest.first() != Some(&b'>') {
        return Err(ParseError::new("bad <PRI>", 1));
    }
    let pri = crate::scan::parse_u16(digits)
        .and_then(|v| u8::try_from(v).ok())
        .and_then(Priority::from_pri)
        .ok_or(ParseError::new("PRI out of range", 1))?;
    Ok((Some(pri), digits.len() + 2))
}

/// Strips leading spaces and a UTF-8 BOM from a MSG.
fn clean_message(msg: &[u8]) -> &[u8] {
    let msg = trim_start_spaces(msg);
    match msg.strip_prefix(b"\xEF\xBB\xBF") {
        Some(m) => trim_start_spaces(m),
        None => msg,
    }
}

fn parse_3164<'a>(
    line: &'a [u8],
    mut pos: usize,
    pri: Option<Priority>,
) -> Result<SyslogRecord<'a>, ParseError> {
    let rest = from(line, pos);
    let looks_3339 = rest.get(..5).is_some_and(|p| {
        p.get(..4).is_some_and(|d| d.iter().all(u8::is_ascii_digit)) && p.get(4) == Some(&b'-')
    });
    let time = if looks_3339 {
        let (t, used) = parse_rfc3339(rest).map_err(|e| e.shifted(pos))?;
        pos += used;
        Some(t)
    } else if rest.get(..3).and_then(month_from_abbrev).is_some() {
        let (t, used) = parse_rfc3164(rest).map_err(|e| e.shifted(pos))?;
        pos += used;
        Some(t)
    } else if pri.is_some() {
        None
    } else {
        return Err(ParseError::new("expected timestamp", pos));
    };
    let mut rec = SyslogRecord {
        protocol: Protocol::Rfc3164,
        pri,
        time,
        hostname: None,
        app_name: None,
        proc_id: None,
        msg_id: None,
        structured_data: None,
        message: &[],
    };
    let rest = from(line, pos);
    if time.is_some() && !(rest.is_empty() || rest.first() == Some(&b' ')) {
        return Err(ParseError::new("expected space after timestamp", pos));
    }
    let rest = trim_start_spaces(rest);
    let (tok1, after1) = token(rest);
    if tok1.is_empty() {
        return Ok(rec);
    }
    let tag_part = if tok1.last() == Some(&b':') || memchr(b'[', tok1).is_some() {
        rest
    } else {
        rec.hostname = Some(tok1);
        trim_start_spaces(after1)
    };
    let (app, pid, msg) = split_tag(tag_part);
    rec.app_name = app;
    rec.proc_id = pid;
    rec.message = clean_message(msg);
    Ok(rec)
}

/// Splits a 3164 `TAG[PID]: MSG` into program, pid and message.
///
/// Without a recognisable tag (`name:` followed by a space or the end, or `name[pid]`),
/// the program is `None` and the whole input is the message.
fn split_tag(b: &[u8]) -> (Option<&[u8]>, Option<&[u8]>, &[u8]) {
    let no_tag = (None, None, b);
    let name_len = memchr3(b'[', b':', b' ', b).unwrap_or(b.len());
    let (name, after) = split_at(b, name_len);
    // `sshd(pam_unix)` → `sshd`
    let name = match (name.last(), memchr(b'(', name)) {
        (Some(b')'), Some(i)) => split_at(name, i).0,
        _ => name,
    };
    if name.is_empty() {
        return no_tag;
    }
    match after.first() {
        Some(b'[') => {
            let inner = from(after, 1);
            let Some(close) = memchr(b']', inner) else {
                return no_tag;
            };
            let (pid, tail) = split_at(inner, close);
            let tail = from(tail, 1);
            let msg = match tail.first() {
                None => tail,
                Some(b':') => from(tail, 1),
                Some(b' ') => tail,
                Some(_) => return no_tag,
            };
            let pid = if pid.is_empty() { None } else { Some(pid) };
            (Some(name), pid, msg)
        }
        Some(b':') => match after.get(1) {
            None | Some(b' ') => (Some(name), None, from(after, 1)),
            Some(_) => no_tag,
        },
        _ => no_tag,
    }
}

/// A 5424 header field: a non-empty token followed by a space; `-` → `None`.
fn header_field<'a>(
    line: &'a [u8],
    pos: usize,
    reason: &'static str,
) -> Result<(Option<&'a [u8]>, usize), ParseError> {
    let rest = from(line, pos);
    let Some(end) = memchr(b' ', rest) else {
        return Err(ParseError::new(reason, line.len()));
    };
    match split_at(rest, end).0 {
        b"" => Err(ParseError::new(reason, pos)),
        b"-" => Ok((None, pos + end + 1)),
        f => match f.iter().position(|c| !(33..=126).contains(c)) {
            Some(bad) => Err(ParseError::new(
                "non-printable byte in header field",
                pos + bad,
            )),
            None => Ok((Some(f), pos + end + 1)),
        },
    }
}

fn parse_5424<'a>(
    line: &'a [u8],
    mut pos: usize,
    pri: Option<Priority>,
) -> Result<SyslogRecord<'a>, ParseError> {
    let rest = from(line, pos);
    let time = if rest.first() == Some(&b'-') {
        pos += 1;
        None
    } else {
        let (t, used) = parse_rfc3339(rest).map_err(|e| e.shifted(pos))?;
        pos += used;
        Some(t)
    };
    if line.get(pos) != Some(&b' ') {
        return Err(ParseError::new("expected space after timestamp", pos));
    }
    pos += 1;
    let (hostname, p) = header_field(line, pos, "expected HOSTNAME")?;
    let (app_name, p) = header_field(line, p, "expected APP-NAME")?;
    let (proc_id, p) = header_field(line, p, "expected PROCID")?;
    let (msg_id, p) = header_field(line, p, "expected MSGID")?;
    pos = p;
    let structured_data = match line.get(pos) {
        Some(b'-') => {
            pos += 1;
            None
        }
        Some(b'[') => {
            let start = pos;
            while line.get(pos) == Some(&b'[') {
                pos = sd_element_end(line, pos)?;
            }
            line.get(start..pos)
        }
        _ => return Err(ParseError::new("expected STRUCTURED-DATA", pos)),
    };
    let message = match line.get(pos) {
        None => &[][..],
        Some(b' ') => clean_message(from(line, pos + 1)),
        Some(_) => return Err(ParseError::new("expected space before MSG", pos)),
    };
    Ok(SyslogRecord {
        protocol: Protocol::Rfc5424,
        pri,
        time,
        hostname,
        app_name,
        proc_id,
        msg_id,
        structured_data,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{mutations, params};
    use proptest::prelude::*;

    const SSHD: &[u8] = b"Feb 21 21:54:44 app03 sshd[3402]: Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA 39:33:99:e9:a0:dc:f2:33:a3:e5:72:3b:7c:3a:56:84";
    const SUDO: &[u8] = b"Nov 26 08:00:01 app03 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart wildfly";
    const KERNEL: &[u8] = b"Dec 31 23:59:59 app03 kernel: [12345.678] eth0: link down";
    const KVANTUM: &[u8] = br#"<165>1 2026-11-26T10:11:12.345678+01:00 kvantum-int01 invoice-flow 4711 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] Faktura 88123 godkendt af bruger jdoe"#;
    const RFC3164_EX: &[u8] =
        b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8";
    const RFC5424_EX1: &[u8] = b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8";
    const RFC5424_EX2: &[u8] = b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.";
    const RFC5424_EX3: &[u8] = br#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry..."#;
    const RFC5424_EX4: &[u8] = br#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]"#;
    const RSYSLOG_3339: &[u8] = b"2026-11-26T10:11:12.345678+01:00 host prog: msg\r\n";

    #[test]
    fn bsd_sshd() {
        let r = parse(SSHD).unwrap();
        assert_eq!(r.protocol, Protocol::Rfc3164);
        assert_eq!(r.pri, None);
        let t = r.time.unwrap();
        assert_eq!(
            (
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second,
                t.offset_seconds
            ),
            (None, 2, 21, 21, 54, 44, None)
        );
        assert_eq!(r.hostname, Some(&b"app03"[..]));
        assert_eq!(r.app_name, Some(&b"sshd"[..]));
        assert_eq!(r.proc_id, Some(&b"3402"[..]));
        assert_eq!((r.msg_id, r.structured_data), (None, None));
        assert!(r.message.starts_with(
            b"Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA 39:33:"
        ));
    }

    #[test]
    fn bsd_sudo_and_kernel() {
        let r = parse(SUDO).unwrap();
        assert_eq!(
            (r.hostname, r.app_name, r.proc_id),
            (Some(&b"app03"[..]), Some(&b"sudo"[..]), None)
        );
        assert_eq!(r.message, b"deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart wildfly");
        let r = parse(KERNEL).unwrap();
        assert_eq!(
            (r.hostname, r.app_name, r.proc_id),
            (Some(&b"app03"[..]), Some(&b"kernel"[..]), None)
        );
        assert_eq!(r.message, b"[12345.678] eth0: link down");
    }

    #[test]
    fn bsd_rfc_example() {
        let r = parse(RFC3164_EX).unwrap();
        assert_eq!(
            r.pri,
            Some(Priority {
                facility: 4,
                severity: 2
            })
        );
        assert_eq!(
            (r.hostname, r.app_name),
            (Some(&b"mymachine"[..]), Some(&b"su"[..]))
        );
        assert_eq!(r.message, b"'su root' failed for lonvick on /dev/pts/8");
    }

    #[test]
    fn bsd_tag_shapes() {
        type Case = (&'static [u8], Opt, Opt, Opt, &'static [u8]);
        type Opt = Option<&'static [u8]>;
        let cases: &[Case] = &[
            (
                b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure;",
                Some(b"combo"),
                Some(b"sshd"),
                Some(b"19939"),
                b"authentication failure;",
            ),
            (
                b"Feb  1 21:54:44 host CRON[8812]: (root) CMD (x)",
                Some(b"host"),
                Some(b"CRON"),
                Some(b"8812"),
                b"(root) CMD (x)",
            ),
            (
                b"Feb 21 21:54:44 sshd[3402]: hi",
                None,
                Some(b"sshd"),
                Some(b"3402"),
                b"hi",
            ),
            (
                b"Feb 21 21:54:44 kernel: hi",
                None,
                Some(b"kernel"),
                None,
                b"hi",
            ),
            (
                b"Feb 21 21:54:44 host prog no colon here",
                Some(b"host"),
                None,
                None,
                b"prog no colon here",
            ),
            (
                b"Feb 21 21:54:44 host prog:x y",
                Some(b"host"),
                None,
                None,
                b"prog:x y",
            ),
            (
                b"Feb 21 21:54:44 host prog[12] msg",
                Some(b"host"),
                Some(b"prog"),
                Some(b"12"),
                b"msg",
            ),
            (
                b"Feb 21 21:54:44 host prog[12",
                Some(b"host"),
                None,
                None,
                b"prog[12",
            ),
            (
                b"Feb 21 21:54:44 host prog[]: m",
                Some(b"host"),
                Some(b"prog"),
                None,
                b"m",
            ),
            (
                b"Feb 21 21:54:44 host /usr/sbin/cron[7]: m",
                Some(b"host"),
                Some(b"/usr/sbin/cron"),
                Some(b"7"),
                b"m",
            ),
            (b"Feb 21 21:54:44 host", Some(b"host"), None, None, b""),
            (
                b"Feb 21 21:54:44 host prog:",
                Some(b"host"),
                Some(b"prog"),
                None,
                b"",
            ),
            (b"Feb 21 21:54:44", None, None, None, b""),
            (
                b"Feb 21 21:54:44 host [1.2] x",
                Some(b"host"),
                None,
                None,
                b"[1.2] x",
            ),
            (
                b"Feb 21 21:54:44 host prog: \xEF\xBB\xBFbom\r\n",
                Some(b"host"),
                Some(b"prog"),
                None,
                b"bom",
            ),
        ];
        for &(line, host, app, pid, msg) in cases {
            let r = parse(line).unwrap();
            let l = String::from_utf8_lossy(line);
            assert_eq!(r.hostname, host, "{l}");
            assert_eq!(r.app_name, app, "{l}");
            assert_eq!(r.proc_id, pid, "{l}");
            assert_eq!(r.message, msg, "{l}");
        }
    }

    #[test]
    fn bsd_with_rfc3339_and_fraction() {
        let r = parse(RSYSLOG_3339).unwrap();
        assert_eq!(r.protocol, Protocol::Rfc3164);
        let t = r.time.unwrap();
        assert_eq!(
            (t.unix_seconds(), t.nanos),
            (Some(1_795_684_272), 345_678_000)
        );
        assert_eq!(
            (r.hostname, r.app_name, r.message),
            (Some(&b"host"[..]), Some(&b"prog"[..]), &b"msg"[..])
        );
        let r = parse(b"<13>Feb 01 21:54:44.123456 host prog: m").unwrap();
        assert_eq!(r.time.unwrap().nanos, 123_456_000);
        let r = parse(b"<13>no timestamp here").unwrap();
        assert_eq!(
            (r.time, r.hostname, r.app_name),
            (None, Some(&b"no"[..]), None)
        );
        assert_eq!(r.message, b"timestamp here");
    }

    #[test]
    fn ietf_kvantum() {
        let r = parse(KVANTUM).unwrap();
        assert_eq!(r.protocol, Protocol::Rfc5424);
        assert_eq!(
            r.pri,
            Some(Priority {
                facility: 20,
                severity: 5
            })
        );
        let t = r.time.unwrap();
        assert_eq!(
            (t.unix_seconds(), t.nanos, t.offset_seconds),
            (Some(1_795_684_272), 345_678_000, Some(3600))
        );
        assert_eq!(r.hostname, Some(&b"kvantum-int01"[..]));
        assert_eq!(r.app_name, Some(&b"invoice-flow"[..]));
        assert_eq!(r.proc_id, Some(&b"4711"[..]));
        assert_eq!(r.msg_id, Some(&b"ID47"[..]));
        let sd = r.structured_data.unwrap();
        assert_eq!(
            sd,
            br#"[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]"#
        );
        let id = "exampleSDID@32473".to_string();
        assert_eq!(
            params(sd),
            vec![
                (id.clone(), "iut".into(), "3".into()),
                (id.clone(), "eventSource".into(), "Application".into()),
                (id, "eventID".into(), "1011".into()),
            ]
        );
        assert_eq!(r.message, b"Faktura 88123 godkendt af bruger jdoe");
    }

    #[test]
    fn ietf_rfc_examples() {
        let r = parse(RFC5424_EX1).unwrap();
        assert_eq!(
            r.pri,
            Some(Priority {
                facility: 4,
                severity: 2
            })
        );
        assert_eq!(r.time.unwrap().unix_seconds(), Some(1_065_910_455));
        assert_eq!(
            (r.hostname, r.app_name, r.proc_id, r.msg_id),
            (
                Some(&b"mymachine.example.com"[..]),
                Some(&b"su"[..]),
                None,
                Some(&b"ID47"[..])
            )
        );
        assert_eq!(r.structured_data, None);
        assert_eq!(r.message, b"'su root' failed for lonvick on /dev/pts/8");

        let r = parse(RFC5424_EX2).unwrap();
        let t = r.time.unwrap();
        assert_eq!((t.nanos, t.offset_seconds), (3_000, Some(-25_200)));
        assert_eq!(
            (
                r.hostname,
                r.app_name,
                r.proc_id,
                r.msg_id,
                r.structured_data
            ),
            (
                Some(&b"192.0.2.1"[..]),
                Some(&b"myproc"[..]),
                Some(&b"8710"[..]),
                None,
                None
            )
        );
        assert_eq!(r.message, b"%% It's time to make the do-nuts.");

        let r = parse(RFC5424_EX3).unwrap();
        assert_eq!(r.proc_id, None);
        assert_eq!(params(r.structured_data.unwrap()).len(), 3);
        assert_eq!(r.message, b"An application event log entry...");

        let r = parse(RFC5424_EX4).unwrap();
        assert_eq!(r.message, b"");
        let p = params(r.structured_data.unwrap());
        assert_eq!(p.len(), 4);
        assert_eq!(
            p[3],
            (
                "examplePriority@32473".into(),
                "class".into(),
                "high".into()
            )
        );

        let r = parse(b"1 - h - - - - no PRI").unwrap();
        assert_eq!(
            (r.protocol, r.pri, r.hostname, r.message),
            (Protocol::Rfc5424, None, Some(&b"h"[..]), &b"no PRI"[..])
        );
        assert!(parse(b"122 - - - - - -").is_err());
        let r = parse(b"<1>999 - - - - - -").unwrap();
        assert_eq!(r.protocol, Protocol::Rfc5424);
        let r = parse(b"<14>1 - - - - - -").unwrap();
        assert_eq!(
            (
                r.time,
                r.hostname,
                r.app_name,
                r.proc_id,
                r.msg_id,
                r.structured_data,
                r.message
            ),
            (None, None, None, None, None, None, &b""[..])
        );
    }

    #[test]
    fn rejects() {
        for line in [
            &b""[..],
            b"hello world",
            b"<192>Oct 11 22:14:15 host su: x",
            b"<1234>Oct 11 22:14:15 host su: x",
            b"<>Oct 11 22:14:15 host su: x",
            b"<34Oct 11 22:14:15 host su: x",
            b"Oct 32 22:14:15 host su: x",
            b"Oct 11 22:14:15host su: x",
            b"<34>1 2003-10-11T22:14:15.003Z host",
            b"<34>1 2003-10-11T22:14:15.003Z host app pid msgid",
            b"<34>1 2003-10-11T22:14:15.003Z host app pid msgid x",
            b"<34>1 2003-10-11T22:14:15.003Z host app pid msgid [a x=\"1\"",
            b"<34>1 2003-10-11T22:14:15.003Z host app pid msgid -x",
            b"<34>1 2003-13-11T22:14:15.003Z host app pid msgid -",
            b"<1>1 - host\nname - - - -",
            b"<1>1 - - a\x7fp - - -",
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.offset <= line.len());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            match parse(&b) {
                Ok(r) => if let Some(sd) = r.structured_data {
                    prop_assert!(sd_params(sd).all(|p| p.is_ok()));
                },
                Err(e) => prop_assert!(e.offset <= b.len()),
            }
            prop_assert!(sd_params(&b).filter(Result::is_err).count() <= 1);
        }

        #[test]
        fn never_panics_on_mutations(b in mutations(&[SSHD, SUDO, KERNEL, KVANTUM, RFC3164_EX, RFC5424_EX1, RFC5424_EX2, RFC5424_EX3, RFC5424_EX4, RSYSLOG_3339])) {
            if let Ok(r) = parse(&b) {
                prop_assert!(!r.message.starts_with(b" "));
                if let Some(sd) = r.structured_data {
                    prop_assert!(sd_params(sd).all(|p| p.is_ok()));
                }
            }
        }
    }
}
