//! `logferry normalise`: show what the agent would send for some records, one event per line.
//!
//! Records are lines, or multi-line records grouped as a file source groups them (`format = "java"`,
//! or a `multiline_start` pattern); the input is read to its end, so the last record is always handed on.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;

use crate::config::{Encoding, Framing, SourceSettings, WireFormat};
use crate::encode::Encoder;
use crate::event::{Event, EventTime};
use crate::normalise::{Normaliser, RecordContext};
use crate::records::{trim_cr, Lines};
use crate::sources::multiline::{MultilineFramer, StartRule};

/// What `logferry normalise` was asked to do.
#[derive(Debug, Clone)]
pub struct NormaliseRequest {
    pub settings: SourceSettings,
    /// The reading time; `None` is the real clock.
    pub now: Option<EventTime>,
    /// Records to read; `None` is stdin.
    pub input: Option<PathBuf>,
    pub encoding: Encoding,
    /// Wrap each event in the RFC 5424 header, as a syslog sink sends it.
    pub rfc5424: bool,
    /// Longer records are cut to this many bytes and labelled `Truncated`, as a file source does.
    pub max_line_bytes: usize,
}

/// Reads every record of the input and writes one encoded event per line to `out`.
pub fn normalise(request: &NormaliseRequest, out: &mut impl Write) -> anyhow::Result<()> {
    let normaliser = Normaliser::new(&request.settings)?;
    let mut data = Vec::new();
    match &request.input {
        Some(path) => {
            data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut data)
                .context("reading stdin")?;
        }
    }
    let path = request
        .input
        .as_ref()
        .map_or_else(|| "-".to_string(), |p| p.display().to_string());
    let source_name = normaliser.source_name(&path);
    let now = request
        .now
        .unwrap_or_else(crate::normalise::time::event_time_now);
    let format = WireFormat {
        encoding: request.encoding,
        rfc5424: request.rfc5424,
        framing: Framing::Lf,
        include_msg: true,
    };
    let (mut encoder, mut buffer) = (Encoder::new(format), Vec::new());
    each_event(
        &normaliser,
        &request.settings,
        request.max_line_bytes,
        &data,
        source_name,
        now,
        |event| encoder.write(event, &mut buffer),
    );
    out.write_all(&buffer).context("writing the events")?;
    out.flush().context("writing the events")
}

/// Normalises every record of `data` exactly as a source with `settings` and `max_line_bytes` would
/// (same record framing, same normaliser), handing each event to `each` in order.
pub fn each_event(
    normaliser: &Normaliser,
    settings: &SourceSettings,
    max_line_bytes: usize,
    data: &[u8],
    source_name: &str,
    now: EventTime,
    mut each: impl FnMut(&Event<'_>),
) {
    let mut event = Event::new(normaliser.device_name(), source_name);
    for (record, truncated) in records(settings, max_line_bytes, data) {
        event.reset();
        let ctx = RecordContext { now, truncated };
        normaliser.normalise(record, &ctx, &mut event);
        each(&event);
    }
}

/// The records of `data` (with whether each was cut short): multi-line records where the source
/// groups lines, else non-empty lines; the last record need not end with a newline.
fn records<'d>(
    settings: &SourceSettings,
    max_line_bytes: usize,
    data: &'d [u8],
) -> Vec<(&'d [u8], bool)> {
    match StartRule::for_source(settings.format, settings.multiline_start.as_ref()) {
        Some(rule) => {
            let mut records = Vec::new();
            MultilineFramer::new(rule, max_line_bytes).finish(data, &mut records);
            records
                .into_iter()
                .map(|r| (&data[r.bytes], r.truncated))
                .collect()
        }
        None => {
            let lines = Lines::new(data);
            let last = Some(trim_cr(lines.rest())).filter(|l| !l.is_empty());
            let max = max_line_bytes;
            lines
                .chain(last)
                .map(|line| match line.get(..max) {
                    Some(cut) if line.len() > max => (cut, true),
                    _ => (line, false),
                })
                .collect()
        }
    }
}
