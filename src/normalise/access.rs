//! Web access logs (Apache and Nginx common, combined, vhost_combined) → `norm_id=ApacheAccess`.

use logferry_parsers::access::{self, Request};

use super::text::address;
use super::MapResult;
use crate::event::{Event, EventTime};

/// Maps one access-log line; `app_name` is the syslog APP-NAME (`apache` or `nginx`).
pub fn map<'a>(line: &'a [u8], event: &mut Event<'a>, app_name: &'static str) -> MapResult {
    let record = access::parse(line).map_err(|e| e.to_string())?;
    let unix = record.time.unix_seconds().ok_or("timestamp out of range")?;
    event.time = EventTime {
        unix,
        nanos: record.time.nanos,
        offset_seconds: record.time.offset_seconds,
    };
    event.norm_id = "ApacheAccess";
    event.app_name = app_name;
    event.label("Web");
    event.label("Access");

    address(event, "source_address", "source_host", record.client);
    event.text("user", record.user);
    let mut unparsed_request = None;
    match record.request {
        Request::Line {
            method,
            target,
            version,
        } => {
            event.text("request_method", method);
            event.text_cow("url", access::unescape(target));
            event.text("http_version", version);
        }
        Request::Other(raw) => unparsed_request = Some(raw),
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
    if let Some(vhost) = record.vhost {
        let (host, port) = split_port(vhost);
        event.text("destination_host", host);
        if let Some(port) = port {
            event.int("destination_port", i64::from(port));
        }
    }
    if let Some(raw) = unparsed_request {
        event.text_cow("request", access::unescape(raw));
    }
    Ok(())
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
}
