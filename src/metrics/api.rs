//! The HTTP API of `[api]`: `/metrics` (Prometheus text format), `/health` (liveness) and
//! `/health?ready` or `/ready` (readiness: 503 while a sink is failing). HTTP/1.1 by `hyper`.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::exposition;
use super::Metrics;

/// Serves the API on `listener` until `stop` is cancelled; connections in progress are dropped then.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "api: accept failed");
                continue;
            }
        };
        let metrics = Arc::clone(&metrics);
        let stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let metrics = Arc::clone(&metrics);
                async move { Ok::<_, Infallible>(respond(&request, &metrics)) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                () = stop.cancelled() => {}
                served = connection => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "api: connection failed");
                    }
                }
            }
        });
    }
}

/// The response to one request.
fn respond(request: &Request<Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n".into());
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let uri = request.uri();
    let wants_readiness = uri.query().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "ready" || p.starts_with("ready="))
    });
    match uri.path() {
        "/metrics" => {
            let mut response = text(StatusCode::OK, metrics.render());
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(exposition::CONTENT_TYPE),
            );
            response
        }
        "/ready" => readiness(metrics),
        "/health" if wants_readiness => readiness(metrics),
        "/health" => text(StatusCode::OK, "alive\n".into()),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found; try /metrics, /health or /ready\n".into(),
        ),
    }
}

/// 200 when no sink is failing, else 503 naming the failing sinks.
fn readiness(metrics: &Metrics) -> Response<Full<Bytes>> {
    let failing = metrics.failing_sinks();
    if failing.is_empty() {
        text(StatusCode::OK, "ready\n".into())
    } else {
        text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: failing sinks: {}\n", failing.join(", ")),
        )
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
