//! Fault case 12 (issue 4), a slow collector: a file far larger than any buffer is written at once
//! while the collector reads 1 MB/s; the agent's peak RSS (VmHWM) must stay under a bound that
//! follows from its configuration, with a memory and with a disk buffer. Then the collector reads at
//! full speed and every line must arrive.
//!
//! The bound, in batches of at most [`CHUNK_BYTES`] of input each, encoded (the expansion of the
//! encoding is measured from what the collector received):
//! - memory buffer: the batch the source builds, `queue_batches` in the sink's queue, one being
//!   written and `max_unacked_bytes` (plus one batch) waiting for the collector's acknowledgement,
//!   and the idle buffers the processing stage keeps for reuse ([`IDLE_MAX`]);
//! - disk buffer: the same plus the batch the buffer's writer holds, the record its reader holds and
//!   the 2 batches queued between the buffer and the sink.
//!
//! Twice that, over the agent's RSS before it read anything, is asserted: the margin covers the
//! allocator (vectors grow by doubling, freed memory is kept in per-thread arenas). No timing is
//! asserted; the slow phase only has to be long enough for the sink to be held back.
//!
//! The default run writes 150,000 lines (16 MB) and reads slowly for 3 s. The long run (docs/RELIABILITY.md)
//! is the ignored test, sized by `SLOW_COLLECTOR_LINES` and `SLOW_COLLECTOR_SECONDS`:
//! `SLOW_COLLECTOR_LINES=2000000 SLOW_COLLECTOR_SECONDS=60 cargo test --release --test faults_slow_collector -- --ignored --nocapture`.

mod support;

use std::path::Path;
use std::time::Duration;

use logferry::pool::IDLE_MAX;
use support::agent::{append, outcome, scrape, write_agent_config, Agent, WAIT};
use support::{unused_port, Collector, CollectorOptions, ReadMode};

/// Input per batch at most: one read of the file source (`src/sources/tail.rs`).
const CHUNK_BYTES: u64 = 256 * 1024;
/// What the slow collector reads per second.
const SLOW_RATE: u64 = 1_000_000;
const QUEUE_BATCHES: u64 = 4;
const MAX_UNACKED_BYTES: u64 = 1 << 20;

/// Batches a disk buffer holds in memory on top of a memory buffer's: writer 1, reader 1, queue 2.
const DISK_BUFFER_BATCHES: u64 = 4;

/// How the sink's batches wait.
#[derive(Debug, Clone, Copy)]
enum Buffer {
    Memory,
    Disk,
}

/// Writes `lines` lines at once while the collector reads at 1 MB/s for `slow`, then lets it read
/// at full speed; asserts the peak RSS bound and that every line arrived.
async fn slow_collector(buffer: Buffer, lines: usize, slow: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    collector.set_read_mode(ReadMode::Rate(SLOW_RATE));
    let log = dir.path().join("app.log");
    let api = format!("127.0.0.1:{}", unused_port());
    let mut sink = format!(
        "queue_batches = {QUEUE_BATCHES}\nmax_unacked_bytes = \"{}KiB\"\n",
        MAX_UNACKED_BYTES / 1024
    );
    if let Buffer::Disk = buffer {
        sink.push_str(
            "[sinks.out.buffer]\ntype = \"disk\"\nmax_size = \"4GiB\"\nfsync_interval = \"100ms\"\n",
        );
    }
    let config = write_agent_config(
        dir.path(),
        &log.display().to_string(),
        "",
        &collector.address(),
        &sink,
        Some(&api),
    );
    let agent = Agent::start(&config);
    wait_for_api(&api).await;
    let baseline = agent.rss_kib();

    write_lines(&log, lines).await;
    let input_bytes = std::fs::metadata(&log).unwrap().len();
    let mut slow_peak = 0;
    let until = tokio::time::Instant::now() + slow;
    while tokio::time::Instant::now() < until {
        slow_peak = slow_peak.max(agent.rss_kib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received_slowly = collector.bytes_received();
    assert!(
        collector.count() < lines,
        "the collector read everything in the slow phase: make it longer or the input larger"
    );
    collector.set_read_mode(ReadMode::Normal);
    let all = Duration::from_secs(60) + Duration::from_secs(input_bytes / 200_000);
    let messages = collector.expect_messages(lines, all).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // VmHWM is updated lazily: a sample of VmRSS can be above it.
    let peak = agent.peak_rss_kib().max(slow_peak);
    agent.stop();

    let expansion = collector.bytes_received() as f64 / input_bytes as f64;
    let batch = (CHUNK_BYTES as f64 * expansion) as u64;
    let mut batches = 1 + QUEUE_BATCHES + 1 + 1 + IDLE_MAX as u64;
    if let Buffer::Disk = buffer {
        batches += DISK_BUFFER_BATCHES;
    }
    let data_kib = (batches * batch + MAX_UNACKED_BYTES) / 1024;
    let bound = baseline + 2 * data_kib;
    eprintln!(
        "RSS case=\"12 slow collector, {buffer:?} buffer\" lines={lines} input_mib={:.1} slow_s={} received_slowly_mib={:.1} baseline_kib={baseline} slow_phase_max_kib={slow_peak} peak_kib={peak} bound_kib={bound} (baseline + 2 x ({batches} batches of {} KiB + max_unacked {} KiB))",
        input_bytes as f64 / 1048576.0,
        slow.as_secs(),
        received_slowly as f64 / 1048576.0,
        batch / 1024,
        MAX_UNACKED_BYTES / 1024,
    );
    let result = outcome(
        &format!("12 slow collector, {buffer:?} buffer"),
        &messages,
        lines,
    );
    assert_eq!(result.lost, 0);
    assert!(
        peak <= bound,
        "peak RSS {peak} KiB is over the bound {bound} KiB"
    );
}

/// Appends lines `0..lines` in steps of 10,000, as fast as the disk takes them.
async fn write_lines(log: &Path, lines: usize) {
    let log = log.to_path_buf();
    tokio::task::spawn_blocking(move || {
        for from in (0..lines).step_by(10_000) {
            append(&log, from, (from + 10_000).min(lines));
        }
    })
    .await
    .unwrap();
}

async fn wait_for_api(api: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while scrape(api).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no API on {api}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Lines and slow seconds of the long run from the environment.
fn long_run() -> (usize, Duration) {
    let number = |key: &str, default: u64| {
        std::env::var(key)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let lines = number("SLOW_COLLECTOR_LINES", 2_000_000);
    let seconds = number("SLOW_COLLECTOR_SECONDS", 60);
    (
        usize::try_from(lines).unwrap(),
        Duration::from_secs(seconds),
    )
}

const LINES: usize = 150_000;
const SLOW: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case12_slow_collector_memory_buffer_rss_stays_bounded() {
    slow_collector(Buffer::Memory, LINES, SLOW).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case12_slow_collector_disk_buffer_rss_stays_bounded() {
    slow_collector(Buffer::Disk, LINES, SLOW).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long run: minutes; see the module documentation"]
async fn case12_long_slow_collector_memory_buffer() {
    let (lines, slow) = long_run();
    slow_collector(Buffer::Memory, lines, slow).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long run: minutes; see the module documentation"]
async fn case12_long_slow_collector_disk_buffer() {
    let (lines, slow) = long_run();
    slow_collector(Buffer::Disk, lines, slow).await;
}
