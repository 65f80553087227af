//! A counting syslog collector for the end-to-end benchmark (benches/e2e/run.sh).
//!
//! Listens on a loopback address, plain TCP or TLS, accepts any number of connections (one thread
//! each), and counts LF-terminated lines. It keeps a small status file up to date so a shell script
//! can poll it:
//!
//! ```text
//! count=1000000 conns=1 accepted=1 done_ns=1732630000123456789 bytes=301234567
//! ```
//!
//! `done_ns` is the wall-clock time (Unix nanoseconds) at which `count` first reached `--expect`
//! (0 until then). A connection is closed gracefully: when the peer ends its side (EOF, or TLS
//! close_notify) the receiver sends its own close_notify (TLS) and closes. The receiver never writes
//! application data. It runs until killed (SIGTERM/SIGKILL), or until `--exit-after-idle` seconds pass
//! with no open connection after the expected count was reached.
//!
//! ```text
//! cargo run --release --example bench_receiver -- --listen 127.0.0.1:6514 --expect 1000000 \
//!     --status /tmp/st [--tls-cert server.pem --tls-key server.key] [--sample /tmp/sample.txt]
//! ```

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustls::{ServerConfig, ServerConnection, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const READ_BUF: usize = 256 << 10;
const SAMPLE_BYTES: usize = 64 << 10;

struct Shared {
    expect: u64,
    count: AtomicU64,
    bytes: AtomicU64,
    conns: AtomicU64,
    accepted: AtomicU64,
    done_ns: AtomicU64,
    status: PathBuf,
    /// Where the first SAMPLE_BYTES received go (to check the wire format), if asked.
    sample: Option<Mutex<(PathBuf, Vec<u8>)>>,
    status_lock: Mutex<()>,
}

impl Shared {
    fn write_status(&self) {
        let _guard = self.status_lock.lock().unwrap_or_else(|e| e.into_inner());
        let text = format!(
            "count={} conns={} accepted={} done_ns={} bytes={}\n",
            self.count.load(Ordering::SeqCst),
            self.conns.load(Ordering::SeqCst),
            self.accepted.load(Ordering::SeqCst),
            self.done_ns.load(Ordering::SeqCst),
            self.bytes.load(Ordering::SeqCst),
        );
        // Write-then-rename so a poller never reads a half-written line.
        let tmp = self.status.with_extension("tmp");
        if fs::write(&tmp, text).is_ok() {
            let _ = fs::rename(&tmp, &self.status);
        }
    }

    /// Counts the lines of one read; records the moment the expected count is reached.
    fn account(&self, data: &[u8]) {
        let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
        self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        if let Some(sample) = &self.sample {
            let mut s = sample.lock().unwrap_or_else(|e| e.into_inner());
            if s.1.len() < SAMPLE_BYTES {
                let take = data.len().min(SAMPLE_BYTES - s.1.len());
                s.1.extend_from_slice(&data[..take]);
                if s.1.len() >= SAMPLE_BYTES.min(4096) || lines > 0 {
                    let _ = fs::write(&s.0, &s.1);
                }
            }
        }
        if lines == 0 {
            return;
        }
        let before = self.count.fetch_add(lines, Ordering::SeqCst);
        if before < self.expect && before + lines >= self.expect {
            self.done_ns.store(now_ns(), Ordering::SeqCst);
            self.write_status();
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn usage() -> ! {
    eprintln!(
        "usage: bench_receiver --listen ADDR --expect N --status FILE \
         [--tls-cert PEM --tls-key PEM] [--sample FILE] [--exit-after-idle SECS]"
    );
    std::process::exit(2);
}

fn main() {
    let mut listen = None;
    let mut expect = u64::MAX;
    let mut status = None;
    let mut cert = None;
    let mut key = None;
    let mut sample = None;
    let mut exit_after_idle: Option<f64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--listen" => listen = Some(val()),
            "--expect" => expect = val().parse().unwrap_or_else(|_| usage()),
            "--status" => status = Some(PathBuf::from(val())),
            "--tls-cert" => cert = Some(PathBuf::from(val())),
            "--tls-key" => key = Some(PathBuf::from(val())),
            "--sample" => sample = Some(PathBuf::from(val())),
            "--exit-after-idle" => {
                exit_after_idle = Some(val().parse().unwrap_or_else(|_| usage()))
            }
            _ => usage(),
        }
    }
    let (Some(listen), Some(status)) = (listen, status) else {
        usage()
    };

    let tls = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
                .and_then(|it| it.collect::<Result<_, _>>())
                .unwrap_or_else(|e| fail(&format!("{}: {e}", cert.display())));
            let key = PrivateKeyDer::from_pem_file(&key)
                .unwrap_or_else(|e| fail(&format!("{}: {e}", key.display())));
            let config = ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| fail(&e.to_string()))
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap_or_else(|e| fail(&e.to_string()));
            Some(Arc::new(config))
        }
        (None, None) => None,
        _ => usage(),
    };

    let listener =
        TcpListener::bind(&listen).unwrap_or_else(|e| fail(&format!("bind {listen}: {e}")));
    let shared = Arc::new(Shared {
        expect,
        count: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        conns: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        done_ns: AtomicU64::new(0),
        status,
        sample: sample.map(|p| Mutex::new((p, Vec::with_capacity(SAMPLE_BYTES)))),
        status_lock: Mutex::new(()),
    });
    shared.write_status();

    // Status every 100 ms; optional exit once done and idle.
    {
        let shared = Arc::clone(&shared);
        thread::spawn(move || {
            let mut idle_since: Option<Instant> = None;
            loop {
                thread::sleep(Duration::from_millis(100));
                shared.write_status();
                if let Some(limit) = exit_after_idle {
                    let idle = shared.done_ns.load(Ordering::SeqCst) != 0
                        && shared.conns.load(Ordering::SeqCst) == 0;
                    match (idle, idle_since) {
                        (true, None) => idle_since = Some(Instant::now()),
                        (true, Some(t)) if t.elapsed().as_secs_f64() >= limit => {
                            std::process::exit(0)
                        }
                        (false, _) => idle_since = None,
                        _ => {}
                    }
                }
            }
        });
    }

    println!("READY {listen}");
    let _ = io::stdout().flush();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(&shared);
        let tls = tls.clone();
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        shared.conns.fetch_add(1, Ordering::SeqCst);
        thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let result = match tls {
                Some(config) => serve_tls(stream, config, &shared),
                None => serve_plain(stream, &shared),
            };
            if let Err(e) = result {
                eprintln!("bench_receiver: connection: {e}");
            }
            shared.conns.fetch_sub(1, Ordering::SeqCst);
            shared.write_status();
        });
    }
}

fn serve_plain(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut buf = vec![0u8; READ_BUF];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => shared.account(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    // The peer finished its side: finish ours.
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

fn serve_tls(stream: TcpStream, config: Arc<ServerConfig>, shared: &Shared) -> io::Result<()> {
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, stream);
    let mut buf = vec![0u8; READ_BUF];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break, // close_notify received
            Ok(n) => shared.account(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A peer that closes TCP without close_notify: count what arrived, report it.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                eprintln!("bench_receiver: peer closed without TLS close_notify");
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
    while tls.conn.wants_write() {
        if tls.conn.write_tls(&mut tls.sock).is_err() {
            break;
        }
    }
    let _ = tls.sock.shutdown(Shutdown::Write);
    Ok(())
}

fn fail(msg: &str) -> ! {
    eprintln!("bench_receiver: {msg}");
    std::process::exit(1);
}
