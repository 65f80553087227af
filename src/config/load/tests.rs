//! Tests of configuration loading: the documented example, located problems, each kind's checks.

use super::*;
use crate::config::*;

const GOOD: &str = r#"
data_dir = "/tmp/lf"

[sources.web]
type = "file"
include = ["/var/log/apache2/*access*.log"]
exclude = ["*.gz"]
format = "apache_access"
timezone = "Europe/Copenhagen"
read_from = "end"
device_name = "web01"
max_line_bytes = "64KiB"

[sinks.logpoint]
type = "syslog"
inputs = ["web"]
address = "siem.example.dk:6514"
transport = "tls"
framing = "octet-counting"
encoding = "kv"
[sinks.logpoint.tls]
server_name = "siem.example.dk"
"#;

fn file_source<'c>(c: &'c Config, name: &str) -> &'c FileSourceConfig {
    match &c.sources[name] {
        SourceConfig::File(file) => file,
        _ => panic!("source {name:?} is not a file source"),
    }
}

#[test]
fn reads_the_documented_example() {
    let c = parse(GOOD, "good.toml").unwrap();
    let web = file_source(&c, "web");
    assert_eq!(web.format, Format::ApacheAccess);
    assert_eq!(web.read_from, ReadFrom::End);
    assert_eq!(web.max_line_bytes, 64 * 1024);
    assert_eq!(web.device_name.as_deref(), Some("web01"));
    assert!(web.redact_cpr);
    let SinkKind::Syslog(s) = &c.sinks["logpoint"].kind else {
        panic!("not syslog")
    };
    assert_eq!(s.framing, Framing::OctetCounting);
    assert_eq!(s.host(), "siem.example.dk");
    assert_eq!(c.sinks["logpoint"].inputs, vec!["web".to_string()]);
}

#[test]
fn unknown_key_is_located() {
    let text = GOOD.replace("read_from = \"end\"", "read_form = \"end\"");
    let err = parse(&text, "c.toml").unwrap_err();
    let p = &err.0[0];
    assert_eq!((p.line, p.column), (10, 1), "{p}");
    assert!(p.message.contains("read_form"), "{p}");
}

#[test]
fn unknown_input_and_timezone_are_located() {
    let text = GOOD
        .replace("inputs = [\"web\"]", "inputs = [\"wbe\"]")
        .replace("Europe/Copenhagen", "Europe/Kobenhavn");
    let err = parse(&text, "c.toml").unwrap_err();
    let lines: Vec<_> = err.0.iter().map(|p| (p.line, p.message.clone())).collect();
    assert!(
        lines.iter().any(|(l, m)| *l == 16 && m.contains("\"wbe\"")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|(l, m)| *l == 9 && m.contains("Kobenhavn")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(_, m)| m.contains("not an input")),
        "{lines:?}"
    );
}

#[test]
fn unknown_type_and_bad_enum_are_errors() {
    let err = parse(&GOOD.replace("type = \"file\"", "type = \"fiel\""), "c").unwrap_err();
    assert!(err.0[0].message.contains("fiel"), "{err}");
    let err = parse(&GOOD.replace("\"apache_access\"", "\"apache\""), "c").unwrap_err();
    assert_eq!(err.0[0].line, 8, "{err}");
}

#[test]
fn multiline_settings() {
    let text = GOOD.replace(
        "format = \"apache_access\"",
        "format = \"java\"\nmultiline_start = '^\\d{4}-'\nmultiline_timeout = \"250ms\"",
    );
    let c = parse(&text, "c").unwrap();
    let web = file_source(&c, "web");
    assert_eq!(web.format, Format::Java);
    assert!(web
        .multiline_start
        .as_ref()
        .unwrap()
        .is_match(b"2026-11-26 x"));
    assert_eq!(web.multiline_timeout, Duration::from_millis(250));
    let c = parse(GOOD, "c").unwrap();
    assert_eq!(
        file_source(&c, "web").multiline_timeout,
        Duration::from_secs(1)
    );
    let bad = GOOD.replace("read_from", "multiline_start = \"(\"\nread_from");
    let err = parse(&bad, "c").unwrap_err();
    assert_eq!(err.0[0].line, 10, "{err}");
    assert!(err.0[0].message.contains("invalid regex"), "{err}");
    let zero = GOOD.replace("read_from", "multiline_timeout = \"0s\"\nread_from");
    let err = parse(&zero, "c").unwrap_err();
    assert!(err.0[0].message.contains("multiline_timeout"), "{err}");
}

