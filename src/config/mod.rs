//! The agent's TOML configuration: types, defaults, and validation that points at file, line and column.
//!
//! Loading happens in two passes over the same text. The first reads only each component's `type`; the
//! second deserialises every component straight into the struct of its kind, so serde's errors (unknown
//! keys, wrong types) keep the exact position of the offending key. Checks that serde cannot make (an
//! input naming no source, a timezone that does not exist) carry the span of the value they reject.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use logferry_parsers::log_format::{self, Layout, Syntax};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::routing::TopicTemplate;

mod buffer;
mod kafka;
mod load;
mod net;

pub use buffer::{BufferKind, BufferSection, DiskBufferConfig, WhenFull, MIN_DISK_BUFFER_BYTES};
pub use kafka::{Compression, KafkaSinkConfig, KafkaSourceConfig, SettingValue};
pub(crate) use load::line_column;
pub use load::{load_file, parse, ConfigErrors, ConfigProblem};
pub use net::{
    HttpSourceConfig, ListenTransport, ServerTlsConfig, SyslogSourceConfig, TokenConfig,
};

/// The configuration used by `logferry run` without `--config`: the sample logs to stdout.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../examples/demo.toml");

/// A whole agent configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where checkpoints (and later buffers) live.
    pub data_dir: PathBuf,
    /// How long a graceful stop may spend draining in-flight batches to the sinks.
    pub shutdown_timeout: Duration,
    pub sources: BTreeMap<String, SourceConfig>,
    pub sinks: BTreeMap<String, SinkConfig>,
    /// `[api]`: the metrics and health endpoint; `None` runs no listener.
    pub api: Option<ApiConfig>,
}

/// `[api]`: where `/metrics`, `/health` and `/ready` are served.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// `IP:port` to listen on, e.g. `127.0.0.1:9598`.
    pub address: std::net::SocketAddr,
}

/// The log formats a source can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    ApacheAccess,
    NginxAccess,
    Syslog,
    Json,
    ApacheError,
    NginxError,
    Auditd,
    Java,
    Kv,
    /// Per-line detection among the formats above (`normalise::auto`).
    Auto,
}

impl Format {
    /// The name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::ApacheAccess => "apache_access",
            Format::NginxAccess => "nginx_access",
            Format::Syslog => "syslog",
            Format::Json => "json",
            Format::ApacheError => "apache_error",
            Format::NginxError => "nginx_error",
            Format::Auditd => "auditd",
            Format::Java => "java",
            Format::Kv => "kv",
            Format::Auto => "auto",
        }
    }

    /// Compiles a source's `log_format` for this format: only the access-log formats take one.
    pub fn layout(self, log_format: &str) -> Result<Layout, String> {
        let syntax = match self {
            Format::ApacheAccess => Syntax::Apache,
            Format::NginxAccess => Syntax::Nginx,
            other => {
                return Err(format!(
                    "log_format applies only to apache_access and nginx_access sources, not {}",
                    other.name()
                ))
            }
        };
        log_format::compile(log_format, syntax).map_err(|e| format!("log_format: {e}"))
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(s))
            .map_err(|_| {
                format!(
                    "unknown format {s:?}; expected apache_access, nginx_access, syslog, json, apache_error, nginx_error, auditd, java, kv or auto"
                )
            })
    }
}

/// Where a file with no checkpoint starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    #[default]
    Beginning,
    End,
}

/// One `[sources.NAME]` table, by its `type`.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    File(FileSourceConfig),
    Syslog(SyslogSourceConfig),
    Http(HttpSourceConfig),
    /// Finished files sent once by `logferry send`; never read from a configuration file.
    Archive(crate::sources::archive::ArchiveSourceConfig),
    Kafka(KafkaSourceConfig),
}

impl SourceConfig {
    /// The settings that shape normalisation of this source's records.
    pub fn settings(&self) -> SourceSettings {
        match self {
            SourceConfig::File(f) => f.settings(),
            SourceConfig::Syslog(s) => s.settings(),
            SourceConfig::Http(h) => h.settings(),
            SourceConfig::Archive(a) => a.settings.clone(),
            SourceConfig::Kafka(k) => k.settings(),
        }
    }

    /// The format its records are read as.
    pub fn format(&self) -> Format {
        match self {
            SourceConfig::File(f) => f.format,
            SourceConfig::Syslog(s) => s.format,
            SourceConfig::Http(_) => Format::Json,
            SourceConfig::Archive(a) => a.settings.format,
            SourceConfig::Kafka(k) => k.format,
        }
    }

