//! `logferry tap`: prints the normalised events of the running agent, live, as JSON lines.
//!
//! Connects to the agent's control socket ([`crate::control`]), asks for the events of one source,
//! of the sources feeding one sink, or of all, optionally filtered by a LogPoint query evaluated in
//! the agent, and copies them to `out` until the agent stops or `out` is closed (`| head`). What
//! the agent had to drop because this reader was behind is reported on stderr, never silently.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{bail, Context};

/// What to tap.
#[derive(Debug, Clone, Default)]
pub struct TapRequest {
    pub source: Option<String>,
    pub sink: Option<String>,
    pub query: Option<String>,
}

/// Streams events from the agent at `socket` to `out`; returns when the agent closes the stream or
/// `out` cannot take more.
pub fn tap(socket: &Path, request: &TapRequest, out: &mut impl Write) -> anyhow::Result<()> {
    let mut lines = request_lines(socket, &tap_request(request))?;
    let mut first = String::new();
    lines
        .read_line(&mut first)
        .context("reading the agent's answer")?;
    let answer: serde_json::Value = serde_json::from_str(&first)
        .with_context(|| format!("unexpected answer from the agent: {first:?}"))?;
    if let Some(error) = answer.get("error").and_then(|e| e.as_str()) {
        bail!("the agent refused: {error}");
    }
    for line in lines.lines() {
        let line = line.context("reading events")?;
        if let Some(dropped) = dropped_notice(&line) {
            eprintln!("logferry tap: {dropped} chunk(s) of events dropped so far: this reader is not keeping up");
            continue;
        }
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// The request line for `request`.
fn tap_request(request: &TapRequest) -> String {
    serde_json::json!({
        "command": "tap",
        "source": request.source,
        "sink": request.sink,
        "query": request.query,
    })
    .to_string()
}

/// Connects to `socket`, sends `request` as one line, and returns the answer to read.
pub fn request_lines(socket: &Path, request: &str) -> anyhow::Result<BufReader<UnixStream>> {
    let mut stream = UnixStream::connect(socket).with_context(|| {
        format!(
            "cannot reach the agent at {} (is it running with this data_dir, and may this user use it?)",
            socket.display()
        )
    })?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .context("sending the request")?;
    Ok(BufReader::new(stream))
}

/// The count of a `{"logferry_tap":{"dropped_chunks":N}}` line.
fn dropped_notice(line: &str) -> Option<u64> {
    if !line.starts_with("{\"logferry_tap\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value["logferry_tap"]["dropped_chunks"].as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_notices() {
        let request = TapRequest {
            sink: Some("siem".into()),
            query: Some("user=root".into()),
            ..TapRequest::default()
        };
        assert_eq!(
            tap_request(&request),
            r#"{"command":"tap","source":null,"sink":"siem","query":"user=root"}"#
        );
        assert_eq!(
            dropped_notice(r#"{"logferry_tap":{"dropped_chunks":3}}"#),
            Some(3)
        );
        assert_eq!(dropped_notice(r#"{"norm_id":"Syslog"}"#), None);
    }
}
