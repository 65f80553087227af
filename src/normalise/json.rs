//! JSON lines → `norm_id=JsonEvent`: well-known keys onto the taxonomy, every other key flattened.
//!
//! Well-known keys are matched case-insensitively on the dotted path (`user.name`, `log.level`); for each
//! target the first alias in the schema's list that is present wins, and the targets are written first,
//! in the schema's order. Every other key follows in document order, flattened with `_` and
//! snake_cased. A key whose snake_cased name is already taken, or is one of the event's fixed fields,
//! gets a `json_` prefix rather than overwrite it.

use std::borrow::{Borrow, Cow};

use serde_json::{Map, Value as Json};

use super::text::{canonical_int, ip_text, snake_case};
use super::time::parse_rfc3339;
use super::MapResult;
use crate::event::{Event, EventTime, Value};

/// Objects nested deeper than this are left in `msg` only.
const MAX_DEPTH: usize = 8;
/// Fields beyond this many are left in `msg` only.
pub(super) const MAX_FIELDS: usize = 256;

/// The taxonomy targets and their aliases, in output order.
const WELL_KNOWN: &[(&str, &[&str])] = &[
    ("log_ts", &["@timestamp", "timestamp", "time", "ts"]),
    ("log_level", &["level", "severity", "log.level"]),
    ("message", &["message", "msg"]),
    ("user", &["user", "username", "user_name", "user.name"]),
    (
        "source_address",
        &["client_ip", "remote_addr", "src_ip", "source.ip", "ip"],
    ),
    ("destination_address", &["dst_ip", "destination.ip"]),
    ("request_method", &["method"]),
    ("status_code", &["status", "status_code"]),
    ("host", &["host", "hostname"]),
];

/// Names the encoders write themselves; a JSON key may not take them.
pub(super) const FIXED: &[&str] = &[
    "log_ts",
    "norm_id",
    "label",
    "device_name",
    "source_name",
    "severity",
    "facility",
    "msg",
    "parse_error",
];

/// Maps one JSON object.
pub fn map<'a>(line: &'a [u8], event: &mut Event<'a>) -> MapResult {
    let root: Map<String, Json> = match serde_json::from_slice(line) {
        Ok(Json::Object(map)) => map,
        Ok(_) => return Err("not a JSON object".into()),
        Err(e) => return Err(format!("invalid JSON: {e}")),
    };
    event.norm_id = "JsonEvent";
    event.app_name = "json";
    event.label("Application");

    let mut flat = Vec::new();
    let truncated = flatten(&root, "", 1, &mut flat);
    if truncated {
        event.label("Truncated");
    }
    if let Some(Json::Array(labels)) = root.get("labels") {
        if labels.iter().all(|l| l.as_str().is_some_and(is_label)) {
            for label in labels.iter().filter_map(Json::as_str) {
                event.label(Cow::Owned(label.to_string()));
            }
            flat.retain(|(path, _)| path != "labels");
        }
    }
    map_pairs(&flat, event);
    Ok(())
}

/// Maps (dotted key, value) leaves onto the event: the well-known keys first, in the schema's order,
/// then every other key snake_cased, in the order given. Shared by `json` and `kv`.
pub(super) fn map_pairs<K: AsRef<str>, V: Borrow<Json>>(flat: &[(K, V)], event: &mut Event<'_>) {
    let mut taken = vec![false; flat.len()];
    for (target, aliases) in WELL_KNOWN {
        let found = aliases.iter().find_map(|alias| {
            flat.iter()
                .position(|(path, _)| path.as_ref().eq_ignore_ascii_case(alias))
        });
        if let Some(i) = found {
            if well_known(target, flat[i].1.borrow(), event) {
                taken[i] = true;
            }
        }
    }
    for (i, (path, value)) in flat.iter().enumerate() {
        if taken[i] {
            continue;
        }
        let mut name = snake_case(path.as_ref());
        if name.is_empty() {
            continue;
        }
        if FIXED.contains(&name.as_str()) || event.get(&name).is_some() {
            name.insert_str(0, "json_");
            if event.get(&name).is_some() {
                continue;
            }
        }
        if let Some(value) = scalar(value.borrow()) {
            event.dynamic(Cow::Owned(name), value);
        }
    }
}

