//! One TCP or TLS connection of a stream sink: open, write, learn what the collector acknowledged, close gracefully.
//!
//! Acknowledgement semantics are the sink's (see [`super::syslog`]); this module promises that
//! [`Connection::write_batch`] returns the count of bytes on the wire (ciphertext for TLS) at the end
//! of the batch, that [`Connection::acked`] never reports more than the collector's TCP stack has
//! acknowledged, and that [`Connection::close`] never turns a clean close into a reset while it can avoid it.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use rustls_pki_types::ServerName;
use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, timeout_at, Instant};
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use super::acked::{AckProbe, CountingStream};
use super::backoff::Backoff;

/// How often a closing connection asks whether the rest was acknowledged: from this...
pub const ACK_POLL_MIN: Duration = Duration::from_millis(1);
/// ...doubling up to this while nothing new is acknowledged.
pub const ACK_POLL_MAX: Duration = Duration::from_millis(50);

/// A byte stream to the collector: plain TCP or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Stream for T {}

/// One connection, written by the sink and read for its whole life by a task of its own.
///
/// The reader discards what arrives. It exists because a connection nobody reads goes wrong in two
/// ways: TLS 1.3 session tickets and alerts pile up unread (see [`Connection::close`]), and a
/// collector that closed its side goes unnoticed until a write fails.
pub struct Connection {
    writer: WriteHalf<Box<dyn Stream>>,
    probe: AckProbe,
    /// Cancelled when the reader saw end of stream or an error.
    eof: CancellationToken,
    /// Set by the reader when the connection failed (reset, timeout) rather than ended cleanly.
    broken: Arc<AtomicBool>,
    reader: JoinHandle<Option<io::Error>>,
    /// Something has been written on this connection.
    pub used: bool,
}

impl Connection {
    /// Connects to `address` (`host:port`, resolved now) with `keepalive` on the socket, then, with
    /// `tls`, does the handshake with full certificate and name verification. The caller bounds
    /// the time this takes.
    pub async fn open(
        address: &str,
        tls: Option<&(TlsConnector, ServerName<'static>)>,
        keepalive: &TcpKeepalive,
    ) -> anyhow::Result<Connection> {
        let started = Instant::now();
        let tcp = TcpStream::connect(address).await.context("TCP connect")?;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        SockRef::from(&tcp)
            .set_tcp_keepalive(keepalive)
            .context("setting TCP keepalive")?;
        let written = Arc::new(AtomicU64::new(0));
        let probe = AckProbe::new(&tcp, written.clone()).context("duplicating the socket")?;
        let tcp = CountingStream::new(tcp, written);
        let Some((connector, server_name)) = tls else {
            return Ok(Connection::new(Box::new(tcp), probe));
        };
        let round_trip = started.elapsed();
        let stream = connector
            .connect(server_name.clone(), tcp)
            .await
            .context("TLS handshake")?;
        let tls13 = stream.get_ref().1.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        let mut conn = Connection::new(Box::new(stream), probe);
        if tls13 {
            // In TLS 1.3 our handshake is complete before the collector has judged our client
            // certificate (or its absence): a rejection arrives as an alert a round trip later. Wait
            // that long, so that a refused connection is an error here rather than a connection that
            // takes batches and then fails.
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

    fn new(stream: Box<dyn Stream>, probe: AckProbe) -> Self {
        let (read, writer) = tokio::io::split(stream);
        let eof = CancellationToken::new();
        let broken = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(drain(read, eof.clone(), broken.clone()));
        Connection {
            writer,
            probe,
            eof,
            broken,
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

    /// Writes one batch and flushes it to the socket. Returns the bytes written to the socket up to
    /// the batch's end: the batch is delivered once [`Connection::acked`] reaches that count.
    pub async fn write_batch(&mut self, bytes: &[u8]) -> io::Result<u64> {
        self.writer.write_all(bytes).await?;
        self.writer.flush().await?;
        Ok(self.probe.written())
    }

    /// Bytes written on this connection that the collector's TCP stack has acknowledged.
    pub fn acked(&self) -> io::Result<u64> {
        self.probe.acked()
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
    /// the write side), keep reading until the collector closes its side, then wait until it has
    /// acknowledged everything (unless the connection failed), then drop. Returns the bytes
    /// acknowledged by then (0 if that cannot be told).
    ///
    /// Why wait for the collector: closing a socket whose receive buffer holds unread bytes (a TLS 1.3
    /// session ticket, an alert, anything the collector sent) makes the kernel send RST instead of
    /// FIN. A RST makes our kernel throw away what it has not sent yet, and makes the collector's
    /// kernel discard data it had already acknowledged but its application had not read yet (on
    /// many systems). Reading until the collector's FIN keeps our receive buffer empty, so the final
    /// drop is a clean close; waiting for the acknowledgements spares batches a needless resend.
    pub async fn close(mut self, deadline: Instant, sink: &str) -> u64 {
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
        let mut poll = Backoff::new(ACK_POLL_MIN, ACK_POLL_MAX);
        let mut acked = 0;
        loop {
            match self.acked() {
                Ok(now) if now > acked => {
                    acked = now;
                    poll.reset();
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(sink, "cannot tell what the collector acknowledged: {e}");
                    break;
                }
            }
            let everything = acked >= self.probe.written();
            let wait = poll.next_delay();
            if everything || self.broken.load(Ordering::Acquire) || Instant::now() + wait > deadline
            {
                break;
            }
            sleep(wait).await;
        }
        acked
    }
}

impl Drop for Connection {
    /// Stops the reader, which holds the other half of the socket: the socket closes now.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Reads and discards until end of stream or an error (then sets `broken`); then cancels `eof`.
async fn drain(
    mut read: ReadHalf<Box<dyn Stream>>,
    eof: CancellationToken,
    broken: Arc<AtomicBool>,
) -> Option<io::Error> {
    let mut buf = vec![0u8; 16 << 10];
    let outcome = loop {
        match read.read(&mut buf).await {
            Ok(0) => break None,
            Ok(_) => {}
            Err(e) => {
                broken.store(true, Ordering::Release);
                break Some(e);
            }
        }
    };
    eof.cancel();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keepalive_is_set_on_the_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let keepalive = TcpKeepalive::new()
            .with_time(Duration::from_secs(42))
            .with_interval(Duration::from_secs(7))
            .with_retries(3);
        let conn = Connection::open(&address, None, &keepalive)
            .await
            .expect("connect");
        let socket = SockRef::from(&conn.probe);
        assert!(socket.keepalive().expect("SO_KEEPALIVE"));
        assert_eq!(
            socket.tcp_keepalive_time().expect("TCP_KEEPIDLE"),
            Duration::from_secs(42)
        );
        assert_eq!(
            socket.tcp_keepalive_interval().expect("TCP_KEEPINTVL"),
            Duration::from_secs(7)
        );
        assert_eq!(socket.tcp_keepalive_retries().expect("TCP_KEEPCNT"), 3);
    }
}
