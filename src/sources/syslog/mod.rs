//! `type = "syslog"` source: a UDP, TCP or TLS (RFC 5425) listener for syslog senders and relays.
//!
//! Messages are RFC 3164 or RFC 5424 (the source's `format`, `syslog` by default, parses them; what
//! does not parse ships as `norm_id=Raw`). Events keep the sender's own hostname from the header as
//! `device_name` (unless the source fixes one) and carry the peer's address as `device_ip`.
//!
//! Acknowledgement: syslog has none, so nothing is answered; what matters is backpressure. A TCP or
//! TLS connection is read only while the pipeline takes what it sends: when the intake is full the
//! connection task waits, stops reading, and the sender's TCP window closes. Nothing read is dropped
//! while the agent runs; at shutdown the connections stop being read, and an unfinished message
//! (not yet framed) is dropped with the connection. UDP cannot be slowed down: what arrives while
//! the intake is full is dropped and counted (`logferry_source_refused_total{reason=
//! "udp_pipeline_full"}`), as are datagrams the kernel dropped before we read them (not visible here).

mod framing;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::intake::{Delivery, IntakeSender};
use super::server_tls;
use super::tail::{Chunk, Record};
use crate::batch::Receipt;
use crate::config::{ListenTransport, SyslogSourceConfig};
use crate::metrics::listener::{ListenerMetrics, Refusal};
use framing::Framer;

/// How much one read of a connection takes at first, and again once the sender slows down.
const READ_BYTES: usize = 64 * 1024;
/// How much one read takes at most while the sender keeps every read full: fewer, larger chunks
/// mean fewer wake-ups of the processing thread and the sink per message.
const READ_BYTES_MAX: usize = 256 * 1024;
/// UDP datagrams gathered into one chunk at most (when they are already waiting).
const UDP_BATCH: usize = 512;
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound syslog listener, ready to run.
pub struct SyslogListener {
    name: String,
    config: SyslogSourceConfig,
    socket: Socket,
}

enum Socket {
    Udp(UdpSocket),
    Tcp(TcpListener, Option<TlsAcceptor>),
}

/// The TLS acceptor of a `transport = "tls"` source (reading its certificate and key); `None` for
/// the other transports.
pub fn tls_acceptor(config: &SyslogSourceConfig) -> anyhow::Result<Option<TlsAcceptor>> {
    match (&config.transport, &config.tls) {
        (ListenTransport::Tls, Some(tls)) => Ok(Some(TlsAcceptor::from(
            server_tls::server_config(tls, &[])?,
        ))),
        (ListenTransport::Tls, None) => anyhow::bail!("transport \"tls\" needs a tls table"),
        _ => Ok(None),
    }
}

impl SyslogListener {
    /// Binds `config.address`; an address in use or bad TLS material is an error.
    pub async fn bind(name: &str, config: &SyslogSourceConfig) -> anyhow::Result<Self> {
        let address = config.address;
        let socket = match config.transport {
            ListenTransport::Udp => Socket::Udp(
                UdpSocket::bind(address)
                    .await
                    .with_context(|| format!("cannot listen on udp {address}"))?,
            ),
            ListenTransport::Tcp | ListenTransport::Tls => Socket::Tcp(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("cannot listen on tcp {address}"))?,
                tls_acceptor(config)?,
            ),
        };
        Ok(SyslogListener {
            name: name.to_string(),
            config: config.clone(),
            socket,
        })
    }

    /// Receives into `intake` until `stop`; then waits for its connections to hand on what they
    /// have framed (until `abort`).
    pub async fn run(
        self,
        intake: IntakeSender,
        metrics: Arc<ListenerMetrics>,
        stop: CancellationToken,
        abort: CancellationToken,
    ) {
        let SyslogListener {
            name,
            config,
            socket,
        } = self;
        let connection = Arc::new(ConnectionSettings {
            source: name,
            max_message_bytes: config.max_message_bytes,
            idle_timeout: config.idle_timeout,
            allowed_subjects: config.tls.as_ref().and_then(|t| t.allowed_subjects.clone()),
            intake,
            metrics,
        });
        match socket {
            Socket::Udp(socket) => receive_udp(socket, &connection, stop).await,
            Socket::Tcp(listener, tls) => {
                accept(
                    listener,
                    tls,
                    connection,
                    config.max_connections,
                    stop,
                    abort,
                )
                .await
            }
        }
    }
}

/// What every connection of one listener shares.
struct ConnectionSettings {
    source: String,
    max_message_bytes: usize,
    idle_timeout: Duration,
    allowed_subjects: Option<Vec<String>>,
    intake: IntakeSender,
    metrics: Arc<ListenerMetrics>,
}

