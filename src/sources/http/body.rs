//! The body of `POST /v1/events`: one JSON object, an array of objects, or NDJSON (one object per
//! line), cut into records for the JSON normaliser.
//!
//! The whole body is checked before anything is handed on, so a request is accepted whole or not at
//! all. A bad body names its bad records: 1-based line numbers for NDJSON (and a single object),
//! 1-based positions for an array. After a syntax error inside an array nothing further can be
//! read, so it names the record where the error is.

use std::fmt;

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::sources::tail::Record;

/// How the bad records of a body are numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbering {
    /// 1-based lines of the body (NDJSON, a single object).
    Lines,
    /// 1-based positions in the top-level array.
    Records,
}

/// Why a body was refused, and which of its records are to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadBody {
    pub reason: String,
    pub numbering: Numbering,
    /// The bad records, at most [`MAX_REPORTED`].
    pub bad: Vec<usize>,
}

/// At most this many bad records are named in one answer.
pub const MAX_REPORTED: usize = 100;

/// The records of `body`: their bytes appended to `data`, their ranges in it.
pub fn parse(body: &[u8], data: &mut Vec<u8>) -> Result<Vec<Record>, BadBody> {
    let text = body.trim_ascii();
    match text.first() {
        None => Ok(Vec::new()),
        Some(b'[') => array(text, data),
        Some(b'{') if serde_json::from_slice::<&RawValue>(text).is_ok() => {
            Ok(vec![push(data, text)])
        }
        Some(_) => lines(body, data),
    }
}

fn push(data: &mut Vec<u8>, record: &[u8]) -> Record {
    let start = data.len();
    data.extend_from_slice(record);
    Record {
        bytes: start..data.len(),
        truncated: false,
    }
}

fn is_object(raw: &RawValue) -> bool {
    raw.get().starts_with('{')
}

fn lines(body: &[u8], data: &mut Vec<u8>) -> Result<Vec<Record>, BadBody> {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    let mut reason = None;
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<&RawValue>(line) {
            Ok(raw) if is_object(raw) => records.push(push(data, line)),
            Ok(_) => {
                bad.push(i + 1);
                reason.get_or_insert_with(|| format!("line {}: not a JSON object", i + 1));
            }
            Err(e) => {
                bad.push(i + 1);
                reason.get_or_insert_with(|| format!("line {}: {e}", i + 1));
            }
        }
    }
    match reason {
        None => Ok(records),
        Some(reason) => Err(BadBody {
            reason,
            numbering: Numbering::Lines,
            bad: bad.into_iter().take(MAX_REPORTED).collect(),
        }),
    }
}

fn array(text: &[u8], data: &mut Vec<u8>) -> Result<Vec<Record>, BadBody> {
    let mut parsed = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let syntax = deserializer
        .deserialize_seq(Elements(&mut parsed))
        .and_then(|()| deserializer.end());
    if let Err(e) = syntax {
        let at = parsed.len() + 1;
        return Err(BadBody {
            reason: format!("record {at}: {e}"),
            numbering: Numbering::Records,
            bad: vec![at],
        });
    }
    let bad: Vec<usize> = parsed
        .iter()
        .enumerate()
        .filter(|(_, raw)| !is_object(raw))
        .map(|(i, _)| i + 1)
        .collect();
    if let Some(first) = bad.first() {
        return Err(BadBody {
            reason: format!("record {first}: not a JSON object"),
            numbering: Numbering::Records,
            bad: bad.into_iter().take(MAX_REPORTED).collect(),
        });
    }
    Ok(parsed
        .iter()
        .map(|raw| push(data, raw.get().as_bytes()))
        .collect())
}

/// Collects the elements of the top-level array as they are read, so that after a syntax error the
/// count says where it was.
struct Elements<'v, 'de>(&'v mut Vec<&'de RawValue>);

impl<'de> Visitor<'de> for Elements<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of JSON objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            self.0.push(raw);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(body: &str) -> Result<Vec<String>, BadBody> {
        let mut data = Vec::new();
        let records = parse(body.as_bytes(), &mut data)?;
        Ok(records
            .iter()
            .map(|r| String::from_utf8_lossy(&data[r.bytes.clone()]).into_owned())
            .collect())
    }

    #[test]
    fn one_object_an_array_and_ndjson() {
        assert_eq!(texts(" {\"a\":\n 1}\n").unwrap(), vec!["{\"a\":\n 1}"]);
        assert_eq!(
            texts("[{\"a\":1}, {\"b\":[2]}]").unwrap(),
            vec!["{\"a\":1}", "{\"b\":[2]}"]
        );
        assert_eq!(
            texts("{\"a\":1}\n\n{\"b\":2}\r\n").unwrap(),
            vec!["{\"a\":1}", "{\"b\":2}"]
        );
        assert_eq!(texts("  ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn bad_records_are_named() {
        let bad = texts("{\"a\":1}\n{\"a\":\n{\"b\":2}\n42\n").unwrap_err();
        assert_eq!((bad.numbering, bad.bad), (Numbering::Lines, vec![2, 4]));
        let bad = texts("[{\"a\":1}, 7, {\"c\":3}, \"x\"]").unwrap_err();
        assert_eq!((bad.numbering, bad.bad), (Numbering::Records, vec![2, 4]));
        let bad = texts("[{\"a\":1}, {\"b\":2}, {\"c\":]").unwrap_err();
        assert_eq!(bad.bad, vec![3], "{}", bad.reason);
        let bad = texts("[{\"a\":1}] trailing").unwrap_err();
        assert_eq!(bad.numbering, Numbering::Records);
    }
}
