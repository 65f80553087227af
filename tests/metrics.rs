//! `[api]` end to end: the real binary, files written by the test, a syslog collector over real TCP,
//! and `/metrics`, `/health` and `/ready` scraped over real HTTP.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Collector, CollectorOptions};

const WAIT: Duration = Duration::from_secs(30);

struct Agent {
    child: Child,
    api: String,
}

impl Agent {
    fn start(config: &Path, api: &str) -> Agent {
        let child = Command::new(env!("CARGO_BIN_EXE_logferry"))
            .args(["run", "--config"])
            .arg(config)
            .env("LOGFERRY_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let agent = Agent {
            child,
            api: api.to_string(),
        };
        agent.wait_until("the API answers", |a| a.get("/health").is_some());
        agent
    }

    /// Status and body of `GET path`; `None` while nothing listens.
    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(&self.api).ok()?;
        stream.set_read_timeout(Some(WAIT)).ok()?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_string()))
    }

    /// The samples of `/metrics`, by their whole series text (`name{labels}`).
    fn scrape(&self) -> BTreeMap<String, f64> {
        let (status, body) = self.get("/metrics").expect("scrape /metrics");
        assert_eq!(status, 200, "{body}");
        body.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (series, value) = l.rsplit_once(' ').unwrap();
                (series.to_string(), value.parse().unwrap())
            })
            .collect()
    }

    fn wait_until(&self, what: &str, done: impl Fn(&Agent) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits for a clean exit.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "agent exited with {status}");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no series {series} in {samples:#?}"))
}

fn access_line(n: usize) -> String {
    format!("192.0.2.{} - - [26/Nov/2026:10:00:00 +0100] \"GET /item/{n} HTTP/1.1\" 200 {} \"-\" \"e2e\"\n", n % 250, 100 + n)
}

