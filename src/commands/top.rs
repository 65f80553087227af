//! `logferry top`: a live view of the running agent for the operator at the server's console.
//!
//! Every interval it asks the control socket for the metrics (the text `/metrics` serves), and shows
//! per source and per sink what changed since the previous sample: events/s, bytes/s, read lag,
//! parse failures, buffer fill, connection state, plus drops and end-to-end latency. On a terminal
//! the screen is redrawn in place; `--once` prints one view (over one interval) and exits.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::tap::request_lines;

/// One scrape: every sample by metric name, then by its label set (as written, e.g. `source="web"`).
#[derive(Debug, Default)]
struct Sample {
    values: BTreeMap<String, BTreeMap<String, f64>>,
    at: Option<Instant>,
}

impl Sample {
    fn parse(text: &str, at: Instant) -> Sample {
        let mut values: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            values
                .entry(name.to_string())
                .or_default()
                .insert(labels.to_string(), value);
        }
        Sample {
            values,
            at: Some(at),
        }
    }

    /// The value of `name` for the series whose labels include `label="value"`, summed over them.
    fn get(&self, name: &str, label: &str, value: &str) -> f64 {
        let wanted = format!("{label}=\"{}\"", escape(value));
        self.values.get(name).map_or(0.0, |series| {
            series
                .iter()
                .filter(|(labels, _)| labels.split(',').any(|l| l == wanted))
                .map(|(_, v)| *v)
                .sum()
        })
    }

    /// The values of `label` that `name` has series for, in order.
    fn names(&self, name: &str, label: &str) -> Vec<String> {
        let prefix = format!("{label}=\"");
        let mut names: Vec<String> = self
            .values
            .get(name)
            .into_iter()
            .flat_map(|series| series.keys())
            .filter_map(|labels| {
                labels
                    .split(',')
                    .find_map(|l| l.strip_prefix(&prefix)?.strip_suffix('"'))
            })
            .map(str::to_string)
            .collect();
        names.dedup();
        names
    }

    /// Per-second change of a counter between `before` and `self`.
    fn rate(&self, before: &Sample, name: &str, label: &str, value: &str) -> f64 {
        let seconds = match (self.at, before.at) {
            (Some(now), Some(then)) => now.duration_since(then).as_secs_f64(),
            _ => return 0.0,
        };
        if seconds <= 0.0 {
            return 0.0;
        }
        let delta = self.get(name, label, value) - before.get(name, label, value);
        delta.max(0.0) / seconds
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Asks the agent at `socket` for its metrics text.
fn scrape(socket: &Path) -> anyhow::Result<Sample> {
    let mut reader = request_lines(socket, r#"{"command":"metrics"}"#)?;
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .context("reading the metrics")?;
    if let Some(error) = text.strip_prefix("{\"error\"") {
        anyhow::bail!("the agent refused: {{\"error\"{}", error.trim_end());
    }
    Ok(Sample::parse(&text, Instant::now()))
}

/// Runs the view: redraws every `interval` until the agent goes away; with `once`, prints one view
/// over one interval and returns.
pub fn top(
    socket: &Path,
    interval: Duration,
    once: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut before = scrape(socket)?;
    let redraw = !once && std::io::IsTerminal::is_terminal(&std::io::stdout());
    loop {
        std::thread::sleep(interval);
        let now = scrape(socket)?;
        let view = render(&before, &now);
        if redraw {
            write!(out, "\x1b[H\x1b[2J")?;
        }
        write!(out, "{view}")?;
        out.flush()?;
        if once {
            return Ok(());
        }
        before = now;
    }
}

fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The view of what changed from `before` to `now`.
fn render(before: &Sample, now: &Sample) -> String {
    let mut text = String::new();
    let seconds = match (now.at, before.at) {
        (Some(a), Some(b)) => a.duration_since(b).as_secs_f64(),
        _ => 0.0,
    };
    text.push_str(&format!(
        "logferry top (rates over the last {seconds:.1} s)\n\n"
    ));
    text.push_str(&format!(
        "{:<20} {:>10} {:>12} {:>6} {:>12}\n",
        "SOURCE", "events/s", "bytes/s", "files", "read lag"
    ));
    for source in now.names("logferry_source_events_total", "source") {
        text.push_str(&format!(
            "{:<20} {:>10.0} {:>12} {:>6} {:>12}\n",
            source,
            now.rate(before, "logferry_source_events_total", "source", &source),
            format!(
                "{}/s",
                human_bytes(now.rate(before, "logferry_source_bytes_total", "source", &source))
            ),
            now.get("logferry_source_files", "source", &source),
            human_bytes(now.get("logferry_file_read_lag_bytes", "source", &source)),
        ));
    }
    for format in now.names("logferry_parse_failures_total", "format") {
        let rate = now.rate(before, "logferry_parse_failures_total", "format", &format);
        if rate > 0.0 {
            text.push_str(&format!(
                "  {format}: {rate:.1} records/s did not parse (sent as Raw)\n"
            ));
        }
    }
    text.push_str(&format!(
        "\n{:<20} {:>10} {:>12} {:>14} {:>10} {:>10}\n",
        "SINK", "events/s", "bytes/s", "buffer", "connected", "reconnects"
    ));
    for sink in now.names("logferry_sink_events_total", "sink") {
        let buffered = now.get("logferry_sink_buffer_batches", "sink", &sink);
        let capacity = now.get("logferry_sink_buffer_capacity_batches", "sink", &sink);
        text.push_str(&format!(
            "{:<20} {:>10.0} {:>12} {:>14} {:>10} {:>10}\n",
            sink,
            now.rate(before, "logferry_sink_events_total", "sink", &sink),
            format!(
                "{}/s",
                human_bytes(now.rate(before, "logferry_sink_bytes_total", "sink", &sink))
            ),
            format!("{buffered}/{capacity} batches"),
            if now.get("logferry_sink_connected", "sink", &sink) > 0.0 {
                "yes"
            } else {
                "no"
            },
            now.get("logferry_sink_reconnects_total", "sink", &sink),
        ));
    }
    text.push('\n');
    for reason in now.names("logferry_events_dropped_total", "reason") {
        text.push_str(&format!(
            "dropped ({reason}): {} events in all\n",
            now.get("logferry_events_dropped_total", "reason", &reason)
        ));
    }
    let quantile = |q: &str| now.get("logferry_end_to_end_latency_seconds", "quantile", q);
    let (p50, p99) = (quantile("0.5"), quantile("0.99"));
    if p50.is_nan() {
        text.push_str("latency: no event delivered in the last minute\n");
    } else {
        text.push_str(&format!(
            "latency read → acknowledged: p50 {:.3} s, p99 {:.3} s\n",
            p50, p99
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# TYPE logferry_source_events_total counter\n\
        logferry_source_events_total{source=\"web\"} 100\n\
        logferry_sink_events_total{sink=\"siem\"} 90\n\
        logferry_sink_connected{sink=\"siem\"} 1\n";
    const NOW: &str = "logferry_source_events_total{source=\"web\"} 300\n\
        logferry_file_read_lag_bytes{source=\"web\",path=\"/var/log/a\"} 1024\n\
        logferry_file_read_lag_bytes{source=\"web\",path=\"/var/log/b\"} 2048\n\
        logferry_sink_events_total{sink=\"siem\"} 290\n\
        logferry_sink_connected{sink=\"siem\"} 1\n\
        logferry_end_to_end_latency_seconds{quantile=\"0.5\"} NaN\n";

    #[test]
    fn rates_lag_and_connection_from_two_scrapes() {
        let start = Instant::now();
        let before = Sample::parse(BEFORE, start);
        let now = Sample::parse(NOW, start + Duration::from_secs(2));
        assert_eq!(
            now.rate(&before, "logferry_source_events_total", "source", "web"),
            100.0
        );
        assert_eq!(
            now.get("logferry_file_read_lag_bytes", "source", "web"),
            3072.0
        );
        let view = render(&before, &now);
        assert!(view.contains("web"), "{view}");
        assert!(view.contains("3.0 KiB"), "{view}");
        assert!(
            view.lines()
                .any(|l| l.starts_with("siem") && l.contains(" yes ")),
            "{view}"
        );
        assert!(view.contains("no event delivered"), "{view}");
    }
}
