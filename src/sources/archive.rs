//! `ArchiveSource`: reads finished files, plain or gzip-compressed, once each (`logferry send`).
//!
//! Acknowledgement: like a file source, each chunk's receipt reports its byte range to the
//! checkpoint store, so a file's checkpoint is the end of its longest delivered prefix. For a
//! compressed file the positions are those of the decompressed stream. `logferry send` keeps these
//! checkpoints in a store of its own (`data_dir/send`), apart from the agent's.
//!
//! Resuming: a file is known by its content, not its path (its length and checksums of its first
//! and last bytes), so a file sent before is recognised even when copied elsewhere. Reading starts
//! at its checkpoint; a compressed file is decompressed up to there and the output skipped. A file
//! already delivered to its end sends nothing.
//!
//! Lifecycle: one thread reads the files in order, then waits until every chunk it handed on has
//! been acknowledged (or it is asked to stop) and publishes an [`ArchiveOutcome`]. Ending the thread
//! is what ends `logferry send`: the pipeline drains the sinks once its sources have ended.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use tokio::sync::mpsc::UnboundedSender;

use super::fingerprint::fnv1a;
use super::lines::LineFramer;
use super::multiline::{MultilineFramer, StartRule};
use super::tail::{Chunk, CHUNK_BYTES};
use crate::batch::{Delivered, Receipt};
use crate::checkpoint::{Checkpoints, FileId, FileRange};
use crate::config::SourceSettings;
use crate::normalise::time::event_time_now;
use crate::process::Processor;
use crate::sources::stop::StopHandle;

/// How many bytes at each end of a file identify it.
const IDENTITY_BYTES: usize = 4096;

/// The files to send and how to read them; built by `logferry send`, not read from a configuration.
#[derive(Debug, Clone)]
pub struct ArchiveSourceConfig {
    pub files: Vec<PathBuf>,
    pub settings: SourceSettings,
    /// Longer records are cut to this size and labelled `Truncated`.
    pub max_line_bytes: usize,
    /// Where the thread reports progress and its outcome.
    pub progress: Arc<ArchiveProgress>,
}

/// What the reading thread has done so far; shared with whoever shows progress.
#[derive(Debug, Default)]
pub struct ArchiveProgress {
    /// Bytes of the files (as stored, compressed or not) read so far, including skipped ones.
    pub bytes_read: AtomicU64,
    /// Records handed on.
    pub events: AtomicU64,
    /// Chunks handed on whose receipt has not come back yet.
    pub unacknowledged: AtomicU64,
    /// Set once, when the thread ends.
    pub outcome: Mutex<Option<ArchiveOutcome>>,
}

/// How a `send` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveOutcome {
    /// Files delivered to their end (now or by an earlier run).
    pub complete: usize,
    /// Files that could not be read, with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// True when every chunk handed on was acknowledged and every file read to its end.
    pub finished: bool,
}

/// The archive source: see the module documentation.
pub struct ArchiveSource {
    config: ArchiveSourceConfig,
    processor: Processor,
    checkpoints: Arc<Mutex<Checkpoints>>,
    acks: UnboundedSender<Delivered>,
    stop: Arc<AtomicBool>,
    stop_handle: StopHandle,
}

impl ArchiveSource {
    pub fn new(
        config: ArchiveSourceConfig,
        processor: Processor,
        checkpoints: Arc<Mutex<Checkpoints>>,
        acks: UnboundedSender<Delivered>,
    ) -> Self {
        let (stop_handle, stop) = StopHandle::new();
        ArchiveSource {
            config,
            processor,
            checkpoints,
            acks,
            stop,
            stop_handle,
        }
    }

