//! Parse + normalise + encode per format, per line: the CPU cost of the processing stage.
//!
//! `cargo bench --bench process`. Lines are generated (realistic shapes, see `common`) so the bench
//! runs in any checkout.

mod common;

use std::hint::black_box;

use common::{Fixture, Pipeline};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench_format(c: &mut Criterion, name: &str, fixture: &Fixture) {
    let mut pipeline = Pipeline::new(fixture.format);
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(fixture.lines.len() as u64));
    group.bench_function("parse_normalise_kv_rfc5424", |b| {
        b.iter(|| black_box(pipeline.run(&fixture.lines)))
    });
    group.finish();
}

fn process(c: &mut Criterion) {
    bench_format(c, "apache_access", &common::apache_combined(10_000));
    bench_format(c, "syslog", &common::syslog_rfc3164(10_000));
}

criterion_group!(benches, process);
criterion_main!(benches);
