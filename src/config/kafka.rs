//! Kafka sinks and sources: `[sinks.NAME]` and `[sources.NAME]` with `type = "kafka"`, and the
//! checks serde cannot make.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use std::path::PathBuf;

use super::{
    de_size, default_max_line_bytes, default_queue_batches, default_reconnect_max,
    default_reconnect_min, yes, Encoding, Format, SourceSettings,
};
use crate::routing::TopicTemplate;

/// librdkafka settings the sink sets itself; a `librdkafka` table may not override them.
const OWNED_SETTINGS: &[(&str, &str)] = &[
    ("bootstrap.servers", "set `brokers` instead"),
    ("metadata.broker.list", "set `brokers` instead"),
    (
        "enable.idempotence",
        "the sink is always idempotent (no duplicates or reordering from its own retries)",
    ),
    (
        "acks",
        "the sink always waits for every in-sync replica (acks=all)",
    ),
    (
        "request.required.acks",
        "the sink always waits for every in-sync replica (acks=all)",
    ),
    ("compression.type", "set `compression` instead"),
    ("compression.codec", "set `compression` instead"),
];

/// Compression of produced message batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// librdkafka's name for it (`compression.type`).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// A value in `[sinks.NAME.librdkafka]`: librdkafka takes every setting as text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    Text(String),
    Int(i64),
    Bool(bool),
    Float(f64),
}

impl SettingValue {
    /// The value as librdkafka reads it.
    pub fn text(&self) -> String {
        match self {
            SettingValue::Text(t) => t.clone(),
            SettingValue::Int(i) => i.to_string(),
            SettingValue::Bool(b) => b.to_string(),
            SettingValue::Float(f) => f.to_string(),
        }
    }
}

/// `[sinks.NAME]` with `type = "kafka"`: every event is one Kafka message, keyed by `device_name`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    #[serde(rename = "type")]
    _type: String,
    pub(super) inputs: Spanned<Vec<Spanned<String>>>,
    /// Comma-separated `host:port` list of bootstrap brokers.
    pub brokers: Spanned<String>,
    /// The topic of each event: literal text and `{field}` placeholders, e.g. `siem.{norm_id}`.
    pub topic: TopicTemplate,
    #[serde(default = "super::json")]
    pub encoding: Encoding,
    #[serde(default = "yes")]
    pub include_msg: bool,
    #[serde(default)]
    pub compression: Compression,
    /// Batches queued for this sink before its sources wait; also the most batches awaiting
    /// delivery reports at once.
    #[serde(default = "default_queue_batches")]
    pub queue_batches: usize,
    /// First wait before producing again the messages of a failed delivery; doubles up to
    /// `retry_max`, with jitter.
    #[serde(default = "default_reconnect_min", with = "super::humantime_serde")]
    pub retry_min: Duration,
    #[serde(default = "default_reconnect_max", with = "super::humantime_serde")]
    pub retry_max: Duration,
    /// Create a topic through the admin API the first time an event goes to it, if it is missing.
    #[serde(default)]
    pub create_topics: bool,
    /// Partitions of a topic the sink creates.
    #[serde(default = "default_topic_partitions")]
    pub topic_partitions: i32,
    /// Replication factor of a topic the sink creates.
    #[serde(default = "default_topic_replication")]
    pub topic_replication: i32,
    /// Raw librdkafka producer settings (e.g. `security.protocol`, `sasl.mechanism`,
    /// `linger.ms`), passed through as they are.
    pub librdkafka: Option<Spanned<BTreeMap<String, SettingValue>>>,
}

/// librdkafka settings a Kafka source sets itself.
const OWNED_CONSUMER_SETTINGS: &[(&str, &str)] = &[
    ("bootstrap.servers", "set `brokers` instead"),
    ("metadata.broker.list", "set `brokers` instead"),
    ("group.id", "set `group_id` instead"),
    (
        "enable.auto.commit",
        "the source commits offsets itself, once events are delivered",
    ),
    (
        "enable.auto.offset.store",
        "the source commits offsets itself, once events are delivered",
    ),
];

