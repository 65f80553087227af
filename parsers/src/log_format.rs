//! Custom access-log layouts: an Apache `LogFormat` or Nginx `log_format` string compiled once into segments.
//!
//! [`compile`] turns the server's own format string into a [`Layout`]: either the built-in shapes
//! (`common`, `combined`, `vhost_combined`, parsed by the hand-written [`crate::access`] parser) or a
//! [`LogFormat`], a list of literal and field segments that [`LogFormat::parse`] matches against a
//! line (see `layout_match.rs`). Every directive is classified here: it fills one [`FieldKind`] or
//! is [`FieldKind::Dropped`]; an unknown directive is a [`FormatError`] naming it.

use std::fmt;

/// Which server wrote the format string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Apache `LogFormat`: `%h`, `%>s`, `%{Referer}i`, backslash escapes `\"`, `\\`, `\n`, `\t`.
    Apache,
    /// Nginx `log_format`: `$remote_addr`, `${status}`.
    Nginx,
}

/// How a time directive writes the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeForm {
    /// Apache `%t`: `[dd/Mon/yyyy:hh:mm:ss ±zzzz]`, brackets included.
    ClfBracketed,
    /// Nginx `$time_local`: `dd/Mon/yyyy:hh:mm:ss ±zzzz`.
    Clf,
    /// Nginx `$time_iso8601`: `yyyy-mm-ddThh:mm:ss±hh:mm`.
    Iso8601,
    /// `%{sec}t`, Nginx `$msec` (`1795680000.123`): epoch seconds, optional fraction.
    EpochSeconds,
    /// `%{msec}t`: epoch milliseconds.
    EpochMillis,
    /// `%{usec}t`: epoch microseconds.
    EpochMicros,
}

/// The unit a duration directive writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    /// `%T`, `%{s}T`, Nginx `$request_time` (which has a millisecond fraction).
    Seconds,
    /// `%{ms}T`.
    Millis,
    /// `%D`, `%{us}T`.
    Micros,
}

/// What a directive fills in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `%h`, `%a`, `$remote_addr`.
    Client,
    /// `%u`, `$remote_user`.
    User,
    /// `%t`, `%{sec}t`, `$time_local`, `$time_iso8601`, `$msec`.
    Time(TimeForm),
    /// `%r`, `$request`: the whole request line.
    Request,
    /// `%m`, `$request_method`.
    Method,
    /// `$request_uri`: path and query as sent.
    Target,
    /// `%U`, `$uri`, `$document_uri`: the path alone.
    Path,
    /// `%q` (`?` and the query, or nothing), `$args`, `$query_string` (the query without `?`).
    Query,
    /// `$is_args`: `?` when there is a query, else nothing.
    QueryMark,
    /// `%H`, `$server_protocol`: `HTTP/1.1`.
    Protocol,
    /// `%s`, `%>s`, `$status`.
    Status,
    /// `%b`, `%B`, `%O`, `$body_bytes_sent`, `$bytes_sent`.
    Bytes,
    /// `%{Referer}i`, `$http_referer`.
    Referer,
    /// `%{User-Agent}i`, `$http_user_agent`.
    UserAgent,
    /// `%v`, `%V`, `$host`, `$server_name`.
    Vhost,
    /// `%p`, `%{canonical}p`, `%{local}p`, `$server_port`.
    Port,
    /// `%D`, `%T`, `%{UNIT}T`, `$request_time`.
    Duration(DurationUnit),
    /// A known directive without a field in the schema: matched and dropped.
    Dropped,
}

/// One piece of a compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Bytes the line must contain as written; never empty, never two in a row.
    Literal(Vec<u8>),
    /// A directive's value.
    Field(FieldKind),
}

/// A compiled custom layout.
///
/// Invariant: `segments` holds no empty literal and no two literals in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat {
    pub(crate) segments: Vec<Segment>,
}

/// What a source's `log_format` setting selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Common, combined or vhost_combined: the hand-written [`crate::access::parse`], which tells them apart.
    Builtin,
    /// Any other layout.
    Custom(LogFormat),
}

/// A format string that cannot be compiled; `directive` is the offending text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// What is wrong, e.g. `unknown directive`.
    pub reason: &'static str,
    /// The directive as written, e.g. `%Z` or `$foo`.
    pub directive: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.reason, self.directive)
    }
}

