//! Unit tests of the policy stage that need no compiled plugin: decision validation and the
//! chain's combination rules. End-to-end tests with real plugins are in `tests/all/plugins.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;

use super::bindings::sluice::policy::types as wit;
use super::chain::{PluginResult, combine};
use super::convert;
use super::outcome::*;
use crate::analyse::{self, Dialect, RelationName};

fn facts(sql: &str) -> crate::analyse::StatementFacts {
    analyse::analyse(Dialect::Postgres, sql).unwrap().facts
}

fn decision(verdict: wit::Verdict) -> wit::Decision {
    wit::Decision {
        verdict,
        row_filters: vec![],
        column_masks: vec![],
        session_settings: vec![],
        role: None,
        annotations: vec![],
    }
}

fn rel(name: &str) -> wit::Relation {
    wit::Relation { schema: None, name: name.into() }
}

fn mask(kind: wit::MaskKind, args: &[&str]) -> wit::ColumnMask {
    wit::ColumnMask {
        relation: rel("t"),
        column: "c".into(),
        mask: kind,
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

#[test]
fn malformed_decisions_are_rejected() {
    let f = facts("SELECT c FROM t");
    let bad = [
        decision(wit::Verdict::Deny(String::new())),
        decision(wit::Verdict::Deny("   ".into())),
        decision(wit::Verdict::Deny("x".repeat(5000))),
        decision(wit::Verdict::RequireApproval(wit::Approval {
            reason: String::new(),
            approver_groups: vec![],
            suggested_duration_seconds: None,
        })),
        wit::Decision {
            row_filters: vec![wit::RowFilter {
                relation: rel("other"),
                predicate: "true".into(),
                params: vec![],
            }],
            ..decision(wit::Verdict::Allow)
        },
        wit::Decision {
            column_masks: vec![mask(wit::MaskKind::Partial, &["1"])],
            ..decision(wit::Verdict::Allow)
        },
        wit::Decision {
            column_masks: vec![mask(wit::MaskKind::Null, &["1"])],
            ..decision(wit::Verdict::Allow)
        },
        wit::Decision {
            column_masks: vec![mask(wit::MaskKind::Bucket, &["-1"])],
            ..decision(wit::Verdict::Allow)
        },
        wit::Decision {
            column_masks: vec![mask(wit::MaskKind::TruncateDate, &["eon"])],
            ..decision(wit::Verdict::Allow)
        },
        wit::Decision {
            annotations: vec![("big".into(), "x".repeat(1 << 20))],
            ..decision(wit::Verdict::Allow)
        },
        wit::Decision { annotations: vec![(String::new(), "x".into())], ..decision(wit::Verdict::Allow) },
        wit::Decision { role: Some(" ".into()), ..decision(wit::Verdict::Allow) },
    ];
    for d in bad {
        let shown = format!("{d:?}");
        assert!(convert::decision("p", d, &f).is_err(), "accepted: {}", &shown[..shown.len().min(200)]);
    }
    let good = wit::Decision {
        row_filters: vec![wit::RowFilter {
            relation: rel("t"),
            predicate: "tenant_id = :tenant".into(),
            params: vec![wit::FilterParam {
                name: "tenant".into(),
                source: wit::ParamSource::Attribute("tenant_id".into()),
            }],
        }],
        column_masks: vec![mask(wit::MaskKind::Partial, &["1", "2"]), mask(wit::MaskKind::Email, &[])],
        annotations: vec![("k".into(), "v".into())],
        ..decision(wit::Verdict::Allow)
    };
    let d = convert::decision("p", good, &f).unwrap();
    assert_eq!(d.row_filters[0].relation, RelationName { schema: None, name: "t".into() });
    assert_eq!(d.column_masks.len(), 2);
}

fn plugin_decision(verdict: Verdict) -> PluginDecision {
    PluginDecision {
        verdict,
        row_filters: vec![],
        column_masks: vec![],
        session_settings: vec![],
        role: None,
        annotations: vec![],
    }
}

fn ok(plugin: &str, verdict: Verdict) -> PluginResult {
    PluginResult { plugin: plugin.into(), fail_open: false, result: Ok(plugin_decision(verdict)) }
}

fn approval(reason: &str, groups: &[&str], secs: Option<u32>) -> Verdict {
    Verdict::RequireApproval(Approval {
        reason: reason.into(),
        approver_groups: groups.iter().map(|g| g.to_string()).collect(),
        suggested_duration_seconds: secs,
    })
}

#[test]
fn deny_wins_and_names_the_first_denier() {
    let outcome = combine(vec![
        ok("a", Verdict::Allow),
        ok("b", approval("why", &["dba"], None)),
        ok("c", Verdict::Deny("no".into())),
        PluginResult {
            plugin: "d".into(),
            fail_open: false,
            result: Err(Failure { kind: FailureKind::Timeout, message: "slow".into() }),
        },
    ]);
    let ChainVerdict::Deny(denials) = outcome.verdict else { panic!("{:?}", outcome.verdict) };
    assert_eq!(denials[0].plugin, "c");
    assert_eq!(denials[1].failure, Some(FailureKind::Timeout));
    assert_eq!(outcome.plugins, ["a", "b", "c", "d"]);
}

#[test]
fn approvals_accumulate() {
    let outcome = combine(vec![
        ok("a", approval("one", &["dba"], Some(3600))),
        ok("b", Verdict::Allow),
        ok("c", approval("two", &["security", "dba"], Some(600))),
    ]);
    let ChainVerdict::RequireApproval(request) = outcome.verdict else { panic!() };
    assert_eq!(request.reasons, ["one", "two"]);
    assert_eq!(request.approver_groups, BTreeSet::from(["dba".to_string(), "security".to_string()]));
    assert_eq!(request.suggested_duration_seconds, Some(600));
    assert_eq!(request.plugins, ["a", "c"]);
}

#[test]
fn advisory_plugins_only_annotate() {
    let mut deny = plugin_decision(Verdict::Deny("no".into()));
    deny.annotations.push(("k".into(), "v".into()));
    let outcome = combine(vec![
        PluginResult { plugin: "adv".into(), fail_open: true, result: Ok(deny) },
        PluginResult {
            plugin: "broken".into(),
            fail_open: true,
            result: Err(Failure { kind: FailureKind::Trap, message: "boom".into() }),
        },
    ]);
    assert_eq!(outcome.verdict, ChainVerdict::Allow);
    assert_eq!(outcome.annotations["adv.k"], "v");
    assert_eq!(outcome.annotations["adv.advisory_verdict"], "deny: no");
    assert_eq!(outcome.annotations["broken.failure"], "trap");
}

#[test]
fn the_strictest_mask_wins_and_filters_accumulate() {
    let relation = RelationName { schema: None, name: "t".into() };
    let m = |plugin: &str, kind: MaskKind, args: &[&str]| ColumnMask {
        plugin: plugin.into(),
        relation: relation.clone(),
        column: "c".into(),
        kind,
        args: args.iter().map(|a| a.to_string()).collect(),
    };
    let with = |plugin: &str, masks: Vec<ColumnMask>| PluginResult {
        plugin: plugin.into(),
        fail_open: false,
        result: Ok(PluginDecision {
            column_masks: masks,
            row_filters: vec![RowFilter {
                plugin: plugin.into(),
                relation: relation.clone(),
                predicate: "x = 1".into(),
                params: vec![],
            }],
            ..plugin_decision(Verdict::Allow)
        }),
    };
    let outcome = combine(vec![
        with("a", vec![m("a", MaskKind::Partial, &["1", "1"])]),
        with("b", vec![m("b", MaskKind::Email, &[])]),
    ]);
    assert_eq!(outcome.column_masks[&(relation.clone(), "c".into())].kind, MaskKind::Email);
    assert_eq!(outcome.row_filters[&relation].len(), 2);
    let outcome = combine(vec![
        with("a", vec![m("a", MaskKind::Partial, &["1", "1"])]),
        with("b", vec![m("b", MaskKind::Partial, &["0", "4"])]),
    ]);
    assert_eq!(outcome.column_masks[&(relation, "c".into())].kind, MaskKind::Null);
    assert!(MaskKind::Null > MaskKind::Redact && MaskKind::Redact > MaskKind::Email);
}
