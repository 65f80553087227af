//! Disk buffer per sink: batches wait in append-only segment files in `data_dir/buffers/<sink>/`
//! instead of the sink's memory queue, so a sink that is down neither loses them nor stops its
//! sources until the buffer is full.
//!
//! ```text
//! processor ──queue──▶ Writer ──append, fsync──▶ segments ──▶ Reader ──queue──▶ sink
//!    ▲  source acked once durable                   ▲ delete         │ buffer acked once delivered
//!    └─────────────────────────────────── Acknowledger ◀─────────────┘
//! ```
//!
//! - [`writer`]: appends each batch as a checksummed [`record`], fsyncs at least every
//!   `fsync_interval`, then acknowledges the batch to its source (the file checkpoint may move on:
//!   from then on the buffer owns the batch). A full buffer blocks or drops (`when_full`).
//! - [`reader`]: hands records to the sink as batches whose acknowledgement comes back here.
//! - [`acks`]: keeps the acknowledged position ([`position`], persisted atomically) and deletes
//!   segments whose records are all acknowledged.
//! - [`recover`]: at start, checks every record; a torn or corrupt tail is cut off, logged and
//!   counted, never a reason not to start. The reader replays from the persisted position.
//!
//! Memory stays bounded whatever `max_size`: the sources' queue in front of the writer
//! (`queue_batches`), the writer's batch and the last 4 it appended (for a reader that has caught
//! up), the reader's record, the sink's queue of [`SINK_QUEUE_BATCHES`] and what the sink holds
//! unacknowledged; the shared state keeps one entry per segment and per batch in flight at the sink.

mod acks;
mod log;
mod position;
mod reader;
mod record;
mod recover;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::batch::BatchSender;
use crate::config::DiskBufferConfig;
use crate::metrics::buffer::BufferMetrics;
use crate::metrics::{Counter, SinkMetrics};
use log::Shared;

/// The queue between a disk buffer's reader and its sink, in batches (its sources' queue keeps
/// `queue_batches`).
pub const SINK_QUEUE_BATCHES: usize = 2;

/// Segment files are at most this fraction of `max_size` (so that space is freed in steps)...
const SEGMENTS_PER_BUFFER: u64 = 8;
/// ...and at most this size.
const MAX_SEGMENT_BYTES: u64 = 128 << 20;

/// An opened disk buffer, ready to start.
pub struct DiskBuffer {
    shared: Arc<Shared>,
    config: DiskBufferConfig,
    next_seq: u64,
}

/// The directory of sink `sink`'s buffer: `data_dir/buffers/<sink>`, the name with every byte
/// other than ASCII letters, digits, `-` and `_` written as `%XX`.
pub fn directory(data_dir: &Path, sink: &str) -> PathBuf {
    let mut name = String::new();
    for b in sink.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    data_dir.join("buffers").join(name)
}

impl DiskBuffer {
    /// Opens sink `sink`'s buffer under `data_dir` and checks what it holds (see [`recover`]).
    pub fn open(
        sink: &str,
        config: DiskBufferConfig,
        data_dir: &Path,
        metrics: Arc<BufferMetrics>,
    ) -> anyhow::Result<DiskBuffer> {
        let dir = directory(data_dir, sink);
        let (log, next_seq) = recover::open(&dir, sink, &metrics)?;
        Ok(DiskBuffer {
            shared: Arc::new(Shared::new(sink, dir, metrics, log)),
            config,
            next_seq,
        })
    }

    /// Starts the writer and reader threads and the acknowledger in `tasks`; the reader feeds
    /// `output`, the sink's queue. Returns the queue the sink's sources send to (`queue_batches` long).
    pub fn start(
        self,
        queue_batches: usize,
        output: BatchSender,
        sink_metrics: Arc<SinkMetrics>,
        dropped: Arc<Counter>,
        abort: CancellationToken,
        tasks: &mut JoinSet<()>,
    ) -> BatchSender {
        let (input_tx, input_rx) = mpsc::channel(queue_batches);
        let (acks_tx, acks_rx) = mpsc::unbounded_channel();
        let segment_bytes = (self.config.max_bytes / SEGMENTS_PER_BUFFER).min(MAX_SEGMENT_BYTES);
        let writer = writer::Writer {
            shared: Arc::clone(&self.shared),
            input: input_rx,
            config: self.config,
            segment_bytes,
            next_seq: self.next_seq,
            sink_metrics: Arc::clone(&sink_metrics),
            dropped,
            abort,
        };
        let reader = reader::Reader {
            shared: Arc::clone(&self.shared),
            output,
            acks: acks_tx,
            skip_below: self.shared.lock().acked,
            sink_metrics,
        };
        let runtime = tokio::runtime::Handle::current();
        tasks.spawn_blocking(move || writer.run(&runtime));
        tasks.spawn_blocking(move || reader.run());
        tasks.spawn(acks::run(self.shared, acks_rx));
        input_tx
    }
}
