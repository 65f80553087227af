//! Web access logs (Apache and Nginx common, combined, vhost_combined, and custom `log_format` layouts) → `norm_id=ApacheAccess`.

use std::borrow::Cow;

use logferry_parsers::access::{self, AccessRecord, Request};
use logferry_parsers::log_format::LogFormat;
use logferry_parsers::{LayoutRecord, LayoutTime};

use super::text::address;
use super::time::SourceClock;
use super::MapResult;
use crate::event::{Event, EventTime, Value};

/// Maps one access-log line of the built-in layouts; `app_name` is the syslog APP-NAME (`apache` or `nginx`).
pub fn map<'a>(line: &'a [u8], event: &mut Event<'a>, app_name: &'static str) -> MapResult {
    let record = access::parse(line).map_err(|e| e.to_string())?;
    let unix = record.time.unix_seconds().ok_or("timestamp out of range")?;
    event.time = EventTime {
        unix,
        nanos: record.time.nanos,
        offset_seconds: record.time.offset_seconds,
    };
    map_fields(builtin_fields(record), event, app_name);
    Ok(())
}

/// Maps one line of a custom layout. A time without an offset is read in the source's zone; a layout
/// without a time directive leaves the reading time.
pub fn map_layout<'a>(
    line: &'a [u8],
    layout: &LogFormat,
    clock: &SourceClock,
    event: &mut Event<'a>,
    app_name: &'static str,
) -> MapResult {
    let record = layout.parse(line).map_err(|e| e.to_string())?;
    match record.time {
        Some(LayoutTime::Civil(time)) => {
            event.time = clock
                .resolve(&time, event.time)
                .ok_or("timestamp out of range")?;
        }
        Some(LayoutTime::Epoch { seconds, nanos }) => {
            event.time = EventTime {
                unix: seconds,
                nanos,
                offset_seconds: None,
            };
        }
        None => {}
    }
    map_fields(record, event, app_name);
    Ok(())
}

/// The built-in parser's record in the shape custom layouts fill (`vhost:port` split).
fn builtin_fields(record: AccessRecord<'_>) -> LayoutRecord<'_> {
    let (method, target, version, other_request) = match record.request {
        Request::Line {
            method,
            target,
            version,
        } => (
            Some(method),
            Some(Cow::Borrowed(target)),
            Some(version),
            None,
        ),
        Request::Other(raw) => (None, None, None, Some(raw)),
    };
    let (vhost, port) = match record.vhost {
        Some(vhost) => {
            let (host, port) = split_port(vhost);
            (Some(host), port)
        }
        None => (None, None),
    };
    LayoutRecord {
        client: Some(record.client),
        user: Some(record.user),
        time: None,
        method,
        target,
        version,
        other_request,
        status: record.status,
        bytes: record.bytes,
        referer: record.referer,
        user_agent: record.user_agent,
        vhost,
        port,
        duration_micros: None,
    }
}

/// Writes the fields in the schema's order, with the labels and severity of the status.
fn map_fields<'a>(record: LayoutRecord<'a>, event: &mut Event<'a>, app_name: &'static str) {
    event.norm_id = "ApacheAccess";
    event.app_name = app_name;
    event.label("Web");
    event.label("Access");

    if let Some(client) = record.client {
        address(event, "source_address", "source_host", client);
    }
    if let Some(user) = record.user {
        event.text("user", user);
    }
    if let Some(method) = record.method {
        event.text("request_method", method);
    }
    if let Some(target) = record.target {
        event.text_cow("url", unescape_cow(target));
    }
    if let Some(version) = record.version {
        event.text("http_version", version);
    }
    if let Some(status) = record.status {
        event.int("status_code", i64::from(status));
        match status {
            0..=399 => event.label("Successful"),
            400..=599 => event.label("Failed"),
            _ => {}
        }
        event.severity = match status {
            400..=499 => 4,
            500..=599 => 3,
            _ => 6,
        };
    }
    if let Some(bytes) = record.bytes {
        event.int("sent_datasize", i64::try_from(bytes).unwrap_or(i64::MAX));
    }
    if let Some(referer) = record.referer {
        event.text_cow("referer", access::unescape(referer));
    }
    if let Some(agent) = record.user_agent {
        event.text_cow("user_agent", access::unescape(agent));
    }
    if let Some(host) = record.vhost {
        event.text("destination_host", host);
    }
    if let Some(port) = record.port {
        event.int("destination_port", i64::from(port));
    }
    if let Some(raw) = record.other_request {
        event.text_cow("request", access::unescape(raw));
    }
    if let Some(micros) = record.duration_micros {
        event.dynamic(Cow::Borrowed("duration"), duration_millis(micros));
    }
}

/// Milliseconds: an integer when whole, else a float to the microsecond.
fn duration_millis(micros: u64) -> Value<'static> {
    if micros % 1000 == 0 {
        Value::Int(i64::try_from(micros / 1000).unwrap_or(i64::MAX))
    } else {
        Value::Float(micros as f64 / 1000.0)
    }
}

/// [`access::unescape`] of a target that may already be a joined copy.
fn unescape_cow(target: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    match target {
        Cow::Borrowed(raw) => access::unescape(raw),
        Cow::Owned(joined) => Cow::Owned(access::unescape(&joined).into_owned()),
    }
}

/// `host:port` → (`host`, port); a name without a numeric port is all host.
fn split_port(vhost: &[u8]) -> (&[u8], Option<u16>) {
    if let Some(colon) = vhost.iter().rposition(|&b| b == b':') {
        let port = std::str::from_utf8(&vhost[colon + 1..])
            .ok()
            .and_then(|p| p.parse().ok());
        if port.is_some() && !vhost[..colon].contains(&b':') {
            return (&vhost[..colon], port);
        }
    }
    (vhost, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vhost_port_split() {
        assert_eq!(
            split_port(b"vhost1.domaine.fr:443"),
            (&b"vhost1.domaine.fr"[..], Some(443))
        );
        assert_eq!(split_port(b"example.org"), (&b"example.org"[..], None));
        assert_eq!(split_port(b"2001:db8::1"), (&b"2001:db8::1"[..], None));
    }

    #[test]
    fn duration_is_whole_or_fractional_milliseconds() {
        assert_eq!(duration_millis(123_000), Value::Int(123));
        assert_eq!(duration_millis(0), Value::Int(0));
        assert_eq!(duration_millis(1_534), Value::Float(1.534));
    }
}
