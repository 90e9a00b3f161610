//! Validated `[audit]` settings.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the log is kept.
#[derive(Clone, PartialEq, Eq)]
pub enum AuditStore {
    /// A JSON-lines file, appended to (the default).
    File(PathBuf),
    /// Tables in a PostgreSQL database, one chain per writer.
    Postgres {
        /// The database (a `postgres://` URL, which may hold a password: never printed).
        url: String,
        /// This writer's chain: one Sluice process per chain.
        chain: String,
    },
}

impl fmt::Debug for AuditStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditStore::File(path) => f.debug_tuple("File").field(path).finish(),
            AuditStore::Postgres { url, chain } => f
                .debug_struct("Postgres")
                .field("url", &crate::config::redact_url(url))
                .field("chain", chain)
                .finish(),
        }
    }
}

/// Validated `[audit]`: where the log and its signing key are, and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// Where the records go.
    pub store: AuditStore,
    /// The checkpoint signing key file; created when missing.
    pub signing_key: PathBuf,
    /// A checkpoint after this many records.
    pub checkpoint_every: u64,
    /// A checkpoint after this long, when records were added since the last one.
    pub checkpoint_interval: Duration,
    /// When a record cannot be written, the statement does not run (`503 unavailable`).
    pub fail_closed: bool,
    /// `fdatasync` after each batch of records (files only: a PostgreSQL commit is durable).
    pub sync: bool,
}

impl AuditSettings {
    /// Records between checkpoints, by default.
    pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;
    /// Seconds between checkpoints of a log that grows slowly, by default.
    pub const DEFAULT_CHECKPOINT_SECONDS: u64 = 60;

    /// Settings for the log file at `path` signed with the key at `signing_key`, everything
    /// else as `[audit]`'s defaults.
    pub fn new(path: impl Into<PathBuf>, signing_key: impl Into<PathBuf>) -> Self {
        Self::with_store(AuditStore::File(path.into()), signing_key)
    }

    /// Settings for the log in `store` signed with the key at `signing_key`, everything else
    /// as `[audit]`'s defaults.
    pub fn with_store(store: AuditStore, signing_key: impl Into<PathBuf>) -> Self {
        AuditSettings {
            store,
            signing_key: signing_key.into(),
            checkpoint_every: Self::DEFAULT_CHECKPOINT_EVERY,
            checkpoint_interval: Duration::from_secs(Self::DEFAULT_CHECKPOINT_SECONDS),
            fail_closed: true,
            sync: false,
        }
    }

    /// The log file, when the log is one.
    pub fn file(&self) -> Option<&Path> {
        match &self.store {
            AuditStore::File(path) => Some(path),
            AuditStore::Postgres { .. } => None,
        }
    }
}
