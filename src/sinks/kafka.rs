//! Kafka sink: every event becomes one message (topic from the sink's template, key `device_name`),
//! produced by an idempotent librdkafka producer with `acks=all`.
//!
//! Acknowledgement: a batch is acknowledged once the delivery report of every one of its messages
//! says the broker stored it (with `acks=all`: every in-sync replica). Batches are handed to
//! librdkafka in the order they arrive, each message in batch order, so one key's messages stay in
//! order (idempotence keeps librdkafka's own retries from reordering or duplicating them). A failed
//! delivery report (the broker unreachable for librdkafka's `message.timeout.ms`, a missing topic)
//! makes the sink produce that message again after a backoff delay, for as long as it takes: a
//! message is never dropped silently. Such a message may then land after later messages of its key.
//!
//! The one exception is a message the broker can never take (larger than its `message.max.bytes`):
//! it is dropped, logged as an error with its topic, key and size, and counted in
//! `logferry_sink_rejected_events_total`, so that one oversized event cannot stop the pipeline.
//!
//! At most `queue_batches` batches wait for delivery reports at once; then the sink takes no more
//! input and its sources wait. When aborted, batches not fully delivered stay unacknowledged and are
//! read again after a restart.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureRecord, Producer as _};
use rdkafka::ClientConfig;
use tokio::sync::Mutex;
use tokio::task::JoinSet;
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::kafka_client::{self, Producer, TopicCreator};
use crate::batch::{BatchReceiver, EncodedBatch};
use crate::config::KafkaSinkConfig;
use crate::metrics::SinkMetrics;
use crate::routing::EventIndex;

/// How long to wait before offering a message again when librdkafka's local queue is full.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(5);
/// After this many rounds of failed deliveries of one batch, the producer is replaced by a new one:
/// an idempotent producer can be stuck for good (a broker that lost its producer state answers
/// "unknown producer id" to every epoch librdkafka tries; a fatal error), and a new producer starts
/// with a new producer id.
const RENEW_AFTER_ROUNDS: u32 = 3;

/// A sink that produces every event to Kafka.
pub struct KafkaSink {
    shared: Arc<Shared>,
    queue_batches: usize,
}

/// What the sink's loop and its delivery-report tasks share.
struct Shared {
    name: String,
    /// The producer in use and its generation (how many times it was renewed).
    producer: RwLock<(u64, Producer)>,
    /// librdkafka settings, for a renewed producer.
    settings: ClientConfig,
    /// With `create_topics`: creates a batch's topics before its messages are produced.
    topics: Option<Mutex<TopicCreator>>,
    retry_min: Duration,
    retry_max: Duration,
    metrics: Arc<SinkMetrics>,
}

/// Messages handed to librdkafka: event numbers in the batch and their delivery reports, and the
/// generation of the producer that took them.
type Pending = (u64, Vec<(usize, DeliveryFuture)>);

impl Shared {
    /// The producer in use, and its generation.
    fn producer(&self) -> (u64, Producer) {
        match self.producer.read() {
            Ok(current) => (current.0, current.1.clone()),
            Err(poisoned) => {
                let current = poisoned.into_inner();
                (current.0, current.1.clone())
            }
        }
    }

    /// Whether producer `generation` (if still in use) had a fatal error.
    fn is_fatal(&self, generation: u64) -> bool {
        let (current, producer) = self.producer();
        current == generation && producer.client().fatal_error().is_some()
    }

    /// Replaces producer `generation` by a new one, unless another task did already. The old one
    /// is dropped off the runtime (its drop purges its queue, failing those deliveries, which are
    /// then produced again on the new one).
    fn renew(&self, generation: u64) {
        let Ok(mut current) = self.producer.write() else {
            return;
        };
        if current.0 != generation {
            return;
        }
        match kafka_client::producer(&self.name, &self.settings, Arc::clone(&self.metrics)) {
            Ok(producer) => {
                tracing::warn!(sink = %self.name, "deliveries keep failing; starting a new Kafka producer");
                let old = std::mem::replace(&mut *current, (generation + 1, producer));
                tokio::task::spawn_blocking(move || drop(old));
            }
            Err(e) => {
                tracing::error!(sink = %self.name, "cannot start a new Kafka producer: {e:#}")
            }
        }
    }
}

impl KafkaSink {
    /// Creates the producer (and the admin client with `create_topics`); settings librdkafka
    /// rejects are an error now. Connecting happens in the background.
    pub fn new(name: &str, config: &KafkaSinkConfig) -> anyhow::Result<KafkaSink> {
        let metrics = Arc::new(SinkMetrics::new(config.queue_batches));
        let settings = kafka_client::client_config(config);
        let producer = kafka_client::producer(name, &settings, Arc::clone(&metrics))?;
        let topics = match config.create_topics {
            true => Some(Mutex::new(TopicCreator::new(config)?)),
            false => None,
        };
        Ok(KafkaSink {
            shared: Arc::new(Shared {
                name: name.to_string(),
                producer: RwLock::new((0, producer)),
                settings,
                topics,
                retry_min: config.retry_min,
                retry_max: config.retry_max,
                metrics,
            }),
            queue_batches: config.queue_batches,
        })
    }

    /// This sink's metrics, for the registry; "connected" once a delivery succeeded.
    pub fn metrics(&self) -> Arc<SinkMetrics> {
        Arc::clone(&self.shared.metrics)
    }

