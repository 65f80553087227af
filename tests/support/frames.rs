//! Syslog stream framing for tests: LF-terminated and octet-counted (`LEN SP MSG`, RFC 6587 §3.4.1).
//!
//! The [`Decoder`] recognises the framing per frame, as rsyslog does: a frame starting with a digit
//! is octet-counted, anything else runs up to LF (the LF is not kept, nor a CR before it). RFC 5424
//! and 3164 messages start with `<`, so the two never clash.

use bytes::Bytes;

/// The messages framed with a trailing LF each.
pub fn lf(messages: &[String]) -> Bytes {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(m.as_bytes());
        out.push(b'\n');
    }
    out.into()
}

/// The messages octet-counted (`LEN SP MSG`).
pub fn octet(messages: &[String]) -> Bytes {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    out.into()
}

/// Splits one connection's byte stream into messages.
#[derive(Default)]
pub struct Decoder {
    pending: Vec<u8>,
}

impl Decoder {
    /// Adds received bytes; returns the complete messages and descriptions of undecodable data.
    pub fn push(&mut self, data: &[u8]) -> (Vec<String>, Vec<String>) {
        self.pending.extend_from_slice(data);
        let (mut messages, mut bad) = (Vec::new(), Vec::new());
        while let Some((frame, used)) = self.next_frame() {
            match frame {
                Ok(message) => messages.push(message),
                Err(garbage) => bad.push(garbage),
            }
            self.pending.drain(..used);
        }
        (messages, bad)
    }

    /// An incomplete frame left over (at the end of a connection: a cut-off frame).
    pub fn rest(&self) -> Option<String> {
        (!self.pending.is_empty()).then(|| String::from_utf8_lossy(&self.pending).into_owned())
    }

    /// The next complete frame (a message, or garbage up to the next LF) and the bytes it used.
    fn next_frame(&self) -> Option<(Result<String, String>, usize)> {
        let data = &self.pending;
        let first = *data.first()?;
        if first.is_ascii_digit() {
            let digits = data.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == data.len() && digits < 10 {
                return None; // the length is still arriving
            }
            let len = std::str::from_utf8(&data[..digits])
                .ok()
                .and_then(|d| d.parse::<usize>().ok());
            if let (Some(len), Some(b' ')) = (len, data.get(digits)) {
                let end = digits + 1 + len;
                let body = data.get(digits + 1..end)?;
                return Some((Ok(String::from_utf8_lossy(body).into_owned()), end));
            }
        }
        let end = data.iter().position(|&b| b == b'\n')?;
        let line = data[..end].strip_suffix(b"\r").unwrap_or(&data[..end]);
        let text = String::from_utf8_lossy(line).into_owned();
        if first.is_ascii_digit() {
            return Some((Err(format!("bad octet count: {text}")), end + 1));
        }
        Some((Ok(text), end + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_framings_across_chunk_borders() {
        let messages: Vec<String> = (0..3).map(|i| format!("<14>1 - - - - - msg {i}")).collect();
        let mut stream = lf(&messages[..2]).to_vec();
        stream.extend_from_slice(&octet(&messages[2..]));
        let mut decoder = Decoder::default();
        let mut got = Vec::new();
        for chunk in stream.chunks(7) {
            let (m, bad) = decoder.push(chunk);
            assert!(bad.is_empty());
            got.extend(m);
        }
        assert_eq!(got, messages);
        assert_eq!(decoder.rest(), None);
    }
}
