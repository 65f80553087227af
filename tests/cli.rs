//! The command line as a user meets it: exit codes and messages of `validate`, `normalise`, `--version`.

use std::io::Write;
use std::process::{Command, Stdio};

fn logferry() -> Command {
    Command::new(env!("CARGO_BIN_EXE_logferry"))
}

/// `logferry validate --config PATH`: whether it succeeded, and what it wrote to stderr.
fn validate(path: impl AsRef<std::ffi::OsStr>) -> (bool, String) {
    let out = logferry()
        .args(["validate", "--config"])
        .arg(path)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn validate_accepts_the_shipped_configurations() {
    for config in ["packaging/logferry.toml", "examples/demo.toml"] {
        let (ok, stderr) = validate(config);
        assert!(ok, "{config}: {stderr}");
    }
}

#[test]
fn validate_reports_every_problem_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[sources.web]\ntype = \"file\"\ninclude = [\"/tmp/*.log\"]\nformat = \"apache_access\"\ntimezone = \"Mars/Olympus\"\n\n[sinks.out]\ntype = \"console\"\ninputs = [\"web\", \"nope\"]\n",
    )
    .unwrap();
    let (ok, stderr) = validate(&path);
    assert!(!ok);
    let file = path.display().to_string();
    assert!(
        stderr.contains(&format!("{file}:5:12: unknown timezone \"Mars/Olympus\"")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file}:9:18: sink \"out\": input \"nope\" names no source"
        )),
        "{stderr}"
    );
}

#[test]
fn validate_names_an_unknown_log_format_directive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layout.toml");
    std::fs::write(
        &path,
        "[sources.web]\ntype = \"file\"\ninclude = [\"/tmp/*.log\"]\nformat = \"nginx_access\"\nlog_format = '$remote_addr [$time_local] \"$request\" $status $reqest_time'\n\n[sinks.out]\ntype = \"console\"\ninputs = [\"web\"]\n",
    )
    .unwrap();
    let (ok, stderr) = validate(&path);
    assert!(!ok);
    let file = path.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{file}:5:14: log_format: unknown variable \"$reqest_time\""
        )),
        "{stderr}"
    );
}

#[test]
fn normalise_takes_a_custom_log_format() {
    let mut child = logferry()
        .args([
            "normalise",
            "--format",
            "apache_access",
            "--timezone",
            "UTC",
        ])
        .args(["--log-format", r#"%v %h %u %t "%r" %>s %b %D"#])
        .args(["--device-name", "h", "--encoding", "kv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"www.example.dk 10.0.0.1 bob [26/Nov/2026:10:00:00 +0000] \"GET /a HTTP/1.1\" 200 5 2500\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("log_ts=1795687200 norm_id=ApacheAccess label=\"Web,Access,Successful\" source_address=10.0.0.1 user=bob request_method=GET url=/a http_version=1.1 status_code=200 sent_datasize=5 destination_host=www.example.dk duration=2.5 "), "{text}");
    let out = logferry()
        .args([
            "normalise",
            "--format",
            "apache_access",
            "--log-format",
            "%h %Q",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown directive \"%Q\""));
}

#[test]
fn validate_rejects_unknown_keys_and_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, "data_dir = \"/tmp/x\"\nshutdown_timout = \"5s\"\n").unwrap();
    let (ok, stderr) = validate(&path);
    assert!(!ok);
    assert!(
        stderr.contains(":2:1: unknown field `shutdown_timout`"),
        "{stderr}"
    );
    let (ok, stderr) = validate("/nonexistent.toml");
    assert!(!ok);
    assert!(stderr.contains("cannot read the configuration"), "{stderr}");
}

