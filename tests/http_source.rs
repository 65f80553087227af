//! The `type = "http"` source end to end, in process: real HTTP/1.1 (and HTTPS) requests → the
//! pipeline → a syslog sink (JSON payloads) → the test collector.
//!
//! Acknowledgement semantics under test: 200 only once the sink acknowledged the events; a request
//! that is refused (401, 413, 400) ships nothing at all; a sink that does not acknowledge makes
//! requests answer 503 with Retry-After.

mod support;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use support::inprocess::{payload, Pipeline};
use support::{toml_path, unused_port, Collector, CollectorOptions, Pki};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "edoc-s3cret";

/// An HTTP source `api` on `port` with two clients and `keys`, feeding a JSON syslog sink to
/// `sink_address`.
fn components(port: u16, keys: &str, sink_address: &str) -> String {
    format!(
        "[sources.api]\ntype = \"http\"\naddress = \"127.0.0.1:{port}\"\n{keys}\n\
         [[sources.api.tokens]]\ntoken = \"{TOKEN}\"\napplication = \"eDoc\"\ndevice_name = \"edoc-prod\"\n\
         [[sources.api.tokens]]\ntoken = \"sbsys-token\"\napplication = \"SBSYS\"\ndevice_name = \"sbsys01\"\n\
         [sinks.out]\ntype = \"syslog\"\ninputs = [\"api\"]\naddress = \"{sink_address}\"\ntransport = \"tcp\"\n\
         encoding = \"json\"\nreconnect_min = \"20ms\"\nreconnect_max = \"200ms\"\nconnect_timeout = \"200ms\"\n"
    )
}

/// A response: status, headers (lowercase names), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends one request (`Connection: close`) over `stream` and reads the whole answer.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

