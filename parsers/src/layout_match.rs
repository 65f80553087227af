//! Matching a line against a compiled custom layout ([`LogFormat`]): borrowed fields, no allocation
//! except to join a path and query that the layout writes apart.
//!
//! Segments are matched left to right. A literal must appear where the previous field ended. A field
//! ends where its own shape ends for times and numbers; otherwise at the next literal (for a literal
//! that starts with `"`, the first `"` not escaped by a backslash), at the end of its natural token
//! when another field follows directly (`%U%q`: the path stops at `?`), or at the end of the line
//! when it is the last segment. Text after the last segment is ignored.

use std::borrow::Cow;
use std::ops::Range;

use memchr::memmem;

use crate::access::{request, Request};
use crate::log_format::{DurationUnit, FieldKind, LogFormat, Segment, TimeForm};
use crate::scan::{from, parse_u16, parse_u64, trim_eol};
use crate::time::{parse_clf, parse_rfc3339, DateTime};
use crate::ParseError;

/// The time a layout wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutTime {
    /// A calendar time (`%t`, `$time_local`, `$time_iso8601`); year always `Some`.
    Civil(DateTime),
    /// An epoch time (`%{sec}t`, `%{msec}t`, `%{usec}t`, `$msec`).
    Epoch {
        /// Seconds since the Unix epoch.
        seconds: i64,
        /// Sub-second part, `< 1_000_000_000`.
        nanos: u32,
    },
}

/// The fields a custom layout filled, borrowed from the line; `None` where the layout has no such
/// directive. Where two directives fill the same field, the first one in the line wins.
///
/// Quoted values are raw (still escaped, see [`crate::access::unescape`]); placeholders (`-`) are
/// kept as written except in numbers, where `-` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayoutRecord<'a> {
    /// `%h`/`%a`/`$remote_addr`.
    pub client: Option<&'a [u8]>,
    /// `%u`/`$remote_user`.
    pub user: Option<&'a [u8]>,
    /// The event time.
    pub time: Option<LayoutTime>,
    /// From `%m`, or from a `%r` of the shape `METHOD target HTTP/x.y`.
    pub method: Option<&'a [u8]>,
    /// Path and query as sent: from `%r`, `$request_uri`, or `%U`/`$uri` joined with `%q`/`$args`
    /// (borrowed when they stand together in the line).
    pub target: Option<Cow<'a, [u8]>>,
    /// Protocol version after `HTTP/` (`1.1`), from `%r` or `%H`.
    pub version: Option<&'a [u8]>,
    /// A `%r` that is not `METHOD target HTTP/x.y` (TLS garbage, `-`).
    pub other_request: Option<&'a [u8]>,
    /// `%>s`/`$status`.
    pub status: Option<u16>,
    /// `%b`/`%O`/`$body_bytes_sent`.
    pub bytes: Option<u64>,
    /// `%{Referer}i`/`$http_referer`.
    pub referer: Option<&'a [u8]>,
    /// `%{User-Agent}i`/`$http_user_agent`.
    pub user_agent: Option<&'a [u8]>,
    /// `%v`/`$host`.
    pub vhost: Option<&'a [u8]>,
    /// `%p`/`$server_port`.
    pub port: Option<u16>,
    /// `%D`/`%T`/`$request_time`, in microseconds.
    pub duration_micros: Option<u64>,
}

/// Sets `slot` unless an earlier directive already did.
#[inline]
fn first<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