#[test]
fn normalise_reads_stdin_and_keeps_bad_lines() {
    let mut child = logferry()
        .args([
            "normalise",
            "--format",
            "syslog",
            "--timezone",
            "UTC",
            "--now",
            "2026-11-26T12:00:00Z",
        ])
        .args(["--device-name", "h", "--encoding", "kv"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Nov 26 10:00:00 h1 cron[1]: hello\r\n\nnot syslog at all\nNov 26 10:00:01 h1 cron[2]: no newline")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<_> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("log_ts=1795687200 norm_id=Syslog label=Syslog host=h1 process=cron process_id=1 message=hello "));
    assert!(lines[1].contains("norm_id=Raw label=Unparsed") && lines[1].contains("parse_error="));
    assert!(lines[2].contains("message=\"no newline\""));
}

#[test]
fn bad_arguments_are_clear_errors() {
    let out = logferry()
        .args(["normalise", "--format", "apache"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format \"apache\""));
    let out = logferry()
        .args(["normalise", "--format", "json", "--now", "yesterday"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--now \"yesterday\" is not an RFC 3339 time"));
    let out = logferry().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("logferry 0.1.0"));
}

#[test]
fn normalise_cuts_long_records_and_can_leave_cpr_numbers() {
    let run = |args: &[&str], input: &[u8]| {
        let mut child = logferry()
            .args(["normalise", "--format", "syslog", "--timezone", "UTC"])
            .args([
                "--now",
                "2026-11-26T12:00:00Z",
                "--device-name",
                "h",
                "--encoding",
                "kv",
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let long = format!("Nov 26 10:00:00 h1 app[1]: {}\n", "x".repeat(200));
    let cut = run(&["--max-line-bytes", "64"], long.as_bytes());
    assert!(cut.contains("label=\"Syslog,Truncated\""), "{cut}");
    assert!(
        cut.contains(&format!("message={} ", "x".repeat(64 - 27))),
        "{cut}"
    );
    assert!(!run(&[], long.as_bytes()).contains("Truncated"));
    let cpr = b"Nov 26 10:00:00 h1 app[1]: borger 010203-1234 ringede\n";
    assert!(run(&[], cpr).contains("CPR:REDACTED"));
    let kept = run(&["--redact-cpr", "false"], cpr);
    assert!(
        kept.contains("borger 010203-1234 ringede") && !kept.contains("CPR:"),
        "{kept}"
    );
}

/// `logferry test FILE...`: exit code, stdout, stderr.
fn pipeline_test(files: &[&std::path::Path]) -> (Option<i32>, String, String) {
    let out = logferry().arg("test").args(files).output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn test_passes_on_the_shipped_example_covering_every_format() {
    let example = std::path::Path::new("examples/pipeline-tests.toml");
    let (code, stdout, stderr) = pipeline_test(&[example]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
    let text = std::fs::read_to_string(example).unwrap();
    for format in [
        "apache_access",
        "nginx_access",
        "syslog",
        "json",
        "apache_error",
        "nginx_error",
        "auditd",
        "java",
        "kv",
    ] {
        assert!(
            text.contains(&format!("format = \"{format}\"")),
            "no test of {format}"
        );
    }
}

#[test]
fn test_fails_on_a_wrong_expectation_with_a_readable_diff() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.toml");
    std::fs::write(
        &path,
        r#"[[tests]]
name = "failed ssh login"
format = "syslog"
input = "Nov 26 06:55:46 app03 sshd[24200]: Failed password for root from 198.51.100.4 port 2222 ssh2"
expect_fields = { user = "admin", source_port = "2222" }
expect_query = 'label="User" label="Login" label="Successful" source_address="198.51.*"'

[[tests]]
name = "right"
format = "syslog"
input = "Nov 26 06:55:46 app03 sshd[24200]: Failed password for root from 198.51.100.4 port 2222 ssh2"
expect_query = 'user=root'
"#,
    )
    .unwrap();
    let (code, stdout, _) = pipeline_test(&[&path]);
    assert_eq!(code, Some(1), "{stdout}");
    let file = path.display();
    let expected = format!(
        "FAILED failed ssh login ({file}:2)
    source_port  expected \"2222\" (string), got 2222 (integer): same text, different type
    user         expected \"admin\", got \"root\"
    expect_query does not match: label=\"User\" label=\"Login\" label=\"Successful\" source_address=\"198.51.*\"
      failing clause: label=\"Successful\"
    event: {{\"log_ts\":1795676146,\"norm_id\":\"LinuxSshd\",\"label\":[\"User\",\"Login\",\"Failed\"],"
    );
    assert!(stdout.starts_with(&expected), "{stdout}");
    assert!(stdout.contains("\nok     right\n"), "{stdout}");
    assert!(stdout.ends_with("\n1 passed, 1 failed\n"), "{stdout}");
}

#[test]
fn test_reports_a_bad_test_file_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[tests]]\nname = \"x\"\nformat = \"syslog\"\ninput = \"x\"\nexpect_query = 'user=root OR'\n",
    )
    .unwrap();
    let (code, _, stderr) = pipeline_test(&[&path]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "{}:5:29: test \"x\": expect_query, column 13: expected a term after OR",
            path.display()
        )),
        "{stderr}"
    );
}

#[test]
fn run_logs_json_lines_with_log_format_json() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("logferry.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{0}/data\"\n[sources.web]\ntype = \"file\"\ninclude = [\"{0}/*.log\"]\nformat = \"syslog\"\n[sinks.out]\ntype = \"console\"\ninputs = [\"web\"]\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let mut child = logferry()
        .args(["run", "--config"])
        .arg(&config)
        .env("LOGFERRY_LOG_FORMAT", "json")
        .env("LOGFERRY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut running = None;
    for line in stderr.lines() {
        let line = line.unwrap();
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if value["message"] == "logferry running" {
            running = Some(value);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let running = running.expect("a 'logferry running' line");
    assert_eq!(running["level"], "INFO", "{running}");
    assert_eq!(running["sources"], 1, "{running}");
    assert!(running["timestamp"].is_string(), "{running}");
}
