//! The schema's worked examples through `logferry normalise`: every key, its order and value, and the
//! exact `kv` payload and RFC 5424 line where a case gives them.
//!
//! Two sets: `../shared/schema/golden.jsonl` beside the checkout (skipped, with a note, where a checkout
//! has none) and the project's own `tests/fixtures/golden.jsonl` in the same format. A case's `context`
//! may carry `log_format` (a custom access-log layout), passed as `--log-format`.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::{Map, Value};

fn run_normalise(case: &Value, dir: &Path, extra: &[&str]) -> String {
    let ctx = &case["context"];
    let input = dir.join("input");
    let bytes = match case.get("input_b64") {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap(),
        None => format!("{}\n", case["input"].as_str().unwrap()).into_bytes(),
    };
    std::fs::write(&input, bytes).unwrap();
    let key = dir.join("key");
    std::fs::write(&key, ctx["cpr_key"].as_str().unwrap()).unwrap();
    let layout = ctx.get("log_format").and_then(Value::as_str);
    let out = Command::new(env!("CARGO_BIN_EXE_logferry"))
        .arg("normalise")
        .args(["--format", case["format"].as_str().unwrap()])
        .args(layout.map(|l| ["--log-format", l]).into_iter().flatten())
        .args(["--timezone", ctx["timezone"].as_str().unwrap()])
        .args(["--device-name", ctx["device_name"].as_str().unwrap()])
        .args(["--source-name", ctx["source_name"].as_str().unwrap()])
        .args(["--now", ctx["now"].as_str().unwrap()])
        .arg("--cpr-key-file")
        .arg(&key)
        .args(extra)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        case["id"],
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Compares one case; returns a description of every difference.
fn check(case: &Value) -> Vec<String> {
    let id = case["id"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let out = run_normalise(case, dir.path(), &[]);
    let events: Vec<Map<String, Value>> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    if events.len() != 1 {
        return vec![format!(
            "{id}: {} events instead of 1:\n{out}",
            events.len()
        )];
    }
    let got = &events[0];
    let expected = case["expected"].as_object().unwrap();
    let got_keys: Vec<&String> = got.keys().collect();
    let want_keys: Vec<&String> = expected.keys().collect();
    if got_keys != want_keys {
        problems.push(format!(
            "{id}: keys\n  got  {got_keys:?}\n  want {want_keys:?}"
        ));
    }
    for (key, want) in expected {
        match got.get(key) {
            _ if want == "*" => {}
            Some(value) if value == want => {}
            other => problems.push(format!("{id}: {key} = {other:?}, want {want}")),
        }
    }
    if let Some(kv) = case.get("kv").and_then(Value::as_str) {
        let got = run_normalise(case, dir.path(), &["--encoding", "kv"]);
        if got.trim_end_matches('\n') != kv {
            problems.push(format!("{id}: kv\n  got  {}\n  want {kv}", got.trim_end()));
        }
    }
    if let Some(line) = case.get("syslog").and_then(Value::as_str) {
        let got = run_normalise(case, dir.path(), &["--encoding", "kv", "--rfc5424"]);
        if got.trim_end_matches('\n') != line {
            problems.push(format!(
                "{id}: syslog\n  got  {}\n  want {line}",
                got.trim_end()
            ));
        }
    }
    problems
}

fn check_file(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut problems = Vec::new();
    let mut passed = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let found = check(&case);
        if found.is_empty() {
            passed += 1;
        }
        problems.extend(found);
    }
    eprintln!("{}: {passed} passed", path.display());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(passed > 0, "no case ran");
}

/// `--format auto` gives every single-line case the event its own format gives. Not compared:
/// Java records (multi-line, which auto does not join), custom layouts (auto knows the built-in
/// ones only) and `Raw` events (their `parse_error` names the format asked for).
fn check_auto_agrees(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut compared = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let multi_line = case["input"].as_str().is_some_and(|i| i.contains('\n'));
        if multi_line
            || case["context"].get("log_format").is_some()
            || case["expected"]["norm_id"] == "Raw"
        {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let own = run_normalise(&case, dir.path(), &[]);
        let mut auto = case.clone();
        auto["format"] = Value::from("auto");
        assert_eq!(run_normalise(&auto, dir.path(), &[]), own, "{}", case["id"]);
        compared += 1;
    }
    eprintln!("{}: auto agrees on {compared} cases", path.display());
    assert!(compared > 0, "no case compared");
}

#[test]
fn shared_golden_cases() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/schema/golden.jsonl");
    if !path.exists() {
        eprintln!(
            "skipped: {} not found (a checkout without ../shared)",
            path.display()
        );
        return;
    }
    check_file(&path);
}

#[test]
fn own_golden_cases() {
    check_file(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden.jsonl"));
}

#[test]
fn auto_detects_the_format_of_every_single_line_case() {
    let own = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden.jsonl");
    check_auto_agrees(&own);
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/schema/golden.jsonl");
    if shared.exists() {
        check_auto_agrees(&shared);
    }
}