impl std::error::Error for FormatError {}

/// Apache's named layouts, as `LogFormat` defines them in the stock configuration.
const APACHE_NAMED: &[(&str, &str)] = &[
    ("common", r#"%h %l %u %t "%r" %>s %b"#),
    (
        "combined",
        r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i""#,
    ),
    (
        "vhost_combined",
        r#"%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i""#,
    ),
];

/// Nginx's predefined `combined` layout.
const NGINX_NAMED: &[(&str, &str)] = &[(
    "combined",
    r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#,
)];

/// Nginx variable families: any name with one of these prefixes is known (and dropped unless listed
/// in [`nginx_field`]).
const NGINX_PREFIXES: &[&str] = &[
    "http_",
    "sent_http_",
    "sent_trailer_",
    "upstream_",
    "cookie_",
    "arg_",
    "ssl_",
    "proxy_protocol_",
];

/// Nginx variables that are known but have no field in the schema.
const NGINX_DROPPED: &[&str] = &[
    "binary_remote_addr",
    "connection",
    "connection_requests",
    "connection_time",
    "content_length",
    "content_type",
    "document_root",
    "gzip_ratio",
    "hostname",
    "https",
    "limit_rate",
    "nginx_version",
    "pid",
    "pipe",
    "realip_remote_addr",
    "realip_remote_port",
    "realpath_root",
    "remote_port",
    "request_body",
    "request_completion",
    "request_filename",
    "request_id",
    "request_length",
    "scheme",
    "server_addr",
    "tcpinfo_rtt",
    "tcpinfo_rttvar",
    "tcpinfo_snd_cwnd",
    "tcpinfo_rcv_space",
];

/// Compiles a `log_format` setting: a named layout (`common`, `combined`, `vhost_combined` for Apache,
/// `combined` for Nginx) or the server's own format string.
///
/// A string that compiles to the same segments as a named layout is [`Layout::Builtin`] too, so it
/// keeps the hand-written parser.
pub fn compile(text: &str, syntax: Syntax) -> Result<Layout, FormatError> {
    let named = match syntax {
        Syntax::Apache => APACHE_NAMED,
        Syntax::Nginx => NGINX_NAMED,
    };
    if named.iter().any(|(name, _)| *name == text.trim()) {
        return Ok(Layout::Builtin);
    }
    let format = compile_string(text, syntax)?;
    let builtin = named.iter().any(|(_, layout)| {
        compile_string(layout, syntax).is_ok_and(|preset| preset.segments == format.segments)
    });
    Ok(if builtin {
        Layout::Builtin
    } else {
        Layout::Custom(format)
    })
}

/// Compiles a format string into segments, without looking at the named layouts.
pub(crate) fn compile_string(text: &str, syntax: Syntax) -> Result<LogFormat, FormatError> {
    let mut segments = Vec::new();
    let mut literal = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0usize;
    while let Some(&c) = bytes.get(i) {
        let directive = match (syntax, c) {
            (Syntax::Apache, b'%') => apache_directive(text, i)?,
            (Syntax::Nginx, b'$') => nginx_variable(text, i)?,
            (Syntax::Apache, b'\\') => {
                let (byte, used) = match bytes.get(i + 1) {
                    Some(b'n') => (b'\n', 2),
                    Some(b't') => (b'\t', 2),
                    Some(&e @ (b'"' | b'\\')) => (e, 2),
                    _ => (b'\\', 1),
                };
                literal.push(byte);
                i += used;
                continue;
            }
            _ => {
                literal.push(c);
                i += 1;
                continue;
            }
        };
        i += directive.len;
        match directive.kind {
            None => literal.push(b'%'),
            Some(kind) => {
                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Field(kind));
            }
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    if !segments.iter().any(|s| matches!(s, Segment::Field(_))) {
        return Err(FormatError {
            reason: "log format has no directive",
            directive: text.to_string(),
        });
    }
    Ok(LogFormat { segments })
}

/// A directive read from the format string: its kind (`None` for `%%`) and its length in bytes.
struct Directive {
    kind: Option<FieldKind>,
    len: usize,
}

/// Reads the Apache directive starting with the `%` at `start`: `%%`, or `%[!][codes][<>][{arg}]X`
/// (`X` a letter, or `^ti`/`^to`).
fn apache_directive(text: &str, start: usize) -> Result<Directive, FormatError> {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    if bytes.get(i) == Some(&b'%') {
        return Ok(Directive { kind: None, len: 2 });
    }
    // Conditions (`!400,501`) and the original/final request choice (`<`, `>`) change when the value
    // is logged, not what it is.
    while matches!(bytes.get(i), Some(b'!' | b',' | b'<' | b'>' | b'0'..=b'9')) {
        i += 1;
    }
    let mut arg = None;
    if bytes.get(i) == Some(&b'{') {
        let close = text
            .get(i..)
            .and_then(|rest| rest.find('}'))
            .ok_or_else(|| FormatError {
                reason: "unterminated '{' in directive",
                directive: text.get(start..).unwrap_or_default().to_string(),
            })?;
        arg = text.get(i + 1..i + close);
        i += close + 1;
    }
    let letter_len = if bytes.get(i) == Some(&b'^') { 3 } else { 1 };
    let letter = text.get(i..i + letter_len).unwrap_or_default();
    let written = || {
        let end = (i + letter_len).min(text.len());
        let mut end = end;
        while !text.is_char_boundary(end) {
            end += 1;
        }
        text.get(start..end).unwrap_or_default().to_string()
    };
    let kind = apache_field(letter, arg).map_err(|reason| FormatError {
        reason,
        directive: written(),
    })?;
    Ok(Directive {
        kind: Some(kind),
        len: i + letter_len - start,
    })
}

/// The field of Apache directive letter `letter` with its `{arg}`, or why it is not accepted.
fn apache_field(letter: &str, arg: Option<&str>) -> Result<FieldKind, &'static str> {
    use FieldKind::*;
    Ok(match (letter, arg) {
        ("h" | "a", _) => Client,
        ("u", None) => User,
        ("t", None) => Time(TimeForm::ClfBracketed),
        ("t", Some(form)) => {
            let form = form
                .strip_prefix("begin:")
                .or_else(|| form.strip_prefix("end:"))
                .unwrap_or(form);
            match form {
                "sec" => Time(TimeForm::EpochSeconds),
                "msec" => Time(TimeForm::EpochMillis),
                "usec" => Time(TimeForm::EpochMicros),
                "msec_frac" | "usec_frac" => Dropped,
                _ => return Err("unsupported time format (use %t, %{sec}t, %{msec}t or %{usec}t)"),
            }
        }
        ("r", None) => Request,
        ("m", None) => Method,
        ("U", None) => Path,
        ("q", None) => Query,
        ("H", None) => Protocol,
        ("s", None) => Status,
        ("b" | "B" | "O", None) => Bytes,
        ("i", Some(header)) if header.eq_ignore_ascii_case("referer") => Referer,
        ("i", Some(header)) if header.eq_ignore_ascii_case("user-agent") => UserAgent,
        ("v" | "V", None) => Vhost,
        ("p", None | Some("canonical" | "local")) => Port,
        ("p", Some("remote")) => Dropped,
        ("D", None) | ("T", Some("us")) => Duration(DurationUnit::Micros),
        ("T", None | Some("s")) => Duration(DurationUnit::Seconds),
        ("T", Some("ms")) => Duration(DurationUnit::Millis),
        ("l" | "A" | "f" | "k" | "L" | "R" | "X" | "I" | "S", None) => Dropped,
        ("P", None | Some("pid" | "tid" | "hextid")) => Dropped,
        ("i" | "o" | "e" | "n" | "C" | "x" | "c" | "^ti" | "^to", Some(_)) => Dropped,
        _ => return Err("unknown directive"),
    })
}

/// Reads the Nginx variable starting with the `$` at `start`: `$name` or `${name}`.
fn nginx_variable(text: &str, start: usize) -> Result<Directive, FormatError> {
    let rest = text.get(start + 1..).unwrap_or_default();
    let (name, len) = if let Some(braced) = rest.strip_prefix('{') {
        let close = braced.find('}').ok_or_else(|| FormatError {
            reason: "unterminated '${' in variable",
            directive: text.get(start..).unwrap_or_default().to_string(),
        })?;
        (braced.get(..close).unwrap_or_default(), close + 3)
    } else {
        let n = rest
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        (rest.get(..n).unwrap_or_default(), n + 1)
    };
    let written = || text.get(start..start + len).unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(FormatError {
            reason: "empty variable name",
            directive: written(),
        });
    }
    let kind = nginx_field(name).ok_or_else(|| FormatError {
        reason: "unknown variable",
        directive: written(),
    })?;
    Ok(Directive {
        kind: Some(kind),
        len,
    })
}

