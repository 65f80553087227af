//! Configuration of the network sources: `type = "syslog"` and `type = "http"` listeners, their
//! server TLS and the HTTP source's bearer tokens, with the checks serde cannot make.
//!
//! The normalisation keys every source accepts (`timezone`, `device_name`, `source_name`,
//! `cpr_key_file`, `redact_cpr`) are repeated in each struct rather than flattened, because serde's
//! `flatten` would lose `deny_unknown_fields` and the positions of misspelt keys.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{de_size, humantime_serde, yes, Format, SourceSettings};

/// How a syslog listener receives messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ListenTransport {
    Udp,
    #[default]
    Tcp,
    /// TCP with TLS (RFC 5425); needs `[sources.NAME.tls]`.
    Tls,
}

impl ListenTransport {
    /// The name used in configuration and in `source_name` (`syslog:tcp:6514`).
    pub fn name(self) -> &'static str {
        match self {
            ListenTransport::Udp => "udp",
            ListenTransport::Tcp => "tcp",
            ListenTransport::Tls => "tls",
        }
    }
}

/// `[sources.NAME.tls]` of a listener: the server certificate, and optionally client certificates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsConfig {
    /// PEM certificate chain the listener presents.
    pub cert_file: Spanned<PathBuf>,
    /// PEM private key of that certificate.
    pub key_file: Spanned<PathBuf>,
    /// PEM CA bundle: when set, every client must present a certificate signed by one of these.
    pub client_ca_file: Option<Spanned<PathBuf>>,
    /// When set (needs `client_ca_file`), a client certificate is accepted only if its subject common
    /// name or one of its DNS names is in this list (exact, case-sensitive).
    pub allowed_subjects: Option<Vec<String>>,
}

impl ServerTlsConfig {
    /// Every file it names.
    pub fn files(&self) -> impl Iterator<Item = &Spanned<PathBuf>> {
        [Some(&self.cert_file), Some(&self.key_file)]
            .into_iter()
            .chain([self.client_ca_file.as_ref()])
            .flatten()
    }
}

/// `[sources.NAME]` with `type = "syslog"`: a listener for syslog senders and relays.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogSourceConfig {
    #[serde(rename = "type")]
    _type: String,
    /// `IP:port` to listen on.
    pub address: SocketAddr,
    #[serde(default)]
    pub transport: ListenTransport,
    pub tls: Option<ServerTlsConfig>,
    /// How each message is read; `syslog` (RFC 3164 and RFC 5424) unless set.
    #[serde(default = "syslog_format")]
    pub format: Format,
    pub timezone: Option<Spanned<String>>,
    /// A fixed `device_name` for every event; unset, each message's header hostname (else the peer's
    /// address).
    pub device_name: Option<String>,
    /// `source_name` of the events; default `syslog:TRANSPORT:PORT`.
    pub source_name: Option<String>,
    pub cpr_key_file: Option<Spanned<PathBuf>>,
    #[serde(default = "yes")]
    pub redact_cpr: bool,
    /// Longer messages are cut to this size and labelled `Truncated`.
    #[serde(default = "default_max_message_bytes", deserialize_with = "de_size")]
    pub max_message_bytes: usize,
    /// TCP/TLS connections open at once; more are closed as soon as they are accepted.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// A TCP/TLS connection that sends nothing for this long is closed.
    #[serde(default = "default_idle_timeout", with = "humantime_serde")]
    pub idle_timeout: Duration,
}

impl SyslogSourceConfig {
    /// The settings that shape normalisation.
    pub fn settings(&self) -> SourceSettings {
        SourceSettings {
            timezone: self.timezone.as_ref().map(|t| t.get_ref().clone()),
            device_name: self.device_name.clone(),
            source_name: Some(self.source_name()),
            cpr_key_file: self.cpr_key_file.as_ref().map(|k| k.get_ref().clone()),
            redact_cpr: self.redact_cpr,
            ..SourceSettings::new(self.format)
        }
    }

    /// `source_name` of the events: configured, else `syslog:tcp:6514`.
    pub fn source_name(&self) -> String {
        self.source_name
            .clone()
            .unwrap_or_else(|| format!("syslog:{}:{}", self.transport.name(), self.address.port()))
    }
}

/// `[[sources.NAME.tokens]]`: one client of an HTTP source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A file holding the bearer token (surrounding whitespace ignored).
    pub token_file: Option<Spanned<PathBuf>>,
    /// The bearer token itself (for tests; prefer `token_file`).
    pub token: Option<String>,
    /// The `application` field of every event this client sends.
    pub application: String,
    /// The `device_name` of every event this client sends.
    pub device_name: String,
}

