//! `elastic-pipeline-tests/ecs_cases.jsonl`: the ECS values that have a LogPoint counterpart, against ours.

use std::path::Path;

use serde_json::{Map, Value};

use crate::run::{has_label, local_time, normalise_text, settings, text, Event};
use crate::tally::Tally;

/// (ECS dotted path, our field); `source.address` may also be our `source_host`.
const VALUES: &[(&str, &str)] = &[
    ("source.address", "source_address"),
    ("source.port", "source_port"),
    ("user.name", "user"),
    ("http.request.method", "request_method"),
    ("url.original", "url"),
    ("http.version", "http_version"),
    ("http.response.status_code", "status_code"),
    ("http.response.body.bytes", "sent_datasize"),
    ("user_agent.original", "user_agent"),
    ("log.level", "log_level"),
    ("process.name", "process"),
    ("process.pid", "process_id"),
    ("process.thread.id", "thread_id"),
    ("host.hostname", "host"),
];

/// A syslog record starts with a header; the lines after it (macOS agents indent continuations with
/// tabs) belong to it. This is the `multiline_start` an operator would set for such a file.
const SYSLOG_START: &str = r"^(<\d{1,3}>)?([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT)";

/// The data sets we read, by the path of the Elastic test file, with our format and
/// `multiline_start` for them.
const DATASETS: &[(&str, &str, Option<&str>)] = &[
    ("apache/data_stream/access", "apache_access", None),
    ("apache/data_stream/error", "apache_error", None),
    ("nginx/data_stream/access", "nginx_access", None),
    ("nginx/data_stream/error", "nginx_error", None),
    ("system/data_stream/auth", "syslog", None),
    ("system/data_stream/syslog", "syslog", Some(SYSLOG_START)),
];

/// Prints one table per data set.
pub fn report(corpora: &Path, show: usize) {
    println!("## elastic-pipeline-tests: ECS values with a LogPoint counterpart\n");
    let path = corpora.join("elastic-pipeline-tests/ecs_cases.jsonl");
    let Ok(data) = std::fs::read_to_string(&path) else {
        println!("skipped: {} absent\n", path.display());
        return;
    };
    let cases: Vec<Map<String, Value>> = data
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for &(dataset, format, multiline) in DATASETS {
        let mut tally = Tally::default();
        for case in &cases {
            let in_set = case["source"]["path"]
                .as_str()
                .is_some_and(|p| p.contains(dataset));
            let (Some(input), Some(expected)) =
                (case["input"].as_str(), case["expected"].as_object())
            else {
                continue;
            };
            if !in_set || case["input_kind"] != "log_line" {
                continue;
            }
            tally.records += 1;
            let zone = zone_of(expected);
            // A zone we cannot name: read in UTC, and compare no time the line gives without offset.
            let read_in = if zone.is_empty() { "UTC" } else { zone };
            let mut settings = settings(format, read_in);
            settings.multiline_start =
                multiline.map(|m| regex::bytes::Regex::new(m).expect("a valid regex"));
            let events = normalise_text(&settings, "2026-11-26T12:00:00Z", input.as_bytes());
            // Some cases hold a whole test file while the expected document is its first record's:
            // an event per record is right then (the first is compared), continuation lines shipped
            // as `Raw` are not.
            let class = match events.iter().filter(|e| e["norm_id"] == "Raw").count() {
                _ if events.len() == 1 => None,
                0 => None,
                raw => Some(format!("{raw} continuation lines shipped as Raw events")),
            };
            tally.check_class("events", class, || input.to_string());
            let Some(first) = events.first() else {
                continue;
            };
            compare(&mut tally, expected, first, input, format, zone);
        }
        tally.print(&format!("{dataset} (`format = \"{format}\"`)"), show);
    }
}

/// The timezone the Elastic test read the line in (`event.timezone`), as far as we can name it.
fn zone_of(expected: &Map<String, Value>) -> &'static str {
    match lookup(expected, "event.timezone").and_then(Value::as_str) {
        Some("+0000" | "UTC" | "Z" | "+00:00") | None => "UTC",
        Some(_) => "",
    }
}

fn lookup<'v>(value: &'v Map<String, Value>, dotted: &str) -> Option<&'v Value> {
    let mut parts = dotted.split('.');
    let mut current = value.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

fn compare(
    tally: &mut Tally,
    expected: &Map<String, Value>,
    event: &Event,
    input: &str,
    format: &str,
    zone: &str,
) {
    for &(path, ours) in VALUES {
        let Some(value) = lookup(expected, path) else {
            continue;
        };
        let want = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if want == "-" || want.is_empty() {
            let got = text(event, ours);
            let class = got
                .as_ref()
                .map(|_| "we emit a placeholder's value".to_string());
            tally.check_class(path, class, || format!("got {got:?} in {input:?}"));
            continue;
        }
        // Elastic's Nginx pipeline lower-cases the method; we keep it as sent.
        let want = if path == "http.request.method" {
            want.to_ascii_uppercase()
        } else {
            want
        };
        let mut got = text(event, ours);
        if path == "source.address" && got.is_none() {
            got = text(event, "source_host");
        }
        tally.check(path, &want, got.as_deref(), input);
    }
    if let Some(outcome) = lookup(expected, "event.outcome").and_then(Value::as_str) {
        let label = match outcome {
            "success" => "Successful",
            "failure" => "Failed",
            _ => "",
        };
        if !label.is_empty() {
            let class = (!has_label(event, label)).then(|| format!("label {label} missing"));
            tally.check_class("event.outcome", class, || {
                format!("labels {:?} in {input:?}", event.get("label"))
            });
        }
    }
    if let (Some(timestamp), false) = (
        lookup(expected, "@timestamp").and_then(Value::as_str),
        zone.is_empty(),
    ) {
        let Ok(want) = timestamp.parse::<jiff::Timestamp>() else {
            return;
        };
        // Year-less syslog times: the Elastic tests put them in the year they ran; compare the rest.
        let strftime = if format == "syslog" {
            "%m-%d %H:%M:%S"
        } else {
            "%Y-%m-%d %H:%M:%S"
        };
        let want = want
            .in_tz("UTC")
            .map(|z| z.strftime(strftime).to_string())
            .unwrap_or_default();
        tally.check(
            "@timestamp",
            &want,
            local_time(event, "UTC", strftime).as_deref(),
            input,
        );
    }
}
