//! Civil date-times as logs write them (CLF, RFC 3164, RFC 3339, Apache and Nginx error logs) and their conversion to Unix time.

use crate::ParseError;

/// A civil date-time as written in a log; `year` None when the log omits it (RFC 3164), `offset_seconds` None when the log gives no zone.
///
/// Invariants when produced by this crate's parsers: `month` is 1-12, `day` is 1 to the
/// length of that month (29 for February when the year is unknown), `hour` ≤ 23,
/// `minute` ≤ 59, `second` ≤ 60 (a leap second), `nanos` < 1_000_000_000 and
/// `offset_seconds`, when known, is within ±(23 h 59 min).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Proleptic Gregorian year, `None` when the log leaves it out.
    pub year: Option<i32>,
    /// Month, 1-12.
    pub month: u8,
    /// Day of the month, 1-31.
    pub day: u8,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-60 (60 only for a leap second).
    pub second: u8,
    /// Fraction of the second in nanoseconds (digits past the ninth are dropped).
    pub nanos: u32,
    /// Offset from UTC in seconds, east positive; `None` when the log gives no zone.
    pub offset_seconds: Option<i32>,
}

impl DateTime {
    /// Unix seconds when year and offset are known.
    ///
    /// A leap second (`second == 60`) counts as the first second of the next minute.
    /// Never panics: the arithmetic is done in `i64`, which every `DateTime` fits.
    pub fn unix_seconds(&self) -> Option<i64> {
        let year = self.year?;
        let offset = self.offset_seconds?;
        let days = days_from_civil(year, self.month, self.day);
        Some(
            days * 86_400
                + i64::from(self.hour) * 3_600
                + i64::from(self.minute) * 60
                + i64::from(self.second)
                - i64::from(offset),
        )
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
///
/// Meant for `month` 1-12 and `day` 1-31; other values give a meaningless number but never panic.
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let m = i64::from(month);
    let d = i64::from(day);
    let y = i64::from(year) - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400; // [0, 399]
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Month number (1-12) of an English three-letter abbreviation, `"Jan"`..`"Dec"`, in any letter case.
///
/// `b` must be exactly three bytes.
pub fn month_from_abbrev(b: &[u8]) -> Option<u8> {
    let [a, b, c] = <[u8; 3]>::try_from(b).ok()?;
    // Setting bit 0x20 lowercases an ASCII capital and keeps a lowercase letter; no other byte
    // becomes a lowercase letter by it, so this is `to_ascii_lowercase` as far as the match goes.
    let key = [a | 0x20, b | 0x20, c | 0x20];
    Some(match &key {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// The days of `month` (1–12) in `year` (Gregorian); February has 29 when the year is not known.
pub fn days_in_month(year: Option<i32>, month: u8) -> u8 {
    match month {
        2 => match year {
            Some(y) if y % 4 != 0 || (y % 100 == 0 && y % 400 != 0) => 28,
            _ => 29,
        },
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Checks the ranges of the civil fields (see [`DateTime`]'s invariants).
fn validate(dt: DateTime, at: usize) -> Result<DateTime, ParseError> {
    if !(1..=12).contains(&dt.month) {
        return Err(ParseError::new("month out of range", at));
    }
    if dt.day == 0 || dt.day > days_in_month(dt.year, dt.month) {
        return Err(ParseError::new("day out of range", at));
    }
    if dt.hour > 23 {
        return Err(ParseError::new("hour out of range", at));
    }
    if dt.minute > 59 {
        return Err(ParseError::new("minute out of range", at));
    }
    if dt.second > 60 {
        return Err(ParseError::new("second out of range", at));
    }
    Ok(dt)
}

/// A forward-only cursor over bytes; every read is checked.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, reason: &'static str) -> Result<(), ParseError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(ParseError::new(reason, self.pos))
        }
    }

    /// Exactly `n` ASCII digits (n ≤ 4) as a number.
    fn digits(&mut self, n: usize, reason: &'static str) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek() {
                Some(c @ b'0'..=b'9') => {
                    v = v * 10 + u32::from(c - b'0');
                    self.pos += 1;
                }
                _ => return Err(ParseError::new(reason, self.pos)),
            }
        }
        Ok(v)
    }

    /// Two digits as a `u8`.
    fn two(&mut self, reason: &'static str) -> Result<u8, ParseError> {
        // Two digits are at most 99, which fits.
        self.digits(2, reason).map(|v| v as u8)
    }

    fn take(&mut self, n: usize, reason: &'static str) -> Result<&'a [u8], ParseError> {
        let end = self.pos.checked_add(n);
        match end.and_then(|e| self.b.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(ParseError::new(reason, self.pos)),
        }
    }

    /// Optional `.fraction` (one or more digits; digits past the ninth are ignored) in nanoseconds.
    fn fraction(&mut self) -> Result<u32, ParseError> {
        if !(self.peek() == Some(b'.') || self.peek() == Some(b',')) {
            return Ok(0);
        }
        self.pos += 1;
        let mut nanos = 0u32;
        let mut n = 0usize;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            if n < 9 {
                nanos = nanos * 10 + u32::from(c - b'0');
            }
            n += 1;
            self.pos += 1;
        }
        if n == 0 {
            return Err(ParseError::new("expected fraction digits", self.pos));
        }
        let mut k = n;
        while k < 9 {
            nanos *= 10;
            k += 1;
        }
        Ok(nanos)
    }

    /// `yyyy-mm-dd`.
    fn dashed_date(&mut self) -> Result<(i32, u8, u8), ParseError> {
        // As in `hms`: the usual layout in one step, anything else byte by byte.
        if let Some(&[y3, y2, y1, y0, b'-', m1, m0, b'-', d1, d0]) =
            self.b.get(self.pos..self.pos.saturating_add(10))
        {
            let all = [y3, y2, y1, y0, m1, m0, d1, d0];
            if all.iter().all(u8::is_ascii_digit) {
                let [y3, y2, y1, y0, m1, m0, d1, d0] = all.map(|c| c - b'0');
                let year = [y3, y2, y1, y0]
                    .iter()
                    .fold(0, |v, &d| v * 10 + i32::from(d));
                self.pos += 10;
                return Ok((year, m1 * 10 + m0, d1 * 10 + d0));
            }
        }
        let year = self.digits(4, "expected year")? as i32;
        self.expect(b'-', "expected '-' after year")?;
        let month = self.two("expected month")?;
        self.expect(b'-', "expected '-' after month")?;
        let day = self.two("expected day")?;
        Ok((year, month, day))
    }

    /// `hh:mm:ss[.frac]`.
    fn hms(&mut self) -> Result<(u8, u8, u8, u32), ParseError> {
        // Nearly every stamp is written exactly so: read it without a check and a possible error per
        // byte; anything else takes the byte-by-byte way below, which names what is wrong.
        if let Some(
            &[h1 @ b'0'..=b'9', h0 @ b'0'..=b'9', b':', m1 @ b'0'..=b'9', m0 @ b'0'..=b'9', b':', s1 @ b'0'..=b'9', s0 @ b'0'..=b'9'],
        ) = self.b.get(self.pos..self.pos.saturating_add(8))
        {
            let two = |tens: u8, ones: u8| (tens - b'0') * 10 + (ones - b'0');
            self.pos += 8;
            let ns = self.fraction()?;
            return Ok((two(h1, h0), two(m1, m0), two(s1, s0), ns));
        }
        let h = self.two("expected hour")?;
        self.expect(b':', "expected ':' after hour")?;
        let m = self.two("expected minute")?;
        self.expect(b':', "expected ':' after minute")?;
        let s = self.two("expected second")?;
        let ns = self.fraction()?;
        Ok((h, m, s, ns))
    }

    /// `hh:mm:ss[.frac]` after a date already read: the date-time, without an offset. Inlined: it
    /// is on every syslog and access-log line, and the call cost 0.5% of a syslog line.
    #[inline(always)]
    fn time_of_day(
        &mut self,
        year: Option<i32>,
        month: u8,
        day: u8,
    ) -> Result<DateTime, ParseError> {
        let (hour, minute, second, nanos) = self.hms()?;
        Ok(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
            offset_seconds: None,
        })
    }

    /// `hh[:]mm` after a zone's sign: the offset in seconds, without its sign.
    fn zone(&mut self) -> Result<i32, ParseError> {
        let zone_at = self.pos;
        let zh = self.digits(2, "expected zone hours")?;
        self.eat(b':');
        let zm = self.digits(2, "expected zone minutes")?;
        if zh > 23 || zm > 59 {
            return Err(ParseError::new("zone out of range", zone_at));
        }
        Ok((zh * 3600 + zm * 60) as i32)
    }
}

/// Parses an Apache/Nginx `%t` body `dd/Mon/yyyy:hh:mm:ss ±hhmm` (without the brackets).
///
/// Returns the date-time (year and offset always `Some`) and the number of bytes consumed.
/// Error offsets are relative to `b`.
pub fn parse_clf(b: &[u8]) -> Result<(DateTime, usize), ParseError> {
    let mut c = Cursor { b, pos: 0 };
    let day = c.two("expected day")?;
    c.expect(b'/', "expected '/' after day")?;
    let mon_at = c.pos;
    let month = month_from_abbrev(c.take(3, "expected month")?)
        .ok_or(ParseError::new("unknown month", mon_at))?;
    c.expect(b'/', "expected '/' after month")?;
    let year = c.digits(4, "expected year")? as i32;
    c.expect(b':', "expected ':' after year")?;
    let mut dt = c.time_of_day(Some(year), month, day)?;
    c.expect(b' ', "expected space before zone")?;
    let sign = match c.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(ParseError::new("expected zone sign", c.pos)),
    };
    c.pos += 1;
    dt.offset_seconds = Some(sign * c.zone()?);
    Ok((validate(dt, 0)?, c.pos))
}

/// Parses an RFC 3339 / ISO 8601 stamp `yyyy-mm-ddThh:mm:ss[.frac](Z|±hh:mm)`.
///
/// A space or lower-case `t` is accepted for `T`, `z` for `Z`, and `±hhmm` for the
/// offset. A missing zone gives `offset_seconds: None`. Returns the date-time and the
/// number of bytes consumed; error offsets are relative to `b`.
pub fn parse_rfc3339(b: &[u8]) -> Result<(DateTime, usize), ParseError> {
    let mut c = Cursor { b, pos: 0 };
    let (year, month, day) = c.dashed_date()?;
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return Err(ParseError::new("expected 'T'", c.pos));
    }
    let mut dt = c.time_of_day(Some(year), month, day)?;
    dt.offset_seconds = match c.peek() {
        Some(b'Z' | b'z') => {
            c.pos += 1;
            Some(0)
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let v = c.zone()?;
            Some(if sign == b'-' { -v } else { v })
        }
        _ => None,
    };
    Ok((validate(dt, 0)?, c.pos))
}

