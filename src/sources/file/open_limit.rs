//! `max_open_files`: idle files are closed, least recently written first, and remembered with their
//! position until their length changes.

use std::time::Instant;

use super::{FileSource, Key};
use crate::checkpoint::FileId;

/// A file closed at its end to stay within `max_open_files`; opened again when its length changes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Parked {
    pub(super) id: FileId,
    pub(super) epoch: u32,
    pub(super) offset: u64,
    pub(super) len: u64,
}

impl FileSource {
    /// Followed files that may be closed for `max_open_files`, the least recently written last:
    /// named by an include path, at their end, holding nothing.
    pub(super) fn idle_tails(&self) -> Vec<Key> {
        let mut idle: Vec<(Instant, Key)> = self
            .tails
            .iter()
            .filter(|(key, tail)| {
                !self.orphans.contains_key(key)
                    && tail.holds_nothing()
                    && tail.file_len().is_ok_and(|len| len == tail.read_pos())
            })
            .map(|(key, tail)| (tail.last_data(), *key))
            .collect();
        idle.sort_unstable_by(|a, b| b.cmp(a));
        idle.into_iter().map(|(_, key)| key).collect()
    }

    /// Closes an idle followed file to make room, remembering where it was.
    pub(super) fn park(&mut self, key: Key) {
        let Some(tail) = self.tails.remove(&key) else {
            return;
        };
        self.metrics.closed_for_limit.add(1);
        tracing::debug!(source = %self.name, path = %tail.path.display(), "closed for max_open_files until it grows");
        self.parked.insert(
            key,
            Parked {
                id: tail.id,
                epoch: tail.epoch,
                offset: tail.offset(),
                len: tail.read_pos(),
            },
        );
    }
}
