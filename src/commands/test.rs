//! `logferry test`: pipeline unit tests an analyst writes: records, the source settings, and what
//! the events must hold, as fields or as LogPoint queries (`docs/testing-pipelines.md`).
//!
//! Each test runs the agent's own normalisation ([`super::normalise::each_event`]); a failure prints
//! expected against actual per field, type included, and for a query the failing clauses and the
//! event.

mod spec;

use std::io::Write;
use std::path::Path;

use crate::config::{Encoding, Framing, WireFormat};
use crate::encode::Encoder;
use crate::event::Event;
use crate::normalise::Normaliser;
use crate::query::{field_values, FieldValue};
use spec::{Expected, TestCase};

/// How a run of test files ended; [`Outcome::exit_code`] is the process status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// A file could not be read or is not a valid test file (its tests did not run).
    BadFile,
}

impl Outcome {
    /// 0 when every test passed, 1 when some failed, 2 when a test file is bad.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Passed => 0,
            Outcome::Failed => 1,
            Outcome::BadFile => 2,
        }
    }
}

/// Runs every test of every file, writing `ok`/`FAILED` lines and diffs to `out` and problems of bad
/// files (`FILE:LINE:COLUMN: message`) to `err`.
pub fn run(paths: &[impl AsRef<Path>], out: &mut impl Write, err: &mut impl Write) -> Outcome {
    let (mut passed, mut failed, mut bad_file) = (0, 0, false);
    for path in paths {
        let path = path.as_ref();
        let cases = match spec::load(path) {
            Ok(cases) => cases,
            Err(problems) => {
                for problem in problems {
                    let _ = writeln!(err, "{problem}");
                }
                bad_file = true;
                continue;
            }
        };
        for case in &cases {
            match run_case(case) {
                Ok(failures) if failures.is_empty() => {
                    passed += 1;
                    let _ = writeln!(out, "ok     {}", case.name);
                }
                Ok(failures) => {
                    failed += 1;
                    let _ = writeln!(
                        out,
                        "FAILED {} ({}:{})",
                        case.name,
                        path.display(),
                        case.line
                    );
                    for line in failures {
                        let _ = writeln!(out, "    {line}");
                    }
                }
                Err(e) => {
                    failed += 1;
                    let _ = writeln!(
                        out,
                        "FAILED {} ({}:{})\n    cannot run: {e:#}",
                        case.name,
                        path.display(),
                        case.line
                    );
                }
            }
        }
    }
    let _ = writeln!(out, "\n{passed} passed, {failed} failed");
    if bad_file {
        Outcome::BadFile
    } else if failed > 0 {
        Outcome::Failed
    } else {
        Outcome::Passed
    }
}

/// Normalises the test's input and checks every expectation; the lines describing each failure.
fn run_case(case: &TestCase) -> anyhow::Result<Vec<String>> {
    let normaliser = Normaliser::new(&case.settings)?;
    let source_name = normaliser.source_name("");
    let mut failures = Vec::new();
    let mut count = 0;
    super::normalise::each_event(
        &normaliser,
        &case.settings,
        case.max_line_bytes,
        case.input.as_bytes(),
        source_name,
        case.now,
        |event| {
            count += 1;
            check_event(case, count, event, &mut failures);
        },
    );
    if count != case.expect_events {
        failures.push(format!(
            "expect_events: expected {} event(s), the input gave {count}",
            case.expect_events
        ));
    }
    Ok(failures)
}

fn check_event(case: &TestCase, number: usize, event: &Event<'_>, failures: &mut Vec<String>) {
    let before = failures.len();
    let width = case
        .expect_fields
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0);
    for (name, expected) in &case.expect_fields {
        if let Some(problem) = compare_field(event, name, expected) {
            failures.push(format!("{name:width$}  {problem}"));
        }
    }
    let mut show_event = failures.len() > before;
    if let Some(query) = &case.expect_query {
        if !query.matches(event) {
            failures.push(format!("expect_query does not match: {}", query.text()));
            for clause in query.failing_clauses(event) {
                failures.push(format!("  failing clause: {clause}"));
            }
            show_event = true;
        }
    }
    if let Some(query) = &case.expect_query_not {
        if query.matches(event) {
            failures.push(format!(
                "expect_query_not matches, and must not: {}",
                query.text()
            ));
            show_event = true;
        }
    }
    if show_event {
        if case.expect_events != 1 {
            failures.insert(before, format!("event {number}:"));
        }
        failures.push(format!("event: {}", encode_json(event)));
    }
}

