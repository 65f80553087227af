//! Reloading a running agent (the real binary): SIGHUP, `--watch-config`, a rejected configuration,
//! and a replaced TLS file, while numbered lines are written and counted at a real collector.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::agent::{append, assert_exactly_once, Agent, WAIT};
use support::{Collector, CollectorOptions, Pki};

/// One apache source over `dir/web.log` and one sink; `sink` holds the sink's own keys.
fn write_config(dir: &Path, sink: &str) -> PathBuf {
    let text = format!(
        "data_dir = \"{}\"\nshutdown_timeout = \"10s\"\n\n[sources.web]\ntype = \"file\"\ninclude = [\"{}\"]\nformat = \"apache_access\"\ndevice_name = \"reload-host\"\nscan_interval = \"200ms\"\n\n[sinks.out]\ntype = \"syslog\"\ninputs = [\"web\"]\nreconnect_min = \"50ms\"\nreconnect_max = \"300ms\"\n{sink}",
        dir.join("data").display(),
        dir.join("web.log").display()
    );
    let path = dir.join("logferry.toml");
    // Written next to it and renamed over it, as editors and configuration tools do.
    let tmp = dir.join("logferry.toml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn tcp_sink(collector: &Collector, encoding: &str) -> String {
    format!(
        "address = \"{}\"\ntransport = \"tcp\"\nencoding = \"{encoding}\"\n",
        collector.address()
    )
}

/// Whether a received message carries a JSON payload (else `kv`).
fn is_json(message: &str) -> bool {
    message.contains("\"norm_id\":\"ApacheAccess\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_new_configuration_while_writing_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("web.log");
    let config = write_config(dir.path(), &tcp_sink(&collector, "kv"));
    append(&log, 0, 500);
    let agent = Agent::start(&config);
    collector.expect_messages(500, WAIT).await;

    let total = 6000;
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for from in (500..total).step_by(100) {
                append(&log, from, from + 100);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    write_config(dir.path(), &tcp_sink(&collector, "json"));
    agent.signal("HUP");
    tokio::task::spawn_blocking(move || writer.join().unwrap())
        .await
        .unwrap();

    let messages = collector.expect_messages(total, WAIT).await;
    assert_exactly_once(&messages, total);
    assert!(!is_json(&messages[0]), "{}", messages[0]);
    assert!(is_json(&messages[total - 1]), "{}", messages[total - 1]);
    let switched = messages.iter().position(|m| is_json(m)).unwrap();
    assert!(
        messages[switched..].iter().all(|m| is_json(m)),
        "kv after json: the old pipeline sent after the new one started"
    );
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_configuration_is_rejected_and_the_running_one_kept() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("web.log");
    let config = write_config(dir.path(), &tcp_sink(&collector, "kv"));
    append(&log, 0, 100);
    let mut agent = Agent::start(&config);
    collector.expect_messages(100, WAIT).await;

    // A value the schema does not know, and a CPR key file that does not exist: both rejected.
    write_config(dir.path(), &tcp_sink(&collector, "yaml"));
    agent.signal("HUP");
    tokio::time::sleep(Duration::from_millis(800)).await;
    std::fs::write(
        &config,
        std::fs::read_to_string(&config).unwrap().replace(
            "device_name = \"reload-host\"\n",
            "device_name = \"reload-host\"\ncpr_key_file = \"/nonexistent/cpr.key\"\n",
        ),
    )
    .unwrap();
    agent.signal("HUP");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        agent.is_running(),
        "a rejected configuration stopped the agent"
    );
    append(&log, 100, 200);
    let messages = collector.expect_messages(200, WAIT).await;
    assert_exactly_once(&messages, 200);
    assert!(messages.iter().all(|m| !is_json(m)));

    // A valid one after the rejected ones is applied.
    write_config(dir.path(), &tcp_sink(&collector, "json"));
    agent.signal("HUP");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    append(&log, 200, 300);
    let messages = collector.expect_messages(300, WAIT).await;
    assert_exactly_once(&messages, 300);
    assert!(messages[200..].iter().all(|m| is_json(m)));
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_config_reloads_when_the_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("web.log");
    let config = write_config(dir.path(), &tcp_sink(&collector, "kv"));
    append(&log, 0, 100);
    let agent = Agent::start_with(&config, &["--watch-config"]);
    collector.expect_messages(100, WAIT).await;

    write_config(dir.path(), &tcp_sink(&collector, "json"));
    // No signal: the file watch notices, waits for the writes to settle, reloads.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    append(&log, 100, 200);
    let messages = collector.expect_messages(200, WAIT).await;
    assert_exactly_once(&messages, 200);
    assert!(messages[100..].iter().all(|m| is_json(m)));
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_ca_file_is_read_again_without_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions {
        tls: Some(pki.server_tls()),
    })
    .await;
    let log = dir.path().join("web.log");
    // The agent first trusts an unrelated CA: the collector's certificate is refused.
    let ca = dir.path().join("ca.pem");
    std::fs::copy(&pki.other_ca_cert, &ca).unwrap();
    let sink = format!(
        "address = \"{}\"\ntransport = \"tls\"\n[sinks.out.tls]\nca_file = \"{}\"\nserver_name = \"localhost\"\n",
        collector.address(),
        ca.display()
    );
    let config = write_config(dir.path(), &sink);
    append(&log, 0, 300);
    let agent = Agent::start(&config);
    let refused = tokio::time::timeout(WAIT, async {
        while collector.tls_errors().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(refused.is_ok(), "the agent never tried the collector");
    assert_eq!(collector.count(), 0);

    // The right CA arrives the way certificate tools write it: a new file renamed over the old.
    let tmp = dir.path().join("ca.pem.new");
    std::fs::copy(&pki.ca_cert, &tmp).unwrap();
    std::fs::rename(&tmp, &ca).unwrap();
    let messages = collector.expect_messages(300, WAIT).await;
    assert_exactly_once(&messages, 300);
    agent.stop();
}