async fn accept(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    settings: Arc<ConnectionSettings>,
    max_connections: usize,
    stop: CancellationToken,
    abort: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!(source = %settings.source, error = %e, "accept failed");
                continue;
            }
        };
        settings.metrics.accepted.add(1);
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            settings.metrics.refuse(Refusal::ConnectionLimit, 1);
            tracing::warn!(source = %settings.source, %peer, max_connections, "connection refused: max_connections reached");
            continue;
        };
        let settings = Arc::clone(&settings);
        let tls = tls.clone();
        let (stop, abort) = (stop.clone(), abort.clone());
        connections.spawn(async move {
            settings.metrics.open.add(1);
            connection(stream, peer, tls, &settings, stop, abort).await;
            settings.metrics.open.add(-1);
            drop(slot);
        });
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// One TCP connection, with its TLS handshake if the listener has one.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    settings: &ConnectionSettings,
    stop: CancellationToken,
    abort: CancellationToken,
) {
    let Some(tls) = tls else {
        return read_stream(stream, peer.ip(), settings, stop, abort).await;
    };
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream));
    let stream = tokio::select! {
        () = stop.cancelled() => return,
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                settings.metrics.refuse(Refusal::TlsHandshake, 1);
                tracing::warn!(source = %settings.source, %peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                settings.metrics.refuse(Refusal::TlsHandshake, 1);
                tracing::warn!(source = %settings.source, %peer, "TLS handshake timed out");
                return;
            }
        },
    };
    let chain = stream.get_ref().1.peer_certificates();
    if !server_tls::client_allowed(settings.allowed_subjects.as_deref(), chain) {
        settings.metrics.refuse(Refusal::SubjectNotAllowed, 1);
        let names = chain
            .and_then(|c| c.first())
            .map(server_tls::subject_names)
            .unwrap_or_default();
        tracing::warn!(source = %settings.source, %peer, subjects = ?names, "client certificate not in allowed_subjects; connection closed");
        return;
    }
    read_stream(stream, peer.ip(), settings, stop, abort).await
}

/// Reads, frames and hands on messages until the peer closes, `idle_timeout` passes without data,
/// the framing breaks, or `stop`.
async fn read_stream<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: IpAddr,
    settings: &ConnectionSettings,
    stop: CancellationToken,
    abort: CancellationToken,
) {
    let mut framer = Framer::new(settings.max_message_bytes);
    let mut read_size = ReadSize::default();
    let mut buffer: Vec<u8> = Vec::with_capacity(READ_BYTES);
    loop {
        buffer.reserve(read_size.bytes());
        let read = tokio::select! {
            () = stop.cancelled() => return,
            read = tokio::time::timeout(settings.idle_timeout, stream.read_buf(&mut buffer)) => read,
        };
        if let Ok(Ok(n)) = read {
            read_size.after(n);
        }
        let mut records = Vec::new();
        let (used, last) = match read {
            Err(_) => {
                settings.metrics.refuse(Refusal::IdleTimeout, 1);
                tracing::debug!(source = %settings.source, %peer, "idle connection closed");
                return;
            }
            Ok(Err(e)) => {
                tracing::debug!(source = %settings.source, %peer, error = %e, "connection failed");
                return;
            }
            Ok(Ok(0)) => {
                framer.finish(&buffer, &mut records);
                (buffer.len(), true)
            }
            Ok(Ok(_)) => match framer.cut(&buffer, &mut records) {
                Ok(used) => (used, false),
                Err(e) => {
                    settings.metrics.refuse(Refusal::BadRequest, 1);
                    tracing::warn!(source = %settings.source, %peer, error = %e, "framing broken; connection closed");
                    return;
                }
            },
        };
        if !records.is_empty() {
            let mut rest = Vec::with_capacity(buffer.len() - used + read_size.bytes());
            rest.extend_from_slice(&buffer[used..]);
            let mut data = std::mem::replace(&mut buffer, rest);
            data.truncate(used);
            if !hand_on(settings, data, records, peer, used, &abort).await {
                return;
            }
        } else if used > 0 {
            buffer.drain(..used);
        }
        if last {
            return;
        }
    }
}

/// How much the next read of a connection asks for: [`READ_BYTES`], doubling up to
/// [`READ_BYTES_MAX`] while every read fills what it asked for (the sender is ahead of us), and back
/// to [`READ_BYTES`] once a read brings less than that.
#[derive(Debug)]
struct ReadSize(usize);

