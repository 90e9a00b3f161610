//! The chain: every plugin that judges the datasource, in configured order, and how their
//! decisions combine.
//!
//! - any deny (or failure of a fail-closed plugin) denies; the first is named, all are kept;
//! - otherwise approvals accumulate: every reason, the union of approver groups, the shortest
//!   suggested duration;
//! - row filters for the same relation AND together;
//! - masks on the same column: the strictest wins (order in [`MaskKind`]); the same kind with
//!   different arguments becomes `null`, the strictest, rather than guessing which is safer;
//! - annotations are kept as `<plugin>.<key>`;
//! - a `fail_open` plugin is advisory: only its annotations count, and its failure or verdict is
//!   recorded as `<plugin>.failure` / `<plugin>.advisory_verdict`.

use super::outcome::{
    ApprovalRequest, ChainOutcome, ChainVerdict, ColumnMask, Denial, Failure, MaskKind, PluginDecision,
    Verdict,
};

/// One plugin's result, as the chain collected it.
#[derive(Debug)]
pub struct PluginResult {
    /// The plugin's name.
    pub plugin: String,
    /// Advisory plugin.
    pub fail_open: bool,
    /// Its validated decision, or why there is none.
    pub result: Result<PluginDecision, Failure>,
}

/// Combines the plugins' results, in chain order.
pub fn combine(results: Vec<PluginResult>) -> ChainOutcome {
    let mut out = ChainOutcome::allow();
    let mut denials = Vec::new();
    let mut approval: Option<ApprovalRequest> = None;
    for PluginResult { plugin, fail_open, result } in results {
        out.plugins.push(plugin.clone());
        let decision = match result {
            Ok(decision) => decision,
            Err(failure) if fail_open => {
                tracing::warn!(plugin, kind = failure.kind.name(), "advisory plugin failed; ignored");
                out.failures.push((plugin.clone(), failure.kind));
                out.annotations.insert(format!("{plugin}.failure"), failure.kind.name().to_string());
                continue;
            }
            Err(failure) => {
                out.failures.push((plugin.clone(), failure.kind));
                denials.push(Denial { plugin, reason: failure.message, failure: Some(failure.kind) });
                continue;
            }
        };
        for (key, value) in &decision.annotations {
            out.annotations.insert(format!("{plugin}.{key}"), value.clone());
        }
        if fail_open {
            let verdict = match &decision.verdict {
                Verdict::Allow => "allow".to_string(),
                Verdict::Deny(reason) => format!("deny: {reason}"),
                Verdict::RequireApproval(a) => format!("require-approval: {}", a.reason),
            };
            out.annotations.insert(format!("{plugin}.advisory_verdict"), verdict);
            continue;
        }
        match decision.verdict {
            Verdict::Allow => {}
            Verdict::Deny(reason) => denials.push(Denial { plugin: plugin.clone(), reason, failure: None }),
            Verdict::RequireApproval(a) => {
                let request = approval.get_or_insert_with(ApprovalRequest::default);
                request.reasons.push(a.reason);
                request.approver_groups.extend(a.approver_groups);
                request.suggested_duration_seconds =
                    match (request.suggested_duration_seconds, a.suggested_duration_seconds) {
                        (Some(x), Some(y)) => Some(x.min(y)),
                        (x, y) => x.or(y),
                    };
                request.plugins.push(plugin.clone());
            }
        }
        for filter in decision.row_filters {
            out.row_filters.entry(filter.relation.clone()).or_default().push(filter);
        }
        for mask in decision.column_masks {
            let key = (mask.relation.clone(), mask.column.clone());
            let merged = match out.column_masks.remove(&key) {
                Some(existing) => stricter(existing, mask),
                None => mask,
            };
            out.column_masks.insert(key, merged);
        }
        out.session_settings
            .extend(decision.session_settings.into_iter().map(|(k, v)| (plugin.clone(), k, v)));
        if let Some(role) = decision.role {
            match &out.role {
                Some((_, existing)) if *existing != role => denials.push(Denial {
                    plugin: plugin.clone(),
                    reason: format!(
                        "it asks for role {role:?} while an earlier plugin asked for {existing:?}"
                    ),
                    failure: None,
                }),
                _ => out.role = Some((plugin.clone(), role)),
            }
        }
    }
    out.verdict = if !denials.is_empty() {
        ChainVerdict::Deny(denials)
    } else if let Some(request) = approval {
        ChainVerdict::RequireApproval(request)
    } else {
        ChainVerdict::Allow
    };
    out
}

/// The stricter of two masks on the same column.
fn stricter(a: ColumnMask, b: ColumnMask) -> ColumnMask {
    if a.kind == b.kind && a.args != b.args {
        return ColumnMask { kind: MaskKind::Null, args: Vec::new(), ..a };
    }
    if b.kind > a.kind { b } else { a }
}
