//! Sinks: where encoded batches go. Each file states what "acknowledged" means for it.

pub mod backoff;
pub mod console;
pub mod syslog;
pub mod tls;
