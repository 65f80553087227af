//! The processing stage: records of one source → normalised events → one encoded buffer per wire
//! format → every sink that takes the source.
//!
//! Encoding happens once per distinct wire format, before fan-out, so sinks only frame-free write
//! bytes. Sending blocks while a sink's queue is full: that is the backpressure that stops a source
//! from reading ahead of its slowest sink.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::batch::{AckToken, BatchSender, EncodedBatch, Receipt};
use crate::config::WireFormat;
use crate::encode::Encoder;
use crate::event::{Event, EventTime, Value};
use crate::metrics::{DeliveryTiming, SinkMetrics, SourceCounters};
use crate::normalise::{Normaliser, RecordContext};
use crate::pool::BufferPool;
use crate::routing::{IndexBuilder, TopicTemplate};
use crate::sources::tail::Chunk;
use crate::tap::TapPoint;

/// One sink's input, as the processor sees it.
#[derive(Debug)]
pub struct SinkInput {
    pub format: WireFormat,
    /// The topic of each event, for a sink that sends events one by one (its batches then carry
    /// an [`EventIndex`](crate::routing::EventIndex)).
    pub topic: Option<TopicTemplate>,
    pub queue: BatchSender,
    pub metrics: Arc<SinkMetrics>,
}

/// The sinks of one wire format (and topic template, for sinks that need an event index).
#[derive(Debug)]
struct Route {
    encoder: Encoder,
    index: Option<IndexBuilder>,
    sinks: Vec<(BatchSender, Arc<SinkMetrics>)>,
    buffer: Vec<u8>,
    /// Where `buffer` comes from and where sent batches' buffers return.
    pool: BufferPool,
}

/// Who sent a chunk over the network (syslog and HTTP sources), and what that decides on its events.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'s> {
    /// The peer's address: the `device_ip` (ip) field of every event.
    pub peer: IpAddr,
    /// The `device_name` of every event (an HTTP client's, a syslog source's fixed one); `None`
    /// takes each record's `host` field (the syslog header's hostname), else the peer's address.
    pub device_name: Option<&'s str>,
    /// The `application` field of every event (an HTTP client's), replacing one from the record.
    pub application: Option<&'s str>,
}

impl Sender<'_> {
    /// Sets what the sender decides on `event`; `peer` is the peer's address as text.
    fn stamp<'a>(&self, event: &mut Event<'a>, peer: &'a str)
    where
        Self: 'a,
    {
        event.device_name = match (self.device_name, event.get("host")) {
            (Some(name), _) => name,
            (None, Some(Value::Str(Cow::Borrowed(host)))) => host,
            (None, _) => peer,
        };
        if let Some(application) = self.application {
            event.fields.retain(|f| f.name != "application");
            event.str("application", application);
        }
        event.fields.retain(|f| f.name != "device_ip");
        event.dynamic(Cow::Borrowed("device_ip"), Value::Ip(Cow::Borrowed(peer)));
    }
}

/// Every sink of a source has stopped taking batches (only during shutdown).
#[derive(Debug, thiserror::Error)]
#[error("the sinks of this source have stopped")]
pub struct SinksClosed;

/// Normalises, encodes and fans out the batches of one source.
#[derive(Debug)]
pub struct Processor {
    normaliser: Normaliser,
    routes: Vec<Route>,
    sink_count: usize,
    counters: SourceCounters,
    tap: Option<TapPoint>,
}

impl Processor {
    /// `sinks` are the inputs of every sink that takes the source; `counters` its metrics.
    pub fn new(normaliser: Normaliser, sinks: Vec<SinkInput>, counters: SourceCounters) -> Self {
        let sink_count = sinks.len();
        let mut routes: Vec<Route> = Vec::new();
        for sink in sinks {
            let target = (sink.queue, sink.metrics);
            match routes.iter_mut().find(|r| {
                r.encoder.format() == sink.format
                    && r.index.as_ref().map(IndexBuilder::template) == sink.topic.as_ref()
            }) {
                Some(route) => route.sinks.push(target),
                None => routes.push(Route {
                    encoder: Encoder::new(sink.format),
                    index: sink.topic.map(IndexBuilder::new),
                    sinks: vec![target],
                    buffer: Vec::new(),
                    pool: BufferPool::default(),
                }),
            }
        }
        Processor {
            normaliser,
            routes,
            sink_count,
            counters,
            tap: None,
        }
    }

