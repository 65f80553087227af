//! The agent's own metrics: atomic counters and gauges per source, sink, format and reason, registered
//! at start and rendered in the Prometheus text format by the API ([`api`]).
//!
//! Cost on the data path: the processor and the sinks update plain atomics once per batch (a file
//! chunk of up to 256 KiB), never per event, and never allocate or lock for it; the latency
//! histogram takes one lock per acknowledged batch. Everything else (file sizes for the read lag,
//! quantiles, the text) is computed when `/metrics` is scraped.

pub mod api;
pub mod buffer;
pub mod exposition;
pub mod latency;
pub mod listener;

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::checkpoint::{Checkpoints, FileId};
use crate::config::Format;
use buffer::BufferMetrics;
use exposition::{Exposition, Kind};
use latency::{LatencySummary, QUANTILES};
use listener::ListenerMetrics;

/// At most this many files per source get a `logferry_file_read_lag_bytes` series.
pub const MAX_LAG_SERIES_PER_SOURCE: usize = 256;

/// A monotonic count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A file a source follows, as of its last scan.
#[derive(Debug, Clone)]
pub struct FollowedFile {
    pub path: String,
    pub id: FileId,
    /// The file's length at the last scan (used when `path` no longer names this file).
    pub len: u64,
}

/// The metrics of one source.
#[derive(Debug, Default)]
pub struct SourceMetrics {
    /// Records read and handed to the sinks.
    pub events: Counter,
    /// File bytes those records (with line ends, empty lines and skipped tails) account for.
    pub bytes: Counter,
    /// Records cut at `max_line_bytes` (labelled `Truncated`).
    pub truncated_records: Counter,
    /// Rotated-away or deleted files closed at `rotate_wait` before they were read to their end.
    pub given_up_files: Counter,
    /// The unread bytes of those files.
    pub given_up_bytes: Counter,
    /// Files at their end closed to stay within `max_open_files` (opened again when they grow).
    pub closed_for_limit: Counter,
    /// Paths matched by the include globs that are not regular files (directories, FIFOs, sockets,
    /// devices): never read, counted once per path.
    pub not_regular_files: Counter,
    /// Replaced by the source thread at each scan.
    files: Mutex<Vec<FollowedFile>>,
}

impl SourceMetrics {
    /// Publishes the files the source follows now.
    pub fn set_files(&self, files: Vec<FollowedFile>) {
        if let Ok(mut f) = self.files.lock() {
            *f = files;
        }
    }
}

/// The metrics of one sink.
///
/// Invariant: the processor calls [`SinkMetrics::queued`] for every batch it hands to the sink (and
/// [`SinkMetrics::refused`] if the handing failed), and the sink calls [`SinkMetrics::delivered`] when
/// it acknowledges it; so the buffer gauges count batches taken and not yet acknowledged.
#[derive(Debug, Default)]
pub struct SinkMetrics {
    pub events: Counter,
    pub bytes: Counter,
    buffer_batches: Gauge,
    buffer_events: Gauge,
    /// The sink's queue capacity in batches.
    pub capacity_batches: u64,
    connected: AtomicBool,
    failing: AtomicBool,
    ever_connected: AtomicBool,
    pub reconnects: Counter,
    /// Events the destination refuses for good (a Kafka message over the broker's size limit),
    /// dropped and logged.
    pub rejected: Counter,
}

impl SinkMetrics {
    /// Metrics of a sink whose queue holds `capacity_batches`.
    pub fn new(capacity_batches: usize) -> Self {
        SinkMetrics {
            capacity_batches: capacity_batches as u64,
            ..SinkMetrics::default()
        }
    }

    /// A batch of `events` is about to be handed to the sink.
    pub fn queued(&self, events: usize) {
        self.buffer_batches.add(1);
        self.buffer_events.add(events as i64);
    }

    /// The sink did not take a batch announced by [`SinkMetrics::queued`].
    pub fn refused(&self, events: usize) {
        self.buffer_batches.add(-1);
        self.buffer_events.add(-(events as i64));
    }

    /// A batch announced by [`SinkMetrics::queued`] left the queue into the sink's disk buffer (or
    /// was dropped by a full one): the buffer's own gauges count it from now on.
    pub fn left_for_disk_buffer(&self, events: usize) {
        self.refused(events);
    }

