//! The agent's TOML configuration: types, defaults, and validation that points at file, line and column.
//!
//! Loading happens in two passes over the same text. The first reads only each component's `type`; the
//! second deserialises every component straight into the struct of its kind, so serde's errors (unknown
//! keys, wrong types) keep the exact position of the offending key. Checks that serde cannot make (an
//! input naming no source, a timezone that does not exist) carry the span of the value they reject.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// The configuration used by `logferry run` without `--config`: the sample logs to stdout.
pub const EMBEDDED_DEFAULT: &str = include_str!("../examples/demo.toml");

/// A whole agent configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where checkpoints (and later buffers) live.
    pub data_dir: PathBuf,
    /// How long a graceful stop may spend draining in-flight batches to the sinks.
    pub shutdown_timeout: Duration,
    pub sources: BTreeMap<String, FileSourceConfig>,
    pub sinks: BTreeMap<String, SinkConfig>,
}

/// The log formats a source can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    ApacheAccess,
    NginxAccess,
    Syslog,
    Json,
}

impl Format {
    /// The name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::ApacheAccess => "apache_access",
            Format::NginxAccess => "nginx_access",
            Format::Syslog => "syslog",
            Format::Json => "json",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(s))
            .map_err(|_| {
                format!(
                    "unknown format {s:?}; expected apache_access, nginx_access, syslog or json"
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
}

impl FileSourceConfig {
    /// The settings that shape normalisation, as `logferry normalise` takes them too.
    pub fn settings(&self) -> SourceSettings {
        SourceSettings {
            format: self.format,
            timezone: self.timezone.as_ref().map(|t| t.get_ref().clone()),
            device_name: self.device_name.clone(),
            source_name: self.source_name.clone(),
            cpr_key_file: self.cpr_key_file.as_ref().map(|k| k.get_ref().clone()),
            redact_cpr: self.redact_cpr,
        }
    }
}

/// The settings that shape normalisation, shared by every source kind and by `logferry normalise`.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub format: Format,
    pub timezone: Option<String>,
    pub device_name: Option<String>,
    pub source_name: Option<String>,
    pub cpr_key_file: Option<PathBuf>,
    pub redact_cpr: bool,
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
        }
    }
}

#[derive(Debug, Clone)]
pub enum SinkKind {
    Console(ConsoleSinkConfig),
    Syslog(Box<SyslogSinkConfig>),
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
fn default_max_line_bytes() -> usize {
    1 << 20
}
fn default_scan_interval() -> Duration {
    Duration::from_secs(1)
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
fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/logferry")
}
fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(30)
}

/// Reads `1048576`, `"512KiB"`, `"1MiB"`, `"2GiB"` (binary units; `KB`/`MB`/`GB` are decimal).
fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
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

/// A problem found in a configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Every problem found in one configuration file.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

/// Reads and validates the configuration file at `path`.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigProblem {
            file: name.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the configuration: {e}"),
        }])
    })?;
    parse(&text, &name)
}

/// Parses and validates configuration `text`; `file` names it in problems.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    let at = |span: Option<Range<usize>>, message: String| {
        let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
        ConfigProblem {
            file: file.to_string(),
            line,
            column,
            message,
        }
    };
    let kinds: Kinds = toml::from_str(text)
        .map_err(|e| ConfigErrors(vec![at(e.span(), e.message().to_string())]))?;
    let seed = DocumentSeed { kinds: &kinds };
    let raw = seed
        .deserialize(
            toml::de::Deserializer::parse(text)
                .map_err(|e| ConfigErrors(vec![at(e.span(), e.message().to_string())]))?,
        )
        .map_err(|e| ConfigErrors(vec![at(e.span(), e.message().to_string())]))?;
    let problems: Vec<ConfigProblem> = raw
        .check(&kinds)
        .into_iter()
        .map(|(span, message)| at(span, message))
        .collect();
    if problems.is_empty() {
        Ok(raw.into_config())
    } else {
        Err(ConfigErrors(problems))
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// First pass: only the `type` of each component (and the top-level keys, so that an unknown one is
/// reported where it stands).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Kinds {
    #[serde(default, rename = "data_dir")]
    _data_dir: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "shutdown_timeout")]
    _shutdown_timeout: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    sources: BTreeMap<String, TypeOnly>,
    #[serde(default)]
    sinks: BTreeMap<String, TypeOnly>,
}

