//! The tamper-evident audit log: one JSON line per record, each chained to the one before
//! by a hash, sealed every so often by a signed checkpoint that is also exported off the
//! machine.
//!
//! ```text
//! {"seq":41,"at":"2024-05-01T12:00:00.123Z","event":"allowed","trace_id":"...",...,"hash":"9f2c..."}
//! {"seq":42,"at":"2024-05-01T12:00:00.125Z","event":"completed",...,"outcome":"ok","rows":2,"hash":"04ab..."}
//! {"checkpoint":{"seq":42,"hash":"04ab...","at":"...","key_id":"1f0e...","signature":"base64..."}}
//! ```
//!
//! - **Records** ([`AuditEntry`], plus `seq` and `at`) say who ran what kind of statement
//!   where, what policy decided and how it ended: names, verdicts and counts, never SQL text,
//!   parameters or rows. A statement that runs has two: `allowed`, written and acknowledged
//!   before it runs (so that with `fail_closed` a statement whose record cannot be written
//!   does not run), and `completed` after.
//! - **The chain**: `hash[n] = SHA-256("sluice-audit-v1\0" || hash[n-1] || canonical(n))`,
//!   32 zero bytes before the first record, where `canonical` is the line's JSON object
//!   without `hash`, keys sorted, no whitespace ([`chain`]). Editing, deleting, moving or
//!   inserting a record breaks it where it was done.
//! - **Checkpoints** sign `(seq, hash[seq])` with an Ed25519 key. Anyone with write access can
//!   recompute a whole chain; no one without the key can sign for it, and no one on the
//!   machine can reach the copies exported through telemetry. So a rewritten or truncated
//!   log is caught against the checkpoints it holds, and against one kept elsewhere.
//!
//! The writer ([`AuditLog`]) is one thread owning the file, with group commit; the verifier
//! ([`verify_file`]) streams the file and names the first problem by line and seq.
//!
//! The same lines can be kept in PostgreSQL instead (the `postgres` module: one row
//! per line, one chain per Sluice process); [`verify_store`] walks a chain's rows through the
//! same verifier.

pub mod chain;
mod entry;
mod error;
mod key;
mod postgres;
mod settings;
mod tail;
mod verify;
mod writer;

#[cfg(test)]
mod tests;

pub use entry::{AuditEntry, AuditEvent, PluginVerdict};
pub use error::{AuditError, Finding, FindingKind};
pub use key::{PublicKey, Signer, check_signing_key_file, generate_signing_key, read_signing_key};
pub use postgres::read::{follow_store, last_store_records, store_chains, verify_store};
pub use settings::{AuditSettings, AuditStore};
pub use tail::{follow, format_record, last_records};
pub use verify::{ExternalCheckpoint, VerifyOptions, VerifyReport, verify_file};
pub use writer::AuditLog;