/// `[sources.NAME]` with `type = "http"`: JSON events posted to `/v1/events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSourceConfig {
    #[serde(rename = "type")]
    _type: String,
    /// `IP:port` to listen on.
    pub address: SocketAddr,
    /// The clients; a request must carry one of their tokens.
    pub tokens: Spanned<Vec<TokenConfig>>,
    /// Serve HTTPS with this certificate.
    pub tls: Option<ServerTlsConfig>,
    pub timezone: Option<Spanned<String>>,
    /// `source_name` of the events; default `http:/v1/events`.
    pub source_name: Option<String>,
    pub cpr_key_file: Option<Spanned<PathBuf>>,
    #[serde(default = "yes")]
    pub redact_cpr: bool,
    /// Larger request bodies (after gzip decoding too) are refused with 413.
    #[serde(default = "default_max_body_bytes", deserialize_with = "de_size")]
    pub max_body_bytes: usize,
    /// How long a request waits for every sink to acknowledge its events before it gets 503.
    #[serde(default = "default_ack_timeout", with = "humantime_serde")]
    pub ack_timeout: Duration,
    /// Connections open at once; more are closed as soon as they are accepted.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// A connection idle for this long is closed.
    #[serde(default = "default_idle_timeout", with = "humantime_serde")]
    pub idle_timeout: Duration,
}

impl HttpSourceConfig {
    /// The settings that shape normalisation (always `format = "json"`).
    pub fn settings(&self) -> SourceSettings {
        SourceSettings {
            timezone: self.timezone.as_ref().map(|t| t.get_ref().clone()),
            source_name: Some(
                self.source_name
                    .clone()
                    .unwrap_or_else(|| "http:/v1/events".to_string()),
            ),
            cpr_key_file: self.cpr_key_file.as_ref().map(|k| k.get_ref().clone()),
            redact_cpr: self.redact_cpr,
            ..SourceSettings::new(Format::Json)
        }
    }
}

fn syslog_format() -> Format {
    Format::Syslog
}
fn default_max_message_bytes() -> usize {
    64 << 10
}
fn default_max_connections() -> usize {
    1024
}
fn default_idle_timeout() -> Duration {
    Duration::from_secs(600)
}
fn default_max_body_bytes() -> usize {
    10 << 20
}
fn default_ack_timeout() -> Duration {
    Duration::from_secs(30)
}

type Problem = (Option<Range<usize>>, String);

/// Checks of a network source that serde cannot make; whole-source problems point at `at`.
pub(super) fn check_network_source(
    name: &str,
    source: &super::SourceConfig,
    at: Option<Range<usize>>,
    problems: &mut Vec<Problem>,
) {
    match source {
        super::SourceConfig::Syslog(s) => check_syslog_source(name, s, at, problems),
        super::SourceConfig::Http(h) => check_http_source(name, h, at, problems),
        _ => {}
    }
}

fn check_syslog_source(
    name: &str,
    source: &SyslogSourceConfig,
    at: Option<Range<usize>>,
    problems: &mut Vec<Problem>,
) {
    check_common(&source.timezone, &source.cpr_key_file, problems);
    match (source.transport, &source.tls) {
        (ListenTransport::Tls, None) => problems.push((
            at.clone(),
            format!("source {name:?}: transport \"tls\" needs [sources.{name}.tls]"),
        )),
        (ListenTransport::Udp | ListenTransport::Tcp, Some(_)) => problems.push((
            at.clone(),
            format!("source {name:?}: [sources.{name}.tls] needs transport = \"tls\""),
        )),
        (_, Some(tls)) => check_tls(name, tls, at.clone(), problems),
        (_, None) => {}
    }
    if source.max_message_bytes < 64 {
        problems.push((
            at.clone(),
            format!("source {name:?}: max_message_bytes must be at least 64"),
        ));
    }
    check_limits(
        name,
        source.max_connections,
        source.idle_timeout,
        at,
        problems,
    );
}

