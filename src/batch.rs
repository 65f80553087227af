//! Batches on their way to the sinks, and the acknowledgement token they carry back.
//!
//! A source reads a chunk, the processing stage turns its records into one encoded buffer per wire
//! format, and every sink that takes the source receives an [`EncodedBatch`] sharing a single
//! [`AckToken`]. When the last of those sinks calls [`EncodedBatch::ack`], the token hands the batch's
//! [`Receipt`] (for file sources: the range to the checkpoint store). A batch that is dropped
//! without being acknowledged reports nothing: its source position never advances, so after a restart
//! it is read again (a duplicate, never a loss).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

use crate::checkpoint::FileRange;
use crate::metrics::DeliveryTiming;
use crate::routing::EventIndex;

/// What a fully acknowledged batch of a file source proves was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Bytes `range.start..range.end` of one file have reached every sink.
    File(FileRange),
}

/// What to do once every sink has acknowledged a batch: advance a file checkpoint, answer an
/// HTTP request, commit a Kafka offset. Dropped without [`Receipt::send`], it does nothing, so the
/// source's position never advances over a batch that was not delivered.
pub struct Receipt(Box<dyn FnOnce() + Send>);

impl Receipt {
    /// Runs `on_delivered` once the batch is delivered.
    pub fn new(on_delivered: impl FnOnce() + Send + 'static) -> Self {
        Receipt(Box::new(on_delivered))
    }

    /// Reports `range` to the checkpoint store behind `to`. The receiver is gone only during
    /// shutdown, after the last checkpoint was written; the data is then simply read again on the
    /// next start.
    pub fn checkpoint(range: FileRange, to: UnboundedSender<Delivered>) -> Self {
        Receipt::new(move || {
            let _ = to.send(Delivered::File(range));
        })
    }

    /// Reports the delivery.
    pub fn send(self) {
        (self.0)();
    }
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receipt")
    }
}

/// The acknowledgement shared by every copy of one batch.
///
/// Invariant: created with the number of sinks that will receive the batch; each of them calls
/// [`AckToken::ack`] exactly once, after the batch is delivered by that sink's own definition.
#[derive(Debug, Clone)]
pub struct AckToken(Arc<AckState>);

#[derive(Debug)]
struct AckState {
    remaining: AtomicUsize,
    receipt: Mutex<Option<Receipt>>,
    /// Records the end-to-end latency at the last acknowledgement.
    timing: Option<DeliveryTiming>,
}

impl AckToken {
    /// A token that reports `receipt` after `sinks` acknowledgements.
    pub fn new(sinks: usize, receipt: Receipt) -> Self {
        AckToken(Arc::new(AckState {
            remaining: AtomicUsize::new(sinks),
            receipt: Mutex::new(Some(receipt)),
            timing: None,
        }))
    }

    /// Like [`AckToken::new`], and the last acknowledgement records the batch's latency.
    pub fn timed(sinks: usize, receipt: Receipt, timing: DeliveryTiming) -> Self {
        AckToken(Arc::new(AckState {
            remaining: AtomicUsize::new(sinks),
            receipt: Mutex::new(Some(receipt)),
            timing: Some(timing),
        }))
    }

    /// Records one sink's acknowledgement; the last one sends the receipt.
    pub fn ack(&self) {
        if self.0.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(timing) = &self.0.timing {
                timing.record();
            }
            let receipt = match self.0.receipt.lock() {
                Ok(mut guard) => guard.take(),
                Err(poisoned) => poisoned.into_inner().take(),
            };
            if let Some(receipt) = receipt {
                receipt.send();
            }
        }
    }
}

/// Encoded, framed events ready to be written to one kind of sink.
///
/// Invariant: `bytes` holds exactly `events` complete frames (each event's envelope, payload and
/// framing), so a sink may write it as is, and write it again after a reconnect.
#[derive(Debug)]
pub struct EncodedBatch {
    pub bytes: Bytes,
    pub events: usize,
    pub ack: AckToken,
    /// Where each event lies and where it goes, for sinks that send events one by one (Kafka);
    /// `None` for sinks that write whole batches.
    pub index: Option<EventIndex>,
}

impl EncodedBatch {
    /// Acknowledges this copy of the batch; see [`AckToken::ack`].
    pub fn ack(&self) {
        self.ack.ack();
    }
}

/// The sending half of a sink's input: bounded, so a slow sink stops the sources that feed it.
pub type BatchSender = tokio::sync::mpsc::Sender<Arc<EncodedBatch>>;
/// The receiving half of a sink's input.
pub type BatchReceiver = tokio::sync::mpsc::Receiver<Arc<EncodedBatch>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{FileId, FileRange};

    fn receipt() -> (Receipt, tokio::sync::mpsc::UnboundedReceiver<Delivered>) {
        let (to, rx) = tokio::sync::mpsc::unbounded_channel();
        let range = FileRange {
            file: FileId {
                dev: 1,
                ino: 2,
                fingerprint: 3,
            },
            epoch: 0,
            start: 0,
            end: 10,
        };
        (Receipt::checkpoint(range, to), rx)
    }

    #[test]
    fn reports_only_after_the_last_sink() {
        let (receipt, mut rx) = receipt();
        let token = AckToken::new(2, receipt);
        token.ack();
        assert!(rx.try_recv().is_err());
        token.clone().ack();
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn dropped_without_ack_reports_nothing() {
        let (receipt, mut rx) = receipt();
        drop(AckToken::new(1, receipt));
        assert!(rx.try_recv().is_err());
    }
}
