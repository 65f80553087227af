//! Kafka source: one member of a consumer group; each message is one record, normalised like a
//! line of a file of the source's `format` (`json` also passes through events logferry already
//! normalised, e.g. an edge agent's Kafka sink output).
//!
//! Acknowledgement: messages are gathered into batches (up to `batch_events`, at most `batch_wait`
//! old, one topic each) and handed to the processor with a receipt that reports the batch's id back
//! to this thread. A partition's offset is committed only up to the end of the longest prefix of its
//! batches that every sink acknowledged ([`OffsetTracker`]), every second and when partitions are
//! revoked or the source stops. A crash, or a partition moving to another member, re-delivers
//! what was not committed: duplicates, never losses.
//!
//! Runs on its own thread, like a file source: the processor blocks while a sink's queue is full,
//! and the consumer is not polled meanwhile (longer than librdkafka's `max.poll.interval.ms`, and
//! the group gives the partitions to another member). On stop, the pending batch is handed on, the
//! processor dropped, and the thread waits until every batch it handed out is acknowledged or
//! dropped (the pipeline's `shutdown_timeout` bounds that), commits, and leaves the group.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaResult;
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};

use super::kafka_offsets::{OffsetTracker, Partition};
use super::tail::{Chunk, Record};
use crate::batch::Receipt;
use crate::config::KafkaSourceConfig;
use crate::normalise::time::event_time_now;
use crate::process::Processor;

/// librdkafka settings that differ from librdkafka's defaults unless the configuration sets them:
/// a new group starts at the beginning of the topics, and rebalances are incremental (KIP-429): a
/// member keeps reading the partitions it keeps while others join or leave, and it rejoins with
/// what it owns, which also lets tansu 0.6's coordinator re-form a group after a member died (see
/// docs/scale-out.md).
const DEFAULTS: [(&str, &str); 2] = [
    ("auto.offset.reset", "earliest"),
    ("partition.assignment.strategy", "cooperative-sticky"),
];
/// How often acknowledged offsets are committed.
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);
/// The longest a poll waits, so that stop requests and acknowledgements are seen soon.
const POLL_WAIT: Duration = Duration::from_millis(50);

/// Asks a [`KafkaSource`] to stop.
#[derive(Debug, Clone)]
pub struct KafkaStop(Arc<AtomicBool>);

impl KafkaStop {
    /// The source hands on its pending batch and returns once its batches are settled.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Commits revoked partitions' offsets before they move, and keeps the tracker's assignment.
struct GroupContext {
    name: String,
    offsets: Arc<Mutex<OffsetTracker>>,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let revoked: HashSet<Partition> = partitions(list).collect();
        let Ok(mut offsets) = self.offsets.lock() else {
            return;
        };
        let committable = offsets.take_committable(Some(&revoked));
        commit(consumer, &committable, CommitMode::Sync, &self.name);
        offsets.revoked(&revoked);
        tracing::info!(source = %self.name, partitions = %describe(list), "partitions revoked");
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                if let Ok(mut offsets) = self.offsets.lock() {
                    offsets.assigned(partitions(list));
                }
                tracing::info!(source = %self.name, partitions = %describe(list), "partitions assigned");
            }
            Rebalance::Error(e) => tracing::warn!(source = %self.name, "rebalance failed: {e}"),
            Rebalance::Revoke(_) => {}
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _: &TopicPartitionList) {
        if let Err(e) = result {
            tracing::warn!(source = %self.name, "offset commit failed: {e}; the events are read again after a restart");
        }
    }
}

fn partitions(list: &TopicPartitionList) -> impl Iterator<Item = Partition> + '_ {
    list.elements()
        .into_iter()
        .map(|e| (e.topic().to_string(), e.partition()))
}

/// `topic/partition` of every element, for the log.
fn describe(list: &TopicPartitionList) -> String {
    let names: Vec<String> = partitions(list).map(|(t, p)| format!("{t}/{p}")).collect();
    names.join(",")
}