#[test]
fn log_format_errors_name_the_directive_at_its_value() {
    let with = |format: &str, layout: &str| {
        GOOD.replace(
            "format = \"apache_access\"",
            &format!("format = \"{format}\"\nlog_format = '{layout}'"),
        )
    };
    let err = parse(&with("apache_access", r#"%h %l %u %t "%r" %>s %b %Z"#), "c").unwrap_err();
    let p = &err.0[0];
    assert_eq!((p.line, p.column), (9, 14), "{p}");
    assert_eq!(p.message, "log_format: unknown directive \"%Z\"");
    let err = parse(
        &with("nginx_access", "$remote_addr $upstream_addr $bogus"),
        "c",
    )
    .unwrap_err();
    assert_eq!(err.0[0].message, "log_format: unknown variable \"$bogus\"");
    let err = parse(&with("syslog", "combined"), "c").unwrap_err();
    assert!(
        err.0[0]
            .message
            .contains("only to apache_access and nginx_access"),
        "{err}"
    );
    let c = parse(&with("apache_access", r#"%h %u %t "%r" %>s %b %D"#), "c").unwrap();
    assert!(c.sources["web"].settings().log_format.is_some());
    parse(&with("nginx_access", "combined"), "c").unwrap();
}

#[test]
fn api_section() {
    assert!(parse(GOOD, "c").unwrap().api.is_none());
    let text = format!("{GOOD}\n[api]\naddress = \"127.0.0.1:9598\"\n");
    let api = parse(&text, "c").unwrap().api.unwrap();
    assert_eq!(api.address.to_string(), "127.0.0.1:9598");
    let bad = format!("{GOOD}\n[api]\naddress = \"localhost\"\n");
    let err = parse(&bad, "c").unwrap_err();
    assert_eq!((err.0[0].line, err.0[0].column), (25, 11), "{err}");
    assert!(err.0[0].message.contains("socket address"), "{err}");
    let unknown = format!("{GOOD}\n[api]\naddress = \"[::1]:9598\"\nport = 1\n");
    let err = parse(&unknown, "c").unwrap_err();
    assert!(err.0[0].message.contains("port"), "{err}");
}

#[test]
fn sizes() {
    assert_eq!(parse_size("1MiB"), Some(1 << 20));
    assert_eq!(parse_size("10 KB"), Some(10_000));
    assert_eq!(parse_size("12"), Some(12));
    assert_eq!(parse_size("1 parsec"), None);
}

#[test]
fn acknowledgement_window_and_keepalive() {
    let sink = |keys: &str| {
        format!(
            "[sources.a]\ntype = \"file\"\ninclude = [\"/x/*.log\"]\nformat = \"syslog\"\n\
             [sinks.out]\ntype = \"syslog\"\ninputs = [\"a\"]\naddress = \"h:1\"\n{keys}"
        )
    };
    let config = parse(&sink("max_unacked_bytes = \"64KiB\"\n"), "t").unwrap();
    match &config.sinks["out"].kind {
        SinkKind::Syslog(s) => {
            assert_eq!(s.max_unacked_bytes, 64 << 10);
            assert_eq!(s.keepalive_time, Duration::from_secs(60));
            assert_eq!(s.keepalive_probes, 6);
        }
        _ => panic!("not a syslog sink"),
    }
    for bad in [
        "max_unacked_bytes = 0\n",
        "keepalive_time = \"500ms\"\n",
        "keepalive_interval = \"10h\"\n",
        "keepalive_probes = 0\n",
    ] {
        let err = parse(&sink(bad), "t").expect_err(bad).to_string();
        assert!(err.contains("sink \"out\""), "{bad}: {err}");
    }
}

#[test]
fn embedded_default_is_valid() {
    parse(EMBEDDED_DEFAULT, "embedded").unwrap();
}
