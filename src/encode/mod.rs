//! Encoding events into the bytes a sink writes: payload (`kv` or `json`), optional RFC 5424
//! envelope, and framing (`lf` or `octet-counting`).
//!
//! Field order in both payloads: `log_ts norm_id label`, the format's fields in schema order,
//! `device_name source_name severity facility`, `msg`, then `parse_error` (the schema's worked
//! example for unparsed records puts it after `msg`). No encoding writes a raw CR or LF.

pub mod envelope;
pub mod json;
pub mod kv;

use crate::config::{Encoding, Framing, WireFormat};
use crate::event::Event;

/// Appends `event`, framed, to `out`; `scratch` is reused between calls.
pub fn write_event(
    event: &Event<'_>,
    format: WireFormat,
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) {
    let framed_later = format.framing == Framing::OctetCounting;
    let target: &mut Vec<u8> = if framed_later {
        scratch.clear();
        scratch
    } else {
        out
    };
    if format.rfc5424 {
        envelope::write_header(event, target);
    }
    match format.encoding {
        Encoding::Kv => kv::write(event, format.include_msg, target),
        Encoding::Json => json::write(event, format.include_msg, target),
    }
    match format.framing {
        Framing::Lf => out.push(b'\n'),
        Framing::OctetCounting => {
            let mut len = itoa::Buffer::new();
            out.extend_from_slice(len.format(scratch.len()).as_bytes());
            out.push(b' ');
            out.extend_from_slice(scratch);
        }
    }
}
