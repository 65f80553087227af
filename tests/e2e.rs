//! End to end through the real binary: files written by the test, `logferry run` as a child process,
//! syslog collectors over real TCP/TLS sockets with certificates made at test time.
//!
//! Every test writes numbered lines (`/item/N` in the request) and asserts at the collector that each
//! number arrived exactly once.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::agent::{access_line, append, assert_exactly_once, item, tally, Agent, WAIT};
use support::{Collector, CollectorOptions, Pki, ServerTls};

/// A config with one apache source over `include` and one sink block per entry of `sinks`.
fn write_config(dir: &Path, include: &str, sinks: &[String]) -> PathBuf {
    let mut text = format!(
        "data_dir = \"{}\"\nshutdown_timeout = \"10s\"\n\n[sources.web]\ntype = \"file\"\ninclude = [\"{include}\"]\nformat = \"apache_access\"\ndevice_name = \"e2e-host\"\nscan_interval = \"200ms\"\n\n",
        dir.join("data").display()
    );
    for sink in sinks {
        text.push_str(sink);
        text.push('\n');
    }
    let path = dir.join("logferry.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn tls_sink(name: &str, collector: &Collector, pki: &Pki, framing: &str, encoding: &str) -> String {
    format!(
        "[sinks.{name}]\ntype = \"syslog\"\ninputs = [\"web\"]\naddress = \"{}\"\ntransport = \"tls\"\nframing = \"{framing}\"\nencoding = \"{encoding}\"\nreconnect_min = \"50ms\"\nreconnect_max = \"500ms\"\n[sinks.{name}.tls]\nca_file = \"{}\"\nserver_name = \"localhost\"\n",
        collector.address(),
        pki.ca_cert.display()
    )
}

fn tcp_sink(address: &str) -> String {
    format!(
        "[sinks.out]\ntype = \"syslog\"\ninputs = [\"web\"]\naddress = \"{address}\"\ntransport = \"tcp\"\nreconnect_min = \"50ms\"\nreconnect_max = \"300ms\"\n"
    )
}

fn tls_options(pki: &Pki) -> CollectorOptions {
    CollectorOptions {
        tls: Some(ServerTls {
            cert_file: pki.server_cert.clone(),
            key_file: pki.server_key.clone(),
            client_ca_file: None,
            tls12_only: false,
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_both_framings_and_encodings_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate();
    let log = dir.path().join("access.log");
    let n = 3000;
    append(&log, 0, n / 2);
    let mut collectors = Vec::new();
    let mut sinks = Vec::new();
    for (framing, encoding) in [
        ("lf", "kv"),
        ("octet-counting", "kv"),
        ("lf", "json"),
        ("octet-counting", "json"),
    ] {
        let collector = Collector::start(tls_options(&pki)).await;
        let name = format!("{}_{encoding}", framing.replace('-', "_"));
        sinks.push(tls_sink(&name, &collector, &pki, framing, encoding));
        collectors.push((framing, encoding, collector));
    }
    let agent = Agent::start(&write_config(
        dir.path(),
        &log.display().to_string(),
        &sinks,
    ));
    append(&log, n / 2, n);
    for (framing, encoding, collector) in &collectors {
        let messages = collector.expect_messages(n, WAIT).await;
        assert_exactly_once(&messages, n);
        assert!(
            collector.bad_frames().is_empty(),
            "{framing}/{encoding}: {:?}",
            collector.bad_frames()
        );
        let first = messages.iter().find(|m| item(m) == 7).unwrap();
        let header = "<14>1 2026-11-26T10:00:00.000000+01:00 e2e-host apache - ApacheAccess - ";
        assert!(first.starts_with(header), "{framing}/{encoding}: {first}");
        let payload = &first[header.len()..];
        if *encoding == "kv" {
            assert_eq!(
                payload,
                format!(
                    "log_ts=1795683600 norm_id=ApacheAccess label=\"Web,Access,Successful\" source_address=192.0.2.7 request_method=GET url=\"/item/7?q=a%20b\" http_version=1.1 status_code=200 sent_datasize=107 user_agent=\"Mozilla/5.0 (e2e)\" device_name=e2e-host source_name={} severity=6 facility=1 msg=\"192.0.2.7 - - [26/Nov/2026:10:00:00 +0100] \\\"GET /item/7?q=a%20b HTTP/1.1\\\" 200 107 \\\"-\\\" \\\"Mozilla/5.0 (e2e)\\\"\"",
                    log.display()
                )
            );
        } else {
            let event: serde_json::Value = serde_json::from_str(payload).unwrap();
            assert_eq!(event["log_ts"], 1795683600);
            assert_eq!(event["status_code"], 200);
            assert_eq!(event["sent_datasize"], 107);
            assert_eq!(event["url"], "/item/7?q=a%20b");
            assert_eq!(event["source_address"], "192.0.2.7");
            assert_eq!(
                event["label"],
                serde_json::json!(["Web", "Access", "Successful"])
            );
        }
    }
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_rotation_and_restarts_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("app.log");
    let config = write_config(
        dir.path(),
        &log.display().to_string(),
        &[tcp_sink(&collector.address())],
    );
    let mut agent = Agent::start(&config);
    let mut written = 0;
    for round in 0..6 {
        for _ in 0..20 {
            append(&log, written, written + 50);
            written += 50;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        match round % 3 {
            // logrotate's default: rename, then the writer opens a new file.
            0 => std::fs::rename(&log, dir.path().join(format!("app.log.{round}"))).unwrap(),
            // A graceful restart mid-stream.
            1 => agent = agent.restart(),
            _ => {}
        }
    }
    let messages = collector.expect_messages(written, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_exactly_once(&collector.messages(), written);
    assert_eq!(messages.len(), written);
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copytruncate_is_read_again_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("app.log");
    let config = write_config(
        dir.path(),
        &log.display().to_string(),
        &[tcp_sink(&collector.address())],
    );
    let agent = Agent::start(&config);
    let mut written = 0;
    for round in 0..4 {
        for _ in 0..10 {
            append(&log, written, written + 40);
            written += 40;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // logrotate's copytruncate, done once the agent has caught up: lines written between its last
        // read and the truncation would only be in the copy, which this glob does not follow.
        assert!(collector.wait_for(written, WAIT).await, "round {round}");
        std::fs::copy(&log, dir.path().join(format!("copy.{round}"))).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(0)
            .unwrap();
    }
    append(&log, written, written + 100);
    written += 100;
    collector.expect_messages(written, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_exactly_once(&collector.messages(), written);
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_down_at_start_loses_nothing_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::unused_port();
    let log = dir.path().join("access.log");
    let n = 200_000;
    append(&log, 0, n);
    let address = format!("127.0.0.1:{port}");
    let config = write_config(
        dir.path(),
        &log.display().to_string(),
        &[tcp_sink(&address)],
    );
    let agent = Agent::start(&config);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_mib = agent.rss_kib() / 1024;
    assert!(
        rss_mib < 64,
        "RSS {rss_mib} MiB while the collector is down"
    );
    let collector = Collector::start_on(port, CollectorOptions::default()).await;
    let messages = collector.expect_messages(n, Duration::from_secs(60)).await;
    assert_exactly_once(&messages, n);
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_ships_as_labelled_events_and_never_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("access.log");
    let mut bytes = access_line(0).into_bytes();
    bytes.extend_from_slice(b"\x00\x01binary\xff\xfe junk \xc3( line\n");
    bytes.extend_from_slice(&vec![b'A'; 3 << 20]);
    bytes.push(b'\n');
    bytes.extend_from_slice(access_line(1).as_bytes());
    std::fs::write(&log, &bytes).unwrap();
    let sink = format!("{}encoding = \"json\"\n", tcp_sink(&collector.address()));
    let config = write_config(dir.path(), &log.display().to_string(), &[sink]);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("scan_interval", "max_line_bytes = \"64KiB\"\nscan_interval");
    std::fs::write(&config, text).unwrap();
    let agent = Agent::start(&config);
    let messages = collector.expect_messages(4, WAIT).await;
    let events: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| serde_json::from_str(&m[m.find(" - {").unwrap() + 3..]).unwrap())
        .collect();
    assert_eq!(events[0]["url"], "/item/0?q=a%20b");
    assert_eq!(events[1]["norm_id"], "Raw");
    assert_eq!(events[1]["label"], serde_json::json!(["Unparsed"]));
    assert_eq!(
        events[1]["msg"],
        "\u{0}\u{1}binary\u{fffd}\u{fffd} junk \u{fffd}( line"
    );
    assert_eq!(events[2]["norm_id"], "Raw");
    assert_eq!(
        events[2]["label"],
        serde_json::json!(["Unparsed", "Truncated"])
    );
    assert_eq!(events[2]["msg"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(events[3]["url"], "/item/1?q=a%20b");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(collector.count(), 4);
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_from_end_skips_only_what_was_there_at_the_first_scan() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("old.log");
    append(&log, 0, 100);
    let config = write_config(
        dir.path(),
        &dir.path().join("*.log").display().to_string(),
        &[tcp_sink(&collector.address())],
    );
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("scan_interval", "read_from = \"end\"\nscan_interval");
    std::fs::write(&config, text).unwrap();
    let agent = Agent::start(&config);
    tokio::time::sleep(Duration::from_millis(500)).await;
    append(&log, 100, 150);
    // A file that appears later is new: read from its beginning.
    append(&dir.path().join("new.log"), 150, 180);
    let messages = collector.expect_messages(80, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = tally(&collector.messages());
    assert_eq!(messages.len(), 80);
    assert!(
        seen.keys().all(|&i| (100..180).contains(&i)),
        "{:?}",
        seen.keys().take(5).collect::<Vec<_>>()
    );
    assert_eq!(seen.len(), 80);
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_traces_join_their_line_and_a_quiet_file_flushes_its_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("server.log");
    let first = "2026-11-26 10:15:30,123 ERROR [a.B] (worker 1) failed\njava.io.IOException: x\n\tat a.B.c(B.java:1)\n";
    let last = "2026-11-26 10:15:31,000 INFO [a.B] (worker 2) done\n";
    std::fs::write(&log, format!("{first}{last}")).unwrap();
    let sink = format!("{}encoding = \"json\"\n", tcp_sink(&collector.address()));
    let config = write_config(dir.path(), &log.display().to_string(), &[sink]);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "format = \"apache_access\"",
        "format = \"java\"\nmultiline_timeout = \"300ms\"",
    );
    std::fs::write(&config, text).unwrap();
    let agent = Agent::start(&config);
    // The last record has no successor: only the quiet-file flush hands it on.
    let messages = collector.expect_messages(2, WAIT).await;
    let event = |m: &String| -> serde_json::Value {
        serde_json::from_str(&m[m.find(" - {").unwrap() + 3..]).unwrap()
    };
    assert_eq!(
        event(&messages[0])["exception_class"],
        "java.io.IOException"
    );
    assert_eq!(
        event(&messages[0])["stack_trace"],
        "java.io.IOException: x\n\tat a.B.c(B.java:1)"
    );
    assert_eq!(event(&messages[1])["message"], "done");
    // A record written in two parts, closer together than the timeout, is one event.
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    file.write_all(b"2026-11-26 10:15:32,000 WARN [a.B] (worker 3) retry\n")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    file.write_all(b"Caused by: java.net.ConnectException: refused\n")
        .unwrap();
    let messages = collector.expect_messages(3, WAIT).await;
    assert_eq!(event(&messages[2])["message"], "retry");
    assert_eq!(
        event(&messages[2])["exception_class"],
        "java.net.ConnectException"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(collector.count(), 3);
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_java_record_survives_a_restart_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let log = dir.path().join("server.log");
    std::fs::write(
        &log,
        "2026-11-26 10:15:30,123 ERROR [a.B] (w) first\n\tat a.B.c(B.java:1)\n2026-11-26 10:15:31,000 INFO [a.B] (w) pending\n",
    )
    .unwrap();
    let sink = format!("{}encoding = \"json\"\n", tcp_sink(&collector.address()));
    let config = write_config(dir.path(), &log.display().to_string(), &[sink]);
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "format = \"apache_access\"",
        "format = \"java\"\nmultiline_timeout = \"3s\"",
    );
    std::fs::write(&config, text).unwrap();
    let agent = Agent::start(&config);
    collector.expect_messages(1, WAIT).await;
    // Stopped while the last record waits for its timeout: it was not checkpointed, so the next run
    // reads it again and hands it on once.
    let agent = agent.restart();
    let messages = collector.expect_messages(2, WAIT).await;
    assert!(
        messages[1].contains("\"message\":\"pending\""),
        "{}",
        messages[1]
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(collector.count(), 2);
    agent.stop();
}