/// Parses an RFC 3164 stamp `Mmm dd hh:mm:ss[.frac]`.
///
/// The day may be space-padded (`Feb  1`), zero-padded (`Feb 01`) or a single digit
/// (`Feb 1`). A year between day and time (`Feb  1 2026 21:54:44`, as Cisco writes)
/// is accepted. Returns the date-time (`offset_seconds` always `None`; `year` only when
/// written) and the number of bytes consumed; error offsets are relative to `b`.
pub fn parse_rfc3164(b: &[u8]) -> Result<(DateTime, usize), ParseError> {
    let mut c = Cursor { b, pos: 0 };
    let month = month_from_abbrev(c.take(3, "expected month")?)
        .ok_or(ParseError::new("unknown month", 0))?;
    c.expect(b' ', "expected space after month")?;
    c.eat(b' ');
    let day_at = c.pos;
    let d1 = c.digits(1, "expected day")?;
    let day = match c.peek() {
        Some(d @ b'0'..=b'9') => {
            c.pos += 1;
            d1 * 10 + u32::from(d - b'0')
        }
        _ => d1,
    };
    c.expect(b' ', "expected space after day")?;
    // Optional year: four digits followed by a space.
    let mut year = None;
    if let Some(y) = b.get(c.pos..c.pos + 5) {
        if y.get(..4).is_some_and(|d| d.iter().all(u8::is_ascii_digit)) && y.get(4) == Some(&b' ') {
            year = Some(c.digits(4, "expected year")? as i32);
            c.pos += 1;
        }
    }
    // At most two digits, so at most 99.
    let dt = c.time_of_day(year, month, day as u8)?;
    Ok((validate(dt, day_at)?, c.pos))
}

