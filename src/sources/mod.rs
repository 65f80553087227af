//! Sources: where records come from. Each file states its acknowledgement semantics at the top.

pub mod archive;
pub mod file;
pub mod fingerprint;
pub mod http;
pub mod intake;
pub mod kafka;
mod kafka_offsets;
pub mod lines;
pub mod multiline;
pub mod rlimit;
pub mod server_tls;
pub mod stop;
pub mod syslog;
pub mod tail;
pub mod watch;
