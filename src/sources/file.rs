//! `FileSource`: finds files by glob, follows them through rotation and truncation, and hands their
//! lines to the processing stage.
//!
//! Acknowledgement: a file's checkpoint advances only when every sink of the source has acknowledged
//! the batch that covers those bytes (see [`crate::checkpoint`]).
//!
//! Lifecycle: one thread per source. It scans every `scan_interval` (and at once when inotify reports
//! a file created, removed or renamed in a watched directory): expands the include globs, opens new
//! files, and finishes followed files that were rotated away or truncated. Between scans it reads
//! every open file up to its end in chunks and sleeps until inotify reports a write or the next scan
//! is due, so an idle file costs no system calls between scans. Files are identified by device,
//! inode and a checksum of their first line, never by path:
//! - rotation by rename: the old descriptor stays open and is read to its end; once the path names
//!   another file (or none) and the old one has been at its end for a whole scan, its last unfinished
//!   line is handed on and it is closed; the new file is found by the scan and read from 0;
//! - copytruncate: a file shorter than what was read is read again from 0, as a new file;
//! - a reused inode has another first line, so it is a new file and never inherits an old offset.
//!
//! Multi-line sources (`format = "java"`, or `multiline_start` set) hold a file's pending record until
//! the next record starts; when the file has been quiet for `multiline_timeout` the reader wakes and
//! hands the pending record on, so the last record of a quiet file is not held back.
//!
//! `read_from = "end"` applies to files without a checkpoint found by the first scan; files that appear
//! later are new and are read from their beginning.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use super::fingerprint::identify;
use super::multiline::{MultilineFramer, StartRule};
use super::tail::{Chunk, FileTail, CHUNK_BYTES};
use crate::batch::{Delivered, Receipt};
use crate::checkpoint::{Checkpoints, FileId, FileRange};
use crate::config::{FileSourceConfig, ReadFrom};
use crate::metrics::{FollowedFile, SourceMetrics};
use crate::normalise::time::event_time_now;
use crate::process::{Processor, SinksClosed};

/// How many chunks one file may read before the others get a turn.
const CHUNKS_PER_TURN: usize = 8;

/// Tells a running source to stop.
#[derive(Debug, Clone)]
pub struct StopHandle {
    stop: Arc<AtomicBool>,
    wake: SyncSender<()>,
}

impl StopHandle {
    /// Asks the source to stop after the chunk it is on; it returns from [`FileSource::run`] soon after.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.wake.try_send(());
    }
}

/// A file that was fully read and closed in this run, remembered in case a glob finds it again.
#[derive(Debug, Clone, Copy)]
struct Finished {
    offset: u64,
}