impl LogFormat {
    /// Matches one line (a trailing `\r`/`\n` is ignored). Never panics; allocates only to join a
    /// path and query written apart.
    pub fn parse<'a>(&self, line: &'a [u8]) -> Result<LayoutRecord<'a>, ParseError> {
        let line = trim_eol(line);
        let mut record = LayoutRecord::default();
        let mut path: Option<Range<usize>> = None;
        let mut query: Option<Range<usize>> = None;
        let mut pos = 0usize;
        for (i, segment) in self.segments.iter().enumerate() {
            let kind = match segment {
                Segment::Literal(text) => {
                    let cut_short = i + 1 == self.segments.len() && pos == line.len();
                    if !cut_short && !from(line, pos).starts_with(text) {
                        return Err(ParseError::new("line does not match the layout", pos));
                    }
                    pos += text.len();
                    continue;
                }
                Segment::Field(kind) => *kind,
            };
            let rest = from(line, pos);
            let value = match kind {
                FieldKind::Time(form) => {
                    let (time, used) = time(rest, form).map_err(|e| e.shifted(pos))?;
                    first(&mut record.time, time);
                    pos += used;
                    continue;
                }
                FieldKind::Status | FieldKind::Bytes | FieldKind::Port | FieldKind::Duration(_) => {
                    let len = rest
                        .iter()
                        .take_while(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-'))
                        .count();
                    rest.get(..len).unwrap_or_default()
                }
                _ => {
                    let len = match self.segments.get(i + 1) {
                        None => rest.len(),
                        Some(Segment::Literal(next)) => {
                            literal_at(rest, next, i + 2 == self.segments.len()).ok_or(
                                ParseError::new("line does not match the layout", line.len()),
                            )?
                        }
                        Some(Segment::Field(_)) => natural_len(rest, kind),
                    };
                    rest.get(..len).unwrap_or_default()
                }
            };
            let at = pos..pos + value.len();
            pos = at.end;
            let start = at.start;
            let number = move |reason| ParseError::new(reason, start);
            match kind {
                FieldKind::Client => first(&mut record.client, value),
                FieldKind::User => first(&mut record.user, value),
                FieldKind::Request => match request(value) {
                    Request::Line {
                        method,
                        target,
                        version,
                    } => {
                        first(&mut record.method, method);
                        first(&mut record.target, Cow::Borrowed(target));
                        first(&mut record.version, version);
                    }
                    Request::Other(raw) => first(&mut record.other_request, raw),
                },
                FieldKind::Method => first(&mut record.method, value),
                FieldKind::Target => first(&mut record.target, Cow::Borrowed(value)),
                FieldKind::Path => first(&mut path, at),
                FieldKind::Query => first(&mut query, at),
                FieldKind::Protocol => {
                    if let Some(version) = value.strip_prefix(b"HTTP/").filter(|v| !v.is_empty()) {
                        first(&mut record.version, version);
                    }
                }
                FieldKind::Status => {
                    if let Some(s) = placeholder_or(value, parse_u16, number("bad status"))? {
                        first(&mut record.status, s);
                    }
                }
                FieldKind::Bytes => {
                    if let Some(b) = placeholder_or(value, parse_u64, number("bad byte count"))? {
                        first(&mut record.bytes, b);
                    }
                }
                FieldKind::Port => {
                    if let Some(p) = placeholder_or(value, parse_u16, number("bad port"))? {
                        first(&mut record.port, p);
                    }
                }
                FieldKind::Duration(unit) => {
                    let micros = |v: &[u8]| scaled(v, unit_micros(unit));
                    if let Some(d) = placeholder_or(value, micros, number("bad duration"))? {
                        first(&mut record.duration_micros, d);
                    }
                }
                FieldKind::Referer => first(&mut record.referer, value),
                FieldKind::UserAgent => first(&mut record.user_agent, value),
                FieldKind::Vhost => first(&mut record.vhost, value),
                FieldKind::Time(_) | FieldKind::QueryMark | FieldKind::Dropped => {}
            }
        }
        if record.target.is_none() {
            record.target = path.map(|path| join_target(line, path, query));
        }
        Ok(record)
    }
}

/// `None` for `-`, else `parse(value)` or `error` (also for an empty value).
fn placeholder_or<T>(
    value: &[u8],
    parse: impl Fn(&[u8]) -> Option<T>,
    error: ParseError,
) -> Result<Option<T>, ParseError> {
    match value {
        b"-" => Ok(None),
        _ => parse(value).map(Some).ok_or(error),
    }
}

/// Where `literal` starts in `rest`. A literal opening with `"` closes a quoted value, so a `"`
/// escaped by a backslash is skipped. The layout's final literal, when absent, is taken to be cut off
/// with the end of the line (a line cut short inside its last quoted value keeps what is there).
fn literal_at(rest: &[u8], literal: &[u8], is_last: bool) -> Option<usize> {
    let quoted = literal.first() == Some(&b'"');
    let found = memmem::find_iter(rest, literal).find(|&j| {
        !quoted || {
            let backslashes = rest
                .get(..j)
                .unwrap_or_default()
                .iter()
                .rev()
                .take_while(|&&c| c == b'\\')
                .count();
            backslashes % 2 == 0
        }
    });
    match found {
        Some(j) => Some(j),
        None if is_last => Some(rest.len()),
        None => None,
    }
}