    /// The site key file for CPR pseudonymisation, if any (watched by reload).
    pub fn cpr_key_file(&self) -> Option<&PathBuf> {
        match self {
            SourceConfig::File(f) => f.cpr_key_file.as_ref().map(|k| k.get_ref()),
            SourceConfig::Syslog(s) => s.cpr_key_file.as_ref().map(|k| k.get_ref()),
            SourceConfig::Http(h) => h.cpr_key_file.as_ref().map(|k| k.get_ref()),
            SourceConfig::Archive(a) => a.settings.cpr_key_file.as_ref(),
            SourceConfig::Kafka(k) => k.cpr_key_file.as_ref(),
        }
    }

    /// The files a network source reads at start besides the CPR key: TLS material and token
    /// files (watched by reload).
    pub fn listener_files(&self) -> Vec<PathBuf> {
        let (tls, tokens) = match self {
            SourceConfig::File(_) | SourceConfig::Archive(_) | SourceConfig::Kafka(_) => {
                return Vec::new()
            }
            SourceConfig::Syslog(s) => (s.tls.as_ref(), None),
            SourceConfig::Http(h) => (h.tls.as_ref(), Some(h.tokens.get_ref())),
        };
        let tls_files = tls.into_iter().flat_map(|t| t.files());
        let token_files = tokens
            .into_iter()
            .flatten()
            .filter_map(|t| t.token_file.as_ref());
        tls_files
            .chain(token_files)
            .map(|f| f.get_ref().clone())
            .collect()
    }
}

/// `[sources.NAME]` with `type = "file"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    #[serde(rename = "type")]
    _type: String,
    /// Glob patterns of files to read.
    pub include: Vec<String>,
    /// Glob patterns matched against the whole path; a match is never read.
    #[serde(default)]
    pub exclude: Vec<String>,
    pub format: Format,
    /// The server's own layout (Apache `LogFormat` / Nginx `log_format` string, or a named layout);
    /// access-log formats only.
    pub log_format: Option<Spanned<String>>,
    /// IANA zone for timestamps without an offset; default the host's.
    pub timezone: Option<Spanned<String>>,
    /// `device_name` of the events; default the host name.
    pub device_name: Option<String>,
    /// `source_name` of the events; default the file path.
    pub source_name: Option<String>,
    /// The site key for CPR pseudonymisation; without one, CPR numbers become `CPR:REDACTED`.
    pub cpr_key_file: Option<Spanned<PathBuf>>,
    /// CPR redaction is on unless a source turns it off.
    #[serde(default = "yes")]
    pub redact_cpr: bool,
    #[serde(default)]
    pub read_from: ReadFrom,
    /// Longer lines are cut to this size and labelled `Truncated`.
    #[serde(default = "default_max_line_bytes", deserialize_with = "de_size")]
    pub max_line_bytes: usize,
    /// How often the include globs are expanded again (inotify wakes reads sooner).
    #[serde(default = "default_scan_interval", with = "humantime_serde")]
    pub scan_interval: Duration,
    /// A line matching this regex starts a record and the lines after it join that record; unset,
    /// `format = "java"` uses the built-in timestamp rule and other formats read one line per record.
    #[serde(default, deserialize_with = "de_regex")]
    pub multiline_start: Option<regex::bytes::Regex>,
    /// How long a quiet file's pending multi-line record waits for more lines before it is handed on.
    #[serde(default = "default_multiline_timeout", with = "humantime_serde")]
    pub multiline_timeout: Duration,
    /// How long a rotated-away or deleted file is kept open to be read to its end; what is still
    /// unread then is given up, counted and logged.
    #[serde(default = "default_rotate_wait", with = "humantime_serde")]
    pub rotate_wait: Duration,
    /// At most this many files of the source are open at once; beyond it, files at their end are
    /// closed least recently written first and opened again when they grow.
    #[serde(default = "default_max_open_files")]
    pub max_open_files: usize,
    /// Checkpoints of files that no longer exist are forgotten once they are this old.
    #[serde(default = "default_checkpoint_max_age", with = "humantime_serde")]
    pub checkpoint_max_age: Duration,
}

