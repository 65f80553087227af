//! Normalisation: from a raw record to the LogPoint [`Event`], per the schema (`docs/output-format.md`).
//!
//! A [`Normaliser`] is built once per source from its settings. For each record it runs the format's
//! parser, maps the parsed fields ([`access`], [`syslog`], [`json`]), falls back to `norm_id=Raw` when
//! the record does not parse, and finally pseudonymises CPR numbers ([`cpr`]) in every string.

pub mod access;
pub mod audit;
pub mod auto;
pub mod cpr;
mod digit_runs;
pub mod ipv6_text;
pub mod java;
pub mod json;
pub mod kv;
mod memo;
pub mod passthrough;
pub mod syslog;
pub mod text;
pub mod time;
pub mod web_error;

use std::borrow::Cow;
use std::path::Path;

use anyhow::Context;

use crate::config::{Format, SourceSettings};
use crate::event::{Event, EventTime};
use cpr::CprRedactor;
use logferry_parsers::log_format::{Layout, LogFormat};
use time::SourceClock;

/// Everything a record needs besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct RecordContext {
    /// The reading time: year inference, and the time of records that carry none.
    pub now: EventTime,
    /// The record was cut at the source's maximum length.
    pub truncated: bool,
}

/// Turns records of one source into events.
#[derive(Debug)]
pub struct Normaliser {
    format: Format,
    /// A custom access-log layout; `None` for the built-in ones.
    layout: Option<LogFormat>,
    clock: SourceClock,
    device_name: String,
    source_name: Option<String>,
    redactor: Option<CprRedactor>,
    /// `json` records that are logferry events pass through as they are ([`passthrough`]).
    passthrough: bool,
}

impl Normaliser {
    /// Builds the normaliser for a source; reads the CPR key file and resolves the timezone.
    pub fn new(settings: &SourceSettings) -> anyhow::Result<Self> {
        let clock = SourceClock::new(settings.timezone.as_deref())?;
        let redactor = if settings.redact_cpr {
            Some(match &settings.cpr_key_file {
                Some(path) => CprRedactor::with_key(&read_key(path)?),
                None => CprRedactor::without_key(),
            })
        } else {
            None
        };
        let layout = match &settings.log_format {
            Some(text) => match settings.format.layout(text).map_err(anyhow::Error::msg)? {
                Layout::Builtin => None,
                Layout::Custom(format) => Some(format),
            },
            None => None,
        };
        Ok(Normaliser {
            format: settings.format,
            layout,
            clock,
            device_name: settings.device_name.clone().unwrap_or_else(host_name),
            source_name: settings.source_name.clone(),
            redactor,
            passthrough: false,
        })
    }

    /// With `format = "json"`, records that are events logferry wrote (its `json` encoding) keep
    /// their norm_id, device_name and fields instead of being mapped as JSON logs. For sources that
    /// read other agents' output (Kafka).
    pub fn with_passthrough(mut self) -> Self {
        self.passthrough = true;
        self
    }

    /// The `device_name` events of this source carry.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// The `source_name` for records read from `path`: the override if configured, else the path.
    pub fn source_name<'s>(&'s self, path: &'s str) -> &'s str {
        self.source_name.as_deref().unwrap_or(path)
    }

    /// Normalises one record into `event`, which the caller has [`Event::reset`].
    ///
    /// Never fails: a record the format cannot parse becomes `norm_id=Raw` with `parse_error`.
    pub fn normalise<'a>(&self, record: &'a [u8], ctx: &RecordContext, event: &mut Event<'a>) {
        event.time = ctx.now;
        event.record = text::RecordText::new(record);
        event.msg = event.record.whole();
        let parsed = match self.format {
            Format::Auto => self.map_auto(record, ctx, event),
            format => self.map(format, record, ctx, event),
        };
        if let Err(reason) = parsed {
            undo_mapping(event, ctx.now);
            event.app_name = self.format.name();
            event.label("Unparsed");
            event.parse_error = Some(format!("{}: {reason}", self.format.name()));
        }
        if ctx.truncated {
            event.label("Truncated");
        }
        if let Some(redactor) = &self.redactor {
            if redactor.redact_event(event) {
                event.label("Pseudonymised");
            }
        }
    }

    /// Maps `record` as `format` (not `auto`).
    fn map<'a>(
        &self,
        format: Format,
        record: &'a [u8],
        ctx: &RecordContext,
        event: &mut Event<'a>,
    ) -> MapResult {
        match format {
            Format::ApacheAccess => self.map_access(record, event, "apache"),
            Format::NginxAccess => self.map_access(record, event, "nginx"),
            Format::Syslog => syslog::map(record, &self.clock, ctx.now, event),
            Format::Json if self.passthrough => passthrough::map(record, event).or_else(|_| {
                undo_mapping(event, ctx.now);
                json::map(record, event)
            }),
            Format::Json => json::map(record, event),
            Format::ApacheError => web_error::map_apache(record, &self.clock, ctx.now, event),
            Format::NginxError => web_error::map_nginx(record, &self.clock, ctx.now, event),
            Format::Auditd => audit::map(record, event),
            Format::Java => java::map(record, &self.clock, ctx.now, event),
            Format::Kv => kv::map(record, event),
            Format::Auto => Err("auto is not a format of its own".into()),
        }
    }

    /// `auto`: the first of the line's candidate formats whose mapping accepts it.
    fn map_auto<'a>(
        &self,
        record: &'a [u8],
        ctx: &RecordContext,
        event: &mut Event<'a>,
    ) -> MapResult {
        for &format in auto::candidates(record) {
            if self.map(format, record, ctx, event).is_ok() {
                return Ok(());
            }
            undo_mapping(event, ctx.now);
        }
        Err("no format recognised the line".into())
    }
}

/// Takes back what a mapping that rejected the record wrote, keeping the record and `msg`.
fn undo_mapping(event: &mut Event<'_>, now: EventTime) {
    event.fields.clear();
    event.labels.clear();
    event.time = now;
    event.norm_id = "Raw";
    event.severity = 6;
    event.facility = 1;
}

impl Normaliser {
    /// An access-log line, with the source's custom layout if it has one.
    fn map_access<'a>(
        &self,
        record: &'a [u8],
        event: &mut Event<'a>,
        app_name: &'static str,
    ) -> MapResult {
        match &self.layout {
            Some(layout) => access::map_layout(record, layout, &self.clock, event, app_name),
            None => access::map(record, event, app_name),
        }
    }
}

fn read_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    let key =
        std::fs::read(path).with_context(|| format!("reading cpr_key_file {}", path.display()))?;
    anyhow::ensure!(!key.is_empty(), "cpr_key_file {} is empty", path.display());
    Ok(key)
}

/// This machine's host name, the default `device_name`.
pub fn host_name() -> String {
    let name = gethostname::gethostname();
    match name.to_string_lossy() {
        Cow::Borrowed(s) if !s.is_empty() => s.to_string(),
        Cow::Owned(s) if !s.is_empty() => s,
        _ => "localhost".to_string(),
    }
}

/// Why a mapping rejected a record.
pub type MapResult = Result<(), String>;
