//! Syslog sink: writes already-framed batches to a collector over TCP or TLS, reconnecting with backoff.
//!
//! Acknowledgement: a batch is acknowledged once the collector's TCP stack has acknowledged every
//! byte of it. Each batch is written and flushed on its own, and remembered with the count of bytes
//! on the wire at its end (ciphertext for TLS, counted at the socket); the kernel tells how many
//! written bytes are still unacknowledged (`SIOCOUTQ`), and the batches whose end lies within the
//! acknowledged part are released, oldest first. The sink asks after every write and, while batches
//! wait, on a timer backing off from 1 ms to 50 ms. Syslog has no application-level
//! acknowledgement, so this is the strongest promise available: it does not cover a collector that
//! acknowledged at TCP level and crashed before storing the data (see docs/RELIABILITY.md).
//!
//! On a broken connection every batch not acknowledged is written again, in order, from its start, on
//! the next connection: only bytes the collector received but whose acknowledgement we could not see
//! arrive twice. Unacknowledged bytes are bounded by `max_unacked_bytes` (one batch may exceed it), so
//! the batches held for a resend are bounded too. A batch is never dropped; when the sink is aborted,
//! what was not acknowledged is simply left unacknowledged.
//!
//! The sink frames nothing: [`EncodedBatch::bytes`] already holds complete frames (RFC 5424 envelope,
//! payload and LF or octet-counting framing), so rewriting a batch never splits or merges events.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use rustls_pki_types::ServerName;
use socket2::TcpKeepalive;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::{sleep, timeout, timeout_at, Instant};
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::connection::{Connection, ACK_POLL_MAX, ACK_POLL_MIN};
use super::tls;
use crate::batch::{BatchReceiver, EncodedBatch};
use crate::config::{SyslogSinkConfig, Transport};
use crate::metrics::SinkMetrics;

/// A sink that ships encoded batches to one syslog collector.
pub struct SyslogSink {
    name: String,
    address: String,
    /// The connector and the name the collector's certificate must match; `None` for plain TCP.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    keepalive: TcpKeepalive,
    connect_timeout: Duration,
    close_timeout: Duration,
    max_unacked_bytes: usize,
    backoff: Backoff,
    metrics: Arc<SinkMetrics>,
}

/// What became of writing one batch.
enum Written {
    /// Written and flushed; the batch ends at this count of bytes on the wire.
    Ended(u64),
    /// The connection failed; the batch must be written again on another one.
    Failed(io::Error),
    /// Aborted; the write finished before `deadline` (at `Some` count) or not.
    Aborted {
        ended: Option<u64>,
        deadline: Instant,
    },
}

/// A batch written on the current connection, waiting for the collector's TCP acknowledgement.
struct InFlight {
    batch: Arc<EncodedBatch>,
    /// Bytes written to the socket up to the end of this batch.
    end: u64,
}

/// The batches a sink holds: written but unacknowledged, and not yet written, each oldest first.
///
/// Invariant: `in_flight` were written on the current connection in this order, before anything in
/// `queued`; `in_flight_bytes` is the sum of their sizes.
#[derive(Default)]
struct Held {
    in_flight: VecDeque<InFlight>,
    in_flight_bytes: usize,
    queued: VecDeque<Arc<EncodedBatch>>,
}

impl Held {
    /// Acknowledges every in-flight batch that ends within the first `acked` bytes, counting them
    /// as delivered in `metrics`; returns how many.
    fn release(&mut self, acked: u64, metrics: &SinkMetrics) -> usize {
        let (mut released, mut events, mut bytes) = (0, 0, 0);
        while let Some(first) = self.in_flight.front() {
            if first.end > acked {
                break;
            }
            if let Some(done) = self.in_flight.pop_front() {
                self.in_flight_bytes -= done.batch.bytes.len();
                events += done.batch.events;
                bytes += done.batch.bytes.len();
                done.batch.ack();
                released += 1;
            }
        }
        if released > 0 {
            metrics.delivered(released, events, bytes);
        }
        released
    }

    /// The connection is gone: what it did not acknowledge goes back in front of the queue.
    fn requeue(&mut self) {
        while let Some(unacked) = self.in_flight.pop_back() {
            self.queued.push_front(unacked.batch);
        }
        self.in_flight_bytes = 0;
    }

    fn is_empty(&self) -> bool {
        self.in_flight.is_empty() && self.queued.is_empty()
    }

    fn len(&self) -> usize {
        self.in_flight.len() + self.queued.len()
    }
}