fn json_line(n: usize) -> String {
    format!("{{\"time\":\"2026-11-26T10:00:00Z\",\"level\":\"info\",\"msg\":\"item {n}\"}}\n")
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Sources `web` (apache_access, `web.log`) and `app` (json, `app.log`) into one TCP syslog sink `out`.
fn write_config(dir: &Path, collector: &str, api: &str) -> PathBuf {
    let text = format!(
        r#"data_dir = "{data}"
shutdown_timeout = "5s"

[api]
address = "{api}"

[sources.web]
type = "file"
include = ["{dir}/web.log"]
format = "apache_access"
scan_interval = "100ms"

[sources.app]
type = "file"
include = ["{dir}/app.log"]
format = "json"
scan_interval = "100ms"

[sinks.out]
type = "syslog"
inputs = ["web", "app"]
address = "{collector}"
transport = "tcp"
reconnect_min = "50ms"
reconnect_max = "200ms"
close_timeout = "1s"
"#,
        data = dir.join("data").display(),
        dir = dir.display(),
    );
    let path = dir.join("logferry.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn api_address() -> String {
    format!("127.0.0.1:{}", support::unused_port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_as_events_flow() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let api = api_address();
    let (web, app) = (dir.path().join("web.log"), dir.path().join("app.log"));
    let (web_good, web_bad, app_good, app_bad) = (1500, 7, 300, 3);
    let mut web_text: String = (0..web_good).map(access_line).collect();
    for i in 0..web_bad {
        web_text.push_str(&format!("this is not an access log line {i}\n"));
    }
    let mut app_text: String = (0..app_good).map(json_line).collect();
    for i in 0..app_bad {
        app_text.push_str(&format!("{{\"broken\": {i}\n"));
    }
    append(&web, &web_text);
    append(&app, &app_text);
    let agent = Agent::start(&write_config(dir.path(), &collector.address(), &api), &api);

    let total = web_good + web_bad + app_good + app_bad;
    collector.expect_messages(total, WAIT).await;
    let want = total as f64;
    agent.wait_until("every event is counted as delivered", |a| {
        let m = a.scrape();
        m.get("logferry_sink_events_total{sink=\"out\"}") == Some(&want)
            && m.get("logferry_end_to_end_latency_seconds_count") == Some(&want)
            && m.get("logferry_sink_buffer_batches{sink=\"out\"}") == Some(&0.0)
    });
    let web_lag = format!(
        "logferry_file_read_lag_bytes{{source=\"web\",path=\"{}\"}}",
        web.display()
    );
    agent.wait_until("the read lag is 0", |a| {
        a.scrape().get(&web_lag) == Some(&0.0)
    });
    let m = agent.scrape();
    let web_events = (web_good + web_bad) as f64;
    assert_eq!(
        value(&m, "logferry_source_events_total{source=\"web\"}"),
        web_events
    );
    assert_eq!(
        value(&m, "logferry_source_events_total{source=\"app\"}"),
        (app_good + app_bad) as f64
    );
    assert_eq!(
        value(&m, "logferry_source_bytes_total{source=\"web\"}"),
        web_text.len() as f64
    );
    assert_eq!(
        value(
            &m,
            "logferry_parse_failures_total{format=\"apache_access\"}"
        ),
        web_bad as f64
    );
    assert_eq!(
        value(&m, "logferry_parse_failures_total{format=\"json\"}"),
        app_bad as f64
    );
    assert_eq!(
        value(&m, "logferry_events_dropped_total{reason=\"sink_stopped\"}"),
        0.0
    );
    assert!(
        value(&m, "logferry_sink_bytes_total{sink=\"out\"}") as u64
            >= collector.bytes_received() / 2
    );
    assert_eq!(value(&m, "logferry_sink_connected{sink=\"out\"}"), 1.0);
    assert_eq!(value(&m, "logferry_sink_buffer_events{sink=\"out\"}"), 0.0);
    assert_eq!(
        value(&m, "logferry_sink_buffer_capacity_batches{sink=\"out\"}"),
        16.0
    );
    assert_eq!(value(&m, "logferry_source_files{source=\"app\"}"), 1.0);
    let p50 = value(&m, "logferry_end_to_end_latency_seconds{quantile=\"0.5\"}");
    let p999 = value(
        &m,
        "logferry_end_to_end_latency_seconds{quantile=\"0.999\"}",
    );
    assert!(
        p50 > 0.0 && p50 <= p999 && p999 < 30.0,
        "p50 {p50}, p99.9 {p999}"
    );
    assert!(value(&m, "logferry_end_to_end_latency_seconds_sum") > 0.0);

    // More lines move the counters again, and the lag of a file written while we watch returns to 0.
    append(
        &web,
        &(web_good..web_good + 100)
            .map(access_line)
            .collect::<String>(),
    );
    collector.expect_messages(total + 100, WAIT).await;
    agent.wait_until("the new lines are counted", |a| {
        a.scrape().get("logferry_end_to_end_latency_seconds_count") == Some(&(want + 100.0))
    });
    let (status, body) = agent.get("/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains("# TYPE logferry_end_to_end_latency_seconds summary"),
        "{body}"
    );
    let series: Vec<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    // The disk buffer families exist only with a disk buffer: tests/disk_buffer.rs checks them.
    for name in support::dashboard::metric_names()
        .into_iter()
        .filter(|n| !n.starts_with("logferry_buffer_"))
    {
        assert!(
            series.contains(&name.as_str()),
            "the Grafana dashboard queries {name}, which the agent does not export"
        );
    }
    agent.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_collector() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::unused_port();
    let collector_address = format!("127.0.0.1:{port}");
    let api = api_address();
    let web = dir.path().join("web.log");
    append(&web, &(0..50).map(access_line).collect::<String>());
    let agent = Agent::start(&write_config(dir.path(), &collector_address, &api), &api);

    agent.wait_until("readiness is false while the collector is down", |a| {
        a.get("/ready")
            .is_some_and(|(s, body)| s == 503 && body.contains("out"))
    });
    assert_eq!(agent.get("/health?ready").unwrap().0, 503);
    assert_eq!(agent.get("/health").unwrap().0, 200, "liveness stays true");
    let m = agent.scrape();
    assert_eq!(value(&m, "logferry_sink_connected{sink=\"out\"}"), 0.0);
    assert_eq!(value(&m, "logferry_sink_buffer_events{sink=\"out\"}"), 50.0);
    assert_eq!(value(&m, "logferry_sink_events_total{sink=\"out\"}"), 0.0);

    let mut collector = Collector::start_on(port, CollectorOptions::default()).await;
    collector.expect_messages(50, WAIT).await;
    agent.wait_until("readiness is true once the collector is back", |a| {
        a.get("/ready").is_some_and(|(s, _)| s == 200)
    });
    assert_eq!(agent.get("/health?ready").unwrap().0, 200);
    assert_eq!(
        value(
            &agent.scrape(),
            "logferry_sink_reconnects_total{sink=\"out\"}"
        ),
        0.0
    );

    // A crashed collector and new lines: failing again, then a reconnect once it is back.
    collector.kill().await;
    append(&web, &(50..60).map(access_line).collect::<String>());
    agent.wait_until("readiness is false again", |a| {
        a.get("/ready").is_some_and(|(s, _)| s == 503)
    });
    collector.start_again().await;
    agent.wait_until("ready after the reconnect", |a| {
        a.get("/ready").is_some_and(|(s, _)| s == 200)
    });
    agent.wait_until("the reconnect is counted", |a| {
        a.scrape()
            .get("logferry_sink_reconnects_total{sink=\"out\"}")
            == Some(&1.0)
    });
    assert_eq!(agent.get("/nothing").unwrap().0, 404);
    agent.stop();
}

#[test]
fn an_api_address_in_use_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api = taken.local_addr().unwrap().to_string();
    let config = write_config(dir.path(), "127.0.0.1:9", &api);
    let output = Command::new(env!("CARGO_BIN_EXE_logferry"))
        .args(["run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[api] cannot listen on"), "{stderr}");
}