/// `None` when the event's `name` equals `expected` (type included); else what differs.
fn compare_field(event: &Event<'_>, name: &str, expected: &Expected) -> Option<String> {
    if let Expected::Labels(want) = expected {
        let got: Vec<&str> = event.labels.iter().map(|l| l.as_ref()).collect();
        let same = want.len() == got.len() && want.iter().all(|w| got.contains(&w.as_str()));
        if same {
            return None;
        }
        let missing: Vec<&str> = want
            .iter()
            .map(String::as_str)
            .filter(|w| !got.contains(w))
            .collect();
        let extra: Vec<&str> = got
            .iter()
            .copied()
            .filter(|g| !want.iter().any(|w| w == g))
            .collect();
        return Some(format!(
            "expected {want:?}, got {got:?} (a set: missing {missing:?}, extra {extra:?})"
        ));
    }
    let values: Vec<FieldValue<'_>> = field_values(event, name).collect();
    if values.iter().any(|v| same_value(*v, expected)) {
        return None;
    }
    let Some(&got) = values.first() else {
        return Some(format!(
            "expected {}, but the event has no such field",
            show_expected(expected)
        ));
    };
    let (want_type, got_type) = (expected_type(expected), value_type(got));
    Some(if want_type == got_type {
        format!(
            "expected {}, got {}",
            show_expected(expected),
            show_value(got)
        )
    } else {
        let same_text = expected_text(expected) == value_text(got);
        format!(
            "expected {} ({want_type}), got {} ({got_type}){}",
            show_expected(expected),
            show_value(got),
            if same_text {
                ": same text, different type"
            } else {
                ""
            }
        )
    })
}

fn same_value(value: FieldValue<'_>, expected: &Expected) -> bool {
    match (value, expected) {
        (FieldValue::Text(got), Expected::Text(want)) => got == want,
        (FieldValue::Int(got), Expected::Int(want)) => got == *want,
        (FieldValue::Float(got), Expected::Float(want)) => got == *want,
        _ => false,
    }
}

fn expected_type(expected: &Expected) -> &'static str {
    match expected {
        Expected::Text(_) => "string",
        Expected::Int(_) => "integer",
        Expected::Float(_) => "float",
        Expected::Labels(_) => "labels",
    }
}

fn value_type(value: FieldValue<'_>) -> &'static str {
    match value {
        FieldValue::Text(_) => "string",
        FieldValue::Int(_) => "integer",
        FieldValue::Float(_) => "float",
    }
}

/// The value as the `json` payload writes it.
fn show_expected(expected: &Expected) -> String {
    match expected {
        Expected::Text(s) => serde_json::Value::from(s.as_str()).to_string(),
        Expected::Int(n) => n.to_string(),
        Expected::Float(x) => crate::encode::json::float_text(*x),
        Expected::Labels(labels) => format!("{labels:?}"),
    }
}

fn show_value(value: FieldValue<'_>) -> String {
    match value {
        FieldValue::Text(s) => serde_json::Value::from(s).to_string(),
        FieldValue::Int(n) => n.to_string(),
        FieldValue::Float(x) => crate::encode::json::float_text(x),
    }
}

/// The value's text without quotes, to tell `2222` from `"2222"`.
fn expected_text(expected: &Expected) -> String {
    match expected {
        Expected::Text(s) => s.clone(),
        other => show_expected(other),
    }
}

fn value_text(value: FieldValue<'_>) -> String {
    match value {
        FieldValue::Text(s) => s.to_string(),
        other => show_value(other),
    }
}

/// The event's `json` payload, as a console sink prints it.
fn encode_json(event: &Event<'_>) -> String {
    let mut encoder = Encoder::new(WireFormat {
        encoding: Encoding::Json,
        rfc5424: false,
        framing: Framing::Lf,
        include_msg: true,
    });
    let mut buffer = Vec::new();
    encoder.write(event, &mut buffer);
    String::from_utf8_lossy(&buffer).trim_end().to_string()
}

#[cfg(test)]
mod tests;