impl SyslogSink {
    /// Reads certificates/keys and builds the TLS client config; a missing or bad file is an error now, not at first connect.
    pub fn new(name: &str, config: &SyslogSinkConfig) -> anyhow::Result<SyslogSink> {
        let tls = match config.transport {
            Transport::Tcp => {
                let t = &config.tls;
                if t.ca_file.is_some() || t.cert_file.is_some() || t.server_name.is_some() {
                    tracing::warn!(
                        sink = name,
                        "transport is tcp: the tls settings are ignored"
                    );
                }
                None
            }
            Transport::Tls => {
                let client =
                    tls::client_config(&config.tls).with_context(|| format!("sink {name:?}"))?;
                let server_name = tls::server_name(&config.tls, config.host())
                    .with_context(|| format!("sink {name:?}"))?;
                Some((TlsConnector::from(client), server_name))
            }
        };
        let keepalive = TcpKeepalive::new()
            .with_time(config.keepalive_time)
            .with_interval(config.keepalive_interval)
            .with_retries(config.keepalive_probes);
        Ok(SyslogSink {
            name: name.to_string(),
            address: config.address.get_ref().clone(),
            tls,
            keepalive,
            connect_timeout: config.connect_timeout,
            close_timeout: config.close_timeout,
            max_unacked_bytes: config.max_unacked_bytes,
            backoff: Backoff::new(config.reconnect_min, config.reconnect_max),
            metrics: Arc::new(SinkMetrics::new(config.queue_batches)),
        })
    }

    /// This sink's metrics, for the registry.
    pub fn metrics(&self) -> Arc<SinkMetrics> {
        Arc::clone(&self.metrics)
    }

    /// Runs until `input` is closed and everything received has been written (then closes gracefully,
    /// acknowledging what the collector acknowledged by then), or until `abort` is cancelled (then
    /// closes as gracefully as it can within close_timeout). What is not acknowledged at the end stays
    /// unacknowledged: its source reads it again after a restart.
    pub async fn run(mut self, mut input: BatchReceiver, abort: CancellationToken) {
        let name = self.name.clone();
        let mut held = Held::default();
        let mut conn: Option<Connection> = None;
        let mut input_open = true;
        let mut poll = Backoff::new(ACK_POLL_MIN, ACK_POLL_MAX);
        let mut close_deadline = None;
        loop {
            if let Some(c) = &conn {
                match c.acked() {
                    Ok(acked) => {
                        if held.release(acked, &self.metrics) > 0 {
                            poll.reset();
                        }
                    }
                    Err(e) => {
                        tracing::warn!(sink = %name, "cannot tell what the collector acknowledged: {e}; reconnecting");
                        if let Some(c) = conn.take() {
                            self.retire(c, &mut held).await;
                            self.metrics.failed();
                        }
                    }
                }
            }
            if input_open && held.queued.is_empty() {
                match input.try_recv() {
                    Ok(batch) => held.queued.push_back(batch),
                    Err(TryRecvError::Empty) => {}
                    Err(TryRecvError::Disconnected) => input_open = false,
                }
            }

            // A collector that closed the connection gets the next write on a fresh one, not into the void.
            if let Some(mut c) = conn.take_if(|c| c.peer_closed()) {
                let why = c.reader_outcome().await;
                tracing::info!(sink = %name, unacknowledged = held.in_flight.len(), "the collector closed the connection ({why:#})");
                let unused = !c.used;
                self.retire(c, &mut held).await;
                if unused && !self.pause(&abort).await {
                    break;
                }
                continue;
            }

            let room = held.in_flight.is_empty() || held.in_flight_bytes < self.max_unacked_bytes;
            if room {
                if let Some(batch) = held.queued.pop_front() {
                    let mut c = match conn.take() {
                        Some(c) => c,
                        None => match self.connect_retrying(&abort).await {
                            Some(c) => c,
                            None => {
                                held.queued.push_front(batch);
                                break;
                            }
                        },
                    };
                    match self.write(&mut c, &batch, &abort).await {
                        Written::Ended(end) => {
                            held.in_flight_bytes += batch.bytes.len();
                            held.in_flight.push_back(InFlight { batch, end });
                            self.backoff.reset();
                            poll.reset();
                            c.used = true;
                            conn = Some(c);
                        }
                        Written::Failed(e) => {
                            held.queued.push_front(batch);
                            tracing::warn!(
                                sink = %name, address = %self.address, unacknowledged = held.len(),
                                "writing to the collector failed: {e}; reconnecting to write the unacknowledged batches again"
                            );
                            self.retire(c, &mut held).await;
                            self.metrics.failed();
                            if !self.pause(&abort).await {
                                break;
                            }
                        }
                        Written::Aborted { ended, deadline } => {
                            match ended {
                                Some(end) => {
                                    held.in_flight_bytes += batch.bytes.len();
                                    held.in_flight.push_back(InFlight { batch, end });
                                }
                                None => held.queued.push_front(batch),
                            }
                            conn = Some(c);
                            close_deadline = Some(deadline);
                            break;
                        }
                    }
                    continue;
                }
            }
            if held.queued.is_empty() && !input_open {
                // Everything written: the graceful close below waits for the acknowledgements.
                break;
            }

            enum Wake {
                Abort,
                PeerClosed,
                Batch(Option<Arc<EncodedBatch>>),
                Poll,
            }
            let waiting = !held.in_flight.is_empty();
            let delay = if waiting {
                poll.next_delay()
            } else {
                ACK_POLL_MAX
            };
            let wake = tokio::select! {
                biased;
                () = abort.cancelled() => Wake::Abort,
                () = peer_closed(conn.as_ref()) => Wake::PeerClosed,
                next = input.recv(), if input_open && held.queued.is_empty() => Wake::Batch(next),
                () = sleep(delay), if waiting => Wake::Poll,
            };
            match wake {
                Wake::Abort => break,
                Wake::Batch(Some(batch)) => held.queued.push_back(batch),
                Wake::Batch(None) => input_open = false,
                Wake::PeerClosed | Wake::Poll => {}
            }
        }
        if let Some(c) = conn {
            let deadline = close_deadline.unwrap_or_else(|| Instant::now() + self.close_timeout);
            held.release(c.close(deadline, &name).await, &self.metrics);
        }
        self.metrics.disconnected();
        if held.is_empty() {
            tracing::info!(sink = %name, "stopped");
        } else {
            tracing::warn!(sink = %name, unacknowledged = held.len(), "stopped with batches the collector has not acknowledged; they are read again at the next start");
        }
    }

