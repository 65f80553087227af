//! One TCP or TLS connection of a stream sink: open, write, read for its whole life, close gracefully.
//!
//! Acknowledgement semantics are the sink's (see [`super::syslog`]); this module only promises that a
//! successful [`Connection::write_all`] has flushed every byte to the socket, and that
//! [`Connection::close`] never turns a clean close into a reset while it can avoid it.

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
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use crate::batch::EncodedBatch;

/// Small batches are gathered into writes of up to this size.
const WRITE_BUFFER_BYTES: usize = 64 << 10;

/// A byte stream to the collector: plain TCP or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Stream for T {}

/// One connection, written by the sink and read for its whole life by a task of its own.
///
/// The reader discards what arrives. It exists because a connection nobody reads goes wrong in two
/// ways: TLS 1.3 session tickets and alerts pile up unread (see [`Connection::close`]), and a
/// collector that closed its side goes unnoticed until a write fails, by which time batches written
/// into the dead connection have already been acknowledged.
pub struct Connection {
    writer: BufWriter<WriteHalf<Box<dyn Stream>>>,
    /// Cancelled when the reader saw end of stream or an error.
    eof: CancellationToken,
    reader: JoinHandle<Option<io::Error>>,
    /// Something has been written and flushed on this connection.
    pub used: bool,
}

impl Connection {
    /// Connects to `address` (`host:port`, resolved now), then, with `tls`, does the handshake with
    /// full certificate and name verification. The caller bounds the time this takes.
    pub async fn open(
        address: &str,
        tls: Option<&(TlsConnector, ServerName<'static>)>,
    ) -> anyhow::Result<Connection> {
        let started = Instant::now();
        let tcp = TcpStream::connect(address).await.context("TCP connect")?;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        let Some((connector, server_name)) = tls else {
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
            // In TLS 1.3 our handshake is complete before the collector has judged our client
            // certificate (or its absence): a rejection arrives as an alert a round trip later. Wait
            // that long, so that a refused connection is an error here rather than a connection that
            // takes a batch, acknowledged as written, and then fails.
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

    /// Whether the collector has closed the connection (or it failed).
    pub fn peer_closed(&self) -> bool {
        self.eof.is_cancelled()
    }

    /// Completes when the collector closes the connection (or it fails).
    pub async fn closed_by_peer(&self) {
        self.eof.cancelled().await
    }

    /// Writes the batches in order and flushes them to the socket.
    pub async fn write_all(&mut self, batches: &VecDeque<Arc<EncodedBatch>>) -> io::Result<()> {
        for batch in batches {
            self.writer.write_all(&batch.bytes).await?;
        }
        self.writer.flush().await
    }

    /// Why the reader stopped: waits for it, so call it once, after [`Connection::peer_closed`].
    pub async fn reader_outcome(&mut self) -> anyhow::Error {
        match (&mut self.reader).await {
            Ok(Some(e)) => anyhow::Error::new(e),
            Ok(None) => anyhow!("end of stream"),
            Err(e) => anyhow!("connection reader failed: {e}"),
        }
    }

    /// Closes gracefully, giving up at `deadline`: flush, TLS close_notify and TCP FIN (shutdown of
    /// the write side), then keep reading until the collector closes its side, then drop.
    ///
    /// Why wait for the collector: closing a socket whose receive buffer holds unread bytes (a TLS 1.3
    /// session ticket, an alert, anything the collector sent) makes the kernel send RST instead of
    /// FIN. A RST makes our kernel throw away what it has not sent yet, and makes the collector's
    /// kernel discard data it had already acknowledged but its application had not read yet (on
    /// many systems). Either way batches we acknowledged as written would vanish. Reading until the
    /// collector's FIN keeps our receive buffer empty, so the final drop is a clean close.
    pub async fn close(mut self, deadline: Instant, sink: &str) {
        match timeout_at(deadline, self.writer.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(sink, "closing the connection: {e}"),
            Err(_) => tracing::debug!(sink, "closing the connection: flush timed out"),
        }
        if timeout_at(deadline, self.eof.cancelled()).await.is_err() {
            tracing::debug!(
                sink,
                "the collector did not close its side within close_timeout"
            );
        }
    }
}

impl Drop for Connection {
    /// Stops the reader, which holds the other half of the socket: the socket closes now.
    fn drop(&mut self) {
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
