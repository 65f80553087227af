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
//! - rotation by rename, or deletion: the old descriptor stays open and is read to its end; once no
//!   include path names the file and it has been at its end for a whole scan, its last unfinished
//!   line is handed on and it is closed. If it is not at its end `rotate_wait` after its path
//!   stopped naming it, the rest is given up: counted (files and bytes) and logged with the path;
//! - truncation (the file is shorter than what was read, or its first line changed): the reading is
//!   set aside for one scan. If that scan finds a new file whose first line and last bytes read
//!   match it (logrotate's copytruncate made a copy the include globs match), reading goes on in the
//!   copy from the same position, so nothing is read twice or lost; otherwise the held unfinished
//!   line is handed on. Either way the truncated file is read again from 0, as a new reading;
//! - a file whose leading bytes equal those of a followed file (a copy about to be truncated) waits
//!   while that file is followed: copies are not read twice;
//! - a reused inode has another first line, so it is a new file and never inherits an old offset.
//!
//! Open files: at most `max_open_files` per source. When more are found, files at their end that
//! hold nothing (no unfinished line) are closed, least recently written first (counted), and
//! remembered with their offset; one is opened again when a scan sees its length change. The
//! process's soft open file limit is raised to the hard limit at start.
//!
//! Checkpoints of files that are gone are pruned after `checkpoint_max_age` (checked every minute).
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
use std::time::{Duration, Instant};

use super::fingerprint::{identify, same_head};
use super::multiline::{MultilineFramer, StartRule};
use super::rlimit::{open_file_limit, raise_open_file_limit};
use super::stop::StopHandle;
use tokio::sync::mpsc::UnboundedSender;

use super::tail::{Chunk, FileTail, CHUNK_BYTES};
use super::watch::{DirWatcher, Written};
use crate::batch::{Delivered, Receipt};
use crate::checkpoint::{Checkpoints, FileId, FileRange};
use crate::config::{FileSourceConfig, ReadFrom};
use crate::metrics::{FollowedFile, SourceMetrics};
use crate::normalise::time::event_time_now;
use crate::process::{Processor, SinksClosed};

/// How many chunks one file may read before the others get a turn.
const CHUNKS_PER_TURN: usize = 8;

mod open_limit;
mod truncation;

use open_limit::Parked;
use truncation::rewritten;

/// How often checkpoints of files that are gone are looked for.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// A followed file: device and inode.
type Key = (u64, u64);

/// A file that was fully read and closed in this run, remembered in case a glob finds it again.
#[derive(Debug, Clone, Copy)]
struct Finished {
    offset: u64,
}

/// A followed file that no include path names any more (rotated away or deleted).
#[derive(Debug, Clone, Copy)]
struct Orphan {
    /// When a scan first found it unnamed: `rotate_wait` counts from here.
    since: Instant,
    /// When a scan first found it unnamed and at its end, if it has stayed there since.
    at_end_since: Option<Instant>,
}

