//! `FileTail`: one open file being read, cut into line records.
//!
//! The tail reads by position (`pread`) from the file descriptor it opened, so a rename or unlink of the
//! path does not disturb it: a rotated file is read to its end through the old descriptor. Cutting the
//! bytes into records (lines, over-long lines, multi-line records, the unfinished last one) is the
//! [`LineFramer`]'s job.
//!
//! The tail keeps the last [`CONTEXT_BYTES`] it read, so that a byte-identical copy of the file
//! (copytruncate) can be recognised and reading go on in it ([`FileTail::is_continued_by`],
//! [`FileTail::continue_in`]).

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

/// How many of the bytes read last a tail keeps to recognise a copy of its file.
pub const CONTEXT_BYTES: usize = 256;

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
    /// The last bytes read, up to [`CONTEXT_BYTES`], ending at `read_pos`.
    context: Vec<u8>,
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
        let context = context_before(&file, offset);
        FileTail {
            id,
            path,
            epoch: 0,
            file,
            read_pos: offset,
            framer: LineFramer::new(offset, max_line, multiline),
            last_data: Instant::now(),
            context,
        }
    }

    /// The next file position to read (past the held unfinished line).
    pub fn read_pos(&self) -> u64 {
        self.read_pos
    }

    /// True when nothing read is held (no unfinished line, no pending record, not inside an
    /// over-long line): closing the file now and opening it again at [`FileTail::offset`] later
    /// produces exactly the records this tail would have.
    pub fn holds_nothing(&self) -> bool {
        self.framer.holds_nothing()
    }

    /// When a read last found new bytes (or the tail was opened).
    pub fn last_data(&self) -> Instant {
        self.last_data
    }

    /// True when `copy` holds what this tail read so far at the same positions, as far as the
    /// tail can tell: the first line (its identity `copy_id` shares our fingerprint) and the last
    /// bytes read just before [`FileTail::read_pos`]. Then the rest of our file is in `copy`.
    pub fn is_continued_by(&self, copy: &File, copy_id: &FileId) -> bool {
        if copy_id.fingerprint != self.id.fingerprint {
            return false;
        }
        let start = self.read_pos - self.context.len() as u64;
        let mut bytes = vec![0u8; self.context.len()];
        !self.context.is_empty()
            && copy.read_exact_at(&mut bytes, start).is_ok()
            && bytes == self.context
    }

    /// Goes on reading in `copy` (identity `id`, found at `path`), a file that
    /// [`FileTail::is_continued_by`] accepted: positions, the held line and the pending record stay.
    pub fn continue_in(&mut self, copy: File, id: FileId, path: PathBuf) {
        self.file = copy;
        self.id = id;
        self.path = path;
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
        remember_context(&mut self.context, &chunk.data[held..held + n]);
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

/// The up to [`CONTEXT_BYTES`] bytes of `file` just before `offset` (empty if they cannot be read).
fn context_before(file: &File, offset: u64) -> Vec<u8> {
    let start = offset.saturating_sub(CONTEXT_BYTES as u64);
    let mut bytes = vec![0u8; (offset - start) as usize];
    match file.read_exact_at(&mut bytes, start) {
        Ok(()) => bytes,
        Err(_) => Vec::new(),
    }
}

/// Appends `new` to `context`, keeping its last [`CONTEXT_BYTES`].
fn remember_context(context: &mut Vec<u8>, new: &[u8]) {
    if new.len() >= CONTEXT_BYTES {
        context.clear();
        context.extend_from_slice(&new[new.len() - CONTEXT_BYTES..]);
        return;
    }
    let excess = (context.len() + new.len()).saturating_sub(CONTEXT_BYTES);
    context.drain(..excess);
    context.extend_from_slice(new);
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
    fn goes_on_in_a_copy_that_holds_what_was_read() {
        let (mut f, mut tail) = tail_of(b"first\nsecond\nthi", 100);
        tail.id.fingerprint = 7;
        let mut chunk = Chunk::default();
        assert!(tail.read(&mut chunk).unwrap());
        let copy = tempfile::NamedTempFile::new().unwrap();
        copy.as_file()
            .write_all_at(b"first\nsecond\nthird\nfourth\n", 0)
            .unwrap();
        let copy_id = FileId {
            dev: 0,
            ino: 1,
            fingerprint: 7,
        };
        let other = tempfile::NamedTempFile::new().unwrap();
        other
            .as_file()
            .write_all_at(b"first\nsecOnd\nthird\n", 0)
            .unwrap();
        assert!(!tail.is_continued_by(other.as_file(), &copy_id));
        let unrelated = FileId {
            fingerprint: 8,
            ..copy_id
        };
        assert!(!tail.is_continued_by(copy.as_file(), &unrelated));
        assert!(tail.is_continued_by(copy.as_file(), &copy_id));
        f.as_file().set_len(0).unwrap();
        f.write_all(b"new\n").unwrap();
        tail.continue_in(copy.reopen().unwrap(), copy_id, copy.path().into());
        assert!(tail.read(&mut chunk).unwrap());
        assert_eq!(
            texts(&chunk),
            [("third".into(), false), ("fourth".into(), false)]
        );
        assert_eq!(chunk.file_range, 13..26);
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