/// Commits `offsets` (each the next offset to read); failures are logged.
fn commit(
    consumer: &BaseConsumer<GroupContext>,
    offsets: &[(Partition, i64)],
    mode: CommitMode,
    name: &str,
) {
    if offsets.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::new();
    for ((topic, partition), end) in offsets {
        if let Err(e) = list.add_partition_offset(topic, *partition, Offset::Offset(*end)) {
            tracing::warn!(source = name, "cannot commit {topic}/{partition}: {e}");
        }
    }
    if let Err(e) = consumer.commit(&list, mode) {
        tracing::warn!(
            source = name,
            "offset commit failed: {e}; the events are read again after a restart"
        );
    }
}

/// A consumer-group member feeding one processor.
pub struct KafkaSource {
    name: String,
    consumer: BaseConsumer<GroupContext>,
    shipper: Shipper,
    acked_rx: Receiver<u64>,
    stop: Arc<AtomicBool>,
    batch_events: usize,
    batch_wait: Duration,
    max_bytes: usize,
}

/// Hands batches to the processor, each with a receipt that reports its id back.
struct Shipper {
    processor: Processor,
    offsets: Arc<Mutex<OffsetTracker>>,
    acked_tx: Sender<u64>,
    next_batch: u64,
}

/// The batch being gathered: its records, its topic, and the end offset per partition.
#[derive(Default)]
struct Pending {
    chunk: Chunk,
    topic: String,
    ends: Vec<(Partition, i64)>,
    bytes: u64,
    since: Option<Instant>,
}

impl KafkaSource {
    /// Creates the consumer and subscribes; bad librdkafka settings are an error now.
    pub fn new(
        name: &str,
        config: &KafkaSourceConfig,
        processor: Processor,
    ) -> anyhow::Result<KafkaSource> {
        let mut client = ClientConfig::new();
        for (key, value) in config.librdkafka.iter().flat_map(|t| t.get_ref()) {
            client.set(key, value.text());
        }
        client
            .set("bootstrap.servers", config.brokers.get_ref())
            .set("group.id", config.group_id.get_ref())
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        for (key, default) in DEFAULTS {
            if !client.config_map().contains_key(key) {
                client.set(key, default);
            }
        }
        let offsets = Arc::new(Mutex::new(OffsetTracker::default()));
        let context = GroupContext {
            name: name.to_string(),
            offsets: Arc::clone(&offsets),
        };
        let consumer: BaseConsumer<GroupContext> = client
            .create_with_context(context)
            .context("librdkafka refused the consumer settings")?;
        let topics: Vec<&str> = config.topics.get_ref().iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .context("cannot subscribe to the topics")?;
        let (acked_tx, acked_rx) = mpsc::channel();
        Ok(KafkaSource {
            name: name.to_string(),
            consumer,
            shipper: Shipper {
                processor,
                offsets,
                acked_tx,
                next_batch: 0,
            },
            acked_rx,
            stop: Arc::new(AtomicBool::new(false)),
            batch_events: config.batch_events,
            batch_wait: config.batch_wait,
            max_bytes: config.max_line_bytes,
        })
    }

    pub fn stop_handle(&self) -> KafkaStop {
        KafkaStop(Arc::clone(&self.stop))
    }

    /// Consumes until stopped or until every sink has gone away, then settles and commits.
    pub fn run(mut self) {
        let mut pending = Pending::default();
        let mut last_commit = Instant::now();
        let mut open = true;
        while open && !self.stop.load(Ordering::Acquire) {
            self.apply_acks();
            if last_commit.elapsed() >= COMMIT_INTERVAL {
                self.commit_acked(CommitMode::Async);
                last_commit = Instant::now();
            }
            let wait = match pending.since {
                Some(since) => self
                    .batch_wait
                    .saturating_sub(since.elapsed())
                    .min(POLL_WAIT),
                None => POLL_WAIT,
            };
            match self.consumer.poll(wait) {
                Some(Ok(message)) => {
                    if pending.since.is_some() && pending.topic != message.topic() {
                        open = self.shipper.ship(&mut pending);
                    }
                    pending.gather(&message, self.max_bytes);
                }
                Some(Err(e)) => tracing::warn!(source = %self.name, "kafka: {e}"),
                None => {}
            }
            let full = pending.chunk.records.len() >= self.batch_events;
            let due = pending
                .since
                .is_some_and(|s| s.elapsed() >= self.batch_wait);
            if open && (full || due) {
                open = self.shipper.ship(&mut pending);
            }
        }
        if open && pending.since.is_some() {
            self.shipper.ship(&mut pending);
        }
        self.settle();
    }

