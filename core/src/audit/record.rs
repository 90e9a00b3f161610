//! One request's record: what it did, filled by the stages as they run and read once, at the
//! request's single exit.
//!
//! [`Gateway::query`](crate::gateway::Gateway::query) wraps the stages so that every path out
//! of them, the early refusals included, passes through that exit: no path can leave a request
//! unrecorded. The request span's summary fields, the metrics and the audit log's entry are
//! written from it there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::TraceId;
use super::log::{AuditEntry, AuditEvent, PluginVerdict};
use crate::analyse::{Analysis, StatementFacts, StatementKind};
use crate::error::ErrorCode;
use crate::policy::{ChainOutcome, FailureKind};

/// What one `POST /v1/query` did. Plain data: names and counts, never SQL text or values.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// When the request reached the gateway.
    pub started: Instant,
    /// The datasource, once the request named a known one.
    pub datasource: Option<String>,
    /// The database's name in telemetry (`postgresql`, `mysql`, `sqlite`).
    pub db_system: Option<&'static str>,
    /// The statement's analysis, once it held (shared with the plan cache, not copied).
    pub analysis: Option<Arc<Analysis>>,
    /// The policy chain's verdict (`allow`, `deny`, ...), or `granted` when a grant satisfied
    /// an approval; `None` when no plugin judged the statement.
    pub verdict: Option<&'static str>,
    /// Each plugin that judged it, in order, with its own verdict (see
    /// [`ChainOutcome::verdicts`]).
    pub verdicts: Vec<(String, &'static str)>,
    /// Plugins that failed, and how.
    pub failures: Vec<(String, FailureKind)>,
    /// Masked columns, `relation.column:mask`, when the statement was rewritten and something
    /// reads them (the audit log, a recorded span).
    pub masks: Vec<String>,
    /// Relations a row filter applied to, when the statement was rewritten and something
    /// reads them.
    pub filters: Vec<String>,
    /// The grant it ran under.
    pub grant: Option<String>,
    /// How long the database took, once it ran.
    pub executed_in: Option<Duration>,
    /// Rows returned.
    pub rows: Option<usize>,
    /// The outcome: `None` for success, else the error's code.
    pub error: Option<ErrorCode>,
    /// How long each stage the request reached took (execution is `executed_in`).
    pub stages: [Option<Duration>; Stage::ALL.len()],
    /// Whether the statement was sent to the database: its `allowed` audit record was
    /// written, so its last one is `completed`, not `refused`.
    pub executed: bool,
}

/// The request's stages, as `sluice_stage_duration_seconds` labels them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Admission checks and analysis.
    Analyse,
    /// The policy chain.
    Policy,
    /// The catalog check, row filters and masks.
    Rewrite,
    /// Execution on the database.
    Execute,
    /// JSON encoding.
    Encode,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 5] =
        [Stage::Analyse, Stage::Policy, Stage::Rewrite, Stage::Execute, Stage::Encode];

    /// The label.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Analyse => "analyse",
            Stage::Policy => "policy",
            Stage::Rewrite => "rewrite",
            Stage::Execute => "execute",
            Stage::Encode => "encode",
        }
    }
}

impl RequestRecord {
    /// An empty record of a request starting now.
    pub fn start() -> Self {
        RequestRecord {
            started: Instant::now(),
            datasource: None,
            db_system: None,
            analysis: None,
            verdict: None,
            verdicts: Vec::new(),
            failures: Vec::new(),
            masks: Vec::new(),
            filters: Vec::new(),
            grant: None,
            executed_in: None,
            rows: None,
            error: None,
            stages: [None; Stage::ALL.len()],
            executed: false,
        }
    }

