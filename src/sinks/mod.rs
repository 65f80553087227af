//! Sinks: where encoded batches go. Each file states what "acknowledged" means for it.

mod acked;
pub mod backoff;
mod connection;
pub mod console;
pub mod kafka;
mod kafka_client;
pub mod syslog;
pub mod tls;
