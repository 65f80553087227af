//! Parse + normalise + encode per format, per line: the CPU cost of the processing stage; and a
//! whole chunk through `Processor::send_chunk` (fan-out, acks, metrics) to a sink that acks at once.
//!
//! `cargo bench --bench process`. Lines are generated here (realistic shapes, fixed seed) so the bench
//! runs in any checkout.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logferry::batch::EncodedBatch;
use logferry::checkpoint::{FileId, FileRange};
use logferry::config::{Encoding, Format, Framing, SourceSettings, WireFormat};
use logferry::encode::Encoder;
use logferry::event::{Event, EventTime};
use logferry::metrics::{SinkMetrics, SourceCounters};
use logferry::normalise::{Normaliser, RecordContext};
use logferry::process::{Processor, SinkInput};
use logferry::sources::tail::{Chunk, Record};

const PATHS: &[&str] = &[
    "/",
    "/sites/default/files/logo.png",
    "/user/login",
    "/node/4411?page=2",
    "/api/v1/search?q=a%20b",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "curl/8.5.0",
];

fn apache_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "10.{}.{}.{} - - [26/Nov/2026:10:{:02}:{:02} +0100] \"GET {} HTTP/1.1\" {} {} \"https://www.example.dk/\" \"{}\"",
                i % 200, i % 17, i % 250, i % 60, i % 59, PATHS[i % PATHS.len()],
                [200, 200, 304, 404, 500][i % 5], 100 + i * 7 % 90_000, AGENTS[i % AGENTS.len()]
            )
        })
        .collect()
}

fn syslog_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 4 {
            0 => format!("Nov 26 06:55:{:02} app03 sshd[{}]: Failed password for invalid user u{i} from 198.51.100.{} port {} ssh2", i % 60, 2000 + i % 900, i % 250, 30_000 + i % 30_000),
            1 => format!("Nov 26 07:01:{:02} app03 CRON[{}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)", i % 60, 3000 + i % 900),
            2 => format!("Nov 26 07:05:{:02} app03 sshd[{}]: Accepted publickey for deploy from 10.0.2.{} port {} ssh2: RSA SHA256:abcdef", i % 60, 4000 + i % 900, i % 250, 40_000 + i % 20_000),
            _ => format!("Nov 26 08:00:{:02} app03 kernel: [{}.123] eth0: link up", i % 60, 10_000 + i),
        })
        .collect()
}

fn bench_format(c: &mut Criterion, name: &str, format: Format, lines: &[String]) {
    let mut settings = SourceSettings::new(format);
    settings.timezone = Some("Europe/Copenhagen".into());
    settings.device_name = Some("bench".into());
    let normaliser = Normaliser::new(&settings).unwrap();
    let now = EventTime {
        unix: 1_795_694_400,
        nanos: 0,
        offset_seconds: None,
    };
    let wire = WireFormat {
        encoding: Encoding::Kv,
        rfc5424: true,
        framing: Framing::Lf,
        include_msg: true,
    };
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("parse_normalise_kv_rfc5424", |b| {
        let (mut out, mut encoder) = (Vec::with_capacity(1 << 20), Encoder::new(wire));
        b.iter(|| {
            out.clear();
            let mut event = Event::new("bench", "/var/log/x.log");
            for line in lines {
                event.reset();
                let ctx = RecordContext {
                    now,
                    truncated: false,
                };
                normaliser.normalise(line.as_bytes(), &ctx, &mut event);
                encoder.write(&event, &mut out);
            }
            black_box(out.len())
        })
    });
    group.finish();
}

/// One 2000-line apache chunk through the processor to one sink, batch acknowledged by a drain thread.
fn bench_send_chunk(c: &mut Criterion) {
    let mut settings = SourceSettings::new(Format::ApacheAccess);
    settings.timezone = Some("Europe/Copenhagen".into());
    settings.device_name = Some("bench".into());
    let normaliser = Normaliser::new(&settings).unwrap();
    let wire = WireFormat {
        encoding: Encoding::Kv,
        rfc5424: true,
        framing: Framing::Lf,
        include_msg: true,
    };
    let mut chunk = Chunk::default();
    for line in apache_lines(2_000) {
        let start = chunk.data.len();
        chunk.data.extend_from_slice(line.as_bytes());
        chunk.records.push(Record {
            bytes: start..chunk.data.len(),
            truncated: false,
        });
        chunk.data.push(b'\n');
    }
    let range = FileRange {
        file: FileId {
            dev: 1,
            ino: 2,
            fingerprint: 3,
        },
        epoch: 0,
        start: 0,
        end: chunk.data.len() as u64,
    };
    let (queue, mut batches) = tokio::sync::mpsc::channel::<Arc<EncodedBatch>>(16);
    let (acks, mut delivered) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        while let Some(batch) = batches.blocking_recv() {
            batch.ack();
        }
    });
    std::thread::spawn(move || while delivered.blocking_recv().is_some() {});
    let counters = SourceCounters {
        source: Arc::default(),
        parse_failures: Arc::default(),
        dropped_sink_stopped: Arc::default(),
        latency: Arc::default(),
    };
    let sink = SinkInput {
        format: wire,
        queue,
        metrics: Arc::new(SinkMetrics::new(16)),
    };
    let mut processor = Processor::new(normaliser, vec![sink], acks, counters);
    let now = EventTime {
        unix: 1_795_694_400,
        nanos: 0,
        offset_seconds: None,
    };
    let mut group = c.benchmark_group("processor");
    group.throughput(Throughput::Elements(chunk.records.len() as u64));
    group.bench_function("send_chunk_apache_kv", |b| {
        b.iter(|| processor.send_chunk(&chunk, "/var/log/x.log", range, now))
    });
    group.finish();
}

fn process(c: &mut Criterion) {
    bench_format(
        c,
        "apache_access",
        Format::ApacheAccess,
        &apache_lines(10_000),
    );
    bench_format(c, "syslog", Format::Syslog, &syslog_lines(10_000));
    bench_send_chunk(c);
}

criterion_group!(benches, process);
criterion_main!(benches);
