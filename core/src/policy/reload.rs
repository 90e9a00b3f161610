//! Hot reload: poll each plugin file; compile a changed one off the request path and swap it in.
//!
//! Polling `(mtime, size, inode)` once per interval costs one `stat` per plugin and needs no
//! watcher dependency; it also sees atomic renames, the safe way to deploy a new file. A file
//! that fails to load leaves the running version serving (and is logged); an unavailable slot
//! becomes ready as soon as a good file appears. In-flight evaluations keep the `Arc` of the
//! version they started with.

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use super::runtime::{PolicyRuntime, SlotState};

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileVersion {
    /// The version of `path` now, or `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<FileVersion> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileVersion { modified: meta.modified().ok(), len: meta.len(), inode })
    }
}

/// Starts the reload task when hot reload is on. It holds only a weak reference and ends when
/// the runtime is dropped.
pub fn spawn(runtime: &Arc<PolicyRuntime>) {
    let Some(interval) = runtime.reload_interval() else { return };
    let weak = Arc::downgrade(runtime);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if !poll_once(&weak).await {
                break;
            }
        }
    });
}

/// Checks every plugin file once; `false` when the runtime is gone.
async fn poll_once(weak: &Weak<PolicyRuntime>) -> bool {
    let Some(runtime) = weak.upgrade() else { return false };
    for index in 0..runtime.slots().len() {
        let Some(slot) = runtime.slots().get(index) else { continue };
        let now = FileVersion::of(&slot.settings.path);
        let changed = slot.seen.lock().map(|seen| *seen != now).unwrap_or(false);
        if !changed || now.is_none() {
            continue;
        }
        let name = slot.settings.name.clone();
        // Compiling can take seconds (Python, JavaScript): never on a request's thread.
        let compiling = Arc::clone(&runtime);
        let Ok(state) = tokio::task::spawn_blocking(move || {
            let settings = compiling.slots().get(index).map(|s| Arc::clone(&s.settings));
            settings.map(|settings| compiling.load(&settings))
        })
        .await
        else {
            continue;
        };
        let Some(state) = state else { continue };
        if let Ok(mut seen) = slot.seen.lock() {
            *seen = now;
        }
        match state {
            SlotState::Ready(_) => {
                tracing::info!(plugin = %name, "policy plugin reloaded");
                slot.state.store(Arc::new(state));
            }
            SlotState::Unavailable(why) => match &**slot.state.load() {
                SlotState::Ready(_) => {
                    tracing::error!(plugin = %name, reason = %why, "new plugin file rejected; the previous version keeps serving");
                }
                SlotState::Unavailable(_) => slot.state.store(Arc::new(SlotState::Unavailable(why))),
            },
        }
    }
    true
}
