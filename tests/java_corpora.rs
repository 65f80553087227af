//! Multi-line Java records through `logferry normalise` against the shared corpora: the ops-agent
//! transformation tests' Java layouts must give as many `JavaLog` events as the reference output has
//! entries, and every stack trace of fluent-plugin-detect-exceptions must be one event. Each test skips
//! (with a note) when its corpus is absent.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn corpora() -> Option<PathBuf> {
    [
        std::env::var_os("LOGFERRY_CORPORA").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora")),
        Some(PathBuf::from("/work/shared/corpora")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_dir())
}

/// The events `logferry normalise --format java` makes of `input`.
fn normalise(input: &[u8]) -> Vec<serde_json::Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logferry"))
        .args(["normalise", "--format", "java", "--timezone", "UTC"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ops_agent_java_layouts_group_like_the_reference() {
    let Some(dir) = corpora().map(|c| c.join("ops-agent-transformation-tests")) else {
        eprintln!("note: corpora absent, skipping");
        return;
    };
    for case in [
        "wildfly_system",
        "tomcat-system",
        "kafka",
        "zookeeper_general",
        "hadoop",
        "cassandra-system",
    ] {
        let (Ok(input), Ok(reference)) = (
            std::fs::read(dir.join(case).join("input.log")),
            std::fs::read_to_string(dir.join(case).join("output_otel.yaml")),
        ) else {
            eprintln!("note: {case} absent, skipping");
            continue;
        };
        let entries = reference
            .lines()
            .filter(|l| l.starts_with("    logName:"))
            .count();
        let events = normalise(&input);
        assert_eq!(events.len(), entries, "{case}");
        for event in &events {
            assert_eq!(event["norm_id"], "JavaLog", "{case}: {event}");
        }
    }
}

#[test]
fn detect_exceptions_traces_are_one_event_each() {
    let Some(path) = corpora()
        .map(|c| c.join("multiline-java/detect-exceptions/exception_cases.jsonl"))
        .filter(|p| p.is_file())
    else {
        eprintln!("note: exception_cases.jsonl absent, skipping");
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let mut traces = 0;
    for line in text.lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        // ARBITRARY_TEXT (4 events there) has no timestamps, so it is one record here too.
        if case["expected"]["events"] != 1 {
            continue;
        }
        let events = normalise(case["input"].as_str().unwrap().as_bytes());
        assert_eq!(events.len(), 1, "{}", case["name"]);
        traces += 1;
    }
    eprintln!("detect-exceptions: {traces} traces, each one event");
}