fn check_http_source(
    name: &str,
    source: &HttpSourceConfig,
    at: Option<Range<usize>>,
    problems: &mut Vec<Problem>,
) {
    check_common(&source.timezone, &source.cpr_key_file, problems);
    if let Some(tls) = &source.tls {
        check_tls(name, tls, at.clone(), problems);
    }
    if source.tokens.get_ref().is_empty() {
        problems.push((
            Some(source.tokens.span()),
            format!("source {name:?}: tokens lists no client"),
        ));
    }
    for token in source.tokens.get_ref() {
        match (&token.token, &token.token_file) {
            (Some(t), None) if t.trim().is_empty() => problems.push((
                Some(source.tokens.span()),
                format!("source {name:?}: an empty token"),
            )),
            (Some(_), None) => {}
            (None, Some(file)) => match std::fs::read_to_string(file.get_ref()) {
                Ok(text) if text.trim().is_empty() => problems.push((
                    Some(file.span()),
                    format!("token_file {} is empty", file.get_ref().display()),
                )),
                Ok(_) => {}
                Err(e) => problems.push((
                    Some(file.span()),
                    format!("token_file {}: {e}", file.get_ref().display()),
                )),
            },
            _ => problems.push((
                Some(source.tokens.span()),
                format!(
                    "source {name:?}: each token needs exactly one of token_file and token (application {:?})",
                    token.application
                ),
            )),
        }
    }
    if source.max_body_bytes == 0 || source.ack_timeout.is_zero() {
        problems.push((
            at.clone(),
            format!("source {name:?}: max_body_bytes and ack_timeout must be positive"),
        ));
    }
    check_limits(
        name,
        source.max_connections,
        source.idle_timeout,
        at,
        problems,
    );
}

fn check_common(
    timezone: &Option<Spanned<String>>,
    cpr_key_file: &Option<Spanned<PathBuf>>,
    problems: &mut Vec<Problem>,
) {
    if let Some(tz) = timezone {
        if let Err(e) = jiff::tz::TimeZone::get(tz.get_ref()) {
            problems.push((
                Some(tz.span()),
                format!("unknown timezone {:?}: {e}", tz.get_ref()),
            ));
        }
    }
    if let Some(key) = cpr_key_file {
        if let Err(e) = std::fs::metadata(key.get_ref()) {
            problems.push((
                Some(key.span()),
                format!("cpr_key_file {}: {e}", key.get_ref().display()),
            ));
        }
    }
}

fn check_tls(
    name: &str,
    tls: &ServerTlsConfig,
    at: Option<Range<usize>>,
    problems: &mut Vec<Problem>,
) {
    for file in tls.files() {
        if let Err(e) = std::fs::metadata(file.get_ref()) {
            problems.push((
                Some(file.span()),
                format!("{}: {e}", file.get_ref().display()),
            ));
        }
    }
    if tls.allowed_subjects.is_some() && tls.client_ca_file.is_none() {
        problems.push((
            at,
            format!("source {name:?}: tls.allowed_subjects needs tls.client_ca_file"),
        ));
    }
}

fn check_limits(
    name: &str,
    max_connections: usize,
    idle_timeout: Duration,
    at: Option<Range<usize>>,
    problems: &mut Vec<Problem>,
) {
    if max_connections == 0 || idle_timeout.is_zero() {
        problems.push((
            at,
            format!("source {name:?}: max_connections and idle_timeout must be positive"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{parse, SourceConfig};

    const SINK: &str = "[sinks.out]\ntype = \"console\"\ninputs = [\"net\"]\n";

    #[test]
    fn syslog_source_defaults_and_names() {
        let text =
            format!("[sources.net]\ntype = \"syslog\"\naddress = \"127.0.0.1:5514\"\n{SINK}");
        let config = parse(&text, "c").unwrap();
        let SourceConfig::Syslog(s) = &config.sources["net"] else {
            panic!("not a syslog source")
        };
        assert_eq!(s.source_name(), "syslog:tcp:5514");
        assert_eq!(s.max_message_bytes, 64 << 10);
        let bad = text.replace("address = ", "transport = \"tls\"\naddress = ");
        let err = parse(&bad, "c").unwrap_err().to_string();
        assert!(err.contains("needs [sources.net.tls]"), "{err}");
        let typo = text.replace("address = ", "adress = \"x\"\naddress = ");
        let err = parse(&typo, "c").unwrap_err();
        assert_eq!(err.0[0].line, 3, "{err}");
    }

    #[test]
    fn http_source_tokens() {
        let text = format!(
            "[sources.net]\ntype = \"http\"\naddress = \"127.0.0.1:8088\"\n\
             [[sources.net.tokens]]\ntoken = \"s3cret\"\napplication = \"eDoc\"\ndevice_name = \"edoc-prod\"\n{SINK}"
        );
        let config = parse(&text, "c").unwrap();
        let SourceConfig::Http(h) = &config.sources["net"] else {
            panic!("not an http source")
        };
        assert_eq!(h.tokens.get_ref()[0].application, "eDoc");
        let both = text.replace("token = ", "token_file = \"/nonexistent\"\ntoken = ");
        let err = parse(&both, "c").unwrap_err().to_string();
        assert!(err.contains("exactly one of token_file and token"), "{err}");
    }
}
