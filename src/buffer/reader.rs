//! The reader of a disk buffer: hands the records appended by the writer to the sink, in order,
//! each as a batch whose acknowledgement goes back to the buffer (not to the source, which was
//! acknowledged when the record became durable).
//!
//! It runs on a blocking thread of its own and reads only up to the length the writer has published,
//! so it never sees half a record. A record among the last few the writer appended (the reader has
//! caught up) is taken from memory instead of being read back: the same bytes, without the read and
//! its checksum. It starts at the first record not acknowledged before (a restart
//! replays what the sink had not acknowledged: duplicates are bounded by what was in flight). Sending
//! blocks while the sink's queue is full, so the memory it holds is the queue's few batches. When the
//! writer stops (shutdown), it goes on to the end of what was appended, so the sink drains the buffer
//! like a memory queue; a sink aborted after `shutdown_timeout` leaves the rest for the next start.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

use super::log::{Recent, Shared};
use super::record::{self, Read, SEGMENT_MAGIC};
use crate::batch::{AckToken, BatchSender, EncodedBatch, Receipt};
use crate::metrics::SinkMetrics;

/// How long the reader waits for the writer before looking again (and whether the sink is gone).
const IDLE_WAIT: Duration = Duration::from_millis(200);
/// How long the reader waits after a read error.
const RETRY: Duration = Duration::from_secs(1);

/// Feeds a sink from its disk buffer.
pub struct Reader {
    pub shared: Arc<Shared>,
    pub output: BatchSender,
    /// Where the numbers of the records the sink acknowledged go (the acknowledger).
    pub acks: UnboundedSender<u64>,
    /// Records numbered below this were acknowledged before the start.
    pub skip_below: u64,
    pub sink_metrics: Arc<SinkMetrics>,
}

/// The segment being read.
struct Position {
    first_seq: u64,
    /// Unbuffered, so bytes past the published length are never read early; sought to `offset`
    /// before each read (records handed from memory skip it).
    file: File,
    offset: u64,
}

/// What to do next.
enum Next {
    /// Read the next record, which lies within this many published bytes.
    Read(u64),
    /// The next record is one the writer just appended: hand it on from memory.
    Recent(Recent),
    Open {
        first_seq: u64,
        path: std::path::PathBuf,
    },
    Stop,
}

impl Reader {
    /// Runs until the writer has stopped and everything it appended is handed out, or the sink is gone.
    pub fn run(self) {
        let mut at: Option<Position> = None;
        loop {
            let next = self.next(at.as_ref());
            match next {
                Next::Stop => return,
                Next::Open { first_seq, path } => match open_segment(&path) {
                    Ok(file) => {
                        at = Some(Position {
                            first_seq,
                            file,
                            offset: SEGMENT_MAGIC.len() as u64,
                        })
                    }
                    Err(e) => {
                        tracing::error!(sink = %self.shared.sink, path = %path.display(), "cannot open a disk buffer segment: {e}; retrying");
                        std::thread::sleep(RETRY);
                    }
                },
                Next::Recent(r) => {
                    let Some(pos) = at.as_mut() else { continue };
                    pos.offset += r.stored_len;
                    if r.seq >= self.skip_below && !self.hand(r.seq, r.events, r.payload) {
                        return;
                    }
                }
                Next::Read(limit) => {
                    let Some(pos) = at.as_mut() else { continue };
                    let read = pos
                        .file
                        .seek(SeekFrom::Start(pos.offset))
                        .and_then(|_| record::read(&mut pos.file, limit));
                    match read {
                        Ok(Read::Record(r)) => {
                            pos.offset += r.stored_len();
                            let payload = Bytes::from(r.payload);
                            if r.seq >= self.skip_below && !self.hand(r.seq, r.events, payload) {
                                return;
                            }
                        }
                        Ok(Read::End) => {}
                        Ok(Read::Damaged(why)) => {
                            tracing::error!(sink = %self.shared.sink, offset = pos.offset, skipped_bytes = limit, "disk buffer: {why}; skipping the rest of what was written to this segment");
                            self.shared.metrics.corrupt_records.add(1);
                            pos.offset += limit;
                        }
                        Err(e) => {
                            tracing::error!(sink = %self.shared.sink, "cannot read the disk buffer: {e}; retrying");
                            std::thread::sleep(RETRY);
                        }
                    }
                }
            }
        }
    }

    /// Decides, under the lock, what to do from position `at`, waiting while there is nothing new.
    fn next(&self, at: Option<&Position>) -> Next {
        let mut log = self.shared.lock();
        loop {
            if self.output.is_closed() {
                return Next::Stop;
            }
            let current = at.and_then(|p| log.segments.iter().find(|s| s.first_seq == p.first_seq));
            if let (Some(p), Some(segment)) = (at, current) {
                if p.offset < segment.len {
                    return match log.recent_at(p.first_seq, p.offset) {
                        Some(recent) => Next::Recent(recent),
                        None => Next::Read(segment.len - p.offset),
                    };
                }
            }
            // The current segment is read to its end (or deleted): the next one, once there is one.
            let after = at.map(|p| p.first_seq);
            let following = log.segments.iter().find(|s| {
                after.is_none_or(|a| s.first_seq > a) && current.is_none_or(|c| c.sealed)
            });
            if let Some(segment) = following {
                return Next::Open {
                    first_seq: segment.first_seq,
                    path: segment.path.clone(),
                };
            }
            if log.writer_done {
                // Everything appended has been handed out.
                return Next::Stop;
            }
            log = self.shared.wait(log, IDLE_WAIT);
        }
    }

    /// Hands record `seq` (`events` events, `payload`) to the sink; `false` once the sink is gone.
    fn hand(&self, seq: u64, events: u32, payload: Bytes) -> bool {
        self.shared.lock().handed(seq, events);
        let events = events as usize;
        let acks = self.acks.clone();
        // The acknowledger is gone only once the sink is: the record is then sent again next start.
        let receipt = Receipt::new(move || {
            let _ = acks.send(seq);
        });
        let batch = Arc::new(EncodedBatch {
            bytes: payload,
            events,
            ack: AckToken::new(1, receipt),
            index: None,
        });
        self.sink_metrics.queued(events);
        if self.output.blocking_send(batch).is_err() {
            self.sink_metrics.refused(events);
            return false;
        }
        true
    }
}

fn open_segment(path: &std::path::Path) -> std::io::Result<File> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(SEGMENT_MAGIC.len() as u64))?;
    Ok(file)
}
