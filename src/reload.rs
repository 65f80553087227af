//! `logferry run` over time: runs the pipeline, and replaces it when the configuration or a file it
//! names (TLS certificates and keys, the CPR key) changes, without losing or duplicating events.
//!
//! Triggers: SIGHUP; with `--watch-config`, a change of the configuration file; always (when the
//! configuration comes from a file), a change of a TLS certificate, key or CA file or of a
//! `cpr_key_file`. Changes are debounced ([`SETTLE`]) so that a certificate and its key renewed one
//! after the other are taken together, and a trigger whose files have not changed is ignored.
//!
//! A reload first reads and checks the new configuration completely (syntax, values, every
//! source's normaliser, every sink's TLS material): if anything is wrong it is logged and the running
//! pipeline is kept, untouched. Otherwise the running pipeline stops as at shutdown (sources stop,
//! sinks drain within `shutdown_timeout`, checkpoints are written) and a new one starts from those
//! checkpoints. Events are therefore neither lost nor duplicated when the sinks drain in time; when
//! they cannot (a collector down), what they had not delivered is read again by the new pipeline,
//! exactly as after a restart. If the new pipeline cannot start (say its `[api]` address is taken),
//! the previous configuration is started again.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use notify::{RecursiveMode, Watcher};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

use crate::config::{self, Config, SinkKind, SourceConfig};
use crate::normalise::Normaliser;
use crate::pipeline;
use crate::sinks::kafka::KafkaSink;
use crate::sinks::syslog::SyslogSink;

/// How long file changes must stop before a reload is tried.
const SETTLE: Duration = Duration::from_millis(500);

/// Where the configuration comes from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The embedded demo configuration: nothing to reload.
    Embedded,
    /// A file; `watch` reloads when it changes (`--watch-config`).
    File { path: PathBuf, watch: bool },
}

/// Runs the agent until SIGTERM or SIGINT, reloading as described in the module documentation.
pub fn run(config: Config, origin: Origin) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_reloading(config, origin))
}

/// What ended one pipeline's run.
enum Next {
    Stop,
    Reload(Box<Config>),
}

async fn run_reloading(config: Config, origin: Origin) -> anyhow::Result<()> {
    let mut signals = Signals::install()?;
    let mut current = config;
    let mut previous: Option<Config> = None;
    loop {
        let mut watch = FileWatch::start(&origin, &current);
        let mut next = None;
        let outcome = pipeline::run_until(
            current.clone(),
            wait_for_next(&mut signals, &mut watch, &origin, &mut next),
        )
        .await;
        match (outcome, next) {
            (Ok(()), Some(Next::Reload(config))) => {
                tracing::info!("configuration reloaded: starting the new pipeline");
                previous = Some(std::mem::replace(&mut current, *config));
            }
            (Ok(()), _) => return Ok(()),
            (Err(e), None) => match previous.take() {
                Some(config) => {
                    tracing::error!(
                        "the new configuration could not start: {e:#}; starting the previous one again"
                    );
                    current = config;
                }
                None => return Err(e),
            },
            (Err(e), Some(_)) => return Err(e),
        }
    }
}

/// Resolves when the running pipeline should stop, saying why in `next`.
async fn wait_for_next(
    signals: &mut Signals,
    watch: &mut FileWatch,
    origin: &Origin,
    next: &mut Option<Next>,
) {
    loop {
        let trigger = tokio::select! {
            _ = signals.term.recv() => {
                tracing::info!("SIGTERM: stopping");
                break;
            }
            _ = signals.int.recv() => {
                tracing::info!("SIGINT: stopping");
                break;
            }
            _ = signals.hup.recv() => "SIGHUP",
            () = watch.changed() => "a watched file changed",
        };
        let Origin::File { path, .. } = origin else {
            tracing::warn!("{trigger}: the embedded configuration cannot be reloaded");
            continue;
        };
        if !watch.contents_changed() {
            tracing::info!(
                "{trigger}: no configuration or certificate file changed; nothing to do"
            );
            continue;
        }
        match load_checked(path) {
            Ok(config) => {
                tracing::info!(
                    "{trigger}: {} is valid; stopping the running pipeline to apply it",
                    path.display()
                );
                *next = Some(Next::Reload(Box::new(config)));
                return;
            }
            Err(e) => {
                watch.accept_contents();
                tracing::error!(
                    "{trigger}: the new configuration is not applied, the running one is kept: {e:#}"
                );
            }
        }
    }
    *next = Some(Next::Stop);
}

