//! The normalised event: the LogPoint view of one record, borrowing from the batch it was read from.
//!
//! One [`Event`] is reused for every record of a batch ([`Event::reset`]), so its field list is
//! allocated once per batch, not once per record. Fields keep the order the schema gives for their
//! format; the encoders write them in that order between the fixed leading and trailing fields.

use std::borrow::Cow;

use smallvec::SmallVec;

use crate::normalise::text::RecordText;

/// A field value, typed as LogPoint indexes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Int(i64),
    Float(f64),
    /// IPv4 or IPv6 text, IPv6 in compressed form.
    Ip(Cow<'a, str>),
    Str(Cow<'a, str>),
}

/// One named field; names are flat lowercase snake_case.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<'a> {
    pub name: Cow<'a, str>,
    pub value: Value<'a>,
}

/// When the event happened, and the UTC offset it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTime {
    /// Seconds since the Unix epoch, UTC.
    pub unix: i64,
    pub nanos: u32,
    /// The offset to show in the syslog header; `None` writes `Z` (UTC with no offset in the log).
    pub offset_seconds: Option<i32>,
}

/// A normalised event.
///
/// Invariants: no field value is empty or a placeholder (`-`); `norm_id` is one of the schema's
/// normaliser ids; `labels` are capitalised alphanumeric words without duplicates.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub time: EventTime,
    pub norm_id: &'static str,
    pub labels: SmallVec<[Cow<'a, str>; 6]>,
    pub fields: Vec<Field<'a>>,
    pub device_name: &'a str,
    pub source_name: &'a str,
    pub severity: u8,
    pub facility: u8,
    pub msg: Cow<'a, str>,
    /// Why the record could not be parsed (`norm_id=Raw` only).
    pub parse_error: Option<String>,
    /// APP-NAME of the syslog header when the event has no `process` field.
    pub app_name: &'static str,
    /// The record being normalised, for [`Event::text`].
    pub record: RecordText<'a>,
}

impl<'a> Event<'a> {
    /// An empty event for records read from `source_name` on `device_name`.
    pub fn new(device_name: &'a str, source_name: &'a str) -> Self {
        Event {
            time: EventTime {
                unix: 0,
                nanos: 0,
                offset_seconds: None,
            },
            norm_id: "Raw",
            labels: SmallVec::new(),
            fields: Vec::with_capacity(24),
            device_name,
            source_name,
            severity: 6,
            facility: 1,
            msg: Cow::Borrowed(""),
            parse_error: None,
            app_name: "-",
            record: RecordText::default(),
        }
    }

    /// Empties the event for the next record, keeping its allocations.
    pub fn reset(&mut self) {
        self.fields.clear();
        self.labels.clear();
        self.severity = 6;
        self.facility = 1;
        self.parse_error = None;
        self.msg = Cow::Borrowed("");
    }

    /// Adds a label unless it is already there.
    pub fn label(&mut self, label: impl Into<Cow<'a, str>>) {
        let label = label.into();
        if !self.labels.contains(&label) {
            self.labels.push(label);
        }
    }

    /// Adds a string field; empty values and `-` are omitted, as the schema requires.
    pub fn str(&mut self, name: &'static str, value: impl Into<Cow<'a, str>>) {
        let value = value.into();
        if !is_placeholder(&value) {
            self.fields.push(Field {
                name: Cow::Borrowed(name),
                value: Value::Str(value),
            });
        }
    }

    /// Adds a string field cut from the record being normalised (see [`RecordText::str`]).
    pub fn text(&mut self, name: &'static str, part: &'a [u8]) {
        let value = self.record.str(part);
        self.str(name, value);
    }

    /// Adds a string field of record bytes that may have been unescaped.
    pub fn text_cow(&mut self, name: &'static str, part: Cow<'a, [u8]>) {
        let value = self.record.cow(part);
        self.str(name, value);
    }

    /// Adds a numeric field.
    pub fn int(&mut self, name: &'static str, value: i64) {
        self.fields.push(Field {
            name: Cow::Borrowed(name),
            value: Value::Int(value),
        });
    }

    /// Adds a field with a name decided at run time (JSON keys, structured-data names).
    pub fn dynamic(&mut self, name: Cow<'a, str>, value: Value<'a>) {
        if let Value::Str(s) | Value::Ip(s) = &value {
            if is_placeholder(s) {
                return;
            }
        }
        self.fields.push(Field { name, value });
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }
}

/// True for the values the schema omits: empty, `-`, or `""`.
pub fn is_placeholder(value: &str) -> bool {
    matches!(value, "" | "-" | "\"\"")
}