/// A `type = "file"` source.
pub struct FileSource {
    name: String,
    config: FileSourceConfig,
    processor: Processor,
    checkpoints: Arc<Mutex<Checkpoints>>,
    /// Where acknowledged ranges go (the checkpoint store's task).
    acks: UnboundedSender<Delivered>,
    /// Where each scan publishes the followed files (for the read lag metric).
    metrics: Arc<SourceMetrics>,
    tails: BTreeMap<(u64, u64), FileTail>,
    /// When each open tail was first found at its end after its path stopped naming it.
    orphaned_since: BTreeMap<(u64, u64), Instant>,
    finished: BTreeMap<FileId, Finished>,
    /// Device and inode of files that were truncated, with the epoch their next reading (from 0) gets.
    truncated: BTreeMap<(u64, u64), u32>,
    excludes: Vec<glob::Pattern>,
    stop: Arc<AtomicBool>,
    wake_tx: SyncSender<()>,
    wake_rx: Receiver<()>,
    /// Set by inotify when names in a watched directory changed: scan before the next interval.
    rescan: Arc<AtomicBool>,
    watcher: Option<notify::RecommendedWatcher>,
    watched: BTreeSet<PathBuf>,
    first_scan: bool,
    chunk: Chunk,
    /// Problems already logged, by path and kind: a file that cannot be opened is reported once, not
    /// at every scan, until it can be opened again.
    complaints: BTreeSet<(PathBuf, &'static str)>,
}

impl FileSource {
    pub fn new(
        name: &str,
        config: FileSourceConfig,
        processor: Processor,
        checkpoints: Arc<Mutex<Checkpoints>>,
        acks: UnboundedSender<Delivered>,
        metrics: Arc<SourceMetrics>,
    ) -> Self {
        let (wake_tx, wake_rx) = std::sync::mpsc::sync_channel(1);
        let excludes = config
            .exclude
            .iter()
            .filter_map(|p| glob::Pattern::new(p).ok())
            .collect();
        let notify_tx = wake_tx.clone();
        let rescan = Arc::new(AtomicBool::new(false));
        let notify_rescan = Arc::clone(&rescan);
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Writes only wake the reader; a file appearing, vanishing or renamed asks for a scan.
            // Reads (our own included) are ignored: waking on them would make every read a wake-up.
            let kind = match event {
                Ok(e) => e.kind,
                Err(_) => EventKind::Any,
            };
            match kind {
                EventKind::Access(_) => return,
                EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_)) => {}
                _ => notify_rescan.store(true, Ordering::Release),
            }
            let _ = notify_tx.try_send(());
        })
        .map_err(|e| {
            tracing::warn!(source = name, error = %e, "inotify unavailable; polling every scan_interval")
        })
        .ok();
        FileSource {
            name: name.to_string(),
            config,
            processor,
            checkpoints,
            acks,
            metrics,
            tails: BTreeMap::new(),
            orphaned_since: BTreeMap::new(),
            finished: BTreeMap::new(),
            truncated: BTreeMap::new(),
            excludes,
            stop: Arc::new(AtomicBool::new(false)),
            wake_tx,
            wake_rx,
            rescan,
            watcher,
            watched: BTreeSet::new(),
            first_scan: true,
            chunk: Chunk::default(),
            complaints: BTreeSet::new(),
        }
    }

    /// The handle that stops [`FileSource::run`].
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            stop: Arc::clone(&self.stop),
            wake: self.wake_tx.clone(),
        }
    }

    /// Reads until stopped, or until every sink has gone away.
    pub fn run(mut self) {
        let mut next_scan = Instant::now();
        while !self.stop.load(Ordering::Acquire) {
            if Instant::now() >= next_scan || self.rescan.swap(false, Ordering::AcqRel) {
                if self.scan().is_err() {
                    break;
                }
                next_scan = Instant::now() + self.config.scan_interval;
            }
            let busy = match self.read_all() {
                Ok(busy) => busy,
                Err(SinksClosed) => break,
            };
            if !busy {
                let wake_at = self
                    .next_quiet_flush()
                    .map_or(next_scan, |t| t.min(next_scan));
                let wait = wake_at.saturating_duration_since(Instant::now());
                // Woken by inotify (a write, or a name change that set `rescan`), or the next scan is due.
                let _ = self.wake_rx.recv_timeout(wait);
            }
        }
        tracing::debug!(source = %self.name, "file source stopped");
    }

    /// When the earliest pending multi-line record is due to be handed on.
    fn next_quiet_flush(&self) -> Option<Instant> {
        self.tails
            .values()
            .filter_map(FileTail::pending_since)
            .min()
            .map(|since| since + self.config.multiline_timeout)
    }

    /// Expands the include globs, opens every file not yet followed, and finishes the followed files
    /// that were rotated away, deleted or truncated.
    fn scan(&mut self) -> Result<(), SinksClosed> {
        let mut seen = BTreeSet::new();
        for pattern in self.config.include.clone() {
            self.watch_parent(&pattern);
            let paths = match glob::glob(&pattern) {
                Ok(paths) => paths,
                Err(e) => {
                    tracing::error!(source = %self.name, %pattern, error = %e, "bad include pattern");
                    continue;
                }
            };
            for path in paths.flatten() {
                if self.excludes.iter().any(|p| p.matches_path(&path)) || !seen.insert(path.clone())
                {
                    continue;
                }
                self.consider(path);
            }
        }
        self.first_scan = false;
        let keys: Vec<(u64, u64)> = self.tails.keys().copied().collect();
        for key in keys {
            if self
                .tails
                .get(&key)
                .is_some_and(|t| t.at_end().unwrap_or(true))
            {
                self.check_finished(key)?;
            }
        }
        self.publish_files();
        Ok(())
    }

    /// Tells the metrics which files are followed now, and their lengths.
    fn publish_files(&self) {
        let files = self
            .tails
            .values()
            .map(|tail| FollowedFile {
                path: tail.path.to_string_lossy().into_owned(),
                id: tail.id,
                len: tail.file_len().unwrap_or(0),
            })
            .collect();
        self.metrics.set_files(files);
    }

    fn watch_parent(&mut self, pattern: &str) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let literal: PathBuf = Path::new(pattern)
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        let dir = if literal.as_os_str() == pattern {
            literal.parent().map(Path::to_path_buf)
        } else {
            Some(literal)
        };
        let Some(dir) = dir.filter(|d| d.is_dir()) else {
            return;
        };
        if self.watched.contains(&dir) {
            return;
        }
        match watcher.watch(&dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched.insert(dir);
            }
            Err(e) => {
                if self.complaints.insert((dir.clone(), "watch")) {
                    tracing::warn!(source = %self.name, dir = %dir.display(), error = %e, "cannot watch; polling");
                }
            }
        }
    }

    /// Starts following `path` unless its file is already followed or cannot be identified yet.
    fn consider(&mut self, path: PathBuf) {
        let Ok(meta) = std::fs::metadata(&path) else {
            return;
        };
        let key = (meta.dev(), meta.ino());
        if !meta.is_file() {
            return;
        }
        if let Some(tail) = self.tails.get_mut(&key) {
            if tail.path != path && !self.orphaned_since.contains_key(&key) {
                tail.path = path;
            }
            return;
        }
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) => {
                if self.complaints.insert((path.clone(), "open")) {
                    tracing::warn!(source = %self.name, path = %path.display(), error = %e, "cannot open (reported once)");
                }
                return;
            }
        };
        let id = match identify(&file) {
            Ok(Some(id)) => id,
            Ok(None) => return,
            Err(e) => {
                if self.complaints.insert((path.clone(), "read")) {
                    tracing::warn!(source = %self.name, path = %path.display(), error = %e, "cannot read (reported once)");
                }
                return;
            }
        };
        self.complaints.retain(|(p, _)| p != &path);
        let known = self
            .checkpoints
            .lock()
            .map(|c| c.offset(&id))
            .unwrap_or(None);
        let epoch = self.truncated.remove(&key);
        let offset = if let Some(done) = self.finished.get(&id) {
            done.offset
        } else if epoch.is_some() {
            0
        } else if let Some(offset) = known {
            offset
        } else if self.first_scan && self.config.read_from == ReadFrom::End {
            end_of_last_line(&file).unwrap_or(0)
        } else {
            0
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let offset = if offset > len {
            tracing::info!(source = %self.name, path = %path.display(), "file shorter than its checkpoint; reading from 0");
            0
        } else {
            offset
        };
        tracing::info!(source = %self.name, path = %path.display(), offset, "following file");
        if let Ok(mut checkpoints) = self.checkpoints.lock() {
            checkpoints.track(id, &path.to_string_lossy(), offset, epoch.unwrap_or(0));
        }
        self.finished.remove(&id);
        let max_line = self.config.max_line_bytes;
        let multiline =
            StartRule::for_source(self.config.format, self.config.multiline_start.as_ref())
                .map(|rule| MultilineFramer::new(rule, max_line));
        let mut tail = FileTail::new(id, path, file, offset, max_line, multiline);
        tail.epoch = epoch.unwrap_or(0);
        self.tails.insert(key, tail);
    }

    /// Reads every open file; true if some file may have more to read right away.
    fn read_all(&mut self) -> Result<bool, SinksClosed> {
        let mut busy = false;
        let keys: Vec<(u64, u64)> = self.tails.keys().copied().collect();
        for key in keys {
            if self.stop.load(Ordering::Acquire) {
                return Ok(false);
            }
            busy |= self.read_file(key)?;
        }
        Ok(busy)
    }

    /// Reads one file for a turn; true if it filled every chunk of the turn (more may be waiting).
    fn read_file(&mut self, key: (u64, u64)) -> Result<bool, SinksClosed> {
        let Some(tail) = self.tails.get_mut(&key) else {
            return Ok(false);
        };
        for _ in 0..CHUNKS_PER_TURN {
            match tail.read(&mut self.chunk) {
                Ok(true) => {
                    if !self.complaints.is_empty() {
                        self.complaints.remove(&(tail.path.clone(), "read"));
                    }
                    ship(&mut self.processor, &self.acks, &self.chunk, tail)?;
                    if self.chunk.data.len() < CHUNK_BYTES || self.stop.load(Ordering::Acquire) {
                        return Ok(false);
                    }
                }
                Ok(false) => {
                    // At the end: a file now shorter than what was read was truncated. Noticing it
                    // here, on the wake-up its truncation caused, keeps the window small in which a
                    // writer could refill it past our position (see `check_finished` for the rest).
                    if tail.truncated().unwrap_or(false) {
                        tracing::info!(source = %self.name, path = %tail.path.display(), "file truncated; reading it again from 0");
                        self.close(key, true)?;
                    } else if tail
                        .pending_since()
                        .is_some_and(|since| since.elapsed() >= self.config.multiline_timeout)
                    {
                        tail.flush_quiet(&mut self.chunk);
                        ship(&mut self.processor, &self.acks, &self.chunk, tail)?;
                    }
                    return Ok(false);
                }
                Err(e) => {
                    if self.complaints.insert((tail.path.clone(), "read")) {
                        tracing::warn!(source = %self.name, path = %tail.path.display(), error = %e, "read failed; retrying (reported once)");
                    }
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// At the end of a file: finish it if it was truncated, or if its path no longer leads to it.
    fn check_finished(&mut self, key: (u64, u64)) -> Result<(), SinksClosed> {
        let Some(tail) = self.tails.get(&key) else {
            return Ok(());
        };
        let rewritten = identify(tail.file())
            .ok()
            .flatten()
            .is_some_and(|id| id != tail.id);
        if tail.truncated().unwrap_or(false) || rewritten {
            tracing::info!(source = %self.name, path = %tail.path.display(), "file truncated; reading it again from 0");
            self.close(key, true)?;
            return Ok(());
        }
        let still_there = std::fs::metadata(&tail.path)
            .map(|m| (m.dev(), m.ino()) == key)
            .unwrap_or(false);
        if still_there {
            self.orphaned_since.remove(&key);
            return Ok(());
        }
        let since = *self.orphaned_since.entry(key).or_insert_with(Instant::now);
        // One whole scan at the end: a writer that had the file open has had time to finish.
        if since.elapsed() >= self.config.scan_interval {
            tracing::info!(source = %self.name, path = %tail.path.display(), "rotated or deleted file read to its end; closing");
            self.close(key, false)?;
        }
        Ok(())
    }

    /// Hands on the file's unfinished last line and stops following it.
    fn close(&mut self, key: (u64, u64), truncated: bool) -> Result<(), SinksClosed> {
        self.orphaned_since.remove(&key);
        let Some(mut tail) = self.tails.remove(&key) else {
            return Ok(());
        };
        tail.flush_partial(&mut self.chunk);
        ship(&mut self.processor, &self.acks, &self.chunk, &tail)?;
        if truncated {
            // A new epoch: late acknowledgements of the old content must not move the new reading.
            self.truncated.insert(key, tail.epoch.wrapping_add(1));
        } else {
            self.finished.insert(
                tail.id,
                Finished {
                    offset: tail.offset(),
                },
            );
        }
        Ok(())
    }
}

/// Sends what `tail` just produced in `chunk` on to the sinks.
fn ship(
    processor: &mut Processor,
    acks: &UnboundedSender<Delivered>,
    chunk: &Chunk,
    tail: &FileTail,
) -> Result<(), SinksClosed> {
    let range = FileRange {
        file: tail.id,
        epoch: tail.epoch,
        start: chunk.file_range.start,
        end: chunk.file_range.end,
    };
    let path = tail.path.to_string_lossy();
    let bytes = range.end.saturating_sub(range.start);
    let receipt = Receipt::checkpoint(range, acks.clone());
    processor.send_chunk(chunk, &path, bytes, receipt, event_time_now())
}

/// The position just after the last LF of `file` (where `read_from = "end"` starts), looking back at
/// most one chunk; the file's length if there is no LF that close to the end.
fn end_of_last_line(file: &File) -> std::io::Result<u64> {
    let len = file.metadata()?.len();
    let start = len.saturating_sub(CHUNK_BYTES as u64);
    let mut buf = vec![0u8; (len - start) as usize];
    file.read_exact_at(&mut buf, start)?;
    Ok(memchr::memrchr(b'\n', &buf).map_or(len, |i| start + i as u64 + 1))
}
