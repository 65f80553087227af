//! Fuzz target: `syslog::parse` (RFC 3164 / RFC 5424 header) and `sd_params` on the structured data it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logferry_parsers::syslog;

fuzz_target!(|line: &[u8]| {
    match syslog::parse(line) {
        Ok(record) => {
            assert!(
                !record.message.starts_with(b" "),
                "message starts with a space"
            );
            if let Some(sd) = record.structured_data {
                // `parse` promises well-formed structured data, so every parameter must decode.
                for param in syslog::sd_params(sd) {
                    assert!(param.is_ok(), "accepted SD fails to iterate: {param:?}");
                }
            }
            if let Some(time) = record.time {
                let _ = time.unix_seconds();
            }
        }
        Err(e) => assert!(e.offset <= line.len(), "error offset past the line: {e}"),
    }
    // The iterator on raw bytes too: malformed SD yields one Err and ends.
    assert!(syslog::sd_params(line).filter(|p| p.is_err()).count() <= 1);
});
