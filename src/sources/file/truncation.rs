//! Truncated files: a truncated file's reading is set aside for one scan, goes on in a copy if the
//! scan finds one (copytruncate), and otherwise hands on its held line; the file itself is then read
//! again from 0 as a new reading.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{ship, FileSource, Key};
use crate::checkpoint::FileId;
use crate::process::SinksClosed;
use crate::sources::fingerprint::identify;
use crate::sources::tail::FileTail;

impl FileSource {
    /// Sets aside every followed file that was truncated: shorter than what was read, or starting
    /// with another first line. Done before a scan opens new files, so that the copy of a file
    /// truncated since the last scan is recognised in the same scan.
    pub(super) fn set_aside_truncated(&mut self) {
        let truncated: Vec<Key> = self
            .tails
            .iter()
            .filter(|(_, tail)| {
                tail.file_len()
                    .is_ok_and(|len| len < tail.read_pos() || rewritten(tail))
            })
            .map(|(key, _)| *key)
            .collect();
        for key in truncated {
            self.set_aside(key);
        }
    }

    /// Goes on with the set-aside reading of the truncated file `original` in its copy `file`; the
    /// original is read again from 0 as a new reading.
    pub(super) fn continue_in_copy(
        &mut self,
        original: Key,
        file: File,
        id: FileId,
        path: PathBuf,
    ) {
        let Some((mut tail, _)) = self.set_aside.remove(&original) else {
            return;
        };
        tracing::info!(source = %self.name, path = %tail.path.display(), copy = %path.display(), offset = tail.read_pos(), "truncated file's copy found; reading on in the copy");
        if let Ok(mut checkpoints) = self.checkpoints.lock() {
            checkpoints.continue_in(tail.id, tail.epoch, id, &path.to_string_lossy());
        }
        self.truncated.insert(original, tail.epoch.wrapping_add(1));
        tail.continue_in(file, id, path);
        let key = (id.dev, id.ino);
        self.parked.remove(&key);
        self.tails.insert(key, tail);
    }

    /// Sets the reading of a truncated file aside until the next scan has looked for its copy.
    pub(super) fn set_aside(&mut self, key: Key) {
        self.orphans.remove(&key);
        if let Some(tail) = self.tails.remove(&key) {
            tracing::info!(source = %self.name, path = %tail.path.display(), "file truncated; looking for a copy, then reading it again from 0");
            self.set_aside.insert(key, (tail, Instant::now()));
            self.rescan.store(true, Ordering::Release);
        }
    }

    /// Finishes the set-aside readings no copy was found for by a scan that began after them: their
    /// unfinished line is handed on, and their file is read again from 0.
    pub(super) fn finish_set_aside(&mut self, scan_started: Instant) -> Result<(), SinksClosed> {
        let due: Vec<Key> = self
            .set_aside
            .iter()
            .filter(|(_, (_, since))| *since < scan_started)
            .map(|(key, _)| *key)
            .collect();
        for key in due {
            if let Some((mut tail, _)) = self.set_aside.remove(&key) {
                tail.flush_partial(&mut self.chunk);
                ship(
                    &mut self.processor,
                    &self.acks,
                    &self.metrics,
                    &self.chunk,
                    &tail,
                )?;
                // A new epoch: late acknowledgements of the old content must not move the new reading.
                self.truncated.insert(key, tail.epoch.wrapping_add(1));
            }
        }
        Ok(())
    }
}

/// True when the tail's file no longer starts with the first line it had: it was truncated and
/// written again.
pub(super) fn rewritten(tail: &FileTail) -> bool {
    match identify(tail.file()) {
        Ok(Some(id)) => id != tail.id,
        Ok(None) => true,
        Err(_) => false,
    }
}