impl FileSourceConfig {
    /// The settings that shape normalisation, as `logferry normalise` takes them too.
    pub fn settings(&self) -> SourceSettings {
        SourceSettings {
            format: self.format,
            log_format: self.log_format.as_ref().map(|l| l.get_ref().clone()),
            timezone: self.timezone.as_ref().map(|t| t.get_ref().clone()),
            device_name: self.device_name.clone(),
            source_name: self.source_name.clone(),
            cpr_key_file: self.cpr_key_file.as_ref().map(|k| k.get_ref().clone()),
            redact_cpr: self.redact_cpr,
            multiline_start: self.multiline_start.clone(),
        }
    }
}

/// The settings that shape normalisation, shared by every source kind and by `logferry normalise`.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub format: Format,
    pub log_format: Option<String>,
    pub timezone: Option<String>,
    pub device_name: Option<String>,
    pub source_name: Option<String>,
    pub cpr_key_file: Option<PathBuf>,
    pub redact_cpr: bool,
    /// A line matching this starts a record (multi-line records); see `FileSourceConfig`.
    pub multiline_start: Option<regex::bytes::Regex>,
}

impl SourceSettings {
    /// The defaults of a source of `format`: host timezone and name, file path as `source_name`,
    /// CPR redaction on without a key.
    pub fn new(format: Format) -> Self {
        SourceSettings {
            format,
            log_format: None,
            timezone: None,
            device_name: None,
            source_name: None,
            cpr_key_file: None,
            redact_cpr: true,
            multiline_start: None,
        }
    }
}

/// The payload encodings of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Kv,
    Json,
}

/// How events are delimited on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    #[default]
    Lf,
    OctetCounting,
}

/// The byte layout a sink wants: the processing stage encodes once per distinct value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WireFormat {
    pub encoding: Encoding,
    /// Wrap each payload in the RFC 5424 header.
    pub rfc5424: bool,
    pub framing: Framing,
    pub include_msg: bool,
}

/// One sink and the sources it takes.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub inputs: Vec<String>,
    pub kind: SinkKind,
    /// `[sinks.NAME.buffer]` with `type = "disk"`; `None`: the sink's queue in memory.
    pub disk_buffer: Option<DiskBufferConfig>,
}

impl SinkConfig {
    /// The layout this sink writes.
    pub fn wire_format(&self) -> WireFormat {
        match &self.kind {
            SinkKind::Console(c) => WireFormat {
                encoding: c.encoding,
                rfc5424: false,
                framing: Framing::Lf,
                include_msg: c.include_msg,
            },
            SinkKind::Syslog(s) => WireFormat {
                encoding: s.encoding,
                rfc5424: true,
                framing: s.framing,
                include_msg: s.include_msg,
            },
            SinkKind::Kafka(k) => WireFormat {
                encoding: k.encoding,
                rfc5424: false,
                framing: Framing::Lf,
                include_msg: k.include_msg,
            },
        }
    }

