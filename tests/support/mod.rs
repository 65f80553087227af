//! Shared integration-test harness: a throwaway PKI, a syslog [`Collector`], batches with observable acks.
//!
//! Use it from a test file with `mod support;`. Everything here is meant for tests: failures panic
//! with a message. Pieces:
//! - [`Pki::generate`]: a CA, a server certificate (SANs `localhost` and `127.0.0.1`), a client
//!   certificate and an unrelated second CA, written as PEM files into a temporary directory.
//! - [`Collector`]: a syslog receiver on 127.0.0.1 over TCP or TLS (optionally requiring a client
//!   certificate) that decodes LF and octet-counted frames, can be stopped (gracefully or abruptly)
//!   and restarted on the same port, and can read slowly or not at all.
//! - [`Acks`]: makes [`EncodedBatch`]es numbered by the test and records which were acknowledged.
//! - [`syslog_config`], [`message`], [`lf`], [`octet`], [`assert_messages`], [`tally`],
//!   [`LogCapture`], [`unused_port`].
#![allow(dead_code)]

pub mod agent;
mod collector;
pub mod dashboard;
mod frames;
pub mod inprocess;
pub mod kafka;

#[allow(unused_imports)]
pub use collector::{Collector, CollectorOptions, ReadMode, ServerTls};
#[allow(unused_imports)]
pub use frames::{lf, octet};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use logferry::batch::{AckToken, Delivered, EncodedBatch, Receipt};
use logferry::checkpoint::{FileId, FileRange};
use logferry::config::{SinkKind, SyslogSinkConfig};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// PEM files of a test PKI; they live as long as this value.
pub struct Pki {
    pub dir: TempDir,
    /// The CA that signed the server and client certificates.
    pub ca_cert: PathBuf,
    /// Server certificate for `localhost` and `127.0.0.1`, and its key.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// Client certificate (for mutual TLS) and its key.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA unrelated to everything else: trusting it must make verification fail.
    pub other_ca_cert: PathBuf,
    /// A server certificate for the same names, signed by the CA, that expired in 2020, and its key.
    pub expired_server_cert: PathBuf,
    pub expired_server_key: PathBuf,
}

impl Pki {
    /// Generates fresh keys and certificates (ECDSA P-256) into a new temporary directory.
    pub fn generate() -> Pki {
        let dir = tempfile::tempdir().expect("temporary directory");
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).expect("write PEM file");
            path
        };
        let (ca_pem, issuer) = new_ca("logferry test CA");
        let (other_ca_pem, _) = new_ca("unrelated test CA");
        let server_names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let (expired_pem, expired_key) = leaf(
            &issuer,
            server_names.clone(),
            ExtendedKeyUsagePurpose::ServerAuth,
            true,
        );
        let (server_pem, server_key) = leaf(
            &issuer,
            server_names,
            ExtendedKeyUsagePurpose::ServerAuth,
            false,
        );
        let (client_pem, client_key) = leaf(
            &issuer,
            vec!["logferry-agent".into()],
            ExtendedKeyUsagePurpose::ClientAuth,
            false,
        );
        Pki {
            ca_cert: write("ca.pem", ca_pem),
            server_cert: write("server.pem", server_pem),
            server_key: write("server.key", server_key),
            client_cert: write("client.pem", client_pem),
            client_key: write("client.key", client_key),
            other_ca_cert: write("other-ca.pem", other_ca_pem),
            expired_server_cert: write("expired-server.pem", expired_pem),
            expired_server_key: write("expired-server.key", expired_key),
            dir,
        }
    }

    /// TLS settings of a collector presenting the server certificate.
    pub fn server_tls(&self) -> ServerTls {
        ServerTls {
            cert_file: self.server_cert.clone(),
            key_file: self.server_key.clone(),
            client_ca_file: None,
            tls12_only: false,
        }
    }

    /// Like [`Pki::server_tls`], but the collector requires a client certificate signed by the CA.
    pub fn server_mtls(&self) -> ServerTls {
        ServerTls {
            client_ca_file: Some(self.ca_cert.clone()),
            ..self.server_tls()
        }
    }
}

fn new_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("generate CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).expect("self-sign CA");
    (cert.pem(), Issuer::new(params, key))
}

/// A certificate for `names` signed by `issuer` (valid only in 2019 if `expired`): (certificate
/// PEM, private key PEM).
fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
    expired: bool,
) -> (String, String) {
    let key = KeyPair::generate().expect("generate key");
    let mut params = CertificateParams::new(names.clone()).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    if expired {
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 1);
    }
    let cert = params.signed_by(&key, issuer).expect("sign leaf");
    (cert.pem(), key.serialize_pem())
}

