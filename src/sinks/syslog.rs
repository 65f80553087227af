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
use tokio::io::{
    AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter, ReadHalf, WriteHalf,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, timeout_at, Instant};
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::tls;
use crate::batch::{BatchReceiver, EncodedBatch};
use crate::config::{SyslogSinkConfig, Transport};

/// Coalescing stops taking more ready batches once this many bytes wait for one flush.
const MAX_COALESCE_BYTES: usize = 4 << 20;
/// Small batches are gathered into writes of up to this size.
const WRITE_BUFFER_BYTES: usize = 64 << 10;

/// A sink that ships encoded batches to one syslog collector.
pub struct SyslogSink {
    name: String,
    address: String,
    /// The connector and the name the collector's certificate must match; `None` for plain TCP.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    connect_timeout: Duration,
    close_timeout: Duration,
    backoff: Backoff,
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
        })
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
                        tracing::info!(sink = %name, "the collector closed the idle connection");
                        if let Some(c) = conn.take() {
                            c.close(Instant::now() + self.close_timeout).await;
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
            if let Some(c) = conn.take_if(|c| c.peer_closed()) {
                tracing::info!(sink = %name, "the collector closed the connection; reconnecting");
                let unused = !c.used;
                c.close(Instant::now() + self.close_timeout).await;
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
                    pending.drain(..).for_each(|b| b.ack());
                    self.backoff.reset();
                    c.used = true;
                    conn = Some(c);
                }
                Written::Failed(e) => {
                    tracing::warn!(
                        sink = %name, address = %self.address, batches = pending.len(),
                        "writing to the collector failed: {e}; reconnecting to write the batches again"
                    );
                    c.close(Instant::now() + self.close_timeout).await;
                    if !self.pause(&abort).await {
                        break;
                    }
                }
                Written::Aborted { flushed, deadline } => {
                    if flushed {
                        pending.drain(..).for_each(|b| b.ack());
                    }
                    c.close(deadline).await;
                    break;
                }
            }
        }
        if let Some(c) = conn {
            c.close(Instant::now() + self.close_timeout).await;
        }
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
                attempt = timeout(self.connect_timeout, self.connect()) => attempt,
            };
            let error = match attempt {
                Ok(Ok(c)) => {
                    tracing::info!(sink = %self.name, address = %self.address, "connected");
                    return Some(c);
                }
                Ok(Err(e)) => e,
                Err(_) => anyhow!(
                    "no connection within connect_timeout ({:?})",
                    self.connect_timeout
                ),
            };
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

    /// One connection attempt: TCP connect, then the TLS handshake with full verification.
    async fn connect(&self) -> anyhow::Result<Connection> {
        let started = Instant::now();
        let tcp = TcpStream::connect(&self.address)
            .await
            .context("TCP connect")?;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(sink = %self.name, "cannot set TCP_NODELAY: {e}");
        }
        let Some((connector, server_name)) = &self.tls else {
            return Ok(Connection::new(Box::new(tcp)));
        };
        let round_trip = started.elapsed();
        let stream = connector
            .connect(server_name.clone(), tcp)
            .await
            .context("TLS handshake")?;
        let tls13 = stream.get_ref().1.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        let mut conn = Connection::new(Box::new(stream));
        if tls13 {
            // In TLS 1.3 our handshake is complete before the collector has judged our client certificate
            // (or its absence): a rejection arrives as an alert one round trip later. Wait that long, so a
            // refused connection is an error here rather than a batch written into it and acknowledged.
            let settle = round_trip * 2 + Duration::from_millis(20);
            if timeout(settle, conn.eof.cancelled()).await.is_ok() {
                let why = conn.reader_outcome().await;
                return Err(
                    why.context("the collector closed the connection after the TLS handshake")
                );
            }
        }
        Ok(conn)
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
        Some(c) => c.eof.cancelled().await,
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

/// A byte stream to the collector: plain TCP or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Stream for T {}

/// One connection, written by the sink and read for its whole life by a task of its own.
///
/// The reader discards what arrives. It exists because a connection nobody reads goes wrong in two
/// ways: TLS 1.3 session tickets and alerts pile up unread (see [`Connection::close`]), and a
/// collector that closed its side goes unnoticed until a write fails, by which time batches written
/// into the dead connection have already been acknowledged.
struct Connection {
    writer: BufWriter<WriteHalf<Box<dyn Stream>>>,
    /// Cancelled when the reader saw end of stream or an error.
    eof: CancellationToken,
    reader: JoinHandle<Option<io::Error>>,
    /// Something has been written and flushed on this connection.
    used: bool,
}

impl Connection {
    fn new(stream: Box<dyn Stream>) -> Self {
        let (read, write) = tokio::io::split(stream);
        let eof = CancellationToken::new();
        let reader = tokio::spawn(drain(read, eof.clone()));
        Connection {
            writer: BufWriter::with_capacity(WRITE_BUFFER_BYTES, write),
            eof,
            reader,
            used: false,
        }
    }

    fn peer_closed(&self) -> bool {
        self.eof.is_cancelled()
    }

    /// Writes the batches in order and flushes them to the socket.
    async fn write_all(&mut self, batches: &VecDeque<Arc<EncodedBatch>>) -> io::Result<()> {
        for batch in batches {
            self.writer.write_all(&batch.bytes).await?;
        }
        self.writer.flush().await
    }

    /// Why the reader stopped; waits for it to stop.
    async fn reader_outcome(&mut self) -> anyhow::Error {
        match (&mut self.reader).await {
            Ok(Some(e)) => anyhow::Error::new(e),
            Ok(None) => anyhow!("end of stream"),
            Err(e) => anyhow!("connection reader failed: {e}"),
        }
    }

    /// Closes gracefully, giving up at `deadline`: flush, TLS close_notify and TCP FIN (shutdown of the
    /// write side), then keep reading until the collector closes its side.
    ///
    /// Why wait for the collector: closing a socket whose receive buffer still holds unread bytes (a TLS
    /// 1.3 session ticket, an alert, anything the collector sent) makes our kernel send RST instead of
    /// FIN, and a RST makes the collector's kernel discard data it had already acknowledged to us but
    /// its application had not read yet. The last batches, already acknowledged here, would vanish.
    async fn close(mut self, deadline: Instant) {
        match timeout_at(deadline, self.writer.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!("closing the connection: {e}"),
            Err(_) => tracing::debug!("closing the connection: flush timed out"),
        }
        if timeout_at(deadline, self.eof.cancelled()).await.is_err() {
            tracing::debug!("the collector did not close its side within close_timeout");
        }
        self.reader.abort();
    }
}

/// Reads and discards until end of stream or an error; then cancels `eof`.
async fn drain(mut read: ReadHalf<Box<dyn Stream>>, eof: CancellationToken) -> Option<io::Error> {
    let mut buf = vec![0u8; 16 << 10];
    let outcome = loop {
        match read.read(&mut buf).await {
            Ok(0) => break None,
            Ok(_) => {}
            Err(e) => break Some(e),
        }
    };
    eof.cancel();
    outcome
}
