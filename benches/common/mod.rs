//! Shared by the benches and the allocation test: generated log lines in realistic shapes, and the
//! parse + normalise + `kv` encode pipeline they are measured through.
//!
//! Lines are generated from the index (no randomness, no corpus files), in the proportions and shapes
//! seen in real logs: Apache access logs of a public web site (static assets, 304s, bots), OpenSSH and
//! Linux auth syslog, and RFC 5424 senders with and without structured data.
#![allow(
    dead_code,
    reason = "every bench/test binary includes this module and uses a subset of it"
)]

use logferry::config::{Encoding, Format, Framing, SourceSettings, WireFormat};
use logferry::encode::Encoder;
use logferry::event::{Event, EventTime};
use logferry::normalise::{Normaliser, RecordContext};

/// Lines of one format with the name they are reported under.
pub struct Fixture {
    /// Benchmark group name, e.g. `access_apache_combined`.
    pub name: &'static str,
    /// The format the normaliser is configured with.
    pub format: Format,
    pub lines: Vec<String>,
}

impl Fixture {
    /// Total bytes of all lines (without line ends), for MB/s.
    pub fn bytes(&self) -> u64 {
        self.lines.iter().map(|l| l.len() as u64).sum()
    }
}

const CLIENTS: &[&str] = &[
    "83.149.9.216",
    "66.249.73.135",
    "10.20.30.41",
    "2001:db8:85a3::8a2e:370:7334",
    "198.51.100.77",
    "46.105.14.53",
];
const REQUESTS: &[(&str, &str, &str)] = &[
    (
        "GET",
        "/presentations/logstash-monitorama-2013/images/kibana-search.png",
        "1.1",
    ),
    ("GET", "/", "1.1"),
    ("GET", "/blog/tags/puppet?flav=rss20", "1.1"),
    ("GET", "/sites/default/files/logo.png", "2.0"),
    ("POST", "/user/login?destination=node/4411", "1.1"),
    ("HEAD", "/robots.txt", "1.0"),
    ("GET", "/api/v1/search?q=a%20b&page=2", "1.1"),
    ("GET", "/reset.css", "1.1"),
];
const REFERERS: &[&str] = &[
    "-",
    "http://semicomplete.com/presentations/logstash-monitorama-2013/",
    "https://www.google.com/search?q=logstash+kibana",
    "-",
    "https://www.example.dk/",
];
const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
    "UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "curl/8.5.0",
];
/// The clock of line `i` as (day of November 2026, hour, minute, second): from 08:00:00 on the 26th,
/// one second every ten lines, so consecutive lines share their second as in a busy server's log
/// (the e2e generator's access log has about 50 lines a second). Days past the 30th for `i` above
/// about 5.7 million are not real dates; the fixtures are far smaller.
fn clock(i: usize) -> (usize, usize, usize, usize) {
    let second = 8 * 3600 + i / 10;
    (
        26 + second / 86_400,
        second / 3600 % 24,
        second / 60 % 60,
        second % 60,
    )
}

/// Status and bytes: mostly 200, then 304 without a body (`-`), 404, 301, 206.
fn status_and_bytes(i: usize) -> (u16, String) {
    match i % 20 {
        0 | 1 => (304, "-".into()),
        2 => (404, "209".into()),
        3 => (301, "231".into()),
        4 => (206, (1000 + i % 5000).to_string()),
        _ => (200, (120 + (i * 7919) % 250_000).to_string()),
    }
}

/// Apache `combined` lines, as `apache_logs.log`-style public web servers write them (≈ 230 bytes).
pub fn apache_combined(n: usize) -> Fixture {
    let lines = (0..n)
        .map(|i| {
            let (method, target, version) = REQUESTS[i % REQUESTS.len()];
            let (status, bytes) = status_and_bytes(i);
            let user = if i % 50 == 7 { "jdoe" } else { "-" };
            let (day, hour, minute, second) = clock(i);
            format!(
                "{} - {user} [{day:02}/Nov/2026:{hour:02}:{minute:02}:{second:02} +0100] \"{method} {target} HTTP/{version}\" {status} {bytes} \"{}\" \"{}\"",
                CLIENTS[i % CLIENTS.len()],
                REFERERS[i % REFERERS.len()],
                AGENTS[(i / 3) % AGENTS.len()],
            )
        })
        .collect();
    Fixture {
        name: "access_apache_combined",
        format: Format::ApacheAccess,
        lines,
    }
}

/// Nginx `combined` lines with the common `"$http_x_forwarded_for"` field appended.
pub fn nginx_combined(n: usize) -> Fixture {
    let mut fixture = apache_combined(n);
    for (i, line) in fixture.lines.iter_mut().enumerate() {
        line.push_str(if i % 3 == 0 {
            " \"203.0.113.50, 10.0.0.2\""
        } else {
            " \"-\""
        });
    }
    fixture.name = "access_nginx_combined";
    fixture.format = Format::NginxAccess;
    fixture
}

