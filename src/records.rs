//! Splitting bytes into line records: LF-terminated, an optional CR before the LF dropped, empty
//! lines skipped (they carry nothing to normalise).

use memchr::memchr;

/// The complete lines of a buffer; bytes after the last LF are not yielded (see [`Lines::rest`]).
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Lines { data, pos: 0 }
    }

    /// The bytes after the last complete line: an unfinished record, or empty.
    pub fn rest(&self) -> &'a [u8] {
        let data = self.data;
        let end = memchr::memrchr(b'\n', data).map_or(0, |i| i + 1);
        &data[end.max(self.pos)..]
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let rest = &self.data[self.pos..];
            let newline = memchr(b'\n', rest)?;
            self.pos += newline + 1;
            let line = trim_cr(&rest[..newline]);
            if !line.is_empty() {
                return Some(line);
            }
        }
    }
}

/// `line` without one trailing CR.
pub fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_lines_only() {
        let data = b"a\r\n\nbb\nccc";
        let mut lines = Lines::new(data);
        assert_eq!(lines.next(), Some(&b"a"[..]));
        assert_eq!(lines.next(), Some(&b"bb"[..]));
        assert_eq!(lines.next(), None);
        assert_eq!(lines.rest(), b"ccc");
        assert_eq!(Lines::new(b"x\n").rest(), b"");
        assert_eq!(Lines::new(b"no newline").rest(), b"no newline");
    }
}