    /// Records the acknowledgements that arrived.
    fn apply_acks(&mut self) {
        let Ok(mut offsets) = self.shipper.offsets.lock() else {
            return;
        };
        while let Ok(batch) = self.acked_rx.try_recv() {
            offsets.acked(batch);
        }
    }

    fn commit_acked(&self, mode: CommitMode) {
        let committable = match self.shipper.offsets.lock() {
            Ok(mut offsets) => offsets.take_committable(None),
            Err(_) => return,
        };
        commit(&self.consumer, &committable, mode, &self.name);
    }

    /// Lets the sinks drain: drops the processor (and with it this source's queue ends), waits
    /// until each handed-out batch is acknowledged or dropped (every receipt holds a sender of
    /// `acked_rx`), then commits what was acknowledged and leaves the group.
    fn settle(self) {
        let KafkaSource {
            name,
            consumer,
            shipper,
            acked_rx,
            ..
        } = self;
        let Shipper {
            processor,
            offsets,
            acked_tx,
            ..
        } = shipper;
        drop(processor);
        drop(acked_tx);
        while let Ok(batch) = acked_rx.recv() {
            if let Ok(mut offsets) = offsets.lock() {
                offsets.acked(batch);
                if offsets.outstanding() == 0 {
                    break;
                }
            }
        }
        let committable = match offsets.lock() {
            Ok(mut offsets) => offsets.take_committable(None),
            Err(_) => Vec::new(),
        };
        commit(&consumer, &committable, CommitMode::Sync, &name);
        consumer.unsubscribe();
        tracing::info!(source = %name, "stopped");
    }
}

impl Shipper {
    /// Hands the pending batch to the processor and empties it; `false` once every sink has gone away.
    fn ship(&mut self, pending: &mut Pending) -> bool {
        let batch = self.next_batch;
        self.next_batch += 1;
        if let Ok(mut offsets) = self.offsets.lock() {
            offsets.handed_out(batch, &pending.ends);
        }
        let acked = self.acked_tx.clone();
        let receipt = Receipt::new(move || {
            let _ = acked.send(batch);
        });
        let sent = self.processor.send_chunk(
            &pending.chunk,
            &pending.topic,
            pending.bytes,
            receipt,
            event_time_now(),
        );
        pending.chunk.data.clear();
        pending.chunk.records.clear();
        pending.ends.clear();
        pending.bytes = 0;
        pending.since = None;
        sent.is_ok()
    }
}

impl Pending {
    /// Adds `message` (cut at `max_bytes`; an empty one only moves its partition's offset).
    fn gather(&mut self, message: &rdkafka::message::BorrowedMessage<'_>, max_bytes: usize) {
        if self.since.is_none() {
            self.since = Some(Instant::now());
            self.topic.clear();
            self.topic.push_str(message.topic());
        }
        let end = message.offset() + 1;
        let partition = message.partition();
        match self
            .ends
            .iter_mut()
            .find(|((t, p), _)| *p == partition && t == message.topic())
        {
            Some((_, e)) => *e = end,
            None => self
                .ends
                .push(((message.topic().to_string(), partition), end)),
        }
        let payload = message.payload().unwrap_or_default();
        self.bytes += payload.len() as u64;
        let payload = payload.strip_suffix(b"\n").unwrap_or(payload);
        if payload.is_empty() {
            return;
        }
        let kept = payload.len().min(max_bytes);
        let start = self.chunk.data.len();
        self.chunk.data.extend_from_slice(&payload[..kept]);
        self.chunk.records.push(Record {
            bytes: start..start + kept,
            truncated: kept < payload.len(),
        });
    }
}
