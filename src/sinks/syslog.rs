//! Syslog sink: writes already-framed batches to a collector over TCP or TLS, reconnecting with backoff.
//!
//! Acknowledgement: a batch is acknowledged when all of its bytes have been written to the connection
//! and flushed (for TLS: encrypted and handed to the kernel). Syslog over TCP has no application-level
//! acknowledgement, so that is the strongest promise available. A batch whose write fails is written
//! again from its beginning on a new connection, so a batch that was partly written may arrive twice;
//! no batch is ever dropped unless the sink is aborted, and then it is simply left unacknowledged.
//!
//! The sink frames nothing: [`EncodedBatch::bytes`] already holds complete frames (RFC 5424 envelope,
//! payload and LF or octet-counting framing), so rewriting a batch never splits or merges events.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use rustls_pki_types::ServerName;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::{sleep, timeout, timeout_at, Instant};
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::connection::Connection;
use super::tls;
use crate::batch::{BatchReceiver, EncodedBatch};
use crate::config::{SyslogSinkConfig, Transport};
use crate::metrics::SinkMetrics;

/// Coalescing stops taking more ready batches once this many bytes wait for one flush.
const MAX_COALESCE_BYTES: usize = 4 << 20;

/// A sink that ships encoded batches to one syslog collector.
pub struct SyslogSink {
    name: String,
    address: String,
    /// The connector and the name the collector's certificate must match; `None` for plain TCP.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    connect_timeout: Duration,
    close_timeout: Duration,
    backoff: Backoff,
    metrics: Arc<SinkMetrics>,
}

