//! `logferry send`: ships finished files (plain or gzip) once through the sinks of a configuration.
//!
//! For loading an incident's history into the SIEM. The files go through the same pipeline as the
//! agent's (normalisation, the configured sinks, acknowledgements), as one source named `send`
//! that ends when every file has been delivered. Progress is kept in `data_dir/send` (checkpoints,
//! and the disk buffers of the sinks if configured), apart from a running agent's state, so an
//! interrupted send run again with the same files resumes where delivery stopped, and a file that
//! was delivered to its end is not sent again (see [`crate::sources::archive`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::signal::unix::{signal, SignalKind};

use crate::config::{self, Config, SourceConfig, SourceSettings};
use crate::normalise::Normaliser;
use crate::sources::archive::{ArchiveOutcome, ArchiveProgress, ArchiveSourceConfig};

/// The name of the one source of a send run, as `tap --source` and the metrics know it.
pub const SOURCE_NAME: &str = "send";

/// What to send, and where.
#[derive(Debug)]
pub struct SendRequest {
    /// The configuration whose sinks (and data_dir) are used; its sources are not started.
    pub config: PathBuf,
    /// Only these sinks; empty means every sink of the configuration.
    pub sinks: Vec<String>,
    pub files: Vec<PathBuf>,
    pub settings: SourceSettings,
    pub max_line_bytes: usize,
    /// Forget earlier progress and send every file from its beginning.
    pub restart: bool,
    /// Draw a progress bar on stderr (when it is a terminal).
    pub progress_bar: bool,
}

/// Runs a send to its end (or until SIGINT/SIGTERM); `Ok(true)` when every file was delivered.
pub fn send(request: SendRequest) -> anyhow::Result<bool> {
    let base = config::load_file(&request.config)?;
    for file in &request.files {
        let meta = std::fs::metadata(file).with_context(|| format!("{}", file.display()))?;
        anyhow::ensure!(meta.is_file(), "{} is not a regular file", file.display());
    }
    Normaliser::new(&request.settings)?;
    let total: u64 = request
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let progress = Arc::new(ArchiveProgress::default());
    let config = send_config(&base, &request, Arc::clone(&progress))?;
    if request.restart {
        crate::checkpoint::Checkpoints::forget(&config.data_dir)?;
    }
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let bar = request.progress_bar.then(|| progress_bar(total));
    let shown = Arc::clone(&progress);
    runtime.block_on(async {
        let mut sigterm = signal(SignalKind::terminate()).context("installing SIGTERM")?;
        let stop = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = sigterm.recv() => {}
            }
            tracing::info!("stopping; run the same command again to resume");
        };
        let show = async {
            // Never ends: the progress loop, or nothing to show.
            match &bar {
                Some(bar) => loop {
                    update(bar, &shown, started);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                },
                None => std::future::pending::<std::convert::Infallible>().await,
            }
        };
        tokio::select! {
            result = crate::pipeline::run_until(config, stop) => result,
            never = show => match never {},
        }
    })?;
    if let Some(bar) = &bar {
        update(bar, &progress, started);
        bar.finish();
    }
    let outcome = match progress.outcome.lock() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    let outcome = outcome.unwrap_or(ArchiveOutcome {
        complete: 0,
        failed: Vec::new(),
        finished: false,
    });
    let events = progress.events.load(Ordering::Relaxed);
    eprintln!(
        "logferry send: {} of {} file(s) delivered to their end, {events} event(s) sent in {:.1}s{}",
        outcome.complete,
        request.files.len(),
        started.elapsed().as_secs_f64(),
        if outcome.finished {
            ""
        } else {
            "; not finished: run the same command again to resume"
        }
    );
    for (path, why) in &outcome.failed {
        eprintln!("logferry send: {}: {why}", path.display());
    }
    Ok(outcome.finished)
}

/// The configuration of a send run: `base`'s sinks (all or those asked for) taking one archive
/// source, state in `data_dir/send`, no API listener.
fn send_config(
    base: &Config,
    request: &SendRequest,
    progress: Arc<ArchiveProgress>,
) -> anyhow::Result<Config> {
    for name in &request.sinks {
        anyhow::ensure!(
            base.sinks.contains_key(name),
            "--sink {name:?}: {} has no such sink (it has {})",
            request.config.display(),
            base.sinks.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let sinks: BTreeMap<_, _> = base
        .sinks
        .iter()
        .filter(|(name, _)| request.sinks.is_empty() || request.sinks.contains(name))
        .map(|(name, sink)| {
            let mut sink = sink.clone();
            sink.inputs = vec![SOURCE_NAME.to_string()];
            (name.clone(), sink)
        })
        .collect();
    anyhow::ensure!(
        !sinks.is_empty(),
        "{} has no sink to send to",
        request.config.display()
    );
    let archive = ArchiveSourceConfig {
        files: request.files.clone(),
        settings: request.settings.clone(),
        max_line_bytes: request.max_line_bytes,
        progress,
    };
    Ok(Config {
        data_dir: base.data_dir.join("send"),
        shutdown_timeout: base.shutdown_timeout,
        sources: BTreeMap::from([(SOURCE_NAME.to_string(), SourceConfig::Archive(archive))]),
        sinks,
        api: None,
    })
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar
}

/// Shows bytes read, events and events/s, and what waits for acknowledgement.
fn update(bar: &ProgressBar, progress: &ArchiveProgress, started: Instant) {
    bar.set_position(progress.bytes_read.load(Ordering::Relaxed));
    let events = progress.events.load(Ordering::Relaxed);
    let rate = events as f64 / started.elapsed().as_secs_f64().max(0.001);
    let waiting = progress.unacknowledged.load(Ordering::Relaxed);
    bar.set_message(format!(
        "{events} events, {rate:.0}/s, {waiting} batch(es) awaiting acknowledgement"
    ));
}
