//! Turning a log's own time into [`EventTime`]: source timezone, RFC 3164 year inference.

use anyhow::Context;
use jiff::tz::{AmbiguousOffset, TimeZone};
use logferry_parsers::time::{days_from_civil, days_in_month, DateTime};

use super::memo::Memo;
use crate::event::EventTime;

/// The timezone a source reads offset-less times in.
///
/// A timezone lookup costs more than the rest of a syslog line's header, and lines nearly always
/// share their hour and their reading time with the line before; so the clock remembers the last
/// local hour's offset and the last reading time's year (see [`Memo`]).
#[derive(Debug, Clone)]
pub struct SourceClock {
    tz: TimeZone,
    is_utc: bool,
    /// Local hour (`days_from_civil * 24 + hour`) → its UTC offset in seconds; only hours with one
    /// unambiguous offset from start to end are remembered.
    hour_offset: Memo,
    /// Unix second of a reading time → the year it falls in, in this zone.
    year_of_now: Memo,
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
        Ok(SourceClock {
            tz,
            is_utc,
            hour_offset: Memo::new(),
            year_of_now: Memo::new(),
        })
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
                let this_year = self.year_at(now.unix)?;
                let candidate = self.local(this_year, dt)?;
                if candidate.unix > now.unix + 86_400 {
                    return self.local(this_year - 1, dt);
                }
                return Some(candidate);
            }
        };
        self.local(year, dt)
    }

    /// The year in this zone at Unix second `unix`.
    fn year_at(&self, unix: i64) -> Option<i32> {
        if let Some(year) = self.year_of_now.get(unix) {
            return Some(year);
        }
        let now = jiff::Timestamp::from_second(unix).ok()?;
        let year = i32::from(now.to_zoned(self.tz.clone()).year());
        self.year_of_now.put(unix, year);
        Some(year)
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
        // Rejects the dates that do not exist (29 February of a common year), which the hour key
        // below would silently move to the next day: the key is one-to-one on real times only.
        if !is_real(year, dt) {
            return None;
        }
        let second = dt.second.min(59);
        let hour = days_from_civil(year, dt.month, dt.day) * 24 + i64::from(dt.hour);
        let (unix, offset) = match self.hour_offset.get(hour) {
            Some(offset) => {
                let within_hour = i64::from(dt.minute) * 60 + i64::from(second);
                (hour * 3600 + within_hour - i64::from(offset), offset)
            }
            None => {
                let civil = civil(year, dt.month, dt.day, dt.hour, dt.minute, second)?;
                let zoned = civil.to_zoned(self.tz.clone()).ok()?;
                let offset = zoned.offset().seconds();
                if self.whole_hour_has(year, dt, offset) {
                    self.hour_offset.put(hour, offset);
                }
                (zoned.timestamp().as_second(), offset)
            }
        };
        Some(EventTime {
            unix,
            nanos: dt.nanos,
            offset_seconds: if self.is_utc { None } else { Some(offset) },
        })
    }

    /// Whether every local time in `dt`'s hour has the one UTC offset `offset`: true when its first
    /// and last second both do, unambiguously (not in a DST gap or fold). A transition inside the
    /// hour would give its two ends different offsets or make one of them ambiguous; no zone has two
    /// transitions within one hour.
    fn whole_hour_has(&self, year: i32, dt: &DateTime, offset: i32) -> bool {
        [(0, 0), (59, 59)].into_iter().all(|(minute, second)| {
            civil(year, dt.month, dt.day, dt.hour, minute, second).is_some_and(|t| {
                matches!(
                    self.tz.to_ambiguous_timestamp(t).offset(),
                    AmbiguousOffset::Unambiguous { offset: o } if o.seconds() == offset
                )
            })
        })
    }
}

/// Whether `dt` is a real date of `year` and a real time of day (its second is clamped to 59).
fn is_real(year: i32, dt: &DateTime) -> bool {
    (1..=12).contains(&dt.month)
        && (1..=days_in_month(Some(year), dt.month)).contains(&dt.day)
        && dt.hour < 24
        && dt.minute < 60
}

/// A civil date-time, `None` if it does not exist.
fn civil(
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
) -> Option<jiff::civil::DateTime> {
    jiff::civil::DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        0,
    )
    .ok()
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

    /// Every minute of the nights Copenhagen changes to and from summer time, and Lord Howe Island
    /// (whose transitions are half an hour, so they fall inside an hour), walked forwards and
    /// backwards with one clock (so its memo carries over from hour to hour), agrees with a fresh
    /// clock that has nothing remembered; so do reading times around the new year.
    #[test]
    fn remembered_offsets_and_years_agree_with_fresh_lookups() {
        let now = at("2026-11-26T12:00:00Z");
        for (zone, days) in [
            ("Europe/Copenhagen", [(3, 28), (3, 29), (10, 24), (10, 25)]),
            ("Australia/Lord_Howe", [(4, 4), (4, 5), (10, 3), (10, 4)]),
        ] {
            let mut times = Vec::new();
            for (month, day) in days {
                for hour in 0..24 {
                    for minute in 0..60 {
                        for second in [0, 30, 59] {
                            times.push(no_year(month, day, hour, minute, second));
                        }
                    }
                }
            }
            // Days that do not exist right after the real day their hour key would alias.
            for (month, day, hour) in [(3, 1, 12), (2, 29, 12), (5, 1, 12), (4, 31, 12), (3, 1, 24)]
            {
                times.push(no_year(month, day, hour, 0, 0));
            }
            let walked = SourceClock::new(Some(zone)).unwrap();
            for dt in times.iter().chain(times.iter().rev()) {
                let fresh = SourceClock::new(Some(zone)).unwrap();
                assert_eq!(
                    walked.resolve(dt, now),
                    fresh.resolve(dt, now),
                    "{zone} {dt:?}"
                );
            }
        }
        let walked = SourceClock::new(Some("Europe/Copenhagen")).unwrap();
        let fold = walked.resolve(&no_year(10, 25, 2, 30, 0), now).unwrap();
        assert_eq!(
            fold.offset_seconds,
            Some(7200),
            "a fold takes the earlier instant"
        );
        assert!(walked.resolve(&no_year(2, 28, 12, 0, 0), now).is_some());
        assert!(
            walked.resolve(&no_year(2, 29, 12, 0, 0), now).is_none(),
            "2026 is common"
        );
        assert!(walked.resolve(&no_year(4, 31, 12, 0, 0), now).is_none());

        let new_year = no_year(1, 1, 0, 5, 0);
        for now in [
            "2026-12-31T22:59:59Z",
            "2026-12-31T23:00:00Z",
            "2026-12-31T22:59:59Z",
        ] {
            let fresh = SourceClock::new(Some("Europe/Copenhagen")).unwrap();
            assert_eq!(
                walked.resolve(&new_year, at(now)),
                fresh.resolve(&new_year, at(now)),
                "{now}"
            );
        }
        assert_eq!(
            walked
                .resolve(&new_year, at("2026-12-31T23:00:00Z"))
                .unwrap()
                .unix,
            at("2026-12-31T23:05:00Z").unix,
            "local midnight has begun 2027"
        );
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