/// What became of one attempt to write the unacknowledged batches.
enum Written {
    /// Everything written and flushed.
    All,
    /// The connection failed; nothing of this attempt counts as written.
    Failed(io::Error),
    /// Aborted; `flushed` if the write still completed before `deadline`.
    Aborted { flushed: bool, deadline: Instant },
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
        Ok(SyslogSink {
            name: name.to_string(),
            address: config.address.get_ref().clone(),
            tls,
            connect_timeout: config.connect_timeout,
            close_timeout: config.close_timeout,
            backoff: Backoff::new(config.reconnect_min, config.reconnect_max),
            metrics: Arc::new(SinkMetrics::new(config.queue_batches)),
        })
    }

    /// This sink's metrics, for the registry.
    pub fn metrics(&self) -> Arc<SinkMetrics> {
        Arc::clone(&self.metrics)
    }

    /// Acknowledges every pending batch and counts it as delivered.
    fn acknowledge(&self, pending: &mut VecDeque<Arc<EncodedBatch>>) {
        let (mut events, mut bytes) = (0, 0);
        for batch in &*pending {
            events += batch.events;
            bytes += batch.bytes.len();
            batch.ack();
        }
        self.metrics.delivered(pending.len(), events, bytes);
        pending.clear();
    }

    /// Runs until `input` is closed and everything received has been written (then closes gracefully), or until `abort` is cancelled (then closes as gracefully as it can within close_timeout, leaving unwritten batches unacknowledged).
    pub async fn run(mut self, mut input: BatchReceiver, abort: CancellationToken) {
        let name = self.name.clone();
        // Received but not yet acknowledged, oldest first: written again after a failed write.
        let mut pending: VecDeque<Arc<EncodedBatch>> = VecDeque::new();
        let mut conn: Option<Connection> = None;
        let mut input_open = true;
        loop {
            if pending.is_empty() {
                if !input_open {
                    break;
                }
                enum Idle {
                    Abort,
                    PeerClosed,
                    Batch(Option<Arc<EncodedBatch>>),
                }
                let idle = tokio::select! {
                    biased;
                    () = abort.cancelled() => Idle::Abort,
                    () = peer_closed(conn.as_ref()) => Idle::PeerClosed,
                    next = input.recv() => Idle::Batch(next),
                };
                match idle {
                    Idle::Abort => break,
                    Idle::PeerClosed => {
                        if let Some(mut c) = conn.take() {
                            let why = c.reader_outcome().await;
                            tracing::info!(sink = %name, "the collector closed the idle connection ({why:#})");
                            self.metrics.disconnected();
                            c.close(Instant::now() + self.close_timeout, &name).await;
                        }
                        continue;
                    }
                    Idle::Batch(Some(batch)) => pending.push_back(batch),
                    Idle::Batch(None) => {
                        input_open = false;
                        continue;
                    }
                }
            }
            input_open &= take_ready(&mut input, &mut pending);

            // A collector that closed the connection gets the next write on a fresh one, not into the void.
            if let Some(mut c) = conn.take_if(|c| c.peer_closed()) {
                let why = c.reader_outcome().await;
                tracing::info!(sink = %name, "the collector closed the connection ({why:#}); reconnecting");
                self.metrics.disconnected();
                let unused = !c.used;
                c.close(Instant::now() + self.close_timeout, &name).await;
                if unused && !self.pause(&abort).await {
                    break;
                }
            }
            let mut c = match conn.take() {
                Some(c) => c,
                None => match self.connect_retrying(&abort).await {
                    Some(c) => c,
                    None => break,
                },
            };
            match self.write(&mut c, &pending, &abort).await {
                Written::All => {
                    tracing::trace!(sink = %name, batches = pending.len(), "written");
                    self.acknowledge(&mut pending);
                    self.backoff.reset();
                    c.used = true;
                    conn = Some(c);
                }
                Written::Failed(e) => {
                    tracing::warn!(
                        sink = %name, address = %self.address, batches = pending.len(),
                        "writing to the collector failed: {e}; reconnecting to write the batches again"
                    );
                    self.metrics.failed();
                    c.close(Instant::now() + self.close_timeout, &name).await;
                    if !self.pause(&abort).await {
                        break;
                    }
                }
                Written::Aborted { flushed, deadline } => {
                    if flushed {
                        self.acknowledge(&mut pending);
                    }
                    c.close(deadline, &name).await;
                    break;
                }
            }
        }
        if let Some(c) = conn {
            c.close(Instant::now() + self.close_timeout, &name).await;
        }
        self.metrics.disconnected();
        if pending.is_empty() {
            tracing::info!(sink = %name, "stopped");
        } else {
            tracing::warn!(sink = %name, unacknowledged = pending.len(), "aborted with batches unwritten");
        }
    }

    /// Writes every pending batch and flushes once. On abort, the write in flight may still finish within
    /// close_timeout (a clean end beats a truncated frame); the rest of that time is left for closing.
    async fn write(
        &self,
        c: &mut Connection,
        pending: &VecDeque<Arc<EncodedBatch>>,
        abort: &CancellationToken,
    ) -> Written {
        let write = c.write_all(pending);
        tokio::pin!(write);
        tokio::select! {
            result = &mut write => match result {
                Ok(()) => Written::All,
                Err(e) => Written::Failed(e),
            },
            () = abort.cancelled() => {
                let deadline = Instant::now() + self.close_timeout;
                let flushed = matches!(timeout_at(deadline, write).await, Ok(Ok(())));
                Written::Aborted { flushed, deadline }
            }
        }
    }

    /// Connects, retrying with backoff until it works; `None` when aborted.
    async fn connect_retrying(&mut self, abort: &CancellationToken) -> Option<Connection> {
        loop {
            let attempt = tokio::select! {
                biased;
                () = abort.cancelled() => return None,
                attempt = timeout(self.connect_timeout, Connection::open(&self.address, self.tls.as_ref())) => attempt,
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

/// Moves batches that are ready right now into `pending`, up to [`MAX_COALESCE_BYTES`] in all.
/// Returns `false` if the input turned out to be closed.
fn take_ready(input: &mut BatchReceiver, pending: &mut VecDeque<Arc<EncodedBatch>>) -> bool {
    let mut bytes: usize = pending.iter().map(|b| b.bytes.len()).sum();
    while bytes < MAX_COALESCE_BYTES {
        match input.try_recv() {
            Ok(batch) => {
                bytes += batch.bytes.len();
                pending.push_back(batch);
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => return false,
        }
    }
    true
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
