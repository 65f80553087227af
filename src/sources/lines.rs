//! `LineFramer`: cuts a byte stream into line (or multi-line) records, holding an unfinished one.
//!
//! Lines are LF-terminated (a CR before the LF is dropped; empty lines are skipped). An unfinished last
//! line is held until its LF arrives or the stream is finished ([`LineFramer::flush_partial`]). A line
//! longer than the maximum is cut: its first `max_line` bytes become a record flagged truncated and the
//! rest up to the LF is skipped, so one huge line can neither stall the stream nor exhaust memory.
//!
//! A multi-line source ([`MultilineFramer`]) groups lines into records instead: the pending record is
//! held like the unfinished line (not yet handed on, so not checkpointed) until the next record starts,
//! the stream goes quiet ([`LineFramer::flush_quiet`]) or is finished.
//!
//! The framer knows stream positions, not where bytes come from: [`crate::sources::tail::FileTail`]
//! feeds it from a followed file, [`crate::sources::archive`] from a (decompressed) archive.

use memchr::memchr;

use super::multiline::MultilineFramer;
use super::tail::{Chunk, Record};

/// The framing state of one stream.
///
/// Invariant: `offset` is the stream position of the first byte not yet handed on, which is the
/// first byte of `partial`.
#[derive(Debug)]
pub struct LineFramer {
    offset: u64,
    partial: Vec<u8>,
    /// Inside an over-long line: skip to its LF.
    discarding: bool,
    max_line: usize,
    /// Groups lines into multi-line records; `None` cuts one record per line.
    multiline: Option<MultilineFramer>,
}

impl LineFramer {
    /// A framer whose first byte is at stream position `offset`; records are lines, or multi-line
    /// records when `multiline` is given (its maximum record length should be `max_line`).
    pub fn new(offset: u64, max_line: usize, multiline: Option<MultilineFramer>) -> Self {
        LineFramer {
            offset,
            partial: Vec::new(),
            discarding: false,
            max_line,
            multiline,
        }
    }

    /// The stream position up to which records have been handed on.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// True when nothing is held (no unfinished line, no pending record, not inside an over-long
    /// line): a new framer at [`LineFramer::offset`] would cut the rest of the stream the same way.
    pub fn holds_nothing(&self) -> bool {
        self.partial.is_empty()
            && !self.discarding
            && self
                .multiline
                .as_ref()
                .is_none_or(MultilineFramer::holds_nothing)
    }

    /// True while a multi-line record is waiting for more lines.
    pub fn has_open_record(&self) -> bool {
        self.multiline.as_ref().is_some_and(|f| f.has_open_record())
    }

    /// Clears `chunk` and puts the held bytes at its start; the caller appends the new bytes of the
    /// stream after them and calls [`LineFramer::frame`] (or nothing, if there were no new bytes: the
    /// held bytes stay held). Returns how many bytes are held.
    pub fn begin(&mut self, chunk: &mut Chunk) -> usize {
        chunk.data.clear();
        chunk.records.clear();
        chunk.data.extend_from_slice(&self.partial);
        chunk.data.len()
    }

    /// Cuts `chunk.data` (held bytes + new bytes) into records; what follows the last complete record
    /// is held for the next call. Sets `chunk.file_range` to the stream bytes the records account for.
    pub fn frame(&mut self, chunk: &mut Chunk) {
        let start = self.offset;
        let consumed = match &mut self.multiline {
            Some(framer) => framer.frame(&chunk.data, &mut chunk.records),
            None => frame_lines(chunk, self.max_line, &mut self.discarding),
        };
        self.partial.clear();
        self.partial.extend_from_slice(&chunk.data[consumed..]);
        self.offset = start + consumed as u64;
        chunk.file_range = start..self.offset;
    }

    /// Hands on the held unfinished line as a record of its own: the stream will not grow any more
    /// (a file rotated away, deleted or truncated; the end of an archive). Empty when nothing is held.
    pub fn flush_partial(&mut self, chunk: &mut Chunk) {
        chunk.data.clear();
        chunk.records.clear();
        let start = self.offset;
        let held = std::mem::take(&mut self.partial);
        if let Some(framer) = &mut self.multiline {
            chunk.data.extend_from_slice(&held);
            framer.finish(&chunk.data, &mut chunk.records);
            self.offset += held.len() as u64;
            chunk.file_range = start..self.offset;
            return;
        }
        let text = held.strip_suffix(b"\r").unwrap_or(&held);
        if !text.is_empty() && !self.discarding {
            chunk.data.extend_from_slice(text);
            chunk.records.push(Record {
                bytes: 0..text.len(),
                truncated: false,
            });
        }
        self.offset += held.len() as u64;
        self.discarding = false;
        chunk.file_range = start..self.offset;
    }

    /// Hands on the pending multi-line record (the stream has been quiet): its complete lines become
    /// a record; an unfinished last line stays held. Empty when nothing is pending.
    pub fn flush_quiet(&mut self, chunk: &mut Chunk) {
        chunk.data.clear();
        chunk.records.clear();
        let start = self.offset;
        if let Some(framer) = &mut self.multiline {
            chunk.data.extend_from_slice(&self.partial);
            let consumed = framer.flush_open(&chunk.data, &mut chunk.records);
            self.partial.drain(..consumed);
            self.offset += consumed as u64;
        }
        chunk.file_range = start..self.offset;
    }
}

/// Cuts `chunk.data` into line records; returns how many bytes were consumed (the rest is an
/// unfinished line). `discarding` carries "inside an over-long line" from one call to the next.
fn frame_lines(chunk: &mut Chunk, max_line: usize, discarding: &mut bool) -> usize {
    let data = &chunk.data;
    let mut pos = 0;
    if *discarding {
        match memchr(b'\n', data) {
            Some(lf) => {
                pos = lf + 1;
                *discarding = false;
            }
            None => return data.len(),
        }
    }
    while pos < data.len() {
        match memchr(b'\n', &data[pos..]) {
            Some(len) => {
                let mut end = pos + len;
                if end > pos && data[end - 1] == b'\r' {
                    end -= 1;
                }
                if end - pos > max_line {
                    chunk.records.push(Record {
                        bytes: pos..pos + max_line,
                        truncated: true,
                    });
                } else if end > pos {
                    chunk.records.push(Record {
                        bytes: pos..end,
                        truncated: false,
                    });
                }
                pos += len + 1;
            }
            None if data.len() - pos > max_line => {
                chunk.records.push(Record {
                    bytes: pos..pos + max_line,
                    truncated: true,
                });
                *discarding = true;
                return data.len();
            }
            None => break,
        }
    }
    pos
}
