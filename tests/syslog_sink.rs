//! Integration tests of the syslog sink alone, over real sockets and real TLS (certificates made per test).
//!
//! Acknowledgement semantics under test: a batch is acked once the collector's TCP stack acknowledged
//! its bytes, never before, and every batch the sink received arrives at the collector unless the
//! sink was aborted. tests/acked_delivery.rs looks at the acknowledgement itself more closely.

mod support;

use std::time::Duration;

use logferry::batch::BatchSender;
use logferry::config::SyslogSinkConfig;
use logferry::sinks::syslog::SyslogSink;
use support::{
    assert_messages, lf, message, octet, syslog_config, tally, toml_path, Acks, Collector,
    CollectorOptions, LogCapture, Pki, ReadMode, ServerTls,
};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};
use tokio_util::sync::CancellationToken;
use tracing::instrument::WithSubscriber;

const PER_BATCH: usize = 5;
const WAIT: Duration = Duration::from_secs(10);

/// A running sink, its input and its abort switch; `logs` has what its run loop logged.
struct Running {
    input: Option<BatchSender>,
    abort: CancellationToken,
    task: JoinHandle<()>,
    logs: LogCapture,
}

fn start(config: &SyslogSinkConfig) -> Running {
    let sink = SyslogSink::new("test", config).expect("sink setup");
    let (tx, rx) = tokio::sync::mpsc::channel(config.queue_batches);
    let abort = CancellationToken::new();
    let logs = LogCapture::default();
    let task = tokio::spawn(
        sink.run(rx, abort.clone())
            .with_subscriber(logs.subscriber()),
    );
    Running {
        input: Some(tx),
        abort,
        task,
        logs,
    }
}

impl Running {
    /// Sends batch `id`: PER_BATCH messages, LF-framed for even ids and octet-counted for odd ones.
    async fn send(&self, acks: &Acks, id: u64) {
        let messages = batch_messages(id);
        let bytes = if id % 2 == 0 {
            lf(&messages)
        } else {
            octet(&messages)
        };
        let input = self.input.as_ref().expect("input still open");
        timeout(WAIT, input.send(acks.batch(id, bytes, PER_BATCH)))
            .await
            .expect("the sink takes batches")
            .expect("sink is running");
    }

    /// Closes the input and waits for run to return.
    async fn finish(mut self) {
        self.input = None;
        timeout(WAIT, self.task)
            .await
            .expect("run returns")
            .expect("run does not panic");
    }

    /// Aborts and checks that run returns promptly.
    async fn abort(self, within: Duration) {
        self.abort.cancel();
        timeout(within, self.task)
            .await
            .expect("run returns after abort")
            .expect("no panic");
    }
}

fn batch_messages(id: u64) -> Vec<String> {
    (0..PER_BATCH)
        .map(|i| message(id as usize * PER_BATCH + i))
        .collect()
}

fn all_messages(ids: std::ops::Range<u64>) -> Vec<String> {
    ids.flat_map(batch_messages).collect()
}

