//! The `json` payload: one flat JSON object per event, `label` as an array, numbers as numbers.

use super::append::append;
use crate::event::{Event, Value};

/// Appends the `json` payload of `event` to `out`.
pub fn write(event: &Event<'_>, include_msg: bool, out: &mut Vec<u8>) {
    let mut int = itoa::Buffer::new();
    out.extend_from_slice(b"{\"log_ts\":");
    append(out, int.format(event.time.unix).as_bytes());
    out.extend_from_slice(b",\"norm_id\":");
    string(event.norm_id, out);
    if !event.labels.is_empty() {
        out.extend_from_slice(b",\"label\":[");
        for (i, label) in event.labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(label, out);
        }
        out.push(b']');
    }
    for field in &event.fields {
        out.push(b',');
        string(&field.name, out);
        out.push(b':');
        match &field.value {
            Value::Int(n) => append(out, int.format(*n).as_bytes()),
            Value::Float(f) => append(out, float_text(*f).as_bytes()),
            Value::Ip(s) | Value::Str(s) => string(s, out),
        }
    }
    out.extend_from_slice(b",\"device_name\":");
    string(event.device_name, out);
    out.extend_from_slice(b",\"source_name\":");
    string(event.source_name, out);
    out.extend_from_slice(b",\"severity\":");
    append(out, int.format(event.severity).as_bytes());
    out.extend_from_slice(b",\"facility\":");
    append(out, int.format(event.facility).as_bytes());
    if include_msg {
        out.extend_from_slice(b",\"msg\":");
        string(&event.msg, out);
    }
    if let Some(reason) = &event.parse_error {
        out.extend_from_slice(b",\"parse_error\":");
        string(reason, out);
    }
    out.push(b'}');
}

/// A float as JSON writes it; non-finite values (which JSON cannot hold) as 0.
pub fn float_text(f: f64) -> String {
    if f.is_finite() {
        serde_json::Number::from_f64(f).map_or_else(|| "0".into(), |n| n.to_string())
    } else {
        "0".into()
    }
}

/// Writes `text` as a JSON string (never a raw control character).
fn string(text: &str, out: &mut Vec<u8>) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}
