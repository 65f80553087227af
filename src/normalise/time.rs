//! Turning a log's own time into [`EventTime`]: source timezone, RFC 3164 year inference.

use anyhow::Context;
use jiff::tz::TimeZone;
use logferry_parsers::time::DateTime;

use crate::event::EventTime;

/// The timezone a source reads offset-less times in.
#[derive(Debug, Clone)]
pub struct SourceClock {
    tz: TimeZone,
    is_utc: bool,
}

impl SourceClock {
    /// `zone` is an IANA name; `None` is the host's zone.
    pub fn new(zone: Option<&str>) -> anyhow::Result<Self> {
        let tz = match zone {
            Some(name) => {
                TimeZone::get(name).with_context(|| format!("unknown timezone {name:?}"))?
            }
            None => TimeZone::try_system().unwrap_or(TimeZone::UTC),
        };
        let is_utc = tz
            .iana_name()
            .is_some_and(|n| matches!(n, "UTC" | "Etc/UTC" | "Zulu" | "Etc/Zulu"))
            || tz == TimeZone::UTC;
        Ok(SourceClock { tz, is_utc })
    }

    /// The event time of `dt`; `None` if the date does not exist.
    ///
    /// A time without a year takes `now`'s year in this zone, or the previous year when that would put
    /// it more than one day after `now`. A time without an offset is read in this zone (an ambiguous
    /// local time in a DST fold takes the earlier instant).
    pub fn resolve(&self, dt: &DateTime, now: EventTime) -> Option<EventTime> {
        if let (Some(_), Some(offset)) = (dt.year, dt.offset_seconds) {
            return Some(EventTime {
                unix: dt.unix_seconds()?,
                nanos: dt.nanos,
                offset_seconds: Some(offset),
            });
        }
        let year = match dt.year {
            Some(year) => year,
            None => {
                let now_ts = jiff::Timestamp::from_second(now.unix).ok()?;
                let this_year = now_ts.to_zoned(self.tz.clone()).year();
                let candidate = self.local(i32::from(this_year), dt)?;
                if candidate.unix > now.unix + 86_400 {
                    return self.local(i32::from(this_year) - 1, dt);
                }
                return Some(candidate);
            }
        };
        self.local(year, dt)
    }

    fn local(&self, year: i32, dt: &DateTime) -> Option<EventTime> {
        if let Some(offset) = dt.offset_seconds {
            let with_year = DateTime {
                year: Some(year),
                ..*dt
            };
            return Some(EventTime {
                unix: with_year.unix_seconds()?,
                nanos: dt.nanos,
                offset_seconds: Some(offset),
            });
        }
        let civil = jiff::civil::DateTime::new(
            i16::try_from(year).ok()?,
            i8::try_from(dt.month).ok()?,
            i8::try_from(dt.day).ok()?,
            i8::try_from(dt.hour).ok()?,
            i8::try_from(dt.minute).ok()?,
            i8::try_from(dt.second.min(59)).ok()?,
            0,
        )
        .ok()?;
        let zoned = civil.to_zoned(self.tz.clone()).ok()?;
        let offset = zoned.offset().seconds();
        Some(EventTime {
            unix: zoned.timestamp().as_second(),
            nanos: dt.nanos,
            offset_seconds: if self.is_utc { None } else { Some(offset) },
        })
    }
}

/// `now` as an [`EventTime`] in UTC.
pub fn event_time_now() -> EventTime {
    let now = jiff::Timestamp::now();
    EventTime {
        unix: now.as_second(),
        nanos: u32::try_from(now.subsec_nanosecond()).unwrap_or(0),
        offset_seconds: None,
    }
}

/// Parses an RFC 3339 time (`--now`, JSON timestamps) into an [`EventTime`] keeping its offset.
pub fn parse_rfc3339(text: &str) -> Option<EventTime> {
    let ts: jiff::Timestamp = text.parse().ok()?;
    let offset = rfc3339_offset(text)?;
    Some(EventTime {
        unix: ts.as_second(),
        nanos: u32::try_from(ts.subsec_nanosecond()).ok()?,
        offset_seconds: offset,
    })
}

/// The offset written at the end of an RFC 3339 text: `Some(None)` for `Z`.
fn rfc3339_offset(text: &str) -> Option<Option<i32>> {
    if text.ends_with('Z') || text.ends_with('z') {
        return Some(None);
    }
    let tail = text.get(text.len().checked_sub(6)?..)?;
    let sign = match tail.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i32 = tail.get(1..3)?.parse().ok()?;
    let minutes: i32 = tail.get(4..6)?.parse().ok()?;
    Some(Some(sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> EventTime {
        parse_rfc3339(rfc3339).unwrap()
    }

    fn no_year(month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
        DateTime {
            year: None,
            month,
            day,
            hour,
            minute,
            second,
            nanos: 0,
            offset_seconds: None,
        }
    }

    #[test]
    fn year_rolls_back_across_new_year() {
        let cph = SourceClock::new(Some("Europe/Copenhagen")).unwrap();
        let t = cph
            .resolve(&no_year(12, 31, 23, 59, 59), at("2027-01-01T00:10:00Z"))
            .unwrap();
        assert_eq!(t.unix, 1_798_757_999);
        assert_eq!(t.offset_seconds, Some(3600));
    }

    #[test]
    fn a_day_ahead_is_still_this_year() {
        let utc = SourceClock::new(Some("UTC")).unwrap();
        let t = utc
            .resolve(&no_year(11, 27, 11, 0, 0), at("2026-11-26T12:00:00Z"))
            .unwrap();
        assert_eq!(t.unix, at("2026-11-27T11:00:00Z").unix);
        assert_eq!(t.offset_seconds, None, "UTC source without offset writes Z");
    }

    #[test]
    fn summer_time_applies() {
        let cph = SourceClock::new(Some("Europe/Copenhagen")).unwrap();
        let t = cph
            .resolve(&no_year(7, 1, 12, 0, 0), at("2026-11-26T12:00:00Z"))
            .unwrap();
        assert_eq!(t.unix, at("2026-07-01T10:00:00Z").unix);
        assert_eq!(t.offset_seconds, Some(7200));
    }

    #[test]
    fn rfc3339_keeps_offsets() {
        assert_eq!(
            at("2026-11-26T10:11:12.345678+01:00").offset_seconds,
            Some(3600)
        );
        assert_eq!(at("2026-11-26T10:11:12.345678+01:00").nanos, 345_678_000);
        assert_eq!(at("2026-11-26T09:00:00.250Z").offset_seconds, None);
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