    /// The sink acknowledged `batches` batches holding `events` events in `bytes` bytes.
    pub fn delivered(&self, batches: usize, events: usize, bytes: usize) {
        self.events.add(events as u64);
        self.bytes.add(bytes as u64);
        self.buffer_batches.add(-(batches as i64));
        self.buffer_events.add(-(events as i64));
    }

    /// A connection was established; counts a reconnect unless it is the sink's first.
    pub fn connected(&self) {
        if self.ever_connected.swap(true, Ordering::Relaxed) {
            self.reconnects.add(1);
        }
        self.connected.store(true, Ordering::Relaxed);
        self.failing.store(false, Ordering::Relaxed);
    }

    /// The connection was closed (by either side, or at shutdown) without a failure.
    pub fn disconnected(&self) {
        self.connected.store(false, Ordering::Relaxed);
    }

    /// Connecting or writing failed, or the sink stopped: it is failing until it connects again.
    pub fn failed(&self) {
        self.connected.store(false, Ordering::Relaxed);
        self.failing.store(true, Ordering::Relaxed);
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }
}

/// Why events were not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// A sink had stopped (console sink on a closed stdout, sinks aborted at shutdown); the events
    /// stay unacknowledged and are read again on the next start.
    SinkStopped,
    /// A sink's full disk buffer with `when_full = "drop_newest"` dropped them; they are given up.
    BufferFull,
}

impl DropReason {
    const ALL: [DropReason; 2] = [DropReason::SinkStopped, DropReason::BufferFull];

    fn label(self) -> &'static str {
        match self {
            DropReason::SinkStopped => "sink_stopped",
            DropReason::BufferFull => "buffer_full",
        }
    }
}

/// What one source's processor updates.
#[derive(Debug, Clone)]
pub struct SourceCounters {
    pub source: Arc<SourceMetrics>,
    /// Records of the source's format that became `norm_id=Raw`.
    pub parse_failures: Arc<Counter>,
    pub dropped_sink_stopped: Arc<Counter>,
    pub latency: Arc<LatencySummary>,
}

/// Every metric of the running agent.
#[derive(Debug)]
pub struct Metrics {
    sources: Vec<(String, Arc<SourceMetrics>)>,
    sinks: Vec<(String, Arc<SinkMetrics>)>,
    listeners: Vec<(String, Arc<ListenerMetrics>)>,
    buffers: Vec<(String, Arc<BufferMetrics>)>,
    parse_failures: Vec<(Format, Arc<Counter>)>,
    dropped: Vec<(DropReason, Arc<Counter>)>,
    latency: Arc<LatencySummary>,
    checkpoints: Arc<Mutex<Checkpoints>>,
}

impl Metrics {
    /// An empty registry; delivered offsets for the read lag come from `checkpoints`.
    pub fn new(checkpoints: Arc<Mutex<Checkpoints>>) -> Self {
        Metrics {
            sources: Vec::new(),
            sinks: Vec::new(),
            listeners: Vec::new(),
            buffers: Vec::new(),
            parse_failures: Vec::new(),
            dropped: DropReason::ALL
                .iter()
                .map(|r| (*r, Arc::default()))
                .collect(),
            latency: Arc::default(),
            checkpoints,
        }
    }

    /// Registers a sink's metrics under `name`.
    pub fn add_sink(&mut self, name: &str, metrics: Arc<SinkMetrics>) {
        self.sinks.push((name.to_string(), metrics));
    }

    /// Registers the listener metrics of network source `name`.
    pub fn add_listener(&mut self, name: &str) -> Arc<ListenerMetrics> {
        let metrics = Arc::new(ListenerMetrics::default());
        self.listeners
            .push((name.to_string(), Arc::clone(&metrics)));
        metrics
    }

    /// Registers the disk buffer of sink `name`; returns the counter of the events it drops when full.
    pub fn add_buffer(&mut self, name: &str, metrics: Arc<BufferMetrics>) -> Arc<Counter> {
        self.buffers.push((name.to_string(), metrics));
        self.dropped_counter(DropReason::BufferFull)
    }

