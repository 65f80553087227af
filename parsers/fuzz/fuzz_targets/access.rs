//! Fuzz target: `access::parse` and `access::unescape` on arbitrary bytes never panic, never loop.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logferry_parsers::access::{self, Request};

fuzz_target!(|line: &[u8]| {
    match access::parse(line) {
        Ok(record) => {
            let quoted = [
                Some(match record.request {
                    Request::Line { target, .. } => target,
                    Request::Other(raw) => raw,
                }),
                record.referer,
                record.user_agent,
            ];
            for raw in quoted.into_iter().flatten() {
                let _ = access::unescape(raw);
            }
            let _ = record.time.unix_seconds();
        }
        Err(e) => assert!(e.offset <= line.len(), "error offset past the line: {e}"),
    }
});