/// Parses Apache's error-log stamp `Www Mmm dd hh:mm:ss[.frac] yyyy` (C `ctime` with an optional fraction).
///
/// The weekday is required but not checked against the date. Returns the date-time (`year` always
/// `Some`, `offset_seconds` always `None`) and the number of bytes consumed; error offsets are relative to `b`.
pub fn parse_ctime(b: &[u8]) -> Result<(DateTime, usize), ParseError> {
    let mut c = Cursor { b, pos: 0 };
    if !c
        .take(3, "expected weekday")?
        .iter()
        .all(u8::is_ascii_alphabetic)
    {
        return Err(ParseError::new("expected weekday", 0));
    }
    c.expect(b' ', "expected space after weekday")?;
    let (dt, used) = parse_rfc3164(from(b, c.pos)).map_err(|e| e.shifted(c.pos))?;
    if dt.year.is_some() {
        return Err(ParseError::new("expected time after day", c.pos));
    }
    c.pos += used;
    c.expect(b' ', "expected space before year")?;
    let year_at = c.pos;
    let year = Some(c.digits(4, "expected year")? as i32);
    Ok((validate(DateTime { year, ..dt }, year_at)?, c.pos))
}

/// Parses Nginx's error-log stamp `yyyy/mm/dd hh:mm:ss`.
///
/// Returns the date-time (`year` always `Some`, `offset_seconds` always `None`) and the number of
/// bytes consumed; error offsets are relative to `b`.
pub fn parse_slashed(b: &[u8]) -> Result<(DateTime, usize), ParseError> {
    parse_slashed_date(b, 4)
}