/// A syslog sink configuration, validated like a real one, from the keys of its `[sinks.out]` table.
///
/// `keys` may end with a `[sinks.out.tls]` table. Fast test timings are added for every timing key it
/// does not set: connect_timeout 1s, reconnect_min 20ms, reconnect_max 200ms, close_timeout 1s.
pub fn syslog_config(address: &str, keys: &str) -> SyslogSinkConfig {
    let defaults = [
        ("connect_timeout", "1s"),
        ("reconnect_min", "20ms"),
        ("reconnect_max", "200ms"),
        ("close_timeout", "1s"),
    ];
    let mut timing = String::new();
    for (key, value) in defaults {
        if !keys.contains(key) {
            timing.push_str(&format!("{key} = \"{value}\"\n"));
        }
    }
    let text = format!(
        "data_dir = \"/nonexistent\"\n\
         [sources.test]\ntype = \"file\"\ninclude = [\"/nonexistent/*.log\"]\nformat = \"syslog\"\n\
         [sinks.out]\ntype = \"syslog\"\ninputs = [\"test\"]\naddress = \"{address}\"\n{timing}{keys}\n"
    );
    let config = logferry::config::parse(&text, "test.toml")
        .unwrap_or_else(|e| panic!("test configuration rejected:\n{e}\n---\n{text}"));
    match config.sinks.get("out").map(|s| s.kind.clone()) {
        Some(SinkKind::Syslog(s)) => *s,
        _ => panic!("no syslog sink in the test configuration"),
    }
}

/// `key = "path"` for a TOML table.
pub fn toml_path(key: &str, path: &Path) -> String {
    format!("{key} = {:?}\n", path.display().to_string())
}

/// A distinct RFC 5424 message (no framing); `id` makes it unique.
pub fn message(id: usize) -> String {
    format!("<14>1 2024-05-01T12:00:00.000000Z host01 logferry-test - test - event={id} padding=abcdefghij")
}

/// Asserts `got == expected`, reporting counts and the first difference instead of two huge lists.
pub fn assert_messages(got: &[String], expected: &[String]) {
    if got != expected {
        let first = got.iter().zip(expected).position(|(g, e)| g != e);
        panic!(
            "got {} messages, expected {}; first difference at {first:?}: got {:?}, expected {:?}",
            got.len(),
            expected.len(),
            first.and_then(|i| got.get(i)),
            first.and_then(|i| expected.get(i)),
        );
    }
}

/// How often each message occurs.
pub fn tally(messages: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for m in messages {
        *counts.entry(m.as_str()).or_default() += 1;
    }
    counts
}

/// Makes numbered batches and tells which of them were acknowledged.
pub struct Acks {
    tx: UnboundedSender<Delivered>,
    rx: UnboundedReceiver<Delivered>,
    acked: BTreeMap<u64, usize>,
}

impl Default for Acks {
    fn default() -> Self {
        let (tx, rx) = unbounded_channel();
        Acks {
            tx,
            rx,
            acked: BTreeMap::new(),
        }
    }
}

impl Acks {
    /// Batch number `id` holding `bytes` (`events` frames), for one sink.
    pub fn batch(&self, id: u64, bytes: Bytes, events: usize) -> Arc<EncodedBatch> {
        let range = FileRange {
            file: FileId {
                dev: 0,
                ino: 0,
                fingerprint: 0,
            },
            epoch: 0,
            start: id,
            end: id + 1,
        };
        let receipt = Receipt::checkpoint(range, self.tx.clone());
        Arc::new(EncodedBatch {
            bytes,
            events,
            ack: AckToken::new(1, receipt),
            index: None,
        })
    }

    /// How often each batch number has been acknowledged so far.
    pub fn acked(&mut self) -> &BTreeMap<u64, usize> {
        while let Ok(Delivered::File(range)) = self.rx.try_recv() {
            *self.acked.entry(range.start).or_default() += 1;
        }
        &self.acked
    }
}

/// A port on 127.0.0.1 that was free a moment ago (for a collector started later).
pub fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Captures the log lines of one future: `future.with_subscriber(capture.subscriber())`
/// (`tracing::instrument::WithSubscriber`). Tasks the future spawns are not captured.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// A subscriber writing DEBUG and above, without colours, into this capture.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish()
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
