//! `FileTail`: one open file being read, cut into line records.
//!
//! The tail reads by position (`pread`) from the file descriptor it opened, so a rename or unlink of the
//! path does not disturb it: a rotated file is read to its end through the old descriptor. Cutting the
//! bytes into records (lines, over-long lines, multi-line records, the unfinished last one) is the
//! [`LineFramer`]'s job.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::Instant;

use super::lines::LineFramer;
use super::multiline::MultilineFramer;
use crate::checkpoint::FileId;

/// How much one read takes from a file.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// One record inside a [`Chunk`]'s data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub bytes: Range<usize>,
    /// Cut at the maximum line length.
    pub truncated: bool,
}

/// What one read produced: records inside `data`, and the file bytes they account for.
///
/// Invariant: `file_range` covers exactly the bytes consumed (the records, their line ends, empty lines
/// and skipped tails of over-long lines), so delivering every record of the chunk makes the whole range
/// delivered.
#[derive(Debug, Default)]
pub struct Chunk {
    pub data: Vec<u8>,
    pub records: Vec<Record>,
    pub file_range: Range<u64>,
}

/// An open file being read.
#[derive(Debug)]
pub struct FileTail {
    pub id: FileId,
    /// The path it was last seen under.
    pub path: PathBuf,
    pub epoch: u32,
    file: File,
    /// The next file position to read.
    read_pos: u64,
    /// Cuts what is read into records; knows the position handed on so far.
    framer: LineFramer,
    /// When a read last found new bytes.
    last_data: Instant,
}

impl FileTail {
    /// A tail of `file` starting at byte `offset`; records are lines, or multi-line records when
    /// `multiline` is given (its maximum record length should be `max_line`).
    pub fn new(
        id: FileId,
        path: PathBuf,
        file: File,
        offset: u64,
        max_line: usize,
        multiline: Option<MultilineFramer>,
    ) -> Self {
        FileTail {
            id,
            path,
            epoch: 0,
            file,
            read_pos: offset,
            framer: LineFramer::new(offset, max_line, multiline),
            last_data: Instant::now(),
        }
    }

    /// The position up to which the file has been handed on.
    pub fn offset(&self) -> u64 {
        self.framer.offset()
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The file's current length through the open descriptor.
    pub fn file_len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// True once everything the file holds has been read.
    pub fn at_end(&self) -> io::Result<bool> {
        Ok(self.file_len()? <= self.read_pos)
    }

    /// True when the file is now shorter than what was read: it was truncated (copytruncate).
    pub fn truncated(&self) -> io::Result<bool> {
        Ok(self.file_len()? < self.read_pos)
    }

    /// Reads up to [`CHUNK_BYTES`] into `chunk` (whose buffers are reused); false at the end of the file.
    pub fn read(&mut self, chunk: &mut Chunk) -> io::Result<bool> {
        let held = self.framer.begin(chunk);
        chunk.data.resize(held + CHUNK_BYTES, 0);
        let n = loop {
            match self.file.read_at(&mut chunk.data[held..], self.read_pos) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    chunk.data.truncate(held);
                    return Err(e);
                }
            }
        };
        chunk.data.truncate(held + n);
        if n == 0 {
            return Ok(false);
        }
        self.read_pos += n as u64;
        self.last_data = Instant::now();
        self.framer.frame(chunk);
        Ok(true)
    }

    /// Hands on the held unfinished line as a record of its own: the file will not grow any more
    /// (it was rotated away, deleted or truncated). Empty when nothing is held.
    pub fn flush_partial(&mut self, chunk: &mut Chunk) {
        self.framer.flush_partial(chunk);
    }

    /// When the pending multi-line record got its last bytes; `None` when nothing is pending.
    pub fn pending_since(&self) -> Option<Instant> {
        self.framer.has_open_record().then_some(self.last_data)
    }

    /// Hands on the pending multi-line record (the file has been quiet): its complete lines become a
    /// record; an unfinished last line stays held. Empty when nothing is pending.
    pub fn flush_quiet(&mut self, chunk: &mut Chunk) {
        self.framer.flush_quiet(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tail_of(bytes: &[u8], max_line: usize) -> (tempfile::NamedTempFile, FileTail) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let id = FileId {
            dev: 0,
            ino: 0,
            fingerprint: 0,
        };
        let tail = FileTail::new(id, f.path().into(), f.reopen().unwrap(), 0, max_line, None);
        (f, tail)
    }

    fn texts(chunk: &Chunk) -> Vec<(String, bool)> {
        chunk
            .records
            .iter()
            .map(|r| {
                (
                    String::from_utf8_lossy(&chunk.data[r.bytes.clone()]).into_owned(),
                    r.truncated,
                )
            })
            .collect()
    }

    #[test]
    fn holds_the_unfinished_line_until_its_newline() {
        let (mut f, mut tail) = tail_of(b"one\r\n\ntwo\nthr", 100);
        let mut chunk = Chunk::default();
        assert!(tail.read(&mut chunk).unwrap());
        assert_eq!(
            texts(&chunk),
            [("one".into(), false), ("two".into(), false)]
        );
        assert_eq!(chunk.file_range, 0..10);
        assert!(!tail.read(&mut chunk).unwrap());
        f.write_all(b"ee\n").unwrap();
        assert!(tail.read(&mut chunk).unwrap());
        assert_eq!(texts(&chunk), [("three".into(), false)]);
        assert_eq!(chunk.file_range, 10..16);
    }

    #[test]
    fn cuts_long_lines_and_skips_their_rest() {
        let (mut f, mut tail) = tail_of(b"0123456789abc\nok\n0123456789", 8);
        let mut chunk = Chunk::default();
        assert!(tail.read(&mut chunk).unwrap());
        assert_eq!(
            texts(&chunk),
            [
                ("01234567".into(), true),
                ("ok".into(), false),
                ("01234567".into(), true)
            ]
        );
        assert_eq!(chunk.file_range, 0..27, "the cut tail counts as consumed");
        f.write_all(b"still the same line\nnext\n").unwrap();
        assert!(tail.read(&mut chunk).unwrap());
        assert_eq!(texts(&chunk), [("next".into(), false)]);
        assert_eq!(tail.offset(), 52);
    }

    #[test]
    fn flushes_the_last_line_when_the_file_is_finished() {
        let (_f, mut tail) = tail_of(b"a\nlast words", 100);
        let mut chunk = Chunk::default();
        tail.read(&mut chunk).unwrap();
        tail.flush_partial(&mut chunk);
        assert_eq!(texts(&chunk), [("last words".into(), false)]);
        assert_eq!(chunk.file_range, 2..12);
    }
}

