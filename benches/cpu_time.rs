//! Lines per CPU-second of parse + normalise + `kv` encode, per format, from the thread's own CPU time.
//!
//! `cargo bench --bench cpu_time`. On a shared machine criterion's wall-clock figures include the time
//! the thread waited for a core; this counts only the time it ran (`/proc/thread-self/schedstat`,
//! nanoseconds on a CPU), so it approximates one dedicated core even when other work runs. Each
//! format runs 7 rounds of at least 1 s of CPU; the median round is printed.

mod common;

use std::hint::black_box;

use common::{Fixture, Pipeline};

/// CPU time this thread has run, in nanoseconds (Linux only; the first field of schedstat).
fn thread_cpu_nanos() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("cpu_time needs Linux /proc/thread-self/schedstat");
    stat.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("schedstat starts with the run time in nanoseconds")
}

/// Median lines per CPU-second of `fixture` through the pipeline.
fn lines_per_cpu_second(fixture: &Fixture) -> f64 {
    let mut pipeline = Pipeline::new(fixture.format);
    black_box(pipeline.run(&fixture.lines));
    let mut rounds: Vec<f64> = (0..7)
        .map(|_| {
            let start = thread_cpu_nanos();
            let mut lines = 0u64;
            while thread_cpu_nanos() - start < 1_000_000_000 {
                black_box(pipeline.run(&fixture.lines));
                lines += fixture.lines.len() as u64;
            }
            lines as f64 * 1e9 / (thread_cpu_nanos() - start) as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; there are no options.
    for fixture in [
        common::apache_combined(10_000),
        common::nginx_combined(10_000),
        common::syslog_rfc3164(10_000),
        common::syslog_rfc5424(10_000),
    ] {
        let rate = lines_per_cpu_second(&fixture);
        let mb = rate * fixture.bytes() as f64 / fixture.lines.len() as f64 / 1e6;
        println!(
            "{:<24} parse_normalise_kv  {:>6.0} k lines per CPU-second  {:>5.0} MB/s",
            fixture.name,
            rate / 1e3,
            mb
        );
    }
}