/// `[sources.NAME]` with `type = "kafka"`: one member of a consumer group; each message is one record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    #[serde(rename = "type")]
    _type: String,
    /// Comma-separated `host:port` list of bootstrap brokers.
    pub brokers: Spanned<String>,
    pub topics: Spanned<Vec<String>>,
    /// The consumer group: its members share the topics' partitions.
    pub group_id: Spanned<String>,
    /// How each message is read; `json` also passes through events logferry already normalised.
    pub format: Format,
    pub log_format: Option<Spanned<String>>,
    pub timezone: Option<Spanned<String>>,
    /// `device_name` of events that do not carry their own; default the host name.
    pub device_name: Option<String>,
    /// `source_name` of events that do not carry their own; default the topic.
    pub source_name: Option<String>,
    pub cpr_key_file: Option<PathBuf>,
    #[serde(default = "yes")]
    pub redact_cpr: bool,
    /// Longer messages are cut to this size and labelled `Truncated`.
    #[serde(default = "default_max_line_bytes", deserialize_with = "de_size")]
    pub max_line_bytes: usize,
    /// At most this many messages make one batch.
    #[serde(default = "default_batch_events")]
    pub batch_events: usize,
    /// A batch is handed on after this long even if not full.
    #[serde(default = "default_batch_wait", with = "super::humantime_serde")]
    pub batch_wait: Duration,
    /// Raw librdkafka consumer settings, passed through as they are.
    pub librdkafka: Option<Spanned<BTreeMap<String, SettingValue>>>,
}

impl KafkaSourceConfig {
    /// The settings that shape normalisation.
    pub fn settings(&self) -> SourceSettings {
        SourceSettings {
            log_format: self.log_format.as_ref().map(|l| l.get_ref().clone()),
            timezone: self.timezone.as_ref().map(|t| t.get_ref().clone()),
            device_name: self.device_name.clone(),
            source_name: self.source_name.clone(),
            cpr_key_file: self.cpr_key_file.clone(),
            redact_cpr: self.redact_cpr,
            ..SourceSettings::new(self.format)
        }
    }
}

fn default_batch_events() -> usize {
    1000
}
fn default_batch_wait() -> Duration {
    Duration::from_millis(100)
}

/// The problems of one Kafka source that serde cannot see.
pub(super) fn check_source(
    name: &str,
    source: &KafkaSourceConfig,
    at: Option<Range<usize>>,
    problems: &mut Vec<(Option<Range<usize>>, String)>,
) {
    let empty = [
        (
            source.brokers.get_ref().trim().is_empty(),
            source.brokers.span(),
            "brokers is empty",
        ),
        (
            source.topics.get_ref().is_empty(),
            source.topics.span(),
            "topics lists no topic",
        ),
        (
            source.group_id.get_ref().is_empty(),
            source.group_id.span(),
            "group_id is empty",
        ),
    ];
    for (_, span, what) in empty.into_iter().filter(|(bad, _, _)| *bad) {
        problems.push((Some(span), format!("source {name:?}: {what}")));
    }
    if let Some(layout) = &source.log_format {
        if let Err(e) = source.format.layout(layout.get_ref()) {
            problems.push((Some(layout.span()), e));
        }
    }
    if let Some(tz) = &source.timezone {
        if let Err(e) = jiff::tz::TimeZone::get(tz.get_ref()) {
            problems.push((
                Some(tz.span()),
                format!("unknown timezone {:?}: {e}", tz.get_ref()),
            ));
        }
    }
    owned_settings(
        name,
        "source",
        &source.librdkafka,
        OWNED_CONSUMER_SETTINGS,
        problems,
    );
    if source.batch_events == 0 || source.batch_wait.is_zero() || source.max_line_bytes < 64 {
        problems.push((
            at,
            format!("source {name:?}: batch_events and batch_wait must be positive, max_line_bytes at least 64"),
        ));
    }
}

