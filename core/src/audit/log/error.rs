//! What can go wrong with the audit log, and what a verification found.

use std::fmt;
use std::path::PathBuf;

/// An audit log failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// A record could not be written: the file system refused it, or the log was closed. The
    /// record is not part of the chain. HTTP: `503 unavailable` (with `fail_closed`, the
    /// statement does not run).
    #[error("audit log unavailable: {0}")]
    Unavailable(String),
    /// The log file cannot be opened, read, locked or continued.
    #[error("audit log {}: {message}", path.display())]
    File {
        /// The log file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The log does not verify: the first problem found.
    #[error("audit log {}: {finding}", path.display())]
    Invalid {
        /// The log file.
        path: PathBuf,
        /// Where, and what.
        finding: Finding,
    },
    /// The PostgreSQL store cannot be reached, read, locked or continued.
    #[error(
        "audit log in PostgreSQL{}: {message}",
        chain.as_ref().map(|chain| format!(" (chain {chain:?})")).unwrap_or_default()
    )]
    Store {
        /// The chain, when the failure concerns one.
        chain: Option<String>,
        /// What went wrong (never the URL, which may hold a password).
        message: String,
    },
    /// A chain in the PostgreSQL store does not verify: the first problem found. Its line is
    /// the line the record or checkpoint would have in a file (records and checkpoints in seq
    /// order, from 1).
    #[error("audit chain {chain:?} in PostgreSQL: {finding}")]
    InvalidChain {
        /// The chain.
        chain: String,
        /// Where, and what.
        finding: Finding,
    },
    /// The signing key file cannot be read, is malformed, or cannot be created.
    #[error("audit signing key {}: {message}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Malformed input to a tool: a public key or checkpoint given on the command line.
    #[error("{0}")]
    Input(String),
}

/// The first problem a verification found in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The line (from 1) where it shows.
    pub line: u64,
    /// The record's sequence number, when the line has one.
    pub seq: Option<u64>,
    /// What kind of problem it is.
    pub kind: FindingKind,
    /// What is wrong, for people.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "line {} (seq {seq}): {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// The kinds of problem a verification tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// A line that is not a record or a checkpoint of this format.
    Malformed,
    /// The last line has no newline: the writer stopped mid-write, or the file was cut.
    Partial,
    /// A record's content no longer matches its hash, while the next record still chains from
    /// that hash: the record was edited in place.
    Edited,
    /// A record that does not chain from the one before it: inserted, or replaced with a
    /// made-up hash.
    Inserted,
    /// A sequence number seen twice in a row: a record was inserted (or repeated).
    Duplicate,
    /// Sequence numbers skip: records were deleted.
    Deleted,
    /// Sequence numbers out of order: records were moved.
    Reordered,
    /// A checkpoint whose signature does not verify: forged or altered.
    BadSignature,
    /// A checkpoint signed by a key none of the given public keys is.
    UnknownKey,
    /// A checkpoint that does not match the chain at its sequence number: the records it
    /// seals were rewritten after it was written (or it was moved).
    CheckpointMismatch,
    /// The log ends before the external checkpoint's sequence number: records were removed
    /// from its end.
    Truncated,
    /// The log's hash at the external checkpoint's sequence number differs from it: the chain
    /// was rewritten.
    Rewritten,
}
