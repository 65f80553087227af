//! Java application logs: the first line of a Log4j/Logback/JBoss record, the "does this line start a
//! record" rule, and the exception class of a stack trace.
//!
//! Layouts read (after the timestamp; `LEVEL` is one of the levels of [`is_level`]):
//! - Log4j/Logback `LEVEL [thread] logger - msg`, `[thread] LEVEL logger - msg`;
//! - JBoss/Wildfly `LEVEL [logger] (thread) msg`;
//! - Hadoop `LEVEL [thread] logger: msg` and `LEVEL logger: msg`, Spark `LEVEL logger: msg`;
//! - Tomcat `LEVEL [thread] logger msg` (the logger a dotted class name);
//! - Zookeeper `[myid:N] - LEVEL [thread:Class@line] - msg` (the `[myid:N]` optional);
//! - Kafka `[timestamp] LEVEL msg (logger)`;
//! - Cassandra, level first: `LEVEL [thread] timestamp File.java:line - msg`.
//!
//! Timestamps: `yyyy-mm-dd hh:mm:ss[,.]fff` (or `T`, optionally with a zone), `yy/mm/dd hh:mm:ss`,
//! `dd-Mon-yyyy hh:mm:ss.fff`.

use memchr::memchr;

use crate::scan::{find, split_at, trim_eol, trim_start_spaces};
use crate::time::{parse_dmy_abbrev, parse_rfc3339, parse_short_ymd, DateTime};
use crate::ParseError;

/// The header of a Java log record, borrowing from its first line.
///
/// Invariants: `level` is a level word accepted by [`is_level`]; `thread` and `logger`, when
/// `Some`, are non-empty; `message` holds no line end and no trailing blanks (it may be empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JavaLine<'a> {
    /// The record's time as written (no zone unless the layout wrote one).
    pub time: DateTime,
    /// The level as written, e.g. `ERROR`, `WARN`.
    pub level: &'a [u8],
    /// The thread name.
    pub thread: Option<&'a [u8]>,
    /// The logger (category or class) name.
    pub logger: Option<&'a [u8]>,
    /// The text after the header on the first line.
    pub message: &'a [u8],
}

/// Parses the first line of `record` (bytes after its first LF are ignored). Never panics.
pub fn parse(record: &[u8]) -> Result<JavaLine<'_>, ParseError> {
    let line = first_line(record);
    if let Some(parsed) = level_first(line) {
        return Ok(trimmed(parsed));
    }
    let (time, used, bracketed) = timestamp(line)?;
    let rest = trim_start_spaces(crate::scan::from(line, used));
    let base = line.len() - rest.len();
    let parsed = if bracketed {
        kafka(time, rest)
    } else {
        after_timestamp(time, rest)
    };
    parsed
        .map(trimmed)
        .ok_or(ParseError::new("expected a Java log layout", base))
}

/// `parsed` with trailing blanks removed from its message.
fn trimmed(mut parsed: JavaLine<'_>) -> JavaLine<'_> {
    parsed.message = parsed.message.trim_ascii_end();
    parsed
}

/// True when `line` begins a record: it starts with a timestamp of a known layout (optionally in
/// `[`…`]`), or is a Cassandra line (`LEVEL [thread] timestamp`). Never panics.
pub fn starts_record(line: &[u8]) -> bool {
    match line.first() {
        Some(b'0'..=b'9' | b'[') => timestamp(line).is_ok(),
        Some(b'A'..=b'Z') => level_first(first_line(line)).is_some(),
        _ => false,
    }
}

/// Whether `word` is a log level: Log4j/Logback (`TRACE` … `FATAL`), `WARNING`, and
/// java.util.logging's `SEVERE`, `CONFIG`, `FINE`, `FINER`, `FINEST`; any letter case.
pub fn is_level(word: &[u8]) -> bool {
    const LEVELS: [&[u8]; 12] = [
        b"TRACE", b"DEBUG", b"INFO", b"WARN", b"WARNING", b"ERROR", b"FATAL", b"SEVERE", b"CONFIG",
        b"FINE", b"FINER", b"FINEST",
    ];
    LEVELS.iter().any(|l| l.eq_ignore_ascii_case(word))
}

/// The first exception class named in a stack trace: the first line (leading blanks, `Caused by: `,
/// `Suppressed: ` and `Exception in thread "…" ` removed) that starts with a class name whose last
/// segment ends in `Exception` or `Error` or is `Throwable`. `at …` frames are never taken.
pub fn exception_class(trace: &[u8]) -> Option<&[u8]> {
    trace.split(|&b| b == b'\n').find_map(|line| {
        let mut line = line.trim_ascii_start();
        if line.starts_with(b"at ") {
            return None;
        }
        for prefix in [&b"Caused by: "[..], b"Suppressed: "] {
            if let Some(rest) = line.strip_prefix(prefix) {
                line = rest;
            }
        }
        if let Some(rest) = line.strip_prefix(b"Exception in thread \"") {
            let close = memchr(b'"', rest)?;
            line = trim_start_spaces(crate::scan::from(rest, close + 1));
        }
        let end = line
            .iter()
            .position(|&b| !is_class_byte(b))
            .unwrap_or(line.len());
        let (name, after) = split_at(line, end);
        let ends_ok = matches!(after.first(), None | Some(b':' | b' ' | b'\r'));
        (ends_ok && is_exception_name(name)).then_some(name)
    })
}

/// A class name whose simple name ends in `Exception`/`Error` or is `Throwable`.
fn is_exception_name(name: &[u8]) -> bool {
    let simple = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
    let starts_alpha = name.first().is_some_and(u8::is_ascii_alphabetic);
    starts_alpha
        && !name.ends_with(b".")
        && (simple.ends_with(b"Exception") || simple.ends_with(b"Error") || simple == b"Throwable")
}

fn is_class_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'$' | b'_')
}

