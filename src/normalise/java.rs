//! Java application logs (Log4j, Logback, JBoss/Wildfly and the Hadoop-family layouts) →
//! `norm_id=JavaLog`: the first line's header, and the joined continuation lines as the stack trace.

use logferry_parsers::java;

use super::time::SourceClock;
use super::MapResult;
use crate::event::{Event, EventTime};

/// Maps one Java log record (its first line, then any continuation lines joined with LF).
pub fn map<'a>(
    record: &'a [u8],
    clock: &SourceClock,
    now: EventTime,
    event: &mut Event<'a>,
) -> MapResult {
    let header = java::parse(record).map_err(|e| e.to_string())?;
    event.time = clock
        .resolve(&header.time, now)
        .ok_or("timestamp is not a real date")?;
    event.norm_id = "JavaLog";
    event.app_name = "java";
    event.severity = severity(header.level);
    event.label("Application");
    if event.severity <= 3 {
        event.label("Error");
    }
    let trace = memchr::memchr(b'\n', record)
        .and_then(|lf| record.get(lf + 1..))
        .unwrap_or_default();
    // Kafka writes the logger after the message, so a multi-line record ends with it.
    let logger = header.logger.or_else(|| {
        let last = trace.rsplit(|&b| b == b'\n').next()?;
        java::trailing_logger(last.trim_ascii()).map(|(_, logger)| logger)
    });
    event.text("log_level", header.level);
    if let Some(thread) = header.thread {
        event.text("thread", thread);
    }
    if let Some(logger) = logger {
        event.text("logger", logger);
    }
    event.text("message", header.message);
    if let Some(class) = java::exception_class(trace) {
        event.text("exception_class", class);
    }
    event.text("stack_trace", trace);
    Ok(())
}

/// Syslog severity of a level: FATAL/ERROR/SEVERE 3, WARN 4, INFO/CONFIG 6, DEBUG/TRACE/FINE* 7.
fn severity(level: &[u8]) -> u8 {
    let upper = |l: &[u8]| level.eq_ignore_ascii_case(l);
    if upper(b"FATAL") || upper(b"ERROR") || upper(b"SEVERE") {
        3
    } else if upper(b"WARN") || upper(b"WARNING") {
        4
    } else if upper(b"INFO") || upper(b"CONFIG") {
        6
    } else {
        7
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Value;

    fn now() -> EventTime {
        crate::normalise::time::parse_rfc3339("2026-11-26T12:00:00Z").unwrap()
    }

    fn text<'e>(event: &'e Event<'_>, name: &str) -> Option<&'e str> {
        match event.get(name) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn mapped(record: &[u8]) -> Event<'_> {
        let clock = SourceClock::new(Some("UTC")).unwrap();
        let mut event = Event::new("host", "file");
        event.record = crate::normalise::text::RecordText::new(record);
        map(record, &clock, now(), &mut event).unwrap();
        event
    }

    #[test]
    fn a_warning_without_trace() {
        let e = mapped(b"2026-11-26 10:15:30,123 WARN  [main] com.example.Api - slow");
        assert_eq!((e.severity, e.norm_id, e.app_name), (4, "JavaLog", "java"));
        assert_eq!(e.labels.as_slice(), ["Application"]);
        assert_eq!(e.time.unix, 1_795_688_130);
        assert_eq!(e.time.nanos, 123_000_000);
        assert_eq!(text(&e, "logger"), Some("com.example.Api"));
        assert_eq!(e.get("stack_trace"), None);
        assert_eq!(e.get("exception_class"), None);
    }

    #[test]
    fn kafka_logger_at_the_end_of_a_multi_line_record() {
        let e = mapped(b"[2025-07-22 08:25:12,901] INFO [Fetcher]: Error fetching\n\tjava.io.IOException: reset\n\t\tat a.B(B.java:1)\n (kafka.server.ReplicaFetcherThread)");
        assert_eq!(
            text(&e, "logger"),
            Some("kafka.server.ReplicaFetcherThread")
        );
        assert_eq!(text(&e, "exception_class"), Some("java.io.IOException"));
        assert_eq!(text(&e, "message"), Some("[Fetcher]: Error fetching"));
    }

    #[test]
    fn levels_to_severity() {
        for (level, want) in [
            (&b"FATAL"[..], 3),
            (b"error", 3),
            (b"SEVERE", 3),
            (b"WARNING", 4),
            (b"INFO", 6),
            (b"DEBUG", 7),
            (b"TRACE", 7),
            (b"FINEST", 7),
        ] {
            assert_eq!(severity(level), want, "{level:?}");
        }
    }

    #[test]
    fn not_a_java_line_is_an_error() {
        let clock = SourceClock::new(Some("UTC")).unwrap();
        let mut event = Event::new("host", "file");
        assert!(map(b"\tat a.B.c(B.java:1)", &clock, now(), &mut event).is_err());
    }
}
