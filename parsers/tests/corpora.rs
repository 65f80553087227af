//! Parse rates over the shared real-world corpora; each test skips (with a note) when its file is absent.

use std::path::PathBuf;

use logferry_parsers::access::Request;
use logferry_parsers::log_format::{self, Layout, LogFormat, Syntax};
use logferry_parsers::{access, kv, sshd, su, sudo, syslog, time, web_error};

/// The corpora folder: `$LOGFERRY_CORPORA`, else `shared/corpora` beside the work tree, else `/work/shared/corpora`.
fn corpora() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LOGFERRY_CORPORA").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora")),
        Some(PathBuf::from("/work/shared/corpora")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_dir())
}

/// The lines of a corpus file, or `None` (after a note) when it is absent.
fn lines(rel: &str) -> Option<Vec<Vec<u8>>> {
    let Some(path) = corpora().map(|c| c.join(rel)).filter(|p| p.is_file()) else {
        eprintln!("note: corpus {rel} absent, skipping");
        return None;
    };
    let data = std::fs::read(&path).ok()?;
    Some(
        data.split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

fn rate(ok: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        ok as f64 / total as f64
    }
}

#[test]
fn apache_combined_corpus() {
    let Some(lines) = lines("elastic-examples/apache_logs.log") else {
        return;
    };
    let mut ok = 0;
    for l in &lines {
        match access::parse(l) {
            Ok(r) => {
                assert!(r.time.unix_seconds().is_some());
                ok += 1;
            }
            Err(e) => eprintln!("access: {e}: {}", String::from_utf8_lossy(l)),
        }
    }
    let r = rate(ok, lines.len());
    eprintln!("apache_logs.log: {ok}/{} = {:.4}%", lines.len(), r * 100.0);
    assert!(r >= 0.999, "apache parse rate {r}");
}

#[test]
fn lnav_access_logs() {
    for f in [
        "lnav-test-logs/logfile_access_log.0",
        "lnav-test-logs/logfile_access_log.1",
    ] {
        let Some(lines) = lines(f) else { continue };
        let ok = lines.iter().filter(|l| access::parse(l).is_ok()).count();
        eprintln!("{f}: {ok}/{}", lines.len());
        assert!(rate(ok, lines.len()) >= 0.99);
    }
}

fn custom(text: &str, syntax: Syntax) -> LogFormat {
    match log_format::compile(text, syntax) {
        Ok(Layout::Custom(format)) => format,
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn custom_layout_agrees_with_the_builtin_parser() {
    let Some(lines) = lines("elastic-examples/apache_logs.log") else {
        return;
    };
    let format = custom(
        r#"%h %l %u %t "%m %U%q %H" %>s %b "%{Referer}i" "%{User-agent}i""#,
        Syntax::Apache,
    );
    let mut compared = 0;
    for l in &lines {
        let (Ok(builtin), Ok(custom)) = (access::parse(l), format.parse(l)) else {
            continue;
        };
        let Request::Line {
            method,
            target,
            version,
        } = builtin.request
        else {
            continue;
        };
        assert_eq!(custom.client, Some(builtin.client));
        assert_eq!(custom.user, Some(builtin.user));
        assert_eq!(custom.method, Some(method));
        assert_eq!(custom.target.as_deref(), Some(target));
        assert_eq!(custom.version, Some(version));
        assert_eq!(
            (custom.status, custom.bytes),
            (builtin.status, builtin.bytes)
        );
        assert_eq!(
            (custom.referer, custom.user_agent),
            (builtin.referer, builtin.user_agent)
        );
        compared += 1;
    }
    eprintln!("apache_logs.log: {compared} lines agree");
    assert!(rate(compared, lines.len()) >= 0.99);
}

#[test]
fn custom_layouts_on_real_logs() {
    for (file, syntax, layout) in [
        (
            "lnav-test-logs/logfile_regexp_access_log.0",
            Syntax::Apache,
            r#"%v:%p %a %{JSESSIONID}C %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D"#,
        ),
        (
            "elastic-pipeline-tests/apache-access/test-access-ssl-request.log",
            Syntax::Apache,
            r#"%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x "%r" %b"#,
        ),
        (
            "lnav-test-logs/logfile_shop_access_log.0",
            Syntax::Nginx,
            r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for""#,
        ),
    ] {
        let Some(lines) = lines(file) else { continue };
        let format = custom(layout, syntax);
        let mut ok = 0;
        for l in &lines {
            match format.parse(l) {
                Ok(r) if r.time.is_some() && r.client.is_some() => ok += 1,
                other => eprintln!("{file}: {other:?}: {}", String::from_utf8_lossy(l)),
            }
        }
        eprintln!("{file}: {ok}/{}", lines.len());
        assert_eq!(ok, lines.len(), "{file}");
    }
}

#[test]
fn logfmt_corpus() {
    let Some(lines) = lines("lnav-test-logs/logfile_logfmt.0") else {
        return;
    };
    for l in &lines {
        let pairs: Vec<_> = kv::pairs(l).collect::<Result<_, _>>().unwrap();
        assert!(
            pairs.iter().any(|p| p.key == b"level"),
            "{}",
            String::from_utf8_lossy(l)
        );
    }
}

/// Share of lines that parse as RFC 3164 with a hostname and a program.
fn syslog_rate(rel: &str) -> Option<f64> {
    let lines = lines(rel)?;
    let mut ok = 0;
    for l in &lines {
        match syslog::parse(l) {
            Ok(r)
                if r.protocol == syslog::Protocol::Rfc3164
                    && r.hostname.is_some()
                    && r.app_name.is_some() =>
            {
                ok += 1
            }
            other => eprintln!(
                "syslog: {:?}: {}",
                other.map(|r| (r.hostname.is_some(), r.app_name.is_some())),
                String::from_utf8_lossy(l)
            ),
        }
    }
    let r = rate(ok, lines.len());
    eprintln!("{rel}: {ok}/{} = {:.4}%", lines.len(), r * 100.0);
    Some(r)
}

#[test]
fn openssh_syslog_corpus() {
    if let Some(r) = syslog_rate("loghub/OpenSSH/OpenSSH_2k.log") {
        assert!(r >= 0.99, "rate {r}");
    }
}

#[test]
fn auth_log_syslog_corpus() {
    if let Some(r) = syslog_rate("elastic-examples/auth.log") {
        assert!(r >= 0.99, "rate {r}");
    }
}

#[test]
fn linux_syslog_corpus() {
    if let Some(r) = syslog_rate("loghub/Linux/Linux_2k.log") {
        assert!(r >= 0.95, "rate {r}");
    }
}

/// Every sshd line of a known event shape is recognised.
fn sshd_events(rel: &str) {
    let Some(lines) = lines(rel) else { return };
    let mut sshd_lines = 0;
    let mut events = 0;
    for l in &lines {
        let Ok(r) = syslog::parse(l) else { continue };
        if r.app_name != Some(b"sshd") {
            continue;
        }
        sshd_lines += 1;
        let ev = sshd::parse(r.message);
        if ev.is_some() {
            events += 1;
        }
        let m = r.message;
        let must = [
            &b"Accepted "[..],
            b"Failed password",
            b"Failed none",
            b"Invalid user",
            b"Connection closed by",
            b"Received disconnect",
            b"Disconnected from",
            b"pam_unix(sshd:session)",
            b"pam_unix(sshd:auth): authentication failure",
            b"authentication failure;",
            b"session opened",
        ];
        if must.iter().any(|p| m.starts_with(p)) {
            assert!(
                ev.is_some(),
                "unrecognised sshd line: {}",
                String::from_utf8_lossy(l)
            );
        }
    }
    eprintln!("{rel}: {events}/{sshd_lines} sshd messages recognised as events");
}

#[test]
fn sshd_event_corpora() {
    sshd_events("loghub/OpenSSH/OpenSSH_2k.log");
    sshd_events("elastic-examples/auth.log");
    sshd_events("loghub/Linux/Linux_2k.log");
}

#[test]
fn sudo_su_corpus() {
    let Some(lines) = lines("elastic-examples/auth.log") else {
        return;
    };
    let (mut sudo_cmd, mut sudo_ok, mut su_lines, mut su_ok) = (0, 0, 0, 0);
    for l in &lines {
        let Ok(r) = syslog::parse(l) else { continue };
        match r.app_name {
            Some(b"sudo")
                if r.message
                    .windows(6)
                    .any(|w| w == b"; TTY=" || w == b": TTY=") =>
            {
                sudo_cmd += 1;
                if sudo::parse(r.message).is_some() {
                    sudo_ok += 1;
                }
            }
            Some(b"su") => {
                su_lines += 1;
                if su::parse(r.message).is_some() {
                    su_ok += 1;
                }
            }
            _ => {}
        }
    }
    eprintln!(
        "auth.log: sudo command lines {sudo_ok}/{sudo_cmd}, su lines recognised {su_ok}/{su_lines}"
    );
    assert_eq!(sudo_ok, sudo_cmd);
}

/// The fields of one CSV row (RFC 4180 quoting, no line breaks inside fields).
fn csv_row(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Loghub's Apache error log against its ground truth: time, level and content agree (the ground
/// truth keeps `[client A] ` in the content, which we move to the client address).
#[test]
fn apache_error_corpus_agrees_with_ground_truth() {
    let (Some(lines), Some(truth)) = (
        lines("loghub/Apache/Apache_2k.log"),
        lines("loghub/Apache/Apache_2k.log_structured.csv"),
    ) else {
        return;
    };
    let mut agree = 0;
    for (line, row) in lines.iter().zip(truth.iter().skip(1)) {
        let row = csv_row(&String::from_utf8_lossy(row));
        let (Ok(e), [_, time, level, content, ..]) = (web_error::parse_apache(line), &row[..])
        else {
            continue;
        };
        let message = String::from_utf8_lossy(e.message);
        let with_client = match e.client {
            Some(c) => format!("[client {}] {message}", String::from_utf8_lossy(c)),
            None => message.to_string(),
        };
        if time::parse_ctime(time.as_bytes()).map(|t| t.0) == Ok(e.time)
            && level.as_bytes() == e.level
            && *content == with_client
        {
            agree += 1;
        }
    }
    let r = rate(agree, lines.len());
    eprintln!(
        "Apache_2k.log: {agree}/{} agree with the ground truth",
        lines.len()
    );
    assert!(r >= 0.995, "agreement {r}");
}

#[test]
fn web_error_sample_corpora() {
    for (f, nginx) in [
        (
            "elastic-pipeline-tests/apache-error/test-error-basic.log",
            false,
        ),
        (
            "elastic-pipeline-tests/apache-error/test-error-darwin.log",
            false,
        ),
        (
            "elastic-pipeline-tests/apache-error/test-error-trace.log",
            false,
        ),
        (
            "elastic-pipeline-tests/apache-error/test-error-ubuntu.log",
            false,
        ),
        (
            "ops-agent-transformation-tests/apache-error/input.log",
            false,
        ),
        ("ops-agent-transformation-tests/nginx-error/input.log", true),
    ] {
        let Some(lines) = lines(f) else { continue };
        for l in &lines {
            let parsed = if nginx {
                web_error::parse_nginx(l).err()
            } else {
                web_error::parse_apache(l).err()
            };
            assert_eq!(parsed, None, "{f}: {}", String::from_utf8_lossy(l));
        }
    }
}