/// Sets a taxonomy target from a JSON value; false if the value does not fit it (it then stays an
/// ordinary field).
fn well_known(target: &'static str, value: &Json, event: &mut Event<'_>) -> bool {
    match target {
        "log_ts" => match json_time(value) {
            Some(time) => {
                event.time = time;
                true
            }
            None => false,
        },
        "log_level" => {
            let Some(level) = scalar_text(value) else {
                return false;
            };
            if let Some(severity) = severity_of(value) {
                event.severity = severity;
            }
            event.str("log_level", Cow::Owned(level));
            true
        }
        "status_code" => {
            let status = match value {
                Json::String(text) => canonical_int(text.as_bytes()).map(Value::Int),
                other => scalar(other),
            };
            match status {
                Some(v) => {
                    event.dynamic(Cow::Borrowed(target), v);
                    true
                }
                None => false,
            }
        }
        "source_address" | "destination_address" => {
            let Some(text) = value.as_str() else {
                return false;
            };
            match ip_text(text.as_bytes()) {
                Some(ip) => {
                    let ip = Cow::Owned(ip.into_owned());
                    event.dynamic(Cow::Borrowed(target), Value::Ip(ip));
                }
                None if target == "source_address" => event.str("source_host", text.to_string()),
                None => event.str("destination_host", text.to_string()),
            }
            true
        }
        _ => match scalar(value) {
            Some(v) => {
                event.dynamic(Cow::Borrowed(target), v);
                true
            }
            None => false,
        },
    }
}

/// Appends the leaves of `object` as (dotted path, value); true if depth or count limits cut it short.
fn flatten<'j>(
    object: &'j Map<String, Json>,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, &'j Json)>,
) -> bool {
    let mut truncated = false;
    for (key, value) in object {
        if out.len() >= MAX_FIELDS {
            return true;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Json::Object(inner) if depth >= MAX_DEPTH => {
                truncated |= !inner.is_empty();
            }
            Json::Object(inner) => truncated |= flatten(inner, &path, depth + 1, out),
            Json::Null => {}
            _ => out.push((path, value)),
        }
    }
    truncated
}

/// A leaf as a field value: numbers stay numbers, booleans become `true`/`false` strings, arrays of
/// scalars are comma-joined, other arrays are kept as compact JSON text.
fn scalar(value: &Json) -> Option<Value<'static>> {
    Some(match value {
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64()?),
        },
        Json::Array(items) if items.is_empty() => return None,
        Json::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => {
            Value::Str(Cow::Owned(
                items
                    .iter()
                    .filter_map(scalar_text)
                    .collect::<Vec<_>>()
                    .join(","),
            ))
        }
        other => Value::Str(Cow::Owned(scalar_text(other)?)),
    })
}

fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// A label a sender may ask for: one alphanumeric word.
pub(super) fn is_label(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// An RFC 3339 string, or epoch seconds (milliseconds when the number is too large for seconds).
fn json_time(value: &Json) -> Option<EventTime> {
    match value {
        Json::String(text) => parse_rfc3339(text),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                let (unix, nanos) = if i.abs() >= 100_000_000_000 {
                    (i.div_euclid(1000), (i.rem_euclid(1000) * 1_000_000) as u32)
                } else {
                    (i, 0)
                };
                return Some(EventTime {
                    unix,
                    nanos,
                    offset_seconds: None,
                });
            }
            let f = n.as_f64()?;
            let seconds = if f.abs() >= 1e11 { f / 1000.0 } else { f };
            if !seconds.is_finite() || seconds.abs() > 1e13 {
                return None;
            }
            let whole = seconds.floor();
            Some(EventTime {
                unix: whole as i64,
                nanos: ((seconds - whole) * 1e9) as u32,
                offset_seconds: None,
            })
        }
        _ => None,
    }
}

/// Syslog severity from a level name (`warn`, `ERROR`…), a syslog number 0–7, or a
/// Bunyan/Pino number (10–60).
pub fn severity_of(value: &Json) -> Option<u8> {
    if let Some(n) = value.as_u64() {
        return match n {
            0..=7 => u8::try_from(n).ok(),
            10 | 20 => Some(7),
            30 => Some(6),
            40 => Some(4),
            50 => Some(3),
            60 => Some(2),
            _ => None,
        };
    }
    severity_of_name(value.as_str()?)
}

/// Syslog severity of a level name as applications write them.
pub fn severity_of_name(name: &str) -> Option<u8> {
    Some(match name.to_ascii_lowercase().as_str() {
        "emerg" | "emergency" | "panic" => 0,
        "alert" => 1,
        "crit" | "critical" => 2,
        "err" | "error" | "fatal" | "severe" => 3,
        "warn" | "warning" => 4,
        "notice" => 5,
        "info" | "informational" | "information" => 6,
        "debug" | "trace" | "fine" | "finer" | "finest" => 7,
        _ => return None,
    })
}
