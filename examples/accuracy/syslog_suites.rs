//! `syslog-tests/syslog_cases.jsonl`: the rsyslog, syslog-ng, go-syslog, syslog_loose and VRL suites, per suite.
//!
//! Each suite names fields its own way; a table per suite says which of our fields answers each of
//! its names and how to compare. Fields that depend on a suite's own configuration (rsyslog templates
//! with property modifiers, the receiver's host name) are not compared.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::run::{local_time, normalise_text, settings, text, Event};
use crate::tally::Tally;

/// How a suite's value compares with ours.
#[derive(Clone, Copy)]
enum Compare {
    /// Same text (numbers as written).
    Text(&'static str),
    /// PRI number against our facility × 8 + severity.
    Pri,
    /// A facility given as a name (`auth`, `LOG_LOCAL7`) or a number.
    Facility,
    /// A severity given as a name (`info`, `SEV_INFO`, `notice`) or a number.
    Severity,
    /// Epoch seconds against our `log_ts`.
    EpochSeconds,
    /// RFC 3339 time against our `log_ts` (whole seconds).
    Rfc3339,
    /// Naive local time `YYYY-MM-DDTHH:MM:SS` (the test ran in UTC): month, day and time against ours.
    NaiveMonthDayTime,
}

struct Suite {
    parser: &'static str,
    fields: &'static [(&'static str, Compare)],
}

const SUITES: &[Suite] = &[
    Suite {
        parser: "rsyslog",
        fields: &[
            ("PRI", Compare::Pri),
            ("syslogfacility-text", Compare::Facility),
            ("syslogseverity-text", Compare::Severity),
            ("syslogfacility", Compare::Facility),
            ("syslogseverity", Compare::Severity),
            ("hostname", Compare::Text("host")),
            ("programname", Compare::Text("process")),
            ("app-name", Compare::Text("process")),
            ("procid", Compare::Text("process_id")),
            ("msgid", Compare::Text("event_type")),
            ("msg", Compare::Text("message")),
        ],
    },
    Suite {
        parser: "syslog-ng",
        fields: &[
            ("pri", Compare::Pri),
            ("host", Compare::Text("host")),
            ("program", Compare::Text("process")),
            ("pid", Compare::Text("process_id")),
            ("msgid", Compare::Text("event_type")),
            ("message", Compare::Text("message")),
            ("stamp_epoch_sec", Compare::EpochSeconds),
        ],
    },
    Suite {
        parser: "go-syslog",
        fields: &[
            ("priority", Compare::Pri),
            ("facility", Compare::Facility),
            ("severity", Compare::Severity),
            ("timestamp", Compare::Rfc3339),
            ("hostname", Compare::Text("host")),
            ("appname", Compare::Text("process")),
            ("procid", Compare::Text("process_id")),
            ("msgid", Compare::Text("event_type")),
            ("message", Compare::Text("message")),
        ],
    },
    Suite {
        parser: "syslog_loose",
        fields: &[
            ("facility", Compare::Facility),
            ("severity", Compare::Severity),
            ("timestamp", Compare::NaiveMonthDayTime),
            ("hostname", Compare::Text("host")),
            ("appname", Compare::Text("process")),
            ("procid", Compare::Text("process_id")),
            ("msgid", Compare::Text("event_type")),
            ("msg", Compare::Text("message")),
        ],
    },
    Suite {
        parser: "vrl:parse_syslog",
        fields: &[
            ("facility", Compare::Facility),
            ("severity", Compare::Severity),
            ("timestamp", Compare::Rfc3339),
            ("hostname", Compare::Text("host")),
            ("appname", Compare::Text("process")),
            ("procid", Compare::Text("process_id")),
            ("msgid", Compare::Text("event_type")),
            ("message", Compare::Text("message")),
        ],
    },
];