/// RFC 3164 lines from files (no PRI) in the shapes of OpenSSH and Linux auth logs (≈ 110 bytes).
pub fn syslog_rfc3164(n: usize) -> Fixture {
    let lines = (0..n)
        .map(|i| {
            let (day, hour, minute, second) = clock(i);
            let stamp = format!("Nov {day:>2} {hour:02}:{minute:02}:{second:02}");
            let pid = 2000 + (i * 37) % 30_000;
            let ip = format!("{}.{}.{}.{}", 5 + i % 200, i % 256, (i / 7) % 256, 1 + i % 250);
            let port = 1024 + (i * 131) % 60_000;
            match i % 10 {
                0 | 1 => format!("{stamp} LabSZ sshd[{pid}]: Received disconnect from {ip}: 11: Bye Bye [preauth]"),
                2 => format!("{stamp} LabSZ sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user=root"),
                3 => format!("{stamp} LabSZ sshd[{pid}]: Failed password for root from {ip} port {port} ssh2"),
                4 => format!("{stamp} LabSZ sshd[{pid}]: Failed password for invalid user admin{i} from {ip} port {port} ssh2"),
                5 => format!("{stamp} LabSZ sshd[{pid}]: Accepted publickey for deploy from {ip} port {port} ssh2: RSA SHA256:4kx0tuO8LIkz2Xbq3+9Zt0bY"),
                6 => format!("{stamp} combo su(pam_unix)[{pid}]: session opened for user cyrus by (uid=0)"),
                7 => format!("{stamp} app03 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"),
                8 => format!("{stamp} app03 CRON[{pid}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)"),
                _ => format!("{stamp} combo kernel: [{}.{:03}] eth0: link up, 1000Mbps, full-duplex", 10_000 + i, i % 1000),
            }
        })
        .collect();
    Fixture {
        name: "syslog_rfc3164",
        format: Format::Syslog,
        lines,
    }
}

/// RFC 5424 lines as rsyslog and applications send them: half with structured data (≈ 170 bytes).
pub fn syslog_rfc5424(n: usize) -> Fixture {
    let lines = (0..n)
        .map(|i| {
            let (day, hour, minute, second) = clock(i);
            let stamp = format!(
                "2026-11-{day:02}T{hour:02}:{minute:02}:{second:02}.{:06}+01:00",
                (i * 7919) % 1_000_000
            );
            match i % 4 {
                0 => format!("<165>1 {stamp} kvantum-int01 invoice-flow {} ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"{}\"] Faktura {} godkendt af bruger jdoe", 4000 + i % 900, 1000 + i % 50, 80_000 + i),
                1 => format!("<86>1 {stamp} app03.example.dk sshd {} - - Failed password for invalid user u{i} from 198.51.100.{} port {} ssh2", 2000 + i % 900, i % 250, 30_000 + i % 30_000),
                2 => format!("<134>1 {stamp} web01 nginx - access [meta@32473 sequenceId=\"{i}\" sysUpTime=\"{}\"][origin ip=\"10.0.0.{}\"] upstream timed out (110: Connection timed out)", 100_000 + i, i % 250),
                _ => format!("<30>1 {stamp} db02 systemd 1 - - Started Session {} of User postgres.", 100 + i % 9000),
            }
        })
        .collect();
    Fixture {
        name: "syslog_rfc5424",
        format: Format::Syslog,
        lines,
    }
}

/// Parse + normalise + encode (`kv` in an RFC 5424 envelope, LF framed), as the processing stage does.
pub struct Pipeline {
    normaliser: Normaliser,
    encoder: Encoder,
    out: Vec<u8>,
}

impl Pipeline {
    /// A pipeline for `format` with the settings of a typical source (see [`settings`]).
    pub fn new(format: Format) -> Self {
        Pipeline {
            normaliser: Normaliser::new(&settings(format)).expect("bench settings are valid"),
            encoder: Encoder::new(wire()),
            out: Vec::with_capacity(1 << 22),
        }
    }

    /// Normalises and encodes every line as one batch; returns the encoded size.
    pub fn run(&mut self, lines: &[String]) -> usize {
        self.out.clear();
        let mut event = Event::new("bench", "/var/log/x.log");
        for line in lines {
            event.reset();
            self.normaliser
                .normalise(line.as_bytes(), &Self::context(), &mut event);
            self.encoder.write(&event, &mut self.out);
        }
        self.out.len()
    }

    /// Normalises and encodes one line into `event` (already reset) and the output buffer.
    pub fn run_line<'a>(&mut self, line: &'a [u8], event: &mut Event<'a>) {
        self.normaliser.normalise(line, &Self::context(), event);
        self.encoder.write(event, &mut self.out);
    }

    /// Empties the output buffer, keeping its capacity.
    pub fn clear_output(&mut self) {
        self.out.clear();
    }

    fn context() -> RecordContext {
        RecordContext {
            now: now(),
            truncated: false,
        }
    }
}

/// The settings of a typical source: time zone, device name, CPR redaction on.
pub fn settings(format: Format) -> SourceSettings {
    let mut settings = SourceSettings::new(format);
    settings.timezone = Some("Europe/Copenhagen".into());
    settings.device_name = Some("bench".into());
    settings
}

/// What a syslog sink sends: `kv` in an RFC 5424 envelope, LF framed.
pub fn wire() -> WireFormat {
    WireFormat {
        encoding: Encoding::Kv,
        rfc5424: true,
        framing: Framing::Lf,
        include_msg: true,
    }
}

/// A fixed "now" (2026-11-26), so year inference never depends on the day the bench runs.
pub fn now() -> EventTime {
    EventTime {
        unix: 1_795_694_400,
        nanos: 0,
        offset_seconds: None,
    }
}