/// The field Nginx variable `name` fills; `None` if it is not a variable we know.
fn nginx_field(name: &str) -> Option<FieldKind> {
    use FieldKind::*;
    Some(match name {
        "remote_addr" => Client,
        "remote_user" => User,
        "time_local" => Time(TimeForm::Clf),
        "time_iso8601" => Time(TimeForm::Iso8601),
        "msec" => Time(TimeForm::EpochSeconds),
        "request" => Request,
        "request_method" => Method,
        "request_uri" => Target,
        "uri" | "document_uri" => Path,
        "args" | "query_string" => Query,
        "is_args" => QueryMark,
        "server_protocol" => Protocol,
        "status" => Status,
        "body_bytes_sent" | "bytes_sent" => Bytes,
        "http_referer" => Referer,
        "http_user_agent" => UserAgent,
        "host" | "server_name" => Vhost,
        "server_port" => Port,
        "request_time" => Duration(DurationUnit::Seconds),
        _ if NGINX_DROPPED.contains(&name) => Dropped,
        _ if NGINX_PREFIXES
            .iter()
            .any(|p| name.len() > p.len() && name.starts_with(p)) =>
        {
            Dropped
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use FieldKind::*;

    fn lit(s: &str) -> Segment {
        Segment::Literal(s.as_bytes().to_vec())
    }

    fn apache(text: &str) -> Vec<Segment> {
        compile_string(text, Syntax::Apache).unwrap().segments
    }

    fn nginx(text: &str) -> Vec<Segment> {
        compile_string(text, Syntax::Nginx).unwrap().segments
    }

    #[test]
    fn apache_directives() {
        for (text, kind) in [
            ("%h", Client),
            ("%a", Client),
            ("%{c}a", Client),
            ("%u", User),
            ("%t", Time(TimeForm::ClfBracketed)),
            ("%{sec}t", Time(TimeForm::EpochSeconds)),
            ("%{begin:msec}t", Time(TimeForm::EpochMillis)),
            ("%{end:usec}t", Time(TimeForm::EpochMicros)),
            ("%{msec_frac}t", Dropped),
            ("%r", Request),
            ("%m", Method),
            ("%U", Path),
            ("%q", Query),
            ("%H", Protocol),
            ("%s", Status),
            ("%>s", Status),
            ("%<s", Status),
            ("%b", Bytes),
            ("%B", Bytes),
            ("%O", Bytes),
            ("%{Referer}i", Referer),
            ("%{User-agent}i", UserAgent),
            ("%{USER-AGENT}i", UserAgent),
            ("%!200,304{Referer}i", Referer),
            ("%400,501{User-agent}i", UserAgent),
            ("%{X-Forwarded-For}i", Dropped),
            ("%{Set-Cookie}o", Dropped),
            ("%{SSL_PROTOCOL}x", Dropped),
            ("%{Foobar}C", Dropped),
            ("%{UNIQUE_ID}e", Dropped),
            ("%{ratio}n", Dropped),
            ("%{Host}^ti", Dropped),
            ("%v", Vhost),
            ("%V", Vhost),
            ("%p", Port),
            ("%{canonical}p", Port),
            ("%{local}p", Port),
            ("%{remote}p", Dropped),
            ("%D", Duration(DurationUnit::Micros)),
            ("%{us}T", Duration(DurationUnit::Micros)),
            ("%T", Duration(DurationUnit::Seconds)),
            ("%{s}T", Duration(DurationUnit::Seconds)),
            ("%{ms}T", Duration(DurationUnit::Millis)),
            ("%l", Dropped),
            ("%A", Dropped),
            ("%P", Dropped),
            ("%{tid}P", Dropped),
            ("%X", Dropped),
            ("%I", Dropped),
            ("%k", Dropped),
        ] {
            assert_eq!(apache(text), vec![Segment::Field(kind)], "{text}");
        }
    }

    #[test]
    fn apache_literals_and_escapes() {
        assert_eq!(
            apache(r#"%h \"%r\" 100%% %s\t\x"#),
            vec![
                Segment::Field(Client),
                lit(" \""),
                Segment::Field(Request),
                lit("\" 100% "),
                Segment::Field(Status),
                lit("\t\\x"),
            ]
        );
        assert_eq!(
            apache("%U%q"),
            vec![Segment::Field(Path), Segment::Field(Query)]
        );
    }

    #[test]
    fn apache_errors_name_the_directive() {
        for (text, directive) in [
            ("%h %Z %s", "%Z"),
            ("%h %{foo}Z", "%{foo}Z"),
            ("%{%d/%b/%Y}t", "%{%d/%b/%Y}t"),
            ("%{Referer}", "%{Referer}"),
            ("%u %{Referer", "%{Referer"),
            ("%h %", "%"),
            ("%h %é", "%é"),
            ("%{ms}u", "%{ms}u"),
        ] {
            let e = compile_string(text, Syntax::Apache).unwrap_err();
            assert_eq!(e.directive, directive, "{text}: {e}");
        }
        let e = compile_string("%Q", Syntax::Apache).unwrap_err();
        assert_eq!(e.to_string(), "unknown directive \"%Q\"");
        assert!(compile_string("no directives", Syntax::Apache).is_err());
    }

    #[test]
    fn nginx_variables() {
        assert_eq!(
            nginx(r#"$remote_addr - ${remote_user} [$time_local] "$request" $status$is_args"#),
            vec![
                Segment::Field(Client),
                lit(" - "),
                Segment::Field(User),
                lit(" ["),
                Segment::Field(Time(TimeForm::Clf)),
                lit("] \""),
                Segment::Field(Request),
                lit("\" "),
                Segment::Field(Status),
                Segment::Field(QueryMark),
            ]
        );
        for (text, kind) in [
            ("$http_referer", Referer),
            ("$http_user_agent", UserAgent),
            ("$http_x_forwarded_for", Dropped),
            ("$sent_http_content_type", Dropped),
            ("$upstream_response_time", Dropped),
            ("$cookie_session", Dropped),
            ("$arg_q", Dropped),
            ("$ssl_protocol", Dropped),
            ("$request_time", Duration(DurationUnit::Seconds)),
            ("$time_iso8601", Time(TimeForm::Iso8601)),
            ("$msec", Time(TimeForm::EpochSeconds)),
            ("$request_uri", Target),
            ("$uri", Path),
            ("$args", Query),
            ("$host", Vhost),
            ("$server_port", Port),
            ("$bytes_sent", Bytes),
            ("$request_length", Dropped),
        ] {
            assert_eq!(nginx(text), vec![Segment::Field(kind)], "{text}");
        }
    }

    #[test]
    fn nginx_errors_name_the_variable() {
        for (text, directive) in [
            ("$remote_addr $bogus_thing", "$bogus_thing"),
            ("${nope}", "${nope}"),
            ("$http_", "$http_"),
            ("${remote_addr", "${remote_addr"),
            ("$ x", "$"),
        ] {
            let e = compile_string(text, Syntax::Nginx).unwrap_err();
            assert_eq!(e.directive, directive, "{text}: {e}");
        }
    }

    #[test]
    fn named_and_equivalent_layouts_are_builtin() {
        for name in ["common", "combined", "vhost_combined"] {
            assert_eq!(compile(name, Syntax::Apache), Ok(Layout::Builtin));
        }
        assert_eq!(compile("combined", Syntax::Nginx), Ok(Layout::Builtin));
        assert_eq!(
            compile(r#"%h %l %u %t \"%r\" %s %b"#, Syntax::Apache),
            Ok(Layout::Builtin)
        );
        assert!(matches!(
            compile(r#"%h %l %u %t "%r" %>s %b %D"#, Syntax::Apache),
            Ok(Layout::Custom(_))
        ));
        assert!(compile("vhost_combined", Syntax::Nginx).is_err());
    }
}
