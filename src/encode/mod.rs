//! Encoding events into the bytes a sink writes: payload (`kv` or `json`), optional RFC 5424
//! envelope, and framing (`lf` or `octet-counting`).
//!
//! Field order in both payloads: `log_ts norm_id label`, the format's fields in schema order,
//! `device_name source_name severity facility`, `msg`, then `parse_error` (the schema's worked
//! example for unparsed records puts it after `msg`). No encoding writes a raw CR or LF.

mod append;
pub mod envelope;
pub mod json;
pub mod kv;
mod scan;
mod source_names;

use crate::config::{Encoding, Framing, WireFormat};
use crate::event::Event;
use append::append;

/// Encodes events in one wire format, keeping buffers and the last header timestamp between events.
#[derive(Debug)]
pub struct Encoder {
    format: WireFormat,
    scratch: Vec<u8>,
    timestamps: envelope::TimestampCache,
    names: source_names::SourceNames,
}

impl Encoder {
    pub fn new(format: WireFormat) -> Self {
        Encoder {
            format,
            scratch: Vec::new(),
            timestamps: envelope::TimestampCache::default(),
            names: source_names::SourceNames::default(),
        }
    }

    /// The wire format this encoder writes.
    pub fn format(&self) -> WireFormat {
        self.format
    }

    /// Appends `event`, enveloped and framed, to `out`.
    pub fn write(&mut self, event: &Event<'_>, out: &mut Vec<u8>) {
        let format = self.format;
        let target: &mut Vec<u8> = match format.framing {
            Framing::OctetCounting => {
                self.scratch.clear();
                &mut self.scratch
            }
            Framing::Lf => out,
        };
        if format.rfc5424 || format.encoding == Encoding::Kv {
            self.names.update(event);
        }
        if format.rfc5424 {
            envelope::write_header(event, &mut self.timestamps, self.names.hostname(), target);
        }
        match format.encoding {
            Encoding::Kv => kv::write(event, format.include_msg, self.names.kv(), target),
            Encoding::Json => json::write(event, format.include_msg, target),
        }
        match format.framing {
            Framing::Lf => out.push(b'\n'),
            Framing::OctetCounting => {
                let mut len = itoa::Buffer::new();
                append(out, len.format(self.scratch.len()).as_bytes());
                out.push(b' ');
                out.extend_from_slice(&self.scratch);
            }
        }
    }
}
