//! Fuzz target: `kv::pairs` (logfmt) and `kv::unescape` on arbitrary bytes.
#![no_main]

#[path = "checks/borrowed.rs"]
mod borrowed;

use std::borrow::Cow;

use borrowed::assert_within;
use libfuzzer_sys::fuzz_target;
use logferry_parsers::kv;

fuzz_target!(|line: &[u8]| {
    let mut pairs = kv::pairs(line);
    let mut count = 0usize;
    for pair in pairs.by_ref() {
        let pair = match pair {
            Ok(pair) => pair,
            Err(e) => {
                assert!(e.offset <= line.len(), "error offset past the line: {e}");
                break;
            }
        };
        count += 1;
        assert!(!pair.key.is_empty(), "empty key");
        assert!(
            !pair.key.iter().any(|c| b" \t=\"".contains(c)),
            "bad key byte"
        );
        assert_within(line, pair.key, "a key");
        assert_within(line, pair.value, "a value");
        if pair.quoted {
            let decoded = kv::unescape(pair.value);
            assert!(decoded.len() <= pair.value.len(), "unescape grew the value");
            if !pair.value.contains(&b'\\') {
                assert!(
                    matches!(decoded, Cow::Borrowed(_)),
                    "copied without an escape"
                );
            }
        } else {
            assert!(
                !pair.value.iter().any(|c| b" \t".contains(c)),
                "blank in a bare value"
            );
        }
    }
    // A pair takes at least two bytes (`k=`), and after an error the iterator stays ended.
    assert!(
        count <= line.len() / 2 + 1,
        "more pairs than the line can hold"
    );
    assert!(pairs.next().is_none(), "the iterator goes on after its end");
    assert!(kv::unescape(line).len() <= line.len());
});
