//! What one audit record says: plain data the gateway fills, names and counts only.

use serde::{Deserialize, Serialize};

/// Why a record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditEvent {
    /// The statement is about to run. Written, and acknowledged by the writer, before it is
    /// sent to the database, so that with `fail_closed` a statement whose record cannot be
    /// written never runs.
    Allowed,
    /// The statement ran (or failed on the database): outcome, rows, duration.
    Completed,
    /// The statement was refused before it ran (analysis, policy, access, rewrite, limits).
    Refused,
}

impl AuditEvent {
    /// The name used in the log (`allowed`, `completed`, `refused`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::Allowed => "allowed",
            AuditEvent::Completed => "completed",
            AuditEvent::Refused => "refused",
        }
    }
}

/// One policy plugin's verdict on the statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginVerdict {
    /// The plugin's configured name.
    pub plugin: String,
    /// Its verdict: `allow`, `deny`, `require_approval`, or the failure that stood for one.
    pub verdict: String,
}

/// One audit record's content, before the writer adds `seq`, `at` and `hash`.
///
/// Never put SQL text, parameter values, row data or tokens here: the log is kept for years
/// and read by people who must not see them. The statement is identified by `fingerprint` and
/// `summary`. Fields that are `None` or empty are left out of the line (the hash covers the
/// line as written, so leaving them out or not is part of the record, not ambiguity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Why the record was written.
    pub event: AuditEvent,
    /// The request's trace id, which joins the record to its trace and its other record.
    pub trace_id: String,
    /// The authenticated principal's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The datasource, once the request named a configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datasource: Option<String>,
    /// The statement kind: `read`, `insert`, `update`, `delete`, `ddl`, `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Hex SHA-256 of the normalised statement: the same statement shape, the same value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// A short low-cardinality summary, e.g. `SELECT accounts` (OpenTelemetry's
    /// `db.query.summary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Each policy plugin's verdict, in chain order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<PluginVerdict>,
    /// The chain's verdict, or `granted` when a grant satisfied an approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// The plugins that denied it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_by: Vec<String>,
    /// Masks applied, as `schema.table.column:kind` (names only, never values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masks: Vec<String>,
    /// Relations a row filter was applied to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// The access grant the statement ran under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// `ok` or the error code (`policy_denied`, ...); `None` on [`AuditEvent::Allowed`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Rows returned or affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// How long the request took so far, in milliseconds. Written rounded to the microsecond
    /// (three decimals), so that every JSON reader reads back the number that was hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
}

impl AuditEntry {
    /// An entry with only its event and trace id; the gateway fills the rest as it learns it.
    pub fn new(event: AuditEvent, trace_id: impl Into<String>) -> Self {
        AuditEntry {
            event,
            trace_id: trace_id.into(),
            principal: None,
            datasource: None,
            kind: None,
            fingerprint: None,
            summary: None,
            verdicts: Vec::new(),
            verdict: None,
            denied_by: Vec::new(),
            masks: Vec::new(),
            filters: Vec::new(),
            grant: None,
            outcome: None,
            rows: None,
            duration_ms: None,
        }
    }

    /// The entry as written: `duration_ms` rounded to the microsecond, and dropped when it is
    /// not a finite number (JSON has no NaN).
    pub(super) fn normalised(mut self) -> Self {
        self.duration_ms = self.duration_ms.map(|d| (d * 1000.0).round() / 1000.0).filter(|d| d.is_finite());
        self
    }
}