#[cfg(test)]
mod multiline_tests {
    use super::*;
    use crate::sources::multiline::StartRule;
    use std::io::Write;

    const FIRST: &str = "2026-11-26 10:15:30,123 ERROR [main] a.B - failed\n";
    const TRACE: &str = "java.io.IOException: x\n\tat a.B.c(B.java:1)\n";
    const NEXT: &str = "2026-11-26 10:15:31,000 INFO [main] a.B - next\n";

    fn java_tail(bytes: &[u8]) -> (tempfile::NamedTempFile, FileTail) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let id = FileId {
            dev: 0,
            ino: 0,
            fingerprint: 0,
        };
        let framer = MultilineFramer::new(StartRule::JavaTimestamp, 1 << 20);
        let tail = FileTail::new(
            id,
            f.path().into(),
            f.reopen().unwrap(),
            0,
            1 << 20,
            Some(framer),
        );
        (f, tail)
    }

    fn texts(chunk: &Chunk) -> Vec<String> {
        chunk
            .records
            .iter()
            .map(|r| String::from_utf8_lossy(&chunk.data[r.bytes.clone()]).into_owned())
            .collect()
    }

    #[test]
    fn a_record_written_in_two_parts_is_one_record_checkpointed_when_handed_on() {
        let (mut f, mut tail) = java_tail(FIRST.as_bytes());
        let mut chunk = Chunk::default();
        assert!(tail.read(&mut chunk).unwrap());
        assert!(chunk.records.is_empty());
        assert_eq!(
            chunk.file_range,
            0..0,
            "a pending record is not checkpointed"
        );
        assert!(tail.pending_since().is_some());
        f.write_all(format!("{TRACE}{NEXT}").as_bytes()).unwrap();
        assert!(tail.read(&mut chunk).unwrap());
        let record = format!("{FIRST}{TRACE}");
        assert_eq!(texts(&chunk), [record.trim_end()]);
        assert_eq!(chunk.file_range, 0..record.len() as u64);
        tail.flush_quiet(&mut chunk);
        assert_eq!(texts(&chunk), [NEXT.trim_end()]);
        assert_eq!(tail.offset(), (record.len() + NEXT.len()) as u64);
        assert!(tail.pending_since().is_none());
    }

    #[test]
    fn a_finished_file_hands_on_its_pending_record() {
        let (_f, mut tail) = java_tail(format!("{FIRST}{TRACE}").trim_end().as_bytes());
        let mut chunk = Chunk::default();
        tail.read(&mut chunk).unwrap();
        tail.flush_partial(&mut chunk);
        assert_eq!(texts(&chunk), [format!("{FIRST}{TRACE}").trim_end()]);
        assert_eq!(tail.offset(), (FIRST.len() + TRACE.len() - 1) as u64);
    }
}
