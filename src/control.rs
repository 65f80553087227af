//! The agent's control socket, `DATA_DIR/control.sock`: what `logferry tap` and `logferry top` talk to
//! on the same host.
//!
//! Protocol: the client sends one JSON line, a [`Request`]. For `metrics` the agent answers with the
//! Prometheus text of `/metrics` and closes. For `tap` it answers one line, `{"ok":"…"}` or
//! `{"error":"…"}`, then streams the matching events as JSON lines until the client closes; when the
//! client falls behind, chunks of events are dropped for it and a line
//! `{"logferry_tap":{"dropped_chunks":N}}` (N: the total so far) says so.
//!
//! Access: the socket file is created mode 0600 in the data directory, and every connection's peer
//! credentials are checked: only root and the agent's own user are served.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::query::Query;
use crate::tap::{TapFilter, TapHub};

/// The socket's file name inside the data directory.
pub const SOCKET_NAME: &str = "control.sock";

/// How long a client may take to send its request line, and how long that line may be.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// The socket of the agent whose data directory is `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// What a client asks for.
#[derive(Debug, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The metrics, as Prometheus text.
    Metrics,
    /// Events, live: of one source, of the sources feeding one sink, or of all; optionally only
    /// those matching a LogPoint query.
    Tap {
        source: Option<String>,
        sink: Option<String>,
        query: Option<String>,
    },
}

/// What the control socket serves from.
pub struct Control {
    pub hub: Arc<TapHub>,
    pub metrics: Arc<Metrics>,
    /// Source names, and for each sink the sources it takes.
    sources: BTreeSet<String>,
    sink_inputs: BTreeMap<String, BTreeSet<String>>,
}

impl Control {
    pub fn new(config: &Config, hub: Arc<TapHub>, metrics: Arc<Metrics>) -> Self {
        Control {
            hub,
            metrics,
            sources: config.sources.keys().cloned().collect(),
            sink_inputs: config
                .sinks
                .iter()
                .map(|(name, sink)| (name.clone(), sink.inputs.iter().cloned().collect()))
                .collect(),
        }
    }

    /// The filter a tap request asks for, or why it cannot be served.
    fn filter(
        &self,
        source: Option<String>,
        sink: Option<String>,
        query: Option<String>,
    ) -> Result<TapFilter, String> {
        let sources = match (source, sink) {
            (Some(_), Some(_)) => return Err("give a source or a sink, not both".into()),
            (Some(source), None) if self.sources.contains(&source) => {
                Some(BTreeSet::from([source]))
            }
            (Some(source), None) => return Err(format!("no source {source:?}")),
            (None, Some(sink)) => match self.sink_inputs.get(&sink) {
                Some(inputs) => Some(inputs.clone()),
                None => return Err(format!("no sink {sink:?}")),
            },
            (None, None) => None,
        };
        let query = match query.filter(|q| !q.trim().is_empty()) {
            Some(text) => Some(Query::parse(&text).map_err(|e| format!("query: {e}"))?),
            None => None,
        };
        Ok(TapFilter { sources, query })
    }
}

/// Binds the socket in `data_dir`. A socket file left by an agent that is gone is replaced; one an
/// agent still answers on is an error (two agents must not share a data directory).
pub async fn bind(data_dir: &Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data_dir);
    if path.exists() {
        if UnixStream::connect(&path).await.is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "another logferry answers on {}: two agents cannot share a data_dir",
                    path.display()
                ),
            ));
        }
        std::fs::remove_file(&path)?;
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves clients until `stop`, then removes the socket file.
pub async fn serve(listener: UnixListener, control: Arc<Control>, stop: CancellationToken) {
    let path = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_path_buf));
    loop {
        let stream = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("control socket: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let control = Arc::clone(&control);
        let stop = stop.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, &control, &stop).await {
                tracing::debug!("control socket client: {e}");
            }
        });
    }
    if let Some(path) = path {
        let _ = std::fs::remove_file(path);
    }
}

/// Whether the peer may use the socket: root or the agent's own user.
fn allowed(stream: &UnixStream) -> Result<(), String> {
    let credentials = stream
        .peer_cred()
        .map_err(|e| format!("cannot read the peer's credentials: {e}"))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let own = unsafe { libc::geteuid() };
    match credentials.uid() {
        0 => Ok(()),
        uid if uid == own => Ok(()),
        uid => Err(format!(
            "user {uid} may not use the control socket (only root and user {own})"
        )),
    }
}

async fn handle(stream: UnixStream, control: &Control, stop: &CancellationToken) -> io::Result<()> {
    let permission = allowed(&stream);
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader.take(MAX_REQUEST_BYTES));
    let mut line = String::new();
    match tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => return reply_error(&mut writer, "no request within 5 s").await,
    }
    // Refused after the request is read, so that the client is not cut off while still sending.
    if let Err(refusal) = permission {
        tracing::warn!("control socket: {refusal}");
        return reply_error(&mut writer, &refusal).await;
    }
    let request: Request = match serde_json::from_str(&line) {
        Ok(request) => request,
        Err(e) => return reply_error(&mut writer, &format!("bad request: {e}")).await,
    };
    match request {
        Request::Metrics => {
            writer
                .write_all(control.metrics.render().as_bytes())
                .await?;
            writer.shutdown().await
        }
        Request::Tap {
            source,
            sink,
            query,
        } => {
            let filter = match control.filter(source, sink, query) {
                Ok(filter) => filter,
                Err(e) => return reply_error(&mut writer, &e).await,
            };
            let what = match &filter.sources {
                Some(sources) => format!("tapping {} source(s)", sources.len()),
                None => "tapping every source".to_string(),
            };
            let ok = serde_json::json!({ "ok": what }).to_string();
            writer.write_all(format!("{ok}\n").as_bytes()).await?;
            let mut subscription = control.hub.subscribe(filter);
            let mut reported = 0;
            let mut closed = [0u8; 1];
            let mut reader = reader.into_inner();
            loop {
                tokio::select! {
                    () = stop.cancelled() => return writer.shutdown().await,
                    // The client sends nothing more: a read that ends means it went away.
                    _ = reader.read(&mut closed) => return Ok(()),
                    chunk = subscription.events.recv() => match chunk {
                        Some(chunk) => writer.write_all(&chunk).await?,
                        None => return Ok(()),
                    },
                }
                let dropped = subscription.dropped.load(Ordering::Relaxed);
                if dropped > reported {
                    reported = dropped;
                    let notice =
                        serde_json::json!({ "logferry_tap": { "dropped_chunks": dropped } });
                    writer.write_all(format!("{notice}\n").as_bytes()).await?;
                }
            }
        }
    }
}

async fn reply_error(writer: &mut (impl AsyncWriteExt + Unpin), message: &str) -> io::Result<()> {
    let line = serde_json::json!({ "error": message }).to_string();
    writer.write_all(format!("{line}\n").as_bytes()).await?;
    writer.shutdown().await
}
