//! One request to an HTTP source: authentication, the body (size limit, gzip), and the answer once
//! the events are acknowledged.

use std::io::Read;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::oneshot;

use super::body::{self, Numbering};
use crate::batch::Receipt;
use crate::metrics::listener::{ListenerMetrics, Refusal};
use crate::sources::intake::{Client, Delivery, IntakeSender};
use crate::sources::tail::Chunk;

/// The OpenAPI 3 description served at `GET /v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// How long a request waits for room in the pipeline before it is refused with 503 (absorbs
/// bursts of concurrent requests without holding clients while the pipeline is really full).
const ENQUEUE_WAIT: Duration = Duration::from_millis(500);

/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_SECONDS: &str = "1";

/// One client's bearer token.
#[derive(Debug)]
pub struct Token {
    secret: Vec<u8>,
    client: Arc<Client>,
}

impl Token {
    pub fn new(secret: String, client: Client) -> Self {
        Token {
            secret: secret.into_bytes(),
            client: Arc::new(client),
        }
    }

    /// Compares in time independent of where the first difference is.
    fn matches(&self, presented: &[u8]) -> bool {
        self.secret.len() == presented.len()
            && self
                .secret
                .iter()
                .zip(presented)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// What every request of one source needs.
pub struct Endpoint {
    pub source: String,
    pub tokens: Vec<Token>,
    pub max_body_bytes: usize,
    pub ack_timeout: Duration,
    pub intake: IntakeSender,
    pub metrics: Arc<ListenerMetrics>,
}

type Answer = Response<Full<Bytes>>;

impl Endpoint {
    /// The answer to `request` from `peer`.
    pub async fn respond(&self, request: Request<Incoming>, peer: IpAddr) -> Answer {
        match (request.method(), request.uri().path()) {
            (&Method::POST, "/v1/events") => self.events(request, peer).await,
            (_, "/v1/events") => {
                let mut answer = text(StatusCode::METHOD_NOT_ALLOWED, "only POST\n");
                answer
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST"));
                answer
            }
            (&Method::GET | &Method::HEAD, "/v1/openapi.json") => {
                json(StatusCode::OK, OPENAPI.to_string())
            }
            _ => text(StatusCode::NOT_FOUND, "not found; POST /v1/events\n"),
        }
    }

    fn client(&self, request: &Request<Incoming>) -> Option<Arc<Client>> {
        let header = request.headers().get(AUTHORIZATION)?.as_bytes();
        let presented = header
            .strip_prefix(b"Bearer ")
            .or_else(|| header.strip_prefix(b"bearer "))?
            .trim_ascii();
        self.tokens
            .iter()
            .find(|t| t.matches(presented))
            .map(|t| Arc::clone(&t.client))
    }

    async fn events(&self, request: Request<Incoming>, peer: IpAddr) -> Answer {
        let Some(client) = self.client(&request) else {
            self.metrics.refuse(Refusal::Unauthorized, 1);
            let mut answer = text(
                StatusCode::UNAUTHORIZED,
                "a known bearer token is required\n",
            );
            answer.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Bearer realm=\"logferry\""),
            );
            return answer;
        };
        let body = match self.read_body(request).await {
            Ok(body) => body,
            Err(answer) => return answer,
        };
        let mut data = Vec::with_capacity(body.len());
        let records = match body::parse(&body, &mut data) {
            Ok(records) => records,
            Err(bad) => {
                self.metrics.refuse(Refusal::BadRequest, 1);
                let numbering = match bad.numbering {
                    Numbering::Lines => "lines",
                    Numbering::Records => "records",
                };
                let answer = serde_json::json!({
                    "error": bad.reason,
                    "numbering": numbering,
                    "bad_records": bad.bad,
                });
                return json(StatusCode::BAD_REQUEST, answer.to_string());
            }
        };
        let accepted = records.len();
        if accepted == 0 {
            return json(StatusCode::OK, "{\"accepted\":0}".into());
        }
        let (delivered, acknowledged) = oneshot::channel();
        let delivery = Delivery {
            chunk: Chunk {
                data,
                records,
                file_range: 0..0,
            },
            peer,
            client: Some(client),
            bytes: body.len() as u64,
            receipt: Receipt::new(move || {
                let _ = delivered.send(());
            }),
        };
        if self
            .intake
            .send_timeout(delivery, ENQUEUE_WAIT)
            .await
            .is_err()
        {
            return self.busy("the pipeline is full; nothing of this request was accepted");
        }
        match tokio::time::timeout(self.ack_timeout, acknowledged).await {
            Ok(Ok(())) => json(StatusCode::OK, format!("{{\"accepted\":{accepted}}}")),
            _ => self.busy(
                "the events were not acknowledged in time; they may still be delivered, so a retry may duplicate them",
            ),
        }
    }

    /// The body, gzip-decoded if so marked; an error answer if too large or not readable.
    async fn read_body(&self, request: Request<Incoming>) -> Result<Vec<u8>, Answer> {
        let gzip = match request
            .headers()
            .get(CONTENT_ENCODING)
            .map(|v| v.as_bytes())
        {
            None | Some(b"identity") => false,
            Some(b"gzip") | Some(b"x-gzip") => true,
            Some(_) => {
                self.metrics.refuse(Refusal::BadRequest, 1);
                return Err(text(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Content-Encoding must be gzip or identity\n",
                ));
            }
        };
        let limited = Limited::new(request.into_body(), self.max_body_bytes);
        let raw = match limited.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(self.too_large()),
            Err(_) => {
                self.metrics.refuse(Refusal::BadRequest, 1);
                return Err(text(
                    StatusCode::BAD_REQUEST,
                    "the body could not be read\n",
                ));
            }
        };
        if !gzip {
            return Ok(raw.to_vec());
        }
        let mut decoded = Vec::new();
        let limit = self.max_body_bytes as u64 + 1;
        match flate2::read::MultiGzDecoder::new(&raw[..])
            .take(limit)
            .read_to_end(&mut decoded)
        {
            Ok(n) if n as u64 >= limit => Err(self.too_large()),
            Ok(_) => Ok(decoded),
            Err(e) => {
                self.metrics.refuse(Refusal::BadRequest, 1);
                Err(text(
                    StatusCode::BAD_REQUEST,
                    &format!("the body is not valid gzip: {e}\n"),
                ))
            }
        }
    }

    fn too_large(&self) -> Answer {
        self.metrics.refuse(Refusal::TooLarge, 1);
        text(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is larger than {} bytes\n", self.max_body_bytes),
        )
    }

    /// 503 with `Retry-After`, saying `why`.
    fn busy(&self, why: &str) -> Answer {
        self.metrics.refuse(Refusal::PipelineFull, 1);
        let mut answer = text(StatusCode::SERVICE_UNAVAILABLE, &format!("{why}\n"));
        answer
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static(RETRY_AFTER_SECONDS));
        answer
    }
}

fn text(status: StatusCode, body: &str) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body.to_string())));
    *answer.status_mut() = status;
    answer.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    answer
}

fn json(status: StatusCode, body: String) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::from(body)));
    *answer.status_mut() = status;
    answer
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    answer
}
