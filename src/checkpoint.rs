//! The checkpoint store: how far each file has been delivered, persisted across restarts.
//!
//! Offsets only move over acknowledged data: sinks acknowledge batches ([`crate::batch`]), each batch
//! covers a byte range of one file, and a file's offset advances to the end of the longest contiguous
//! acknowledged prefix. Acknowledgements may arrive out of order; ranges past a gap wait in `pending`.
//!
//! Persistence: `checkpoints.json` in the data directory, versioned, written to a temporary file,
//! fsynced, renamed over the old one, and the directory fsynced. A crash at any point leaves either the
//! old or the new file whole. What a crash costs: the events acknowledged since the last write (at most
//! one persist interval) are read and sent again after the restart; nothing is skipped, because an
//! offset never covers data that was not acknowledged.
//!
//! Copies: when a source goes on reading a file in a byte-identical copy (copytruncate), the
//! original's state moves to the copy and acknowledgements of the original's ranges count for the
//! copy ([`Checkpoints::continue_in`]).
//!
//! Pruning: every entry remembers when it last changed; entries of files that no longer exist are
//! dropped once older than the owning source's `checkpoint_max_age` ([`Checkpoints::prune_gone`]).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The version of the state file this code writes and reads.
const STATE_VERSION: u32 = 1;
const STATE_FILE: &str = "checkpoints.json";

/// A file's identity: device and inode, confirmed by a checksum of its first line, so that a reused
/// inode is a new file and a renamed file is the same one. Ordered by device, then inode, then
/// fingerprint: the store finds all ids of one inode as a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
    pub fingerprint: u64,
}

/// Bytes `start..end` of one reading of a file; `epoch` counts the times this process started the file
/// again from 0 (after a truncation), so late acknowledgements of the old content are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRange {
    pub file: FileId,
    pub epoch: u32,
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileEntry {
    #[serde(flatten)]
    id: FileId,
    offset: u64,
    /// Where the file was last seen: for operators reading the state, and to tell whether it still
    /// exists when pruning; not for identity.
    path: String,
    /// When the entry last changed (seconds since the Unix epoch); files from before this field are
    /// taken as changed when loaded.
    #[serde(default)]
    updated: Option<u64>,
}

#[derive(Debug)]
struct FileState {
    offset: u64,
    epoch: u32,
    path: String,
    /// Seconds since the Unix epoch when the entry last changed.
    updated: u64,
    /// Acknowledged ranges beyond a gap: start → end.
    pending: BTreeMap<u64, u64>,
}

/// Delivered offsets of every known file. The only writer of the state file.
#[derive(Debug)]
pub struct Checkpoints {
    path: PathBuf,
    files: BTreeMap<FileId, FileState>,
    /// Readings whose state moved to a copy: acknowledgements of (file, epoch) count for the copy.
    moved: BTreeMap<(FileId, u32), FileId>,
    dirty: bool,
}

