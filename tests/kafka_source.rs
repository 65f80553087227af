//! The Kafka source and the two-tier layout, end to end: a real broker (tansu, `support::kafka`),
//! `logferry run` as child processes, a syslog collector on a real TCP socket.
//!
//! - Offsets are committed only over delivered events: with the collector down, the aggregator is
//!   killed (SIGKILL); started again, it delivers what was not delivered, and nothing that was.
//! - Scale-out: two aggregators in one consumer group share the partitions; one is killed
//!   mid-stream; every event arrives at least once, and the duplicates stay within what the killed
//!   one had not committed. (Ignored by default: tansu's group coordinator is not reliable enough.)
//! - Edge → Kafka → aggregator: the edge's normalised JSON passes through the aggregator unchanged.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::agent::{access_line, append, assert_exactly_once, tally, Agent};
use support::kafka::Broker;
use support::{Collector, CollectorOptions};

const COLLECT: Duration = Duration::from_secs(60);
/// The aggregators' `session.timeout.ms`: how long the group waits for a member that went silent.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);

/// An aggregator: a Kafka source reading raw access lines of `topic` in group `aggregators`, its
/// `source_name` set to `name` (to tell aggregators apart at the collector), a TCP syslog sink.
fn aggregator(
    dir: &Path,
    name: &str,
    broker: &Broker,
    topic: &str,
    format: &str,
    collector: &Collector,
) -> PathBuf {
    let text = format!(
        "data_dir = \"{data}\"\nshutdown_timeout = \"10s\"\n\n\
         [sources.bus]\ntype = \"kafka\"\nbrokers = \"{brokers}\"\ntopics = [\"{topic}\"]\n\
         group_id = \"aggregators\"\nformat = \"{format}\"\ndevice_name = \"edge\"\nsource_name = \"{name}\"\n\
         batch_wait = \"50ms\"\nbatch_events = 200\n\
         [sources.bus.librdkafka]\n\"session.timeout.ms\" = 6000\n\"heartbeat.interval.ms\" = 500\n\n\
         [sinks.out]\ntype = \"syslog\"\ninputs = [\"bus\"]\naddress = \"{address}\"\ntransport = \"tcp\"\n\
         encoding = \"kv\"\nreconnect_min = \"50ms\"\nreconnect_max = \"300ms\"\n",
        data = dir.join(format!("data-{name}")).display(),
        brokers = broker.address(),
        address = collector.address(),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn lines(from: usize, to: usize) -> Vec<String> {
    (from..to)
        .map(|n| access_line(n).trim_end().to_string())
        .collect()
}

fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_committed_only_over_delivered_events() {
    let Some(broker) = Broker::start() else {
        return;
    };
    blocking(|| broker.create_topic("siem.raw", 3));
    let dir = tempfile::tempdir().unwrap();
    let mut collector = Collector::start(CollectorOptions::default()).await;
    let config = aggregator(
        dir.path(),
        "a",
        &broker,
        "siem.raw",
        "apache_access",
        &collector,
    );
    blocking(|| broker.produce("siem.raw", 3, &lines(0, 1500)));
    let agent = Agent::start(&config);
    let first = collector.expect_messages(1500, COLLECT).await;
    assert_exactly_once(&first, 1500);
    assert!(first[0].contains("source_name=a"), "{}", first[0]);
    // Past the commit interval: the first 1500 are committed.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    collector.stop().await;
    blocking(|| broker.produce("siem.raw", 3, &lines(1500, 2000)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(agent); // SIGKILL, with 500 events read but not delivered
    collector.start_again().await;
    let agent = Agent::start(&config);
    collector.expect_messages(1500 + 500, COLLECT).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Every event exactly once over both runs: the delivered ones were committed, the others not.
    assert_exactly_once(&collector.messages(), 2000);
    agent.stop();
}

// Ignored in `cargo test`: tansu 0.6's group coordinator sometimes keeps a dead member's partitions
// assigned to it for good, and the test then waits for events nobody reads (passed in 3 of 5 runs
// here). Run it by hand: `cargo test --test kafka_source -- --ignored --nocapture`.
#[ignore = "tansu 0.6 sometimes never reassigns a dead member's partitions"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_aggregators_one_killed_every_event_arrives() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let partitions = 4;
    blocking(|| broker.create_topic("siem.raw", partitions as u32));
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let a_config = aggregator(
        dir.path(),
        "a",
        &broker,
        "siem.raw",
        "apache_access",
        &collector,
    );
    let a = Agent::start(&a_config);
    let b = Agent::start(&aggregator(
        dir.path(),
        "b",
        &broker,
        "siem.raw",
        "apache_access",
        &collector,
    ));
    // Both members join before the stream starts, so the partitions are shared between them.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let n = 6000;
    let step = 500;
    let mut killed_at = None;
    let mut a = Some(a);
    for from in (0..n).step_by(step) {
        blocking(|| broker.produce("siem.raw", partitions, &lines(from, from + step)));
        if from == n / 2 {
            let delivered = collector.count();
            let by_a = collector
                .messages()
                .iter()
                .filter(|m| m.contains("source_name=a"))
                .count();
            assert!(
                by_a > 0 && by_a < delivered,
                "both aggregators work before the kill ({by_a} of {delivered} by a)"
            );
            drop(a.take()); // SIGKILL mid-stream
            killed_at = Some(delivered);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // tansu 0.6 keeps a dead member's partitions assigned to it (its coordinator drops the member
    // on a heartbeat but does not re-form the group), so the tier is restarted here: b leaves the
    // group gracefully and c joins once a's session has expired. With Apache Kafka, b would take
    // a's partitions by itself after session.timeout.ms. Either way the new owner starts from
    // a's last commit: what a delivered since comes twice, nothing is lost.
    b.stop();
    tokio::time::sleep(SESSION_TIMEOUT + Duration::from_secs(2)).await;
    let c = Agent::start(&aggregator(
        dir.path(),
        "c",
        &broker,
        "siem.raw",
        "apache_access",
        &collector,
    ));
    let deadline = tokio::time::Instant::now() + COLLECT;
    while tally(&collector.messages()).len() < n && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let messages = collector.messages();
    let seen = tally(&messages);
    let missing: Vec<usize> = (0..n).filter(|i| !seen.contains_key(i)).collect();
    assert!(
        missing.is_empty(),
        "{} events lost, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let duplicates = messages.len() - n;
    eprintln!(
        "scale-out: {n} events, {} delivered, {duplicates} duplicates; a killed after {:?} deliveries",
        messages.len(),
        killed_at
    );
    // The killed member had committed all but its last second or so of batches: its partitions'
    // share of the stream since then is what can come twice, never the whole stream again.
    assert!(duplicates <= n / 4, "{duplicates} duplicates of {n}");
    c.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_events_pass_through_an_aggregator_unchanged() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let n = 1000;
    append(&log, 0, n);
    let edge = dir.path().join("edge.toml");
    std::fs::write(
        &edge,
        format!(
            "data_dir = \"{}\"\n[sources.web]\ntype = \"file\"\ninclude = [\"{}\"]\nformat = \"apache_access\"\n\
             device_name = \"edge-web01\"\n[sinks.bus]\ntype = \"kafka\"\ninputs = [\"web\"]\n\
             brokers = \"{}\"\ntopic = \"siem.events\"\ncreate_topics = true\n",
            dir.path().join("data-edge").display(),
            log.display(),
            broker.address()
        ),
    )
    .unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let edge = Agent::start(&edge);
    let aggregator = Agent::start(&aggregator(
        dir.path(),
        "agg",
        &broker,
        "siem.events",
        "json",
        &collector,
    ));
    let messages = collector.expect_messages(n, COLLECT).await;
    assert_exactly_once(&messages, n);
    for m in &messages {
        assert!(m.contains("norm_id=ApacheAccess"), "{m}");
        assert!(m.contains("device_name=edge-web01"), "{m}");
        assert!(
            m.contains(" edge-web01 "),
            "syslog HOSTNAME is the edge's device: {m}"
        );
    }
    aggregator.stop();
    edge.stop();
}
