//! The writer of a disk buffer: appends each batch from the sink's queue as one record, fsyncs, and
//! only then acknowledges the batch to its source (from then on the buffer owns it).
//!
//! It runs on a blocking thread of its own. Batches are appended to the current segment; a segment
//! is closed (synced, then a new one started) once the next record would take it past the segment
//! size. Appended records wait at most `fsync_interval` for their fsync, and their sources'
//! acknowledgements wait for it too: a crash loses only records that no source counts as delivered.
//!
//! When the buffer is full (its segment files would pass `max_size`, and not everything is
//! acknowledged): `block` waits for the sink to acknowledge and the acknowledger to delete
//! segments, which stops the sources feeding the sink; `drop_newest` drops the batch, counts its
//! events in `logferry_events_dropped_total{reason="buffer_full"}` and acknowledges it to its source
//! (it is given up, and logged). A write error is logged and retried every second; a full
//! filesystem (`ENOSPC`, `EDQUOT`) is the buffer being full by another measure: `block` retries,
//! `drop_newest` drops and counts as above. When every record written is acknowledged, the current
//! segment is given up on a write error so that the acknowledger deletes it: a buffer that filled
//! its filesystem by itself frees it once the sink has delivered, instead of waiting for room
//! inside a segment that can never be deleted.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::runtime::Handle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::log::{Recent, Segment, Shared};
use super::record::{self, HEADER_LEN, SEGMENT_MAGIC};
use super::recover::segment_name;
use crate::batch::{AckToken, BatchReceiver, EncodedBatch};
use crate::config::{DiskBufferConfig, WhenFull};
use crate::metrics::{Counter, SinkMetrics};

/// How often a writer blocked on a full buffer or a failing disk looks again.
const RETRY: Duration = Duration::from_secs(1);

/// The segment the writer appends to.
struct Current {
    file: File,
    path: PathBuf,
    first_seq: u64,
    len: u64,
}

/// Appends a sink's batches to its disk buffer.
pub struct Writer {
    pub shared: Arc<Shared>,
    pub input: BatchReceiver,
    pub config: DiskBufferConfig,
    /// Segments are closed once they would grow past this.
    pub segment_bytes: u64,
    pub next_seq: u64,
    /// The sink's queue gauges, which the batch leaves for the buffer's.
    pub sink_metrics: Arc<SinkMetrics>,
    pub dropped: Arc<Counter>,
    pub abort: CancellationToken,
}

/// Whether a batch may be appended.
enum Room {
    Yes,
    Dropped,
    Aborted,
}

/// The writer's state while it runs.
struct Running {
    current: Option<Current>,
    /// Sources' acknowledgements of appended batches waiting for the next fsync.
    unsynced: Vec<AckToken>,
    last_sync: Instant,
    /// Since when the buffer has been full (until it is half empty again).
    full_since: Option<Instant>,
    /// Since when `drop_newest` has been dropping because the filesystem is full (until an append works).
    disk_full_since: Option<Instant>,
}

impl Writer {
    /// Runs until the sink's queue closes (then syncs and returns) or `abort`; `runtime` waits for the queue.
    pub fn run(mut self, runtime: &Handle) {
        let mut state = Running {
            current: None,
            unsynced: Vec::new(),
            last_sync: Instant::now(),
            full_since: None,
            disk_full_since: None,
        };
        loop {
            enum Wake {
                Batch(Arc<EncodedBatch>),
                SyncDue,
                Stop,
            }
            let sync_at =
                (!state.unsynced.is_empty()).then(|| state.last_sync + self.config.fsync_interval);
            let wake = runtime.block_on(async {
                tokio::select! {
                    biased;
                    () = self.abort.cancelled() => Wake::Stop,
                    batch = self.input.recv() => batch.map_or(Wake::Stop, Wake::Batch),
                    () = tokio::time::sleep_until(sync_at.unwrap_or_else(Instant::now)), if sync_at.is_some() => Wake::SyncDue,
                }
            });
            match wake {
                Wake::Batch(batch) => {
                    if !self.append(&mut state, &batch) {
                        break;
                    }
                    if state.last_sync.elapsed() >= self.config.fsync_interval {
                        self.sync(&mut state);
                    }
                }
                Wake::SyncDue => self.sync(&mut state),
                Wake::Stop => break,
            }
        }
        self.sync(&mut state);
        self.shared.lock().writer_done = true;
        self.shared.notify();
    }

