//! The acknowledger of a disk buffer: applies the sink's acknowledgements, persists the position,
//! and deletes the segments whose records are all acknowledged (making room for a blocked writer).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use super::log::Shared;
use super::position;

/// How often the position is persisted (if it moved) and acknowledged segments deleted.
const TRIM_INTERVAL: Duration = Duration::from_millis(250);

/// Runs until every sender of `acks` is gone (the reader has stopped and the sink has dropped or
/// acknowledged every batch), then persists the position a last time.
pub async fn run(shared: Arc<Shared>, mut acks: UnboundedReceiver<u64>) {
    let mut trimmer = Trimmer {
        persisted: shared.lock().acked,
        failing: false,
    };
    let mut tick = tokio::time::interval(TRIM_INTERVAL);
    loop {
        tokio::select! {
            acked = acks.recv() => match acked {
                Some(seq) => {
                    let events = shared.lock().ack(seq);
                    shared.metrics.events.add(-(events as i64));
                }
                None => break,
            },
            _ = tick.tick() => trimmer.trim(&shared),
        }
    }
    trimmer.trim(&shared);
}

struct Trimmer {
    /// The position last written.
    persisted: u64,
    /// Persisting failed last time (logged once until it works again).
    failing: bool,
}

impl Trimmer {
    /// Persists the position if it moved, then deletes the acknowledged sealed segments, oldest first.
    fn trim(&mut self, shared: &Shared) {
        let acked = shared.lock().acked;
        if acked != self.persisted {
            match position::store(&shared.dir, acked) {
                Ok(()) => {
                    self.persisted = acked;
                    if std::mem::take(&mut self.failing) {
                        tracing::info!(sink = %shared.sink, "the disk buffer position is written again");
                    }
                }
                Err(e) if !self.failing => {
                    self.failing = true;
                    tracing::error!(sink = %shared.sink, "cannot write the disk buffer position: {e:#}; after a restart the sink gets acknowledged records again");
                }
                Err(_) => {}
            }
        }
        let mut deleted = false;
        loop {
            let mut log = shared.lock();
            let done = log
                .segments
                .front()
                .is_some_and(|s| s.sealed && s.end_seq <= log.acked);
            if !done {
                break;
            }
            let Some(segment) = log.segments.pop_front() else {
                break;
            };
            log.bytes -= segment.len;
            drop(log);
            shared.metrics.bytes.add(-(segment.len as i64));
            if let Err(e) = std::fs::remove_file(&segment.path) {
                tracing::error!(sink = %shared.sink, path = %segment.path.display(), "cannot delete an acknowledged disk buffer segment: {e}");
            }
            deleted = true;
        }
        if deleted {
            shared.notify();
        }
    }
}
