//! Reading a pipeline test file: the TOML `[[tests]]` tables, checked up front so that a bad file
//! is reported with `FILE:LINE:COLUMN` before any test runs.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::config::{line_column, ConfigProblem, Format, SourceSettings};
use crate::event::EventTime;
use crate::normalise::time::parse_rfc3339;
use crate::query::Query;

/// The reading time of a test without `now`: fixed, so that year inference and the time of records
/// without one are the same on every run.
pub const DEFAULT_NOW: &str = "2026-11-26T12:00:00Z";
/// The timezone of a test without `timezone` (not the host's, so results do not depend on it).
pub const DEFAULT_TIMEZONE: &str = "UTC";
/// `device_name` of a test without one.
pub const DEFAULT_DEVICE_NAME: &str = "localhost";
/// `source_name` of a test without one.
pub const DEFAULT_SOURCE_NAME: &str = "test";

/// One test, ready to run.
#[derive(Debug)]
pub struct TestCase {
    pub name: String,
    /// Line of the test's `name` key in the file, to point at a failing test.
    pub line: usize,
    pub settings: SourceSettings,
    /// Longer records are cut and labelled `Truncated`, as by the source setting of that name.
    pub max_line_bytes: usize,
    pub input: String,
    pub now: EventTime,
    pub expect_events: usize,
    /// Field name → expected value, in name order.
    pub expect_fields: BTreeMap<String, Expected>,
    pub expect_query: Option<Query>,
    pub expect_query_not: Option<Query>,
}

/// An expected field value: its TOML type is the type the event must have.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Text(String),
    Int(i64),
    Float(f64),
    /// `label = [..]`: the label set.
    Labels(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    tests: Vec<RawTest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: Spanned<String>,
    format: Format,
    input: String,
    now: Option<Spanned<String>>,
    log_format: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    device_name: Option<String>,
    source_name: Option<String>,
    cpr_key_file: Option<Spanned<PathBuf>>,
    #[serde(default = "yes")]
    redact_cpr: bool,
    multiline_start: Option<Spanned<String>>,
    #[serde(
        default = "crate::config::default_max_line_bytes",
        deserialize_with = "crate::config::de_size"
    )]
    max_line_bytes: usize,
    #[serde(default = "one")]
    expect_events: usize,
    #[serde(default)]
    expect_fields: BTreeMap<String, Spanned<toml::Value>>,
    expect_query: Option<Spanned<String>>,
    expect_query_not: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}

/// Reads and checks the test file at `path`; every problem found, each with its position.
pub fn load(path: &Path) -> Result<Vec<TestCase>, Vec<ConfigProblem>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigProblem {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the test file: {e}"),
        }]
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, &file, dir)
}

