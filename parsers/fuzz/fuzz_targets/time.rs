//! Fuzz target: every timestamp parser of `time` (CLF, RFC 3339, RFC 3164, ctime, slashed, short
//! y/m/d, d-Mon-y), `month_from_abbrev` and `days_from_civil` on arbitrary bytes.
#![no_main]

#[path = "checks/valid_time.rs"]
mod valid_time;

use libfuzzer_sys::fuzz_target;
use logferry_parsers::time::{self, DateTime};
use logferry_parsers::ParseError;
use valid_time::assert_valid_time;

type Parser = fn(&[u8]) -> Result<(DateTime, usize), ParseError>;

/// Each parser with the zone and year it promises: (offset always known, year always known).
const PARSERS: [(&str, Parser, Option<bool>, Option<bool>); 7] = [
    ("clf", time::parse_clf, Some(true), Some(true)),
    ("rfc3339", time::parse_rfc3339, None, Some(true)),
    ("rfc3164", time::parse_rfc3164, Some(false), None),
    ("ctime", time::parse_ctime, Some(false), Some(true)),
    ("slashed", time::parse_slashed, Some(false), Some(true)),
    ("short_ymd", time::parse_short_ymd, Some(false), Some(true)),
    (
        "dmy_abbrev",
        time::parse_dmy_abbrev,
        Some(false),
        Some(true),
    ),
];

fuzz_target!(|b: &[u8]| {
    for (name, parse, has_offset, has_year) in PARSERS {
        match parse(b) {
            Ok((t, used)) => {
                assert!(
                    used > 0 && used <= b.len(),
                    "{name}: consumed {used} of {}",
                    b.len()
                );
                assert_valid_time(&t);
                if let Some(known) = has_offset {
                    assert_eq!(t.offset_seconds.is_some(), known, "{name}: zone {t:?}");
                }
                if let Some(known) = has_year {
                    assert_eq!(t.year.is_some(), known, "{name}: year {t:?}");
                }
                // The stamp is the bytes consumed: they parse alone to the same value.
                assert_eq!(
                    parse(&b[..used]),
                    Ok((t, used)),
                    "{name}: prefix parses differently"
                );
            }
            Err(e) => assert!(
                e.offset <= b.len(),
                "{name}: error offset past the input: {e}"
            ),
        }
    }
    if let Some(abbrev) = b.get(..3) {
        if let Some(month) = time::month_from_abbrev(abbrev) {
            assert!((1..=12).contains(&month));
        }
    }
    if let [y0, y1, y2, y3, month, day, ..] = *b {
        let _ = time::days_from_civil(i32::from_le_bytes([y0, y1, y2, y3]), month, day);
    }
});
