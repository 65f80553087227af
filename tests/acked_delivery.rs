//! Acknowledged delivery of the syslog sink, over real sockets and real TLS: a batch counts as
//! delivered only once the collector's TCP stack has acknowledged its bytes.
//!
//! - A collector that stops reading: its receive buffer (fixed at [`RECEIVE_BUFFER`]) fills, the
//!   rest of what the sink wrote waits in the sink's socket, unacknowledged. Those batches must not
//!   be acknowledged (a checkpoint would move past data the collector never got); once the collector
//!   reads on, they are. Before acknowledged delivery, every batch written and flushed was acked.
//! - A collector that crashes mid-stream (after storing what its kernel received): everything not
//!   acknowledged is written again on the next connection, nothing is lost, and the duplicates stay
//!   within the sink's window of unacknowledged bytes. The tests print the numbers they measured.

mod support;

use std::time::Duration;

use bytes::Bytes;
use logferry::batch::BatchSender;
use logferry::config::SyslogSinkConfig;
use logferry::sinks::syslog::SyslogSink;
use support::{
    assert_messages, lf, message, octet, syslog_config, tally, toml_path, Acks, Collector,
    CollectorOptions, Pki, ReadMode,
};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(15);
/// SO_RCVBUF of the collector in the stalled-reader tests (the kernel doubles it).
const RECEIVE_BUFFER: u32 = 32 << 10;

/// A running sink and its input.
struct Running {
    input: Option<BatchSender>,
    task: JoinHandle<()>,
}

fn start(config: &SyslogSinkConfig) -> Running {
    let sink = SyslogSink::new("test", config).expect("sink setup");
    let (tx, rx) = tokio::sync::mpsc::channel(config.queue_batches);
    let task = tokio::spawn(sink.run(rx, CancellationToken::new()));
    Running {
        input: Some(tx),
        task,
    }
}

impl Running {
    /// Closes the input and waits for run to return.
    async fn finish(mut self) {
        self.input = None;
        timeout(WAIT, self.task)
            .await
            .expect("run returns")
            .expect("run does not panic");
    }
}

/// The messages of batch `id` (`per_batch` of them).
fn batch_messages(id: u64, per_batch: usize) -> Vec<String> {
    (0..per_batch)
        .map(|i| message(id as usize * per_batch + i))
        .collect()
}

/// Batch `id`: LF-framed for even ids, octet-counted for odd ones.
fn batch_bytes(id: u64, per_batch: usize) -> Bytes {
    let messages = batch_messages(id, per_batch);
    if id % 2 == 0 {
        lf(&messages)
    } else {
        octet(&messages)
    }
}

fn all_messages(batches: u64, per_batch: usize) -> Vec<String> {
    (0..batches)
        .flat_map(|id| batch_messages(id, per_batch))
        .collect()
}

/// Sink keys for plain TCP (`None`) or TLS trusting the test CA.
fn transport_keys(pki: Option<&Pki>, extra: &str) -> String {
    match pki {
        None => format!("transport = \"tcp\"\n{extra}"),
        Some(pki) => format!(
            "transport = \"tls\"\n{extra}[sinks.out.tls]\n{}",
            toml_path("ca_file", &pki.ca_cert)
        ),
    }
}

fn collector_options(pki: Option<&Pki>) -> CollectorOptions {
    CollectorOptions {
        tls: pki.map(Pki::server_tls),
    }
}

/// Waits until the number of acknowledged batches has not changed for `quiet`; returns it.
async fn settled_acks(acks: &mut Acks, quiet: Duration) -> usize {
    let mut count = acks.acked().len();
    let mut since = Instant::now();
    let deadline = Instant::now() + WAIT;
    while since.elapsed() < quiet && Instant::now() < deadline {
        sleep(Duration::from_millis(10)).await;
        let now = acks.acked().len();
        if now != count {
            count = now;
            since = Instant::now();
        }
    }
    count
}