async fn wait_acked(acks: &mut Acks, n: usize) {
    let deadline = Instant::now() + WAIT;
    while acks.acked().len() < n && Instant::now() < deadline {
        sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(acks.acked().len(), n, "acked batches");
}

fn tls_keys(pki: &Pki, extra: &str) -> String {
    format!(
        "transport = \"tls\"\n[sinks.out.tls]\n{}{extra}",
        toml_path("ca_file", &pki.ca_cert)
    )
}

/// Sends `batches` batches through a fresh sink and checks exactly-once, in-order delivery and acks.
async fn deliver_all(collector: &Collector, config: &SyslogSinkConfig, batches: u64) {
    let mut acks = Acks::default();
    let sink = start(config);
    for id in 0..batches {
        sink.send(&acks, id).await;
    }
    sink.finish().await;
    let expected = all_messages(0..batches);
    // Run returns once the collector closed its side, which it does after reading everything; a slow
    // collector that needs longer than close_timeout is waited for here.
    assert_delivered(collector, &expected).await;
    assert!(acks.acked().values().all(|&n| n == 1));
    assert_eq!(acks.acked().len(), batches as usize);
}

/// Every expected message arrived, in order and once, in well-formed frames.
async fn assert_delivered(collector: &Collector, expected: &[String]) {
    assert_messages(
        &collector.expect_messages(expected.len(), WAIT).await,
        expected,
    );
    assert!(
        collector.bad_frames().is_empty(),
        "{:?}",
        collector.bad_frames()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_delivers_every_batch_exactly_once() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let config = syslog_config(&collector.address(), "transport = \"tcp\"\n");
    deliver_all(&collector, &config, 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_delivers_every_batch_exactly_once() {
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions {
        tls: Some(pki.server_tls()),
    })
    .await;
    // An IP address as the server name: matched against the certificate's IP SAN.
    let config = syslog_config(&collector.address(), &tls_keys(&pki, ""));
    deliver_all(&collector, &config, 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_with_a_dns_server_name() {
    let pki = Pki::generate();
    let tls = support::ServerTls {
        tls12_only: true,
        ..pki.server_tls()
    };
    let collector = Collector::start(CollectorOptions { tls: Some(tls) }).await;
    let address = format!("localhost:{}", collector.port());
    let config = syslog_config(&address, &tls_keys(&pki, "server_name = \"localhost\"\n"));
    deliver_all(&collector, &config, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_down_at_start_gets_everything_later() {
    let pki = Pki::generate();
    let port = support::unused_port();
    let config = syslog_config(&format!("127.0.0.1:{port}"), &tls_keys(&pki, ""));
    let mut acks = Acks::default();
    let sink = start(&config);
    // More batches than the sink's queue holds: while nothing can be written, the producer must wait.
    let producer = tokio::spawn(trickle(&sink, &acks, 0..40));
    sleep(Duration::from_millis(500)).await;
    assert!(
        acks.acked().is_empty(),
        "acked before anything could be written"
    );
    assert!(
        !producer.is_finished(),
        "no backpressure while disconnected"
    );
    let options = CollectorOptions {
        tls: Some(pki.server_tls()),
    };
    let collector = Collector::start_on(port, options).await;
    producer.await.expect("producer");
    wait_acked(&mut acks, 40).await;
    let logs = sink.logs.clone();
    sink.finish().await;
    assert_messages(&collector.messages(), &all_messages(0..40));
    assert!(logs.text().contains("cannot connect"), "{}", logs.text());
}

/// Sends batches `ids` at a steady pace, so that a restart happens mid-stream.
fn trickle(
    sink: &Running,
    acks: &Acks,
    ids: std::ops::Range<u64>,
) -> impl std::future::Future<Output = ()> {
    let input = sink.input.clone().expect("input open");
    let batches: Vec<_> = ids
        .map(|id| {
            let messages = batch_messages(id);
            let bytes = if id % 2 == 0 {
                lf(&messages)
            } else {
                octet(&messages)
            };
            acks.batch(id, bytes, PER_BATCH)
        })
        .collect();
    async move {
        for batch in batches {
            input.send(batch).await.expect("sink is running");
            sleep(Duration::from_millis(3)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_restarted_mid_stream_loses_nothing() {
    let pki = Pki::generate();
    let mut collector = Collector::start(CollectorOptions {
        tls: Some(pki.server_tls()),
    })
    .await;
    let config = syslog_config(&collector.address(), &tls_keys(&pki, ""));
    let mut acks = Acks::default();
    let sink = start(&config);
    let producer = tokio::spawn(trickle(&sink, &acks, 0..300));
    assert!(collector.wait_for(100 * PER_BATCH, WAIT).await);
    collector.stop().await;
    sleep(Duration::from_millis(300)).await;
    collector.start_again().await;
    producer.await.expect("producer");
    sink.finish().await;
    let received = collector.messages();
    let counts = tally(&received);
    let expected = all_messages(0..300);
    let missing: Vec<_> = expected
        .iter()
        .filter(|m| !counts.contains_key(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "lost {} messages: {missing:?}",
        missing.len()
    );
    let dups: usize = counts.values().map(|n| n - 1).sum();
    println!("duplicates after a graceful collector restart: {dups}");
    assert!(dups <= 2 * PER_BATCH, "{dups} duplicates");
    assert_eq!(acks.acked().len(), 300);
    assert!(collector.connections() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_crash_while_idle_is_noticed() {
    let mut collector = Collector::start(CollectorOptions::default()).await;
    let config = syslog_config(&collector.address(), "transport = \"tcp\"\n");
    let mut acks = Acks::default();
    let sink = start(&config);
    for id in 0..10 {
        sink.send(&acks, id).await;
    }
    collector.expect_messages(10 * PER_BATCH, WAIT).await;
    collector.kill().await;
    sleep(Duration::from_millis(100)).await;
    for id in 10..20 {
        sink.send(&acks, id).await;
    }
    sleep(Duration::from_millis(300)).await;
    assert_eq!(
        acks.acked().len(),
        10,
        "nothing acked while the collector is down"
    );
    collector.start_again().await;
    wait_acked(&mut acks, 20).await;
    sink.finish().await;
    assert_messages(&collector.messages(), &all_messages(0..20));
}

/// A TLS collector the sink must refuse: nothing arrives, nothing in plaintext, retries, abort works.
async fn refused(collector: &Collector, config: &SyslogSinkConfig, reason: &str) {
    let mut acks = Acks::default();
    let sink = start(config);
    for id in 0..3 {
        sink.send(&acks, id).await;
    }
    sleep(Duration::from_millis(800)).await;
    assert_eq!(collector.count(), 0);
    assert_eq!(collector.bytes_received(), 0);
    assert!(acks.acked().is_empty(), "acked: {:?}", acks.acked());
    assert_eq!(
        collector.not_tls_connections(),
        0,
        "plaintext sent to a TLS collector"
    );
    assert!(
        collector.connections() >= 2,
        "retries: {} connections",
        collector.connections()
    );
    let logs = sink.logs.clone();
    sink.abort(Duration::from_secs(2)).await;
    let logs = logs.text();
    assert!(
        logs.contains("ERROR") && logs.contains(reason),
        "expected {reason:?} in:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ca_is_refused_and_retried() {
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions {
        tls: Some(pki.server_tls()),
    })
    .await;
    let keys = format!(
        "transport = \"tls\"\n[sinks.out.tls]\n{}",
        toml_path("ca_file", &pki.other_ca_cert)
    );
    let config = syslog_config(&collector.address(), &keys);
    refused(&collector, &config, "UnknownIssuer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_certificate_is_refused_and_retried() {
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions {
        tls: Some(ServerTls {
            cert_file: pki.expired_server_cert.clone(),
            key_file: pki.expired_server_key.clone(),
            ..pki.server_tls()
        }),
    })
    .await;
    let config = syslog_config(&collector.address(), &tls_keys(&pki, ""));
    refused(&collector, &config, "xpired").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_host_name_is_refused_and_retried() {
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions {
        tls: Some(pki.server_tls()),
    })
    .await;
    let config = syslog_config(
        &collector.address(),
        &tls_keys(&pki, "server_name = \"siem.example.dk\"\n"),
    );
    refused(&collector, &config, "not valid for name").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_works_with_a_client_certificate() {
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions {
        tls: Some(pki.server_mtls()),
    })
    .await;
    let client = toml_path("cert_file", &pki.client_cert) + &toml_path("key_file", &pki.client_key);
    let config = syslog_config(&collector.address(), &tls_keys(&pki, &client));
    deliver_all(&collector, &config, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_refuses_a_sink_without_client_certificate() {
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions {
        tls: Some(pki.server_mtls()),
    })
    .await;
    let config = syslog_config(&collector.address(), &tls_keys(&pki, ""));
    refused(&collector, &config, "CertificateRequired").await;
    assert!(!collector.tls_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_close_under_tls13_delivers_the_last_batch() {
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions {
        tls: Some(pki.server_tls()),
    })
    .await;
    let config = syslog_config(&collector.address(), &tls_keys(&pki, ""));
    let mut acks = Acks::default();
    let sink = start(&config);
    sink.send(&acks, 0).await;
    sink.finish().await;
    // No waiting: run returned only after the collector had read everything and closed its side.
    assert_messages(&collector.messages(), &all_messages(0..1));
    assert_eq!(acks.acked().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_does_not_reset_a_collector_that_is_behind() {
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions {
        tls: Some(pki.server_tls()),
    })
    .await;
    // The collector reads nothing until the sink has given up waiting for it and dropped the
    // connection, so hundreds of KiB are still in the sockets' buffers when that happens. Dropping
    // a socket with unread input (TLS 1.3 session tickets, had the sink not read them) sends RST,
    // which throws away what our kernel had not sent yet. Those batches are not acknowledged (the
    // collector's TCP stack has not acknowledged them), but they must still arrive.
    collector.set_read_mode(ReadMode::Paused);
    let keys = format!("close_timeout = \"300ms\"\n{}", tls_keys(&pki, ""));
    let config = syslog_config(&collector.address(), &keys);
    let mut acks = Acks::default();
    let sink = start(&config);
    let batches = 800;
    for id in 0..batches {
        sink.send(&acks, id).await;
    }
    sink.finish().await;
    let acked = acks.acked().len();
    assert!(acked < batches as usize, "{acked} acked");
    collector.set_read_mode(ReadMode::Normal);
    let expected = all_messages(0..batches);
    assert_delivered(&collector, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_returns_while_the_collector_stalls() {
    let collector = Collector::start(CollectorOptions::default()).await;
    collector.set_read_mode(ReadMode::Paused);
    let config = syslog_config(
        &collector.address(),
        "transport = \"tcp\"\nclose_timeout = \"300ms\"\n",
    );
    let mut acks = Acks::default();
    let sink = start(&config);
    let big = bytes::Bytes::from(vec![b'x'; 1 << 20]);
    let mut sent = 0;
    // Far more than the socket buffers hold: the sink's write blocks, and so do further sends.
    for id in 0..64 {
        let input = sink.input.as_ref().expect("open");
        match timeout(
            Duration::from_millis(200),
            input.send(acks.batch(id, big.clone(), 1)),
        )
        .await
        {
            Ok(result) => result.expect("sink is running"),
            Err(_) => break,
        }
        sent += 1;
    }
    let started = Instant::now();
    sink.abort(Duration::from_secs(2)).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "abort took {:?}",
        started.elapsed()
    );
    assert!(
        acks.acked().len() < sent,
        "stalled batches must stay unacknowledged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_collector_gets_everything() {
    let collector = Collector::start(CollectorOptions::default()).await;
    collector.set_read_mode(ReadMode::Rate(64 << 10));
    let config = syslog_config(&collector.address(), "transport = \"tcp\"\n");
    let started = Instant::now();
    deliver_all(&collector, &config, 200).await;
    // 200 batches of ~5×100 bytes at 64 KiB/s: the sink was held back, not lossy.
    assert!(
        started.elapsed() > Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn missing_or_bad_files_fail_at_setup() {
    let pki = Pki::generate();
    let garbage = pki.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").expect("write");
    let keys = format!(
        "transport = \"tls\"\n[sinks.out.tls]\n{}",
        toml_path("ca_file", &garbage)
    );
    let config = syslog_config("127.0.0.1:6514", &keys);
    let err = SyslogSink::new("bad", &config)
        .err()
        .expect("a CA file without certificates is an error");
    assert!(format!("{err:#}").contains("garbage.pem"), "{err:#}");
    // A key that does not belong to the certificate.
    let client = toml_path("cert_file", &pki.client_cert) + &toml_path("key_file", &pki.server_key);
    let config = syslog_config("127.0.0.1:6514", &tls_keys(&pki, &client));
    assert!(SyslogSink::new("bad", &config).is_err());
}
