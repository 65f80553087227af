//! End-to-end latency (read → acknowledged) as an HDR histogram, exported as a Prometheus summary.
//!
//! Recorded once per batch (every event of a batch has the same latency), so the lock is taken per
//! 256 KiB chunk, never per event. Quantiles cover a sliding window of the last one to two
//! [`WINDOW`]s (two histograms, rotated), so they follow what happens now rather than since start;
//! `_count` and `_sum` are totals since start, as Prometheus expects of a summary.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// How long one histogram collects before it becomes the previous one.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The quantiles exported.
pub const QUANTILES: [(f64, &str); 4] =
    [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99"), (0.999, "0.999")];

/// Latencies above this (a week, in microseconds) are recorded as this.
const HIGHEST_MICROS: u64 = 7 * 24 * 3600 * 1_000_000;

/// Two significant digits: quantiles within 1 %, in a few tens of KiB.
const SIGNIFICANT_DIGITS: u8 = 2;

/// The end-to-end latency summary.
#[derive(Debug)]
pub struct LatencySummary {
    state: Mutex<Windows>,
}

#[derive(Debug)]
struct Windows {
    current: Histogram<u64>,
    previous: Histogram<u64>,
    current_since: Instant,
    count: u64,
    sum_micros: u64,
}

/// What a scrape reports.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySnapshot {
    /// Seconds at each of [`QUANTILES`], over the window; NaN when the window saw no event.
    pub quantiles: [f64; 4],
    /// Events recorded since start.
    pub count: u64,
    /// Their latencies added up, in seconds.
    pub sum_seconds: f64,
}

impl LatencySummary {
    pub fn new() -> Self {
        let empty = || {
            Histogram::new_with_bounds(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS)
                .expect("constant histogram bounds are valid")
        };
        LatencySummary {
            state: Mutex::new(Windows {
                current: empty(),
                previous: empty(),
                current_since: Instant::now(),
                count: 0,
                sum_micros: 0,
            }),
        }
    }

    /// Records `events` events that all took `latency`.
    pub fn record(&self, latency: Duration, events: u64) {
        if events == 0 {
            return;
        }
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, HIGHEST_MICROS);
        let Ok(mut w) = self.state.lock() else {
            return;
        };
        w.rotate(Instant::now());
        let _ = w.current.record_n(micros, events);
        w.count += events;
        w.sum_micros = w.sum_micros.saturating_add(micros.saturating_mul(events));
    }

    /// The quantiles of the window, and the totals.
    pub fn snapshot(&self) -> LatencySnapshot {
        let Ok(mut w) = self.state.lock() else {
            return LatencySnapshot {
                quantiles: [f64::NAN; 4],
                count: 0,
                sum_seconds: 0.0,
            };
        };
        w.rotate(Instant::now());
        let mut window = w.previous.clone();
        let _ = window.add(&w.current);
        let quantiles = QUANTILES.map(|(q, _)| {
            if window.is_empty() {
                f64::NAN
            } else {
                window.value_at_quantile(q) as f64 / 1e6
            }
        });
        LatencySnapshot {
            quantiles,
            count: w.count,
            sum_seconds: w.sum_micros as f64 / 1e6,
        }
    }
}

impl Default for LatencySummary {
    fn default() -> Self {
        LatencySummary::new()
    }
}

impl Windows {
    /// Moves to the next window when the current one is [`WINDOW`] old; forgets both after two.
    fn rotate(&mut self, now: Instant) {
        let age = now.saturating_duration_since(self.current_since);
        if age < WINDOW {
            return;
        }
        if age < WINDOW * 2 {
            std::mem::swap(&mut self.previous, &mut self.current);
        } else {
            self.previous.reset();
        }
        self.current.reset();
        self.current_since = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_has_nan_quantiles() {
        let s = LatencySummary::new().snapshot();
        assert!(s.quantiles.iter().all(|q| q.is_nan()));
        assert_eq!(s.count, 0);
    }

    #[test]
    fn quantiles_count_and_sum() {
        let summary = LatencySummary::new();
        summary.record(Duration::from_millis(10), 90);
        summary.record(Duration::from_millis(500), 10);
        let s = summary.snapshot();
        assert_eq!(s.count, 100);
        assert!((s.sum_seconds - (0.9 + 5.0)).abs() < 1e-6, "{s:?}");
        assert!((s.quantiles[0] - 0.010).abs() < 0.0002, "{s:?}");
        assert!((s.quantiles[2] - 0.5).abs() < 0.006, "{s:?}");
    }

    #[test]
    fn huge_latency_is_clamped_not_lost() {
        let summary = LatencySummary::new();
        summary.record(Duration::from_secs(30 * 24 * 3600), 1);
        let s = summary.snapshot();
        assert_eq!(s.count, 1);
        assert!(s.quantiles[0] >= 7.0 * 24.0 * 3600.0 * 0.99, "{s:?}");
    }

    #[test]
    fn windows_rotate_and_expire() {
        let summary = LatencySummary::new();
        summary.record(Duration::from_millis(10), 5);
        let mut w = summary.state.lock().unwrap();
        let start = w.current_since;
        w.rotate(start + WINDOW);
        assert_eq!(w.previous.len(), 5);
        assert_eq!(w.current.len(), 0);
        w.rotate(start + WINDOW * 4);
        assert_eq!(w.previous.len(), 0);
        assert_eq!(w.count, 5);
    }
}