#[derive(Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: Spanned<String>,
}

/// Second pass: the whole document, each component as the struct of its kind.
#[derive(Debug)]
struct RawConfig {
    data_dir: PathBuf,
    shutdown_timeout: Duration,
    sources: BTreeMap<String, FileSourceConfig>,
    sinks: BTreeMap<String, RawSink>,
}

#[derive(Debug)]
enum RawSink {
    Console(ConsoleSinkConfig),
    Syslog(Box<SyslogSinkConfig>),
}

impl RawSink {
    fn inputs(&self) -> &Spanned<Vec<Spanned<String>>> {
        match self {
            RawSink::Console(c) => &c.inputs,
            RawSink::Syslog(s) => &s.inputs,
        }
    }
}

type Problem = (Option<Range<usize>>, String);

impl RawConfig {
    /// Checks that cross keys or touch the outside world; serde has checked the rest.
    fn check(&self, kinds: &Kinds) -> Vec<Problem> {
        let mut problems = Vec::new();
        // Problems of a whole component point at its `type` key.
        let source_at = |name: &str| kinds.sources.get(name).map(|t| t.kind.span());
        let sink_at = |name: &str| kinds.sinks.get(name).map(|t| t.kind.span());
        for (name, source) in &self.sources {
            if source.include.is_empty() {
                problems.push((
                    source_at(name),
                    format!("source {name:?}: include lists no pattern"),
                ));
            }
            for pattern in source.include.iter().chain(&source.exclude) {
                if let Err(e) = glob::Pattern::new(pattern) {
                    problems.push((
                        source_at(name),
                        format!("source {name:?}: bad glob {pattern:?}: {e}"),
                    ));
                }
            }
            check_source(source, &mut problems);
            if source.max_line_bytes < 64 {
                problems.push((
                    source_at(name),
                    format!("source {name:?}: max_line_bytes must be at least 64"),
                ));
            }
        }
        let mut taken = std::collections::BTreeSet::new();
        for (name, sink) in &self.sinks {
            let inputs = sink.inputs();
            if inputs.get_ref().is_empty() {
                problems.push((Some(inputs.span()), format!("sink {name:?} has no inputs")));
            }
            for input in inputs.get_ref() {
                if self.sources.contains_key(input.get_ref()) {
                    taken.insert(input.get_ref().clone());
                } else {
                    problems.push((
                        Some(input.span()),
                        format!("sink {name:?}: input {:?} names no source", input.get_ref()),
                    ));
                }
            }
            if let RawSink::Syslog(s) = sink {
                check_syslog(name, s, sink_at(name), &mut problems);
            }
        }
        for name in self.sources.keys() {
            if !taken.contains(name) {
                problems.push((
                    source_at(name),
                    format!("source {name:?} is not an input of any sink"),
                ));
            }
        }
        problems
    }

    fn into_config(self) -> Config {
        let sinks = self
            .sinks
            .into_iter()
            .map(|(name, sink)| {
                let inputs = sink
                    .inputs()
                    .get_ref()
                    .iter()
                    .map(|i| i.get_ref().clone())
                    .collect();
                let kind = match sink {
                    RawSink::Console(c) => SinkKind::Console(c),
                    RawSink::Syslog(s) => SinkKind::Syslog(s),
                };
                (name, SinkConfig { inputs, kind })
            })
            .collect();
        Config {
            data_dir: self.data_dir,
            shutdown_timeout: self.shutdown_timeout,
            sources: self.sources,
            sinks,
        }
    }
}

