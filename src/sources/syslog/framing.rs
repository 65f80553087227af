//! Cutting a syslog TCP/TLS stream into messages: octet counting (RFC 6587 §3.4.1, RFC 5425) or LF
//! framing, detected from the connection's first byte (a digit: octet counting).
//!
//! A message longer than the maximum is cut: its first `max` bytes become a record flagged truncated
//! and the rest is skipped, so one huge message can neither stall the connection nor exhaust memory.
//! A broken octet count (not digits and a space) cannot be resynchronised: it is an error, and the
//! listener closes the connection.

use memchr::memchr;

use crate::sources::tail::Record;

/// Longest octet count accepted (10 digits: more than any message size we allow).
const MAX_COUNT_DIGITS: usize = 10;

/// How a connection frames its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lf,
    OctetCounting,
}

/// A broken octet-counting header.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bad octet-counting frame header {0:?}")]
pub struct BadFrame(pub String);

/// The framing state of one connection.
#[derive(Debug)]
pub struct Framer {
    mode: Option<Mode>,
    max: usize,
    /// LF framing: inside an over-long line, skip to its LF.
    discarding: bool,
    /// Octet counting: bytes of an over-long message still to skip.
    skip: usize,
}

impl Framer {
    /// A framer for a new connection; messages longer than `max` bytes are cut.
    pub fn new(max: usize) -> Self {
        Framer {
            mode: None,
            max,
            discarding: false,
            skip: 0,
        }
    }

    /// Cuts the complete messages at the start of `data` into `records` (ranges into `data`) and
    /// returns how many bytes they and their framing took; the rest is an unfinished message to be
    /// completed by the next read.
    pub fn cut(&mut self, data: &[u8], records: &mut Vec<Record>) -> Result<usize, BadFrame> {
        let mode = match self.mode {
            Some(mode) => mode,
            None => match data.iter().find(|b| !matches!(b, b'\n' | b'\r')) {
                Some(b) if b.is_ascii_digit() => *self.mode.insert(Mode::OctetCounting),
                Some(_) => *self.mode.insert(Mode::Lf),
                None => return Ok(data.len()),
            },
        };
        match mode {
            Mode::Lf => Ok(self.cut_lines(data, records)),
            Mode::OctetCounting => self.cut_counted(data, records),
        }
    }

    /// The end of the stream: an unfinished LF-framed message still counts (some senders do not end
    /// the last one); an unfinished octet-counted one is incomplete and dropped.
    pub fn finish(&mut self, rest: &[u8], records: &mut Vec<Record>) {
        if self.mode == Some(Mode::Lf) && !self.discarding {
            push(records, rest, 0..rest.len(), self.max, false);
        }
    }

    fn cut_lines(&mut self, data: &[u8], records: &mut Vec<Record>) -> usize {
        let mut pos = 0;
        if self.discarding {
            match memchr(b'\n', data) {
                Some(lf) => {
                    self.discarding = false;
                    pos = lf + 1;
                }
                None => return data.len(),
            }
        }
        while let Some(lf) = memchr(b'\n', &data[pos..]) {
            push(records, data, pos..pos + lf, self.max, false);
            pos += lf + 1;
        }
        if data.len() - pos > self.max {
            push(records, data, pos..data.len(), self.max, false);
            self.discarding = true;
            return data.len();
        }
        pos
    }

