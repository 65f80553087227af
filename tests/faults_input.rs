//! Fault suite, bad input (issue 4): random binary, invalid UTF-8, NUL bytes, a single 100 MB line,
//! JSON nested 100,000 deep, a flood of malformed syslog headers, and include paths that are a
//! directory or a FIFO. The real binary must neither crash nor hang, every bad record must be
//! counted in its metrics, and the good lines after the bad ones must arrive.

mod support;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use support::agent::{access_line, append, scrape, Agent, WAIT};
use support::{unused_port, Collector, CollectorOptions};

/// A source block reading `include` as `format`, into sink `out`.
fn source(name: &str, include: &Path, format: &str) -> String {
    format!(
        "[sources.{name}]\ntype = \"file\"\ninclude = [\"{}\"]\nformat = \"{format}\"\nscan_interval = \"200ms\"\n\n",
        include.display()
    )
}

/// Random bytes cut into lines: how many records they make (non-empty once a final CR is dropped).
fn random_lines(bytes: usize) -> (Vec<u8>, usize) {
    let mut rng = fastrand::Rng::with_seed(4);
    let mut data: Vec<u8> = (0..bytes).map(|_| rng.u8(..)).collect();
    data.push(b'\n');
    let records = data
        .split(|b| *b == b'\n')
        .filter(|line| !line.strip_suffix(b"\r").unwrap_or(line).is_empty())
        .count();
    (data, records)
}

fn wait_for_metric(api: &str, series: &str, at_least: f64) -> f64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let value = scrape(api).get(series).copied().unwrap_or(0.0);
        if value >= at_least {
            return value;
        }
        assert!(Instant::now() < deadline, "{series} = {value} < {at_least}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_counted_and_never_crashes_or_stalls_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(CollectorOptions::default()).await;
    let api = format!("127.0.0.1:{}", unused_port());

    // Random binary (invalid UTF-8 and NUL bytes included), then a good line.
    let binary = dir.path().join("binary.log");
    let (mut data, binary_records) = random_lines(256 * 1024);
    data.extend_from_slice(b"NUL\0inside \xff\xfe invalid \xc3( utf-8\n");
    data.extend_from_slice(access_line(1).as_bytes());
    std::fs::write(&binary, &data).unwrap();
    // One 100 MB line, then a good line.
    let huge = dir.path().join("huge.log");
    {
        let mut file = std::fs::File::create(&huge).unwrap();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            file.write_all(&block).unwrap();
        }
        file.write_all(b"\n").unwrap();
        file.write_all(access_line(2).as_bytes()).unwrap();
    }
    // JSON nested 100,000 deep, then a good JSON line.
    let deep = dir.path().join("deep.json");
    let mut nested = "[".repeat(100_000);
    nested.push_str(&"]".repeat(100_000));
    std::fs::write(&deep, format!("{{\"a\":{nested}}}\n{{\"msg\":\"fine\"}}\n")).unwrap();
    // A flood of malformed syslog headers, then a good line.
    let flood = dir.path().join("flood.log");
    let mut text: String = (0..5000)
        .map(|i| format!("<{}>1 not-a-time host app - - - bad {i}\n", 192 + i))
        .collect();
    text.push_str("<13>1 2026-11-26T10:00:00Z host app - - - fine\n");
    std::fs::write(&flood, text).unwrap();
    // A directory and a FIFO among the files a glob matches, and a good file.
    let odd = dir.path().join("odd");
    std::fs::create_dir(&odd).unwrap();
    std::fs::create_dir(odd.join("dir.log")).unwrap();
    let fifo = odd.join("fifo.log");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    append(&odd.join("good.log"), 3, 4);

    let mut config = format!(
        "data_dir = \"{}\"\nshutdown_timeout = \"10s\"\n\n",
        dir.path().join("data").display()
    );
    config.push_str(&source("binary", &binary, "apache_access"));
    config.push_str(&source("huge", &huge, "apache_access"));
    config.push_str(&source("deep", &deep, "json"));
    config.push_str(&source("flood", &flood, "syslog"));
    config.push_str(&source("odd", &odd.join("*.log"), "apache_access"));
    config.push_str(&format!(
        "[sinks.out]\ntype = \"syslog\"\ninputs = [\"binary\", \"huge\", \"deep\", \"flood\", \"odd\"]\naddress = \"{}\"\ntransport = \"tcp\"\n\n[api]\naddress = \"{api}\"\n",
        collector.address()
    ));
    let config_path = dir.path().join("logferry.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut agent = Agent::start(&config_path);

    // binary: its records, the NUL/invalid line and the good line; huge: the cut line and the good
    // one; deep: 2; flood: 5001; odd: 1.
    let expected = binary_records + 2 + 2 + 2 + 5001 + 1;
    let messages = collector.expect_messages(expected, WAIT).await;
    for good in ["/item/1?", "/item/2?", "/item/3?"] {
        assert!(messages.iter().any(|m| m.contains(good)), "{good} missing");
    }
    let truncated = wait_for_metric(
        &api,
        "logferry_source_records_truncated_total{source=\"huge\"}",
        1.0,
    );
    let not_regular = wait_for_metric(
        &api,
        "logferry_source_not_regular_files_total{source=\"odd\"}",
        2.0,
    );
    let metrics = scrape(&api);
    let apache = metrics["logferry_parse_failures_total{format=\"apache_access\"}"];
    let json = metrics["logferry_parse_failures_total{format=\"json\"}"];
    let syslog = metrics["logferry_parse_failures_total{format=\"syslog\"}"];
    eprintln!(
        "FAULT case=\"bad input\" binary_records={binary_records} apache_parse_failures={apache} json_parse_failures={json} syslog_parse_failures={syslog} truncated={truncated} not_regular={not_regular}"
    );
    assert_eq!(
        apache,
        (binary_records + 2) as f64,
        "binary lines and the 100 MB line"
    );
    assert_eq!(json, 1.0, "the deep JSON line");
    assert_eq!(syslog, 5000.0);
    assert_eq!(truncated, 1.0);
    assert_eq!(not_regular, 2.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(collector.count(), expected, "nothing extra");
    assert!(agent.is_running());
    // A followed file replaced by a directory is closed; the directory is counted, not read.
    std::fs::remove_file(&binary).unwrap();
    std::fs::create_dir(&binary).unwrap();
    wait_for_metric(
        &api,
        "logferry_source_not_regular_files_total{source=\"binary\"}",
        1.0,
    );
    assert!(agent.is_running());
    agent.stop();
}