    /// Registers source `name` reading `format`; returns what its processor updates.
    pub fn add_source(&mut self, name: &str, format: Format) -> SourceCounters {
        let source = Arc::new(SourceMetrics::default());
        self.sources.push((name.to_string(), Arc::clone(&source)));
        let parse_failures = match self.parse_failures.iter().find(|(f, _)| *f == format) {
            Some((_, counter)) => Arc::clone(counter),
            None => {
                let counter = Arc::new(Counter::default());
                self.parse_failures.push((format, Arc::clone(&counter)));
                counter
            }
        };
        SourceCounters {
            source,
            parse_failures,
            dropped_sink_stopped: self.dropped_counter(DropReason::SinkStopped),
            latency: Arc::clone(&self.latency),
        }
    }

    fn dropped_counter(&self, reason: DropReason) -> Arc<Counter> {
        self.dropped
            .iter()
            .find(|(r, _)| *r == reason)
            .map(|(_, c)| Arc::clone(c))
            .unwrap_or_default()
    }

    /// The sinks that are failing now (readiness is false while there is one).
    pub fn failing_sinks(&self) -> Vec<&str> {
        self.sinks
            .iter()
            .filter(|(_, s)| s.is_failing())
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut e = Exposition::default();
        self.render_sources(&mut e);
        self.render_sinks(&mut e);
        listener::render(&self.listeners, &mut e);
        buffer::render(&mut e, &self.buffers);
        e.family(
            "logferry_events_dropped_total",
            Kind::Counter,
            "Events not delivered to a sink, by reason: sink_stopped (they stay unacknowledged and are read again on the next start), buffer_full (given up by a full disk buffer with when_full = \"drop_newest\").",
        );
        for (reason, counter) in &self.dropped {
            e.sample(
                "logferry_events_dropped_total",
                &[("reason", reason.label())],
                counter.get(),
            );
        }
        e.family(
            "logferry_parse_failures_total",
            Kind::Counter,
            "Records that did not parse as their source's format and were sent as norm_id=Raw.",
        );
        for (format, counter) in &self.parse_failures {
            e.sample(
                "logferry_parse_failures_total",
                &[("format", format.name())],
                counter.get(),
            );
        }
        let latency = self.latency.snapshot();
        let name = "logferry_end_to_end_latency_seconds";
        e.family(
            name,
            Kind::Summary,
            "From the read of the chunk holding an event to the acknowledgement by the last sink taking it; quantiles over the last 1-2 minutes.",
        );
        for ((_, label), value) in QUANTILES.iter().zip(latency.quantiles) {
            e.sample(name, &[("quantile", label)], value);
        }
        e.sample(
            "logferry_end_to_end_latency_seconds_sum",
            &[],
            latency.sum_seconds,
        );
        e.sample(
            "logferry_end_to_end_latency_seconds_count",
            &[],
            latency.count,
        );
        e.finish()
    }