/// Seconds since the Unix epoch.
fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Checkpoints {
    /// Loads the state from `data_dir` (creating the directory); a missing file is an empty store.
    ///
    /// A state file that cannot be read as this version is an error: guessing would risk skipping
    /// data. The operator moves it aside to start over (files are then read per `read_from`).
    pub fn load(data_dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data_dir {}", data_dir.display()))?;
        let path = data_dir.join(STATE_FILE);
        let mut files = BTreeMap::new();
        let loaded_at = now_unix();
        match fs::read(&path) {
            Ok(bytes) => {
                let state: StateFile = serde_json::from_slice(&bytes).with_context(|| {
                    format!(
                        "{} is not a checkpoint file; move it aside to start over",
                        path.display()
                    )
                })?;
                anyhow::ensure!(
                    state.version == STATE_VERSION,
                    "{} has version {}, this logferry reads version {STATE_VERSION}",
                    path.display(),
                    state.version
                );
                for entry in state.files {
                    let state = FileState {
                        offset: entry.offset,
                        epoch: 0,
                        path: entry.path,
                        updated: entry.updated.unwrap_or(loaded_at),
                        pending: BTreeMap::new(),
                    };
                    files.insert(entry.id, state);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
        Ok(Checkpoints {
            path,
            files,
            moved: BTreeMap::new(),
            dirty: false,
        })
    }

    /// Removes the state file of `data_dir`, if any: every file is then new to the next load.
    pub fn forget(data_dir: &Path) -> anyhow::Result<()> {
        let path = data_dir.join(STATE_FILE);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }

    /// The delivered offset of `file`, if it has a checkpoint.
    pub fn offset(&self, file: &FileId) -> Option<u64> {
        self.files.get(file).map(|f| f.offset)
    }

    /// Starts tracking `file` (read from `path`) at `offset`, in `epoch`. Checkpoints of an earlier
    /// file on the same device and inode (a reused inode) are dropped.
    pub fn track(&mut self, file: FileId, path: &str, offset: u64, epoch: u32) {
        // Ids order by device, then inode: the entries of this inode are one range.
        let inode = FileId {
            fingerprint: 0,
            ..file
        }..=FileId {
            fingerprint: u64::MAX,
            ..file
        };
        let reused: Vec<FileId> = self
            .files
            .range(inode)
            .map(|(id, _)| *id)
            .filter(|id| id != &file)
            .collect();
        for id in reused {
            self.files.remove(&id);
        }
        self.moved
            .retain(|(from, e), _| !(from == &file && *e == epoch));
        let state = self.files.entry(file).or_insert_with(|| FileState {
            offset,
            epoch,
            path: path.to_string(),
            updated: 0,
            pending: BTreeMap::new(),
        });
        state.offset = offset;
        state.epoch = epoch;
        state.path = path.to_string();
        state.updated = now_unix();
        state.pending.clear();
        self.dirty = true;
    }

    /// The reading `from` in `epoch` goes on in `to`, a byte-identical copy found at `path` (the
    /// original was truncated): `to` takes the original's offset and pending ranges, and later
    /// acknowledgements of the original's ranges count for `to`, whose reading keeps `epoch`.
    pub fn continue_in(&mut self, from: FileId, epoch: u32, to: FileId, path: &str) {
        let Some(mut state) = self.files.remove(&from) else {
            return;
        };
        state.path = path.to_string();
        state.updated = now_unix();
        state.epoch = epoch;
        self.moved.retain(|_, target| target != &from);
        self.files.insert(to, state);
        self.moved.insert((from, epoch), to);
        self.dirty = true;
    }

    /// Records that `range` reached every sink.
    pub fn delivered(&mut self, range: FileRange) {
        let file = self
            .moved
            .get(&(range.file, range.epoch))
            .copied()
            .unwrap_or(range.file);
        let Some(state) = self.files.get_mut(&file) else {
            return;
        };
        if range.epoch != state.epoch || range.end <= state.offset {
            return;
        }
        if range.start > state.offset {
            state.pending.insert(range.start, range.end);
            return;
        }
        state.offset = range.end;
        while let Some(end) = state.pending.remove(&state.offset) {
            state.offset = end;
        }
        state.updated = now_unix();
        self.dirty = true;
    }

    /// Drops the entries of files that no longer exist (their recorded path names no file, or
    /// another one) and that have not changed for `max_age`, among those whose path `owns` accepts.
    /// Returns the paths of the dropped entries.
    pub fn prune_gone(&mut self, max_age: Duration, owns: impl Fn(&str) -> bool) -> Vec<String> {
        let cutoff = now_unix().saturating_sub(max_age.as_secs());
        let gone: Vec<FileId> = self
            .files
            .iter()
            .filter(|(id, state)| {
                state.updated <= cutoff
                    && owns(&state.path)
                    && !fs::metadata(&state.path)
                        .is_ok_and(|m| m.dev() == id.dev && m.ino() == id.ino)
            })
            .map(|(id, _)| *id)
            .collect();
        let mut paths = Vec::with_capacity(gone.len());
        for id in gone {
            if let Some(state) = self.files.remove(&id) {
                paths.push(state.path);
            }
            self.moved.retain(|_, target| target != &id);
        }
        self.dirty |= !paths.is_empty();
        paths
    }

    /// Writes the state if it changed since the last write.
    pub fn persist(&mut self) -> anyhow::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let state = StateFile {
            version: STATE_VERSION,
            files: self
                .files
                .iter()
                .map(|(id, f)| FileEntry {
                    id: *id,
                    offset: f.offset,
                    path: f.path.clone(),
                    updated: Some(f.updated),
                })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&state).context("encoding checkpoints")?;
        write_atomically(&self.path, &bytes)?;
        self.dirty = false;
        Ok(())
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content. A failed
/// write (a full disk) leaves `path` as it was and removes the partial temporary file, which would
/// otherwise hold on to space the next attempt needs.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let written = write_synced(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path).context("renaming it into place"));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e.context(format!("writing {}", path.display())));
    }
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing directory {}", dir.display()))?;
    }
    Ok(())
}

/// Creates `tmp` with `bytes`, fsynced.
fn write_synced(tmp: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = File::create(tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", tmp.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FileId = FileId {
        dev: 1,
        ino: 7,
        fingerprint: 99,
    };

    fn range(start: u64, end: u64) -> FileRange {
        FileRange {
            file: F,
            epoch: 0,
            start,
            end,
        }
    }

    #[test]
    fn advances_over_the_contiguous_prefix_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        c.track(F, "/x", 0, 0);
        c.delivered(range(10, 20));
        assert_eq!(c.offset(&F), Some(0), "gap before 10");
        c.delivered(range(0, 10));
        assert_eq!(c.offset(&F), Some(20));
        c.delivered(range(30, 40));
        c.delivered(range(20, 30));
        assert_eq!(c.offset(&F), Some(40));
    }

    #[test]
    fn old_epoch_is_ignored_after_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        c.track(F, "/x", 0, 0);
        c.track(F, "/x", 0, 1);
        c.delivered(range(0, 100));
        assert_eq!(c.offset(&F), Some(0));
    }

    #[test]
    fn survives_a_restart_and_drops_reused_inodes() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        c.track(F, "/x", 0, 0);
        c.delivered(range(0, 55));
        c.persist().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        assert_eq!(c.offset(&F), Some(55));
        let reused = FileId {
            fingerprint: 1,
            ..F
        };
        c.track(reused, "/x", 0, 0);
        assert_eq!(c.offset(&F), None);
        assert_eq!(c.offset(&reused), Some(0));
    }

    #[test]
    fn a_failed_write_keeps_the_previous_state_and_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        c.track(F, "/x", 0, 0);
        c.delivered(range(0, 10));
        c.persist().unwrap();
        // The temporary file cannot be created (as on a full or read-only disk).
        let tmp = dir.path().join("checkpoints.json.tmp");
        fs::create_dir(&tmp).unwrap();
        c.delivered(range(10, 20));
        assert!(c.persist().is_err());
        assert_eq!(Checkpoints::load(dir.path()).unwrap().offset(&F), Some(10));
        fs::remove_dir(&tmp).unwrap();
        c.persist().unwrap();
        assert_eq!(Checkpoints::load(dir.path()).unwrap().offset(&F), Some(20));
    }

    #[test]
    fn a_copy_takes_over_the_reading_and_its_acknowledgements() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        let copy = FileId {
            ino: 8,
            fingerprint: 99,
            ..F
        };
        c.track(F, "/x", 0, 2);
        c.delivered(FileRange {
            epoch: 2,
            ..range(0, 10)
        });
        c.delivered(FileRange {
            epoch: 2,
            ..range(20, 30)
        });
        c.continue_in(F, 2, copy, "/x.1");
        assert_eq!(c.offset(&F), None);
        assert_eq!(c.offset(&copy), Some(10));
        c.delivered(FileRange {
            epoch: 2,
            ..range(10, 20)
        });
        assert_eq!(c.offset(&copy), Some(30), "the original's late ack counts");
        c.delivered(FileRange {
            file: copy,
            epoch: 2,
            start: 30,
            end: 40,
        });
        assert_eq!(c.offset(&copy), Some(40));
        c.track(F, "/x", 0, 3);
        c.delivered(FileRange {
            epoch: 3,
            ..range(0, 5)
        });
        assert_eq!(c.offset(&F), Some(5), "the truncated original reads afresh");
        assert_eq!(c.offset(&copy), Some(40));
    }

    #[test]
    fn prunes_only_old_entries_of_files_that_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let present = dir.path().join("present.log");
        fs::write(&present, "x\n").unwrap();
        let meta = fs::metadata(&present).unwrap();
        let live = FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            fingerprint: 1,
        };
        let gone_path = dir.path().join("gone.log").display().to_string();
        let mut c = Checkpoints::load(dir.path()).unwrap();
        c.track(live, &present.display().to_string(), 2, 0);
        c.track(F, &gone_path, 5, 0);
        let other = FileId { ino: 9, ..F };
        c.track(other, "/elsewhere/gone.log", 5, 0);
        assert!(c.prune_gone(Duration::from_secs(3600), |_| true).is_empty());
        let pruned = c.prune_gone(Duration::ZERO, |p| {
            p.starts_with(&*dir.path().to_string_lossy())
        });
        assert_eq!(pruned, [gone_path]);
        assert_eq!(c.offset(&F), None);
        assert_eq!(c.offset(&live), Some(2), "a file that exists is kept");
        assert_eq!(c.offset(&other), Some(5), "another source's file is kept");
        c.persist().unwrap();
        let c = Checkpoints::load(dir.path()).unwrap();
        assert_eq!(c.offset(&F), None);
    }

    #[test]
    fn refuses_a_foreign_state_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE_FILE), b"{\"version\":9,\"files\":[]}").unwrap();
        assert!(Checkpoints::load(dir.path()).is_err());
        fs::write(dir.path().join(STATE_FILE), b"garbage").unwrap();
        assert!(Checkpoints::load(dir.path()).is_err());
    }
}
