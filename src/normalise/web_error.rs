//! Apache and Nginx error logs → `norm_id=ApacheError` / `NginxError`.

use logferry_parsers::web_error;

use super::text::address;
use super::time::SourceClock;
use super::MapResult;
use crate::event::{Event, EventTime};

/// Maps one Apache error-log line (2.2 or 2.4); its time is read in the source's timezone.
pub fn map_apache<'a>(
    line: &'a [u8],
    clock: &SourceClock,
    now: EventTime,
    event: &mut Event<'a>,
) -> MapResult {
    let record = web_error::parse_apache(line).map_err(|e| e.to_string())?;
    event.time = clock
        .resolve(&record.time, now)
        .ok_or("timestamp is not a real date")?;
    event.norm_id = "ApacheError";
    event.app_name = "apache";
    event.label("Web");
    event.label("Error");
    event.text("log_level", record.level);
    event.severity = severity(record.level);
    if let Some(module) = record.module {
        event.text("module", module);
    }
    if let Some(pid) = record.pid {
        event.int("process_id", i64::from(pid));
    }
    if let Some(tid) = record.tid.and_then(|t| i64::try_from(t).ok()) {
        event.int("thread_id", tid);
    }
    if let Some(client) = record.client {
        address(event, "source_address", "source_host", client);
    }
    if let Some(port) = record.client_port {
        event.int("source_port", i64::from(port));
    }
    if let Some(code) = record.error_code {
        event.text("error_code", code);
    }
    event.text("message", record.message);
    Ok(())
}

/// Maps one Nginx error-log line; its time is read in the source's timezone.
pub fn map_nginx<'a>(
    line: &'a [u8],
    clock: &SourceClock,
    now: EventTime,
    event: &mut Event<'a>,
) -> MapResult {
    let record = web_error::parse_nginx(line).map_err(|e| e.to_string())?;
    event.time = clock
        .resolve(&record.time, now)
        .ok_or("timestamp is not a real date")?;
    event.norm_id = "NginxError";
    event.app_name = "nginx";
    event.label("Web");
    event.label("Error");
    event.text("log_level", record.level);
    event.severity = severity(record.level);
    if let Some(pid) = record.pid {
        event.int("process_id", i64::from(pid));
    }
    if let Some(tid) = record.tid.and_then(|t| i64::try_from(t).ok()) {
        event.int("thread_id", tid);
    }
    if let Some(client) = record.client {
        address(event, "source_address", "source_host", client);
    }
    event.text("message", record.message);
    Ok(())
}

/// Syslog severity of an Apache/Nginx level; an unknown level gets the default, 6.
fn severity(level: &[u8]) -> u8 {
    const LEVELS: &[(&[u8], u8)] = &[
        (b"emerg", 0),
        (b"alert", 1),
        (b"crit", 2),
        (b"error", 3),
        (b"warn", 4),
        (b"notice", 5),
        (b"info", 6),
        (b"debug", 7),
    ];
    if level.len() > 5 && level[..5].eq_ignore_ascii_case(b"trace") {
        return 7;
    }
    LEVELS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(level))
        .map_or(6, |&(_, severity)| severity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_to_severity() {
        assert_eq!(severity(b"emerg"), 0);
        assert_eq!(severity(b"crit"), 2);
        assert_eq!(severity(b"error"), 3);
        assert_eq!(severity(b"warn"), 4);
        assert_eq!(severity(b"NOTICE"), 5);
        assert_eq!(severity(b"trace3"), 7);
        assert_eq!(severity(b"trace"), 6);
        assert_eq!(severity(b"loud"), 6);
    }
}