/// A problem for each key of `table` that is one of `owned`.
fn owned_settings(
    name: &str,
    component: &str,
    table: &Option<Spanned<BTreeMap<String, SettingValue>>>,
    owned: &[(&str, &str)],
    problems: &mut Vec<(Option<Range<usize>>, String)>,
) {
    for (key, span) in table
        .iter()
        .flat_map(|table| table.get_ref().keys().map(|key| (key, table.span())))
    {
        if let Some((_, why)) = owned.iter().find(|(o, _)| o == key) {
            problems.push((
                Some(span),
                format!("{component} {name:?}: librdkafka.{key:?} cannot be set: {why}"),
            ));
        }
    }
}

fn default_topic_partitions() -> i32 {
    3
}
fn default_topic_replication() -> i32 {
    1
}

/// The problems of one Kafka sink that serde cannot see: overridden settings the sink owns,
/// impossible numbers. (A bad topic template is a serde error at its position.)
pub(super) fn check(
    name: &str,
    sink: &KafkaSinkConfig,
    at: Option<Range<usize>>,
    problems: &mut Vec<(Option<Range<usize>>, String)>,
) {
    if sink.brokers.get_ref().trim().is_empty() {
        problems.push((
            Some(sink.brokers.span()),
            format!("sink {name:?}: brokers is empty"),
        ));
    }
    owned_settings(name, "sink", &sink.librdkafka, OWNED_SETTINGS, problems);
    if sink.retry_min.is_zero() || sink.retry_min > sink.retry_max {
        problems.push((
            at.clone(),
            format!("sink {name:?}: retry_min must be positive and at most retry_max"),
        ));
    }
    if sink.queue_batches == 0 {
        problems.push((
            at.clone(),
            format!("sink {name:?}: queue_batches must be at least 1"),
        ));
    }
    if sink.topic_partitions < 1 || sink.topic_replication < 1 {
        problems.push((
            at,
            format!("sink {name:?}: topic_partitions and topic_replication must be at least 1"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{parse, Compression, Encoding, SinkKind};

    fn sink(keys: &str) -> String {
        format!(
            "[sources.a]\ntype = \"file\"\ninclude = [\"/x/*.log\"]\nformat = \"syslog\"\n\
             [sinks.bus]\ntype = \"kafka\"\ninputs = [\"a\"]\nbrokers = \"k1:9092,k2:9092\"\n{keys}"
        )
    }

    #[test]
    fn reads_a_kafka_sink_with_defaults_and_raw_settings() {
        let text = sink(
            "topic = \"siem.{norm_id}\"\ncompression = \"zstd\"\n\
             [sinks.bus.librdkafka]\n\"linger.ms\" = 20\n\"security.protocol\" = \"sasl_plaintext\"\n",
        );
        let config = parse(&text, "t").unwrap();
        let SinkKind::Kafka(k) = &config.sinks["bus"].kind else {
            panic!("not a kafka sink")
        };
        assert_eq!(k.encoding, Encoding::Json);
        assert_eq!(k.compression, Compression::Zstd);
        assert!(!k.create_topics);
        let settings = k.librdkafka.as_ref().unwrap().get_ref();
        assert_eq!(settings["linger.ms"].text(), "20");
        assert_eq!(settings["security.protocol"].text(), "sasl_plaintext");
        assert!(config.sinks["bus"].topic_template().is_some());
        assert!(!config.sinks["bus"].wire_format().rfc5424);
    }

    #[test]
    fn bad_template_and_owned_settings_are_located() {
        let err = parse(&sink("topic = \"siem/{norm_id}\"\n"), "t").unwrap_err();
        assert_eq!((err.0[0].line, err.0[0].column), (9, 9), "{err}");
        assert!(err.0[0].message.contains("Kafka topic name"), "{err}");
        let err = parse(
            &sink("topic = \"t\"\n[sinks.bus.librdkafka]\nacks = \"1\"\n"),
            "t",
        )
        .unwrap_err();
        assert!(err.0[0].message.contains("acks=all"), "{err}");
        let err = parse(&sink("topic = \"t\"\nretry_min = \"0s\"\n"), "t").unwrap_err();
        assert!(err.0[0].message.contains("retry_min"), "{err}");
    }
}
