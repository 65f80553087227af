//! The RFC 5424 header: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - ` before the payload.
//!
//! TIMESTAMP is the event time with its original offset and microseconds (`Z` for UTC with no offset
//! in the log). Header fields longer than RFC 5424 allows are cut, never rejected; characters outside
//! printable US-ASCII become `_`; an empty field is `-`.

use super::append::append;
use super::scan;
use crate::event::{Event, Value};

/// The last formatted timestamp (consecutive events mostly share their second) and the last date
/// (they nearly always share their day).
#[derive(Debug, Default)]
pub struct TimestampCache {
    key: Option<(i64, u32, Option<i32>)>,
    text: Vec<u8>,
    /// The local day (days since the epoch) that `date` spells.
    day: Option<i64>,
    /// `YYYY-MM-DDT` of `day`.
    date: Vec<u8>,
}

/// Appends the header (with the trailing space) of `event` to `out`; `hostname` is `event`'s
/// `device_name` as [`hostname`] writes it.
pub fn write_header(
    event: &Event<'_>,
    cache: &mut TimestampCache,
    hostname: &[u8],
    out: &mut Vec<u8>,
) {
    let mut int = itoa::Buffer::new();
    let pri = u16::from(event.facility.min(23)) * 8 + u16::from(event.severity.min(7));
    out.push(b'<');
    append(out, int.format(pri).as_bytes());
    out.extend_from_slice(b">1 ");
    let key = (
        event.time.unix,
        event.time.nanos / 1000,
        event.time.offset_seconds,
    );
    if cache.key != Some(key) {
        cache.timestamp(event);
        cache.key = Some(key);
    }
    append(out, &cache.text);
    out.push(b' ');
    append(out, hostname);
    out.push(b' ');
    let (process, process_id) = process_fields(event);
    match process {
        Some(Value::Str(process)) => header_field(process, 48, out),
        _ => header_field(event.app_name, 48, out),
    }
    out.push(b' ');
    match process_id {
        Some(Value::Int(pid)) => append(out, int.format(*pid).as_bytes()),
        Some(Value::Str(pid)) => header_field(pid, 128, out),
        _ => out.push(b'-'),
    }
    out.push(b' ');
    header_field(event.norm_id, 32, out);
    out.extend_from_slice(b" - ");
}

/// Appends the HOSTNAME field for `device_name`.
pub fn hostname(device_name: &str, out: &mut Vec<u8>) {
    header_field(device_name, 255, out);
}

/// The values of the first `process` and the first `process_id` field, found in one pass.
fn process_fields<'e, 'a>(event: &'e Event<'a>) -> (Option<&'e Value<'a>>, Option<&'e Value<'a>>) {
    let (mut process, mut process_id) = (None, None);
    for field in &event.fields {
        match field.name.as_ref() {
            "process" if process.is_none() => process = Some(&field.value),
            "process_id" if process_id.is_none() => process_id = Some(&field.value),
            _ => {}
        }
    }
    (process, process_id)
}

/// `text` cut to `max` bytes, with bytes outside printable US-ASCII as `_`; `-` when empty.
fn header_field(text: &str, max: usize, out: &mut Vec<u8>) {
    if text.is_empty() {
        out.push(b'-');
        return;
    }
    let text = &text.as_bytes()[..text.len().min(max)];
    if scan::all_printable(text) {
        append(out, text);
    } else {
        out.extend(
            text.iter()
                .map(|&b| if scan::is_printable(b) { b } else { b'_' }),
        );
    }
}

impl TimestampCache {
    /// Sets `text` to `YYYY-MM-DDTHH:MM:SS.ffffff` and `Z` or `±HH:MM` for `event`'s time.
    fn timestamp(&mut self, event: &Event<'_>) {
        let offset = event.time.offset_seconds.unwrap_or(0);
        let local = event.time.unix + i64::from(offset);
        let days = local.div_euclid(86_400);
        if self.day != Some(days) {
            self.date.clear();
            date(days, &mut self.date);
            self.day = Some(days);
        }
        self.text.clear();
        self.text.extend_from_slice(&self.date);
        // The clock time is formatted on the stack and appended at once.
        let secs = local.rem_euclid(86_400) as u32;
        let micros = event.time.nanos / 1000 % 1_000_000;
        let mut buf = *b"HH:MM:SS.ffffff+HH:MM";
        buf[0..2].copy_from_slice(&two_digits(secs / 3600));
        buf[3..5].copy_from_slice(&two_digits(secs / 60 % 60));
        buf[6..8].copy_from_slice(&two_digits(secs % 60));
        buf[9..11].copy_from_slice(&two_digits(micros / 10_000));
        buf[11..13].copy_from_slice(&two_digits(micros / 100 % 100));
        buf[13..15].copy_from_slice(&two_digits(micros % 100));
        let len = match event.time.offset_seconds {
            None => {
                buf[15] = b'Z';
                16
            }
            Some(offset) => {
                buf[15] = if offset < 0 { b'-' } else { b'+' };
                let minutes = offset.unsigned_abs() / 60;
                buf[16..18].copy_from_slice(&two_digits(minutes / 60));
                buf[19..21].copy_from_slice(&two_digits(minutes % 60));
                21
            }
        };
        self.text.extend_from_slice(&buf[..len]);
    }
}

