//! `StopHandle`: how the pipeline asks a source thread to stop after the chunk it is on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

/// Tells a running source thread to stop.
#[derive(Debug, Clone)]
pub struct StopHandle {
    pub(super) stop: Arc<AtomicBool>,
    /// Wakes a source that sleeps between reads.
    pub(super) wake: Option<SyncSender<()>>,
}

impl StopHandle {
    /// A handle for a source that checks the returned flag between chunks and never sleeps long.
    pub fn new() -> (StopHandle, Arc<AtomicBool>) {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = StopHandle {
            stop: Arc::clone(&stop),
            wake: None,
        };
        (handle, stop)
    }

    /// Asks the source to stop after the chunk it is on; it returns from its `run` soon after.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }
}
