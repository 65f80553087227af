//! A syslog collector for tests: receives over TCP or TLS on 127.0.0.1 and keeps every decoded message.
//!
//! Frames are recognised per frame, as rsyslog does: one starting with a digit is octet-counted
//! (`LEN SP MSG`), anything else runs up to LF (LF not kept, a CR before it neither). Data that fits
//! neither, or a frame cut off by the end of a connection, is recorded in [`Collector::bad_frames`].
//! Messages of all connections and all restarts go into one list, in arrival order.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::frames::Decoder;

/// After a graceful stop, how long a connection is still read while waiting for the sender to close.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// TLS settings of a collector (PEM files).
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Require a client certificate signed by this CA.
    pub client_ca_file: Option<PathBuf>,
    /// Offer only TLS 1.2 (the default offers 1.3 and 1.2).
    pub tls12_only: bool,
}

/// How a collector is set up.
#[derive(Debug, Clone, Default)]
pub struct CollectorOptions {
    /// `None`: plain TCP.
    pub tls: Option<ServerTls>,
}

/// How fast the collector's connections read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// As fast as data comes.
    Normal,
    /// At most this many bytes per second per connection.
    Rate(u64),
    /// Not at all: the sender's writes stall once the socket buffers are full.
    Paused,
}

/// What every connection of every run shares.
struct State {
    messages: Mutex<Vec<String>>,
    bad_frames: Mutex<Vec<String>>,
    tls_errors: Mutex<Vec<String>>,
    arrived: Notify,
    connections: AtomicUsize,
    not_tls: AtomicUsize,
    bytes: AtomicU64,
    mode: watch::Sender<ReadMode>,
}

/// The running accept loop.
struct Running {
    stop: CancellationToken,
    kill: CancellationToken,
    /// Like `kill`, after reading what each connection's kernel already holds.
    crash: CancellationToken,
    task: JoinHandle<()>,
}

/// A syslog receiver; see the module documentation. Dropping it kills it.
pub struct Collector {
    addr: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    /// SO_RCVBUF of accepted connections; `None`: the kernel's default (autotuned).
    receive_buffer: Option<u32>,
    state: Arc<State>,
    running: Option<Running>,
}

impl Collector {
    /// Starts listening on a fresh port of 127.0.0.1.
    pub async fn start(options: CollectorOptions) -> Collector {
        Collector::start_on(0, options).await
    }

    /// Starts listening on 127.0.0.1:`port` (0: any free port).
    pub async fn start_on(port: u16, options: CollectorOptions) -> Collector {
        Collector::start_tuned(port, options, None).await
    }

    /// Like [`Collector::start_on`], with SO_RCVBUF of every connection fixed at `receive_buffer`
    /// bytes (the kernel doubles it for its bookkeeping), so that a collector that stops reading
    /// stops acknowledging after a known amount.
    pub async fn start_tuned(
        port: u16,
        options: CollectorOptions,
        receive_buffer: Option<u32>,
    ) -> Collector {
        let acceptor = options.tls.as_ref().map(acceptor);
        let state = Arc::new(State {
            messages: Mutex::default(),
            bad_frames: Mutex::default(),
            tls_errors: Mutex::default(),
            arrived: Notify::new(),
            connections: AtomicUsize::new(0),
            not_tls: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            mode: watch::Sender::new(ReadMode::Normal),
        });
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut collector = Collector {
            addr,
            acceptor,
            receive_buffer,
            state,
            running: None,
        };
        collector.listen().await;
        collector
    }

    async fn listen(&mut self) {
        let socket = TcpSocket::new_v4().expect("collector socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        if let Some(bytes) = self.receive_buffer {
            // Set on the listener, inherited by every accepted connection (and fixed: no autotuning).
            socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
        }
        let listener = socket
            .bind(self.addr)
            .and_then(|()| socket.listen(1024))
            .unwrap_or_else(|e| panic!("collector cannot listen on {}: {e}", self.addr));
        self.addr = listener.local_addr().expect("listener address");
        let (stop, kill, crash) = (
            CancellationToken::new(),
            CancellationToken::new(),
            CancellationToken::new(),
        );
        let tokens = Tokens {
            stop: stop.clone(),
            kill: kill.clone(),
            crash: crash.clone(),
        };
        let task = tokio::spawn(serve(
            listener,
            self.acceptor.clone(),
            self.state.clone(),
            tokens,
        ));
        self.running = Some(Running {
            stop,
            kill,
            crash,
            task,
        });
    }

