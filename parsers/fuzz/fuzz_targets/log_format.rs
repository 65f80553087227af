//! Fuzz target: `log_format::compile` (Apache and Nginx syntax) on the input up to its first newline,
//! and the compiled layout's `parse` on the rest.
#![no_main]

#[path = "checks/borrowed.rs"]
mod borrowed;
#[path = "checks/valid_time.rs"]
mod valid_time;

use std::borrow::Cow;

use borrowed::assert_within;
use libfuzzer_sys::fuzz_target;
use logferry_parsers::log_format::{self, Layout, Syntax};
use logferry_parsers::{access, LayoutTime};
use valid_time::assert_valid_time;

fuzz_target!(|input: &[u8]| {
    let (format, line) = match input.iter().position(|&b| b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[][..]),
    };
    let format = String::from_utf8_lossy(format);
    for syntax in [Syntax::Apache, Syntax::Nginx] {
        let compiled = log_format::compile(&format, syntax);
        assert_eq!(
            compiled,
            log_format::compile(&format, syntax),
            "compile is not deterministic"
        );
        match compiled {
            Ok(Layout::Builtin) => {
                if let Err(e) = access::parse(line) {
                    assert!(e.offset <= line.len(), "error offset past the line: {e}");
                }
            }
            Ok(Layout::Custom(layout)) => match layout.parse(line) {
                Ok(r) => {
                    let borrowed = [
                        r.client,
                        r.user,
                        r.method,
                        r.version,
                        r.other_request,
                        r.referer,
                        r.user_agent,
                        r.vhost,
                    ];
                    for field in borrowed.into_iter().flatten() {
                        assert_within(line, field, "a layout field");
                    }
                    if let Some(Cow::Borrowed(target)) = r.target {
                        assert_within(line, target, "the target");
                    }
                    match r.time {
                        Some(LayoutTime::Civil(t)) => {
                            assert_valid_time(&t);
                            assert!(t.year.is_some(), "civil layout time without a year");
                        }
                        Some(LayoutTime::Epoch { nanos, .. }) => {
                            assert!(nanos < 1_000_000_000, "epoch nanos out of range")
                        }
                        None => {}
                    }
                }
                Err(e) => assert!(e.offset <= line.len(), "error offset past the line: {e}"),
            },
            Err(e) => {
                assert!(!e.reason.is_empty());
                let _ = e.to_string();
            }
        }
    }
});