impl Default for ReadSize {
    fn default() -> Self {
        ReadSize(READ_BYTES)
    }
}

impl ReadSize {
    fn bytes(&self) -> usize {
        self.0
    }

    /// The last read brought `n` bytes.
    fn after(&mut self, n: usize) {
        self.0 = if n >= self.0 {
            (self.0 * 2).min(READ_BYTES_MAX)
        } else if n < READ_BYTES {
            READ_BYTES
        } else {
            self.0
        };
    }
}

/// Sends records to the processing thread, waiting while the pipeline is full; false when the
/// pipeline is gone or `abort` came first.
async fn hand_on(
    settings: &ConnectionSettings,
    data: Vec<u8>,
    records: Vec<Record>,
    peer: IpAddr,
    bytes: usize,
    abort: &CancellationToken,
) -> bool {
    let delivery = delivery(data, records, peer, bytes);
    tokio::select! {
        () = abort.cancelled() => false,
        sent = settings.intake.send(delivery) => sent.is_ok(),
    }
}

fn delivery(data: Vec<u8>, records: Vec<Record>, peer: IpAddr, bytes: usize) -> Delivery {
    Delivery {
        chunk: Chunk {
            data,
            records,
            file_range: 0..0,
        },
        peer,
        client: None,
        bytes: bytes as u64,
        receipt: Receipt::new(|| {}),
    }
}

/// Datagrams from one peer, gathered into one chunk.
struct Datagrams {
    peer: IpAddr,
    data: Vec<u8>,
    records: Vec<Record>,
    bytes: usize,
}

impl Datagrams {
    fn new(peer: IpAddr) -> Self {
        Datagrams {
            peer,
            data: Vec::new(),
            records: Vec::new(),
            bytes: 0,
        }
    }

    /// Adds one datagram as one message (trailing LF, CR and NUL removed; cut at `max`).
    fn add(&mut self, datagram: &[u8], max: usize) {
        self.bytes += datagram.len();
        let mut end = datagram.len();
        while end > 0 && matches!(datagram[end - 1], b'\n' | b'\r' | b'\0') {
            end -= 1;
        }
        if end == 0 {
            return;
        }
        let start = self.data.len();
        let kept = end.min(max);
        self.data.extend_from_slice(&datagram[..kept]);
        self.records.push(Record {
            bytes: start..start + kept,
            truncated: end > max,
        });
    }
}

async fn receive_udp(socket: UdpSocket, settings: &ConnectionSettings, stop: CancellationToken) {
    let max = settings.max_message_bytes;
    let mut datagram = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            () = stop.cancelled() => return,
            received = socket.recv_from(&mut datagram) => received,
        };
        let (n, peer) = match received {
            Ok(received) => received,
            Err(e) => {
                tracing::debug!(source = %settings.source, error = %e, "udp receive failed");
                continue;
            }
        };
        let mut batch = Datagrams::new(peer.ip());
        batch.add(&datagram[..n], max);
        // Whatever else is already waiting joins the chunk, as long as it comes from the same peer.
        while batch.records.len() < UDP_BATCH {
            let Ok((n, peer)) = socket.try_recv_from(&mut datagram) else {
                break;
            };
            if peer.ip() != batch.peer {
                let full = std::mem::replace(&mut batch, Datagrams::new(peer.ip()));
                if !offer(settings, full) {
                    return;
                }
            }
            batch.add(&datagram[..n], max);
        }
        if !offer(settings, batch) {
            return;
        }
    }
}

/// Hands datagrams on if the pipeline has room, else drops and counts them; false when the
/// pipeline is gone.
fn offer(settings: &ConnectionSettings, batch: Datagrams) -> bool {
    if batch.records.is_empty() {
        return true;
    }
    let messages = batch.records.len() as u64;
    match settings
        .intake
        .try_send(delivery(batch.data, batch.records, batch.peer, batch.bytes))
    {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            settings.metrics.refuse(Refusal::UdpPipelineFull, messages);
            true
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_grow_while_full_and_shrink_when_the_sender_slows() {
        let mut size = ReadSize::default();
        assert_eq!(size.bytes(), READ_BYTES);
        for _ in 0..10 {
            let full = size.bytes();
            size.after(full);
        }
        assert_eq!(size.bytes(), READ_BYTES_MAX);
        size.after(READ_BYTES + 1);
        assert_eq!(size.bytes(), READ_BYTES_MAX);
        size.after(100);
        assert_eq!(size.bytes(), READ_BYTES);
    }
}