    /// `127.0.0.1:PORT`, for a sink's `address`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops like a collector shutting down cleanly: no new connections; each open one gets our
    /// close (TLS close_notify, FIN) and is still read until the sender closes it (or 3 s pass), so
    /// nothing already sent is lost. Returns when every connection is gone.
    pub async fn stop(&mut self) {
        if let Some(run) = self.running.take() {
            run.stop.cancel();
            let _ = run.task.await;
        }
    }

    /// Stops like a crashed collector: every connection is reset at once, unread data is lost.
    pub async fn kill(&mut self) {
        if let Some(run) = self.running.take() {
            run.kill.cancel();
            run.stop.cancel();
            let _ = run.task.await;
        }
    }

    /// Stops like a collector that crashed right after storing everything its kernel had received:
    /// each connection first reads what already waits in its receive buffer, then is reset. What the kernel acknowledged is then never lost, so a sender
    /// that resends everything unacknowledged must lose nothing. (A real crash also loses what was
    /// acknowledged but unread: see [`Collector::kill`].)
    pub async fn crash_after_reading(&mut self) {
        if let Some(run) = self.running.take() {
            run.crash.cancel();
            run.stop.cancel();
            let _ = run.task.await;
        }
    }

    /// Stops gracefully (see [`Collector::stop`]) and listens again on the same port at once,
    /// keeping the messages received so far.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.listen().await;
    }

    /// Listens again on the same port after [`Collector::stop`] or [`Collector::kill`]; no-op if running.
    pub async fn start_again(&mut self) {
        if self.running.is_none() {
            self.listen().await;
        }
    }

    /// Changes how fast all connections read, from now on.
    pub fn set_read_mode(&self, mode: ReadMode) {
        self.state.mode.send_replace(mode);
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<String> {
        lock(&self.state.messages).clone()
    }

    pub fn count(&self) -> usize {
        lock(&self.state.messages).len()
    }

    /// Waits until at least `n` messages have arrived; `false` if `limit` passed first.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let arrived = self.state.arrived.notified();
            if self.count() >= n {
                return true;
            }
            if timeout(deadline.saturating_duration_since(Instant::now()), arrived)
                .await
                .is_err()
            {
                return self.count() >= n;
            }
        }
    }

    /// Waits for `n` messages and returns them all; panics with what did arrive after `limit`.
    pub async fn expect_messages(&self, n: usize, limit: Duration) -> Vec<String> {
        if !self.wait_for(n, limit).await {
            panic!(
                "collector got {} of {n} messages within {limit:?}; bad frames: {:?}; TLS errors: {:?}",
                self.count(),
                self.bad_frames(),
                self.tls_errors()
            );
        }
        self.messages()
    }

    /// Data that was no frame, and frames cut off by the end of their connection.
    pub fn bad_frames(&self) -> Vec<String> {
        lock(&self.state.bad_frames).clone()
    }

    /// Why TLS handshakes failed, as the collector saw it.
    pub fn tls_errors(&self) -> Vec<String> {
        lock(&self.state.tls_errors).clone()
    }

    /// Connections accepted, over all runs.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// Connections to this TLS collector whose first byte was not a TLS handshake record (0x16):
    /// plaintext where TLS was due. Such connections are dropped unread.
    pub fn not_tls_connections(&self) -> usize {
        self.state.not_tls.load(Ordering::Relaxed)
    }

    /// Bytes received (after TLS decryption), over all connections.
    pub fn bytes_received(&self) -> u64 {
        self.state.bytes.load(Ordering::Relaxed)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(run) = self.running.take() {
            run.kill.cancel();
            run.crash.cancel();
            run.stop.cancel();
        }
    }
}

