//! The runner on small test files: passing, each kind of failure and its diff text, exit outcomes.

use super::*;

/// Runs `text` as a test file; the outcome and what was printed.
fn run_text(text: &str) -> (Outcome, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, text).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = run(&[&path], &mut out, &mut err);
    (
        outcome,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

const SSH: &str = r#"
[[tests]]
name = "failed ssh login"
format = "syslog"
input = "Nov 26 06:55:46 app03 sshd[24200]: Failed password for root from 198.51.100.4 port 2222 ssh2"
"#;

fn ssh_with(expectations: &str) -> (Outcome, String, String) {
    run_text(&format!("{SSH}{expectations}\n"))
}

#[test]
fn passing_expectations() {
    let (outcome, out, err) = ssh_with(
        r#"expect_fields = { user = "root", source_port = 2222, source_address = "198.51.100.4", label = ["Failed", "Login", "User"], log_ts = 1795676146 }
expect_query = 'label="User" label="Login" label="Failed" source_address="198.51.*" source_port>1024'
expect_query_not = 'label="Successful" OR user=admin'"#,
    );
    assert_eq!(outcome, Outcome::Passed, "{out}{err}");
    assert_eq!(out, "ok     failed ssh login\n\n1 passed, 0 failed\n");
}

#[test]
fn a_type_mismatch_is_a_failure_and_says_so() {
    let (outcome, out, _) = ssh_with(
        r#"expect_fields = { source_port = "2222", user = "admin", pid = 1, nope = "x" }"#,
    );
    assert_eq!(outcome, Outcome::Failed);
    assert!(out.contains("FAILED failed ssh login ("), "{out}");
    assert!(
        out.contains(r#"    source_port  expected "2222" (string), got 2222 (integer): same text, different type"#),
        "{out}"
    );
    assert!(
        out.contains(r#"    user         expected "admin", got "root""#),
        "{out}"
    );
    assert!(
        out.contains(r#"    nope         expected "x", but the event has no such field"#),
        "{out}"
    );
    assert!(out.contains("    event: {\"log_ts\":"), "{out}");
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");
}

#[test]
fn a_failing_query_names_its_clause_and_prints_the_event() {
    let (outcome, out, _) =
        ssh_with(r#"expect_query = 'label="User" label="Successful" source_address="10.*"'"#);
    assert_eq!(outcome, Outcome::Failed);
    assert!(out.contains(r#"    expect_query does not match: label="User" label="Successful" source_address="10.*""#), "{out}");
    assert!(
        out.contains(r#"      failing clause: label="Successful""#),
        "{out}"
    );
    assert!(
        out.contains(r#"      failing clause: source_address="10.*""#),
        "{out}"
    );
    assert!(out.contains(r#""user":"root""#), "{out}");
    let (outcome, out, _) = ssh_with(r#"expect_query_not = 'user=root'"#);
    assert_eq!(outcome, Outcome::Failed);
    assert!(
        out.contains("expect_query_not matches, and must not: user=root"),
        "{out}"
    );
}

#[test]
fn event_count_and_numbering() {
    let text = r#"
[[tests]]
name = "two lines"
format = "kv"
input = """
user=alice action=login
user=bob action=login
"""
expect_events = 2
expect_query = 'user=alice'
"#;
    let (outcome, out, _) = run_text(text);
    assert_eq!(outcome, Outcome::Failed);
    assert!(
        out.contains("    event 2:\n    expect_query does not match"),
        "{out}"
    );
    assert!(!out.contains("event 1:"), "{out}");
    let (_, out, _) = run_text(&text.replace("expect_events = 2", "expect_events = 3"));
    assert!(
        out.contains("expect_events: expected 3 event(s), the input gave 2"),
        "{out}"
    );
}

#[test]
fn a_bad_file_is_reported_with_its_position() {
    let (outcome, out, err) = ssh_with("expect_query = 'user=(root'");
    assert_eq!(outcome, Outcome::BadFile);
    assert!(err.contains("t.toml:6:22: test \"failed ssh login\": expect_query, column 6: expected a value after '='"), "{err}");
    assert!(!out.contains("ok"), "{out}");
}
