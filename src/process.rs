//! The processing stage: records of one source → normalised events → one encoded buffer per wire
//! format → every sink that takes the source.
//!
//! Encoding happens once per distinct wire format, before fan-out, so sinks only frame-free write
//! bytes. Sending blocks while a sink's queue is full: that is the backpressure that stops a source
//! from reading ahead of its slowest sink.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

use crate::batch::{AckToken, BatchSender, Delivered, EncodedBatch, Receipt};
use crate::checkpoint::FileRange;
use crate::config::WireFormat;
use crate::encode::Encoder;
use crate::event::{Event, EventTime};
use crate::normalise::{Normaliser, RecordContext};
use crate::sources::tail::Chunk;

/// The sinks of one wire format.
#[derive(Debug)]
struct Route {
    encoder: Encoder,
    sinks: Vec<BatchSender>,
    buffer: Vec<u8>,
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
    acks: UnboundedSender<Delivered>,
}

impl Processor {
    /// `sinks` pairs each sink's queue with the wire format it wants.
    pub fn new(
        normaliser: Normaliser,
        sinks: Vec<(WireFormat, BatchSender)>,
        acks: UnboundedSender<Delivered>,
    ) -> Self {
        let sink_count = sinks.len();
        let mut routes: Vec<Route> = Vec::new();
        for (format, sender) in sinks {
            match routes.iter_mut().find(|r| r.encoder.format() == format) {
                Some(route) => route.sinks.push(sender),
                None => routes.push(Route {
                    encoder: Encoder::new(format),
                    sinks: vec![sender],
                    buffer: Vec::new(),
                }),
            }
        }
        Processor {
            normaliser,
            routes,
            sink_count,
            acks,
        }
    }

    /// Processes the records of `chunk`, read from file `range`, and sends them to every sink;
    /// blocks while a sink's queue is full. A chunk without records is acknowledged at once.
    pub fn send_chunk(
        &mut self,
        chunk: &Chunk,
        path: &str,
        range: FileRange,
        now: EventTime,
    ) -> Result<(), SinksClosed> {
        let receipt = Receipt {
            delivered: Delivered::File(range),
            to: self.acks.clone(),
        };
        if chunk.records.is_empty() {
            receipt.send();
            return Ok(());
        }
        let source_name = self.normaliser.source_name(path);
        let mut event = Event::new(self.normaliser.device_name(), source_name);
        for record in &chunk.records {
            event.reset();
            let ctx = RecordContext {
                now,
                truncated: record.truncated,
            };
            self.normaliser
                .normalise(&chunk.data[record.bytes.clone()], &ctx, &mut event);
            for route in &mut self.routes {
                route.encoder.write(&event, &mut route.buffer);
            }
        }
        let ack = AckToken::new(self.sink_count, receipt);
        let mut delivered_to = 0;
        for route in &mut self.routes {
            let capacity = route.buffer.capacity();
            let bytes = std::mem::replace(&mut route.buffer, Vec::with_capacity(capacity));
            let batch = Arc::new(EncodedBatch {
                bytes: Bytes::from(bytes),
                events: chunk.records.len(),
                ack: ack.clone(),
            });
            for sink in &route.sinks {
                if sink.blocking_send(Arc::clone(&batch)).is_ok() {
                    delivered_to += 1;
                }
            }
        }
        if delivered_to == 0 {
            return Err(SinksClosed);
        }
        Ok(())
    }
}
