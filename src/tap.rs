//! Live copies of normalised events for `logferry tap`: a hub the control socket subscribes to, and
//! the per-source tap point the processor writes through.
//!
//! A tap never slows the pipeline: while nobody listens, a chunk costs one atomic load; while someone
//! does, matching events are JSON-encoded into a per-subscriber buffer and handed over with a
//! non-blocking send once per chunk. A subscriber that cannot keep up loses chunks, which are counted
//! and reported to it in the stream; the pipeline never waits for a tap.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::config::{Encoding, Framing, WireFormat};
use crate::encode::Encoder;
use crate::event::Event;
use crate::query::Query;

/// Chunks of encoded events that may wait for one subscriber before further ones are dropped.
const SUBSCRIBER_QUEUE: usize = 64;

/// What a subscriber wants to see.
#[derive(Debug, Clone)]
pub struct TapFilter {
    /// Only events of these sources; `None` is every source.
    pub sources: Option<BTreeSet<String>>,
    /// Only events matching this LogPoint query; `None` is every event.
    pub query: Option<Query>,
}

/// One listener: its filter, where its events go, and how many chunks it lost.
#[derive(Debug)]
struct Subscriber {
    id: u64,
    filter: TapFilter,
    to: mpsc::Sender<Bytes>,
    dropped: Arc<AtomicU64>,
}

/// The subscribers of one agent; shared by every source's [`TapPoint`] and the control socket.
#[derive(Debug, Default)]
pub struct TapHub {
    subscribers: Mutex<Vec<Arc<Subscriber>>>,
    /// `subscribers.len()`, readable without the lock.
    active: AtomicUsize,
    next_id: AtomicU64,
}

/// A subscription; dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    hub: Arc<TapHub>,
    id: u64,
    /// Chunks of newline-terminated JSON events.
    pub events: mpsc::Receiver<Bytes>,
    /// Chunks dropped because this subscriber was behind.
    pub dropped: Arc<AtomicU64>,
}

impl TapHub {
    /// Starts delivering events that pass `filter`.
    pub fn subscribe(self: &Arc<Self>, filter: TapFilter) -> Subscription {
        let (to, events) = mpsc::channel(SUBSCRIBER_QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let dropped = Arc::new(AtomicU64::new(0));
        let subscriber = Arc::new(Subscriber {
            id,
            filter,
            to,
            dropped: Arc::clone(&dropped),
        });
        if let Ok(mut subscribers) = self.subscribers.lock() {
            subscribers.push(subscriber);
            self.active.store(subscribers.len(), Ordering::Relaxed);
        }
        Subscription {
            hub: Arc::clone(self),
            id,
            events,
            dropped,
        }
    }

    /// The subscribers that want events of `source`, or none at all without taking the lock.
    fn listening_to(&self, source: &str) -> Vec<Arc<Subscriber>> {
        if self.active.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let Ok(subscribers) = self.subscribers.lock() else {
            return Vec::new();
        };
        subscribers
            .iter()
            .filter(|s| {
                s.filter
                    .sources
                    .as_ref()
                    .is_none_or(|sources| sources.contains(source))
            })
            .cloned()
            .collect()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut subscribers) = self.hub.subscribers.lock() {
            subscribers.retain(|s| s.id != self.id);
            self.hub.active.store(subscribers.len(), Ordering::Relaxed);
        }
    }
}

/// Where one source's processor hands events to the hub, chunk by chunk.
#[derive(Debug)]
pub struct TapPoint {
    hub: Arc<TapHub>,
    source: String,
    encoder: Encoder,
    /// The subscribers of the chunk being processed, each with its buffer.
    current: Vec<(Arc<Subscriber>, Vec<u8>)>,
}

impl TapPoint {
    pub fn new(hub: Arc<TapHub>, source: &str) -> Self {
        TapPoint {
            hub,
            source: source.to_string(),
            encoder: Encoder::new(WireFormat {
                encoding: Encoding::Json,
                rfc5424: false,
                framing: Framing::Lf,
                include_msg: true,
            }),
            current: Vec::new(),
        }
    }

    /// Starts a chunk; `false` when nobody listens to this source (then [`TapPoint::event`] need not
    /// be called for it).
    pub fn start_chunk(&mut self) -> bool {
        self.current = self
            .hub
            .listening_to(&self.source)
            .into_iter()
            .map(|s| (s, Vec::new()))
            .collect();
        !self.current.is_empty()
    }

    /// Copies `event` to every subscriber of this chunk whose query it matches.
    pub fn event(&mut self, event: &Event<'_>) {
        for (subscriber, buffer) in &mut self.current {
            if subscriber
                .filter
                .query
                .as_ref()
                .is_none_or(|q| q.matches(event))
            {
                self.encoder.write(event, buffer);
            }
        }
    }

    /// Hands the chunk's events over; a subscriber whose queue is full loses them (counted).
    pub fn finish_chunk(&mut self) {
        for (subscriber, buffer) in self.current.drain(..) {
            if buffer.is_empty() {
                continue;
            }
            if subscriber.to.try_send(Bytes::from(buffer)).is_err() {
                subscriber.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(source: &'static str, user: &'static str) -> Event<'static> {
        let mut event = Event::new("host", source);
        event.str("user", user);
        event
    }

    #[test]
    fn only_subscribed_sources_and_matching_events_reach_a_subscriber() {
        let hub = Arc::new(TapHub::default());
        let mut web = TapPoint::new(Arc::clone(&hub), "web");
        let mut auth = TapPoint::new(Arc::clone(&hub), "auth");
        assert!(!web.start_chunk(), "nobody listens yet");

        let mut sub = hub.subscribe(TapFilter {
            sources: Some(BTreeSet::from(["web".to_string()])),
            query: Some(Query::parse("user=ali*").unwrap()),
        });
        assert!(!auth.start_chunk());
        assert!(web.start_chunk());
        web.event(&event("web", "alice"));
        web.event(&event("web", "bob"));
        web.finish_chunk();
        let chunk = sub.events.try_recv().unwrap();
        let text = std::str::from_utf8(&chunk).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("\"user\":\"alice\""), "{text}");

        drop(sub);
        assert!(!web.start_chunk(), "dropping the subscription unsubscribes");
    }

    #[test]
    fn a_subscriber_that_falls_behind_loses_chunks_and_is_told() {
        let hub = Arc::new(TapHub::default());
        let mut web = TapPoint::new(Arc::clone(&hub), "web");
        let sub = hub.subscribe(TapFilter {
            sources: None,
            query: None,
        });
        for _ in 0..SUBSCRIBER_QUEUE + 5 {
            assert!(web.start_chunk());
            web.event(&event("web", "alice"));
            web.finish_chunk();
        }
        assert_eq!(sub.dropped.load(Ordering::Relaxed), 5);
    }
}
