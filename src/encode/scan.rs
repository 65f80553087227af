//! Byte checks over whole values for the `kv` payload and the RFC 5424 header: which values can be
//! written bare, which need escaping, which header fields are printable.
//!
//! Values of 16 bytes or more are checked a 16-byte window at a time: the predicate over one
//! `[u8; 16]` is written with one accumulator per byte class, which LLVM compiles to a few SSE2
//! compares and ORs (one accumulator for the whole predicate is turned into bit tests that do not
//! vectorise), and the loop over windows exits early, which also keeps LLVM from vectorising
//! *across* windows instead (a gather per byte). The bytes after the last whole window are checked
//! as the last 16 bytes of the value, overlapping the window before: an all-bytes check does not
//! mind seeing a byte twice. Shorter values (most field values are 3–15 bytes) are folded through a
//! 256-entry table, which measured cheaper than padding them into a window.

/// A `kv` flag: the byte is outside `[A-Za-z0-9._:/@+-]`, so a value holding it is quoted.
pub const NOT_BARE: u8 = 1;
/// A `kv` flag: the byte must be escaped inside quotes (`"`, `\`, control characters: below 0x20
/// and 0x7f). Every such byte is also `NOT_BARE`.
pub const ESCAPE: u8 = 2;

/// The `kv` flags of a byte, the definition the window predicates below must agree with.
const fn kv_byte_flags(b: u8) -> u8 {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit_or_colon = b.wrapping_sub(b'0') < 11;
    let dash_dot_slash = b.wrapping_sub(b'-') < 3;
    let bare = letter | digit_or_colon | dash_dot_slash | (b == b'_') | (b == b'@') | (b == b'+');
    let escape = (b < 0x20) | (b == 0x7f) | (b == b'"') | (b == b'\\');
    (!bare as u8) | ((escape as u8) << 1)
}

/// [`kv_byte_flags`] of every byte value.
const KV_FLAGS: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = kv_byte_flags(b as u8);
        b += 1;
    }
    table
};

/// The `kv` flags of all bytes of `bytes`, ORed (0 for an empty slice).
pub fn kv_flags(bytes: &[u8]) -> u8 {
    if bytes.len() < 16 {
        bytes
            .iter()
            .fold(0, |flags, &b| flags | KV_FLAGS[usize::from(b)])
    } else if all_windows(bytes, bare_window) {
        0
    } else if all_windows(bytes, escape_free_window) {
        NOT_BARE
    } else {
        NOT_BARE | ESCAPE
    }
}

/// The `NOT_BARE` flag of `bytes` (as [`kv_flags`] without its escape check), for bytes known to
/// hold nothing to escape.
pub fn bare_flags(bytes: &[u8]) -> u8 {
    if bytes.len() < 16 {
        kv_flags(bytes) & NOT_BARE
    } else if all_windows(bytes, bare_window) {
        0
    } else {
        NOT_BARE
    }
}

/// How many leading bytes of `bytes` need no escaping inside `kv` quotes.
pub fn escape_free_prefix(bytes: &[u8]) -> usize {
    let mut done = 0;
    for chunk in bytes.chunks_exact(16) {
        if !escape_free_window(&window(chunk)) {
            break;
        }
        done += 16;
    }
    done + bytes[done..]
        .iter()
        .position(|&b| KV_FLAGS[usize::from(b)] & ESCAPE != 0)
        .unwrap_or(bytes.len() - done)
}

/// Whether `b` is printable US-ASCII (33..=126), as RFC 5424 header fields must be.
pub const fn is_printable(b: u8) -> bool {
    b.wrapping_sub(33) < 126 - 33 + 1
}

/// Whether every byte of `bytes` is printable (see [`is_printable`]).
pub fn all_printable(bytes: &[u8]) -> bool {
    if bytes.len() < 16 {
        bytes.iter().all(|&b| is_printable(b))
    } else {
        all_windows(bytes, |w| {
            w.iter().fold(true, |all, &b| all & is_printable(b))
        })
    }
}

/// Every byte of the window is bare (no `NOT_BARE` flag).
#[inline(always)]
fn bare_window(window: &[u8; 16]) -> bool {
    window.iter().fold(true, |all, &b| {
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit_or_colon = b.wrapping_sub(b'0') < 11;
        let dash_dot_slash = b.wrapping_sub(b'-') < 3;
        all & (letter | digit_or_colon | dash_dot_slash | (b == b'_') | (b == b'@') | (b == b'+'))
    })
}

