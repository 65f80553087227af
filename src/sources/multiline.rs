//! Multi-line framing: groups LF-terminated lines into records that begin at a line matching a start
//! rule (a Java stack trace joins the log line it belongs to). Pure: no I/O, no clock.
//!
//! The framer works on a caller-held buffer: each call gets the bytes not yet consumed followed by new
//! ones, reports the records it completed as ranges of that buffer, and says how many leading bytes
//! it consumed. The open record (and an unfinished last line) are never consumed, so a caller that
//! checkpoints only consumed bytes re-reads a pending record after a restart instead of losing it.
//! Lines before the first start line form a record of their own. A record longer than the maximum is
//! cut to it and flagged truncated; its remaining lines are skipped up to the next start line.

use memchr::memchr;
use regex::bytes::Regex;

use super::tail::Record;
use crate::config::Format;

/// What makes a line the first of a record.
#[derive(Debug, Clone)]
pub enum StartRule {
    /// The built-in rule: the line begins with a timestamp of a known Java layout
    /// ([`logferry_parsers::java::starts_record`]).
    JavaTimestamp,
    /// A user's `multiline_start` regex, matched against the line without its line end.
    Pattern(Regex),
}

impl StartRule {
    /// The rule of a source: its `multiline_start` pattern, else the built-in rule for `java`;
    /// `None` when the source reads one record per line.
    pub fn for_source(format: Format, pattern: Option<&Regex>) -> Option<StartRule> {
        match (pattern, format) {
            (Some(pattern), _) => Some(StartRule::Pattern(pattern.clone())),
            (None, Format::Java) => Some(StartRule::JavaTimestamp),
            (None, _) => None,
        }
    }

    /// Whether `line` (without its line end) starts a record.
    pub fn matches(&self, line: &[u8]) -> bool {
        match self {
            StartRule::JavaTimestamp => logferry_parsers::java::starts_record(line),
            StartRule::Pattern(regex) => regex.is_match(line),
        }
    }
}

/// Groups lines into multi-line records; see the module documentation for the buffer protocol.
///
/// Invariants between calls: when `open`, the held buffer begins with the open record,
/// `scanned` ≤ held length is the end of its last complete line (after the LF) and
/// `content_end` ≤ `scanned` the end of its last non-empty line; `skip_to_lf` implies `discarding`.
#[derive(Debug, Clone)]
pub struct MultilineFramer {
    start: StartRule,
    max_record: usize,
    open: bool,
    scanned: usize,
    content_end: usize,
    /// An over-long record was cut: its lines are skipped up to the next start line.
    discarding: bool,
    /// Inside an over-long line that is being skipped: nothing counts until its LF.
    skip_to_lf: bool,
}

/// One pass over a buffer; positions are offsets into that buffer.
struct Scan<'r> {
    records: &'r mut Vec<Record>,
    /// Bytes consumed so far: the start of the open record, or of the next line.
    consumed: usize,
    /// The end of the open record's last non-empty line (the record starts at `consumed`).
    content_end: usize,
}

impl Scan<'_> {
    fn emit(&mut self, end: usize, truncated: bool) {
        self.records.push(Record {
            bytes: self.consumed..end,
            truncated,
        });
    }
}

impl MultilineFramer {
    /// A framer cutting records longer than `max_record` bytes (at least 1).
    pub fn new(start: StartRule, max_record: usize) -> Self {
        MultilineFramer {
            start,
            max_record: max_record.max(1),
            open: false,
            scanned: 0,
            content_end: 0,
            discarding: false,
            skip_to_lf: false,
        }
    }

    /// True while a record is open: complete lines are held waiting for the next start line.
    pub fn has_open_record(&self) -> bool {
        self.open
    }

    /// True when the framer holds no state between records: a reader may start again from the
    /// offset handed on so far with a fresh framer and get the same records.
    pub fn holds_nothing(&self) -> bool {
        !self.open && !self.discarding
    }

