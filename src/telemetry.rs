//! The agent's own logs: `tracing` to stderr, as text or JSON (`LOGFERRY_LOG_FORMAT`), filtered by
//! `LOGFERRY_LOG` (default `info`), with repeated warnings and errors rate-limited.
//!
//! Rate limiting: a warning or error is "the same" as an earlier one when it comes from the same
//! place in the code with the same fields besides the message (the same sink, path, address…); the
//! message itself may differ (it often holds an error text or a retry delay). Each such kind is
//! written at most [`BURST`] times per [`WINDOW`]; at the end of a window a summary line per kind
//! says how many were suppressed and quotes the last one.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata};
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How many lines of one kind a window lets through.
pub const BURST: u32 = 5;
/// How long a window lasts.
pub const WINDOW: Duration = Duration::from_secs(60);
/// The target of the summary lines (never rate-limited themselves).
const SUMMARY_TARGET: &str = "logferry::log_limit";
/// Kinds tracked per window; beyond that, new kinds pass unlimited until the window ends.
const MAX_KINDS: usize = 4096;

/// Installs the stderr subscriber once (later calls do nothing) and starts the thread that writes
/// the suppression summaries.
pub fn init() {
    let filter = EnvFilter::try_from_env("LOGFERRY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let format = std::env::var("LOGFERRY_LOG_FORMAT").unwrap_or_default();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let output = match format.as_str() {
        "json" => fmt.json().flatten_event(true).boxed(),
        _ => fmt.with_ansi(std::io::stderr().is_terminal()).boxed(),
    };
    let limiter = RepeatLimiter::default();
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(output.with_filter(limiter.clone()))
        .try_init();
    if installed.is_err() {
        return;
    }
    if !matches!(format.as_str(), "" | "text" | "json") {
        tracing::warn!(%format, "LOGFERRY_LOG_FORMAT is neither text nor json; writing text");
    }
    let reporter = std::thread::Builder::new()
        .name("log-limit".into())
        .spawn(move || loop {
            std::thread::sleep(WINDOW);
            limiter.report();
        });
    if let Err(e) = reporter {
        tracing::warn!(error = %e, "repeated warnings will not be summarised");
    }
}

/// Lets at most [`BURST`] warnings or errors of one kind through per window.
#[derive(Debug, Clone, Default)]
pub struct RepeatLimiter {
    kinds: Arc<Mutex<HashMap<u64, Kind>>>,
}

#[derive(Debug, Default)]
struct Kind {
    written: u32,
    suppressed: u64,
    last_suppressed: String,
}

impl RepeatLimiter {
    /// Whether `event` may be written now.
    fn admit(&self, event: &Event<'_>) -> bool {
        let meta = event.metadata();
        if *meta.level() > Level::WARN || meta.target() == SUMMARY_TARGET {
            return true;
        }
        let mut fields = KindFields(DefaultHasher::new());
        meta.callsite().hash(&mut fields.0);
        event.record(&mut fields);
        let key = fields.0.finish();
        let Ok(mut kinds) = self.kinds.lock() else {
            return true;
        };
        if kinds.len() >= MAX_KINDS && !kinds.contains_key(&key) {
            return true;
        }
        let kind = kinds.entry(key).or_default();
        if kind.written < BURST {
            kind.written += 1;
            return true;
        }
        kind.suppressed += 1;
        kind.last_suppressed.clear();
        event.record(&mut MessageText(&mut kind.last_suppressed));
        false
    }

    /// Ends the window: writes one summary per kind that had lines suppressed, and starts counting anew.
    pub fn report(&self) {
        let suppressed: Vec<(u64, String)> = match self.kinds.lock() {
            Ok(mut kinds) => kinds
                .drain()
                .filter(|(_, k)| k.suppressed > 0)
                .map(|(_, k)| (k.suppressed, k.last_suppressed))
                .collect(),
            Err(_) => return,
        };
        for (count, last) in suppressed {
            tracing::warn!(
                target: SUMMARY_TARGET,
                suppressed = count,
                "{count} repeated log lines suppressed in the last {}s; the last was: {last}",
                WINDOW.as_secs()
            );
        }
    }
}

impl<S> Filter<S> for RepeatLimiter {
    fn enabled(&self, _meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        self.admit(event)
    }
}

/// Hashes every field of an event except its message.
struct KindFields(DefaultHasher);

impl Visit for KindFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() != "message" {
            field.name().hash(&mut self.0);
            let _ = write!(HashWriter(&mut self.0), "{value:?}");
        }
    }
}

/// Feeds formatted text into a hasher without allocating.
struct HashWriter<'h>(&'h mut DefaultHasher);

impl fmt::Write for HashWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// The message and fields of an event as one line of text, for the summary.
struct MessageText<'s>(&'s mut String);

impl Visit for MessageText<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn with_limited_logs(body: impl FnOnce(&RepeatLimiter)) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let limiter = RepeatLimiter::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(limiter.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || body(&limiter));
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn repeats_are_limited_per_kind_and_summarised() {
        let text = with_limited_logs(|limiter| {
            for i in 0..20 {
                for sink in ["a", "b"] {
                    tracing::warn!(sink, "cannot connect; retrying in {i}ms");
                }
                tracing::info!("info line {i}");
            }
            limiter.report();
            tracing::warn!(sink = "a", "cannot connect; retrying in 99ms");
        });
        let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
        let written = |sink: &str| {
            let needle = format!("sink=\"{sink}\"");
            text.lines()
                .filter(|l| l.contains(&needle) && !l.contains("suppressed"))
                .count()
        };
        assert_eq!(written("a"), BURST as usize + 1, "{text}");
        assert_eq!(written("b"), BURST as usize, "{text}");
        assert_eq!(count("info line"), 20, "{text}");
        assert_eq!(count("15 repeated log lines suppressed"), 2, "{text}");
        assert!(
            text.contains("the last was: cannot connect; retrying in 19ms sink=\"a\""),
            "{text}"
        );
        assert!(
            text.contains("retrying in 99ms"),
            "a new window admits again: {text}"
        );
    }

    #[test]
    fn errors_are_limited_too_but_not_below_warn() {
        let text = with_limited_logs(|_| {
            for _ in 0..10 {
                tracing::error!(path = "/x", "cannot read");
                tracing::debug!(path = "/x", "debug");
            }
        });
        assert_eq!(
            text.matches("cannot read").count(),
            BURST as usize,
            "{text}"
        );
    }
}
