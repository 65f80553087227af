//! The RFC 5424 header: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - ` before the payload.
//!
//! TIMESTAMP is the event time with its original offset and microseconds (`Z` for UTC with no offset
//! in the log). Header fields longer than RFC 5424 allows are cut, never rejected; characters outside
//! printable US-ASCII become `_`; an empty field is `-`.

use crate::event::{Event, Value};

/// The last formatted timestamp: consecutive events mostly share their second.
#[derive(Debug, Default)]
pub struct TimestampCache {
    key: Option<(i64, u32, Option<i32>)>,
    text: Vec<u8>,
}

/// Appends the header (with the trailing space) of `event` to `out`.
pub fn write_header(event: &Event<'_>, cache: &mut TimestampCache, out: &mut Vec<u8>) {
    let mut int = itoa::Buffer::new();
    let pri = u16::from(event.facility.min(23)) * 8 + u16::from(event.severity.min(7));
    out.push(b'<');
    out.extend_from_slice(int.format(pri).as_bytes());
    out.extend_from_slice(b">1 ");
    let key = (
        event.time.unix,
        event.time.nanos / 1000,
        event.time.offset_seconds,
    );
    if cache.key != Some(key) {
        cache.text.clear();
        timestamp(event, &mut cache.text);
        cache.key = Some(key);
    }
    out.extend_from_slice(&cache.text);
    out.push(b' ');
    header_field(event.device_name, 255, out);
    out.push(b' ');
    match event.get("process") {
        Some(Value::Str(process)) => header_field(process, 48, out),
        _ => header_field(event.app_name, 48, out),
    }
    out.push(b' ');
    match event.get("process_id") {
        Some(Value::Int(pid)) => out.extend_from_slice(int.format(*pid).as_bytes()),
        Some(Value::Str(pid)) => header_field(pid, 128, out),
        _ => out.push(b'-'),
    }
    out.push(b' ');
    header_field(event.norm_id, 32, out);
    out.extend_from_slice(b" - ");
}

fn header_field(text: &str, max: usize, out: &mut Vec<u8>) {
    if text.is_empty() {
        out.push(b'-');
        return;
    }
    out.extend(
        text.bytes()
            .take(max)
            .map(|b| if (33..=126).contains(&b) { b } else { b'_' }),
    );
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff` and `Z` or `±HH:MM`.
fn timestamp(event: &Event<'_>, out: &mut Vec<u8>) {
    let offset = event.time.offset_seconds.unwrap_or(0);
    let local = event.time.unix + i64::from(offset);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let two = |n: i64, out: &mut Vec<u8>| {
        out.push(b'0' + (n / 10 % 10) as u8);
        out.push(b'0' + (n % 10) as u8);
    };
    let mut int = itoa::Buffer::new();
    let year_text = int.format(year);
    out.extend(std::iter::repeat_n(
        b'0',
        4usize.saturating_sub(year_text.len()),
    ));
    out.extend_from_slice(year_text.as_bytes());
    out.push(b'-');
    two(month, out);
    out.push(b'-');
    two(day, out);
    out.push(b'T');
    two(secs / 3600, out);
    out.push(b':');
    two(secs / 60 % 60, out);
    out.push(b':');
    two(secs % 60, out);
    out.push(b'.');
    let micros = int.format(event.time.nanos / 1000 % 1_000_000);
    out.extend(std::iter::repeat_n(b'0', 6 - micros.len()));
    out.extend_from_slice(micros.as_bytes());
    match event.time.offset_seconds {
        None => out.push(b'Z'),
        Some(offset) => {
            out.push(if offset < 0 { b'-' } else { b'+' });
            let minutes = i64::from(offset.unsigned_abs() / 60);
            two(minutes / 60, out);
            out.push(b':');
            two(minutes % 60, out);
        }
    }
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
        write_header(&event, &mut TimestampCache::default(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<12>1 2015-05-17T08:35:03.000005-01:30 web_01 apache - ApacheAccess - "
        );
    }
}