    fn cut_counted(&mut self, data: &[u8], records: &mut Vec<Record>) -> Result<usize, BadFrame> {
        let mut pos = self.skip.min(data.len());
        self.skip -= pos;
        loop {
            while pos < data.len() && matches!(data[pos], b'\n' | b'\r') {
                pos += 1;
            }
            let header = &data[pos..];
            let digits = header.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == header.len() && digits <= MAX_COUNT_DIGITS {
                return Ok(pos);
            }
            if digits == 0 || digits > MAX_COUNT_DIGITS || header[digits] != b' ' {
                let shown = &header[..header.len().min(16)];
                return Err(BadFrame(String::from_utf8_lossy(shown).into_owned()));
            }
            let count: usize = std::str::from_utf8(&header[..digits])
                .ok()
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| BadFrame(String::from_utf8_lossy(&header[..digits]).into()))?;
            let start = pos + digits + 1;
            let available = data.len() - start;
            if count <= self.max {
                if available < count {
                    return Ok(pos);
                }
                push(records, data, start..start + count, self.max, false);
                pos = start + count;
            } else {
                if available < self.max {
                    return Ok(pos);
                }
                push(records, data, start..start + self.max, self.max, true);
                let taken = available.min(count);
                self.skip = count - taken;
                pos = start + taken;
            }
        }
    }
}

/// Adds `range` of `data` as a record, without trailing CR/LF, cut at `max` (flagged truncated then,
/// or when `cut` says the range was already cut); empty ones are skipped.
fn push(
    records: &mut Vec<Record>,
    data: &[u8],
    range: std::ops::Range<usize>,
    max: usize,
    cut: bool,
) {
    let mut end = range.end;
    while end > range.start && matches!(data[end - 1], b'\n' | b'\r' | b'\0') {
        end -= 1;
    }
    if end == range.start {
        return;
    }
    let truncated = cut || end - range.start > max;
    records.push(Record {
        bytes: range.start..end.min(range.start + max),
        truncated,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(framer: &mut Framer, pieces: &[&[u8]]) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let mut pending = Vec::new();
        for piece in pieces {
            pending.extend_from_slice(piece);
            let mut records = Vec::new();
            let used = framer.cut(&pending, &mut records).unwrap();
            for r in &records {
                let text = String::from_utf8_lossy(&pending[r.bytes.clone()]).into_owned();
                out.push((text, r.truncated));
            }
            pending.drain(..used);
        }
        let mut records = Vec::new();
        framer.finish(&pending, &mut records);
        for r in &records {
            out.push((
                String::from_utf8_lossy(&pending[r.bytes.clone()]).into(),
                r.truncated,
            ));
        }
        out
    }

    fn plain(texts: &[&str]) -> Vec<(String, bool)> {
        texts.iter().map(|t| (t.to_string(), false)).collect()
    }

    #[test]
    fn lf_frames_across_reads_and_at_the_end() {
        let mut framer = Framer::new(100);
        let got = messages(&mut framer, &[b"<13>a\r\n<13>b", b"c\n\n<14>d"]);
        assert_eq!(got, plain(&["<13>a", "<13>bc", "<14>d"]));
    }

    #[test]
    fn octet_counted_frames_across_reads() {
        let mut framer = Framer::new(100);
        let got = messages(&mut framer, &[b"5 <13>a6 <13>b", b"c", b"\n3 xyz"]);
        assert_eq!(got, plain(&["<13>a", "<13>bc", "xyz"]));
    }

    #[test]
    fn long_messages_are_cut_in_both_framings() {
        let mut lf = Framer::new(4);
        let got = messages(&mut lf, &[b"<1>abcdef", b"gh\n<2>x\n"]);
        assert_eq!(got, vec![("<1>a".into(), true), ("<2>x".into(), false)]);
        let mut counted = Framer::new(4);
        let got = messages(&mut counted, &[b"9 <1>ab", b"cdef3 <2>"]);
        assert_eq!(got, vec![("<1>a".into(), true), ("<2>".into(), false)]);
    }

    #[test]
    fn broken_octet_count_is_an_error() {
        let mut framer = Framer::new(100);
        let mut records = Vec::new();
        assert!(framer.cut(b"12x <13>a", &mut records).is_err());
        let mut framer = Framer::new(100);
        assert_eq!(
            framer.cut(b"12345678901 x", &mut records).map_err(|_| ()),
            Err(())
        );
    }
}
