//! Events that are already normalised — the `json` payload logferry's own sinks write (e.g. an edge
//! agent's Kafka sink) — read back as they were, for a `json` Kafka source of an aggregator.
//!
//! An object is taken as such an event when it has a known `norm_id`, an integer `log_ts` and
//! string `device_name` and `source_name` without JSON escapes (they are borrowed from the record).
//! Everything else about it is kept: labels, fields in order, severity, facility, `msg`,
//! `parse_error`. Any other record is not one ([`map`] fails) and the caller maps it as JSON logs.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::MapResult;
use crate::event::{Event, EventTime, Value};

/// The `norm_id`s logferry writes.
const NORM_IDS: &[&str] = &[
    "ApacheAccess",
    "ApacheError",
    "NginxError",
    "Syslog",
    "LinuxSshd",
    "LinuxSudo",
    "LinuxSu",
    "DrupalWatchdog",
    "LinuxAudit",
    "JavaLog",
    "JsonEvent",
    "Raw",
];

/// The names an event borrows from its record.
#[derive(Deserialize)]
struct Names<'a> {
    device_name: &'a str,
    source_name: &'a str,
}

/// Reads `line` as an event logferry wrote in its `json` encoding.
pub fn map<'a>(line: &'a [u8], event: &mut Event<'a>) -> MapResult {
    let names: Names<'a> =
        serde_json::from_slice(line).map_err(|e| format!("not a logferry event: {e}"))?;
    let root: Map<String, Json> = match serde_json::from_slice(line) {
        Ok(Json::Object(map)) => map,
        _ => return Err("not a JSON object".into()),
    };
    let norm_id = root
        .get("norm_id")
        .and_then(Json::as_str)
        .and_then(|id| NORM_IDS.iter().find(|known| **known == id))
        .ok_or("no known norm_id")?;
    let log_ts = root
        .get("log_ts")
        .and_then(Json::as_i64)
        .ok_or("no integer log_ts")?;
    event.norm_id = norm_id;
    event.time = EventTime {
        unix: log_ts,
        nanos: 0,
        offset_seconds: None,
    };
    event.device_name = names.device_name;
    event.source_name = names.source_name;
    event.app_name = "logferry";
    let small = |key: &str, default: u8| {
        root.get(key)
            .and_then(Json::as_u64)
            .and_then(|n| u8::try_from(n).ok())
            .unwrap_or(default)
    };
    event.severity = small("severity", event.severity);
    event.facility = small("facility", event.facility);
    if let Some(labels) = root.get("label").and_then(Json::as_array) {
        for label in labels.iter().filter_map(Json::as_str) {
            event.label(label.to_string());
        }
    }
    if let Some(msg) = root.get("msg").and_then(Json::as_str) {
        event.msg = Cow::Owned(msg.to_string());
    }
    event.parse_error = root
        .get("parse_error")
        .and_then(Json::as_str)
        .map(str::to_string);
    for (name, value) in root {
        if super::json::FIXED.contains(&name.as_str()) {
            continue;
        }
        let value = match value {
            Json::String(s) => Value::Str(Cow::Owned(s)),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or_default()),
            },
            Json::Bool(b) => Value::Str(Cow::Borrowed(if b { "true" } else { "false" })),
            other => Value::Str(Cow::Owned(other.to_string())),
        };
        event.fields.push(crate::event::Field {
            name: Cow::Owned(name),
            value,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Encoding, Framing, WireFormat};
    use crate::encode::Encoder;

    #[test]
    fn an_encoded_event_reads_back_the_same() {
        let line = br#"{"log_ts":1795683600,"norm_id":"ApacheAccess","label":["Web","Access"],"source_address":"192.0.2.1","status_code":200,"device_name":"web01","source_name":"/var/log/a.log","severity":6,"facility":1,"msg":"GET \"x\""}"#;
        let mut event = Event::new("aggregator", "kafka");
        map(line, &mut event).unwrap();
        assert_eq!(event.norm_id, "ApacheAccess");
        assert_eq!(event.device_name, "web01");
        assert_eq!(event.msg, "GET \"x\"");
        let mut encoder = Encoder::new(WireFormat {
            encoding: Encoding::Json,
            rfc5424: false,
            framing: Framing::Lf,
            include_msg: true,
        });
        let mut out = Vec::new();
        encoder.write(&event, &mut out);
        assert_eq!(&out[..out.len() - 1], &line[..]);
    }

    #[test]
    fn other_json_is_not_an_event() {
        let mut event = Event::new("aggregator", "kafka");
        for line in [
            &br#"{"message":"hello","level":"info"}"#[..],
            br#"{"log_ts":1,"norm_id":"Bogus","device_name":"a","source_name":"b"}"#,
            br#"{"log_ts":1,"norm_id":"Raw","device_name":"a\"b","source_name":"b"}"#,
            b"not json",
        ] {
            assert!(
                map(line, &mut event).is_err(),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
