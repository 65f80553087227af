//! What a disk buffer's writer, reader and acknowledger share: the segments on disk, how far the
//! sink has acknowledged, and a condition variable for "something changed".

use std::collections::{BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use crate::metrics::buffer::BufferMetrics;

/// How many of the last appended records the writer keeps in memory for the reader.
const RECENT_RECORDS: usize = 4;

/// A record just appended, kept in memory so that a reader that has caught up with the writer
/// hands it on without reading it back (the same bytes as on disk).
#[derive(Debug, Clone)]
pub struct Recent {
    /// Where it is stored: the segment's first record number and the offset in it.
    pub segment: u64,
    pub offset: u64,
    /// Bytes it takes in the segment, header included.
    pub stored_len: u64,
    pub seq: u64,
    pub events: u32,
    pub payload: Bytes,
}

/// One segment file.
///
/// Invariant: bytes `0..len` of the file are the segment magic and whole, intact records
/// numbered `first_seq..end_seq` (with gaps only where damaged records were skipped).
#[derive(Debug)]
pub struct Segment {
    pub first_seq: u64,
    pub path: PathBuf,
    pub len: u64,
    /// One more than the number of its last record (`first_seq` while it holds none).
    pub end_seq: u64,
    /// No more records will be appended (every segment but the writer's current one).
    pub sealed: bool,
}

/// The state behind [`Shared`]'s lock.
#[derive(Debug, Default)]
pub struct Log {
    /// Oldest first.
    pub segments: VecDeque<Segment>,
    /// The sum of the segments' `len`.
    pub bytes: u64,
    /// Every record numbered below this has been acknowledged by the sink or skipped.
    pub acked: u64,
    /// Records handed to the sink and not yet part of `acked`, in the order handed: (seq, events).
    handed: VecDeque<(u64, u32)>,
    /// Acknowledged records still behind an unacknowledged one in `handed`.
    acked_early: BTreeSet<u64>,
    /// The writer has stopped (shutdown): once the reader has handed out everything, it stops too.
    pub writer_done: bool,
    /// The last records appended, oldest first, at most [`RECENT_RECORDS`].
    recent: VecDeque<Recent>,
}

impl Log {
    /// No segment yet; records numbered below `acked` were acknowledged before.
    pub fn new(acked: u64) -> Self {
        Log {
            acked,
            ..Log::default()
        }
    }

    /// The writer appended `record`; the oldest kept one makes room.
    pub fn appended(&mut self, record: Recent) {
        if self.recent.len() == RECENT_RECORDS {
            self.recent.pop_front();
        }
        self.recent.push_back(record);
    }

    /// The record stored at `offset` of segment `segment`, if it is one of the last appended.
    pub fn recent_at(&self, segment: u64, offset: u64) -> Option<Recent> {
        self.recent
            .iter()
            .find(|r| r.segment == segment && r.offset == offset)
            .cloned()
    }

    /// The reader is handing record `seq` of `events` events to the sink.
    pub fn handed(&mut self, seq: u64, events: u32) {
        self.handed.push_back((seq, events));
    }

    /// The sink acknowledged record `seq`; returns the events that joined the acknowledged prefix.
    pub fn ack(&mut self, seq: u64) -> u64 {
        self.acked_early.insert(seq);
        let mut events = 0;
        while let Some(&(first, n)) = self.handed.front() {
            if !self.acked_early.remove(&first) {
                break;
            }
            self.handed.pop_front();
            self.acked = first + 1;
            events += u64::from(n);
        }
        events
    }
}

/// A disk buffer's shared state.
#[derive(Debug)]
pub struct Shared {
    pub sink: String,
    pub dir: PathBuf,
    pub metrics: Arc<BufferMetrics>,
    log: Mutex<Log>,
    changed: Condvar,
}

impl Shared {
    pub fn new(sink: &str, dir: PathBuf, metrics: Arc<BufferMetrics>, log: Log) -> Self {
        Shared {
            sink: sink.to_string(),
            dir,
            metrics,
            log: Mutex::new(log),
            changed: Condvar::new(),
        }
    }

    /// The state; a panic elsewhere while holding it leaves it consistent enough to go on.
    pub fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits at most `limit` for [`Shared::notify`].
    pub fn wait<'a>(&self, log: MutexGuard<'a, Log>, limit: Duration) -> MutexGuard<'a, Log> {
        match self.changed.wait_timeout(log, limit) {
            Ok((log, _)) => log,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    /// Wakes whoever waits: records were appended, segments deleted, or the writer stopped.
    pub fn notify(&self) {
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_records_appended() {
        let mut log = Log::default();
        for seq in 0..=RECENT_RECORDS as u64 {
            log.appended(Recent {
                segment: 0,
                offset: 8 + seq * 100,
                stored_len: 100,
                seq,
                events: 1,
                payload: Bytes::from_static(b"x\n"),
            });
        }
        assert!(log.recent_at(0, 8).is_none(), "the oldest made room");
        assert_eq!(log.recent_at(0, 108).map(|r| r.seq), Some(1));
        assert!(log.recent_at(1, 108).is_none(), "another segment");
    }

    #[test]
    fn acknowledged_prefix_follows_the_order_handed() {
        let mut log = Log {
            acked: 5,
            ..Log::default()
        };
        for seq in [5, 6, 9] {
            log.handed(seq, 10);
        }
        assert_eq!(log.ack(6), 0);
        assert_eq!(log.acked, 5);
        assert_eq!(log.ack(5), 20);
        assert_eq!(log.acked, 7);
        assert_eq!(log.ack(9), 10, "7 and 8 were skipped, never handed");
        assert_eq!(log.acked, 10);
    }
}
