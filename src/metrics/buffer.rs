//! The metrics of a sink's disk buffer: how full it is and what it had to skip.

use super::exposition::{Exposition, Kind};
use super::{Counter, Gauge};

/// The metrics of one disk buffer.
///
/// Invariant: `bytes` is the size of the buffer's segment files; `events` counts the events appended
/// (or found at start) and not yet acknowledged by the sink.
#[derive(Debug, Default)]
pub struct BufferMetrics {
    pub bytes: Gauge,
    pub events: Gauge,
    /// `max_size` of the buffer.
    pub max_bytes: u64,
    /// Damaged records (torn or corrupt) found and skipped.
    pub corrupt_records: Counter,
}

impl BufferMetrics {
    /// Metrics of a buffer of at most `max_bytes`.
    pub fn new(max_bytes: u64) -> Self {
        BufferMetrics {
            max_bytes,
            ..BufferMetrics::default()
        }
    }
}

/// Renders the buffer families of every sink with a disk buffer.
pub(super) fn render(e: &mut Exposition, buffers: &[(String, std::sync::Arc<BufferMetrics>)]) {
    type BufferFamily = (&'static str, Kind, &'static str, fn(&BufferMetrics) -> i64);
    let families: [BufferFamily; 4] = [
        (
            "logferry_buffer_bytes",
            Kind::Gauge,
            "Bytes of the sink's disk buffer segment files.",
            |b| b.bytes.get(),
        ),
        (
            "logferry_buffer_events",
            Kind::Gauge,
            "Events in the sink's disk buffer not yet acknowledged by the sink.",
            |b| b.events.get(),
        ),
        (
            "logferry_buffer_max_bytes",
            Kind::Gauge,
            "max_size of the sink's disk buffer.",
            |b| b.max_bytes as i64,
        ),
        (
            "logferry_buffer_corrupt_records_total",
            Kind::Counter,
            "Torn or corrupt records found in the sink's disk buffer and skipped.",
            |b| b.corrupt_records.get() as i64,
        ),
    ];
    for (name, kind, help, value) in families {
        e.family(name, kind, help);
        for (sink, metrics) in buffers {
            e.sample(name, &[("sink", sink)], value(metrics));
        }
    }
}
