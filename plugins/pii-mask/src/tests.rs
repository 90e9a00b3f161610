//! Rule tests over whole queries, run natively:
//! `cargo test --target x86_64-unknown-linux-gnu -p pii-mask`.

use sluice_policy_sdk::{
    Access, ColumnUsage, ColumnUse, Datasource, Decision, Dialect, MaskKind, Principal, Query, Relation,
    RelationAccess, Request, Statement, StatementKind,
};

use crate::config::Rules;
use crate::rules::evaluate;

const CONFIG: &str = r#"{"columns": {"*.email": "email", "customers.ssn": "partial(0,4)",
    "payments.card": "last-four", "*.salary": "bucket(1000)", "hr.staff.email": "redact"},
    "clear_roles": ["support-lead"]}"#;

/// A query by a principal with `roles` touching `relations` (`r:x` / `w:x`), naming `columns`
/// (`relation.column`, or `column` with an unknown relation).
fn query(roles: &[&str], relations: &[&str], columns: &[&str]) -> Query {
    Query {
        principal: Principal {
            id: "alice".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            attributes: Vec::new(),
        },
        datasource: Datasource { name: "app".into(), dialect: Dialect::Postgres },
        statement: Statement {
            kind: StatementKind::Read,
            relations: relations
                .iter()
                .map(|r| {
                    let (access, name) = r.split_once(':').unwrap();
                    let access = if access == "r" { Access::Read } else { Access::Write };
                    RelationAccess { relation: Relation::parse(name), access }
                })
                .collect(),
            columns: columns
                .iter()
                .map(|c| {
                    let (relation, column) = match c.rsplit_once('.') {
                        Some((r, c)) => (Some(Relation::parse(r)), c),
                        None => (None, *c),
                    };
                    ColumnUse { relation, column: column.into(), usage: ColumnUsage::Projection }
                })
                .collect(),
            functions: Vec::new(),
            unrestricted_writes: Vec::new(),
            limit: None,
            fingerprint: "f00d".into(),
            text: "SELECT 1".into(),
        },
        request: Request {
            client_address: None,
            justification: None,
            received_at_ms: 0,
            trace_id: "t".into(),
        },
        grants: Vec::new(),
        extensions: Vec::new(),
    }
}

fn rules(json: &str) -> Rules {
    Rules::from_json(json).unwrap()
}

/// `relation.column kind args` of each mask.
fn masks(d: &Decision) -> Vec<String> {
    d.column_masks
        .iter()
        .map(|m| {
            let kind = format!("{:?}", m.mask);
            let kind = kind.trim_start_matches("MaskKind::");
            format!("{}.{} {kind} {}", m.relation, m.column, m.args.join(","))
        })
        .collect()
}

#[test]
fn configured_columns_of_touched_relations_are_masked_even_when_unnamed() {
    let r = rules(CONFIG);
    // `SELECT * FROM customers`: the facts show only `*`.
    let d = evaluate(&r, &query(&[], &["r:customers"], &["customers.*"]), 0);
    assert!(d.is_allow());
    assert_eq!(
        masks(&d),
        vec!["customers.ssn Partial 0,4", "customers.email Email ", "customers.salary Bucket 1000"]
    );
    assert!(d.annotations.iter().any(|(k, v)| k == "columns" && v.contains("customers.ssn")));
    let d = evaluate(&r, &query(&[], &["r:payments"], &["payments.id"]), 0);
    assert_eq!(
        masks(&d),
        vec!["payments.card LastFour ", "payments.email Email ", "payments.salary Bucket 1000"]
    );
}

#[test]
fn most_specific_pattern_wins() {
    let r = rules(CONFIG);
    let d = evaluate(&r, &query(&[], &["r:hr.staff"], &[]), 0);
    assert_eq!(masks(&d)[0], "hr.staff.email Redact ");
    // An unqualified `staff` may be hr.staff: the qualified pattern applies too.
    let d = evaluate(&r, &query(&[], &["r:staff"], &[]), 0);
    assert_eq!(masks(&d)[0], "staff.email Redact ");
    let d = evaluate(&r, &query(&[], &["r:crm.staff"], &[]), 0);
    assert!(masks(&d).contains(&"crm.staff.email Email ".to_owned()));
}

#[test]
fn writes_and_every_relation_are_covered_once() {
    let r = rules(CONFIG);
    let d = evaluate(
        &r,
        &query(
            &[],
            &["r:customers", "w:customers", "r:public.orders"],
            &["customers.email", "public.orders.email"],
        ),
        0,
    );
    let m = masks(&d);
    assert_eq!(m.iter().filter(|s| s.starts_with("customers.email ")).count(), 1);
    assert!(m.contains(&"public.orders.email Email ".to_owned()));
    assert!(!m.iter().any(|s| s.starts_with("public.orders.ssn")));
}

#[test]
fn case_variants_named_by_the_statement_are_masked() {
    let r = rules(CONFIG);
    let d = evaluate(&r, &query(&[], &["r:Customers"], &["Customers.SSN"]), 0);
    let m = masks(&d);
    assert!(m.contains(&"Customers.ssn Partial 0,4".to_owned()), "{m:?}");
    assert!(m.contains(&"Customers.SSN Partial 0,4".to_owned()), "{m:?}");
    // Uses of relations the statement does not touch, or of unknown relations, add nothing.
    let d = evaluate(&r, &query(&[], &["r:products"], &["EMAIL", "other.Email"]), 0);
    assert_eq!(masks(&d), vec!["products.email Email ", "products.salary Bucket 1000"]);
}

#[test]
fn clear_roles_see_clear_values() {
    let r = rules(CONFIG);
    let d = evaluate(&r, &query(&["support-lead"], &["r:customers"], &["customers.ssn"]), 0);
    assert!(d.is_allow() && d.column_masks.is_empty());
    assert!(evaluate(&r, &query(&[], &[], &[]), 0).column_masks.is_empty());
}

#[test]
fn kinds_and_args_reach_the_decision() {
    let r = rules(r#"{"columns": {"t.a": "json-redact(k1,k2)", "t.b": "truncate-date(month)"}}"#);
    let d = evaluate(&r, &query(&[], &["r:t"], &[]), 0);
    assert_eq!(d.column_masks[0].mask, MaskKind::JsonRedact);
    assert_eq!(d.column_masks[0].args, vec!["k1".to_owned(), "k2".to_owned()]);
    assert_eq!(d.column_masks[1].mask, MaskKind::TruncateDate);
}

#[test]
fn bad_configs_are_refused() {
    assert!(Rules::from_json("").is_ok());
    for (bad, word) in [
        (r#"{"colums": {}}"#, "colums"),
        (r#"{"columns": {"email": "email"}}"#, "`email`"),
        (r#"{"columns": {"a.b.c.d": "email"}}"#, "a.b.c.d"),
        (r#"{"columns": {"t.*": "email"}}"#, "t.*"),
        (r#"{"columns": {"*.email": "emial"}}"#, "emial"),
        (r#"{"columns": {"t.ssn": "partial(4)"}}"#, "partial(4)"),
        (r#"{"columns": {"t.salary": "round(-3)"}}"#, "round(-3)"),
    ] {
        let err = Rules::from_json(bad).unwrap_err();
        assert!(err.contains(word), "{bad}: {err}");
    }
}