/// Reads `path` and checks everything the pipeline would check at start, without starting anything.
pub fn load_checked(path: &Path) -> anyhow::Result<Config> {
    let config = config::load_file(path)?;
    for (name, source) in &config.sources {
        Normaliser::new(&source.settings()).with_context(|| format!("source {name:?}"))?;
        match source {
            SourceConfig::Syslog(syslog) => {
                crate::sources::syslog::tls_acceptor(syslog)
                    .with_context(|| format!("source {name:?}"))?;
            }
            SourceConfig::Http(http) => {
                crate::sources::http::tls_acceptor(http)
                    .and_then(|_| crate::sources::http::read_tokens(http))
                    .with_context(|| format!("source {name:?}"))?;
            }
            _ => {}
        }
    }
    for (name, sink) in &config.sinks {
        match &sink.kind {
            SinkKind::Syslog(s) => {
                SyslogSink::new(name, s).with_context(|| format!("sink {name:?}"))?;
            }
            // librdkafka checks its settings when a client is created (it connects only later).
            SinkKind::Kafka(k) => {
                KafkaSink::new(name, k).with_context(|| format!("sink {name:?}"))?;
            }
            SinkKind::Console(_) => {}
        }
    }
    Ok(config)
}

/// The signals `run` reacts to, installed once for the whole run.
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        let install = |kind: SignalKind| signal(kind).context("installing signal handlers");
        Ok(Signals {
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
            hup: install(SignalKind::hangup())?,
        })
    }
}

/// The files a configuration depends on, watched through their directories (editors and certificate
/// tools replace files by renaming, which a watch on the file itself would miss).
struct FileWatch {
    /// The files and a digest of their contents when the running configuration was loaded.
    files: BTreeMap<PathBuf, Option<u64>>,
    events: mpsc::Receiver<()>,
    /// Kept alive for as long as events are wanted; `None` when nothing is watched.
    _watcher: Option<notify::RecommendedWatcher>,
}

impl FileWatch {
    fn start(origin: &Origin, config: &Config) -> FileWatch {
        let (tx, events) = mpsc::channel(1);
        let mut paths = BTreeSet::new();
        if let Origin::File { path, watch } = origin {
            // SIGHUP re-reads the configuration, so its digest is always compared.
            paths.insert(path.clone());
            paths.extend(dependencies(config));
            if !watch {
                paths.remove(path);
            }
        }
        let watcher = if paths.is_empty() {
            None
        } else {
            watch_directories(&paths, tx)
        };
        if let Origin::File { path, .. } = origin {
            paths.insert(path.clone());
        }
        let files = paths.into_iter().map(|p| (p.clone(), digest(&p))).collect();
        FileWatch {
            files,
            events,
            _watcher: watcher,
        }
    }

    /// Resolves once a watched file was touched and nothing more happened for [`SETTLE`].
    async fn changed(&mut self) {
        if self.events.recv().await.is_none() {
            return std::future::pending().await;
        }
        while let Ok(Some(())) = tokio::time::timeout(SETTLE, self.events.recv()).await {}
    }

    /// Whether any file's contents differ from when the running configuration was loaded.
    fn contents_changed(&self) -> bool {
        self.files.iter().any(|(path, seen)| digest(path) != *seen)
    }

    /// Takes the current contents as seen, so that a rejected change is not retried until it changes again.
    fn accept_contents(&mut self) {
        for (path, seen) in &mut self.files {
            *seen = digest(path);
        }
    }
}

/// The TLS, token and key files the configuration names.
fn dependencies(config: &Config) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for source in config.sources.values() {
        files.extend(source.cpr_key_file().cloned());
        files.extend(source.listener_files());
    }
    for sink in config.sinks.values() {
        if let SinkKind::Syslog(s) = &sink.kind {
            for file in [&s.tls.ca_file, &s.tls.cert_file, &s.tls.key_file]
                .into_iter()
                .flatten()
            {
                files.push(file.get_ref().clone());
            }
        }
    }
    files
}

/// Watches the directories of `paths`; an event on one of them sends on `tx`. `None` (with a
/// warning) when the watch cannot be set up: SIGHUP still works.
fn watch_directories(
    paths: &BTreeSet<PathBuf>,
    tx: mpsc::Sender<()>,
) -> Option<notify::RecommendedWatcher> {
    let wanted: BTreeSet<PathBuf> = paths.iter().map(|p| absolute(p)).collect();
    let handler = {
        let wanted = wanted.clone();
        move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                if event.paths.iter().any(|p| wanted.contains(p)) {
                    let _ = tx.try_send(());
                }
            }
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("cannot watch the configuration's files ({e}); reload with SIGHUP");
            return None;
        }
    };
    let directories: BTreeSet<&Path> = wanted.iter().filter_map(|p| p.parent()).collect();
    for directory in directories {
        if let Err(e) = watcher.watch(directory, RecursiveMode::NonRecursive) {
            tracing::warn!(
                "cannot watch {} ({e}); reload with SIGHUP after changing files there",
                directory.display()
            );
        }
    }
    Some(watcher)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A digest of the file's contents; `None` when it cannot be read.
fn digest(path: &Path) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    Some(hasher.finish())
}
