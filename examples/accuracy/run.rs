//! Runs `logferry normalise` in-process over a file or a text and returns the events as JSON objects.

use std::io::Write;
use std::path::Path;

use logferry::commands::normalise::{normalise, NormaliseRequest};
use logferry::config::{Encoding, SourceSettings};
use logferry::normalise::time::parse_rfc3339;
use serde_json::{Map, Value};

/// One normalised event, as the `json` encoding writes it.
pub type Event = Map<String, Value>;

/// Source settings for `format` read in `timezone`, CPR redaction off (the corpora hold none, and
/// redaction must not mask a parsing disagreement).
pub fn settings(format: &str, timezone: &str) -> SourceSettings {
    let mut settings = SourceSettings::new(format.parse().expect("a format logferry knows"));
    settings.timezone = Some(timezone.to_string());
    settings.redact_cpr = false;
    settings
}

/// The events of the records in `path`, read at `now` (RFC 3339).
pub fn normalise_file(settings: &SourceSettings, now: &str, path: &Path) -> Vec<Event> {
    let request = NormaliseRequest {
        settings: settings.clone(),
        now: Some(parse_rfc3339(now).expect("an RFC 3339 time")),
        input: Some(path.to_path_buf()),
        encoding: Encoding::Json,
        rfc5424: false,
        max_line_bytes: logferry::config::default_max_line_bytes(),
    };
    let mut out = Vec::new();
    if let Err(e) = normalise(&request, &mut out) {
        panic!("normalising {}: {e:#}", path.display());
    }
    out.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| match serde_json::from_slice(l) {
            Ok(Value::Object(map)) => map,
            other => panic!("not a JSON object: {other:?}"),
        })
        .collect()
}

/// The events of `text` (its records as a file would hold them).
pub fn normalise_text(settings: &SourceSettings, now: &str, text: &[u8]) -> Vec<Event> {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(text).expect("writing a temporary file");
    normalise_file(settings, now, file.path())
}

/// A field as text (numbers as written in JSON); `None` when absent.
pub fn text(event: &Event, key: &str) -> Option<String> {
    match event.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The event's `log_ts` as local civil time in `timezone`, formatted with `strftime`.
pub fn local_time(event: &Event, timezone: &str, strftime: &str) -> Option<String> {
    let seconds = event.get("log_ts")?.as_i64()?;
    let zoned = jiff::Timestamp::from_second(seconds)
        .ok()?
        .in_tz(timezone)
        .ok()?;
    Some(zoned.strftime(strftime).to_string())
}

/// True when the event has `label`.
pub fn has_label(event: &Event, label: &str) -> bool {
    event
        .get("label")
        .and_then(Value::as_array)
        .is_some_and(|labels| labels.iter().any(|l| l == label))
}
