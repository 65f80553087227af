//! `format = "auto"`: picks each line's format from its first bytes, for files that mix formats.
//!
//! Detection reads at most the first 12 bytes and never parses: it names the formats the line can
//! be, most likely first, and the normaliser tries their mappings in that order until one accepts
//! the line (else the line is `Raw`). A line of the expected shape costs one byte-pattern check more
//! than with its format configured; a line that no candidate accepts costs every candidate's
//! (failing, usually early) parse. Java stack-trace continuation lines are not joined: multi-line
//! records need `format = "java"` (or `multiline_start`).

use crate::config::Format;

/// The formats `line` may be written in, most likely first; never empty.
pub fn candidates(line: &[u8]) -> &'static [Format] {
    use Format::*;
    let starts = |p: &[u8]| line.starts_with(p);
    let digit = |i: usize| line.get(i).is_some_and(u8::is_ascii_digit);
    let byte = |i: usize, b: u8| line.get(i) == Some(&b);
    match line.first() {
        Some(b'{') => &[Json, Kv],
        Some(b'<') => &[Syslog],
        Some(b'[') if line.get(1..4).is_some_and(is_weekday) => &[ApacheError],
        Some(b'[') => &[Java, ApacheAccess],
        _ if starts(b"type=") || starts(b"node=") => &[Auditd, Kv],
        Some(b'0'..=b'9') => {
            let year_first = (0..4).all(digit);
            if year_first && byte(4, b'/') {
                &[NginxError]
            } else if year_first && byte(4, b'-') {
                &[Java, Syslog, Kv]
            } else if digit(1)
                && (byte(2, b'/') && byte(5, b'/') && byte(8, b' ')
                    || byte(2, b'-') && line.get(3..6).is_some_and(is_month))
            {
                // Spark `17/06/09 20:10:40`, Tomcat `21-Jul-2025 01:02:43.123`.
                &[Java]
            } else {
                &[ApacheAccess, Kv]
            }
        }
        _ if line.get(..3).is_some_and(is_month) && byte(3, b' ') => &[Syslog],
        _ if first_word_has_equals(line) => &[Kv],
        _ if is_level(first_word(line)) => &[Java],
        _ => &[ApacheAccess, Syslog, Kv],
    }
}

const WEEKDAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const LEVELS: [&[u8]; 7] = [
    b"TRACE", b"DEBUG", b"INFO", b"WARN", b"WARNING", b"ERROR", b"FATAL",
];

fn is_weekday(word: &[u8]) -> bool {
    WEEKDAYS.contains(&word)
}

fn is_month(word: &[u8]) -> bool {
    MONTHS.iter().any(|m| m.eq_ignore_ascii_case(word))
}

fn is_level(word: &[u8]) -> bool {
    LEVELS.contains(&word)
}

fn first_word(line: &[u8]) -> &[u8] {
    let end = memchr::memchr2(b' ', b'\t', line).unwrap_or(line.len());
    &line[..end]
}

fn first_word_has_equals(line: &[u8]) -> bool {
    let word = first_word(line);
    word.len() > 1 && memchr::memchr(b'=', &word[1..]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Format::*;

    #[test]
    fn names_the_format_of_each_estate_line_first() {
        let lines: &[(&str, Format)] = &[
            (
                r#"10.0.0.1 - - [26/Nov/2026:10:00:00 +0100] "GET / HTTP/1.1" 200 5"#,
                ApacheAccess,
            ),
            (
                r#"www.example.dk:443 10.0.0.1 - - [26/Nov/2026:10:00:00 +0100] "GET / HTTP/1.1" 200 5"#,
                ApacheAccess,
            ),
            (
                "Nov 26 06:55:46 app03 sshd[24200]: Failed password for root",
                Syslog,
            ),
            ("<34>1 2026-11-26T10:00:00Z host app - - - msg", Syslog),
            (
                "[Wed Nov 25 14:32:52.123456 2026] [core:error] [pid 1:tid 2] x",
                ApacheError,
            ),
            (
                "2026/11/25 14:32:52 [error] 1234#1234: *5 open() failed",
                NginxError,
            ),
            (
                "type=SYSCALL msg=audit(1764151200.123:9911): arch=c000003e",
                Auditd,
            ),
            (
                "node=app03 type=EXECVE msg=audit(1764151200.123:9911): argc=1",
                Auditd,
            ),
            (
                "2026-11-26 10:15:30,123 ERROR [org.x.Y] (main) failed",
                Java,
            ),
            ("17/06/09 20:10:40 INFO executor.Backend: Registered", Java),
            (
                "21-Jul-2025 01:02:43.123 INFO [main] org.apache.Catalina x",
                Java,
            ),
            (
                "[2025-07-22 08:22:15,466] INFO Initiating (org.apache.zookeeper)",
                Java,
            ),
            (
                "INFO  [main] 2025-07-22 10:15:44,001 CassandraDaemon.java:687 - Starting",
                Java,
            ),
            (r#"{"level":"info","msg":"x"}"#, Json),
            ("ts=2026-11-26T10:00:00Z level=info msg=x", Kv),
        ];
        for (line, format) in lines {
            assert_eq!(candidates(line.as_bytes())[0], *format, "{line}");
        }
    }

    #[test]
    fn never_empty() {
        for line in [&b""[..], b"x", b"\xff\xfe", b"[", b"2", b"   "] {
            assert!(!candidates(line).is_empty());
        }
    }
}
