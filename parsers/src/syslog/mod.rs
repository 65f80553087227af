//! Syslog lines in RFC 3164 (BSD, as files and old senders write them) and RFC 5424 layouts.

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
/// enforced); a header that breaks the grammar is an error, while STRUCTURED-DATA that breaks
/// it is left in the MSG (`structured_data: None` from the first broken element on).
/// RFC 3164 is lenient: spaces after `<PRI>`, a `:` after the timestamp (Cisco) and a year
/// after the time (`Apr 15 21:28:13 2007`) are accepted.
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
    if pri.is_some() {
        while line.get(pos) == Some(&b' ') {
            pos += 1;
        }
    }
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
    let mut rest = from(line, pos);
    if time.is_some() {
        // Cisco devices end the timestamp with a colon: `Mar  7 19:06:53: host tag: msg`.
        if rest.first() == Some(&b':') {
            rest = from(rest, 1);
        }
        if !(rest.is_empty() || rest.first() == Some(&b' ')) {
            return Err(ParseError::new("expected space after timestamp", pos));
        }
    }
    let mut rest = trim_start_spaces(rest);
    if let Some(t) = rec.time.as_mut().filter(|t| t.year.is_none()) {
        // Some senders write the year after the time: `Apr 15 21:28:13 2007 host tag: msg`.
        let (year, after) = crate::scan::leading_digits(rest);
        if year.len() == 4 && after.first() == Some(&b' ') {
            t.year = crate::scan::parse_u16(year).map(i32::from);
            rest = trim_start_spaces(after);
        }
    }
    let (tok1, after1) = token(rest);
    if tok1.is_empty() {
        return Ok(rec);
    }
    let tag_part = if tok1.last() == Some(&b':') || tok1.contains(&b'[') {
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

/// A 3164 TAG split into program, PID and the message after it.
type TagParts<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, &'a [u8]);

/// Splits a 3164 `TAG[PID]: MSG` into program, pid and message.
///
/// Without a recognisable tag (`name:` followed by a space or the end, or `name[pid]`),
/// the program is `None` and the whole input is the message.
fn split_tag(b: &[u8]) -> TagParts<'_> {
    let no_tag = (None, None, b);
    // Header tokens are a few bytes long: plain loops here and below, as `memchr`'s dispatch and
    // set-up cost more than scanning them.
    let name_len = b
        .iter()
        .position(|c| matches!(c, b'[' | b':' | b' '))
        .unwrap_or(b.len());
    let (name, after) = split_at(b, name_len);
    // `sshd(pam_unix)` → `sshd`
    let name = match (name.last(), name.iter().position(|&c| c == b'(')) {
        (Some(b')'), Some(i)) => split_at(name, i).0,
        _ => name,
    };
    if name.is_empty() {
        return no_tag;
    }
    match after.first() {
        Some(b'[') => {
            let inner = from(after, 1);
            let Some(close) = inner.iter().position(|&c| c == b']') else {
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
        Some(b' ') => spaced_tag(b).unwrap_or(no_tag),
        _ => no_tag,
    }
}

/// A program name with spaces, as macOS writes them: `Google Chrome[85294]: msg`. Only with a
/// numeric PID and `]: ` within the first 64 bytes, so ordinary messages are not taken for tags.
fn spaced_tag(b: &[u8]) -> Option<TagParts<'_>> {
    let head = b.get(..b.len().min(64)).unwrap_or(b);
    let close = head.windows(3).position(|w| w == b"]: ")?;
    let open = memchr::memrchr(b'[', split_at(head, close).0)?;
    let (name, pid) = (split_at(b, open).0, b.get(open + 1..close)?);
    let plain = |c: &u8| c.is_ascii_graphic() && !matches!(c, b':' | b'[' | b']') || *c == b' ';
    let ok = !pid.is_empty()
        && pid.iter().all(u8::is_ascii_digit)
        && name.last().is_some_and(|c| *c != b' ')
        && name.iter().all(plain);
    ok.then(|| (Some(name), Some(pid), from(b, close + 2)))
}

/// A 5424 header field: a non-empty token followed by a space; `-` → `None`.
fn header_field<'a>(
    line: &'a [u8],
    pos: usize,
    reason: &'static str,
) -> Result<(Option<&'a [u8]>, usize), ParseError> {
    let rest = from(line, pos);
    let Some(end) = rest.iter().position(|&c| c == b' ') else {
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
    let sd_start = pos;
    let structured_data = match line.get(pos) {
        Some(b'-') => {
            pos += 1;
            None
        }
        Some(b'[') => {
            while line.get(pos) == Some(&b'[') {
                match sd_element_end(line, pos) {
                    Ok(end) => pos = end,
                    Err(_) => break,
                }
            }
            line.get(sd_start..pos).filter(|sd| !sd.is_empty())
        }
        _ => None,
    };
    // Broken STRUCTURED-DATA (or none where it belongs) does not lose the header: the text from
    // where the grammar broke is the MSG, as senders that get SD wrong still mean their header.
    let message = match line.get(pos) {
        None => &[][..],
        Some(b' ') if structured_data.is_some() || pos > sd_start => {
            clean_message(from(line, pos + 1))
        }
        Some(_) if structured_data.is_some() => clean_message(from(line, pos)),
        Some(_) => clean_message(from(line, sd_start)),
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
mod tests;
