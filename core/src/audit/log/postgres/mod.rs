//! The audit log in PostgreSQL: the same lines as the file, one row each, so that one
//! verifier reads both.
//!
//! ```text
//! sluice_audit_records     (chain TEXT, seq BIGINT, line TEXT, PRIMARY KEY (chain, seq))
//! sluice_audit_checkpoints (chain TEXT, seq BIGINT, line TEXT, PRIMARY KEY (chain, seq))
//! sluice_audit_schema      (version BIGINT)
//! ```
//!
//! `line` is exactly the JSON line the file would hold (without its newline): the same
//! record with its chain hash, the same checkpoint. Each Sluice process writes a chain of its
//! own (`[audit] chain`, by default the host name), so replicas sharing a database never
//! interleave records in one chain: a chain has one writer, in order, as a file does. The
//! writer holds a session-level advisory lock on its chain (keyed on the schema and the chain
//! name) on its own connection for as long as it runs, so a second process given the same
//! chain does not start; every batch is one transaction on that connection, so nothing is
//! written without the lock.
//!
//! Read in seq order, a record before the checkpoint of the same seq, a chain's rows are the
//! lines of its file: [`read`] streams them (keyset pages, never the whole chain) through the
//! file's verifier, so a deleted row shows as a gap in seq and an edited `line` as a hash
//! that no longer matches, with the same messages.
//!
//! Tables go where the connection's `search_path` points (a
//! `?options=-csearch_path%3Dsluice` URL parameter picks a schema). The driver is
//! asynchronous and the writer a thread, so each connection here runs on a small runtime of
//! its own, driven by the thread that waits for it: the log never depends on the gateway's
//! runtime being free, whatever flavour it is.

mod connect;
pub(super) mod read;
mod sink;

pub(super) use sink::PgSink;

#[cfg(test)]
mod tests;