    fn render_sources(&self, e: &mut Exposition) {
        type SourceFamily = (&'static str, &'static str, fn(&SourceMetrics) -> u64);
        let families: [SourceFamily; 7] = [
            (
                "logferry_source_events_total",
                "Records read by the source and handed to its sinks.",
                |s| s.events.get(),
            ),
            (
                "logferry_source_bytes_total",
                "File bytes read by the source (records, line ends, empty lines, skipped tails of over-long lines).",
                |s| s.bytes.get(),
            ),
            (
                "logferry_source_records_truncated_total",
                "Records cut at max_line_bytes and labelled Truncated.",
                |s| s.truncated_records.get(),
            ),
            (
                "logferry_source_rotated_files_given_up_total",
                "Rotated-away or deleted files closed at rotate_wait before they were read to their end.",
                |s| s.given_up_files.get(),
            ),
            (
                "logferry_source_rotated_bytes_given_up_total",
                "Unread bytes of the rotated-away or deleted files given up at rotate_wait.",
                |s| s.given_up_bytes.get(),
            ),
            (
                "logferry_source_files_closed_for_limit_total",
                "Files at their end closed to stay within max_open_files (opened again when they grow).",
                |s| s.closed_for_limit.get(),
            ),
            (
                "logferry_source_not_regular_files_total",
                "Paths matched by include that are not regular files (directories, FIFOs, ...): never read, counted once per path.",
                |s| s.not_regular_files.get(),
            ),
        ];
        for (name, help, value) in families {
            e.family(name, Kind::Counter, help);
            for (source, metrics) in &self.sources {
                e.sample(name, &[("source", source)], value(metrics));
            }
        }
        let followed: Vec<(&str, Vec<FollowedFile>)> = self
            .sources
            .iter()
            .map(|(name, m)| {
                let files = m.files.lock().map(|f| f.clone()).unwrap_or_default();
                (name.as_str(), files)
            })
            .collect();
        e.family(
            "logferry_source_files",
            Kind::Gauge,
            "Files the source follows (as of its last scan).",
        );
        for (source, files) in &followed {
            e.sample(
                "logferry_source_files",
                &[("source", source)],
                files.len() as u64,
            );
        }
        e.family(
            "logferry_file_read_lag_bytes",
            Kind::Gauge,
            "File length minus the offset delivered to every sink, per followed file (at most 256 per source).",
        );
        // File lengths first: a slow `stat` must not hold the checkpoint store's lock.
        let lengths: Vec<Vec<u64>> = followed
            .iter()
            .map(|(_, files)| {
                files
                    .iter()
                    .take(MAX_LAG_SERIES_PER_SOURCE)
                    .map(current_len)
                    .collect()
            })
            .collect();
        let Ok(checkpoints) = self.checkpoints.lock() else {
            return;
        };
        for ((source, files), lengths) in followed.iter().zip(&lengths) {
            for (file, len) in files.iter().zip(lengths) {
                let delivered = checkpoints.offset(&file.id).unwrap_or(0);
                e.sample(
                    "logferry_file_read_lag_bytes",
                    &[("source", source), ("path", &file.path)],
                    len.saturating_sub(delivered),
                );
            }
        }
    }

    fn render_sinks(&self, e: &mut Exposition) {
        type SinkFamily = (&'static str, Kind, &'static str, fn(&SinkMetrics) -> i64);
        let families: [SinkFamily; 8] = [
            (
                "logferry_sink_events_total",
                Kind::Counter,
                "Events the sink acknowledged (delivered), rewrites after a reconnect not counted again.",
                |s| s.events.get() as i64,
            ),
            (
                "logferry_sink_bytes_total",
                Kind::Counter,
                "Encoded bytes (envelope and framing included) the sink acknowledged.",
                |s| s.bytes.get() as i64,
            ),
            (
                "logferry_sink_buffer_batches",
                Kind::Gauge,
                "Batches handed to the sink and not yet acknowledged by it (queued or being written).",
                |s| s.buffer_batches.get(),
            ),
            (
                "logferry_sink_buffer_events",
                Kind::Gauge,
                "Events in those batches.",
                |s| s.buffer_events.get(),
            ),
            (
                "logferry_sink_buffer_capacity_batches",
                Kind::Gauge,
                "Capacity of the sink's queue in batches (queue_batches).",
                |s| s.capacity_batches as i64,
            ),
            (
                "logferry_sink_connected",
                Kind::Gauge,
                "1 while the sink has an open connection (stdout for console sinks), else 0.",
                |s| i64::from(s.is_connected()),
            ),
            (
                "logferry_sink_reconnects_total",
                Kind::Counter,
                "Connections established after the sink's first one.",
                |s| s.reconnects.get() as i64,
            ),
            (
                "logferry_sink_rejected_events_total",
                Kind::Counter,
                "Events the destination refuses for good (Kafka: larger than the broker takes), dropped and logged.",
                |s| s.rejected.get() as i64,
            ),
        ];
        for (name, kind, help, value) in families {
            e.family(name, kind, help);
            for (sink, metrics) in &self.sinks {
                e.sample(name, &[("sink", sink)], value(metrics));
            }
        }
    }
}

/// The file's length now if its path still names it, else its length at the last scan.
fn current_len(file: &FollowedFile) -> u64 {
    match std::fs::metadata(&file.path) {
        Ok(meta) if meta.dev() == file.id.dev && meta.ino() == file.id.ino => meta.len(),
        _ => file.len,
    }
}