/// `record` up to its first LF, without a trailing CR.
fn first_line(record: &[u8]) -> &[u8] {
    let end = memchr(b'\n', record).unwrap_or(record.len());
    trim_eol(record.get(..end).unwrap_or(record))
}

/// The timestamp at the start of `line`: its value, the bytes it takes (with a closing `]`), and
/// whether it was in brackets (Kafka).
fn timestamp(line: &[u8]) -> Result<(DateTime, usize, bool), ParseError> {
    if let Some(inner) = line.strip_prefix(b"[") {
        let (time, used) = parse_rfc3339(inner).map_err(|e| e.shifted(1))?;
        return match inner.get(used) {
            Some(b']') => Ok((time, used + 2, true)),
            _ => Err(ParseError::new("expected ']' after timestamp", used + 1)),
        };
    }
    let (time, used) = match line.get(2) {
        Some(b'/') => parse_short_ymd(line)?,
        Some(b'-') => parse_dmy_abbrev(line)?,
        _ => parse_rfc3339(line)?,
    };
    // A date must be followed by the rest of the line, not glued to more text.
    match line.get(used) {
        None | Some(b' ' | b'\t') => Ok((time, used, false)),
        Some(_) => Err(ParseError::new("expected space after timestamp", used)),
    }
}

/// The leading level word of `text` and the rest after it and its padding.
fn level_word(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = text
        .iter()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (word, rest) = split_at(text, end);
    if !is_level(word) || !matches!(rest.first(), None | Some(b' ')) {
        return None;
    }
    Some((word, trim_start_spaces(rest)))
}

/// `text` starting with `open`: the content up to its matching `close` (nesting counted) and the
/// rest after it.
fn enclosed(text: &[u8], open: u8, close: u8) -> Option<(&[u8], &[u8])> {
    if text.first() != Some(&open) {
        return None;
    }
    let mut depth = 0usize;
    for (i, &b) in text.iter().enumerate() {
        if b == open {
            depth += 1;
        } else if b == close {
            depth -= 1;
            if depth == 0 {
                return Some((text.get(1..i)?, crate::scan::from(text, i + 1)));
            }
        }
    }
    None
}

/// Cassandra: `LEVEL [thread] timestamp File.java:line - msg`.
fn level_first(line: &[u8]) -> Option<JavaLine<'_>> {
    let (level, rest) = level_word(line)?;
    let (thread, rest) = enclosed(rest, b'[', b']')?;
    let rest = trim_start_spaces(rest);
    let (time, used, false) = timestamp(rest).ok()? else {
        return None;
    };
    let rest = trim_start_spaces(crate::scan::from(rest, used));
    let (source, message) = match find(rest, b" - ") {
        Some(i) => (rest.get(..i)?, crate::scan::from(rest, i + 3)),
        None => (&b""[..], rest),
    };
    let logger = source
        .split(|&b| b == b':')
        .next()
        .filter(|l| !l.is_empty());
    Some(JavaLine {
        time,
        level,
        thread: non_empty(thread),
        logger,
        message,
    })
}

