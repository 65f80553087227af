//! `logferry tap` and `logferry top` against a running agent (the real binary) over its control
//! socket: filtered live events, a view of rates, and who may use the socket.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::agent::{append, Agent, WAIT};
use support::{Collector, CollectorOptions};

/// Two apache sources (`web`: dir/web.log, `other`: dir/other.log) into one TCP sink `siem`.
fn write_config(dir: &Path, collector: &Collector) -> PathBuf {
    let source = |name: &str| {
        format!(
            "[sources.{name}]\ntype = \"file\"\ninclude = [\"{}\"]\nformat = \"apache_access\"\nscan_interval = \"200ms\"\n\n",
            dir.join(format!("{name}.log")).display()
        )
    };
    let text = format!(
        "data_dir = \"{}\"\n\n{}{}[sinks.siem]\ntype = \"syslog\"\ninputs = [\"web\", \"other\"]\naddress = \"{}\"\ntransport = \"tcp\"\n",
        dir.join("data").display(),
        source("web"),
        source("other"),
        collector.address()
    );
    let path = dir.join("logferry.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn logferry() -> Command {
    Command::new(env!("CARGO_BIN_EXE_logferry"))
}

/// Waits until the agent's control socket answers a metrics request.
fn wait_for_socket(config: &Path) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let out = logferry()
            .args(["top", "--once", "--interval", "10ms", "--config"])
            .arg(config)
            .output()
            .unwrap();
        if out.status.success() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the control socket never answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tap_streams_the_events_of_one_source_that_match_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let config = write_config(dir.path(), &collector);
    let agent = Agent::start(&config);
    wait_for_socket(&config);

    let mut tap = logferry()
        .args(["tap", "--source", "web", "--config"])
        .arg(&config)
        .args(["status_code=200", "url=\"/item/1*\""])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The tap is connected once a line written now shows up; until then nothing is asserted.
    let lines = BufReader::new(tap.stdout.take().unwrap()).lines();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        for line in lines {
            let line = line.unwrap();
            let done = line.contains("/item/199?");
            got.push(line);
            if done {
                break;
            }
        }
        got
    });
    std::thread::sleep(Duration::from_millis(500));
    append(&dir.path().join("other.log"), 0, 200);
    append(&dir.path().join("web.log"), 0, 200);
    collector.expect_messages(400, WAIT).await;
    let got = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    let _ = tap.kill();
    let _ = tap.wait();

    // Items 1, 10–19 and 100–199 of web.log: 111 events, each once, none of other.log.
    assert_eq!(got.len(), 111, "{got:#?}");
    for line in &got {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["norm_id"], "ApacheAccess");
        assert_eq!(event["status_code"], 200);
        assert!(
            event["url"].as_str().unwrap().starts_with("/item/1"),
            "{line}"
        );
        assert!(
            event["source_name"].as_str().unwrap().ends_with("web.log"),
            "{line}"
        );
    }
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_shows_rates_per_source_and_sink() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let config = write_config(dir.path(), &collector);
    let agent = Agent::start(&config);
    wait_for_socket(&config);

    let writer = {
        let log = dir.path().join("web.log");
        std::thread::spawn(move || {
            for from in (0..3000).step_by(100) {
                append(&log, from, from + 100);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let out = logferry()
        .args(["top", "--once", "--interval", "1s", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    let view = String::from_utf8(out.stdout).unwrap();
    let rate = |name: &str| -> f64 {
        let line = view
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row {name} in\n{view}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    // About 2000 lines/s are written; anything clearly above zero shows the rates are live.
    assert!(rate("web") > 200.0, "{view}");
    assert_eq!(rate("other"), 0.0, "{view}");
    assert!(rate("siem") > 200.0, "{view}");
    collector.expect_messages(3000, WAIT).await;
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_user_is_refused_and_bad_requests_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let config = write_config(dir.path(), &collector);
    let agent = Agent::start(&config);
    wait_for_socket(&config);
    let socket = dir.path().join("data/control.sock");
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let tap = |args: &[&str]| {
        let out = logferry()
            .arg("tap")
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8(out.stderr).unwrap())
    };
    let (ok, stderr) = tap(&["--source", "nope"]);
    assert!(!ok && stderr.contains("no source \"nope\""), "{stderr}");
    let (ok, stderr) = tap(&["user=(root"]);
    assert!(!ok && stderr.contains("query:"), "{stderr}");

    // Opened up on purpose, so that only the agent's own check stands between nobody and the events.
    for path in [dir.path(), &dir.path().join("data"), &socket] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_logferry"))
        .arg("tap")
        .arg("--socket")
        .arg(&socket)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert!(
        stderr.contains("user 65534 may not use the control socket"),
        "{stderr}"
    );
    agent.stop();
}
