//! The librdkafka side of the Kafka sink: the producer's settings, its log and error callbacks, and
//! the creation of missing topics through the admin API.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;
use rdkafka::{ClientConfig, ClientContext};

use crate::config::KafkaSinkConfig;
use crate::metrics::SinkMetrics;

/// How long a topic creation may take before it is tried again with the next batch for the topic.
const CREATE_TIMEOUT: Duration = Duration::from_secs(10);

/// The producer of one Kafka sink.
pub type Producer = FutureProducer<SinkContext>;

/// Receives librdkafka's logs and client-wide errors for one sink.
pub struct SinkContext {
    name: String,
    metrics: Arc<SinkMetrics>,
}

impl ClientContext for SinkContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let sink = self.name.as_str();
        // One level lower than librdkafka's: its connection failures (level error) are also
        // reported through `error` below, and must not read as the agent failing.
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
                tracing::error!(sink, facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
                tracing::warn!(sink, facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Notice => tracing::info!(sink, facility, "librdkafka: {message}"),
            RDKafkaLogLevel::Info | RDKafkaLogLevel::Debug => {
                tracing::debug!(sink, facility, "librdkafka: {message}")
            }
        }
    }

    /// Client-wide errors; losing every broker makes the sink failing until a delivery succeeds.
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.metrics.failed();
        }
        tracing::warn!(sink = %self.name, "kafka: {error}: {reason}");
    }
}

/// The librdkafka settings of `config`: its `librdkafka` table, then what the sink insists on
/// (brokers, idempotence, acks=all, compression), which the configuration check keeps the table
/// from overriding.
pub fn client_config(config: &KafkaSinkConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    for (key, value) in config.librdkafka.iter().flat_map(|t| t.get_ref()) {
        client.set(key, value.text());
    }
    client
        .set("bootstrap.servers", config.brokers.get_ref())
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", config.compression.name());
    client
}

/// Creates a producer of sink `name` from `settings` (see [`client_config`]); a setting librdkafka
/// rejects is an error now.
pub fn producer(
    name: &str,
    settings: &ClientConfig,
    metrics: Arc<SinkMetrics>,
) -> anyhow::Result<Producer> {
    let context = SinkContext {
        name: name.to_string(),
        metrics,
    };
    settings
        .create_with_context(context)
        .context("librdkafka refused the producer settings")
}

/// Creates the topics a sink sends to when they do not exist yet (`create_topics = true`).
pub struct TopicCreator {
    admin: AdminClient<rdkafka::client::DefaultClientContext>,
    partitions: i32,
    replication: i32,
    /// Topics known to exist: created by us or found existing.
    known: HashSet<String>,
}

impl TopicCreator {
    pub fn new(config: &KafkaSinkConfig) -> anyhow::Result<TopicCreator> {
        let admin = client_config(config)
            .create()
            .context("librdkafka refused the admin client settings")?;
        Ok(TopicCreator {
            admin,
            partitions: config.topic_partitions,
            replication: config.topic_replication,
            known: HashSet::new(),
        })
    }

    /// Creates those of `topics` not known to exist. Failures are logged and tried again with the
    /// next batch: producing to a missing topic fails and is retried by the sink meanwhile.
    pub async fn ensure(&mut self, sink: &str, topics: &[String]) {
        let missing: Vec<&String> = topics.iter().filter(|t| !self.known.contains(*t)).collect();
        if missing.is_empty() {
            return;
        }
        let new: Vec<NewTopic> = missing
            .iter()
            .map(|t| {
                NewTopic::new(
                    t,
                    self.partitions,
                    TopicReplication::Fixed(self.replication),
                )
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(CREATE_TIMEOUT));
        match self.admin.create_topics(&new, &options).await {
            Ok(results) => {
                for result in results {
                    match result {
                        Ok(topic) => {
                            tracing::info!(sink, topic, "created topic");
                            self.known.insert(topic);
                        }
                        Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                            self.known.insert(topic);
                        }
                        Err((topic, code)) => {
                            tracing::warn!(sink, topic, "cannot create topic: {code}");
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(sink, "cannot create topics: {e}"),
        }
    }
}