/// Kafka: `LEVEL msg (logger)`; the logger is taken when the line ends with it.
fn kafka(time: DateTime, rest: &[u8]) -> Option<JavaLine<'_>> {
    let (level, rest) = level_word(rest)?;
    let (message, logger) = match trailing_logger(rest) {
        Some((message, logger)) => (message, Some(logger)),
        None => (rest, None),
    };
    Some(JavaLine {
        time,
        level,
        thread: None,
        logger,
        message,
    })
}

/// Splits `text (logger)` into the text and the logger, when `text` ends with a parenthesised
/// dotted class name (Kafka writes the logger last, so on a multi-line record it ends the last line).
pub fn trailing_logger(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = text.strip_suffix(b")")?;
    let open = memchr::memrchr(b'(', inner)?;
    let logger = crate::scan::from(inner, open + 1);
    let before = inner.get(..open)?;
    let is_name = !logger.is_empty() && logger.iter().all(|&b| is_class_byte(b));
    (is_name && (before.is_empty() || before.ends_with(b" ")))
        .then(|| (before.trim_ascii_end(), logger))
}

/// Every layout whose timestamp comes first and is not in brackets.
fn after_timestamp(time: DateTime, rest: &[u8]) -> Option<JavaLine<'_>> {
    let mut rest = rest;
    if rest.starts_with(b"[myid:") {
        let (_, after) = enclosed(rest, b'[', b']')?;
        rest = trim_start_spaces(after);
    }
    if let Some(after_dash) = rest.strip_prefix(b"- ") {
        return zookeeper(time, trim_start_spaces(after_dash));
    }
    if rest.first() == Some(&b'[') {
        // `[thread] LEVEL logger - msg`, unless the bracket follows the level (below).
        let (thread, after) = enclosed(rest, b'[', b']')?;
        let (level, after) = level_word(trim_start_spaces(after))?;
        let (logger, message) = logger_and_message(after);
        return Some(JavaLine {
            time,
            level,
            thread: non_empty(thread),
            logger,
            message,
        });
    }
    let (level, rest) = level_word(rest)?;
    let Some((bracket, after)) = enclosed(rest, b'[', b']') else {
        let (logger, message) = logger_and_message(rest);
        return Some(JavaLine {
            time,
            level,
            thread: None,
            logger,
            message,
        });
    };
    let after = trim_start_spaces(after);
    if let Some((thread, message)) = enclosed(after, b'(', b')') {
        return Some(JavaLine {
            time,
            level,
            thread: non_empty(thread),
            logger: non_empty(bracket),
            message: trim_start_spaces(message),
        });
    }
    let (logger, message) = logger_and_message(after);
    Some(JavaLine {
        time,
        level,
        thread: non_empty(bracket),
        logger,
        message,
    })
}

/// Zookeeper, after `- `: `LEVEL [thread:Class@line] - msg`.
fn zookeeper(time: DateTime, rest: &[u8]) -> Option<JavaLine<'_>> {
    let (level, rest) = level_word(rest)?;
    let (source, after) = enclosed(rest, b'[', b']')?;
    let message = after
        .strip_prefix(b" - ")
        .unwrap_or(trim_start_spaces(after));
    let at = memchr::memrchr(b'@', source).unwrap_or(source.len());
    let place = source.get(..at)?;
    let (thread, logger) = match memchr::memrchr(b':', place) {
        Some(colon) => (place.get(..colon)?, crate::scan::from(place, colon + 1)),
        None => (place, &b""[..]),
    };
    Some(JavaLine {
        time,
        level,
        thread: non_empty(thread),
        logger: non_empty(logger),
        message,
    })
}

/// After level and thread: `logger: msg`, `logger - msg`, `a.b.Logger msg`, or just `msg`.
fn logger_and_message(rest: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let end = memchr(b' ', rest).unwrap_or(rest.len());
    let (token, after) = split_at(rest, end);
    if let Some(name) = token.strip_suffix(b":") {
        if is_logger_name(name) {
            return (Some(name), trim_start_spaces(after));
        }
    }
    if is_logger_name(token) {
        if let Some(message) = after.strip_prefix(b" - ") {
            return (Some(token), message);
        }
        if after == b" -" {
            return (Some(token), &[]);
        }
        if memchr(b'.', token).is_some() {
            return (Some(token), trim_start_spaces(after));
        }
    }
    (None, rest)
}

/// A logger or class name: identifier bytes and dots, starting with a letter.
fn is_logger_name(name: &[u8]) -> bool {
    name.first().is_some_and(u8::is_ascii_alphabetic) && name.iter().all(|&b| is_class_byte(b))
}