/// Parses the two-digit-year stamp `yy/mm/dd hh:mm:ss[.frac]` (Spark's default log4j layout);
/// the year is taken as 20yy.
///
/// Returns the date-time (`offset_seconds` always `None`) and the number of bytes consumed; error
/// offsets are relative to `b`.
pub fn parse_short_ymd(b: &[u8]) -> Result<(DateTime, usize), ParseError> {
    parse_slashed_date(b, 2)
}

/// `y…/mm/dd hh:mm:ss[.frac]` with a year of `year_digits` digits (2 → 20yy).
fn parse_slashed_date(b: &[u8], year_digits: usize) -> Result<(DateTime, usize), ParseError> {
    let mut c = Cursor { b, pos: 0 };
    let digits = c.digits(year_digits, "expected year")? as i32;
    let year = if year_digits == 2 {
        2000 + digits
    } else {
        digits
    };
    c.expect(b'/', "expected '/' after year")?;
    let month = c.two("expected month")?;
    c.expect(b'/', "expected '/' after month")?;
    let day = c.two("expected day")?;
    c.expect(b' ', "expected space after date")?;
    let dt = c.time_of_day(Some(year), month, day)?;
    Ok((validate(dt, 0)?, c.pos))
}

/// The suffix of `b` from `i` (empty past the end).
fn from(b: &[u8], i: usize) -> &[u8] {
    b.get(i..).unwrap_or(&[])
}