/// No byte of the window has the `ESCAPE` flag.
#[inline(always)]
fn escape_free_window(window: &[u8; 16]) -> bool {
    let (mut control, mut quote, mut backslash, mut delete) = (false, false, false, false);
    for &b in window {
        control |= b < 0x20;
        quote |= b == b'"';
        backslash |= b == b'\\';
        delete |= b == 0x7f;
    }
    !(control | quote | backslash | delete)
}

/// Whether `check` holds for every 16-byte window of `bytes` (at least 16 bytes long): the whole
/// chunks, then the last 16 bytes when the length is not a multiple of 16.
#[inline(always)]
fn all_windows(bytes: &[u8], check: impl Fn(&[u8; 16]) -> bool) -> bool {
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        if !check(&window(chunk)) {
            return false;
        }
    }
    chunks.remainder().is_empty() || check(&window(&bytes[bytes.len() - 16..]))
}

/// A 16-byte chunk as an array (the copy compiles to one unaligned vector load).
#[inline(always)]
fn window(chunk: &[u8]) -> [u8; 16] {
    let mut window = [0; 16];
    window.copy_from_slice(chunk);
    window
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The checks one byte at a time, from the per-byte definitions.
    fn reference_flags(bytes: &[u8]) -> u8 {
        bytes.iter().fold(0, |flags, &b| flags | kv_byte_flags(b))
    }

    #[test]
    fn byte_classes() {
        for b in 0..=255u8 {
            let flags = kv_byte_flags(b);
            let bare = b.is_ascii_alphanumeric() || b"._:/@+-".contains(&b);
            assert_eq!(flags & NOT_BARE == 0, bare, "{b:#x}");
            let escape = b < 0x20 || b == 0x7f || b == b'"' || b == b'\\';
            assert_eq!(flags & ESCAPE != 0, escape, "{b:#x}");
            assert_eq!(is_printable(b), (33..=126).contains(&b), "{b:#x}");
        }
    }

    #[test]
    fn every_byte_in_every_window_position() {
        // Each byte value at each position of values whose lengths put it in a whole window, in the
        // overlapping last window, or in the table-folded short form.
        for len in [1, 15, 16, 17, 31, 32, 33] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut value = vec![b'a'; len];
                    value[at] = b;
                    assert_eq!(
                        kv_flags(&value),
                        kv_byte_flags(b),
                        "{b:#x} at {at} of {len}"
                    );
                    assert_eq!(all_printable(&value), is_printable(b), "{b:#x} at {at}");
                    let prefix = if kv_byte_flags(b) & ESCAPE != 0 {
                        at
                    } else {
                        len
                    };
                    assert_eq!(escape_free_prefix(&value), prefix, "{b:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn edge_cases() {
        assert_eq!(kv_flags(b""), 0);
        assert!(all_printable(b""));
        assert_eq!(escape_free_prefix(b""), 0);
        assert_eq!(kv_flags("æøå".as_bytes()), NOT_BARE);
        assert_eq!(kv_flags(b"/var/log/apache2/access.log"), 0);
        assert_eq!(kv_flags(b"say \"hi\" to everyone here"), NOT_BARE | ESCAPE);
        assert_eq!(escape_free_prefix(b"0123456789abcdefghij\\"), 20);
        assert!(!all_printable("web01.example.dk and ø".as_bytes()));
    }

    proptest! {
        #[test]
        fn windows_agree_with_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(kv_flags(&bytes), reference_flags(&bytes));
            prop_assert_eq!(bare_flags(&bytes), reference_flags(&bytes) & NOT_BARE);
            prop_assert_eq!(all_printable(&bytes), bytes.iter().all(|&b| is_printable(b)));
            let prefix = bytes.iter().position(|&b| kv_byte_flags(b) & ESCAPE != 0);
            prop_assert_eq!(escape_free_prefix(&bytes), prefix.unwrap_or(bytes.len()));
        }

        #[test]
        fn windows_agree_on_mostly_bare_text(text in "[a-z0-9./ \"\\\\\t\u{7f}é-]{0,70}") {
            let bytes = text.as_bytes();
            prop_assert_eq!(kv_flags(bytes), reference_flags(bytes));
            let prefix = bytes.iter().position(|&b| kv_byte_flags(b) & ESCAPE != 0);
            prop_assert_eq!(escape_free_prefix(bytes), prefix.unwrap_or(bytes.len()));
        }
    }
}
