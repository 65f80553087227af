//! Fuzz target: `java::parse`, `starts_record`, `exception_class` and `trailing_logger` on arbitrary bytes.
#![no_main]

#[path = "checks/borrowed.rs"]
mod borrowed;
#[path = "checks/valid_time.rs"]
mod valid_time;

use borrowed::assert_within;
use libfuzzer_sys::fuzz_target;
use logferry_parsers::java;
use valid_time::assert_valid_time;

fn is_class_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'$' | b'_')
}

fuzz_target!(|record: &[u8]| {
    match java::parse(record) {
        Ok(r) => {
            assert_valid_time(&r.time);
            assert!(java::is_level(r.level), "level is not a level word");
            assert!(r.thread.is_none_or(|t| !t.is_empty()), "empty thread");
            assert!(r.logger.is_none_or(|l| !l.is_empty()), "empty logger");
            assert!(
                !r.message.contains(&b'\n'),
                "message runs past the first line"
            );
            assert!(!r.message.ends_with(b" ") && !r.message.ends_with(b"\r"));
            for field in [Some(r.level), r.thread, r.logger, Some(r.message)] {
                assert_within(record, field.unwrap_or_default(), "a header field");
            }
        }
        Err(e) => assert!(
            e.offset <= record.len(),
            "error offset past the record: {e}"
        ),
    }
    let _ = java::starts_record(record);
    if let Some(class) = java::exception_class(record) {
        assert_within(record, class, "the exception class");
        assert!(class.first().is_some_and(u8::is_ascii_alphabetic));
        assert!(class.iter().all(|&b| is_class_byte(b)), "not a class name");
        let simple = class.rsplit(|&b| b == b'.').next().unwrap_or(class);
        assert!(
            simple.ends_with(b"Exception") || simple.ends_with(b"Error") || simple == b"Throwable",
            "not an exception name"
        );
    }
    if let Some((text, logger)) = java::trailing_logger(record) {
        assert_within(record, text, "the text before the logger");
        assert_within(record, logger, "the logger");
        assert!(!logger.is_empty() && logger.iter().all(|&b| is_class_byte(b)));
    }
});
