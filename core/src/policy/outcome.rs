//! Plain data out of the policy stage: one plugin's validated decision, failures, and the
//! combined outcome of the chain. Nothing here refers to wasmtime.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analyse::RelationName;

/// Why a plugin produced no usable decision. Stable names, used in messages and annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// It ran past its `timeout_ms`.
    Timeout,
    /// It tried to grow its memory past `memory_limit_mb`.
    OutOfMemory,
    /// It trapped (panic, `unreachable`, invalid value across the boundary).
    Trap,
    /// Its decision broke the contract's rules (see `convert`).
    MalformedVerdict,
    /// Its `init` returned an error.
    InitFailed,
    /// It could not be loaded (compile error, wrong contract version, missing exports).
    Unavailable,
}

impl FailureKind {
    /// The kind's stable name.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::OutOfMemory => "out_of_memory",
            FailureKind::Trap => "trap",
            FailureKind::MalformedVerdict => "malformed_verdict",
            FailureKind::InitFailed => "init_failed",
            FailureKind::Unavailable => "unavailable",
        }
    }
}

/// A plugin failure: its kind and a message safe to show the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Stable kind.
    pub kind: FailureKind,
    /// What happened, without internals (no wasm backtraces).
    pub message: String,
}

/// One plugin's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No objection.
    Allow,
    /// Refuse, with a reason for the caller.
    Deny(String),
    /// Hold for a human.
    RequireApproval(Approval),
}

/// A plugin's request for approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Shown to approvers.
    pub reason: String,
    /// Groups that may approve.
    pub approver_groups: Vec<String>,
    /// Suggested grant duration, seconds.
    pub suggested_duration_seconds: Option<u32>,
}

/// Where a row-filter parameter's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamSource {
    /// A principal attribute.
    Attribute(String),
    /// A constant.
    Literal(String),
}

/// A row filter for one relation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RowFilter {
    /// The plugin that asked for it.
    pub plugin: String,
    /// The relation it restricts.
    pub relation: RelationName,
    /// Boolean SQL with `:name` parameters (parsed and checked by the rewrite stage).
    pub predicate: String,
    /// The parameters, by name.
    pub params: Vec<(String, ParamSource)>,
}

/// Built-in masks, least strict first: the order in which "strictest wins" compares them.
/// A mask reveals less than every mask before it in this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaskKind {
    /// Removes some JSON keys; the rest of the document is visible.
    JsonRedact,
    /// Rounds numbers.
    Round,
    /// Truncates dates.
    TruncateDate,
    /// Buckets numbers.
    Bucket,
    /// Keeps a prefix and a suffix.
    Partial,
    /// Keeps the last four digits.
    LastFour,
    /// `j***@example.com`.
    Email,
    /// A keyed hash: equal values stay equal, nothing else is revealed.
    KeyedHash,
    /// Every character replaced; the length is visible.
    Redact,
    /// The type's neutral value.
    DefaultForType,
    /// A constant.
    Constant,
    /// NULL: nothing revealed.
    Null,
}

/// One column mask.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ColumnMask {
    /// The plugin that asked for it.
    pub plugin: String,
    /// The relation.
    pub relation: RelationName,
    /// The column's name.
    pub column: String,
    /// The mask.
    pub kind: MaskKind,
    /// The mask's arguments.
    pub args: Vec<String>,
}

/// One plugin's decision, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDecision {
    /// The verdict.
    pub verdict: Verdict,
    /// Row filters, each for a relation the statement touches.
    pub row_filters: Vec<RowFilter>,
    /// Column masks.
    pub column_masks: Vec<ColumnMask>,
    /// Session settings asked for.
    pub session_settings: Vec<(String, String)>,
    /// Role asked for.
    pub role: Option<String>,
    /// Audit annotations.
    pub annotations: Vec<(String, String)>,
}

/// Approval the chain requires: what every approving plugin asked for, accumulated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApprovalRequest {
    /// Each plugin's reason, in chain order.
    pub reasons: Vec<String>,
    /// The union of the plugins' approver groups; empty means the datasource's default approvers.
    pub approver_groups: BTreeSet<String>,
    /// The shortest duration any plugin suggested, seconds.
    pub suggested_duration_seconds: Option<u32>,
    /// The plugins that asked, in chain order.
    pub plugins: Vec<String>,
}

/// One plugin's refusal: its deny verdict, or its failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The plugin.
    pub plugin: String,
    /// Its reason, or what went wrong.
    pub reason: String,
    /// Set when the plugin failed rather than denied.
    pub failure: Option<FailureKind>,
}

/// The chain's combined verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    /// Every plugin allowed (or no plugin judges this datasource).
    Allow,
    /// At least one plugin denied or failed; every denial, in chain order (never empty).
    Deny(Vec<Denial>),
    /// No denial, and at least one plugin requires approval.
    RequireApproval(ApprovalRequest),
}

impl ChainVerdict {
    /// `allow`, `deny` or `require_approval`: the name spans and logs carry.
    pub fn name(&self) -> &'static str {
        match self {
            ChainVerdict::Allow => "allow",
            ChainVerdict::Deny(_) => "deny",
            ChainVerdict::RequireApproval(_) => "require_approval",
        }
    }
}

/// Everything the chain decided about one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOutcome {
    /// The verdict.
    pub verdict: ChainVerdict,
    /// Row filters, ANDed per relation.
    pub row_filters: BTreeMap<RelationName, Vec<RowFilter>>,
    /// The strictest mask per (relation, column).
    pub column_masks: BTreeMap<(RelationName, String), ColumnMask>,
    /// Session settings, `(plugin, key, value)`.
    pub session_settings: Vec<(String, String, String)>,
    /// Role, `(plugin, role)`.
    pub role: Option<(String, String)>,
    /// Annotations as `<plugin>.<key>`.
    pub annotations: BTreeMap<String, String>,
    /// The plugins that judged the statement, in order.
    pub plugins: Vec<String>,
    /// The plugins that failed, advisory ones included, with how.
    pub failures: Vec<(String, FailureKind)>,
}

impl ChainOutcome {
    /// An outcome with no plugin involved.
    pub fn allow() -> Self {
        ChainOutcome {
            verdict: ChainVerdict::Allow,
            row_filters: BTreeMap::new(),
            column_masks: BTreeMap::new(),
            session_settings: Vec::new(),
            role: None,
            annotations: BTreeMap::new(),
            plugins: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Each plugin's own verdict, in chain order: `allow`, `deny`, `require_approval`,
    /// `failed` (a failure, which denies), or `advisory` for a `fail_open` plugin, whose
    /// verdict does not count.
    pub fn verdicts(&self) -> impl Iterator<Item = (&str, &'static str)> {
        let denied = match &self.verdict {
            ChainVerdict::Deny(denials) => denials.as_slice(),
            _ => &[],
        };
        let asked = match &self.verdict {
            ChainVerdict::RequireApproval(request) => request.plugins.as_slice(),
            _ => &[],
        };
        self.plugins.iter().map(move |plugin| {
            let verdict = if let Some(denial) = denied.iter().find(|d| d.plugin == *plugin) {
                if denial.failure.is_some() { "failed" } else { "deny" }
            } else if asked.contains(plugin) {
                "require_approval"
            } else if self.failures.iter().any(|(p, _)| p == plugin)
                || self
                    .annotations
                    .keys()
                    .any(|k| k.strip_prefix(plugin.as_str()) == Some(".advisory_verdict"))
            {
                "advisory"
            } else {
                "allow"
            };
            (plugin.as_str(), verdict)
        })
    }
}