/// When a batch was read and how many events it holds, for the latency recorded at its last ack.
#[derive(Debug)]
pub struct DeliveryTiming {
    pub read_at: Instant,
    pub events: u64,
    pub latency: Arc<LatencySummary>,
}

impl DeliveryTiming {
    /// Records the latency from the read until now for every event of the batch.
    pub fn record(&self) {
        self.latency.record(self.read_at.elapsed(), self.events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> (Metrics, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let checkpoints = Arc::new(Mutex::new(Checkpoints::load(dir.path()).unwrap()));
        (Metrics::new(checkpoints), dir)
    }

    #[test]
    fn registered_series_exist_at_zero() {
        let (mut metrics, _dir) = registry();
        metrics.add_sink("out", Arc::new(SinkMetrics::new(16)));
        let web = metrics.add_source("web", Format::ApacheAccess);
        let other = metrics.add_source("other", Format::ApacheAccess);
        assert!(Arc::ptr_eq(&web.parse_failures, &other.parse_failures));
        let text = metrics.render();
        for line in [
            "logferry_source_events_total{source=\"web\"} 0",
            "logferry_source_events_total{source=\"other\"} 0",
            "logferry_sink_events_total{sink=\"out\"} 0",
            "logferry_sink_buffer_capacity_batches{sink=\"out\"} 16",
            "logferry_parse_failures_total{format=\"apache_access\"} 0",
            "logferry_events_dropped_total{reason=\"sink_stopped\"} 0",
            "logferry_events_dropped_total{reason=\"buffer_full\"} 0",
            "logferry_end_to_end_latency_seconds{quantile=\"0.99\"} NaN",
            "logferry_end_to_end_latency_seconds_count 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert_eq!(
            text.matches("# TYPE logferry_parse_failures_total").count(),
            1
        );
    }

    #[test]
    fn sink_state_and_buffer() {
        let sink = SinkMetrics::new(4);
        assert!(!sink.is_failing() && !sink.is_connected());
        sink.failed();
        assert!(sink.is_failing());
        sink.connected();
        assert!(sink.is_connected() && !sink.is_failing());
        assert_eq!(
            sink.reconnects.get(),
            0,
            "the first connection is no reconnect"
        );
        sink.disconnected();
        assert!(!sink.is_failing());
        sink.connected();
        assert_eq!(sink.reconnects.get(), 1);
        sink.queued(10);
        sink.queued(5);
        sink.refused(5);
        sink.delivered(1, 10, 300);
        assert_eq!(
            (sink.buffer_batches.get(), sink.buffer_events.get()),
            (0, 0)
        );
        assert_eq!((sink.events.get(), sink.bytes.get()), (10, 300));
    }

    #[test]
    fn failing_sinks_are_named() {
        let (mut metrics, _dir) = registry();
        let a = Arc::new(SinkMetrics::new(1));
        metrics.add_sink("a", Arc::clone(&a));
        metrics.add_sink("b", Arc::new(SinkMetrics::new(1)));
        assert!(metrics.failing_sinks().is_empty());
        a.failed();
        assert_eq!(metrics.failing_sinks(), vec!["a"]);
    }

    #[test]
    fn read_lag_of_a_followed_file() {
        let (mut metrics, dir) = registry();
        let counters = metrics.add_source("web", Format::Syslog);
        let path = dir.path().join("a \"quoted\".log");
        std::fs::write(&path, "0123456789").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let id = FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            fingerprint: 1,
        };
        let path_text = path.to_string_lossy().into_owned();
        metrics
            .checkpoints
            .lock()
            .unwrap()
            .track(id, &path_text, 4, 0);
        counters.source.set_files(vec![FollowedFile {
            path: path_text.clone(),
            id,
            len: 7,
        }]);
        let escaped = path_text.replace('"', "\\\"");
        let line = format!("logferry_file_read_lag_bytes{{source=\"web\",path=\"{escaped}\"}} 6");
        let text = metrics.render();
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        assert!(
            text.contains("logferry_source_files{source=\"web\"} 1"),
            "{text}"
        );
    }
}
