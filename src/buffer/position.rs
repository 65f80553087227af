//! The persisted acknowledgement position of a disk buffer: every record numbered below it has been
//! acknowledged by the sink (or skipped as damaged), so a restart replays from there.
//!
//! `position.json` in the buffer's directory, versioned, replaced atomically (tmp file, fsync,
//! rename, directory fsync). A missing file means nothing was acknowledged yet; an unreadable one is
//! reported and treated the same (the buffer is replayed from its start: duplicates, never a loss).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::write_atomically;

const FILE: &str = "position.json";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct PositionFile {
    version: u32,
    /// The number of the first record not yet acknowledged.
    acked: u64,
}

/// The position stored in `dir`; 0 when there is none or it cannot be read (logged).
pub fn load(dir: &Path, sink: &str) -> u64 {
    let path = dir.join(FILE);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return 0,
        Err(e) => {
            tracing::error!(sink, path = %path.display(), "cannot read the disk buffer position ({e}); replaying the whole buffer");
            return 0;
        }
    };
    match serde_json::from_slice::<PositionFile>(&text) {
        Ok(p) if p.version == VERSION => p.acked,
        Ok(p) => {
            tracing::error!(sink, path = %path.display(), version = p.version, "unknown disk buffer position version; replaying the whole buffer");
            0
        }
        Err(e) => {
            tracing::error!(sink, path = %path.display(), "damaged disk buffer position ({e}); replaying the whole buffer");
            0
        }
    }
}

/// Stores `acked` in `dir` atomically.
pub fn store(dir: &Path, acked: u64) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(&PositionFile {
        version: VERSION,
        acked,
    })?;
    write_atomically(&dir.join(FILE), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), "t"), 0);
        store(dir.path(), 42).unwrap();
        assert_eq!(load(dir.path(), "t"), 42);
        std::fs::write(dir.path().join(FILE), "{\"vers").unwrap();
        assert_eq!(load(dir.path(), "t"), 0);
    }
}