    /// The audit log's entry for this request so far, as `event`.
    pub fn audit_entry(&self, event: AuditEvent, principal: &str, trace_id: &TraceId) -> AuditEntry {
        let facts = self.analysis.as_ref().map(|a| &a.facts);
        let mut entry = AuditEntry::new(event, trace_id.as_str());
        entry.principal = Some(principal.to_owned());
        entry.datasource.clone_from(&self.datasource);
        entry.kind = facts.map(|f| f.kind.name().to_owned());
        entry.fingerprint = facts.map(|f| f.fingerprint.clone());
        entry.summary = facts.map(summary);
        entry.verdicts = self
            .verdicts
            .iter()
            .map(|(plugin, verdict)| PluginVerdict { plugin: plugin.clone(), verdict: (*verdict).to_owned() })
            .collect();
        entry.verdict = self.verdict.map(str::to_owned);
        entry.denied_by = self
            .verdicts
            .iter()
            .filter(|(_, verdict)| matches!(*verdict, "deny" | "failed"))
            .map(|(plugin, _)| plugin.clone())
            .collect();
        entry.masks.clone_from(&self.masks);
        entry.filters.clone_from(&self.filters);
        entry.grant.clone_from(&self.grant);
        if event != AuditEvent::Allowed {
            entry.outcome = Some(self.outcome().to_owned());
            entry.rows = self.rows.and_then(|rows| u64::try_from(rows).ok());
            entry.duration_ms = Some(self.started.elapsed().as_secs_f64() * 1000.0);
        }
        entry
    }

    /// Records that `stage` ran from `started` until now.
    pub fn timed(&mut self, stage: Stage, started: Instant) {
        if let Some(slot) = self.stages.get_mut(stage as usize) {
            *slot = Some(started.elapsed());
        }
    }

    /// Each stage the request reached, with its duration.
    pub fn stage_times(&self) -> impl Iterator<Item = (Stage, Duration)> + '_ {
        Stage::ALL.into_iter().zip(self.stages).filter_map(|(stage, took)| {
            let took = if stage == Stage::Execute { self.executed_in } else { took };
            took.map(|took| (stage, took))
        })
    }

    /// The outcome's label: `ok` or the error code.
    pub fn outcome(&self) -> &'static str {
        self.error.map_or("ok", ErrorCode::as_str)
    }

    /// The statement kind, once analysed.
    pub fn kind(&self) -> Option<StatementKind> {
        self.analysis.as_ref().map(|a| a.facts.kind)
    }

    /// Takes the chain's verdicts and failures.
    pub fn judged(&mut self, chain: &ChainOutcome) {
        self.verdict = Some(chain.verdict.name());
        self.verdicts = chain.verdicts().map(|(plugin, verdict)| (plugin.to_owned(), verdict)).collect();
        self.failures.clone_from(&chain.failures);
    }

    /// Takes the names of the filters and masks a rewrite applied.
    pub fn protected_by(&mut self, chain: &ChainOutcome) {
        self.filters = chain.row_filters.keys().map(ToString::to_string).collect();
        self.masks = chain
            .column_masks
            .iter()
            .map(|((relation, column), mask)| {
                format!("{relation}.{column}:{}", crate::rewrite::kind_name(mask.kind))
            })
            .collect();
    }
}

/// The statement's low-cardinality summary, as the database conventions define
/// `db.query.summary`: the operation and the relations it touches (`SELECT customers orders`).
pub fn summary(facts: &StatementFacts) -> String {
    let mut summary = facts.kind.operation_name().to_owned();
    let mut last = None;
    for access in &facts.relations {
        // Relations are sorted, each (relation, access) once: skip the second access.
        if last != Some(&access.relation) {
            summary.push(' ');
            summary.push_str(&access.relation.to_string());
        }
        last = Some(&access.relation);
    }
    summary
}

/// The one relation the statement touches, if it touches exactly one (`db.collection.name`).
pub fn collection(facts: &StatementFacts) -> Option<String> {
    let first = &facts.relations.first()?.relation;
    facts.relations.iter().all(|r| r.relation == *first).then(|| first.to_string())
}