/// How the accept loop and its connections are told to end.
#[derive(Clone)]
struct Tokens {
    /// Graceful stop.
    stop: CancellationToken,
    /// Reset at once.
    kill: CancellationToken,
    /// Read what has arrived, then reset.
    crash: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn acceptor(tls: &ServerTls) -> TlsAcceptor {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|c| c.collect())
        .expect("collector certificate");
    let key = PrivateKeyDer::from_pem_file(&tls.key_file).expect("collector key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("protocol versions");
    let builder = match &tls.client_ca_file {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca).expect("client CA file") {
                roots
                    .add(cert.expect("client CA certificate"))
                    .expect("usable client CA");
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(certs, key)
        .expect("collector certificate and key");
    TlsAcceptor::from(Arc::new(config))
}

/// Accepts until stopped. The listener is closed before the connections are told to end, as when
/// a process dies: a sender reconnecting at once must find no listener, not a doomed accept queue.
async fn serve(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    state: Arc<State>,
    tokens: Tokens,
) {
    let for_connections = Tokens {
        stop: CancellationToken::new(),
        kill: CancellationToken::new(),
        crash: CancellationToken::new(),
    };
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = tokens.stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    state.connections.fetch_add(1, Ordering::Relaxed);
                    let (acceptor, state) = (acceptor.clone(), state.clone());
                    connections.spawn(connection(tcp, acceptor, state, for_connections.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    for (outer, inner) in [
        (&tokens.kill, &for_connections.kill),
        (&tokens.crash, &for_connections.crash),
    ] {
        if outer.is_cancelled() {
            inner.cancel();
        }
    }
    for_connections.stop.cancel();
    while connections.join_next().await.is_some() {}
}

async fn connection(
    tcp: TcpStream,
    acceptor: Option<TlsAcceptor>,
    state: Arc<State>,
    tokens: Tokens,
) {
    let Some(acceptor) = acceptor else {
        return receive(tcp, state, tokens).await;
    };
    let mut first = [0u8; 1];
    match timeout(Duration::from_secs(5), tcp.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] == 0x16 => {}
        Ok(Ok(1)) => {
            state.not_tls.fetch_add(1, Ordering::Relaxed);
            return;
        }
        _ => return,
    }
    let handshake = tokio::select! {
        () = tokens.kill.cancelled() => return,
        () = tokens.crash.cancelled() => return,
        handshake = acceptor.accept(tcp) => handshake,
    };
    match handshake {
        Ok(tls) => receive(tls, state, tokens).await,
        Err(e) => lock(&state.tls_errors).push(e.to_string()),
    }
}

/// A connection's stream and the TCP socket under it.
trait Stream: AsyncRead + AsyncWrite + Unpin {
    fn tcp(&self) -> &TcpStream;
}

impl Stream for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Stream for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Reads one connection until the sender closes it, a graceful stop's grace runs out, or a kill.
async fn receive<S: Stream>(mut stream: S, state: Arc<State>, tokens: Tokens) {
    let Tokens { stop, kill, crash } = tokens;
    let mut mode = state.mode.subscribe();
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 64 << 10];
    let mut next_read = Instant::now();
    let mut closing: Option<Instant> = None;
    loop {
        let current = *mode.borrow_and_update();
        let limit = match current {
            ReadMode::Normal => buf.len(),
            ReadMode::Rate(rate) => usize::try_from(rate / 10).unwrap_or(1).clamp(1, buf.len()),
            ReadMode::Paused => 0,
        };
        let read = async {
            sleep_until(next_read).await;
            stream.read(&mut buf[..limit]).await
        };
        tokio::select! {
            biased;
            () = kill.cancelled() => {
                let _ = stream.tcp().set_zero_linger();
                return;
            }
            () = crash.cancelled() => {
                // Everything that can be read without waiting, then the reset straight away: what
                // arrives in between (microseconds) is lost, as in a real crash.
                while let Some(Ok(n)) = read_now(&mut stream, &mut buf).await {
                    if n == 0 {
                        break;
                    }
                    take(&state, &mut decoder, &buf[..n]);
                }
                let _ = stream.tcp().set_zero_linger();
                return;
            }
            () = stop.cancelled(), if closing.is_none() => {
                closing = Some(Instant::now() + STOP_GRACE);
                let _ = timeout(Duration::from_secs(1), stream.shutdown()).await;
            }
            () = sleep_until(closing.unwrap_or_else(Instant::now)), if closing.is_some() => break,
            _ = mode.changed() => {}
            result = read, if limit > 0 => match result {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    take(&state, &mut decoder, &buf[..n]);
                    if let ReadMode::Rate(rate) = current {
                        next_read = Instant::now() + Duration::from_secs_f64(n as f64 / rate.max(1) as f64);
                    }
                }
            },
        }
    }
    if let Some(rest) = decoder.rest() {
        lock(&state.bad_frames).push(format!("cut off at end of connection: {rest}"));
    }
}

/// Records received bytes and the messages they complete.
fn take(state: &State, decoder: &mut Decoder, data: &[u8]) {
    state.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
    let (messages, bad) = decoder.push(data);
    lock(&state.bad_frames).extend(bad);
    if !messages.is_empty() {
        lock(&state.messages).extend(messages);
        state.arrived.notify_waiters();
    }
}

/// One read that does not wait: `None` if nothing can be read right now.
async fn read_now<S: Stream>(stream: &mut S, buf: &mut [u8]) -> Option<std::io::Result<usize>> {
    std::future::poll_fn(|cx| {
        let mut read = ReadBuf::new(buf);
        match Pin::new(&mut *stream).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(read.filled().len()))),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Pending => Poll::Ready(None),
        }
    })
    .await
}
