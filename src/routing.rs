//! Per-event addressing for sinks that send each event on its own (Kafka): a topic template, and the
//! index of an encoded batch telling where each event lies, which topic it goes to and its key.
//!
//! The processor builds an [`EventIndex`] only for routes whose sinks need one, so sinks that write
//! whole batches (syslog, console) pay nothing. Topics and keys are interned per batch: an event
//! costs one index entry, and a string only when its topic or key is new to the batch.

use std::fmt::Write as _;
use std::ops::Range;

use crate::event::{Event, Value};

/// Kafka's limit on a topic name's length.
const MAX_TOPIC_LEN: usize = 249;
/// What a placeholder naming a field the event does not have renders as.
const MISSING: &str = "none";

/// A topic name with `{field}` placeholders, e.g. `siem.{norm_id}`.
///
/// Invariant: literal parts hold only characters Kafka allows in topic names (`A-Z a-z 0-9 . _ -`);
/// rendering replaces any other character of a field value with `_`, so every rendered topic is a
/// legal name (cut to 249 characters).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct TopicTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `norm_id`, `device_name`, `source_name`, `severity`, `facility`, or any field of the event.
    Field(String),
}

impl TryFrom<String> for TopicTemplate {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        TopicTemplate::parse(&text)
    }
}

impl TopicTemplate {
    /// Parses `text`; an error says what is wrong with it.
    pub fn parse(text: &str) -> Result<TopicTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let close = rest
                        .find('}')
                        .ok_or_else(|| format!("{text:?}: a `{{` is not closed"))?;
                    let name = &rest[1..close];
                    if name.is_empty()
                        || !name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    {
                        return Err(format!(
                            "{text:?}: `{{{name}}}` is not a field name (lowercase snake_case)"
                        ));
                    }
                    parts.push(Part::Field(name.to_string()));
                    rest = &rest[close + 1..];
                }
                found => {
                    let end = found.unwrap_or(rest.len());
                    let literal = &rest[..end];
                    if let Some(bad) = literal.chars().find(|c| !is_topic_char(*c)) {
                        return Err(format!(
                            "{text:?}: {bad:?} cannot be part of a Kafka topic name (A-Z a-z 0-9 . _ -)"
                        ));
                    }
                    parts.push(Part::Literal(literal.to_string()));
                    rest = &rest[end..];
                }
            }
        }
        if parts.is_empty() {
            return Err("the topic is empty".to_string());
        }
        Ok(TopicTemplate { parts })
    }

    /// Writes the topic of `event` into `out` (cleared first).
    pub fn render(&self, event: &Event<'_>, out: &mut String) {
        out.clear();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Field(name) => {
                    let start = out.len();
                    write_field(event, name, out);
                    if out[start..].chars().any(|c| !is_topic_char(c)) {
                        let clean: String = out[start..]
                            .chars()
                            .map(|c| if is_topic_char(c) { c } else { '_' })
                            .collect();
                        out.truncate(start);
                        out.push_str(&clean);
                    }
                }
            }
        }
        if out.len() > MAX_TOPIC_LEN {
            out.truncate(MAX_TOPIC_LEN);
        }
    }
}

/// Characters Kafka accepts in a topic name.
fn is_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The value of `name` in `event` as text; [`MISSING`] if the event has no such field.
fn write_field(event: &Event<'_>, name: &str, out: &mut String) {
    match name {
        "norm_id" => out.push_str(event.norm_id),
        "device_name" => out.push_str(event.device_name),
        "source_name" => out.push_str(event.source_name),
        "severity" => {
            let _ = write!(out, "{}", event.severity);
        }
        "facility" => {
            let _ = write!(out, "{}", event.facility);
        }
        _ => match event.fields.iter().find(|f| f.name == name) {
            Some(field) => match &field.value {
                Value::Str(s) | Value::Ip(s) => out.push_str(s),
                Value::Int(i) => {
                    let _ = write!(out, "{i}");
                }
                Value::Float(f) => {
                    let _ = write!(out, "{f}");
                }
            },
            None => out.push_str(MISSING),
        },
    }
}

/// One event of a batch: its payload's byte range, and its topic and key as indexes into the
/// batch's interned strings.
#[derive(Debug, Clone)]
struct IndexedEvent {
    payload: Range<usize>,
    topic: u32,
    key: u32,
}

