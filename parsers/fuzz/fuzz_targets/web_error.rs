//! Fuzz target: `web_error::parse_apache` and `parse_nginx` (Apache and Nginx error logs) on arbitrary bytes.
#![no_main]

#[path = "checks/borrowed.rs"]
mod borrowed;
#[path = "checks/valid_time.rs"]
mod valid_time;

use borrowed::assert_within;
use libfuzzer_sys::fuzz_target;
use logferry_parsers::web_error;
use valid_time::assert_valid_time;

fuzz_target!(|line: &[u8]| {
    match web_error::parse_apache(line) {
        Ok(r) => {
            assert_valid_time(&r.time);
            assert!(r.time.year.is_some() && r.time.offset_seconds.is_none());
            assert!(!r.level.is_empty() && r.level.iter().all(u8::is_ascii_alphanumeric));
            assert!(r.module.is_none_or(|m| !m.is_empty()), "empty module");
            if let Some(code) = r.error_code {
                assert!(code.len() == 7 && code.starts_with(b"AH"), "bad error code");
                assert!(code[2..].iter().all(u8::is_ascii_digit), "bad error code");
            }
            assert!(!r.message.ends_with(b"\n") && !r.message.ends_with(b"\r"));
            for field in [
                Some(r.level),
                r.module,
                r.client,
                r.error_code,
                Some(r.message),
            ] {
                assert_within(line, field.unwrap_or_default(), "an Apache field");
            }
        }
        Err(e) => assert!(e.offset <= line.len(), "error offset past the line: {e}"),
    }
    match web_error::parse_nginx(line) {
        Ok(r) => {
            assert_valid_time(&r.time);
            assert!(r.time.year.is_some() && r.time.offset_seconds.is_none());
            assert!(!r.level.is_empty() && r.level.iter().all(u8::is_ascii_alphabetic));
            assert!(r.client.is_none_or(|c| !c.is_empty()), "empty client");
            assert!(!r.message.ends_with(b"\n") && !r.message.ends_with(b"\r"));
            for field in [Some(r.level), r.client, Some(r.message)] {
                assert_within(line, field.unwrap_or_default(), "an Nginx field");
            }
        }
        Err(e) => assert!(e.offset <= line.len(), "error offset past the line: {e}"),
    }
});