/// Parses test file `text`; `file` names it in problems, relative `cpr_key_file`s are read from `dir`.
pub fn parse(text: &str, file: &str, dir: &Path) -> Result<Vec<TestCase>, Vec<ConfigProblem>> {
    let at = |offset: usize, message: String| {
        let (line, column) = line_column(text, offset);
        ConfigProblem {
            file: file.to_string(),
            line,
            column,
            message,
        }
    };
    let raw: RawFile = toml::from_str(text)
        .map_err(|e| vec![at(e.span().map_or(0, |s| s.start), e.message().to_string())])?;
    if raw.tests.is_empty() {
        return Err(vec![at(0, "no [[tests]] in the file".to_string())]);
    }
    let mut problems = Vec::new();
    let mut cases = Vec::new();
    for test in raw.tests {
        let mut problem = |offset: usize, message: String| {
            problems.push(at(
                offset,
                format!("test {:?}: {message}", test.name.get_ref()),
            ));
        };
        let now_text = test.now.as_ref().map_or(DEFAULT_NOW, |n| n.get_ref());
        let now = parse_rfc3339(now_text).unwrap_or_else(|| {
            let offset = test.now.as_ref().map_or(0, |n| n.span().start);
            problem(offset, format!("now {now_text:?} is not an RFC 3339 time"));
            crate::normalise::time::event_time_now()
        });
        if let Some(layout) = &test.log_format {
            if let Err(e) = test.format.layout(layout.get_ref()) {
                problem(layout.span().start, e);
            }
        }
        let timezone = test
            .timezone
            .as_ref()
            .map_or(DEFAULT_TIMEZONE, |t| t.get_ref());
        if let Err(e) = jiff::tz::TimeZone::get(timezone) {
            let offset = test.timezone.as_ref().map_or(0, |t| t.span().start);
            problem(offset, format!("unknown timezone {timezone:?}: {e}"));
        }
        let multiline_start = match &test.multiline_start {
            Some(pattern) => match regex::bytes::Regex::new(pattern.get_ref()) {
                Ok(regex) => Some(regex),
                Err(e) => {
                    problem(pattern.span().start, format!("invalid regex: {e}"));
                    None
                }
            },
            None => None,
        };
        let cpr_key_file = test.cpr_key_file.as_ref().map(|key| {
            let path = dir.join(key.get_ref());
            if let Err(e) = std::fs::metadata(&path) {
                problem(
                    key.span().start,
                    format!("cpr_key_file {}: {e}", path.display()),
                );
            }
            path
        });
        let mut expect_fields = BTreeMap::new();
        for (name, value) in &test.expect_fields {
            match expected(name, value.get_ref()) {
                Ok(v) => {
                    expect_fields.insert(name.clone(), v);
                }
                Err(e) => problem(value.span().start, format!("expect_fields.{name}: {e}")),
            }
        }
        let mut query = |key: &str, q: &Option<Spanned<String>>| {
            let q = q.as_ref()?;
            match Query::parse(q.get_ref()) {
                Ok(query) => Some(query),
                Err(e) => {
                    let offset = string_body(text, q.span(), q.get_ref())
                        .map_or(q.span().start, |body| body + e.offset);
                    problem(offset, format!("{key}, {e}"));
                    None
                }
            }
        };
        let expect_query = query("expect_query", &test.expect_query);
        let expect_query_not = query("expect_query_not", &test.expect_query_not);
        cases.push(TestCase {
            line: line_column(text, test.name.span().start).0,
            name: test.name.into_inner(),
            settings: SourceSettings {
                format: test.format,
                log_format: test.log_format.map(Spanned::into_inner),
                timezone: Some(timezone.to_string()),
                device_name: Some(
                    test.device_name
                        .unwrap_or_else(|| DEFAULT_DEVICE_NAME.to_string()),
                ),
                source_name: Some(
                    test.source_name
                        .unwrap_or_else(|| DEFAULT_SOURCE_NAME.to_string()),
                ),
                cpr_key_file,
                redact_cpr: test.redact_cpr,
                multiline_start,
            },
            max_line_bytes: test.max_line_bytes,
            input: test.input,
            now,
            expect_events: test.expect_events,
            expect_fields,
            expect_query,
            expect_query_not,
        });
    }
    if problems.is_empty() {
        Ok(cases)
    } else {
        Err(problems)
    }
}

/// An `expect_fields` value: a string, integer or float; `label` takes an array of strings.
fn expected(name: &str, value: &toml::Value) -> Result<Expected, String> {
    match (name, value) {
        ("label", toml::Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                toml::Value::String(s) => Ok(s.clone()),
                other => Err(format!("labels are strings, not {}", other.type_str())),
            })
            .collect::<Result<_, _>>()
            .map(Expected::Labels),
        ("label", _) => Err("expected an array of labels, e.g. [\"User\", \"Login\"]".to_string()),
        (_, toml::Value::String(s)) => Ok(Expected::Text(s.clone())),
        (_, toml::Value::Integer(n)) => Ok(Expected::Int(*n)),
        (_, toml::Value::Float(x)) => Ok(Expected::Float(*x)),
        (_, other) => Err(format!(
            "events hold strings and numbers; a {} cannot match",
            other.type_str()
        )),
    }
}