    /// Closes a connection that failed or that the collector closed, acknowledges what it
    /// acknowledged by then, and queues the rest to be written again on the next connection.
    async fn retire(&self, c: Connection, held: &mut Held) {
        let acked = c
            .close(Instant::now() + self.close_timeout, &self.name)
            .await;
        held.release(acked, &self.metrics);
        self.metrics.disconnected();
        if !held.in_flight.is_empty() {
            tracing::info!(sink = %self.name, batches = held.in_flight.len(), "writing the batches the collector did not acknowledge again");
        }
        held.requeue();
    }

    /// Writes one batch and flushes it. On abort, the write in flight may still finish within
    /// close_timeout (a clean end beats a truncated frame); the rest of that time is left for closing.
    async fn write(
        &self,
        c: &mut Connection,
        batch: &EncodedBatch,
        abort: &CancellationToken,
    ) -> Written {
        let write = c.write_batch(&batch.bytes);
        tokio::pin!(write);
        tokio::select! {
            result = &mut write => match result {
                Ok(end) => Written::Ended(end),
                Err(e) => Written::Failed(e),
            },
            () = abort.cancelled() => {
                let deadline = Instant::now() + self.close_timeout;
                let ended = match timeout_at(deadline, write).await {
                    Ok(Ok(end)) => Some(end),
                    _ => None,
                };
                Written::Aborted { ended, deadline }
            }
        }
    }

    /// Connects, retrying with backoff until it works; `None` when aborted.
    async fn connect_retrying(&mut self, abort: &CancellationToken) -> Option<Connection> {
        loop {
            let attempt = tokio::select! {
                biased;
                () = abort.cancelled() => return None,
                attempt = timeout(self.connect_timeout, Connection::open(&self.address, self.tls.as_ref(), &self.keepalive)) => attempt,
            };
            let error = match attempt {
                Ok(Ok(c)) => {
                    tracing::info!(sink = %self.name, address = %self.address, "connected");
                    self.metrics.connected();
                    return Some(c);
                }
                Ok(Err(e)) => e,
                Err(_) => anyhow!(
                    "no connection within connect_timeout ({:?})",
                    self.connect_timeout
                ),
            };
            self.metrics.failed();
            let delay = self.backoff.next_delay();
            if is_tls_rejection(&error) {
                tracing::error!(
                    sink = %self.name, address = %self.address,
                    "TLS connection refused: {error:#}; check the certificates and tls settings; retrying in {delay:?}"
                );
            } else {
                tracing::warn!(
                    sink = %self.name, address = %self.address,
                    "cannot connect: {error:#}; retrying in {delay:?}"
                );
            }
            if !sleep_unless(abort, delay).await {
                return None;
            }
        }
    }

    /// Waits the next backoff delay; `false` if aborted meanwhile.
    async fn pause(&mut self, abort: &CancellationToken) -> bool {
        sleep_unless(abort, self.backoff.next_delay()).await
    }
}

/// Sleeps `delay`; `false` if `abort` was cancelled first.
async fn sleep_unless(abort: &CancellationToken, delay: Duration) -> bool {
    tokio::select! {
        biased;
        () = abort.cancelled() => false,
        () = sleep(delay) => true,
    }
}

/// Completes when the collector closes `conn`; never without a connection.
async fn peer_closed(conn: Option<&Connection>) {
    match conn {
        Some(c) => c.closed_by_peer().await,
        None => std::future::pending().await,
    }
}

/// Whether a connection failed because TLS refused it (certificate, name, alert), not the network.
fn is_tls_rejection(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.is::<rustls::Error>()
            || e.downcast_ref::<io::Error>()
                .and_then(|e| e.get_ref())
                .is_some_and(|inner| inner.is::<rustls::Error>())
    })
}