    /// Runs until `input` is closed and every batch taken is delivered, or until `abort` is
    /// cancelled (then what is not delivered stays unacknowledged).
    pub async fn run(self, mut input: BatchReceiver, abort: CancellationToken) {
        let shared = Arc::clone(&self.shared);
        let mut confirming = JoinSet::new();
        let mut input_open = true;
        while input_open || !confirming.is_empty() {
            let batch = tokio::select! {
                biased;
                () = abort.cancelled() => break,
                Some(joined) = confirming.join_next() => {
                    if let Err(e) = joined {
                        tracing::error!(sink = %shared.name, "a delivery task failed: {e}");
                    }
                    continue;
                }
                batch = input.recv(), if input_open && confirming.len() < self.queue_batches => batch,
            };
            let Some(batch) = batch else {
                input_open = false;
                continue;
            };
            let Some(index) = &batch.index else {
                tracing::error!(sink = %shared.name, "a batch without an event index; it stays unacknowledged");
                continue;
            };
            let Some(pending) = produce(&shared, &batch, index, 0..index.len(), &abort).await
            else {
                break;
            };
            confirming.spawn(confirm(Arc::clone(&shared), batch, pending, abort.clone()));
        }
        let undelivered = confirming.len();
        confirming.abort_all();
        while confirming.join_next().await.is_some() {}
        shared.metrics.disconnected();
        if undelivered == 0 {
            tracing::info!(sink = %shared.name, "stopped");
        } else {
            tracing::warn!(sink = %shared.name, batches = undelivered, "stopped with batches Kafka has not confirmed; they are read again at the next start");
        }
    }
}

/// Hands events `numbers` of `batch` to librdkafka in order (creating missing topics first, with
/// `create_topics`), waiting while its queue is full; `None` if aborted meanwhile.
async fn produce(
    shared: &Shared,
    batch: &EncodedBatch,
    index: &EventIndex,
    numbers: impl IntoIterator<Item = usize>,
    abort: &CancellationToken,
) -> Option<Pending> {
    if let Some(topics) = &shared.topics {
        tokio::select! {
            () = abort.cancelled() => return None,
            () = async { topics.lock().await.ensure(&shared.name, index.topics()).await } => {}
        }
    }
    let (generation, producer) = shared.producer();
    let mut pending = Vec::with_capacity(index.len());
    let mut backoff = Backoff::new(shared.retry_min, shared.retry_max);
    for n in numbers {
        let Some(event) = index.get(n, &batch.bytes) else {
            continue;
        };
        loop {
            let record = FutureRecord::to(event.topic)
                .key(event.key)
                .payload(event.payload);
            let wait = match producer.send_result(record) {
                Ok(report) => {
                    pending.push((n, report));
                    break;
                }
                Err((e, _)) if code(&e) == Some(RDKafkaErrorCode::QueueFull) => QUEUE_FULL_WAIT,
                Err((e, _)) if is_too_large(&e) => {
                    reject(shared, event.topic, event.key, event.payload.len(), &e);
                    break;
                }
                Err((e, _)) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(sink = %shared.name, topic = event.topic, "cannot produce: {e}; trying again in {delay:?}");
                    shared.metrics.failed();
                    delay
                }
            };
            tokio::select! {
                () = abort.cancelled() => return None,
                () = sleep(wait) => {}
            }
        }
    }
    Some((generation, pending))
}

/// Waits for the delivery reports of `batch`, produces the failed messages again (after a backoff
/// delay) until every one is delivered, then acknowledges the batch.
async fn confirm(
    shared: Arc<Shared>,
    batch: Arc<EncodedBatch>,
    pending: Pending,
    abort: CancellationToken,
) {
    let Some(index) = &batch.index else {
        return;
    };
    let mut backoff = Backoff::new(shared.retry_min, shared.retry_max);
    let mut failed_rounds = 0;
    let (mut generation, mut reports) = pending;
    loop {
        let mut failed = Vec::new();
        for (n, report) in reports {
            let error = match report.await {
                Ok(Ok(_)) => continue,
                Ok(Err((e, _))) => e,
                Err(_) => KafkaError::Canceled,
            };
            match index.get(n, &batch.bytes) {
                Some(event) if is_too_large(&error) => {
                    reject(&shared, event.topic, event.key, event.payload.len(), &error);
                }
                Some(event) => {
                    if failed.is_empty() {
                        tracing::warn!(sink = %shared.name, topic = event.topic, "delivery failed: {error}; producing the batch's undelivered messages again");
                    }
                    failed.push(n);
                }
                None => {}
            }
        }
        if failed.is_empty() {
            break;
        }
        shared.metrics.failed();
        failed_rounds += 1;
        if failed_rounds % RENEW_AFTER_ROUNDS == 0 || shared.is_fatal(generation) {
            shared.renew(generation);
        }
        tokio::select! {
            () = abort.cancelled() => return,
            () = sleep(backoff.next_delay()) => {}
        }
        (generation, reports) = match produce(&shared, &batch, index, failed, &abort).await {
            Some(p) => p,
            None => return,
        };
    }
    if !shared.metrics.is_connected() {
        shared.metrics.connected();
    }
    batch.ack();
    shared.metrics.delivered(1, batch.events, batch.bytes.len());
}

fn code(e: &KafkaError) -> Option<RDKafkaErrorCode> {
    e.rdkafka_error_code()
}

/// Whether the broker (or librdkafka's `message.max.bytes`) can never take this message.
fn is_too_large(e: &KafkaError) -> bool {
    matches!(
        code(e),
        Some(RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::InvalidMessageSize)
    )
}

/// Logs and counts a message dropped because Kafka can never take it.
fn reject(shared: &Shared, topic: &str, key: &str, bytes: usize, e: &KafkaError) {
    shared.metrics.rejected.add(1);
    tracing::error!(sink = %shared.name, topic, key, bytes, "Kafka refuses this message for good ({e}); it is dropped and counted in logferry_sink_rejected_events_total");
}