const FACILITIES: &[&str] = &[
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: &[&[&str]] = &[
    &["emerg", "emergency", "panic"],
    &["alert"],
    &["crit", "critical"],
    &["err", "error"],
    &["warning", "warn"],
    &["notice"],
    &["info", "informational"],
    &["debug"],
];

/// Prints one table per suite.
pub fn report(corpora: &Path, show: usize) {
    println!("## syslog-tests: per source suite\n");
    let path = corpora.join("syslog-tests/syslog_cases.jsonl");
    let Ok(data) = std::fs::read_to_string(&path) else {
        println!("skipped: {} absent\n", path.display());
        return;
    };
    let cases: Vec<Map<String, Value>> = data
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut invalid: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for suite in SUITES {
        let mut tally = Tally::default();
        for case in cases.iter().filter(|c| c["parser"] == suite.parser) {
            let Some(input) = case["input"].as_str() else {
                continue;
            };
            let expected = expected_fields(suite.parser, case);
            let event = normalise_case(case, input);
            let Some(expected) = expected else {
                // A case the suite's parser rejects: say how we shipped it.
                let entry = invalid.entry(suite.parser).or_default();
                entry.0 += 1;
                if event.as_ref().is_some_and(|e| e["norm_id"] != "Raw") {
                    entry.1 += 1;
                }
                continue;
            };
            tally.records += 1;
            let Some(event) = event else {
                tally.check_class("events", Some("not exactly one event".into()), || {
                    input.to_string()
                });
                continue;
            };
            for &(name, compare) in suite.fields {
                if let Some(value) = expected.get(name) {
                    check(&mut tally, name, compare, value, &event, input);
                }
            }
        }
        tally.print(&format!("{} (`format = \"syslog\"`)", suite.parser), show);
    }
    for (parser, (total, shipped)) in invalid {
        println!(
            "- {parser}: {total} inputs its parser rejects: we ship {shipped} as `Syslog` (lenient header), {} as `Raw`.",
            total - shipped
        );
    }
    println!();
}

/// The suite's expected values by its own names; `None` for a case its parser rejects.
fn expected_fields(parser: &str, case: &Map<String, Value>) -> Option<Map<String, Value>> {
    let expected = case["expected"].as_object()?;
    match parser {
        "go-syslog" => {
            if expected.get("valid") != Some(&Value::Bool(true)) {
                return None;
            }
            expected.get("message")?.as_object().cloned()
        }
        "rsyslog" => {
            let fields = expected.get("fields")?.as_object()?;
            if expected.get("fields_ambiguous") == Some(&Value::Bool(true)) {
                return Some(Map::new());
            }
            // The receiver's own host name and property modifiers depend on rsyslog's set-up.
            Some(
                fields
                    .iter()
                    .filter(|(k, v)| {
                        !k.contains(':') && !v.as_str().is_some_and(|s| s.contains("<RS_"))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        }
        _ => {
            if expected.contains_key("error") {
                return None;
            }
            Some(expected.clone())
        }
    }
}

/// Our one event for the case's input, in the case's timezone and clock where it gives them.
fn normalise_case(case: &Map<String, Value>, input: &str) -> Option<Event> {
    let context = case.get("context").and_then(Value::as_object);
    let zone = context
        .and_then(|c| c.get("TZ"))
        .and_then(Value::as_str)
        .map(posix_zone)
        .unwrap_or("UTC");
    let now = context
        .and_then(|c| c.get("now_epoch"))
        .and_then(Value::as_i64)
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(|| "2026-11-26T12:00:00Z".to_string(), |t| t.to_string());
    let mut events = normalise_text(&settings("syslog", zone), &now, input.as_bytes());
    (events.len() == 1).then(|| events.remove(0))
}

/// The IANA zone for the POSIX TZ strings the syslog-ng suite uses.
fn posix_zone(tz: &str) -> &str {
    match tz {
        "MET-1METDST" => "MET",
        "EST5EDT" | "CET" | "UTC" => tz,
        "PST8PDT" => "PST8PDT",
        zone if zone.contains('/') => zone,
        _ => "UTC",
    }
}

fn check(
    tally: &mut Tally,
    name: &str,
    compare: Compare,
    value: &Value,
    event: &Event,
    input: &str,
) {
    let expected = match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let absent = expected.is_empty() || expected == "-";
    let ours = |key: &str| text(event, key);
    let (expected, got) = match compare {
        Compare::Text(key) => {
            if absent {
                let got = ours(key);
                let class = got
                    .as_ref()
                    .map(|_| "we emit a value the suite leaves empty".to_string());
                tally.check_class(name, class, || format!("got {got:?} in {input:?}"));
                return;
            }
            (expected, ours(key))
        }
        Compare::Pri => (
            expected,
            event["facility"]
                .as_i64()
                .zip(event["severity"].as_i64())
                .map(|(f, s)| (f * 8 + s).to_string()),
        ),
        Compare::Facility => (number_of(&expected, facility_number), ours("facility")),
        Compare::Severity => (number_of(&expected, severity_number), ours("severity")),
        Compare::EpochSeconds => (expected, ours("log_ts")),
        Compare::Rfc3339 => match expected.parse::<jiff::Timestamp>() {
            Ok(t) => (t.as_second().to_string(), ours("log_ts")),
            Err(_) => return,
        },
        Compare::NaiveMonthDayTime => {
            let Some(local) = value.get("local_time").and_then(Value::as_str) else {
                return;
            };
            let tail = local.get(5..).unwrap_or(local).to_string();
            (tail, local_time(event, "UTC", "%m-%dT%H:%M:%S"))
        }
    };
    tally.check(name, &expected, got.as_deref(), input);
}

/// A facility or severity given by name or number, as its number.
fn number_of(text: &str, by_name: fn(&str) -> Option<usize>) -> String {
    if text.parse::<usize>().is_ok() {
        return text.to_string();
    }
    let name = text
        .to_ascii_lowercase()
        .trim_start_matches("log_")
        .trim_start_matches("sev_")
        .to_string();
    by_name(&name).map_or_else(|| text.to_string(), |n| n.to_string())
}

fn facility_number(name: &str) -> Option<usize> {
    FACILITIES.iter().position(|f| *f == name)
}

fn severity_number(name: &str) -> Option<usize> {
    SEVERITIES.iter().position(|names| names.contains(&name))
}
