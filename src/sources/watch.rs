//! `DirWatcher`: inotify on the directories of a source's include patterns, waking the source's
//! reader on writes and asking for a scan when names change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher};

/// Watches directories (not recursively); each is added once and a failure is logged once.
pub struct DirWatcher {
    source: String,
    watcher: notify::RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
    failed: BTreeSet<PathBuf>,
}

impl DirWatcher {
    /// A watcher that sends on `wake` for every write, create, remove or rename in a watched
    /// directory and also sets `rescan` for all but writes; `None` (logged) without inotify.
    pub fn new(source: &str, wake: SyncSender<()>, rescan: Arc<AtomicBool>) -> Option<Self> {
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Writes only wake the reader; a file appearing, vanishing or renamed asks for a scan.
            // Reads (our own included) are ignored: waking on them would make every read a wake-up.
            let kind = match event {
                Ok(e) => e.kind,
                Err(_) => EventKind::Any,
            };
            match kind {
                EventKind::Access(_) => return,
                EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_)) => {}
                _ => rescan.store(true, Ordering::Release),
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
