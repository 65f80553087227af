//! Parsers alone against an equivalent `regex` pattern, and the whole processing stage, per format.
//!
//! `cargo bench --bench parse`. Each format is one group of three members on the same generated lines
//! (see `common`): `parse` (our parser), `regex` (a pattern capturing the same fields, compiled once,
//! matched with `captures_read` into reused capture slots, every captured slice read) and
//! `parse_normalise_kv` (parse + normalise + `kv` in an RFC 5424 envelope). Throughput is reported in
//! lines and bytes. The regex side only slices its captures, while `parse` also converts the time,
//! status and sizes to numbers: the comparison favours the regex.

mod common;

use std::hint::black_box;

use common::{Fixture, Pipeline};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logferry_parsers::{access, syslog};
use regex::bytes::Regex;

const LINES: usize = 10_000;

/// Apache/nginx combined: client ident user [dd/Mon/yyyy:hh:mm:ss zone] "method target HTTP/v" status bytes "referer" "agent".
const ACCESS_PATTERN: &str = r#"^(\S+) (\S+) (\S+) \[(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\] "(?:([A-Za-z]+) (\S+) HTTP/([^"\s]+)|((?:[^"\\]|\\.)*))" (\d{3}|-) (\d+|-)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?"#;

/// RFC 3164: [<pri>]Mmm dd hh:mm:ss host tag[(sub)][[pid]]: message.
const RFC3164_PATTERN: &str = r"^(?:<(\d{1,3})>)?([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\S+) ([^\s\[\]:(]+)(?:\([^)]*\))?(?:\[(\d+)\])?: *(.*)";

/// RFC 5424: <pri>version timestamp host app procid msgid SD [message], SD checked element by element.
const RFC5424_PATTERN: &str = r#"^<(\d{1,3})>(\d{1,2}) (\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2}) (\S+) (\S+) (\S+) (\S+) (-|(?:\[[^\s\]="]+(?: [^\s\]="]+="(?:[^"\\\]]|\\.)*")*\])+)(?: (.*))?"#;

/// Benchmarks one format: `parse` (our parser), `regex` (`pattern`) and `parse_normalise_kv`.
///
/// `parse` returns whether the line parsed, after handing the record to `black_box`. Panics before
/// measuring when the parser rejects a line or the pattern misses one, so the three members always
/// do the same work.
fn bench_parser(c: &mut Criterion, fixture: &Fixture, parse: fn(&[u8]) -> bool, pattern: &str) {
    let regex = Regex::new(pattern).expect("baseline pattern compiles");
    let mut slots = regex.capture_locations();
    for line in &fixture.lines {
        assert!(
            parse(line.as_bytes()),
            "{}: parser rejects {line}",
            fixture.name
        );
        assert!(
            regex.captures_read(&mut slots, line.as_bytes()).is_some(),
            "{}: regex misses {line}",
            fixture.name
        );
    }
    let mut pipeline = Pipeline::new(fixture.format);

    let mut group = c.benchmark_group(fixture.name);
    group.throughput(Throughput::ElementsAndBytes {
        elements: fixture.lines.len() as u64,
        bytes: fixture.bytes(),
    });
    group.bench_function("parse", |b| {
        b.iter(|| {
            for line in &fixture.lines {
                black_box(parse(black_box(line.as_bytes())));
            }
        })
    });
    group.bench_function("regex", |b| {
        b.iter(|| {
            for line in &fixture.lines {
                let line = black_box(line.as_bytes());
                if regex.captures_read(&mut slots, line).is_some() {
                    for i in 1..slots.len() {
                        if let Some((start, end)) = slots.get(i) {
                            black_box(line.get(start..end));
                        }
                    }
                }
            }
        })
    });
    group.bench_function("parse_normalise_kv", |b| {
        b.iter(|| black_box(pipeline.run(&fixture.lines)))
    });
    group.finish();
}

fn parsers(c: &mut Criterion) {
    bench_parser(
        c,
        &common::apache_combined(LINES),
        |l| black_box(access::parse(l)).is_ok(),
        ACCESS_PATTERN,
    );
    bench_parser(
        c,
        &common::nginx_combined(LINES),
        |l| black_box(access::parse(l)).is_ok(),
        ACCESS_PATTERN,
    );
    bench_parser(
        c,
        &common::syslog_rfc3164(LINES),
        |l| black_box(syslog::parse(l)).is_ok(),
        RFC3164_PATTERN,
    );
    bench_parser(
        c,
        &common::syslog_rfc5424(LINES),
        |l| black_box(syslog::parse(l)).is_ok(),
        RFC5424_PATTERN,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = parsers
}
criterion_main!(benches);