    /// Also copies every event to `tap` while someone listens there (`logferry tap`).
    pub fn with_tap(mut self, tap: TapPoint) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Processes the records of `chunk` (`bytes_read` bytes of input, from `origin`: a file path or a
    /// peer, the default `source_name`) and sends them to every sink; blocks while a sink's queue is
    /// full. `receipt` is sent once every sink has acknowledged them; a chunk without records is
    /// acknowledged at once.
    ///
    /// Metrics are counted once per chunk: events and bytes read, parse failures, and the latency
    /// clock starts now (the chunk has just been read).
    pub fn send_chunk(
        &mut self,
        chunk: &Chunk,
        origin: &str,
        bytes_read: u64,
        receipt: Receipt,
        now: EventTime,
    ) -> Result<(), SinksClosed> {
        self.send(chunk, origin, None, bytes_read, receipt, now)
    }

    /// Like [`Processor::send_chunk`] for records received from `sender` over the network: its
    /// events carry the sender's `device_name`, `device_ip` and `application` (see [`Sender`]).
    pub fn send_relayed(
        &mut self,
        chunk: &Chunk,
        sender: &Sender<'_>,
        bytes_read: u64,
        receipt: Receipt,
        now: EventTime,
    ) -> Result<(), SinksClosed> {
        self.send(chunk, "", Some(sender), bytes_read, receipt, now)
    }

    fn send(
        &mut self,
        chunk: &Chunk,
        origin: &str,
        sender: Option<&Sender<'_>>,
        bytes_read: u64,
        receipt: Receipt,
        now: EventTime,
    ) -> Result<(), SinksClosed> {
        let read_at = Instant::now();
        let events = chunk.records.len();
        self.counters.source.events.add(events as u64);
        self.counters.source.bytes.add(bytes_read);
        if chunk.records.is_empty() {
            receipt.send();
            return Ok(());
        }
        let source_name = self.normaliser.source_name(origin);
        let peer = sender.map(|s| s.peer.to_canonical().to_string());
        let device_name = self.normaliser.device_name();
        let mut event = Event::new(device_name, source_name);
        let mut parse_failures = 0;
        let mut tap = self.tap.as_mut();
        if tap.as_mut().is_some_and(|tap| !tap.start_chunk()) {
            tap = None;
        }
        for record in &chunk.records {
            event.reset();
            // A passed-through event names its own device and source; the next starts afresh.
            event.device_name = device_name;
            event.source_name = source_name;
            let ctx = RecordContext {
                now,
                truncated: record.truncated,
            };
            self.normaliser
                .normalise(&chunk.data[record.bytes.clone()], &ctx, &mut event);
            if let (Some(sender), Some(peer)) = (sender, &peer) {
                sender.stamp(&mut event, peer);
            }
            parse_failures += u64::from(event.parse_error.is_some());
            for route in &mut self.routes {
                let start = route.buffer.len();
                route.encoder.write(&event, &mut route.buffer);
                if let Some(index) = &mut route.index {
                    index.add(&event, &route.buffer, start);
                }
            }
            if let Some(tap) = &mut tap {
                tap.event(&event);
            }
        }
        if let Some(tap) = tap {
            tap.finish_chunk();
        }
        self.counters.parse_failures.add(parse_failures);
        let timing = DeliveryTiming {
            read_at,
            events: events as u64,
            latency: Arc::clone(&self.counters.latency),
        };
        let ack = AckToken::timed(self.sink_count, receipt, timing);
        let mut delivered_to = 0;
        for route in &mut self.routes {
            let next = route.pool.take(route.buffer.capacity());
            let bytes = std::mem::replace(&mut route.buffer, next);
            let batch = Arc::new(EncodedBatch {
                bytes: route.pool.share(bytes),
                events,
                ack: ack.clone(),
                index: route.index.as_mut().map(IndexBuilder::take),
            });
            for (queue, metrics) in &route.sinks {
                metrics.queued(events);
                if queue.blocking_send(Arc::clone(&batch)).is_ok() {
                    delivered_to += 1;
                } else {
                    metrics.refused(events);
                    self.counters.dropped_sink_stopped.add(events as u64);
                }
            }
        }
        if delivered_to == 0 {
            return Err(SinksClosed);
        }
        Ok(())
    }
}
