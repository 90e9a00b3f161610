//! Rule tests over whole queries, run natively:
//! `cargo test --target x86_64-unknown-linux-gnu -p guardrails`.

use sluice_policy_sdk::{
    Access, Datasource, Decision, Dialect, Grant, Principal, Query, Relation, RelationAccess, Request,
    Statement, StatementKind, Verdict,
};

use crate::config::Rules;
use crate::rules::evaluate;

/// 2024-01-01 10:00 UTC, a Monday.
const MONDAY_10H: u64 = 1_704_067_200_000 + 10 * 3_600_000;

/// A query by a principal with `roles` of kind `kind` touching `relations` (`r:x` / `w:x`).
fn query(roles: &[&str], kind: StatementKind, relations: &[&str]) -> Query {
    Query {
        principal: Principal {
            id: "alice".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            attributes: vec![("tenant_id".into(), "7".into())],
        },
        datasource: Datasource { name: "app".into(), dialect: Dialect::Postgres },
        statement: Statement {
            kind,
            relations: relations
                .iter()
                .map(|r| {
                    let (access, name) = r.split_once(':').unwrap();
                    let access = if access == "r" { Access::Read } else { Access::Write };
                    RelationAccess { relation: Relation::parse(name), access }
                })
                .collect(),
            columns: Vec::new(),
            functions: Vec::new(),
            unrestricted_writes: Vec::new(),
            limit: None,
            fingerprint: "f00d".into(),
            text: "SELECT 1".into(),
        },
        request: Request {
            client_address: None,
            justification: None,
            received_at_ms: MONDAY_10H,
            trace_id: "t".into(),
        },
        grants: Vec::new(),
        extensions: Vec::new(),
    }
}

fn rules(json: &str) -> Rules {
    Rules::from_json(json).unwrap()
}

fn deny_reason(d: &Decision) -> &str {
    match &d.verdict {
        Verdict::Deny(reason) => reason,
        other => panic!("expected deny, got {other:?}"),
    }
}

fn annotation<'d>(d: &'d Decision, key: &str) -> Option<&'d str> {
    d.annotations.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn defaults_allow_plain_reads_and_restricted_writes() {
    let r = rules("");
    assert!(evaluate(&r, &query(&[], StatementKind::Read, &["r:public.orders"]), MONDAY_10H).is_allow());
    assert!(evaluate(&r, &query(&[], StatementKind::Update, &["w:orders"]), MONDAY_10H).is_allow());
}

