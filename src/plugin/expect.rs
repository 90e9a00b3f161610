//! What one case produced, and how it is compared with the case's `expect`: only the keys the
//! case gives are checked, so a case states exactly what it is about.

use serde_json::{Value, json};
use sluice_core::analyse::RelationName;
use sluice_core::policy::{Failure, PluginDecision, Verdict};

use super::cases::Expect;

/// What happened to one case.
#[derive(Debug)]
pub enum Outcome {
    /// The analyser refused the statement; the plugin was not called.
    Refused {
        /// The stable error code (`statement_not_allowed`, `sql_parse_error`).
        code: &'static str,
        /// The analyser's message.
        message: String,
    },
    /// The plugin failed (init error, trap, timeout, malformed decision...).
    Failed(Failure),
    /// The plugin's own validated decision, before any chain combination.
    Decided(PluginDecision),
}

impl Outcome {
    /// A one-line description, for `got ...`.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Refused { code, message } => format!("refused by the analyser ({code}): {message}"),
            Outcome::Failed(f) => format!("failure {}: {}", f.kind.name(), f.message),
            Outcome::Decided(d) => match &d.verdict {
                Verdict::Allow => "allow".into(),
                Verdict::Deny(reason) => format!("deny {reason:?}"),
                Verdict::RequireApproval(a) => {
                    format!("require_approval {:?} (approvers {:?})", a.reason, a.approver_groups)
                }
            },
        }
    }
}

/// Every way `outcome` differs from `expect`, as `expected X, got Y` texts; empty when it matches.
pub fn mismatches(expect: &Expect, outcome: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    let got = outcome.describe();
    let mut differ = |what: String| out.push(format!("expected {what}, got {got}"));
    match outcome {
        Outcome::Refused { code, message } => match &expect.refused {
            Some(want) if want == code => {
                if let Some(part) = expect.reason_contains.as_deref().filter(|p| !message.contains(p)) {
                    differ(format!("a refusal containing {part:?}"));
                }
            }
            Some(want) => differ(format!("a refusal {want}")),
            None => differ(expected_decision(expect)),
        },
        Outcome::Failed(failure) => match &expect.failure {
            Some(want) if want == failure.kind.name() => {
                if let Some(part) = expect.reason_contains.as_deref().filter(|p| !failure.message.contains(p))
                {
                    differ(format!("a failure message containing {part:?}"));
                }
            }
            Some(want) => differ(format!("failure {want}")),
            None => differ(expected_decision(expect)),
        },
        Outcome::Decided(decision) => {
            if expect.refused.is_some() || expect.failure.is_some() {
                differ(expected_decision(expect));
            } else {
                out.extend(
                    decision_mismatches(expect, decision)
                        .into_iter()
                        .map(|what| format!("{what}, got {got}")),
                );
            }
        }
    }
    out
}

fn expected_decision(expect: &Expect) -> String {
    if let Some(code) = &expect.refused {
        return format!("a refusal {code}");
    }
    if let Some(kind) = &expect.failure {
        return format!("failure {kind}");
    }
    format!("verdict {}", expect.verdict.as_deref().unwrap_or("(any)"))
}

fn decision_mismatches(expect: &Expect, d: &PluginDecision) -> Vec<String> {
    let mut out = Vec::new();
    let (verdict, reason, approval) = match &d.verdict {
        Verdict::Allow => ("allow", None, None),
        Verdict::Deny(reason) => ("deny", Some(reason.as_str()), None),
        Verdict::RequireApproval(a) => ("require_approval", Some(a.reason.as_str()), Some(a)),
    };
    if let Some(want) = expect.verdict.as_deref().filter(|want| *want != verdict) {
        out.push(format!("expected verdict {want}"));
    }
    if let Some(part) = expect.reason_contains.as_deref().filter(|p| !reason.unwrap_or("").contains(p)) {
        out.push(format!("expected a reason containing {part:?}"));
    }
    if let Some(want) = &expect.approvers {
        let mut want = want.clone();
        want.sort();
        let mut have = approval.map(|a| a.approver_groups.clone()).unwrap_or_default();
        have.sort();
        if want != have {
            out.push(format!("expected approvers {want:?} (have {have:?})"));
        }
    }
    if let Some(want) =
        expect.duration_secs.filter(|w| approval.and_then(|a| a.suggested_duration_seconds) != Some(*w))
    {
        out.push(format!("expected a suggested duration of {want} s"));
    }
    check_pairs(&mut out, "annotation", expect.annotations.as_ref(), &d.annotations);
    check_pairs(&mut out, "session setting", expect.session_settings.as_ref(), &d.session_settings);
    if let Some(want) = expect.role.as_ref().filter(|want| **want != d.role) {
        out.push(format!("expected role {want:?} (have {:?})", d.role));
    }
    if let Some(want) = &expect.row_filters {
        let have = row_filters_json(d);
        if !subset(want, &have) {
            out.push(format!("expected row filters {want} (have {have})"));
        }
    }
    if let Some(want) = &expect.column_masks {
        let have = column_masks_json(d);
        if !subset(want, &have) {
            out.push(format!("expected column masks {want} (have {have})"));
        }
    }
    out
}

fn check_pairs(
    out: &mut Vec<String>,
    what: &str,
    want: Option<&std::collections::BTreeMap<String, String>>,
    have: &[(String, String)],
) {
    for (key, value) in want.into_iter().flatten() {
        let found = have.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        if found != Some(value) {
            out.push(format!("expected {what} {key}={value:?} (have {found:?})"));
        }
    }
}

/// `want` matches `have` when every key of each `want` object is in `have` with a matching
/// value, arrays have the same length and match element by element, and scalars are equal.
fn subset(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            w.iter().all(|(k, wv)| h.get(k).is_some_and(|hv| subset(wv, hv)))
        }
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(wv, hv)| subset(wv, hv))
        }
        _ => want == have,
    }
}

fn relation_text(r: &RelationName) -> String {
    match &r.schema {
        Some(schema) => format!("{schema}.{}", r.name),
        None => r.name.clone(),
    }
}

/// Row filters as data: `[{"relation": "schema.name", "predicate": "...", "params":
/// {"name": {"attribute": "tenant_id"} | {"literal": "v"}}}]`.
pub fn row_filters_json(d: &PluginDecision) -> Value {
    d.row_filters
        .iter()
        .map(|f| {
            let params: serde_json::Map<String, Value> = f
                .params
                .iter()
                .map(|(name, source)| (name.clone(), serde_json::to_value(source).unwrap_or(Value::Null)))
                .collect();
            json!({ "relation": relation_text(&f.relation), "predicate": f.predicate, "params": params })
        })
        .collect()
}

/// Column masks as data: `[{"relation": "schema.name", "column": "email", "mask": "email",
/// "args": []}]`, masks named as in the WIT (`last-four`, `keyed-hash`...).
pub fn column_masks_json(d: &PluginDecision) -> Value {
    d.column_masks
        .iter()
        .map(|m| {
            json!({
                "relation": relation_text(&m.relation),
                "column": m.column,
                "mask": serde_json::to_value(m.kind).unwrap_or(Value::Null),
                "args": m.args,
            })
        })
        .collect()
}
