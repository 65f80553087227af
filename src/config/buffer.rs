//! `[sinks.NAME.buffer]`: where a sink's batches wait, in memory (the default) or in a disk buffer.

use std::time::Duration;

use serde::Deserialize;

use super::{de_size, humantime_serde};

/// The smallest `max_size` of a disk buffer.
pub const MIN_DISK_BUFFER_BYTES: u64 = 1 << 20;

/// Where a sink's batches wait between the source and the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BufferKind {
    /// The sink's bounded queue (`queue_batches`); a full queue stops the source.
    #[default]
    Memory,
    /// Append-only segment files in `data_dir/buffers/<sink>/`, up to `max_size`.
    Disk,
}

/// What a full disk buffer does with the next batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait for room: the sources feeding the sink stop reading.
    #[default]
    Block,
    /// Drop the batch, counted in `logferry_events_dropped_total{reason="buffer_full"}`.
    DropNewest,
}

/// `[sinks.NAME.buffer]` as written; `max_size`, `when_full` and `fsync_interval` apply to `type = "disk"` only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferSection {
    #[serde(rename = "type", default)]
    pub kind: BufferKind,
    #[serde(default, deserialize_with = "de_size_option")]
    pub max_size: Option<usize>,
    pub when_full: Option<WhenFull>,
    #[serde(default, deserialize_with = "de_duration_option")]
    pub fsync_interval: Option<Duration>,
}

impl BufferSection {
    /// Problems a well-typed section can still have (the caller adds the sink's name and position).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.kind {
            BufferKind::Memory => {
                if self.max_size.is_some()
                    || self.when_full.is_some()
                    || self.fsync_interval.is_some()
                {
                    problems.push(
                        "buffer.max_size, when_full and fsync_interval apply only to type = \"disk\""
                            .to_string(),
                    );
                }
            }
            BufferKind::Disk => {
                if self
                    .max_size
                    .is_some_and(|m| (m as u64) < MIN_DISK_BUFFER_BYTES)
                {
                    problems.push("buffer.max_size must be at least 1MiB".to_string());
                }
                if self.fsync_interval.is_some_and(|i| i.is_zero()) {
                    problems.push("buffer.fsync_interval must be positive".to_string());
                }
            }
        }
        problems
    }

    /// The checked setting; `None` for a memory buffer.
    pub fn disk(&self) -> Option<DiskBufferConfig> {
        match self.kind {
            BufferKind::Memory => None,
            BufferKind::Disk => Some(DiskBufferConfig {
                max_bytes: self.max_size.map_or(DEFAULT_MAX_BYTES, |m| m as u64),
                when_full: self.when_full.unwrap_or_default(),
                fsync_interval: self.fsync_interval.unwrap_or(DEFAULT_FSYNC_INTERVAL),
            }),
        }
    }
}

/// A sink's disk buffer.
///
/// Invariant (checked at load): `max_bytes` ≥ [`MIN_DISK_BUFFER_BYTES`], `fsync_interval` > 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskBufferConfig {
    /// Bytes of segment files at most (a single batch larger than this is still taken into an empty buffer).
    pub max_bytes: u64,
    pub when_full: WhenFull,
    /// How long an appended batch may wait for its fsync; its source is acknowledged after it.
    pub fsync_interval: Duration,
}

const DEFAULT_MAX_BYTES: u64 = 1 << 30;
const DEFAULT_FSYNC_INTERVAL: Duration = Duration::from_millis(500);

fn de_size_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    de_size(d).map(Some)
}

fn de_duration_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    humantime_serde::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn with_buffer(keys: &str) -> String {
        format!(
            "[sources.a]\ntype = \"file\"\ninclude = [\"/x/*.log\"]\nformat = \"syslog\"\n\
             [sinks.out]\ntype = \"syslog\"\ninputs = [\"a\"]\naddress = \"h:1\"\n[sinks.out.buffer]\n{keys}"
        )
    }

    #[test]
    fn memory_by_default_disk_with_defaults_or_settings() {
        let plain = with_buffer("").replace("[sinks.out.buffer]\n", "");
        assert_eq!(parse(&plain, "t").unwrap().sinks["out"].disk_buffer, None);
        let memory = parse(&with_buffer("type = \"memory\""), "t").unwrap();
        assert_eq!(memory.sinks["out"].disk_buffer, None);
        let disk = parse(&with_buffer("type = \"disk\""), "t").unwrap();
        assert_eq!(
            disk.sinks["out"].disk_buffer,
            Some(DiskBufferConfig {
                max_bytes: 1 << 30,
                when_full: WhenFull::Block,
                fsync_interval: Duration::from_millis(500),
            })
        );
        let set = with_buffer(
            "type = \"disk\"\nmax_size = \"64MiB\"\nwhen_full = \"drop_newest\"\nfsync_interval = \"1s\"",
        );
        let disk = parse(&set, "t").unwrap().sinks["out"].disk_buffer.unwrap();
        assert_eq!(disk.max_bytes, 64 << 20);
        assert_eq!(disk.when_full, WhenFull::DropNewest);
        assert_eq!(disk.fsync_interval, Duration::from_secs(1));
    }

    #[test]
    fn bad_buffers_are_errors() {
        for (keys, expected) in [
            ("type = \"disk\"\nmax_size = \"512KiB\"", "at least 1MiB"),
            (
                "type = \"disk\"\nfsync_interval = \"0s\"",
                "must be positive",
            ),
            ("max_size = \"1GiB\"", "only to type = \"disk\""),
            ("type = \"tape\"", "tape"),
            (
                "type = \"disk\"\nwhen_full = \"drop_oldest\"",
                "drop_oldest",
            ),
            ("type = \"disk\"\nsize = \"1GiB\"", "size"),
        ] {
            let err = parse(&with_buffer(keys), "t").expect_err(keys).to_string();
            assert!(err.contains(expected), "{keys}: {err}");
        }
    }
}
