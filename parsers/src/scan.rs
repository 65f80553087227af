//! Small panic-free byte-scanning helpers shared by the parsers.

/// Removes every trailing `\r` and `\n` from `line`.
#[inline]
pub(crate) fn trim_eol(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while let Some(b'\r' | b'\n') = line.get(end.wrapping_sub(1)).copied() {
        end -= 1;
    }
    line.get(..end).unwrap_or(line)
}

/// Removes leading ASCII spaces.
#[inline]
pub(crate) fn trim_start_spaces(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ').count();
    b.get(n..).unwrap_or(&[])
}

/// Removes leading and trailing ASCII whitespace (space, tab, CR, LF).
#[inline]
pub(crate) fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Splits `b` at `i`, never panicking (an out-of-range `i` gives `(b, [])`).
#[inline]
pub(crate) fn split_at(b: &[u8], i: usize) -> (&[u8], &[u8]) {
    b.split_at_checked(i).unwrap_or((b, &[]))
}

/// The suffix of `b` from `i` (empty when `i` is past the end).
#[inline]
pub(crate) fn from(b: &[u8], i: usize) -> &[u8] {
    b.get(i..).unwrap_or(&[])
}

/// Parses a non-empty run of ASCII digits that fills all of `b` as a `u64`; `None` on overflow.
#[inline]
pub(crate) fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Like [`parse_u64`] but for a `u32`.
#[inline]
pub(crate) fn parse_u32(b: &[u8]) -> Option<u32> {
    parse_u64(b).and_then(|v| u32::try_from(v).ok())
}

/// Like [`parse_u64`] but for a `u16`.
#[inline]
pub(crate) fn parse_u16(b: &[u8]) -> Option<u16> {
    parse_u64(b).and_then(|v| u16::try_from(v).ok())
}

/// The leading run of ASCII digits of `b` and the rest.
#[inline]
pub(crate) fn leading_digits(b: &[u8]) -> (&[u8], &[u8]) {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    split_at(b, n)
}

/// Position of the first occurrence of `needle` in `hay`.
#[inline]
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// The token up to the first space (or the whole input) and the rest starting at that space.
#[inline]
pub(crate) fn token(b: &[u8]) -> (&[u8], &[u8]) {
    // Tokens are short: a plain loop costs less than `memchr`'s dispatch and set-up.
    match b.iter().position(|&c| c == b' ') {
        Some(i) => split_at(b, i),
        None => (b, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_line_ends() {
        assert_eq!(trim_eol(b"a\r\n"), b"a");
        assert_eq!(trim_eol(b"\r\n\n"), b"");
        assert_eq!(trim_eol(b""), b"");
        assert_eq!(trim_eol(b"a b"), b"a b");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"1a"), None);
        assert_eq!(parse_u16(b"65536"), None);
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(leading_digits(b"12ab"), (&b"12"[..], &b"ab"[..]));
    }

    #[test]
    fn splitting() {
        assert_eq!(split_at(b"ab", 5), (&b"ab"[..], &b""[..]));
        assert_eq!(from(b"ab", 5), b"");
        assert_eq!(token(b"ab cd"), (&b"ab"[..], &b" cd"[..]));
    }
}
