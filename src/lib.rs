//! logferry: a log agent that tails files, normalises every record to the LogPoint taxonomy and ships
//! it over syslog/TLS with backpressure, moving file checkpoints only over delivered data.
//!
//! Data flows one way, source → parse → normalise → encode → sink, in batches over bounded channels
//! ([`batch`]); acknowledgements flow back to the [`checkpoint`] store. `docs/ARCHITECTURE.md` tells the
//! whole story.

pub mod batch;
pub mod buffer;
pub mod checkpoint;
pub mod commands;
pub mod config;
pub mod control;
pub mod encode;
pub mod event;
pub mod metrics;
pub mod normalise;
pub mod pipeline;
pub mod pool;
pub mod process;
pub mod query;
pub mod records;
pub mod reload;
pub mod routing;
pub mod sinks;
pub mod sources;
pub mod tap;
pub mod telemetry;
