//! The Kafka sink end to end: numbered access lines in a file, `logferry run` as a child process, a
//! real broker (tansu, see `support::kafka`) on loopback, and a consumer reading back what arrived.
//!
//! - Every event arrives once, on the topic its `norm_id` names, keyed by `device_name`, in order
//!   within its key; a missing topic is created by the sink; the checkpoint reaches the file's end.
//! - The broker killed (SIGKILL) and started again mid-stream: nothing is lost. (The test broker
//!   keeps its data in memory, so the events written while it was down are what it holds after.)
//! - No broker at all: the checkpoint does not move; once a broker comes, everything arrives.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::agent::{append, item, Agent, WAIT};
use support::kafka::{Broker, Received};

/// A config with one apache source over `log` (device `kafka-host`) and one Kafka sink.
fn write_config(dir: &Path, log: &Path, brokers: &str, extra: &str) -> PathBuf {
    let text = format!(
        "data_dir = \"{}\"\nshutdown_timeout = \"10s\"\n\n\
         [sources.web]\ntype = \"file\"\ninclude = [\"{}\"]\nformat = \"apache_access\"\n\
         device_name = \"kafka-host\"\nscan_interval = \"200ms\"\n\n\
         [sinks.bus]\ntype = \"kafka\"\ninputs = [\"web\"]\nbrokers = \"{brokers}\"\n\
         topic = \"siem.{{norm_id}}\"\nretry_min = \"50ms\"\nretry_max = \"500ms\"\n{extra}",
        dir.join("data").display(),
        log.display(),
    );
    let path = dir.join("logferry.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The checkpointed offset of the only file the agent follows (0 before any).
fn checkpoint(dir: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(dir.join("data/checkpoints.json")) else {
        return 0;
    };
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    state["files"]
        .as_array()
        .and_then(|files| files.first())
        .and_then(|f| f["offset"].as_u64())
        .unwrap_or(0)
}

/// Asserts that items `0..n` all arrived; returns how many arrived more than once.
fn assert_all_arrived(received: &[Received], n: usize) -> usize {
    let mut seen = vec![0usize; n];
    for r in received {
        seen[item(&r.payload)] += 1;
    }
    let missing: Vec<usize> = (0..n).filter(|i| seen[*i] == 0).collect();
    assert!(
        missing.is_empty(),
        "{} of {n} events missing, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    seen.iter().filter(|c| **c > 1).count()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn every_event_once_on_its_topic_with_its_key_in_order() {
    let Some(broker) = Broker::start() else {
        return;
    };
    broker.create_topic("siem.ApacheAccess", 3);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let n = 3000;
    append(&log, 0, n / 2);
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut file, b"not an access line\n").unwrap();
    // siem.Raw does not exist: the sink creates it.
    let config = write_config(
        dir.path(),
        &log,
        &broker.address(),
        "create_topics = true\n",
    );
    let agent = Agent::start(&config);
    append(&log, n / 2, n);

    let access = broker.read(&["siem.ApacheAccess"], n);
    assert_eq!(access.len(), n, "events on siem.ApacheAccess");
    assert_eq!(assert_all_arrived(&access, n), 0, "duplicates");
    let mut last_in_partition = std::collections::BTreeMap::new();
    for r in &access {
        assert_eq!(r.key, "kafka-host");
        let event: serde_json::Value = serde_json::from_str(&r.payload).expect("a JSON event");
        assert_eq!(event["norm_id"], "ApacheAccess");
        assert_eq!(event["device_name"], "kafka-host");
        let n = item(&r.payload);
        if let Some(previous) = last_in_partition.insert(r.partition, n) {
            assert!(
                previous < n,
                "item {n} after {previous} in one key's partition"
            );
        }
    }
    assert_eq!(last_in_partition.len(), 1, "one key, one partition");
    let raw = broker.read(&["siem.Raw"], 1);
    assert_eq!(raw.len(), 1);
    assert!(raw[0].payload.contains("not an access line"), "{raw:?}");

    let size = std::fs::metadata(&log).unwrap().len();
    wait_for("the checkpoint to reach the end of the file", || {
        checkpoint(dir.path()) == size
    });
    agent.stop();
}

#[test]
fn broker_killed_and_restarted_mid_stream_loses_nothing() {
    let Some(mut broker) = Broker::start() else {
        return;
    };
    broker.create_topic("siem.ApacheAccess", 3);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let n = 4000;
    append(&log, 0, n / 2);
    let config = write_config(
        dir.path(),
        &log,
        &broker.address(),
        "[sinks.bus.librdkafka]\n\"reconnect.backoff.max.ms\" = 500\n\"message.timeout.ms\" = 3000\n",
    );
    let agent = Agent::start(&config);
    let first = broker.read(&["siem.ApacheAccess"], n / 2);
    assert_eq!(first.len(), n / 2);
    broker.kill();
    append(&log, n / 2, n);
    // Longer than message.timeout.ms: some deliveries fail and are produced again by the sink.
    std::thread::sleep(Duration::from_secs(4));
    let before_restart = checkpoint(dir.path());
    // The broker comes back empty (in-memory storage): everything it holds now came after the restart.
    broker.restart();
    broker.create_topic("siem.ApacheAccess", 3);

    let second = broker.read(&["siem.ApacheAccess"], n / 2);
    let all: Vec<Received> = first.iter().chain(&second).cloned().collect();
    let duplicates = assert_all_arrived(&all, n);
    eprintln!(
        "broker restart: {} messages for {n} events, {duplicates} events twice",
        all.len()
    );
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(
        before_restart < size,
        "checkpoint moved over undelivered events"
    );
    wait_for("the checkpoint to reach the end of the file", || {
        checkpoint(dir.path()) == size
    });
    agent.stop();
}

#[test]
fn without_a_broker_the_checkpoint_stays_and_everything_arrives_later() {
    let port = support::unused_port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let n = 500;
    append(&log, 0, n);
    let config = write_config(
        dir.path(),
        &log,
        &format!("127.0.0.1:{port}"),
        "create_topics = true\n[sinks.bus.librdkafka]\n\"reconnect.backoff.max.ms\" = 500\n\"message.timeout.ms\" = 1000\n",
    );
    let agent = Agent::start(&config);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(checkpoint(dir.path()), 0, "checkpoint moved with no broker");

    let Some(broker) = Broker::start_on(port) else {
        return;
    };
    let all = broker.read(&["siem.ApacheAccess"], n);
    assert_eq!(assert_all_arrived(&all, n), 0, "duplicates");
    let size = std::fs::metadata(&log).unwrap().len();
    wait_for("the checkpoint to reach the end of the file", || {
        checkpoint(dir.path()) == size
    });
    agent.stop();
}