    /// The handle that stops [`ArchiveSource::run`] after the chunk it is on.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop_handle.clone()
    }

    /// Reads every file, waits for their acknowledgements, and publishes the outcome.
    pub fn run(mut self) {
        let mut outcome = ArchiveOutcome {
            complete: 0,
            failed: Vec::new(),
            finished: false,
        };
        let mut read_all = true;
        let files = self.config.files.clone();
        for path in &files {
            if self.stopped() {
                read_all = false;
                break;
            }
            match self.send_file(path) {
                Ok(true) => {}
                Ok(false) => read_all = false,
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %format!("{e:#}"), "cannot send this file");
                    outcome.failed.push((path.clone(), format!("{e:#}")));
                }
            }
        }
        let progress = Arc::clone(&self.config.progress);
        while progress.unacknowledged.load(Ordering::Acquire) > 0 && !self.stopped() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let acknowledged = progress.unacknowledged.load(Ordering::Acquire) == 0;
        outcome.finished = read_all && acknowledged && outcome.failed.is_empty();
        if acknowledged && read_all {
            outcome.complete = files.len() - outcome.failed.len();
        }
        let mut slot = match progress.outcome.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(outcome);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Sends one file from its checkpoint to its end; false if stopped (or the sinks closed) first.
    fn send_file(&mut self, path: &Path) -> anyhow::Result<bool> {
        use anyhow::Context;
        let file = File::open(path).context("opening")?;
        let meta = file.metadata().context("reading its metadata")?;
        anyhow::ensure!(meta.is_file(), "not a regular file");
        let id = identify(&file, meta.len()).context("reading")?;
        let path_text = path.to_string_lossy().into_owned();
        let offset = {
            let mut store = self
                .checkpoints
                .lock()
                .map_err(|_| anyhow::anyhow!("checkpoint store poisoned"))?;
            let offset = store.offset(&id).unwrap_or(0);
            store.track(id, &path_text, offset, 0);
            offset
        };
        let progress = Arc::clone(&self.config.progress);
        let counted = CountingReader {
            inner: BufReader::with_capacity(CHUNK_BYTES, file),
            progress: Arc::clone(&progress),
        };
        let mut reader: Box<dyn Read> = if is_gzip(path)? {
            Box::new(MultiGzDecoder::new(counted))
        } else {
            Box::new(counted)
        };
        if offset > 0 {
            tracing::info!(path = %path.display(), offset, "resuming after what an earlier run delivered");
            let skipped = io::copy(&mut (&mut reader).take(offset), &mut io::sink())
                .context("skipping what was delivered before")?;
            anyhow::ensure!(
                skipped == offset,
                "the file is shorter ({skipped} bytes) than what was delivered from it ({offset})"
            );
        }
        let max_line = self.config.max_line_bytes;
        let multiline = StartRule::for_source(
            self.config.settings.format,
            self.config.settings.multiline_start.as_ref(),
        )
        .map(|rule| MultilineFramer::new(rule, max_line));
        let mut framer = LineFramer::new(offset, max_line, multiline);
        let mut chunk = Chunk::default();
        loop {
            if self.stopped() {
                return Ok(false);
            }
            let held = framer.begin(&mut chunk);
            chunk.data.resize(held + CHUNK_BYTES, 0);
            let n = read_full(&mut reader, &mut chunk.data[held..]).context("reading")?;
            chunk.data.truncate(held + n);
            if n == 0 {
                framer.flush_partial(&mut chunk);
                return Ok(self.ship(&chunk, id, &path_text));
            }
            framer.frame(&mut chunk);
            if !self.ship(&chunk, id, &path_text) {
                return Ok(false);
            }
        }
    }

    /// Hands `chunk` on; false when every sink has stopped.
    fn ship(&mut self, chunk: &Chunk, file: FileId, path: &str) -> bool {
        let range = FileRange {
            file,
            epoch: 0,
            start: chunk.file_range.start,
            end: chunk.file_range.end,
        };
        let progress = Arc::clone(&self.config.progress);
        progress.unacknowledged.fetch_add(1, Ordering::AcqRel);
        progress
            .events
            .fetch_add(chunk.records.len() as u64, Ordering::Relaxed);
        let acks = self.acks.clone();
        let receipt = Receipt::new(move || {
            let _ = acks.send(Delivered::File(range));
            progress.unacknowledged.fetch_sub(1, Ordering::AcqRel);
        });
        let bytes = range.end - range.start;
        self.processor
            .send_chunk(chunk, path, bytes, receipt, event_time_now())
            .is_ok()
    }
}

/// A file's identity by content: its length, and checksums of its first and last
/// [`IDENTITY_BYTES`] (device and inode would make a copy of it another file).
fn identify(file: &File, len: u64) -> io::Result<FileId> {
    let mut head = vec![0u8; IDENTITY_BYTES.min(len as usize)];
    file.read_exact_at(&mut head, 0)?;
    let tail_start = len.saturating_sub(IDENTITY_BYTES as u64);
    let mut tail = vec![0u8; (len - tail_start) as usize];
    file.read_exact_at(&mut tail, tail_start)?;
    Ok(FileId {
        dev: len,
        ino: fnv1a(&head),
        fingerprint: fnv1a(&tail),
    })
}

/// Whether `path` holds gzip data (by its magic bytes, whatever its name).
fn is_gzip(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let mut file = File::open(path)?;
    Ok(read_full(&mut file, &mut magic)? == 2 && magic == [0x1f, 0x8b])
}

/// Fills `buf` as far as the reader goes; fewer bytes only at its end.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Counts the bytes read from the stored file into the progress.
struct CountingReader<R> {
    inner: R,
    progress: Arc<ArchiveProgress>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress
            .bytes_read
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_is_recognised_by_its_magic_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.gz");
        std::fs::write(&plain, b"not compressed\n").unwrap();
        let packed = dir.path().join("b.log");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"compressed\n").unwrap();
        std::fs::write(&packed, gz.finish().unwrap()).unwrap();
        assert!(!is_gzip(&plain).unwrap());
        assert!(is_gzip(&packed).unwrap());
    }

    #[test]
    fn a_copy_is_the_same_file_and_other_content_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let file = File::open(&path).unwrap();
            identify(&file, text.len() as u64).unwrap()
        };
        let original = write("a", b"line one\nline two\n");
        assert_eq!(write("copy", b"line one\nline two\n"), original);
        assert_ne!(write("other", b"line one\nline 2!!\n"), original);
        assert_eq!(
            write("empty", b"").dev,
            0,
            "an empty file has an identity too"
        );
    }
}