/// A `type = "file"` source.
pub struct FileSource {
    name: String,
    config: FileSourceConfig,
    processor: Processor,
    checkpoints: Arc<Mutex<Checkpoints>>,
    /// Where acknowledged ranges go (the checkpoint store's task).
    acks: UnboundedSender<Delivered>,
    /// Where each scan publishes the followed files (for the read lag metric), and the counters.
    metrics: Arc<SourceMetrics>,
    tails: BTreeMap<Key, FileTail>,
    orphans: BTreeMap<Key, Orphan>,
    /// Truncated files' readings, waiting one scan for a copy to go on in; with when they were set aside.
    set_aside: BTreeMap<Key, (FileTail, Instant)>,
    finished: BTreeMap<FileId, Finished>,
    parked: BTreeMap<Key, Parked>,
    /// Device and inode of files that were truncated, with the epoch their next reading (from 0) gets.
    truncated: BTreeMap<Key, u32>,
    includes: Vec<glob::Pattern>,
    excludes: Vec<glob::Pattern>,
    stop: Arc<AtomicBool>,
    wake_tx: SyncSender<()>,
    wake_rx: Receiver<()>,
    /// Set by inotify when names in a watched directory changed: scan before the next interval.
    rescan: Arc<AtomicBool>,
    watcher: Option<DirWatcher>,
    /// The files inotify reported written: a wake-up by a write reads only those (and the files
    /// that no path names, which inotify cannot name); scans and timeouts read every file.
    written: Arc<Mutex<Written>>,
    first_scan: bool,
    /// Files the first scan found but could not open within `max_open_files`: with
    /// `read_from = "end"` they start at their end when they are opened.
    found_at_start: BTreeSet<Key>,
    last_prune: Option<Instant>,
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
        raise_open_file_limit();
        if let Some(limit) = open_file_limit().filter(|l| *l < config.max_open_files as u64) {
            tracing::warn!(
                source = name,
                limit,
                max_open_files = config.max_open_files,
                "max_open_files is above the process's open file limit"
            );
        }
        let (wake_tx, wake_rx) = std::sync::mpsc::sync_channel(1);
        let patterns = |globs: &[String]| {
            globs
                .iter()
                .filter_map(|p| glob::Pattern::new(p).ok())
                .collect()
        };
        let includes = patterns(&config.include);
        let excludes = patterns(&config.exclude);
        let rescan = Arc::new(AtomicBool::new(false));
        let written = Arc::new(Mutex::new(Written::default()));
        let watcher = DirWatcher::new(
            name,
            wake_tx.clone(),
            Arc::clone(&rescan),
            Arc::clone(&written),
        );
        FileSource {
            name: name.to_string(),
            config,
            processor,
            checkpoints,
            acks,
            metrics,
            tails: BTreeMap::new(),
            orphans: BTreeMap::new(),
            set_aside: BTreeMap::new(),
            finished: BTreeMap::new(),
            parked: BTreeMap::new(),
            truncated: BTreeMap::new(),
            includes,
            excludes,
            stop: Arc::new(AtomicBool::new(false)),
            wake_tx,
            wake_rx,
            rescan,
            watcher,
            written,
            first_scan: true,
            found_at_start: BTreeSet::new(),
            last_prune: None,
            chunk: Chunk::default(),
            complaints: BTreeSet::new(),
        }
    }

    /// The handle that stops [`FileSource::run`].
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            stop: Arc::clone(&self.stop),
            wake: Some(self.wake_tx.clone()),
        }
    }

    /// Reads until stopped, or until every sink has gone away.
    pub fn run(mut self) {
        let mut next_scan = Instant::now();
        let mut read_everything = true;
        while !self.stop.load(Ordering::Acquire) {
            if Instant::now() >= next_scan || self.rescan.swap(false, Ordering::AcqRel) {
                if self.scan().is_err() {
                    break;
                }
                next_scan = Instant::now() + self.config.scan_interval;
                read_everything = true;
            }
            let busy = match self.read_all(read_everything) {
                Ok(busy) => busy,
                Err(SinksClosed) => break,
            };
            // A file with more to read right away: the next pass reads every file.
            read_everything = busy;
            if !busy {
                let wake_at = self
                    .next_quiet_flush()
                    .map_or(next_scan, |t| t.min(next_scan));
                let wait = wake_at.saturating_duration_since(Instant::now());
                // Woken by inotify (a write, or a name change that set `rescan`), or the next scan
                // or a quiet flush is due (then every file is read).
                read_everything = self.wake_rx.recv_timeout(wait).is_err();
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

    /// Expands the include globs, opens files not yet followed (or goes on in a truncated file's
    /// copy), finishes followed files that were rotated away, deleted or truncated, and prunes old
    /// checkpoints.
    fn scan(&mut self) -> Result<(), SinksClosed> {
        let started = Instant::now();
        let mut named = BTreeSet::new();
        let mut candidates = Vec::new();
        let mut seen = BTreeSet::new();
        for pattern in self.config.include.clone() {
            if let Some(watcher) = &mut self.watcher {
                watcher.watch_parent(&pattern);
            }
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
                self.look_at(path, &mut named, &mut candidates);
            }
        }
        self.set_aside_truncated();
        self.open_candidates(candidates);
        self.first_scan = false;
        self.finish_set_aside(started)?;
        self.check_followed(&named)?;
        self.parked.retain(|key, _| named.contains(key));
        if self
            .last_prune
            .is_none_or(|at| at.elapsed() >= PRUNE_INTERVAL)
        {
            self.prune_checkpoints();
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

    /// Notes that `path` names its file; queues it in `candidates` unless it is followed already,
    /// parked with an unchanged length, set aside after a truncation, or not a regular file.
    fn look_at(
        &mut self,
        path: PathBuf,
        named: &mut BTreeSet<Key>,
        candidates: &mut Vec<(PathBuf, Key)>,
    ) {
        let Ok(meta) = std::fs::metadata(&path) else {
            return;
        };
        if !meta.is_file() {
            if self.complaints.insert((path.clone(), "not_regular")) {
                self.metrics.not_regular_files.add(1);
                tracing::warn!(source = %self.name, path = %path.display(), "not a regular file; not read (reported once)");
            }
            return;
        }
        if !self.complaints.is_empty() {
            self.complaints.remove(&(path.clone(), "not_regular"));
        }
        let key = (meta.dev(), meta.ino());
        named.insert(key);
        if let Some(tail) = self.tails.get_mut(&key) {
            tail.path = path;
            return;
        }
        let unchanged = self.parked.get(&key).is_some_and(|p| p.len == meta.len());
        if !unchanged && !self.set_aside.contains_key(&key) {
            candidates.push((path, key));
        }
    }

    /// Opens the candidates: goes on in a set-aside reading's copy, waits while a followed file has
    /// the same leading bytes, and otherwise follows the file, within `max_open_files`.
    fn open_candidates(&mut self, candidates: Vec<(PathBuf, Key)>) {
        let mut idle: Option<Vec<Key>> = None;
        let mut candidates = candidates.into_iter();
        while let Some((path, _)) = candidates.next() {
            let Some((file, id)) = self.open_identified(&path) else {
                continue;
            };
            let key = (id.dev, id.ino);
            let continued = self
                .set_aside
                .iter()
                .find(|(_, (tail, _))| tail.is_continued_by(&file, &id))
                .map(|(key, _)| *key);
            if let Some(original) = continued {
                self.continue_in_copy(original, file, id, path);
                continue;
            }
            let copy_of_followed = self
                .tails
                .values()
                .any(|t| t.id.fingerprint == id.fingerprint && same_head(t.file(), &file));
            if copy_of_followed {
                continue;
            }
            if self.tails.len() >= self.config.max_open_files {
                let idle = idle.get_or_insert_with(|| self.idle_tails());
                let Some(victim) = idle.pop() else {
                    tracing::debug!(source = %self.name, "max_open_files reached; further files wait for the next scan");
                    if self.first_scan {
                        self.found_at_start.insert(key);
                        self.found_at_start.extend(candidates.map(|(_, key)| key));
                    }
                    break;
                };
                self.park(victim);
            }
            self.follow(path, file, id, key);
        }
    }

    /// Opens `path` and identifies its file; `None` (reported once per path) if it cannot be opened
    /// or read, or has no complete first line yet.
    fn open_identified(&mut self, path: &Path) -> Option<(File, FileId)> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) => {
                if self.complaints.insert((path.to_path_buf(), "open")) {
                    tracing::warn!(source = %self.name, path = %path.display(), error = %e, "cannot open (reported once)");
                }
                return None;
            }
        };
        match identify(&file) {
            Ok(Some(id)) => {
                self.complaints.retain(|(p, _)| p != path);
                Some((file, id))
            }
            Ok(None) => None,
            Err(e) => {
                if self.complaints.insert((path.to_path_buf(), "read")) {
                    tracing::warn!(source = %self.name, path = %path.display(), error = %e, "cannot read (reported once)");
                }
                None
            }
        }
    }

    /// Starts following `file` (found at `path`) at the offset it has.
    fn follow(&mut self, path: PathBuf, file: File, id: FileId, key: Key) {
        let known = self
            .checkpoints
            .lock()
            .map(|c| c.offset(&id))
            .unwrap_or(None);
        let parked = self.parked.remove(&key).filter(|p| p.id == id);
        let truncated_epoch = self.truncated.remove(&key);
        let mut epoch = truncated_epoch.unwrap_or(0);
        let offset = if let Some(done) = self.finished.get(&id) {
            done.offset
        } else if let Some(p) = parked {
            epoch = p.epoch;
            p.offset
        } else if truncated_epoch.is_some() {
            0
        } else if let Some(offset) = known {
            offset
        } else if (self.first_scan || self.found_at_start.remove(&key))
            && self.config.read_from == ReadFrom::End
        {
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
        if parked.is_some() && known.is_some() {
            // The checkpoint still follows the acknowledgements of the earlier opening.
            tracing::debug!(source = %self.name, path = %path.display(), offset, "following file again");
        } else {
            tracing::info!(source = %self.name, path = %path.display(), offset, "following file");
            if let Ok(mut checkpoints) = self.checkpoints.lock() {
                checkpoints.track(id, &path.to_string_lossy(), offset, epoch);
            }
        }
        self.finished.remove(&id);
        let max_line = self.config.max_line_bytes;
        let multiline =
            StartRule::for_source(self.config.format, self.config.multiline_start.as_ref())
                .map(|rule| MultilineFramer::new(rule, max_line));
        let mut tail = FileTail::new(id, path, file, offset, max_line, multiline);
        tail.epoch = epoch;
        self.tails.insert(key, tail);
    }

    /// For every followed file: close it once it is rotated away (or deleted) and read to its end; give it up at `rotate_wait`.
    fn check_followed(&mut self, named: &BTreeSet<Key>) -> Result<(), SinksClosed> {
        let keys: Vec<Key> = self.tails.keys().copied().collect();
        let now = Instant::now();
        for key in keys {
            let Some(tail) = self.tails.get(&key) else {
                continue;
            };
            let len = tail.file_len().ok();
            let at_end = len.is_none_or(|len| len <= tail.read_pos());
            if named.contains(&key) {
                self.orphans.remove(&key);
                continue;
            }
            let orphan = self.orphans.entry(key).or_insert(Orphan {
                since: now,
                at_end_since: None,
            });
            if at_end {
                let quiet = *orphan.at_end_since.get_or_insert(now);
                // One whole scan at the end: a writer that had the file open has had time to finish.
                if quiet.elapsed() >= self.config.scan_interval {
                    tracing::info!(source = %self.name, path = %tail.path.display(), "rotated or deleted file read to its end; closing");
                    self.close(key)?;
                }
            } else {
                orphan.at_end_since = None;
                if orphan.since.elapsed() >= self.config.rotate_wait {
                    self.give_up(key, len.unwrap_or(0));
                }
            }
        }
        Ok(())
    }

    /// Closes a rotated-away or deleted file that was not read to its end within `rotate_wait`.
    fn give_up(&mut self, key: Key, len: u64) {
        self.orphans.remove(&key);
        let Some(tail) = self.tails.remove(&key) else {
            return;
        };
        let unread = len.saturating_sub(tail.offset());
        self.metrics.given_up_files.add(1);
        self.metrics.given_up_bytes.add(unread);
        tracing::warn!(
            source = %self.name,
            path = %tail.path.display(),
            unread_bytes = unread,
            rotate_wait = ?self.config.rotate_wait,
            "rotated or deleted file not read to its end within rotate_wait; giving up the rest"
        );
    }

    /// Drops checkpoints of this source's files that are gone and older than `checkpoint_max_age`.
    fn prune_checkpoints(&mut self) {
        self.last_prune = Some(Instant::now());
        let includes = &self.includes;
        let excludes = &self.excludes;
        let owns = |path: &str| {
            includes.iter().any(|p| p.matches(path)) && !excludes.iter().any(|p| p.matches(path))
        };
        let pruned = match self.checkpoints.lock() {
            Ok(mut checkpoints) => checkpoints.prune_gone(self.config.checkpoint_max_age, owns),
            Err(_) => return,
        };
        for path in &pruned {
            tracing::info!(source = %self.name, %path, max_age = ?self.config.checkpoint_max_age, "checkpoint of a file that is gone pruned");
        }
    }

    /// Reads every open file, or (unless `everything` or without inotify) only those inotify
    /// reported written, those no path names and those with a pending record; true if some file
    /// may have more to read right away.
    fn read_all(&mut self, everything: bool) -> Result<bool, SinksClosed> {
        let mut busy = false;
        let written = self.written.lock().ok().and_then(|mut w| w.take());
        let keys: Vec<Key> = match written {
            Some(paths) if !everything && self.watcher.is_some() => self
                .tails
                .iter()
                .filter(|(key, tail)| {
                    paths.contains(&tail.path)
                        || self.orphans.contains_key(key)
                        || tail.pending_since().is_some()
                })
                .map(|(key, _)| *key)
                .collect(),
            _ => self.tails.keys().copied().collect(),
        };
        for key in keys {
            if self.stop.load(Ordering::Acquire) {
                return Ok(false);
            }
            busy |= self.read_file(key)?;
        }
        Ok(busy)
    }

    /// Reads one file for a turn; true if it filled every chunk of the turn (more may be waiting).
    fn read_file(&mut self, key: Key) -> Result<bool, SinksClosed> {
        let Some(tail) = self.tails.get_mut(&key) else {
            return Ok(false);
        };
        let len = match tail.file_len() {
            Ok(len) => len,
            Err(e) => {
                if self.complaints.insert((tail.path.clone(), "read")) {
                    tracing::warn!(source = %self.name, path = %tail.path.display(), error = %e, "read failed; retrying (reported once)");
                }
                return Ok(false);
            }
        };
        // Shorter than what was read, or grown with another first line: truncated (and perhaps
        // refilled past our position already). Noticing it here, on the wake-up its truncation
        // caused, keeps the window small in which a writer could refill it (see `check_followed`).
        if len < tail.read_pos() || (len > tail.read_pos() && rewritten(tail)) {
            self.set_aside(key);
            return Ok(false);
        }
        if len == tail.read_pos() {
            if tail
                .pending_since()
                .is_some_and(|since| since.elapsed() >= self.config.multiline_timeout)
            {
                tail.flush_quiet(&mut self.chunk);
                ship(
                    &mut self.processor,
                    &self.acks,
                    &self.metrics,
                    &self.chunk,
                    tail,
                )?;
            }
            return Ok(false);
        }
        for _ in 0..CHUNKS_PER_TURN {
            match tail.read(&mut self.chunk) {
                Ok(true) => {
                    if !self.complaints.is_empty() {
                        self.complaints.remove(&(tail.path.clone(), "read"));
                    }
                    ship(
                        &mut self.processor,
                        &self.acks,
                        &self.metrics,
                        &self.chunk,
                        tail,
                    )?;
                    if self.chunk.data.len() < CHUNK_BYTES || self.stop.load(Ordering::Acquire) {
                        return Ok(false);
                    }
                    // Handing on may have waited long (backpressure): look again before reading on.
                    if tail
                        .file_len()
                        .is_ok_and(|len| len < tail.read_pos() || rewritten(tail))
                    {
                        self.set_aside(key);
                        return Ok(false);
                    }
                }
                Ok(false) => return Ok(false),
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

    /// Hands on the unfinished last line of a file read to its end and stops following it.
    fn close(&mut self, key: Key) -> Result<(), SinksClosed> {
        self.orphans.remove(&key);
        let Some(mut tail) = self.tails.remove(&key) else {
            return Ok(());
        };
        tail.flush_partial(&mut self.chunk);
        ship(
            &mut self.processor,
            &self.acks,
            &self.metrics,
            &self.chunk,
            &tail,
        )?;
        self.finished.insert(
            tail.id,
            Finished {
                offset: tail.offset(),
            },
        );
        Ok(())
    }
}

/// Sends what `tail` just produced in `chunk` on to the sinks.
fn ship(
    processor: &mut Processor,
    acks: &UnboundedSender<Delivered>,
    metrics: &SourceMetrics,
    chunk: &Chunk,
    tail: &FileTail,
) -> Result<(), SinksClosed> {
    let range = FileRange {
        file: tail.id,
        epoch: tail.epoch,
        start: chunk.file_range.start,
        end: chunk.file_range.end,
    };
    let cut = chunk.records.iter().filter(|r| r.truncated).count();
    if cut > 0 {
        metrics.truncated_records.add(cut as u64);
    }
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
