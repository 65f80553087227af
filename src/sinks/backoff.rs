//! Capped exponential backoff with jitter, for sinks that reconnect after a failure.
//!
//! The first wait is about `min`; every further consecutive failure doubles it up to `max`. Each wait
//! is drawn from `[base / 2, base]` ("equal jitter"), so agents that lost the same collector at the
//! same moment do not all come back at once, and no wait ever exceeds `max`. It sends nothing, so it
//! has no acknowledgement semantics of its own: waiting never acknowledges or drops a batch.

use std::time::Duration;

/// The state of one reconnect loop.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    /// The base of the last wait handed out; `None` after a success.
    current: Option<Duration>,
}

impl Backoff {
    /// A backoff starting at `min` and doubling up to `max` (`min` is raised to `max` if larger).
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min: min.min(max),
            max,
            current: None,
        }
    }

    /// Records a failure and returns how long to wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let base = match self.current {
            None => self.min,
            Some(last) => last.saturating_mul(2).min(self.max),
        };
        self.current = Some(base);
        let half = base / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// Consecutive failures so far.
    pub fn failing(&self) -> bool {
        self.current.is_some()
    }

    /// Records a success: the next failure waits about `min` again.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_jitter() {
        let min = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        let mut b = Backoff::new(min, max);
        let mut bases = Vec::new();
        for _ in 0..8 {
            let d = b.next_delay();
            let base = b.current.unwrap_or_default();
            assert!(
                d >= base / 2 && d <= base,
                "{d:?} outside [{:?}, {base:?}]",
                base / 2
            );
            bases.push(base.as_millis());
        }
        assert_eq!(bases, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
        assert!(b.failing());
        b.reset();
        assert!(!b.failing());
        b.next_delay();
        assert_eq!(b.current, Some(min));
    }
}
