//! `ConsoleSink`: encoded events on stdout, one per line.
//!
//! Acknowledgement: a batch is acknowledged once it has been written to stdout and flushed. If stdout
//! fails (a closed pipe), the sink logs it and stops; its unacknowledged batches are read again after
//! a restart.

use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use crate::batch::BatchReceiver;
use crate::metrics::SinkMetrics;

/// The queue capacity of a console sink, in batches.
pub const QUEUE_BATCHES: usize = 4;

/// Writes batches to stdout.
#[derive(Debug)]
pub struct ConsoleSink {
    name: String,
    metrics: Arc<SinkMetrics>,
}

impl ConsoleSink {
    pub fn new(name: &str) -> Self {
        ConsoleSink {
            name: name.to_string(),
            metrics: Arc::new(SinkMetrics::new(QUEUE_BATCHES)),
        }
    }

    /// This sink's metrics, for the registry; "connected" while stdout takes writes.
    pub fn metrics(&self) -> Arc<SinkMetrics> {
        Arc::clone(&self.metrics)
    }

    /// Runs until `input` is closed and drained, or `abort` is cancelled.
    pub async fn run(self, mut input: BatchReceiver, abort: CancellationToken) {
        let mut stdout = tokio::io::stdout();
        self.metrics.connected();
        loop {
            let batch = tokio::select! {
                batch = input.recv() => match batch {
                    Some(batch) => batch,
                    None => break,
                },
                () = abort.cancelled() => break,
            };
            let written = async {
                stdout.write_all(&batch.bytes).await?;
                stdout.flush().await
            };
            if let Err(e) = written.await {
                tracing::error!(sink = %self.name, error = %e, "cannot write to stdout; stopping this sink");
                self.metrics.failed();
                break;
            }
            batch.ack();
            self.metrics.delivered(1, batch.events, batch.bytes.len());
        }
    }
}