    /// The topic of each event, for sinks that send events one by one; `None` for the others.
    pub fn topic_template(&self) -> Option<TopicTemplate> {
        match &self.kind {
            SinkKind::Kafka(k) => Some(k.topic.clone()),
            SinkKind::Console(_) | SinkKind::Syslog(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum SinkKind {
    Console(ConsoleSinkConfig),
    Syslog(Box<SyslogSinkConfig>),
    Kafka(Box<KafkaSinkConfig>),
}

/// `[sinks.NAME]` with `type = "console"`: one event per line on stdout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSinkConfig {
    #[serde(rename = "type")]
    _type: String,
    inputs: Spanned<Vec<Spanned<String>>>,
    #[serde(default = "json")]
    pub encoding: Encoding,
    #[serde(default = "yes")]
    pub include_msg: bool,
    #[serde(default)]
    pub buffer: BufferSection,
}

/// Transport of a syslog sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Tcp,
    #[default]
    Tls,
}

/// `[sinks.NAME]` with `type = "syslog"`: RFC 5424 over TCP or TLS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogSinkConfig {
    #[serde(rename = "type")]
    _type: String,
    inputs: Spanned<Vec<Spanned<String>>>,
    /// `host:port` of the collector.
    pub address: Spanned<String>,
    #[serde(default)]
    pub transport: Transport,
    #[serde(default)]
    pub framing: Framing,
    #[serde(default = "kv")]
    pub encoding: Encoding,
    #[serde(default = "yes")]
    pub include_msg: bool,
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub buffer: BufferSection,
    /// Batches queued for this sink before its sources wait.
    #[serde(default = "default_queue_batches")]
    pub queue_batches: usize,
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// First wait after a failed connection; doubles up to `reconnect_max`, with jitter.
    #[serde(default = "default_reconnect_min", with = "humantime_serde")]
    pub reconnect_min: Duration,
    #[serde(default = "default_reconnect_max", with = "humantime_serde")]
    pub reconnect_max: Duration,
    /// How long a closing connection waits for the collector to close its side.
    #[serde(default = "default_close_timeout", with = "humantime_serde")]
    pub close_timeout: Duration,
    /// Bytes written but not yet acknowledged by the collector's TCP stack, at most; the sink
    /// writes no further batch until acknowledgements bring it below (one batch may exceed it).
    #[serde(default = "default_max_unacked_bytes", deserialize_with = "de_size")]
    pub max_unacked_bytes: usize,
    /// TCP keepalive: idle time before the first probe.
    #[serde(default = "default_keepalive_time", with = "humantime_serde")]
    pub keepalive_time: Duration,
    /// TCP keepalive: time between unanswered probes.
    #[serde(default = "default_keepalive_interval", with = "humantime_serde")]
    pub keepalive_interval: Duration,
    /// TCP keepalive: unanswered probes after which the connection is dead.
    #[serde(default = "default_keepalive_probes")]
    pub keepalive_probes: u32,
}

impl SyslogSinkConfig {
    /// The host part of `address` (brackets of an IPv6 literal removed).
    pub fn host(&self) -> &str {
        let addr = self.address.get_ref().as_str();
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        host.trim_start_matches('[').trim_end_matches(']')
    }
}

/// `[sinks.NAME.tls]`: verification is always on; these only choose what to trust and who we are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM CA bundle to trust instead of the system's roots.
    pub ca_file: Option<Spanned<PathBuf>>,
    /// PEM client certificate chain (mutual TLS); needs `key_file`.
    pub cert_file: Option<Spanned<PathBuf>>,
    pub key_file: Option<Spanned<PathBuf>>,
    /// Name to verify the collector's certificate against; default the host part of `address`.
    pub server_name: Option<String>,
}

fn yes() -> bool {
    true
}
fn json() -> Encoding {
    Encoding::Json
}
fn kv() -> Encoding {
    Encoding::Kv
}
/// The default `max_line_bytes` of a source, also `logferry normalise`'s.
pub fn default_max_line_bytes() -> usize {
    1 << 20
}
fn default_scan_interval() -> Duration {
    Duration::from_secs(1)
}
fn default_multiline_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_rotate_wait() -> Duration {
    Duration::from_secs(5 * 60)
}
fn default_max_open_files() -> usize {
    1024
}
fn default_checkpoint_max_age() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}
fn default_queue_batches() -> usize {
    16
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_reconnect_min() -> Duration {
    Duration::from_millis(100)
}
fn default_reconnect_max() -> Duration {
    Duration::from_secs(30)
}
fn default_close_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_max_unacked_bytes() -> usize {
    4 << 20
}
fn default_keepalive_time() -> Duration {
    Duration::from_secs(60)
}
fn default_keepalive_interval() -> Duration {
    Duration::from_secs(10)
}
fn default_keepalive_probes() -> u32 {
    6
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/logferry")
}
fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(30)
}

/// Reads `1048576`, `"512KiB"`, `"1MiB"`, `"2GiB"` (binary units; `KB`/`MB`/`GB` are decimal).
pub(crate) fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Int(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Int(n) => usize::try_from(n).map_err(serde::de::Error::custom),
        Size::Text(t) => parse_size(&t).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid size {t:?}; expected e.g. 1048576 or \"1MiB\""
            ))
        }),
    }
}

/// Compiles a `multiline_start` regex; a bad one is an error at its position in the file.
fn de_regex<'de, D: Deserializer<'de>>(d: D) -> Result<Option<regex::bytes::Regex>, D::Error> {
    let text = String::deserialize(d)?;
    regex::bytes::Regex::new(&text)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("invalid regex {text:?}: {e}")))
}

/// Parses a byte size such as `"256KiB"`; `None` if it is not one.
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: usize = digits.parse().ok()?;
    let factor: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Durations as `"250ms"`, `"5s"`, `"2m"`.
mod humantime_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?}: {e} (e.g. \"5s\", \"250ms\")"
            ))
        })
    }
}