fn check_source(settings: &FileSourceConfig, problems: &mut Vec<Problem>) {
    if let Some(tz) = &settings.timezone {
        if let Err(e) = jiff::tz::TimeZone::get(tz.get_ref()) {
            problems.push((
                Some(tz.span()),
                format!("unknown timezone {:?}: {e}", tz.get_ref()),
            ));
        }
    }
    if let Some(key) = &settings.cpr_key_file {
        match std::fs::metadata(key.get_ref()) {
            Ok(meta) if meta.len() == 0 => problems.push((
                Some(key.span()),
                format!("cpr_key_file {} is empty", key.get_ref().display()),
            )),
            Ok(_) => {}
            Err(e) => problems.push((
                Some(key.span()),
                format!("cpr_key_file {}: {e}", key.get_ref().display()),
            )),
        }
    }
}

fn check_syslog(
    name: &str,
    sink: &SyslogSinkConfig,
    at: Option<Range<usize>>,
    problems: &mut Vec<Problem>,
) {
    let address = &sink.address;
    match address.get_ref().rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
        _ => problems.push((
            Some(address.span()),
            format!(
                "sink {name:?}: address {:?} is not host:port",
                address.get_ref()
            ),
        )),
    }
    let tls = &sink.tls;
    for file in [&tls.ca_file, &tls.cert_file, &tls.key_file]
        .into_iter()
        .flatten()
    {
        if let Err(e) = std::fs::metadata(file.get_ref()) {
            problems.push((
                Some(file.span()),
                format!("{}: {e}", file.get_ref().display()),
            ));
        }
    }
    if tls.cert_file.is_some() != tls.key_file.is_some() {
        problems.push((
            at.clone(),
            format!("sink {name:?}: tls.cert_file and tls.key_file go together"),
        ));
    }
    if sink.reconnect_min.is_zero() || sink.reconnect_min > sink.reconnect_max {
        problems.push((
            at.clone(),
            format!("sink {name:?}: reconnect_min must be positive and at most reconnect_max"),
        ));
    }
    if sink.queue_batches == 0 {
        problems.push((
            at.clone(),
            format!("sink {name:?}: queue_batches must be at least 1"),
        ));
    }
}

struct DocumentSeed<'k> {
    kinds: &'k Kinds,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_> {
    type Value = RawConfig;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawConfig, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_> {
    type Value = RawConfig;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a logferry configuration")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawConfig, A::Error> {
        use serde::de::Error;
        let mut data_dir = None;
        let mut shutdown_timeout = None;
        let mut sources = BTreeMap::new();
        let mut sinks = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "data_dir" => data_dir = Some(map.next_value::<PathBuf>()?),
                "shutdown_timeout" => {
                    shutdown_timeout = Some(map.next_value::<TimeoutValue>()?.0);
                }
                "sources" => {
                    sources = map
                        .next_value_seed(ComponentsSeed(ComponentTable::Sources(self.kinds)))?
                        .sources
                }
                "sinks" => {
                    sinks = map
                        .next_value_seed(ComponentsSeed(ComponentTable::Sinks(self.kinds)))?
                        .sinks
                }
                other => {
                    return Err(A::Error::unknown_field(
                        other,
                        &["data_dir", "shutdown_timeout", "sources", "sinks"],
                    ))
                }
            }
        }
        Ok(RawConfig {
            data_dir: data_dir.unwrap_or_else(default_data_dir),
            shutdown_timeout: shutdown_timeout.unwrap_or_else(default_shutdown_timeout),
            sources,
            sinks,
        })
    }
}

