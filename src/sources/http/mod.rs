//! `type = "http"` source: JSON events posted to `POST /v1/events` (HTTP/1.1, optionally HTTPS).
//!
//! Each client authenticates with a bearer token from the configuration, and the token decides the
//! `device_name` and `application` of its events (a body cannot set them). A body is one JSON
//! object, an array of objects, or NDJSON, plain or gzip; it is checked whole before anything is
//! handed on ([`body`]), then normalised as `format = "json"`.
//!
//! Acknowledgement: a request's records travel as one chunk whose [`crate::batch::Receipt`] answers
//! the request. 200 is sent only after every sink of the source acknowledged the events; a
//! pipeline that has no room for them within half a second answers 503 with `Retry-After`, and no
//! acknowledgement within `ack_timeout`
//! answers 503 too (the events may still be delivered then: a retry can duplicate, never lose).
//! `GET /v1/openapi.json` serves the OpenAPI 3 description (`docs/openapi.json`).

pub mod body;
mod request;

use std::convert::Infallible;
use std::sync::Arc;

use anyhow::Context;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::intake::{Client, IntakeSender};
use super::server_tls;
use crate::config::HttpSourceConfig;
use crate::metrics::listener::{ListenerMetrics, Refusal};
use request::{Endpoint, Token};

/// A bound HTTP listener with its tokens read, ready to run.
pub struct HttpListener {
    name: String,
    config: HttpSourceConfig,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    tokens: Vec<Token>,
}

/// The TLS acceptor of a source with a `tls` table (offering HTTP/1.1 by ALPN); `None` without.
pub fn tls_acceptor(config: &HttpSourceConfig) -> anyhow::Result<Option<TlsAcceptor>> {
    config
        .tls
        .as_ref()
        .map(|tls| server_tls::server_config(tls, &[b"http/1.1"]).map(TlsAcceptor::from))
        .transpose()
}

/// The clients of the source, their tokens read from `token_file` where configured.
pub fn read_tokens(config: &HttpSourceConfig) -> anyhow::Result<Vec<Token>> {
    config
        .tokens
        .get_ref()
        .iter()
        .map(|t| {
            let secret = match (&t.token, &t.token_file) {
                (Some(token), _) => token.trim().to_string(),
                (None, Some(file)) => std::fs::read_to_string(file.get_ref())
                    .with_context(|| format!("token_file {}", file.get_ref().display()))?
                    .trim()
                    .to_string(),
                (None, None) => anyhow::bail!("a token without token or token_file"),
            };
            anyhow::ensure!(
                !secret.is_empty(),
                "the token of application {:?} is empty",
                t.application
            );
            Ok(Token::new(
                secret,
                Client {
                    device_name: t.device_name.clone(),
                    application: t.application.clone(),
                },
            ))
        })
        .collect()
}

impl HttpListener {
    /// Binds `config.address` and reads the TLS material and token files.
    pub async fn bind(name: &str, config: &HttpSourceConfig) -> anyhow::Result<Self> {
        let tls = tls_acceptor(config)?;
        let tokens = read_tokens(config)?;
        let listener = TcpListener::bind(config.address)
            .await
            .with_context(|| format!("cannot listen on {}", config.address))?;
        Ok(HttpListener {
            name: name.to_string(),
            config: config.clone(),
            listener,
            tls,
            tokens,
        })
    }

    /// Serves until `stop`; then lets requests in progress finish (their events drain through the
    /// pipeline, or `abort` answers them 503) and closes every connection.
    pub async fn run(
        self,
        intake: IntakeSender,
        metrics: Arc<ListenerMetrics>,
        stop: CancellationToken,
        abort: CancellationToken,
    ) {
        let endpoint = Arc::new(Endpoint {
            source: self.name,
            tokens: self.tokens,
            max_body_bytes: self.config.max_body_bytes,
            ack_timeout: self.config.ack_timeout,
            intake,
            metrics: Arc::clone(&metrics),
        });
        let slots = Arc::new(Semaphore::new(self.config.max_connections));
        let mut connections = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            while connections.try_join_next().is_some() {}
            let Ok((stream, peer)) = accepted else {
                continue;
            };
            metrics.accepted.add(1);
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                metrics.refuse(Refusal::ConnectionLimit, 1);
                continue;
            };
            let endpoint = Arc::clone(&endpoint);
            let tls = self.tls.clone();
            let stop = stop.clone();
            let idle = self.config.idle_timeout;
            connections.spawn(async move {
                endpoint.metrics.open.add(1);
                connection(stream, peer.ip(), tls, &endpoint, idle, stop).await;
                endpoint.metrics.open.add(-1);
                drop(slot);
            });
        }
        drop(self.listener);
        tokio::select! {
            () = async { while connections.join_next().await.is_some() {} } => {}
            () = abort.cancelled() => connections.shutdown().await,
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: std::net::IpAddr,
    tls: Option<TlsAcceptor>,
    endpoint: &Arc<Endpoint>,
    idle: std::time::Duration,
    stop: CancellationToken,
) {
    match tls {
        None => serve(stream, peer, endpoint, idle, stop).await,
        Some(tls) => {
            let handshake = tokio::time::timeout(idle, tls.accept(stream));
            match handshake.await {
                Ok(Ok(stream)) => serve(stream, peer, endpoint, idle, stop).await,
                _ => endpoint.metrics.refuse(Refusal::TlsHandshake, 1),
            }
        }
    }
}

/// HTTP/1.1 on one connection until the client closes it, it idles for `idle`, or `stop` (then
/// after the request in progress).
async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    peer: std::net::IpAddr,
    endpoint: &Arc<Endpoint>,
    idle: std::time::Duration,
    stop: CancellationToken,
) {
    let service = {
        let endpoint = Arc::clone(endpoint);
        service_fn(move |req| {
            let endpoint = Arc::clone(&endpoint);
            async move { Ok::<_, Infallible>(endpoint.respond(req, peer).await) }
        })
    };
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(idle)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(source = %endpoint.source, %peer, error = %e, "http connection ended");
    }
}
