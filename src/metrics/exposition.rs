//! The Prometheus text exposition format (version 0.0.4): families, samples, escaping.

use std::fmt::Write;

/// The `Content-Type` of a text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The kinds of metric families used here.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
    Summary,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
        }
    }
}

/// A sample value: integers are written exactly, floats with `NaN`/`+Inf`/`-Inf` as Prometheus spells them.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Unsigned(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Signed(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Unsigned(u64::from(v))
    }
}

/// Builds one exposition: call [`Exposition::family`] once per metric, then its samples.
///
/// Invariant: metric and label names passed in are valid Prometheus names (they are constants in this
/// crate); label values and help texts may hold anything and are escaped here.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts the family `name` with its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.name());
        self.out.push('\n');
    }

    /// One sample line: `name{label="value",…} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(label);
                self.out.push_str("=\"");
                push_escaped_label_value(&mut self.out, text);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        match value.into() {
            Value::Unsigned(v) => self.out.push_str(itoa::Buffer::new().format(v)),
            Value::Signed(v) => self.out.push_str(itoa::Buffer::new().format(v)),
            Value::Float(v) if v.is_nan() => self.out.push_str("NaN"),
            Value::Float(v) if v.is_infinite() => {
                self.out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" })
            }
            Value::Float(v) => {
                let _ = write!(self.out, "{v}");
            }
        }
        self.out.push('\n');
    }

    /// The finished text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Label values escape backslash, double quote and line feed; everything else is written as is.
fn push_escaped_label_value(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_and_samples() {
        let mut e = Exposition::default();
        e.family("logferry_x_total", Kind::Counter, "Things.");
        e.sample("logferry_x_total", &[("source", "web")], 3u64);
        e.sample("logferry_x_total", &[("source", "a"), ("path", "/b")], 0u64);
        assert_eq!(
            e.finish(),
            "# HELP logferry_x_total Things.\n# TYPE logferry_x_total counter\n\
             logferry_x_total{source=\"web\"} 3\nlogferry_x_total{source=\"a\",path=\"/b\"} 0\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let mut e = Exposition::default();
        e.sample("m", &[("path", "C:\\logs\\\"x\"\nnext")], 1u64);
        assert_eq!(e.finish(), "m{path=\"C:\\\\logs\\\\\\\"x\\\"\\nnext\"} 1\n");
    }

    #[test]
    fn non_ascii_and_braces_pass_through() {
        let mut e = Exposition::default();
        e.sample("m", &[("path", "/var/log/æøå/{a,b}=c")], 1u64);
        assert_eq!(e.finish(), "m{path=\"/var/log/æøå/{a,b}=c\"} 1\n");
    }

    #[test]
    fn help_is_escaped_but_quotes_are_not() {
        let mut e = Exposition::default();
        e.family("m", Kind::Gauge, "a \"b\" \\ c\nd");
        assert_eq!(e.finish(), "# HELP m a \"b\" \\\\ c\\nd\n# TYPE m gauge\n");
    }

    #[test]
    fn values() {
        let mut e = Exposition::default();
        e.sample("a", &[], f64::NAN);
        e.sample("b", &[], f64::INFINITY);
        e.sample("c", &[], 0.25);
        e.sample("d", &[], -3i64);
        e.sample("e", &[], u64::MAX);
        e.sample("f", &[], true);
        assert_eq!(
            e.finish(),
            "a NaN\nb +Inf\nc 0.25\nd -3\ne 18446744073709551615\nf 1\n"
        );
    }
}