fn non_empty(b: &[u8]) -> Option<&[u8]> {
    (!b.is_empty()).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::mutations;
    use proptest::prelude::*;

    fn s(b: Option<&[u8]>) -> Option<&str> {
        b.map(|b| std::str::from_utf8(b).unwrap())
    }

    /// (level, thread, logger, message) of a parsed line.
    fn fields(line: &str) -> (String, Option<&str>, Option<&str>, String) {
        let p = parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line}: {e}"));
        (
            String::from_utf8_lossy(p.level).into_owned(),
            s(p.thread),
            s(p.logger),
            String::from_utf8_lossy(p.message).into_owned(),
        )
    }

    #[test]
    fn log4j_and_logback() {
        assert_eq!(
            fields("2026-11-26 10:15:30,123 ERROR [http-1] com.example.Api - failed: x"),
            (
                "ERROR".into(),
                Some("http-1"),
                Some("com.example.Api"),
                "failed: x".into()
            )
        );
        assert_eq!(
            fields("2026-11-26T10:15:30.123+01:00 [main] WARN  c.e.App - slow"),
            ("WARN".into(), Some("main"), Some("c.e.App"), "slow".into())
        );
        let p = parse(b"2026-11-26T10:15:30.123Z INFO [main] Boot - up").unwrap();
        assert_eq!(p.time.offset_seconds, Some(0));
        assert_eq!(p.time.nanos, 123_000_000);
    }

    #[test]
    fn jboss_wildfly() {
        assert_eq!(
            fields("2026-11-26 10:15:30,123 ERROR [org.apache.camel.X] (Camel (camel-1) thread #3 - JmsConsumer[q]) Failed delivery\nmore"),
            ("ERROR".into(), Some("Camel (camel-1) thread #3 - JmsConsumer[q]"), Some("org.apache.camel.X"), "Failed delivery".into())
        );
        assert_eq!(
            fields("2022-02-11 14:29:52,217 INFO  [org.jboss.as.process.Host Controller.status] (main) WFLYPC0018: Starting"),
            ("INFO".into(), Some("main"), Some("org.jboss.as.process.Host Controller.status"), "WFLYPC0018: Starting".into())
        );
    }

    #[test]
    fn hadoop_spark_tomcat() {
        assert_eq!(
            fields("2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster"),
            ("INFO".into(), Some("main"), Some("org.apache.hadoop.mapreduce.v2.app.MRAppMaster"), "Created MRAppMaster".into())
        );
        assert_eq!(
            fields("2022-02-01 18:09:47,136 INFO org.apache.hadoop.hdfs.server.namenode.FSEditLog: Edit logging is async:true"),
            ("INFO".into(), None, Some("org.apache.hadoop.hdfs.server.namenode.FSEditLog"), "Edit logging is async:true".into())
        );
        let p = parse(b"17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered")
            .unwrap();
        assert_eq!(p.time.year, Some(2017));
        assert_eq!(s(p.logger), Some("executor.CoarseGrainedExecutorBackend"));
        assert_eq!(
            fields("21-Jul-2025 14:40:01.456 INFO [ContainerBackgroundProcessor[StandardEngine[Catalina]]] org.apache.catalina.core.StandardContext Reloading Context [/myapp]"),
            ("INFO".into(), Some("ContainerBackgroundProcessor[StandardEngine[Catalina]]"), Some("org.apache.catalina.core.StandardContext"), "Reloading Context [/myapp]".into())
        );
    }

    #[test]
    fn zookeeper_kafka_cassandra() {
        assert_eq!(
            fields("2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200"),
            ("INFO".into(), Some("QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181"), Some("FastLeaderElection"), "Notification time out: 3200".into())
        );
        assert_eq!(
            fields("2022-02-01 08:15:22,789 [myid:2] - ERROR [QuorumPeer[myid=2](plain=0.0.0.0:2181)(secure=disabled):QuorumPeer@1520] - Unable to load"),
            ("ERROR".into(), Some("QuorumPeer[myid=2](plain=0.0.0.0:2181)(secure=disabled)"), Some("QuorumPeer"), "Unable to load".into())
        );
        assert_eq!(
            fields("[2025-07-22 08:22:15,485] INFO [ZooKeeperClient Kafka server] Waiting. (kafka.zookeeper.ZooKeeperClient)"),
            ("INFO".into(), None, Some("kafka.zookeeper.ZooKeeperClient"), "[ZooKeeperClient Kafka server] Waiting.".into())
        );
        assert_eq!(
            fields("[2025-07-22 08:22:16,107] INFO KafkaConfig values:"),
            ("INFO".into(), None, None, "KafkaConfig values:".into())
        );
        assert_eq!(
            fields("ERROR [CompactionExecutor:2] 2025-07-22 11:25:42,154 CompactionTask.java:322 - Error during compaction"),
            ("ERROR".into(), Some("CompactionExecutor:2"), Some("CompactionTask.java"), "Error during compaction".into())
        );
    }

    #[test]
    fn rejects_other_lines() {
        for line in [
            "java.lang.NullPointerException: x",
            "\tat a.b.C.d(C.java:1)",
            "2026-11-26 10:15:30,123",
            "2026-11-26 10:15:30,123 NOTALEVEL [x] y - z",
            "2026-11-26 10:15:30,123x INFO y: z",
            "",
        ] {
            assert!(parse(line.as_bytes()).is_err(), "{line}");
        }
    }

    #[test]
    fn start_rule() {
        for line in [
            "2026-11-26 10:15:30,123 ERROR [a] b - c",
            "2026-11-26T10:15:30Z whatever",
            "17/06/09 20:10:40 INFO x: y",
            "21-Jul-2025 01:02:43.123 INFO [main] a.B c",
            "[2025-07-22 08:22:15,466] INFO x",
            "WARN  [GossipTasks:1] 2025-07-22 10:20:23,334 FailureDetector.java:305 - Not enough",
        ] {
            assert!(starts_record(line.as_bytes()), "{line}");
        }
        for line in [
            "\tat a.b.C.d(C.java:1)",
            "Caused by: java.io.IOException: x",
            "  ... 12 more",
            "java.lang.InterruptedException",
            "INFO without a thread",
            "2026-11-26",
            " (kafka.server.ReplicaFetcherThread)",
            "",
        ] {
            assert!(!starts_record(line.as_bytes()), "{line}");
        }
    }

    #[test]
    fn levels_any_case() {
        assert!(is_level(b"warn") && is_level(b"SEVERE") && is_level(b"Finest"));
        assert!(!is_level(b"NOTICE") && !is_level(b""));
    }

    #[test]
    fn exception_classes() {
        let trace = b"java.net.ConnectException: Connection refused\n\tat a.B.c(B.java:1)\nCaused by: java.io.IOException: x";
        assert_eq!(
            exception_class(trace),
            Some(&b"java.net.ConnectException"[..])
        );
        assert_eq!(
            exception_class(
                b"Caused by: org.apache.cassandra.io.FSWriteError: java.io.IOException"
            ),
            Some(&b"org.apache.cassandra.io.FSWriteError"[..])
        );
        assert_eq!(
            exception_class(b"\tjava.lang.InterruptedException\r\n\tat x"),
            Some(&b"java.lang.InterruptedException"[..])
        );
        assert_eq!(
            exception_class(b"Exception in thread \"main\" java.lang.IllegalStateException: no"),
            Some(&b"java.lang.IllegalStateException"[..])
        );
        assert_eq!(
            exception_class(b"\tat com.Error.handle(Error.java:1)\n\t... 3 more"),
            None
        );
        assert_eq!(exception_class(b"  advertised.listeners = x\n"), None);
        assert_eq!(exception_class(b"Errors: 3"), None);
    }

    const SEEDS: &[&[u8]] = &[
        b"2026-11-26 10:15:30,123 ERROR [org.x.Y] (Camel (camel-1) thread #3) Failed\njava.lang.E: x",
        b"2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:2181:FastLeaderElection@774] - x",
        b"[2025-07-22 08:22:15,485] INFO [ZK] Waiting. (kafka.zookeeper.ZooKeeperClient)",
        b"WARN  [GossipTasks:1] 2025-07-22 10:20:23,334 FailureDetector.java:305 - Not enough",
        b"17/06/09 20:10:40 INFO executor.X: Registered",
        b"21-Jul-2025 01:02:43.123 INFO [main] org.apache.X Server",
        b"Caused by: java.io.IOException: stream closed\n\t... 12 more",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&b);
            let _ = starts_record(&b);
            let _ = exception_class(&b);
            let _ = trailing_logger(&b);
        }

        #[test]
        fn never_panics_on_mutations(b in mutations(SEEDS)) {
            let _ = parse(&b);
            let _ = starts_record(&b);
            let _ = exception_class(&b);
            let _ = trailing_logger(&b);
        }
    }
}