async fn wait_acked(acks: &mut Acks, n: usize) {
    let deadline = Instant::now() + WAIT;
    while acks.acked().len() < n && Instant::now() < deadline {
        sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(acks.acked().len(), n, "acked batches");
}

/// A collector that stops reading acknowledges only what its receive buffer holds; the batches
/// beyond wait, written but unacknowledged, until it reads on.
async fn unread_batches_stay_unacknowledged(pki: Option<&Pki>) {
    const PER_BATCH: usize = 40;
    const BATCHES: u64 = 60;
    let collector = Collector::start_tuned(0, collector_options(pki), Some(RECEIVE_BUFFER)).await;
    collector.set_read_mode(ReadMode::Paused);
    let config = syslog_config(&collector.address(), &transport_keys(pki, ""));
    let mut acks = Acks::default();
    let sink = start(&config);
    let input = sink.input.clone().expect("input open");
    let batch_len = batch_bytes(0, PER_BATCH).len();
    for id in 0..BATCHES {
        let batch = acks.batch(id, batch_bytes(id, PER_BATCH), PER_BATCH);
        timeout(WAIT, input.send(batch))
            .await
            .expect("the sink takes every batch: they fit in the socket buffers")
            .expect("sink is running");
    }
    let stalled = settled_acks(&mut acks, Duration::from_millis(500)).await;
    println!(
        "{}: collector not reading: {stalled} of {BATCHES} batches acknowledged \
         ({} of {} bytes; collector SO_RCVBUF {RECEIVE_BUFFER})",
        if pki.is_some() { "tls" } else { "tcp" },
        stalled * batch_len,
        BATCHES as usize * batch_len,
    );
    // Every batch has left the channel: all but at most the last were written and flushed.
    assert_eq!(input.capacity(), input.max_capacity());
    assert!(
        stalled < BATCHES as usize - 1,
        "{stalled} acknowledged although the collector reads nothing"
    );
    // The collector's kernel holds at most about twice its SO_RCVBUF.
    assert!(
        stalled * batch_len <= 2 * RECEIVE_BUFFER as usize + batch_len,
        "acknowledged {} bytes, more than the collector can hold",
        stalled * batch_len
    );
    assert_eq!(collector.count(), 0);

    collector.set_read_mode(ReadMode::Normal);
    wait_acked(&mut acks, BATCHES as usize).await;
    drop(input);
    sink.finish().await;
    let expected = all_messages(BATCHES, PER_BATCH);
    assert_messages(
        &collector.expect_messages(expected.len(), WAIT).await,
        &expected,
    );
    assert!(collector.bad_frames().is_empty());
    assert!(acks.acked().values().all(|&n| n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_unread_batches_stay_unacknowledged() {
    unread_batches_stay_unacknowledged(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_unread_batches_stay_unacknowledged() {
    let pki = Pki::generate();
    unread_batches_stay_unacknowledged(Some(&pki)).await;
}

/// A collector crashing mid-stream, then back: nothing lost, duplicates within the unacked window.
async fn crashed_collector_loses_nothing(pki: Option<&Pki>) {
    const PER_BATCH: usize = 5;
    const BATCHES: u64 = 400;
    const WINDOW: usize = 16 << 10;
    let mut collector = Collector::start(collector_options(pki)).await;
    let keys = transport_keys(pki, &format!("max_unacked_bytes = {WINDOW}\n"));
    let config = syslog_config(&collector.address(), &keys);
    let mut acks = Acks::default();
    let sink = start(&config);
    let input = sink.input.clone().expect("input open");
    let batches: Vec<_> = (0..BATCHES)
        .map(|id| acks.batch(id, batch_bytes(id, PER_BATCH), PER_BATCH))
        .collect();
    let batch_len = batches[0].bytes.len();
    let producer = tokio::spawn(async move {
        for batch in batches {
            input.send(batch).await.expect("sink is running");
            sleep(Duration::from_millis(1)).await;
        }
    });
    assert!(collector.wait_for(100 * PER_BATCH, WAIT).await);
    collector.crash_after_reading().await;
    let at_crash = collector.count();
    sleep(Duration::from_millis(300)).await;
    collector.start_again().await;
    producer.await.expect("producer");
    wait_acked(&mut acks, BATCHES as usize).await;
    sink.finish().await;

    let expected = all_messages(BATCHES, PER_BATCH);
    let received = collector.messages();
    let counts = tally(&received);
    let lost = expected
        .iter()
        .filter(|m| !counts.contains_key(m.as_str()))
        .count();
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    // In flight at the crash: at most the window plus the batch that crossed it, plus the batch
    // whose write failed.
    let bound = (WINDOW / batch_len + 2) * PER_BATCH;
    println!(
        "{}: collector crashed after {at_crash} messages: lost {lost}, duplicated {duplicates} \
         (bound {bound}: max_unacked_bytes {WINDOW}, {batch_len} bytes per batch), {} connections",
        if pki.is_some() { "tls" } else { "tcp" },
        collector.connections(),
    );
    assert_eq!(lost, 0, "lost messages");
    assert!(duplicates <= bound, "{duplicates} duplicates");
    assert!(collector.connections() >= 2);
    assert!(acks.acked().values().all(|&n| n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_crashed_collector_loses_nothing() {
    crashed_collector_loses_nothing(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_crashed_collector_loses_nothing() {
    let pki = Pki::generate();
    crashed_collector_loses_nothing(Some(&pki)).await;
}

/// The window that remains, measured: a collector that stopped reading is killed (its kernel resets
/// the connections and discards what it had acknowledged but not handed to the collector). Exactly
/// the batches acknowledged by then are lost; every other batch arrives once, written again on the
/// next connection.
async fn killed_stalled_collector_loses_exactly_what_it_acknowledged(pki: Option<&Pki>) {
    const PER_BATCH: usize = 40;
    const BATCHES: u64 = 60;
    let mut collector =
        Collector::start_tuned(0, collector_options(pki), Some(RECEIVE_BUFFER)).await;
    collector.set_read_mode(ReadMode::Paused);
    let config = syslog_config(&collector.address(), &transport_keys(pki, ""));
    let mut acks = Acks::default();
    let sink = start(&config);
    let input = sink.input.clone().expect("input open");
    for id in 0..BATCHES {
        let batch = acks.batch(id, batch_bytes(id, PER_BATCH), PER_BATCH);
        timeout(WAIT, input.send(batch))
            .await
            .expect("the sink takes every batch")
            .expect("sink is running");
    }
    let settled = settled_acks(&mut acks, Duration::from_millis(500)).await;
    collector.kill().await;
    // The sink sees the reset, acknowledges what the old connection acknowledged, and cannot
    // connect again until the collector is back.
    sleep(Duration::from_millis(300)).await;
    let acked_before: Vec<u64> = acks.acked().keys().copied().collect();
    assert_eq!(settled, acked_before.len(), "acknowledged after the kill");
    collector.set_read_mode(ReadMode::Normal);
    collector.start_again().await;
    wait_acked(&mut acks, BATCHES as usize).await;
    drop(input);
    sink.finish().await;

    let survivors: Vec<String> = (0..BATCHES)
        .filter(|id| !acked_before.contains(id))
        .flat_map(|id| batch_messages(id, PER_BATCH))
        .collect();
    println!(
        "{}: stalled collector killed: {} batches ({} messages) lost, all acknowledged by its TCP \
         stack before the kill; {} batches written again",
        if pki.is_some() { "tls" } else { "tcp" },
        acked_before.len(),
        acked_before.len() * PER_BATCH,
        BATCHES as usize - acked_before.len(),
    );
    // Exactly the rest, in order, once each.
    assert!(!acked_before.is_empty());
    assert_eq!(
        acked_before,
        (0..acked_before.len() as u64).collect::<Vec<_>>()
    );
    assert_messages(&collector.messages(), &survivors);
    assert!(acks.acked().values().all(|&n| n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_killed_stalled_collector_loses_exactly_what_it_acknowledged() {
    killed_stalled_collector_loses_exactly_what_it_acknowledged(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_killed_stalled_collector_loses_exactly_what_it_acknowledged() {
    let pki = Pki::generate();
    killed_stalled_collector_loses_exactly_what_it_acknowledged(Some(&pki)).await;
}