    /// Frames `data` (the bytes held from the last call, then new ones); pushes completed records
    /// (ranges of `data`) and returns how many leading bytes are consumed. The caller passes
    /// `data[consumed..]` again at the front of the next call.
    pub fn frame(&mut self, data: &[u8], records: &mut Vec<Record>) -> usize {
        let mut scan = self.begin(records);
        let pos = self.complete_lines(data, &mut scan);
        if data.len() - pos > self.max_record {
            self.overlong_line(data, pos, &mut scan);
            return data.len();
        }
        self.hold(pos, &scan)
    }

    /// Hands on the open record's complete lines (the source has been quiet); an unfinished last
    /// line stays held. `data` is the held buffer; returns how many leading bytes are consumed.
    pub fn flush_open(&mut self, data: &[u8], records: &mut Vec<Record>) -> usize {
        if !self.open || self.scanned > data.len() {
            return 0;
        }
        let mut scan = self.begin(records);
        scan.emit(scan.content_end, false);
        self.open = false;
        scan.consumed = self.scanned;
        self.hold(self.scanned, &scan)
    }

    /// Hands on everything held, an unfinished last line counting as complete (the input has
    /// ended); consumes all of `data` and leaves the framer as new.
    pub fn finish(&mut self, data: &[u8], records: &mut Vec<Record>) -> usize {
        let mut scan = self.begin(records);
        let pos = self.complete_lines(data, &mut scan);
        if pos < data.len() && !self.skip_to_lf {
            self.line(data, pos, data.len(), &mut scan);
        }
        if self.open {
            scan.emit(scan.content_end, false);
        }
        *self = MultilineFramer::new(self.start.clone(), self.max_record);
        data.len()
    }