    /// Appends `batch` (or drops it when full); `false` when aborted.
    fn append(&mut self, state: &mut Running, batch: &EncodedBatch) -> bool {
        let stored = HEADER_LEN + batch.bytes.len() as u64;
        match self.room(state, stored, batch) {
            Room::Yes => {}
            Room::Dropped => return true,
            Room::Aborted => return false,
        }
        let events = u32::try_from(batch.events).unwrap_or(u32::MAX);
        let mut failing = false;
        loop {
            match self.try_append(state, batch, events) {
                Ok(()) => break,
                Err(e) => {
                    self.give_up_delivered_segment(state);
                    if no_space(&e) && self.config.when_full == WhenFull::DropNewest {
                        self.drop_for_full_disk(state, batch, &e);
                        return true;
                    }
                    if !failing {
                        tracing::error!(sink = %self.shared.sink, dir = %self.shared.dir.display(), "cannot append to the disk buffer: {e:#}; retrying every second");
                        failing = true;
                    }
                    if self.abort.is_cancelled() {
                        return false;
                    }
                    std::thread::sleep(RETRY);
                }
            }
        }
        if failing || state.disk_full_since.take().is_some() {
            tracing::info!(sink = %self.shared.sink, dropped_events = self.dropped.get(), "appending to the disk buffer works again");
        }
        self.sink_metrics.left_for_disk_buffer(batch.events);
        state.unsynced.push(batch.ack.clone());
        true
    }

    /// `drop_newest` on a full filesystem: drops `batch` like a full buffer does (counted,
    /// acknowledged to its source); logged when it starts.
    fn drop_for_full_disk(&self, state: &mut Running, batch: &EncodedBatch, error: &anyhow::Error) {
        if state.disk_full_since.is_none() {
            state.disk_full_since = Some(Instant::now());
            tracing::error!(sink = %self.shared.sink, dir = %self.shared.dir.display(), "cannot append to the disk buffer: {error:#}; new batches are dropped (when_full = \"drop_newest\") until there is room");
        }
        self.dropped.add(batch.events as u64);
        self.sink_metrics.left_for_disk_buffer(batch.events);
        batch.ack();
    }

    /// After a failed append: if the current segment holds records and every record written is
    /// acknowledged, it is sealed and let go, so that the acknowledger deletes it and the next
    /// append starts a new one (named after the next record, so never after this one).
    fn give_up_delivered_segment(&self, state: &mut Running) {
        let holds_records = state
            .current
            .as_ref()
            .is_some_and(|c| c.len > SEGMENT_MAGIC.len() as u64);
        let mut log = self.shared.lock();
        if !holds_records || log.acked < self.next_seq {
            return;
        }
        if let Some(segment) = log.segments.back_mut() {
            segment.sealed = true;
        }
        drop(log);
        state.current = None;
        self.shared.notify();
    }

    /// Waits until a record of `stored` bytes fits (`block`) or drops `batch` (`drop_newest`).
    fn room(&self, state: &mut Running, stored: u64, batch: &EncodedBatch) -> Room {
        let mut log = self.shared.lock();
        loop {
            // A batch larger than the whole buffer is still taken once everything before it is delivered.
            let fits = log.bytes + stored <= self.config.max_bytes || log.acked >= self.next_seq;
            if fits {
                // Logged once it is half empty, not each time a deleted segment makes room for one batch.
                let half_empty = log.bytes + stored <= self.config.max_bytes / 2;
                if let Some(since) = state.full_since.filter(|_| half_empty) {
                    state.full_since = None;
                    tracing::info!(sink = %self.shared.sink, full_for = ?since.elapsed(), dropped_events = self.dropped.get(), "the disk buffer is half empty again");
                }
                return Room::Yes;
            }
            if state.full_since.is_none() {
                state.full_since = Some(Instant::now());
                let what = match self.config.when_full {
                    WhenFull::Block => "its sources wait until the sink catches up",
                    WhenFull::DropNewest => "new batches are dropped (when_full = \"drop_newest\")",
                };
                tracing::warn!(sink = %self.shared.sink, max_bytes = self.config.max_bytes, "the disk buffer is full: {what}");
            }
            match self.config.when_full {
                WhenFull::DropNewest => {
                    drop(log);
                    self.dropped.add(batch.events as u64);
                    self.sink_metrics.left_for_disk_buffer(batch.events);
                    batch.ack();
                    return Room::Dropped;
                }
                WhenFull::Block => {
                    if self.abort.is_cancelled() {
                        return Room::Aborted;
                    }
                    // Appended records must not wait for their fsync while the writer waits here.
                    if !state.unsynced.is_empty() {
                        drop(log);
                        self.sync(state);
                        log = self.shared.lock();
                        continue;
                    }
                    log = self.shared.wait(log, RETRY / 10);
                }
            }
        }
    }

