//! Loading a configuration: the two passes over the text, the checks serde cannot make, and the
//! positions (file, line, column) of every problem.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use super::{
    default_data_dir, default_shutdown_timeout, humantime_serde, kafka, ApiConfig, BufferSection,
    Config, ConsoleSinkConfig, FileSourceConfig, KafkaSinkConfig, SinkConfig, SinkKind,
    SourceConfig, SyslogSinkConfig,
};

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
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
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
    #[serde(default, rename = "api")]
    _api: Option<serde::de::IgnoredAny>,
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
    sources: BTreeMap<String, SourceConfig>,
    sinks: BTreeMap<String, RawSink>,
    api: Option<ApiConfig>,
}

#[derive(Debug)]
enum RawSink {
    Console(ConsoleSinkConfig),
    Syslog(Box<SyslogSinkConfig>),
    Kafka(Box<KafkaSinkConfig>),
}

impl RawSink {
    fn inputs(&self) -> &Spanned<Vec<Spanned<String>>> {
        match self {
            RawSink::Console(c) => &c.inputs,
            RawSink::Syslog(s) => &s.inputs,
            RawSink::Kafka(k) => &k.inputs,
        }
    }

    /// `None` for Kafka sinks: their batches carry an event index a disk buffer does not keep.
    fn buffer(&self) -> Option<&BufferSection> {
        match self {
            RawSink::Console(c) => Some(&c.buffer),
            RawSink::Syslog(s) => Some(&s.buffer),
            RawSink::Kafka(_) => None,
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
            match source {
                SourceConfig::File(file) => {
                    check_file_source(name, file, source_at(name), &mut problems)
                }
                SourceConfig::Kafka(k) => {
                    kafka::check_source(name, k, source_at(name), &mut problems)
                }
                SourceConfig::Archive(_) => {}
                network => {
                    super::net::check_network_source(name, network, source_at(name), &mut problems)
                }
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
            match sink {
                RawSink::Syslog(s) => check_syslog(name, s, sink_at(name), &mut problems),
                RawSink::Kafka(k) => kafka::check(name, k, sink_at(name), &mut problems),
                RawSink::Console(_) => {}
            }
            for problem in sink
                .buffer()
                .map(BufferSection::problems)
                .unwrap_or_default()
            {
                problems.push((sink_at(name), format!("sink {name:?}: {problem}")));
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
                let disk_buffer = sink.buffer().and_then(BufferSection::disk);
                let kind = match sink {
                    RawSink::Console(c) => SinkKind::Console(c),
                    RawSink::Syslog(s) => SinkKind::Syslog(s),
                    RawSink::Kafka(k) => SinkKind::Kafka(k),
                };
                (
                    name,
                    SinkConfig {
                        inputs,
                        kind,
                        disk_buffer,
                    },
                )
            })
            .collect();
        Config {
            data_dir: self.data_dir,
            shutdown_timeout: self.shutdown_timeout,
            sources: self.sources,
            sinks,
            api: self.api,
        }
    }
}

/// Checks of a `type = "file"` source that serde cannot make; problems point at `at`.
fn check_file_source(
    name: &str,
    file: &FileSourceConfig,
    at: Option<Range<usize>>,
    problems: &mut Vec<Problem>,
) {
    if file.include.is_empty() {
        problems.push((
            at.clone(),
            format!("source {name:?}: include lists no pattern"),
        ));
    }
    for pattern in file.include.iter().chain(&file.exclude) {
        if let Err(e) = glob::Pattern::new(pattern) {
            problems.push((
                at.clone(),
                format!("source {name:?}: bad glob {pattern:?}: {e}"),
            ));
        }
    }
    check_source(file, problems);
    if file.multiline_timeout.is_zero() {
        problems.push((
            at.clone(),
            format!("source {name:?}: multiline_timeout must be positive"),
        ));
    }
    if file.max_open_files == 0 {
        problems.push((
            at.clone(),
            format!("source {name:?}: max_open_files must be at least 1"),
        ));
    }
    if file.max_line_bytes < 64 {
        problems.push((
            at.clone(),
            format!("source {name:?}: max_line_bytes must be at least 64"),
        ));
    }
}

fn check_source(settings: &FileSourceConfig, problems: &mut Vec<Problem>) {
    if let Some(layout) = &settings.log_format {
        if let Err(e) = settings.format.layout(layout.get_ref()) {
            problems.push((Some(layout.span()), e));
        }
    }
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
    if sink.max_unacked_bytes == 0 {
        problems.push((
            at.clone(),
            format!("sink {name:?}: max_unacked_bytes must be at least 1"),
        ));
    }
    // The limits of Linux's TCP_KEEPIDLE/TCP_KEEPINTVL (whole seconds) and TCP_KEEPCNT.
    let seconds = Duration::from_secs(1)..=Duration::from_secs(32_767);
    if !seconds.contains(&sink.keepalive_time) || !seconds.contains(&sink.keepalive_interval) {
        problems.push((
            at.clone(),
            format!("sink {name:?}: keepalive_time and keepalive_interval must be between 1s and 32767s"),
        ));
    }
    if !(1..=127).contains(&sink.keepalive_probes) {
        problems.push((
            at.clone(),
            format!("sink {name:?}: keepalive_probes must be between 1 and 127"),
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
        let mut api = None;
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
                "api" => api = Some(map.next_value::<ApiConfig>()?),
                other => {
                    return Err(A::Error::unknown_field(
                        other,
                        &["data_dir", "shutdown_timeout", "sources", "sinks", "api"],
                    ))
                }
            }
        }
        Ok(RawConfig {
            data_dir: data_dir.unwrap_or_else(default_data_dir),
            shutdown_timeout: shutdown_timeout.unwrap_or_else(default_shutdown_timeout),
            sources,
            sinks,
            api,
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
    sources: BTreeMap<String, SourceConfig>,
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
                    let source = match kind {
                        Some("file") => SourceConfig::File(map.next_value()?),
                        Some("syslog") => SourceConfig::Syslog(map.next_value()?),
                        Some("http") => SourceConfig::Http(map.next_value()?),
                        Some("kafka") => SourceConfig::Kafka(map.next_value()?),
                        other => {
                            return Err(A::Error::custom(format!(
                                "source {name:?}: unknown type {:?}; expected \"file\", \"syslog\", \"http\" or \"kafka\"",
                                other.unwrap_or_default()
                            )))
                        }
                    };
                    out.sources.insert(name, source);
                }
                ComponentTable::Sinks(kinds) => {
                    let kind = kinds.sinks.get(&name).map(|t| t.kind.get_ref().as_str());
                    let sink = match kind {
                        Some("console") => RawSink::Console(map.next_value()?),
                        Some("syslog") => RawSink::Syslog(Box::new(map.next_value()?)),
                        Some("kafka") => RawSink::Kafka(Box::new(map.next_value()?)),
                        other => {
                            return Err(A::Error::custom(format!(
                            "sink {name:?}: unknown type {:?}; expected \"syslog\", \"kafka\" or \"console\"",
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
mod tests;
