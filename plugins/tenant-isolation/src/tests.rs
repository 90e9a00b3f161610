//! Rule tests over whole queries, run natively:
//! `cargo test --target x86_64-unknown-linux-gnu -p tenant-isolation`.

use sluice_policy_sdk::{
    Access, Datasource, Decision, Dialect, Principal, Query, Relation, RelationAccess, Request, Statement,
    StatementKind, Verdict,
};

use crate::config::Rules;
use crate::rules::evaluate;

const CONFIG: &str = r#"{"attribute": "tenant_id",
    "tables": {"orders": "tenant_id", "public.customers": "tenant_id", "crm.leads": "org"},
    "default_column": null, "exempt_roles": ["platform-admin"]}"#;

/// A query by a principal with `roles` and `attributes` touching `relations` (`r:x` / `w:x`).
fn query(roles: &[&str], attributes: &[(&str, &str)], relations: &[&str]) -> Query {
    Query {
        principal: Principal {
            id: "alice".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            attributes: attributes.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
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

const TENANT: &[(&str, &str)] = &[("tenant_id", "7")];

/// `(relation, predicate)` of each filter.
fn filters(d: &Decision) -> Vec<(String, String)> {
    d.row_filters.iter().map(|f| (f.relation.to_string(), f.predicate.clone())).collect()
}

#[test]
fn every_tenant_table_is_filtered() {
    let r = rules(CONFIG);
    let d = evaluate(&r, &query(&[], TENANT, &["r:customers", "r:public.orders", "r:products"]), 0);
    assert!(d.is_allow());
    assert_eq!(
        filters(&d),
        vec![
            ("customers".to_owned(), "tenant_id = :tenant".to_owned()),
            ("public.orders".to_owned(), "tenant_id = :tenant".to_owned()),
        ]
    );
    let f = &d.row_filters[0];
    assert_eq!(f.params.len(), 1);
    assert_eq!(f.params[0].name, "tenant");
    assert!(matches!(&f.params[0].source, sluice_policy_sdk::ParamSource::Attribute(a) if a == "tenant_id"));
    assert!(d.annotations.contains(&("tables".to_owned(), "customers,public.orders".to_owned())));
}

#[test]
fn writes_are_filtered_once_per_relation() {
    let r = rules(CONFIG);
    let d = evaluate(&r, &query(&[], TENANT, &["r:orders", "w:orders"]), 0);
    assert_eq!(filters(&d), vec![("orders".to_owned(), "tenant_id = :tenant".to_owned())]);
    let d = evaluate(&r, &query(&[], TENANT, &["w:crm.leads"]), 0);
    assert_eq!(filters(&d), vec![("crm.leads".to_owned(), "org = :tenant".to_owned())]);
}

#[test]
fn schemas_and_case() {
    let r = rules(CONFIG);
    let has =
        |rel: &str| !evaluate(&r, &query(&[], TENANT, &[&format!("r:{rel}")]), 0).row_filters.is_empty();
    // Bare entries match any schema; qualified ones their schema, or an unqualified name.
    assert!(has("sales.orders"));
    assert!(has("public.customers"));
    assert!(has("customers"));
    assert!(!has("crm.customers"));
    assert!(has("leads"));
    assert!(!has("public.leads"));
    // Case-insensitive: filtering more is the safe side.
    assert!(has("ORDERS"));
    assert!(has("PUBLIC.Customers"));
    assert!(!has("orders_archive"));
}

#[test]
fn missing_attribute_is_denied_only_for_tenant_tables() {
    let r = rules(CONFIG);
    let d = evaluate(&r, &query(&[], &[("region", "eu")], &["r:orders"]), 0);
    match &d.verdict {
        Verdict::Deny(reason) => assert_eq!(reason, "no tenant_id attribute: tenant-scoped tables need one"),
        other => panic!("{other:?}"),
    }
    assert!(evaluate(&r, &query(&[], &[], &["r:products"]), 0).is_allow());
    assert!(evaluate(&r, &query(&[], &[], &[]), 0).is_allow());
}

#[test]
fn exempt_roles_get_no_filter() {
    let r = rules(CONFIG);
    let d = evaluate(&r, &query(&["platform-admin"], &[], &["r:orders"]), 0);
    assert!(d.is_allow() && d.row_filters.is_empty());
}

#[test]
fn default_column_covers_every_other_table() {
    let r = rules(r#"{"attribute": "org", "tables": {"orders": "tenant_id"}, "default_column": "org_id"}"#);
    let d = evaluate(&r, &query(&[], &[("org", "3")], &["r:orders", "r:products"]), 0);
    assert_eq!(
        filters(&d),
        vec![
            ("orders".to_owned(), "tenant_id = :tenant".to_owned()),
            ("products".to_owned(), "org_id = :tenant".to_owned()),
        ]
    );
}

#[test]
fn qualified_entries_win_over_bare_ones() {
    let r = rules(r#"{"tables": {"orders": "a", "sales.orders": "b"}}"#);
    let d = evaluate(&r, &query(&[], TENANT, &["r:sales.orders", "r:other.orders"]), 0);
    assert_eq!(
        filters(&d),
        vec![
            ("sales.orders".to_owned(), "b = :tenant".to_owned()),
            ("other.orders".to_owned(), "a = :tenant".to_owned()),
        ]
    );
}

#[test]
fn bad_configs_are_refused() {
    assert!(Rules::from_json("").is_ok());
    for (bad, word) in [
        (r#"{"tabels": {}}"#, "tabels"),
        (r#"{"tables": {"a.b.c": "t"}}"#, "a.b.c"),
        (r#"{"tables": {"orders": "tenant id"}}"#, "tenant id"),
        (r#"{"tables": {"orders": "t); drop"}}"#, "t); drop"),
        (r#"{"default_column": "1x"}"#, "1x"),
        (r#"{"attribute": ""}"#, "attribute"),
        (r#"{"tables": ["orders"]}"#, "expected a map"),
    ] {
        let err = Rules::from_json(bad).unwrap_err();
        assert!(err.contains(word), "{bad}: {err}");
    }
}