#[derive(Deserialize)]
#[serde(transparent)]
struct TimeoutValue(#[serde(with = "humantime_serde")] Duration);

#[derive(Clone, Copy)]
enum ComponentTable<'k> {
    Sources(&'k Kinds),
    Sinks(&'k Kinds),
}

#[derive(Default)]
struct Components {
    sources: BTreeMap<String, FileSourceConfig>,
    sinks: BTreeMap<String, RawSink>,
}

struct ComponentsSeed<'k>(ComponentTable<'k>);

impl<'de> DeserializeSeed<'de> for ComponentsSeed<'_> {
    type Value = Components;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Components, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ComponentsSeed<'_> {
    type Value = Components;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table of named components")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Components, A::Error> {
        use serde::de::Error;
        let mut out = Components::default();
        while let Some(name) = map.next_key::<String>()? {
            match self.0 {
                ComponentTable::Sources(kinds) => {
                    let kind = kinds.sources.get(&name).map(|t| t.kind.get_ref().as_str());
                    match kind {
                        Some("file") => {
                            out.sources
                                .insert(name, map.next_value::<FileSourceConfig>()?);
                        }
                        other => {
                            return Err(A::Error::custom(format!(
                                "source {name:?}: unknown type {:?}; expected \"file\"",
                                other.unwrap_or_default()
                            )))
                        }
                    }
                }
                ComponentTable::Sinks(kinds) => {
                    let kind = kinds.sinks.get(&name).map(|t| t.kind.get_ref().as_str());
                    let sink = match kind {
                        Some("console") => RawSink::Console(map.next_value()?),
                        Some("syslog") => RawSink::Syslog(Box::new(map.next_value()?)),
                        other => {
                            return Err(A::Error::custom(format!(
                            "sink {name:?}: unknown type {:?}; expected \"syslog\" or \"console\"",
                            other.unwrap_or_default()
                        )))
                        }
                    };
                    out.sinks.insert(name, sink);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
data_dir = "/tmp/lf"

[sources.web]
type = "file"
include = ["/var/log/apache2/*access*.log"]
exclude = ["*.gz"]
format = "apache_access"
timezone = "Europe/Copenhagen"
read_from = "end"
device_name = "web01"
max_line_bytes = "64KiB"

[sinks.logpoint]
type = "syslog"
inputs = ["web"]
address = "siem.example.dk:6514"
transport = "tls"
framing = "octet-counting"
encoding = "kv"
[sinks.logpoint.tls]
server_name = "siem.example.dk"
"#;

    #[test]
    fn reads_the_documented_example() {
        let c = parse(GOOD, "good.toml").unwrap();
        let web = &c.sources["web"];
        assert_eq!(web.format, Format::ApacheAccess);
        assert_eq!(web.read_from, ReadFrom::End);
        assert_eq!(web.max_line_bytes, 64 * 1024);
        assert_eq!(web.device_name.as_deref(), Some("web01"));
        assert!(web.redact_cpr);
        let SinkKind::Syslog(s) = &c.sinks["logpoint"].kind else {
            panic!("not syslog")
        };
        assert_eq!(s.framing, Framing::OctetCounting);
        assert_eq!(s.host(), "siem.example.dk");
        assert_eq!(c.sinks["logpoint"].inputs, vec!["web".to_string()]);
    }

    #[test]
    fn unknown_key_is_located() {
        let text = GOOD.replace("read_from = \"end\"", "read_form = \"end\"");
        let err = parse(&text, "c.toml").unwrap_err();
        let p = &err.0[0];
        assert_eq!((p.line, p.column), (10, 1), "{p}");
        assert!(p.message.contains("read_form"), "{p}");
    }

    #[test]
    fn unknown_input_and_timezone_are_located() {
        let text = GOOD
            .replace("inputs = [\"web\"]", "inputs = [\"wbe\"]")
            .replace("Europe/Copenhagen", "Europe/Kobenhavn");
        let err = parse(&text, "c.toml").unwrap_err();
        let lines: Vec<_> = err.0.iter().map(|p| (p.line, p.message.clone())).collect();
        assert!(
            lines.iter().any(|(l, m)| *l == 16 && m.contains("\"wbe\"")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 9 && m.contains("Kobenhavn")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(_, m)| m.contains("not an input")),
            "{lines:?}"
        );
    }

    #[test]
    fn unknown_type_and_bad_enum_are_errors() {
        let err = parse(&GOOD.replace("type = \"file\"", "type = \"fiel\""), "c").unwrap_err();
        assert!(err.0[0].message.contains("fiel"), "{err}");
        let err = parse(&GOOD.replace("\"apache_access\"", "\"apache\""), "c").unwrap_err();
        assert_eq!(err.0[0].line, 8, "{err}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MiB"), Some(1 << 20));
        assert_eq!(parse_size("10 KB"), Some(10_000));
        assert_eq!(parse_size("12"), Some(12));
        assert_eq!(parse_size("1 parsec"), None);
    }

    #[test]
    fn embedded_default_is_valid() {
        parse(EMBEDDED_DEFAULT, "embedded").unwrap();
    }
}