    fn begin<'r>(&self, records: &'r mut Vec<Record>) -> Scan<'r> {
        Scan {
            records,
            consumed: 0,
            content_end: self.content_end,
        }
    }

    /// Saves the state for the next call, whose buffer starts at `scan.consumed`; returns that.
    fn hold(&mut self, pos: usize, scan: &Scan<'_>) -> usize {
        let base = scan.consumed;
        self.scanned = pos.saturating_sub(base);
        self.content_end = scan.content_end.saturating_sub(base);
        base
    }

    /// Takes every complete line of `data`; returns the position after the last one.
    fn complete_lines(&mut self, data: &[u8], scan: &mut Scan<'_>) -> usize {
        let mut pos = if self.open { self.scanned } else { 0 };
        if self.skip_to_lf {
            let Some(lf) = memchr(b'\n', data) else {
                scan.consumed = data.len();
                return data.len();
            };
            self.skip_to_lf = false;
            pos = lf + 1;
            scan.consumed = pos;
        }
        while let Some(len) = data.get(pos..).and_then(|rest| memchr(b'\n', rest)) {
            self.line(data, pos, pos + len, scan);
            pos += len + 1;
            if !self.open {
                scan.consumed = pos;
            }
        }
        pos
    }

    /// Takes the line `data[start..end]` (without its LF).
    fn line(&mut self, data: &[u8], start: usize, end: usize, scan: &mut Scan<'_>) {
        let line = data.get(start..end).unwrap_or_default();
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        let starts = !content.is_empty() && self.start.matches(content);
        if self.discarding && !starts {
            return;
        }
        self.discarding = false;
        if starts || !self.open {
            if self.open {
                scan.emit(scan.content_end, false);
                self.open = false;
            }
            if content.is_empty() {
                return;
            }
            scan.consumed = start;
            self.open = true;
        }
        if !content.is_empty() {
            scan.content_end = start + content.len();
        }
        if scan.content_end.saturating_sub(scan.consumed) > self.max_record {
            scan.emit(scan.consumed + self.max_record, true);
            self.open = false;
            self.discarding = true;
        }
    }

    /// The unfinished line at `pos` is longer than a record may be: cut it (or the record it
    /// continues) and skip the rest of it.
    fn overlong_line(&mut self, data: &[u8], pos: usize, scan: &mut Scan<'_>) {
        let prefix = data.get(pos..pos + self.max_record).unwrap_or_default();
        let starts = self.start.matches(prefix);
        if starts || (!self.open && !self.discarding) {
            if self.open {
                scan.emit(scan.content_end, false);
            }
            scan.consumed = pos;
            scan.emit(pos + self.max_record, true);
        } else if self.open {
            scan.emit(scan.consumed + self.max_record, true);
        }
        self.open = false;
        self.discarding = true;
        self.skip_to_lf = true;
        self.scanned = 0;
        self.content_end = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TRACE: &str = "2026-11-26 10:15:30,123 ERROR [main] a.B - failed\njava.io.IOException: x\n\tat a.B.c(B.java:1)\n";
    const NEXT: &str = "2026-11-26 10:15:31,000 INFO [main] a.B - next\n";

    /// Feeds `pieces` one read at a time as a file source does, then finishes; the records' texts.
    fn frame_pieces(framer: &mut MultilineFramer, pieces: &[&[u8]]) -> Vec<(String, bool)> {
        let (mut held, mut out) = (Vec::new(), Vec::new());
        let mut take = |held: &mut Vec<u8>, records: &[Record], consumed: usize| {
            for r in records {
                out.push((
                    String::from_utf8_lossy(&held[r.bytes.clone()]).into_owned(),
                    r.truncated,
                ));
            }
            held.drain(..consumed);
        };
        for piece in pieces {
            held.extend_from_slice(piece);
            let mut records = Vec::new();
            let consumed = framer.frame(&held, &mut records);
            take(&mut held, &records, consumed);
        }
        let mut records = Vec::new();
        let consumed = framer.finish(&held, &mut records);
        take(&mut held, &records, consumed);
        out
    }

    fn java(max: usize) -> MultilineFramer {
        MultilineFramer::new(StartRule::JavaTimestamp, max)
    }

    fn texts(records: &[(String, bool)]) -> Vec<&str> {
        records.iter().map(|(t, _)| t.as_str()).collect()
    }

    #[test]
    fn joins_a_trace_to_its_line_and_holds_the_open_record() {
        let data = format!("{TRACE}{NEXT}");
        let mut framer = java(1 << 20);
        let mut records = Vec::new();
        let consumed = framer.frame(data.as_bytes(), &mut records);
        assert_eq!(records.len(), 1);
        assert_eq!(&data[records[0].bytes.clone()], TRACE.trim_end());
        assert_eq!(consumed, TRACE.len(), "the open record is not consumed");
        assert!(framer.has_open_record());
    }

    #[test]
    fn a_record_split_across_reads_is_joined() {
        let whole = format!("{TRACE}{NEXT}");
        let pieces: Vec<&[u8]> = whole.as_bytes().chunks(7).collect();
        let got = frame_pieces(&mut java(1 << 20), &pieces);
        assert_eq!(texts(&got), [TRACE.trim_end(), NEXT.trim_end()]);
    }

    #[test]
    fn lines_before_the_first_start_line_are_a_record() {
        let data = format!("\tat x.Y.z(Y.java:3)\n... 2 more\n\n{TRACE}");
        let got = frame_pieces(&mut java(1 << 20), &[data.as_bytes()]);
        assert_eq!(
            texts(&got),
            ["\tat x.Y.z(Y.java:3)\n... 2 more", TRACE.trim_end()]
        );
    }

    #[test]
    fn blank_lines_and_crs_around_records() {
        let data = "\n\r\n2026-11-26 10:15:30,123 INFO [m] a.B - one\r\n\tat x\r\n\r\n2026-11-26 10:15:30,124 INFO [m] a.B - two\r\n";
        let got = frame_pieces(&mut java(1 << 20), &[data.as_bytes()]);
        assert_eq!(
            texts(&got),
            [
                "2026-11-26 10:15:30,123 INFO [m] a.B - one\r\n\tat x",
                "2026-11-26 10:15:30,124 INFO [m] a.B - two"
            ]
        );
    }

    #[test]
    fn an_overlong_record_is_cut_and_its_rest_skipped() {
        let data = format!("{TRACE}\tat more.Frames(F.java:1)\n\tat more.Frames(F.java:2)\n{NEXT}");
        let got = frame_pieces(&mut java(60), &[data.as_bytes()]);
        assert_eq!(
            got,
            [
                (TRACE[..60].to_string(), true),
                (NEXT.trim_end().to_string(), false)
            ]
        );
    }

    #[test]
    fn an_overlong_unfinished_line_is_cut() {
        let long = "x".repeat(100);
        let mut framer = java(64);
        let data = format!("{NEXT}{long}");
        let got = frame_pieces(
            &mut framer,
            &[data.as_bytes(), b"yyy\nmore\n", NEXT.as_bytes()],
        );
        let cut = format!("{NEXT}{}", "x".repeat(64 - NEXT.len()));
        assert_eq!(
            got,
            [(cut, true), (NEXT.trim_end().to_string(), false)],
            "the long line continues the open record, which is cut; its rest is skipped"
        );
        let got = frame_pieces(&mut java(64), &[long.as_bytes(), b"\n", NEXT.as_bytes()]);
        assert_eq!(
            got,
            [
                (long[..64].to_string(), true),
                (NEXT.trim_end().to_string(), false)
            ]
        );
    }

    #[test]
    fn flushing_an_open_record_keeps_the_unfinished_line() {
        let data = format!("{TRACE}2026-11-26 10:15");
        let mut framer = java(1 << 20);
        let mut records = Vec::new();
        let consumed = framer.frame(data.as_bytes(), &mut records);
        assert_eq!((records.len(), consumed), (0, 0));
        let consumed = framer.flush_open(data.as_bytes(), &mut records);
        assert_eq!(consumed, TRACE.len());
        assert_eq!(&data[records[0].bytes.clone()], TRACE.trim_end());
        assert!(!framer.has_open_record());
        assert_eq!(
            framer.flush_open(&data.as_bytes()[consumed..], &mut records),
            0
        );
    }

    #[test]
    fn a_pattern_rule() {
        let rule = StartRule::Pattern(Regex::new(r"^\[\d+\]").unwrap());
        let got = frame_pieces(
            &mut MultilineFramer::new(rule, 1 << 20),
            &[b"[1] a\n  b\n[2] c\n"],
        );
        assert_eq!(texts(&got), ["[1] a\n  b", "[2] c"]);
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("2026-11-26 10:15:30,123 ERROR [main] a.B - failed".to_string()),
            Just("\tat a.B.c(B.java:1)".to_string()),
            Just(String::new()),
            Just("\r".to_string()),
            "[ -~]{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..300),
                        cuts in proptest::collection::vec(0usize..300, 0..6),
                        max in 1usize..80) {
            let mut cuts = cuts;
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut at = 0;
            for cut in cuts {
                let cut = cut.min(data.len());
                pieces.push(&data[at.min(cut)..cut]);
                at = at.max(cut);
            }
            pieces.push(&data[at..]);
            let mut framer = java(max);
            let _ = frame_pieces(&mut framer, &pieces);
            let mut records = Vec::new();
            let _ = framer.flush_open(&data, &mut records);
        }

        #[test]
        fn reads_of_any_size_give_the_same_records(lines in proptest::collection::vec(line(), 0..12),
                                                   size in 1usize..40) {
            let data = lines.join("\n");
            let whole = frame_pieces(&mut java(1 << 20), &[data.as_bytes()]);
            let pieces: Vec<&[u8]> = data.as_bytes().chunks(size).collect();
            prop_assert_eq!(frame_pieces(&mut java(1 << 20), &pieces), whole);
        }
    }
}
