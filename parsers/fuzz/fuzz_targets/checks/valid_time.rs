//! Fuzz check shared by the targets: a parsed date-time keeps the ranges `DateTime` documents.

use logferry_parsers::time::DateTime;

/// Asserts the invariants `DateTime` documents for values this crate's parsers produce, and that
/// `unix_seconds` does not panic on it.
pub fn assert_valid_time(t: &DateTime) {
    assert!((1..=12).contains(&t.month), "month out of range: {t:?}");
    let max_day = match t.month {
        2 => match t.year {
            Some(y) if !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) => 28,
            _ => 29,
        },
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    assert!((1..=max_day).contains(&t.day), "day out of range: {t:?}");
    assert!(t.hour <= 23, "hour out of range: {t:?}");
    assert!(t.minute <= 59, "minute out of range: {t:?}");
    assert!(t.second <= 60, "second out of range: {t:?}");
    assert!(t.nanos < 1_000_000_000, "nanos out of range: {t:?}");
    if let Some(offset) = t.offset_seconds {
        assert!(
            offset.abs() <= 23 * 3600 + 59 * 60,
            "offset out of range: {t:?}"
        );
    }
    let _ = t.unix_seconds();
}