async fn post(port: u16, token: Option<&str>, extra: &[(&str, &str)], body: &[u8]) -> Answer {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    exchange(stream, "POST", "/v1/events", &headers, body).await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

async fn received(collector: &Collector, n: usize) -> Vec<Value> {
    collector
        .expect_messages(n, WAIT)
        .await
        .iter()
        .map(|m| payload(m))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_accepted_once_delivered_and_the_token_decides_who_sent_them() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let port = unused_port();
    let pipeline = Pipeline::start(&components(port, "", &collector.address())).await;

    let ndjson = b"{\"message\":\"case opened\",\"user\":\"alice\",\"application\":\"SBSYS\",\"device_name\":\"sbsys01\"}\n\
                   {\"message\":\"case closed\",\"user\":\"alice\"}\n";
    let answer = post(port, Some(TOKEN), &[], ndjson).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["accepted"], 2);
    // By the time of the answer the sink has the events: the collector's TCP stack acknowledged them.
    let events = received(&collector, 2).await;
    for event in &events {
        assert_eq!(event["device_name"], "edoc-prod", "{event}");
        assert_eq!(event["application"], "eDoc", "{event}");
        assert_eq!(event["device_ip"], "127.0.0.1");
        assert_eq!(event["norm_id"], "JsonEvent");
        assert_eq!(event["source_name"], "http:/v1/events");
    }
    assert_eq!(events[0]["user"], "alice");

    let array = br#"[{"message":"a"},{"message":"b"},{"message":"c"}]"#;
    let answer = post(
        port,
        Some("sbsys-token"),
        &[("Content-Encoding", "gzip")],
        &gzip(array),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let events = received(&collector, 5).await;
    assert_eq!(
        events[2..]
            .iter()
            .map(|e| e["device_name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["sbsys01"; 3]
    );
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_ship_nothing() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let port = unused_port();
    let pipeline = Pipeline::start(&components(
        port,
        "max_body_bytes = \"1KiB\"",
        &collector.address(),
    ))
    .await;
    let one = b"{\"message\":\"x\"}";

    let answer = post(port, None, &[], one).await;
    assert_eq!(answer.status, 401);
    assert!(answer.header("www-authenticate").is_some());
    assert_eq!(post(port, Some("guess"), &[], one).await.status, 401);

    let big = format!("{{\"message\":\"{}\"}}", "x".repeat(2000));
    assert_eq!(
        post(port, Some(TOKEN), &[], big.as_bytes()).await.status,
        413
    );
    // Small on the wire, too large once decoded.
    let bomb = gzip(big.as_bytes());
    assert!(bomb.len() < 1024);
    let answer = post(port, Some(TOKEN), &[("Content-Encoding", "gzip")], &bomb).await;
    assert_eq!(answer.status, 413);

    let bad = b"{\"message\":\"fine\"}\n{\"message\":\n{\"message\":\"fine\"}\n42\n";
    let answer = post(port, Some(TOKEN), &[], bad).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["bad_records"], serde_json::json!([2, 4]));
    assert_eq!(answer.json()["numbering"], "lines");
    let answer = post(port, Some(TOKEN), &[], br#"[{"a":1},"no",{"b":2}]"#).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["bad_records"], serde_json::json!([2]));
    assert_eq!(answer.json()["numbering"], "records");

    // Only this one arrives.
    assert_eq!(post(port, Some(TOKEN), &[], one).await.status, 200);
    assert_eq!(received(&collector, 1).await.len(), 1);
    assert_eq!(
        pipeline
            .metric("logferry_source_events_total", "source=\"api\"")
            .await,
        1.0
    );
    for (reason, n) in [
        ("unauthorized", 2.0),
        ("too_large", 2.0),
        ("bad_request", 2.0),
    ] {
        let labels = format!("source=\"api\",reason=\"{reason}\"");
        let count = pipeline
            .metric("logferry_source_refused_total", &labels)
            .await;
        assert_eq!(count, n, "{reason}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(collector.count(), 1);
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_does_not_acknowledge_gets_503_with_retry_after() {
    // The sink's collector is not there: it never connects, so it never acknowledges.
    let nowhere = format!("127.0.0.1:{}", unused_port());
    let port = unused_port();
    let pipeline = Pipeline::start(&components(port, "ack_timeout = \"300ms\"", &nowhere)).await;
    let one = b"{\"message\":\"x\"}";
    let answer = post(port, Some(TOKEN), &[], one).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.header("retry-after"), Some("1"));
    // Later requests fill the sink's queue and the intake, and are then refused.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(post(port, Some(TOKEN), &[], one).await.status);
    }
    assert!(statuses.iter().all(|s| *s == 503), "{statuses:?}");
    pipeline.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_the_openapi_description() {
    let pki = Pki::generate();
    let collector = Collector::start(CollectorOptions::default()).await;
    let port = unused_port();
    let tls = format!(
        "[sources.api.tls]\n{}{}",
        toml_path("cert_file", &pki.server_cert),
        toml_path("key_file", &pki.server_key)
    );
    let pipeline = Pipeline::start(&components(port, &tls, &collector.address())).await;

    let connector = {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(&pki.ca_cert).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    };
    let connect = || async {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        connector.connect(name, tcp).await.expect("TLS handshake")
    };
    let bearer = format!("Bearer {TOKEN}");
    let answer = exchange(
        connect().await,
        "POST",
        "/v1/events",
        &[("Authorization", &bearer)],
        b"{\"message\":\"over https\"}",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(received(&collector, 1).await[0]["message"], "over https");

    let answer = exchange(connect().await, "GET", "/v1/openapi.json", &[], b"").await;
    assert_eq!(answer.status, 200);
    let description = answer.json();
    assert!(description["openapi"].as_str().unwrap().starts_with("3."));
    assert!(description["paths"]["/v1/events"]["post"].is_object());
    // Plain HTTP on the TLS port is refused.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    plain
        .write_all(b"POST /v1/events HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\n{}")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw).await;
    assert!(!raw.starts_with(b"HTTP/1.1 200"));
    pipeline.stop().await;
}