    /// Writes one record, starting a new segment first if the current one is full, and publishes it.
    fn try_append(
        &mut self,
        state: &mut Running,
        batch: &EncodedBatch,
        events: u32,
    ) -> anyhow::Result<()> {
        let stored = HEADER_LEN + batch.bytes.len() as u64;
        let start_new = match &state.current {
            None => true,
            Some(c) => c.len > SEGMENT_MAGIC.len() as u64 && c.len + stored > self.segment_bytes,
        };
        if start_new {
            self.sync(state);
            self.start_segment(state)?;
        }
        let Some(current) = state.current.as_mut() else {
            anyhow::bail!("no segment open");
        };
        let header = record::header(self.next_seq, events, &batch.bytes)?;
        let written = current
            .file
            .write_all_at(&header, current.len)
            .and_then(|()| {
                current
                    .file
                    .write_all_at(&batch.bytes, current.len + HEADER_LEN)
            });
        if let Err(e) = written {
            // Whatever part was written lies beyond the published length: cut it off (if the disk
            // lets us), so that a restart does not find it as a damaged record.
            let _ = current.file.set_len(current.len);
            return Err(e).with_context(|| format!("writing {}", current.path.display()));
        }
        let offset = current.len;
        current.len += stored;
        let mut log = self.shared.lock();
        log.appended(Recent {
            segment: current.first_seq,
            offset,
            stored_len: stored,
            seq: self.next_seq,
            events,
            payload: batch.bytes.clone(),
        });
        if let Some(segment) = log
            .segments
            .back_mut()
            .filter(|s| s.first_seq == current.first_seq)
        {
            segment.len = current.len;
            segment.end_seq = self.next_seq + 1;
        }
        log.bytes += stored;
        drop(log);
        self.next_seq += 1;
        self.shared.metrics.bytes.add(stored as i64);
        self.shared.metrics.events.add(i64::from(events));
        self.shared.notify();
        Ok(())
    }

    /// Closes the current segment and starts the next, named after the next record's number.
    fn start_segment(&mut self, state: &mut Running) -> anyhow::Result<()> {
        let path = self.shared.dir.join(segment_name(self.next_seq));
        let created = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .and_then(|file| {
                file.write_all_at(SEGMENT_MAGIC, 0)?;
                file.sync_all()?;
                File::open(&self.shared.dir)?.sync_all()?;
                Ok(file)
            });
        let file = match created {
            Ok(file) => file,
            Err(e) => {
                // Not published: a restart must not find it as a segment without its magic.
                let _ = std::fs::remove_file(&path);
                return Err(e).with_context(|| format!("creating {}", path.display()));
            }
        };
        let len = SEGMENT_MAGIC.len() as u64;
        let mut log = self.shared.lock();
        if let Some(previous) = log.segments.back_mut() {
            previous.sealed = true;
        }
        log.segments.push_back(Segment {
            first_seq: self.next_seq,
            path: path.clone(),
            len,
            end_seq: self.next_seq,
            sealed: false,
        });
        log.bytes += len;
        drop(log);
        self.shared.metrics.bytes.add(len as i64);
        state.current = Some(Current {
            file,
            path,
            first_seq: self.next_seq,
            len,
        });
        Ok(())
    }

    /// Syncs the current segment and acknowledges the synced batches to their sources. If the sync
    /// fails, they are never acknowledged: their sources read them again after a restart.
    fn sync(&self, state: &mut Running) {
        state.last_sync = Instant::now();
        if state.unsynced.is_empty() {
            return;
        }
        let synced = match &state.current {
            Some(c) => c.file.sync_data(),
            None => Ok(()),
        };
        match synced {
            Ok(()) => state.unsynced.drain(..).for_each(|ack| ack.ack()),
            Err(e) => {
                tracing::error!(sink = %self.shared.sink, batches = state.unsynced.len(), "cannot fsync the disk buffer: {e}; these batches stay unacknowledged and are read again after a restart");
                state.unsynced.clear();
            }
        }
    }
}

/// Whether `error` says the filesystem (or the quota) has no room.
fn no_space(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded))
    })
}
