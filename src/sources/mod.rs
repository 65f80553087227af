//! Sources: where records come from. Each file states its acknowledgement semantics at the top.

pub mod file;
pub mod fingerprint;
pub mod kafka;
mod kafka_offsets;
pub mod multiline;
pub mod tail;
