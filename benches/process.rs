//! Parse + normalise + encode per format, per line: the CPU cost of the processing stage; and a
//! whole chunk through `Processor::send_chunk` (fan-out, acks, metrics) to a sink that acks at once.
//!
//! `cargo bench --bench process`. Lines are generated (realistic shapes, see `common`) so the bench
//! runs in any checkout.

mod common;

use std::hint::black_box;
use std::sync::Arc;

use common::{Fixture, Pipeline};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logferry::batch::{EncodedBatch, Receipt};
use logferry::checkpoint::{FileId, FileRange};
use logferry::metrics::{SinkMetrics, SourceCounters};
use logferry::normalise::Normaliser;
use logferry::process::{Processor, SinkInput};
use logferry::sources::tail::{Chunk, Record};

fn bench_format(c: &mut Criterion, name: &str, fixture: &Fixture) {
    let mut pipeline = Pipeline::new(fixture.format);
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(fixture.lines.len() as u64));
    group.bench_function("parse_normalise_kv_rfc5424", |b| {
        b.iter(|| black_box(pipeline.run(&fixture.lines)))
    });
    group.finish();
}

/// One 2000-line apache chunk through the processor to one sink, batch acknowledged by a drain thread.
fn bench_send_chunk(c: &mut Criterion) {
    let fixture = common::apache_combined(2_000);
    let normaliser = Normaliser::new(&common::settings(fixture.format)).unwrap();
    let mut chunk = Chunk::default();
    for line in &fixture.lines {
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
        format: common::wire(),
        topic: None,
        queue,
        metrics: Arc::new(SinkMetrics::new(16)),
    };
    let mut processor = Processor::new(normaliser, vec![sink], counters);
    let mut group = c.benchmark_group("processor");
    group.throughput(Throughput::Elements(chunk.records.len() as u64));
    group.bench_function("send_chunk_apache_kv", |b| {
        b.iter(|| {
            let receipt = Receipt::checkpoint(range, acks.clone());
            let bytes = range.end - range.start;
            processor.send_chunk(&chunk, "/var/log/x.log", bytes, receipt, common::now())
        })
    });
    group.finish();
}

fn process(c: &mut Criterion) {
    bench_format(c, "apache_access", &common::apache_combined(10_000));
    bench_format(c, "syslog", &common::syslog_rfc3164(10_000));
    bench_format(c, "syslog_rfc5424", &common::syslog_rfc5424(10_000));
    bench_send_chunk(c);
}

criterion_group!(benches, process);
criterion_main!(benches);