#[test]
fn ddl_is_denied_by_default_and_can_be_allowed() {
    let q = query(&[], StatementKind::Ddl, &["w:public.t"]);
    let d = evaluate(&rules("{}"), &q, MONDAY_10H);
    assert!(deny_reason(&d).contains("DDL"));
    assert_eq!(annotation(&d, "rules"), Some("deny_ddl"));
    assert!(evaluate(&rules(r#"{"deny_ddl": false}"#), &q, MONDAY_10H).is_allow());
}

#[test]
fn unrestricted_writes_are_denied() {
    let mut q = query(&[], StatementKind::Delete, &["w:public.orders"]);
    q.statement.unrestricted_writes = vec![Relation::parse("public.orders")];
    let d = evaluate(&rules(""), &q, MONDAY_10H);
    assert!(deny_reason(&d).contains("DELETE on public.orders must have a WHERE"), "{d:?}");
    assert!(evaluate(&rules(r#"{"deny_unrestricted_writes": false}"#), &q, MONDAY_10H).is_allow());
}

#[test]
fn catalogs_are_denied_by_default() {
    let q = query(&[], StatementKind::Read, &["r:information_schema.tables"]);
    assert!(deny_reason(&evaluate(&rules(""), &q, MONDAY_10H)).contains("information_schema.tables"));
    assert!(evaluate(&rules(r#"{"deny_catalogs": false}"#), &q, MONDAY_10H).is_allow());
    let q = query(&[], StatementKind::Read, &["r:pg_user"]);
    assert!(evaluate(&rules(""), &q, MONDAY_10H).is_deny());
}

#[test]
fn dangerous_functions_are_denied_by_default() {
    let mut q = query(&[], StatementKind::Read, &[]);
    q.statement.functions = vec!["count".into(), "pg_read_file".into()];
    assert!(deny_reason(&evaluate(&rules(""), &q, MONDAY_10H)).contains("pg_read_file"));
    q.statement.functions = vec!["query_to_xml".into()];
    assert!(evaluate(&rules(""), &q, MONDAY_10H).is_deny());
    assert!(evaluate(&rules(r#"{"deny_functions": []}"#), &q, MONDAY_10H).is_allow());
    q.statement.functions = vec!["count".into()];
    assert!(evaluate(&rules(""), &q, MONDAY_10H).is_allow());
}

const TABLES: &str = r#"{"tables": [
    {"role": "analyst", "allow": ["public.orders", "customers"], "deny": ["secrets.*"]},
    {"role": "auditor", "deny": ["public.salaries"]},
    {"role": "*", "deny": ["*.audit_*"]}
]}"#;

#[test]
fn allow_lists_restrict_their_roles() {
    let r = rules(TABLES);
    let ok =
        |roles: &[&str], rels: &[&str]| evaluate(&r, &query(roles, StatementKind::Read, rels), MONDAY_10H);
    assert!(ok(&["analyst"], &["r:public.orders", "r:crm.customers", "r:customers"]).is_allow());
    let d = ok(&["analyst"], &["r:public.orders", "r:public.invoices"]);
    assert!(deny_reason(&d).contains("public.invoices is not among"), "{d:?}");
    // Unqualified `orders` does not match `public.orders` without default_schema ...
    assert!(ok(&["analyst"], &["r:orders"]).is_deny());
    // ... and does with it.
    let mut with_default = r.clone();
    with_default.default_schema = Some("public".into());
    assert!(
        evaluate(&with_default, &query(&["analyst"], StatementKind::Read, &["r:orders"]), MONDAY_10H)
            .is_allow()
    );
    // Allow lists compare exactly: a quoted "Customers" is another table.
    assert!(ok(&["analyst"], &["r:Customers"]).is_deny());
    // Roles without rules are not restricted; roles without allow lists add no restriction.
    assert!(ok(&["dev"], &["r:public.invoices"]).is_allow());
    assert!(ok(&["auditor"], &["r:public.invoices"]).is_allow());
}

#[test]
fn deny_wins_and_matches_any_case() {
    let r = rules(TABLES);
    let ok =
        |roles: &[&str], rels: &[&str]| evaluate(&r, &query(roles, StatementKind::Read, rels), MONDAY_10H);
    assert!(deny_reason(&ok(&["analyst"], &["r:secrets.keys"])).contains("matches secrets.*"));
    assert!(ok(&["analyst"], &["r:SECRETS.keys"]).is_deny());
    assert!(ok(&["auditor"], &["r:public.salaries"]).is_deny());
    // The `*` rule applies to everyone, and its deny beats an allow list.
    assert!(ok(&[], &["r:public.audit_log"]).is_deny());
    let mut r2 =
        rules(r#"{"tables": [{"role": "a", "allow": ["*"]}, {"role": "*", "deny": ["*.audit_*"]}]}"#);
    r2.default_schema = None;
    assert!(
        evaluate(&r2, &query(&["a"], StatementKind::Read, &["r:public.audit_log"]), MONDAY_10H).is_deny()
    );
    assert!(evaluate(&r2, &query(&["a"], StatementKind::Read, &["r:public.x"]), MONDAY_10H).is_allow());
}

#[test]
fn every_violation_is_reported() {
    let mut q = query(&["analyst"], StatementKind::Ddl, &["w:secrets.keys", "r:public.invoices"]);
    q.statement.unrestricted_writes = vec![Relation::parse("secrets.keys")];
    let d = evaluate(&rules(TABLES), &q, MONDAY_10H);
    let reason = deny_reason(&d);
    assert!(reason.contains("DDL") && reason.contains("secrets.keys") && reason.contains("public.invoices"));
    assert_eq!(annotation(&d, "rules"), Some("deny_ddl,deny_unrestricted_writes,tables"));
}

#[test]
fn writes_outside_hours_are_denied() {
    let r = rules(
        r#"{"allowed_hours": {"time_zone_offset_minutes": 60, "start": "08:00", "end": "18:00",
            "days": ["mon", "tue", "wed", "thu", "fri"]}}"#,
    );
    let update = query(&[], StatementKind::Update, &["w:orders"]);
    assert!(evaluate(&r, &update, MONDAY_10H).is_allow());
    let evening = MONDAY_10H + 7 * 3_600_000; // 17:00 UTC = 18:00 at UTC+01:00
    let d = evaluate(&r, &update, evening);
    assert!(deny_reason(&d).contains("update statements are allowed only 08:00-18:00 UTC+01:00"), "{d:?}");
    assert!(evaluate(&r, &query(&[], StatementKind::Read, &["r:orders"]), evening).is_allow());
}

const APPROVALS: &str = r#"{"require_approval": [
    {"when": {"kinds": ["delete"], "relations": ["customers"], "roles_without": ["dba"]},
     "reason": "Deleting customers needs a DBA", "approvers": ["dba"], "duration_secs": 3600},
    {"when": {"roles_with": ["contractor"]}, "reason": "Contractors need sign-off"}
]}"#;

#[test]
fn approval_rules_hold_matching_statements() {
    let r = rules(APPROVALS);
    let delete = query(&["support"], StatementKind::Delete, &["w:crm.customers"]);
    let d = evaluate(&r, &delete, MONDAY_10H);
    match &d.verdict {
        Verdict::RequireApproval(a) => {
            assert_eq!(a.reason, "Deleting customers needs a DBA");
            assert_eq!(a.approver_groups, vec!["dba".to_owned()]);
            assert_eq!(a.suggested_duration_seconds, Some(3600));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(annotation(&d, "approval_rule"), Some("0"));
    // A DBA, another kind or another table: no approval.
    assert!(evaluate(&r, &query(&["dba"], StatementKind::Delete, &["w:customers"]), MONDAY_10H).is_allow());
    assert!(
        evaluate(&r, &query(&["support"], StatementKind::Update, &["w:customers"]), MONDAY_10H).is_allow()
    );
    assert!(evaluate(&r, &query(&["support"], StatementKind::Delete, &["w:orders"]), MONDAY_10H).is_allow());
    // The second rule, with no approvers or duration.
    let d = evaluate(&r, &query(&["contractor"], StatementKind::Read, &["r:orders"]), MONDAY_10H);
    match &d.verdict {
        Verdict::RequireApproval(a) => {
            assert!(a.approver_groups.is_empty() && a.suggested_duration_seconds.is_none())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn live_grants_satisfy_approval_and_deny_still_wins() {
    let r = rules(APPROVALS);
    let mut delete = query(&["support"], StatementKind::Delete, &["w:customers"]);
    let grant = |scope: &str, expires: u64| Grant {
        id: "g1".into(),
        scope: scope.into(),
        expires_at_ms: expires,
        approved_by: vec!["bob".into()],
        properties: Vec::new(),
    };
    delete.grants = vec![grant("fingerprint:f00d", MONDAY_10H - 1)];
    assert!(evaluate(&r, &delete, MONDAY_10H).is_require_approval(), "expired grant");
    delete.grants = vec![grant("fingerprint:beef", MONDAY_10H + 1000)];
    assert!(evaluate(&r, &delete, MONDAY_10H).is_require_approval(), "other statement");
    delete.grants = vec![grant("fingerprint:f00d", MONDAY_10H + 1000)];
    let d = evaluate(&r, &delete, MONDAY_10H);
    assert!(d.is_allow());
    assert_eq!(annotation(&d, "grant"), Some("g1"));
    // A temporary role grant counts as holding the role.
    delete.grants = vec![grant("role:dba", MONDAY_10H + 1000)];
    assert!(evaluate(&r, &delete, MONDAY_10H).is_allow());
    // Grants never lift a deny.
    delete.grants = vec![grant("fingerprint:f00d", MONDAY_10H + 1000)];
    delete.statement.unrestricted_writes = vec![Relation::parse("customers")];
    assert!(evaluate(&r, &delete, MONDAY_10H).is_deny());
}