/// Where each event of an encoded batch lies, which topic it goes to and its key (`device_name`).
///
/// Invariant: built over the batch's own bytes, one entry per event in batch order; every payload
/// range lies within those bytes and excludes the event's framing.
#[derive(Debug, Clone, Default)]
pub struct EventIndex {
    events: Vec<IndexedEvent>,
    topics: Vec<String>,
    keys: Vec<String>,
}

/// One event of an indexed batch, ready to be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addressed<'a> {
    pub topic: &'a str,
    pub key: &'a str,
    pub payload: &'a [u8],
}

impl EventIndex {
    /// Events in the batch.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Event number `n` of the batch whose bytes are `bytes`.
    pub fn get<'a>(&'a self, n: usize, bytes: &'a [u8]) -> Option<Addressed<'a>> {
        let event = self.events.get(n)?;
        Some(Addressed {
            topic: self.topics.get(event.topic as usize)?,
            key: self.keys.get(event.key as usize)?,
            payload: bytes.get(event.payload.clone())?,
        })
    }

    /// The distinct topics of the batch.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }
}

/// Builds the [`EventIndex`] of one route's batches, event by event.
#[derive(Debug)]
pub struct IndexBuilder {
    template: TopicTemplate,
    topic: String,
    index: EventIndex,
}

impl IndexBuilder {
    pub fn new(template: TopicTemplate) -> Self {
        IndexBuilder {
            template,
            topic: String::new(),
            index: EventIndex::default(),
        }
    }

    /// The template topics are rendered with.
    pub fn template(&self) -> &TopicTemplate {
        &self.template
    }

    /// Records `event`, just encoded into `buffer` from byte `start` on (a trailing LF is framing,
    /// not payload).
    pub fn add(&mut self, event: &Event<'_>, buffer: &[u8], start: usize) {
        let end = match buffer.last() {
            Some(b'\n') => buffer.len() - 1,
            _ => buffer.len(),
        };
        self.template.render(event, &mut self.topic);
        let topic = intern(&mut self.index.topics, &self.topic);
        let key = intern(&mut self.index.keys, event.device_name);
        self.index.events.push(IndexedEvent {
            payload: start..end.max(start),
            topic,
            key,
        });
    }

    /// The index of the batch built so far; the builder starts afresh.
    pub fn take(&mut self) -> EventIndex {
        std::mem::take(&mut self.index)
    }
}

/// The position of `text` in `strings`, added if absent. Batches hold few distinct topics and keys,
/// so a linear search beats hashing.
fn intern(strings: &mut Vec<String>, text: &str) -> u32 {
    match strings.iter().position(|s| s == text) {
        Some(i) => i as u32,
        None => {
            strings.push(text.to_string());
            (strings.len() - 1) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn event<'a>() -> Event<'a> {
        let mut e = Event::new("web 01", "/var/log/x.log");
        e.norm_id = "ApacheAccess";
        e.str("status_code_text", Cow::Borrowed("OK"));
        e
    }

    #[test]
    fn renders_fields_and_cleans_values() {
        let mut out = String::new();
        let t = TopicTemplate::parse("siem.{norm_id}").unwrap();
        t.render(&event(), &mut out);
        assert_eq!(out, "siem.ApacheAccess");
        let t = TopicTemplate::parse("{device_name}-{status_code_text}-{nope}").unwrap();
        t.render(&event(), &mut out);
        assert_eq!(out, "web_01-OK-none");
        let t = TopicTemplate::parse("plain").unwrap();
        t.render(&event(), &mut out);
        assert_eq!(out, "plain");
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in [
            "",
            "siem.{norm_id",
            "siem/{norm_id}",
            "siem.{}",
            "siem.{Norm}",
        ] {
            assert!(TopicTemplate::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn indexes_payloads_topics_and_keys() {
        let mut builder = IndexBuilder::new(TopicTemplate::parse("t.{norm_id}").unwrap());
        let mut buffer = Vec::new();
        let mut e = event();
        for (payload, norm_id) in [("one", "A"), ("two", "B"), ("three", "A")] {
            let start = buffer.len();
            buffer.extend_from_slice(payload.as_bytes());
            buffer.push(b'\n');
            e.norm_id = norm_id;
            builder.add(&e, &buffer, start);
        }
        let index = builder.take();
        assert_eq!(index.len(), 3);
        assert_eq!(index.topics(), ["t.A", "t.B"]);
        let third = index.get(2, &buffer).unwrap();
        assert_eq!(
            (third.topic, third.key, third.payload),
            ("t.A", "web 01", &b"three"[..])
        );
        assert!(index.get(3, &buffer).is_none());
        assert!(builder.take().is_empty());
    }
}