/// The length of a field that another field follows directly: a path stops at `?`, `$is_args` is
/// `?` or nothing, anything else stops at a space.
fn natural_len(rest: &[u8], kind: FieldKind) -> usize {
    match kind {
        FieldKind::Path => rest
            .iter()
            .position(|&c| c == b'?' || c == b' ')
            .unwrap_or(rest.len()),
        FieldKind::QueryMark => usize::from(rest.first() == Some(&b'?')),
        _ => rest.iter().position(|&c| c == b' ').unwrap_or(rest.len()),
    }
}

/// The request target from a path and an optional query: one slice of the line when they stand
/// together (`%U%q`, `$uri?$args`, `$uri$is_args$args`), else a joined copy.
fn join_target(line: &[u8], path: Range<usize>, query: Option<Range<usize>>) -> Cow<'_, [u8]> {
    let path_text = line.get(path.clone()).unwrap_or_default();
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Cow::Borrowed(path_text);
    };
    let query_text = line.get(query.clone()).unwrap_or_default();
    if query_text == b"-" {
        return Cow::Borrowed(path_text);
    }
    let mark_between = line.get(path.end) == Some(&b'?') && query.start == path.end + 1;
    if query.start == path.end || mark_between {
        return Cow::Borrowed(line.get(path.start..query.end).unwrap_or_default());
    }
    let mut joined = Vec::with_capacity(path_text.len() + query_text.len() + 1);
    joined.extend_from_slice(path_text);
    if query_text.first() != Some(&b'?') {
        joined.push(b'?');
    }
    joined.extend_from_slice(query_text);
    Cow::Owned(joined)
}

/// Microseconds per unit of a duration directive.
fn unit_micros(unit: DurationUnit) -> u64 {
    match unit {
        DurationUnit::Seconds => 1_000_000,
        DurationUnit::Millis => 1_000,
        DurationUnit::Micros => 1,
    }
}

/// A decimal `int[.frac]` times `scale`, fraction digits beyond the scale's precision dropped;
/// `None` if it is not one or overflows.
fn scaled(text: &[u8], scale: u64) -> Option<u64> {
    let (int, frac) = match text.iter().position(|&c| c == b'.') {
        Some(dot) => (text.get(..dot)?, text.get(dot + 1..)?),
        None => (text, &[][..]),
    };
    let mut value = parse_u64(int)?.checked_mul(scale)?;
    if !frac.is_empty() {
        let digits = parse_u64(frac.get(..frac.len().min(9))?)?;
        let mut divisor = 1u64;
        for _ in 0..frac.len().min(9) {
            divisor *= 10;
        }
        value = value.checked_add(digits.checked_mul(scale)? / divisor)?;
    }
    Some(value)
}

/// Parses the time at the start of `rest` in `form`; the time and the bytes it took.
fn time(rest: &[u8], form: TimeForm) -> Result<(LayoutTime, usize), ParseError> {
    let epoch = |scale: u64| {
        let len = rest
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.')
            .count();
        let micros = scaled(rest.get(..len).unwrap_or_default(), scale)
            .and_then(|m| i64::try_from(m).ok())
            .ok_or(ParseError::new("bad epoch time", 0))?;
        let time = LayoutTime::Epoch {
            seconds: micros / 1_000_000,
            nanos: (micros % 1_000_000) as u32 * 1_000,
        };
        Ok((time, len))
    };
    match form {
        TimeForm::ClfBracketed => {
            if rest.first() != Some(&b'[') {
                return Err(ParseError::new("expected '[' before the time", 0));
            }
            let (time, used) = parse_clf(from(rest, 1)).map_err(|e| e.shifted(1))?;
            if rest.get(used + 1) != Some(&b']') {
                return Err(ParseError::new("expected ']' after the time", used + 1));
            }
            Ok((LayoutTime::Civil(time), used + 2))
        }
        TimeForm::Clf => parse_clf(rest).map(|(t, used)| (LayoutTime::Civil(t), used)),
        TimeForm::Iso8601 => parse_rfc3339(rest).map(|(t, used)| (LayoutTime::Civil(t), used)),
        TimeForm::EpochSeconds => epoch(1_000_000),
        TimeForm::EpochMillis => epoch(1_000),
        TimeForm::EpochMicros => epoch(1),
    }
}

#[cfg(test)]
#[path = "layout_match_tests.rs"]
mod tests;