/// Where the characters of the string value at `span` start in `text`, when they are written there
/// as they are (a literal string, or a basic string without escapes); `None` otherwise.
fn string_body(text: &str, span: Range<usize>, value: &str) -> Option<usize> {
    let raw = text.get(span.clone())?;
    let delimiter = ["'''", "\"\"\"", "'", "\""]
        .into_iter()
        .find(|d| raw.starts_with(d))?;
    let mut body = span.start + delimiter.len();
    if delimiter.len() == 3 {
        // A newline right after the opening delimiter is not part of a multi-line string.
        let rest = text.get(body..)?;
        body += if rest.starts_with("\r\n") {
            2
        } else {
            usize::from(rest.starts_with('\n'))
        };
    }
    text.get(body..)?.starts_with(value).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[tests]]
name = "failed ssh login"
format = "syslog"
input = "Nov 26 06:55:46 app03 sshd[24200]: Failed password for root from 198.51.100.4 port 2222 ssh2"
expect_fields = { user = "root", source_port = 2222, label = ["User"] }
expect_query = 'label="User" source_address="198.51.*"'
"#;

    fn problems(text: &str) -> Vec<String> {
        parse(text, "t.toml", Path::new("."))
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn reads_a_test_with_defaults() {
        let cases = parse(GOOD, "t.toml", Path::new(".")).unwrap();
        let case = &cases[0];
        assert_eq!((case.name.as_str(), case.line), ("failed ssh login", 3));
        assert_eq!(case.settings.timezone.as_deref(), Some("UTC"));
        assert_eq!(case.settings.device_name.as_deref(), Some("localhost"));
        assert_eq!(case.now, parse_rfc3339(DEFAULT_NOW).unwrap());
        assert_eq!(case.expect_events, 1);
        assert_eq!(case.expect_fields["source_port"], Expected::Int(2222));
        assert_eq!(
            case.expect_fields["label"],
            Expected::Labels(vec!["User".into()])
        );
        assert!(case.expect_query.is_some() && case.expect_query_not.is_none());
    }

    #[test]
    fn query_errors_point_into_the_query() {
        let text = GOOD.replace("source_address=\"198.51.*\"", "source_address=");
        assert_eq!(
            problems(&text)[0].lines().next().unwrap(),
            "t.toml:7:45: test \"failed ssh login\": expect_query, column 29: expected a value after '='"
        );
        // An escape in a basic string: the position falls back to the start of the value.
        let text = "[[tests]]\nname = \"x\"\nformat = \"kv\"\ninput = \"a=1\"\nexpect_query = \"a=\\\"1\"\n";
        assert!(
            problems(text)[0].starts_with("t.toml:5:16: "),
            "{:?}",
            problems(text)
        );
    }

    #[test]
    fn bad_values_are_located() {
        let text = GOOD.replace("format = \"syslog\"", "format = \"syslog\"\ntimezone = \"Mars/Base\"\nnow = \"yesterday\"\nmultiline_start = \"(\"");
        let found = problems(&text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("t.toml:6:7: "), "{found:?}");
        assert!(found[0].contains("not an RFC 3339 time"), "{found:?}");
        assert!(found[1].starts_with("t.toml:5:12: "), "{found:?}");
        assert!(found[2].starts_with("t.toml:7:19: "), "{found:?}");
        let text = GOOD.replace("user = \"root\"", "user = true");
        assert!(problems(&text)[0].contains(
            "expect_fields.user: events hold strings and numbers; a boolean cannot match"
        ));
        let text = GOOD.replace("expect_query", "expect_qeury");
        let found = problems(&text);
        assert!(
            found[0].starts_with("t.toml:7:1: unknown field `expect_qeury`"),
            "{found:?}"
        );
        let text = GOOD.replace("\"syslog\"", "\"syslgo\"");
        assert!(
            problems(&text)[0].starts_with("t.toml:4:10: "),
            "{:?}",
            problems(&text)
        );
        assert!(problems("")[0].contains("missing field `tests`"));
    }

    #[test]
    fn string_bodies() {
        let text = "q = 'a=1'\nr = \"b\\\"\"\ns = '''\nc'''";
        assert_eq!(string_body(text, 4..9, "a=1"), Some(5));
        assert_eq!(string_body(text, 14..19, "b\""), None);
        assert_eq!(string_body(text, 24..32, "c"), Some(28));
    }
}