/// The last two decimal digits of `n`.
fn two_digits(n: u32) -> [u8; 2] {
    [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
}

/// `YYYY-MM-DDT` of a day counted from 1970-01-01 (the year zero-padded to four digits).
fn date(days: i64, out: &mut Vec<u8>) {
    let (year, month, day) = civil_from_days(days);
    let mut int = itoa::Buffer::new();
    let year_text = int.format(year);
    out.extend(std::iter::repeat_n(
        b'0',
        4usize.saturating_sub(year_text.len()),
    ));
    out.extend_from_slice(year_text.as_bytes());
    out.push(b'-');
    out.extend_from_slice(&two_digits(month as u32));
    out.push(b'-');
    out.extend_from_slice(&two_digits(day as u32));
    out.push(b'T');
}

/// The inverse of `logferry_parsers::time::days_from_civil` (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventTime;
    use logferry_parsers::time::days_from_civil;

    fn header(event: &Event<'_>, cache: &mut TimestampCache, out: &mut Vec<u8>) {
        let mut host = Vec::new();
        hostname(event.device_name, &mut host);
        write_header(event, cache, &host, out);
    }

    #[test]
    fn civil_round_trip() {
        for days in [-1_000_000i64, -1, 0, 1, 16_572, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y as i32, m as u8, d as u8), days);
        }
    }

    #[test]
    fn header_with_offset_and_fallbacks() {
        let mut event = Event::new("web 01", "/x");
        event.time = EventTime {
            unix: 1_431_857_103,
            nanos: 5_000,
            offset_seconds: Some(-5400),
        };
        event.norm_id = "ApacheAccess";
        event.app_name = "apache";
        event.severity = 4;
        let mut out = Vec::new();
        header(&event, &mut TimestampCache::default(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<12>1 2015-05-17T08:35:03.000005-01:30 web_01 apache - ApacheAccess - "
        );
    }

    #[test]
    fn timestamps_across_days_share_one_cache() {
        let mut cache = TimestampCache::default();
        let mut event = Event::new("h", "/x");
        let mut stamp = |unix: i64, nanos: u32, offset: Option<i32>| {
            event.time = EventTime {
                unix,
                nanos,
                offset_seconds: offset,
            };
            let mut out = Vec::new();
            header(&event, &mut cache, &mut out);
            let text = String::from_utf8(out).unwrap();
            text.split(' ').nth(1).unwrap().to_string()
        };
        assert_eq!(
            stamp(1_795_694_399, 999_999_999, None),
            "2026-11-26T11:59:59.999999Z"
        );
        assert_eq!(stamp(1_795_694_400, 0, None), "2026-11-26T12:00:00.000000Z");
        assert_eq!(
            stamp(1_795_694_400, 10_000, Some(43_200)),
            "2026-11-27T00:00:00.000010+12:00"
        );
        assert_eq!(
            stamp(1_795_694_400, 10_000, Some(-3_600)),
            "2026-11-26T11:00:00.000010-01:00"
        );
        assert_eq!(
            stamp(-62_135_596_800, 123_000, None),
            "0001-01-01T00:00:00.000123Z"
        );
        assert_eq!(stamp(86_399, 0, None), "1970-01-01T23:59:59.000000Z");
    }

    #[test]
    fn header_takes_the_first_process_fields_and_cuts_long_ones() {
        let mut event = Event::new("host", "/x");
        event.norm_id = "Syslog";
        event.int("process_id", 42);
        event.str("process", "p".repeat(60));
        event.str("process", "second");
        event.str("process_id", "ignored");
        let mut out = Vec::new();
        header(&event, &mut TimestampCache::default(), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            format!(
                "<14>1 1970-01-01T00:00:00.000000Z host {} 42 Syslog - ",
                "p".repeat(48)
            )
        );
    }
}
