//! The real `logferry` binary as a child process, and numbered Apache access lines (`/item/N`) to
//! count at a collector what arrived how often.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for anything before failing.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn access_line(n: usize) -> String {
    format!(
        "192.0.2.{} - - [26/Nov/2026:10:00:00 +0100] \"GET /item/{n}?q=a%20b HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0 (e2e)\"\n",
        n % 250,
        100 + n
    )
}

pub fn append(path: &Path, from: usize, to: usize) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let text: String = (from..to).map(access_line).collect();
    file.write_all(text.as_bytes()).unwrap();
}

/// The number in `/item/N` of a received message.
pub fn item(message: &str) -> usize {
    let start = message
        .find("/item/")
        .unwrap_or_else(|| panic!("no item in {message}"))
        + 6;
    let digits: String = message[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// How often each item arrived.
pub fn tally(messages: &[String]) -> BTreeMap<usize, usize> {
    let mut seen = BTreeMap::new();
    for m in messages {
        *seen.entry(item(m)).or_insert(0) += 1;
    }
    seen
}

/// What arrived of items `0..n`: how many never arrived, and how many extra copies arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub lost: usize,
    pub duplicated: usize,
}

/// Counts `messages` against items `0..n`; prints a `FAULT` line for the results table.
pub fn outcome(case: &str, messages: &[String], n: usize) -> Outcome {
    let seen = tally(messages);
    let lost = (0..n).filter(|i| !seen.contains_key(i)).count();
    let duplicated = seen.values().map(|c| c - 1).sum();
    eprintln!("FAULT case={case:?} lines={n} lost={lost} duplicated={duplicated}");
    Outcome { lost, duplicated }
}

/// The samples of the agent's `/metrics` at `address` (`name{labels}` → value); empty while it
/// does not answer.
pub fn scrape(address: &str) -> BTreeMap<String, f64> {
    use std::io::Read;
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return BTreeMap::new();
    };
    let _ = stream.set_read_timeout(Some(WAIT));
    let mut response = String::new();
    if write!(stream, "GET /metrics HTTP/1.0\r\nHost: test\r\n\r\n").is_err()
        || stream.read_to_string(&mut response).is_err()
    {
        return BTreeMap::new();
    }
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

pub fn assert_exactly_once(messages: &[String], n: usize) {
    let seen = tally(messages);
    let missing: Vec<_> = (0..n).filter(|i| !seen.contains_key(i)).collect();
    let dups: Vec<_> = seen
        .iter()
        .filter(|(_, c)| **c > 1)
        .map(|(i, _)| *i)
        .collect();
    assert!(
        missing.is_empty(),
        "missing {} items, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        dups.is_empty(),
        "duplicated {} items, first {:?}",
        dups.len(),
        &dups[..dups.len().min(10)]
    );
    assert_eq!(messages.len(), n);
}

/// Writes `logferry.toml` into `dir`: `data_dir` in `dir/data`, source `web` (apache access lines
/// from `include`, scanned every 200 ms, plus the `source` lines), syslog TCP sink `out` to
/// `address` (quick reconnects, plus the `sink` lines), and `[api]` on `api` if given.
pub fn write_agent_config(
    dir: &Path,
    include: &str,
    source: &str,
    address: &str,
    sink: &str,
    api: Option<&str>,
) -> PathBuf {
    let mut text = format!(
        "data_dir = \"{data}\"\nshutdown_timeout = \"10s\"\n\n[sources.web]\ntype = \"file\"\ninclude = [\"{include}\"]\nformat = \"apache_access\"\ndevice_name = \"faults\"\nscan_interval = \"200ms\"\n{source}\n\n[sinks.out]\ntype = \"syslog\"\ninputs = [\"web\"]\naddress = \"{address}\"\ntransport = \"tcp\"\nreconnect_min = \"50ms\"\nreconnect_max = \"300ms\"\n{sink}\n",
        data = dir.join("data").display()
    );
    if let Some(api) = api {
        text.push_str(&format!("\n[api]\naddress = \"{api}\"\n"));
    }
    let path = dir.join("logferry.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub struct Agent {
    child: Child,
    config: PathBuf,
}

impl Agent {
    pub fn start(config: &Path) -> Agent {
        Agent::start_with(config, &[])
    }

    /// `logferry run --config CONFIG ARGS...`.
    pub fn start_with(config: &Path, args: &[&str]) -> Agent {
        Agent::start_under(&[], config, args)
    }

    /// `WRAPPER... logferry run --config CONFIG ARGS...` (e.g. `setpriv` dropping capabilities).
    pub fn start_under(wrapper: &[&str], config: &Path, args: &[&str]) -> Agent {
        Agent::spawn(wrapper, config, args, Stdio::inherit())
    }

    /// Like [`Agent::start_under`], with the agent's log written to `log`.
    pub fn start_logging(wrapper: &[&str], config: &Path, log: &Path) -> Agent {
        let file = std::fs::File::create(log).unwrap();
        Agent::spawn(wrapper, config, &[], Stdio::from(file))
    }

    fn spawn(wrapper: &[&str], config: &Path, args: &[&str], stderr: Stdio) -> Agent {
        let binary = env!("CARGO_BIN_EXE_logferry");
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let child = command
            .args(["run", "--config"])
            .arg(config)
            .args(args)
            .env("LOGFERRY_LOG", "info")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        Agent {
            child,
            config: config.to_path_buf(),
        }
    }

    /// Sends `signal` (`HUP`, `TERM`, ...) to the agent.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Whether the agent is still running.
    pub fn is_running(&mut self) -> bool {
        self.exit_status().is_none()
    }

    /// How the agent ended, once it has.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        self.signal("TERM");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "agent exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "agent did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`: no chance to drain or write checkpoints.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn restart(self) -> Agent {
        let config = self.config.clone();
        self.stop();
        Agent::start(&config)
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The peak of resident memory since the agent started, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// A `KEY: N kB` line of `/proc/PID/status`.
    fn status_kib(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
