//! `DirWatcher`: inotify on the directories of a source's include patterns, waking the source's
//! reader on writes (and naming the files written) and asking for a scan when names change.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher};

/// At most this many written paths are remembered between two reads; beyond, every file is read.
const MAX_WRITTEN: usize = 4096;

/// The paths inotify reported written since the reader last took them.
#[derive(Debug, Default)]
pub struct Written {
    paths: HashSet<PathBuf>,
    /// Something else happened (a name changed, an event was lost, too many paths): read everything.
    everything: bool,
}

impl Written {
    /// The paths written since the last call, or `None` when every file must be read; starts over.
    pub fn take(&mut self) -> Option<HashSet<PathBuf>> {
        let everything = std::mem::take(&mut self.everything);
        let paths = std::mem::take(&mut self.paths);
        (!everything).then_some(paths)
    }
}

/// Watches directories (not recursively); each is added once and a failure is logged once.
pub struct DirWatcher {
    source: String,
    watcher: notify::RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
    failed: BTreeSet<PathBuf>,
}

impl DirWatcher {
    /// A watcher that sends on `wake` for every write, create, remove or rename in a watched
    /// directory, records in `written` which paths were written, and sets `rescan` (and asks
    /// `written` for everything) for all but writes; `None` (logged) without inotify.
    pub fn new(
        source: &str,
        wake: SyncSender<()>,
        rescan: Arc<AtomicBool>,
        written: Arc<Mutex<Written>>,
    ) -> Option<Self> {
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Writes only wake the reader; a file appearing, vanishing or renamed asks for a scan.
            // Reads (our own included) are ignored: waking on them would make every read a wake-up.
            let (kind, paths) = match event {
                Ok(e) => (e.kind, e.paths),
                Err(_) => (EventKind::Any, Vec::new()),
            };
            match kind {
                EventKind::Access(_) => return,
                EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_)) => {
                    if let Ok(mut written) = written.lock() {
                        if written.paths.len() + paths.len() > MAX_WRITTEN {
                            written.everything = true;
                        } else {
                            written.paths.extend(paths);
                        }
                    }
                }
                _ => {
                    rescan.store(true, Ordering::Release);
                    if let Ok(mut written) = written.lock() {
                        written.everything = true;
                    }
                }
            }
            let _ = wake.try_send(());
        })
        .map_err(|e| {
            tracing::warn!(source, error = %e, "inotify unavailable; polling every scan_interval")
        })
        .ok()?;
        Some(DirWatcher {
            source: source.to_string(),
            watcher,
            watched: BTreeSet::new(),
            failed: BTreeSet::new(),
        })
    }

    /// Watches the deepest directory of `pattern` without wildcards, if it exists.
    pub fn watch_parent(&mut self, pattern: &str) {
        let literal: PathBuf = Path::new(pattern)
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        let dir = if literal.as_os_str() == pattern {
            literal.parent().map(Path::to_path_buf)
        } else {
            Some(literal)
        };
        let Some(dir) = dir.filter(|d| d.is_dir()) else {
            return;
        };
        if self.watched.contains(&dir) {
            return;
        }
        match self.watcher.watch(&dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.failed.remove(&dir);
                self.watched.insert(dir);
            }
            Err(e) => {
                if self.failed.insert(dir.clone()) {
                    tracing::warn!(source = %self.source, dir = %dir.display(), error = %e, "cannot watch; polling");
                }
            }
        }
    }
}
