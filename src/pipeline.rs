//! Wiring and lifecycle of `logferry run`: sinks, sources, the checkpoint store, and graceful shutdown.
//!
//! Start: the checkpoint store is loaded, every sink gets a bounded queue and a task, every source a
//! thread whose processor sends to the queues of the sinks that take it. With `[api]`, a task serves
//! the metrics registered for them (bound before anything starts; stopped last).
//!
//! Stop (when the `shutdown` future resolves: SIGTERM, SIGINT or a reload, see [`crate::reload`];
//! or when every source has ended by itself, as `logferry send`'s does): sources stop reading and drop their queue ends; each sink drains what is
//! queued and closes its connection gracefully; acknowledgements reach the checkpoint store, which
//! writes its state one last time. If draining takes longer than `shutdown_timeout` (a collector that
//! is down), sinks are aborted: what they had not delivered stays unacknowledged and is read again
//! on the next start. Either way the exit code is 0.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::batch::{BatchSender, Delivered};
use crate::buffer::DiskBuffer;
use crate::checkpoint::Checkpoints;
use crate::config::{Config, SinkKind, SourceConfig};
use crate::control::Control;
use crate::metrics::buffer::BufferMetrics;
use crate::metrics::{api, Metrics, SinkMetrics};
use crate::normalise::Normaliser;
use crate::process::{Processor, SinkInput};
use crate::sinks::console::{self, ConsoleSink};
use crate::sinks::kafka::KafkaSink;
use crate::sinks::syslog::SyslogSink;
use crate::sources::archive::ArchiveSource;
use crate::sources::file::FileSource;
use crate::sources::http::HttpListener;
use crate::sources::intake;
use crate::sources::kafka::KafkaSource;
use crate::sources::syslog::SyslogListener;
use crate::tap::{TapHub, TapPoint};

/// How often acknowledged offsets are written to disk.
const PERSIST_INTERVAL: Duration = Duration::from_secs(1);

