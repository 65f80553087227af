//! Fuzz target: `auditd::parse`, `fields` (nested `msg='…'` too), `decode_hex`, `is_encoded` and `syscalls::name`.
#![no_main]

#[path = "checks/borrowed.rs"]
mod borrowed;

use borrowed::assert_within;
use libfuzzer_sys::fuzz_target;
use logferry_parsers::auditd::{self, AuditValue};
use logferry_parsers::syscalls;

/// Walks the fields of `body`, descending into nested values up to `depth` levels.
fn walk(record_type: &[u8], body: &[u8], depth: u32) {
    let mut arch: &[u8] = b"";
    for field in auditd::fields(body) {
        assert!(!field.key.is_empty(), "empty key");
        assert_within(body, field.key, "a key");
        let _ = auditd::is_encoded(record_type, field.key);
        let _ = auditd::argument_index(field.key);
        match field.value {
            AuditValue::Bare(v) => {
                assert!(!v.contains(&b' '), "bare value with a space");
                assert_within(body, v, "a bare value");
                if let Some(bytes) = auditd::decode_hex(v) {
                    assert_eq!(bytes.len() * 2, v.len());
                    let hex: Vec<u8> = bytes
                        .iter()
                        .flat_map(|b| format!("{b:02x}").into_bytes())
                        .collect();
                    assert!(hex.eq_ignore_ascii_case(v), "hex does not round-trip");
                }
                match field.key {
                    b"arch" => arch = v,
                    b"syscall" => {
                        let number = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok());
                        if let Some(number) = number {
                            let _ = syscalls::name(arch, number);
                        }
                    }
                    _ => {}
                }
            }
            AuditValue::Quoted(v) => {
                assert!(!v.contains(&b'"'), "quoted value holds a quote");
                assert_within(body, v, "a quoted value");
            }
            AuditValue::Nested(v) => {
                assert_within(body, v, "a nested value");
                if depth > 0 {
                    walk(record_type, v, depth - 1);
                }
            }
        }
    }
}

fuzz_target!(|line: &[u8]| {
    match auditd::parse(line) {
        Ok(r) => {
            assert!(!r.record_type.is_empty() && !r.record_type.contains(&b' '));
            assert!(r.millis < 1000, "millis out of range");
            assert!(r.node.is_none_or(|n| !n.is_empty()), "empty node");
            assert!(!r.body.ends_with(b"\n") && !r.body.ends_with(b"\r"));
            assert!(
                !r.body.contains(&0x1d),
                "body runs past the enriched separator"
            );
            for field in [r.node, Some(r.record_type), Some(r.body)] {
                assert_within(line, field.unwrap_or_default(), "a header field");
            }
            walk(r.record_type, r.body, 3);
        }
        Err(e) => assert!(e.offset <= line.len(), "error offset past the line: {e}"),
    }
    walk(b"EXECVE", line, 3);
    let _ = syscalls::name(line, u64::from(line.first().copied().unwrap_or(0)));
});