/// Parses `dd-Mon-yyyy hh:mm:ss[.frac]` (Tomcat's `OneLineFormatter`).
///
/// Returns the date-time (`offset_seconds` always `None`) and the number of bytes consumed; error
/// offsets are relative to `b`.
pub fn parse_dmy_abbrev(b: &[u8]) -> Result<(DateTime, usize), ParseError> {
    let mut c = Cursor { b, pos: 0 };
    let day = c.two("expected day")?;
    c.expect(b'-', "expected '-' after day")?;
    let mon_at = c.pos;
    let month = month_from_abbrev(c.take(3, "expected month")?)
        .ok_or(ParseError::new("unknown month", mon_at))?;
    c.expect(b'-', "expected '-' after month")?;
    let year = c.digits(4, "expected year")? as i32;
    c.expect(b' ', "expected space after date")?;
    let dt = c.time_of_day(Some(year), month, day)?;
    Ok((validate(dt, 0)?, c.pos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(days_from_civil(-4713, 11, 24), -2_440_588);
    }

    #[test]
    fn months() {
        assert_eq!(month_from_abbrev(b"Jan"), Some(1));
        assert_eq!(month_from_abbrev(b"DEC"), Some(12));
        assert_eq!(month_from_abbrev(b"sep"), Some(9));
        assert_eq!(month_from_abbrev(b"Sept"), None);
        assert_eq!(month_from_abbrev(b"Ja"), None);
        assert_eq!(month_from_abbrev(b"Foo"), None);
        assert_eq!(month_from_abbrev(b"jAN"), Some(1));
        for bytes in (0..=255u8).flat_map(|x| [[x, b'a', b'n'], [b'j', x, b'n'], [b'j', b'a', x]]) {
            let expected = bytes.to_ascii_lowercase() == *b"jan";
            assert_eq!(month_from_abbrev(&bytes) == Some(1), expected, "{bytes:?}");
        }
    }

    #[test]
    fn clf() {
        let (dt, n) = parse_clf(b"17/May/2015:10:05:03 +0000]").unwrap();
        assert_eq!(n, 26);
        assert_eq!(dt.unix_seconds(), Some(1_431_857_103));
        let (dt, _) = parse_clf(b"26/Dec/2016:16:16:29 +0200").unwrap();
        assert_eq!(dt.unix_seconds(), Some(1_482_761_789));
        let (dt, _) = parse_clf(b"26/Dec/2016:16:16:29 -0530").unwrap();
        assert_eq!(dt.offset_seconds, Some(-19_800));
        assert!(parse_clf(b"32/Dec/2016:16:16:29 +0000").is_err());
        assert!(parse_clf(b"29/Feb/2015:16:16:29 +0000").is_err());
        assert!(parse_clf(b"29/Feb/2016:16:16:29 +0000").is_ok());
        assert!(parse_clf(b"26/Dec/2016:24:16:29 +0000").is_err());
        assert!(parse_clf(b"26/Dec/2016:23:60:29 +0000").is_err());
        assert!(parse_clf(b"26/Dec/2016:23:59:60 +0000").is_ok());
        assert!(parse_clf(b"26/Dec/2016:23:59:61 +0000").is_err());
        assert!(parse_clf(b"26/Dec/2016:23:59:59 +2400").is_err());
        assert!(parse_clf(b"26/Dex/2016:23:59:59 +0000").is_err());
        assert!(parse_clf(b"26/Dec/2016:23:59:59").is_err());
    }

    #[test]
    fn rfc3339() {
        let (dt, n) = parse_rfc3339(b"2026-11-26T10:11:12.345678+01:00 x").unwrap();
        assert_eq!(n, 32);
        assert_eq!(dt.nanos, 345_678_000);
        assert_eq!(dt.offset_seconds, Some(3600));
        assert_eq!(dt.unix_seconds(), Some(1_795_684_272));
        let (dt, _) = parse_rfc3339(b"2003-10-11T22:14:15.003Z").unwrap();
        assert_eq!(dt.unix_seconds(), Some(1_065_910_455));
        assert_eq!(dt.nanos, 3_000_000);
        let (dt, _) = parse_rfc3339(b"2003-08-24T05:14:15.000003-07:00").unwrap();
        assert_eq!(dt.nanos, 3_000);
        assert_eq!(dt.offset_seconds, Some(-25_200));
        let (dt, n) = parse_rfc3339(b"2003-08-24T05:14:15.1234567891").unwrap();
        assert_eq!((dt.nanos, dt.offset_seconds, n), (123_456_789, None, 30));
        assert!(parse_rfc3339(b"2003-13-24T05:14:15Z").is_err());
        assert!(parse_rfc3339(b"2003-00-24T05:14:15Z").is_err());
        assert!(parse_rfc3339(b"2003-04-31T05:14:15Z").is_err());
        assert!(parse_rfc3339(b"2003-04-30T05:14:15.Z").is_err());
        assert!(parse_rfc3339(b"2003-04-30").is_err());
    }

    #[test]
    fn rfc3164() {
        let (dt, n) = parse_rfc3164(b"Feb  1 21:54:44 host").unwrap();
        assert_eq!(n, 15);
        assert_eq!(
            dt,
            DateTime {
                year: None,
                month: 2,
                day: 1,
                hour: 21,
                minute: 54,
                second: 44,
                nanos: 0,
                offset_seconds: None
            }
        );
        assert_eq!(dt.unix_seconds(), None);
        let (dt, _) = parse_rfc3164(b"Feb 01 21:54:44.123456").unwrap();
        assert_eq!((dt.day, dt.nanos), (1, 123_456_000));
        let (dt, _) = parse_rfc3164(b"Feb 1 21:54:44").unwrap();
        assert_eq!(dt.day, 1);
        assert!(parse_rfc3164(b"Feb 29 2026 21:54:44 x").is_err());
        let (dt, n) = parse_rfc3164(b"Feb 28 2026 21:54:44 x").unwrap();
        assert_eq!((dt.year, n), (Some(2026), 20));
        assert!(parse_rfc3164(b"Feb 30 21:54:44").is_err());
        assert!(parse_rfc3164(b"Feb 29 21:54:44").is_ok());
        assert!(parse_rfc3164(b"Feb  0 21:54:44").is_err());
        assert!(parse_rfc3164(b"Feb 1 21:54").is_err());
        assert!(parse_rfc3164(b"").is_err());
    }

    #[test]
    fn ctime() {
        let (dt, n) = parse_ctime(b"Wed Nov 25 14:32:52.123456 2026] x").unwrap();
        assert_eq!(n, 31);
        assert_eq!(
            (
                dt.year,
                dt.month,
                dt.day,
                dt.hour,
                dt.nanos,
                dt.offset_seconds
            ),
            (Some(2026), 11, 25, 14, 123_456_000, None)
        );
        let (dt, n) = parse_ctime(b"Sun Dec 04 04:47:44 2005]").unwrap();
        assert_eq!((dt.year, dt.day, dt.second, n), (Some(2005), 4, 44, 24));
        assert!(parse_ctime(b"Sun Feb 29 04:47:44 2005").is_err());
        assert!(parse_ctime(b"Sun Feb 29 04:47:44 2004").is_ok());
        assert!(parse_ctime(b"Sun Dec 04 04:47:44").is_err());
        assert!(parse_ctime(b"Sun Dec 04 2005 04:47:44 2005").is_err());
        assert!(parse_ctime(b"1un Dec 04 04:47:44 2005").is_err());
        assert!(parse_ctime(b"Sun").is_err());
    }

    #[test]
    fn slashed() {
        let (dt, n) = parse_slashed(b"2026/11/25 14:32:52 [error]").unwrap();
        assert_eq!(n, 19);
        assert_eq!(
            (dt.year, dt.month, dt.day, dt.minute, dt.offset_seconds),
            (Some(2026), 11, 25, 32, None)
        );
        assert!(parse_slashed(b"2026/13/25 14:32:52").is_err());
        assert!(parse_slashed(b"2026/11/25T14:32:52").is_err());
        assert!(parse_slashed(b"2026/11/25 14:32").is_err());
    }

    #[test]
    fn short_ymd_and_dmy_abbrev() {
        let (dt, n) = parse_short_ymd(b"17/06/09 20:10:40 INFO").unwrap();
        assert_eq!(
            (dt.year, dt.month, dt.day, dt.second, n),
            (Some(2017), 6, 9, 40, 17)
        );
        assert!(parse_short_ymd(b"17/13/09 20:10:40").is_err());
        let (dt, n) = parse_dmy_abbrev(b"21-Jul-2025 01:02:43.123 INFO").unwrap();
        assert_eq!(
            (dt.year, dt.month, dt.day, dt.nanos, n),
            (Some(2025), 7, 21, 123_000_000, 24)
        );
        assert!(parse_dmy_abbrev(b"31-Jun-2025 01:02:43").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_clf(&b);
            let _ = parse_rfc3339(&b);
            let _ = parse_rfc3164(&b);
            let _ = parse_ctime(&b);
            let _ = parse_slashed(&b);
            let _ = parse_short_ymd(&b);
            let _ = parse_dmy_abbrev(&b);
            let _ = month_from_abbrev(&b);
        }

        #[test]
        fn unix_seconds_never_panics(year in any::<i32>(), month in any::<u8>(), day in any::<u8>(),
                                     hour in any::<u8>(), offset in any::<i32>()) {
            let dt = DateTime { year: Some(year), month, day, hour, minute: 59, second: 60, nanos: 0, offset_seconds: Some(offset) };
            let _ = dt.unix_seconds();
        }

        #[test]
        fn clf_round_trips(days in 0i64..100_000, secs in 0u32..86_400) {
            // Build a CLF stamp from a Unix time and read it back.
            let (y, m, d) = civil_from_days(days);
            let s = format!("{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000", d, MONTHS[usize::from(m - 1)], y, secs / 3600, secs / 60 % 60, secs % 60);
            let (dt, _) = parse_clf(s.as_bytes()).unwrap();
            prop_assert_eq!(dt.unix_seconds(), Some(days * 86_400 + i64::from(secs)));
        }
    }

    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];

    /// Hinnant's inverse, for the round-trip property only.
    fn civil_from_days(z: i64) -> (i64, u8, u8) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }
}
