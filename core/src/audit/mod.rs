//! Audit: every request is one trace, every stage one span.
//!
//! The span tree is the telemetry contract (README, "Telemetry"):
//!
//! ```text
//! request   trace_id, method, path, status                      (http middleware)
//! ├─ auth      scheme, principal                                (auth extractor)
//! ├─ analyse   datasource, dialect, kind, relations             (gateway)
//! ├─ policy    plugins, verdict, denied_by, annotations           (gateway; when plugins judge)
//! ├─ execute   datasource, rows, truncated                      (gateway)
//! └─ encode    rows, bytes_truncated                            (gateway)
//! ```
//!
//! Spans carry facts, never SQL text, parameters or tokens. OpenTelemetry export only adds a
//! layer to the subscriber; the trace id generated here becomes the OTel trace id then.
//!
//! The audit log ([`log`]) is the durable record beside the trace: one hash-chained JSON line
//! per statement decision, with signed checkpoints.

use std::fmt;

mod context;
pub mod log;
pub mod metrics;
mod record;

pub use context::{TraceParent, continue_trace, sql_comment};
pub use metrics::Metrics;
pub use record::{RequestRecord, Stage, collection, summary};

/// A request's trace id: 16 random bytes as 32 lowercase hex digits (the W3C trace-id form).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceId(String);

impl TraceId {
    /// A fresh random trace id.
    pub fn new() -> Self {
        TraceId(uuid::Uuid::new_v4().simple().to_string())
    }

    /// The id as sent in responses.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TraceId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Span names, one per stage; tests use these to assert that every stage reported.
pub mod span {
    /// The whole request.
    pub const REQUEST: &str = "request";
    /// Authentication.
    pub const AUTH: &str = "auth";
    /// Statement analysis.
    pub const ANALYSE: &str = "analyse";
    /// The policy plugin chain.
    pub const POLICY: &str = "policy";
    /// The rewrite stage: catalog check, row filters and masks.
    pub const REWRITE: &str = "rewrite";
    /// Execution on the datasource.
    pub const EXECUTE: &str = "execute";
    /// JSON encoding.
    pub const ENCODE: &str = "encode";
}