/// Runs the agent until `shutdown` resolves, then stops gracefully.
pub async fn run_until(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let checkpoints = Arc::new(Mutex::new(Checkpoints::load(&config.data_dir)?));
    let (ack_tx, ack_rx) = mpsc::unbounded_channel();
    let abort = CancellationToken::new();
    let mut metrics = Metrics::new(Arc::clone(&checkpoints));
    // Bound before anything starts, so that an address in use stops the start with an error.
    let api_listener = match &config.api {
        Some(api) => Some(
            tokio::net::TcpListener::bind(api.address)
                .await
                .with_context(|| format!("[api] cannot listen on {}", api.address))?,
        ),
        None => None,
    };
    let control_listener = match crate::control::bind(&config.data_dir).await {
        Ok(listener) => Some(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(e.into()),
        Err(e) => {
            tracing::warn!(
                "no control socket in {} ({e}): logferry tap and top will not reach this agent",
                config.data_dir.display()
            );
            None
        }
    };
    let hub = Arc::new(TapHub::default());
    // Network sources bind before anything starts too.
    let mut listeners = BTreeMap::new();
    for (name, source) in &config.sources {
        let bound = match source {
            SourceConfig::Syslog(syslog) => {
                SyslogListener::bind(name, syslog).await.map(Bound::Syslog)
            }
            SourceConfig::Http(http) => HttpListener::bind(name, http).await.map(Bound::Http),
            _ => continue,
        };
        listeners.insert(
            name.clone(),
            bound.with_context(|| format!("source {name:?}"))?,
        );
    }
    let listeners_stop = CancellationToken::new();
    let mut listener_tasks = JoinSet::new();

    let mut queues: BTreeMap<String, (BatchSender, Arc<SinkMetrics>)> = BTreeMap::new();
    let mut sinks = JoinSet::new();
    for (name, sink) in &config.sinks {
        let capacity = match &sink.kind {
            SinkKind::Syslog(s) => s.queue_batches,
            SinkKind::Console(_) => console::QUEUE_BATCHES,
            SinkKind::Kafka(k) => k.queue_batches,
        };
        // A disk buffer is the reservoir: the sink's own queue then only bridges the reader's reads.
        let sink_queue = match sink.disk_buffer {
            Some(_) => crate::buffer::SINK_QUEUE_BATCHES,
            None => capacity,
        };
        let (tx, rx) = mpsc::channel(sink_queue);
        let sink_metrics = match &sink.kind {
            SinkKind::Console(_) => {
                let sink = ConsoleSink::new(name);
                let sink_metrics = sink.metrics();
                sinks.spawn(sink.run(rx, abort.clone()));
                sink_metrics
            }
            SinkKind::Syslog(s) => {
                let sink = SyslogSink::new(name, s).with_context(|| format!("sink {name:?}"))?;
                let sink_metrics = sink.metrics();
                sinks.spawn(sink.run(rx, abort.clone()));
                sink_metrics
            }
            SinkKind::Kafka(k) => {
                let sink = KafkaSink::new(name, k).with_context(|| format!("sink {name:?}"))?;
                let sink_metrics = sink.metrics();
                sinks.spawn(sink.run(rx, abort.clone()));
                sink_metrics
            }
        };
        metrics.add_sink(name, Arc::clone(&sink_metrics));
        // With a disk buffer, sources send to the buffer's writer and its reader feeds the sink.
        let tx = match sink.disk_buffer {
            Some(disk) => {
                let buffer_metrics = Arc::new(BufferMetrics::new(disk.max_bytes));
                let buffer =
                    DiskBuffer::open(name, disk, &config.data_dir, Arc::clone(&buffer_metrics))
                        .with_context(|| format!("sink {name:?}: disk buffer"))?;
                let dropped = metrics.add_buffer(name, buffer_metrics);
                let sink_metrics = Arc::clone(&sink_metrics);
                buffer.start(
                    capacity,
                    tx,
                    sink_metrics,
                    dropped,
                    abort.clone(),
                    &mut sinks,
                )
            }
            None => tx,
        };
        queues.insert(name.clone(), (tx, sink_metrics));
    }

    let mut stops: Vec<Box<dyn Fn() + Send>> = Vec::new();
    let mut sources = Vec::new();
    for (name, source) in &config.sources {
        let outputs = config
            .sinks
            .iter()
            .filter(|(_, sink)| sink.inputs.contains(name))
            .filter_map(|(sink_name, sink)| {
                let (queue, sink_metrics) = queues.get(sink_name)?;
                Some(SinkInput {
                    format: sink.wire_format(),
                    topic: sink.topic_template(),
                    queue: queue.clone(),
                    metrics: Arc::clone(sink_metrics),
                })
            })
            .collect();
        let mut normaliser =
            Normaliser::new(&source.settings()).with_context(|| format!("source {name:?}"))?;
        if matches!(source, SourceConfig::Kafka(_)) {
            // Another agent's output on the bus keeps the device and taxonomy it was given.
            normaliser = normaliser.with_passthrough();
        }
        let counters = metrics.add_source(name, source.format());
        let source_metrics = Arc::clone(&counters.source);
        let processor = Processor::new(normaliser, outputs, counters)
            .with_tap(TapPoint::new(Arc::clone(&hub), name));
        match source {
            SourceConfig::File(file) => {
                let file_source = FileSource::new(
                    name,
                    file.clone(),
                    processor,
                    Arc::clone(&checkpoints),
                    ack_tx.clone(),
                    source_metrics,
                );
                let stop = file_source.stop_handle();
                stops.push(Box::new(move || stop.stop()));
                let thread = std::thread::Builder::new()
                    .name(format!("source-{name}"))
                    .spawn(move || file_source.run())
                    .with_context(|| format!("starting source {name:?}"))?;
                sources.push(thread);
            }
            SourceConfig::Kafka(kafka) => {
                let kafka_source = KafkaSource::new(name, kafka, processor)
                    .with_context(|| format!("source {name:?}"))?;
                let stop = kafka_source.stop_handle();
                stops.push(Box::new(move || stop.stop()));
                let thread = std::thread::Builder::new()
                    .name(format!("source-{name}"))
                    .spawn(move || kafka_source.run())
                    .with_context(|| format!("starting source {name:?}"))?;
                sources.push(thread);
            }
            SourceConfig::Syslog(_) | SourceConfig::Http(_) => {
                let device_name = match source {
                    SourceConfig::Syslog(syslog) => syslog.device_name.clone(),
                    _ => None,
                };
                let (intake, thread) = intake::start(name, processor, device_name)
                    .with_context(|| format!("starting source {name:?}"))?;
                let (listener_metrics, stop) = (metrics.add_listener(name), listeners_stop.clone());
                match listeners.remove(name) {
                    Some(Bound::Syslog(listener)) => listener_tasks.spawn(listener.run(
                        intake,
                        listener_metrics,
                        stop,
                        abort.clone(),
                    )),
                    Some(Bound::Http(listener)) => listener_tasks.spawn(listener.run(
                        intake,
                        listener_metrics,
                        stop,
                        abort.clone(),
                    )),
                    None => anyhow::bail!("source {name:?} has no listener"),
                };
                sources.push(thread);
            }
            SourceConfig::Archive(archive) => {
                let archive_source = ArchiveSource::new(
                    archive.clone(),
                    processor,
                    Arc::clone(&checkpoints),
                    ack_tx.clone(),
                );
                let stop = archive_source.stop_handle();
                stops.push(Box::new(move || stop.stop()));
                let thread = std::thread::Builder::new()
                    .name(format!("source-{name}"))
                    .spawn(move || archive_source.run())
                    .with_context(|| format!("starting source {name:?}"))?;
                sources.push(thread);
            }
        }
    }
    // Only the processors hold queue ends now: when the sources stop, the sinks see their input close.
    drop(queues);
    drop(ack_tx);

    let metrics = Arc::new(metrics);
    let api_stop = CancellationToken::new();
    let api_task = api_listener
        .map(|listener| tokio::spawn(api::serve(listener, Arc::clone(&metrics), api_stop.clone())));
    let control = Arc::new(Control::new(&config, hub, metrics));
    let control_task = control_listener
        .map(|listener| tokio::spawn(crate::control::serve(listener, control, api_stop.clone())));

    let store_stop = CancellationToken::new();
    let store = tokio::spawn(keep_checkpoints(
        Arc::clone(&checkpoints),
        ack_rx,
        store_stop.clone(),
    ));
    tracing::info!(
        sources = config.sources.len(),
        sinks = config.sinks.len(),
        "logferry running"
    );

    // The agent's sources run until asked to stop; a finite one (`logferry send`) ends by itself,
    // and when every source has ended the sinks drain what they hold, with no deadline unless a
    // stop is asked for meanwhile.
    let mut joined = tokio::task::spawn_blocking(move || {
        for thread in sources {
            let _ = thread.join();
        }
    });
    tokio::pin!(shutdown);
    let sources_ended = tokio::select! {
        () = &mut shutdown => false,
        _ = &mut joined => true,
    };
    if !sources_ended {
        for stop in &stops {
            stop();
        }
    }
    listeners_stop.cancel();
    let drained = async {
        while listener_tasks.join_next().await.is_some() {}
        if !sources_ended {
            let _ = joined.await;
        }
        while sinks.join_next().await.is_some() {}
    };
    tokio::pin!(drained);
    let stop_asked = if sources_ended {
        tokio::select! {
            () = &mut drained => false,
            () = &mut shutdown => true,
        }
    } else {
        true
    };
    if stop_asked
        && tokio::time::timeout(config.shutdown_timeout, &mut drained)
            .await
            .is_err()
    {
        tracing::warn!(
            timeout = ?config.shutdown_timeout,
            "sinks did not drain in time; undelivered events will be read again on the next start"
        );
        abort.cancel();
        drained.await;
    }
    store_stop.cancel();
    store.await.context("checkpoint task failed")??;
    api_stop.cancel();
    for task in [api_task, control_task].into_iter().flatten() {
        let _ = task.await;
    }
    tracing::info!("logferry stopped");
    Ok(())
}

/// A network source's socket, bound before the pipeline starts.
enum Bound {
    Syslog(SyslogListener),
    Http(HttpListener),
}

/// Applies acknowledgements to the store and persists it every [`PERSIST_INTERVAL`] and at the end.
async fn keep_checkpoints(
    checkpoints: Arc<Mutex<Checkpoints>>,
    mut acks: UnboundedReceiver<Delivered>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let apply = |delivered: Delivered| {
        if let Ok(mut store) = checkpoints.lock() {
            match delivered {
                Delivered::File(range) => store.delivered(range),
            }
        }
    };
    let persist = || -> anyhow::Result<()> {
        match checkpoints.lock() {
            Ok(mut store) => store.persist(),
            Err(_) => anyhow::bail!("checkpoint store poisoned"),
        }
    };
    let mut tick = tokio::time::interval(PERSIST_INTERVAL);
    let mut failing = false;
    loop {
        tokio::select! {
            delivered = acks.recv() => match delivered {
                Some(d) => apply(d),
                None => break,
            },
            _ = tick.tick() => match persist() {
                // Logged when it starts failing and when it recovers, not at every tick.
                Err(e) if !failing => {
                    failing = true;
                    tracing::error!(error = %format!("{e:#}"), "cannot write checkpoints; keeping the previous ones and retrying every second");
                }
                Err(_) => {}
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("checkpoints written again");
                }
                Ok(()) => {}
            },
            () = stop.cancelled() => break,
        }
    }
    while let Ok(d) = acks.try_recv() {
        apply(d);
    }
    persist().context("writing the final checkpoints")
}
