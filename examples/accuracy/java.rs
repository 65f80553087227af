//! Java grouping: every stack trace one event (`multiline-java`), and the ops-agent Java logs' grouping and levels.

use std::path::Path;

use serde_json::{Map, Value};

use crate::run::{normalise_file, normalise_text, settings, text};
use crate::tally::{rate, Tally};

/// The ops-agent transformation tests whose input is a Java application log.
const OPS_AGENT: &[&str] = &[
    "wildfly_system",
    "tomcat-system",
    "kafka",
    "zookeeper_general",
    "hadoop",
    "cassandra-system",
];

/// Prints both reports; true when every Java trace came out as exactly one event.
pub fn report(corpora: &Path, show: usize) -> bool {
    let met = exception_cases(corpora, show);
    ops_agent(corpora, show);
    met
}

fn exception_cases(corpora: &Path, show: usize) -> bool {
    println!(
        "## multiline-java: one event per trace (`format = \"java\"`; bar: every Java trace)\n"
    );
    let path = corpora.join("multiline-java/detect-exceptions/exception_cases.jsonl");
    let Ok(data) = std::fs::read_to_string(&path) else {
        println!("skipped: {} absent\n", path.display());
        return true;
    };
    let mut java = Tally::default();
    let mut others = Tally::default();
    for case in data
        .lines()
        .filter_map(|l| serde_json::from_str::<Map<String, Value>>(l).ok())
    {
        let (Some(input), Some(want)) =
            (case["input"].as_str(), case["expected"]["events"].as_u64())
        else {
            continue;
        };
        let language = case["language_hint"].as_str().unwrap_or("?");
        let tally = if language == "java" {
            &mut java
        } else {
            &mut others
        };
        tally.records += 1;
        let got = normalise_text(
            &settings("java", "UTC"),
            "2026-11-26T12:00:00Z",
            input.as_bytes(),
        )
        .len();
        let class = (got as u64 != want).then(|| format!("{language}: {got} events for {want}"));
        let name = case["name"].as_str().unwrap_or("?").to_string();
        tally.check_class("events", class, || name);
    }
    java.print("Java traces", show);
    others.print(
        "Traces of other languages read as `java` (informative: the start rule is Java's)",
        show,
    );
    java.worst_rate() >= 1.0
}

fn ops_agent(corpora: &Path, show: usize) {
    println!(
        "## ops-agent-transformation-tests: Java logs, grouping and level (`format = \"java\"`)\n"
    );
    println!("| log | their events | our events | levels agree |");
    println!("|---|---:|---:|---:|");
    let mut details = Vec::new();
    for name in OPS_AGENT {
        let dir = corpora.join("ops-agent-transformation-tests").join(name);
        let (input, expected) = (dir.join("input.log"), dir.join("output_otel.yaml"));
        let Ok(yaml) = std::fs::read_to_string(&expected) else {
            println!("| {name} | absent | | |");
            continue;
        };
        let levels = expected_levels(&yaml);
        let events = normalise_file(&settings("java", "UTC"), "2026-11-26T12:00:00Z", &input);
        let ours: Vec<String> = events
            .iter()
            .map(|e| {
                text(e, "log_level")
                    .unwrap_or_default()
                    .to_ascii_uppercase()
            })
            .collect();
        let agree = levels.iter().zip(&ours).filter(|(a, b)| a == b).count();
        println!(
            "| {name} | {} | {} | {agree}/{} ({:.0}%) |",
            levels.len(),
            ours.len(),
            levels.len(),
            rate(agree, levels.len()) * 100.0
        );
        if levels != ours {
            details.push(format!("- {name}: theirs {levels:?}, ours {ours:?}"));
        }
    }
    println!();
    for d in details.iter().take(show.max(6)) {
        println!("{d}");
    }
    println!();
}

/// The level of each entry of an ops-agent `output_otel.yaml` (the Fluent Bit output lacks the
/// last record, which Fluent Bit never flushes) (`jsonPayload.level`, else
/// `jsonPayload.severity`), in order, upper-cased.
fn expected_levels(yaml: &str) -> Vec<String> {
    let mut levels = Vec::new();
    let mut current: Option<String> = None;
    for line in yaml.lines() {
        if line.starts_with("  - jsonPayload:") {
            if let Some(level) = current.take() {
                levels.push(level);
            }
            current = Some(String::new());
        } else if let Some(rest) = line
            .strip_prefix("      level: ")
            .or_else(|| line.strip_prefix("      severity: "))
        {
            if let Some(level) = current.as_mut().filter(|l| l.is_empty()) {
                *level = rest.trim_matches('"').to_ascii_uppercase();
            }
        }
    }
    levels.extend(current);
    levels
}
