//! Rewrite stage cost per statement: `plan` (resolve the chain's row filters and masks against
//! the catalog) plus `rewrite` (guard, wrap every protected FROM item, bind the injected values,
//! print, and the fixpoint check that re-analyses the final text), i.e. everything the gateway's
//! `prepare` does once the catalog is in hand. `analyse` alone is measured alongside for scale.
//!
//! Inputs are built once: a synthetic catalog (`customers`, `orders`), a chain outcome with a
//! tenant row filter on each table and `email` / `partial` masks, as `tenant-isolation` and
//! `pii-mask` would ask for.

// A benchmark whose setup fails should stop loudly, not be measured.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sluice_core::analyse::{Analysis, Dialect, RelationName, analyse};
use sluice_core::auth::Principal;
use sluice_core::execute::{Catalog, CatalogColumn, NameFolding, RelationInfo, RelationKind};
use sluice_core::policy::{ChainOutcome, ColumnMask, MaskKind, ParamSource, RowFilter};
use sluice_core::rewrite::{RewriteInput, Rewritten, plan, rewrite};

/// `(name, PostgreSQL text, caller's parameters)`.
const STATEMENTS: [(&str, &str, &[&str]); 5] = [
    ("point_select", "SELECT id, email FROM customers WHERE id = $1", &["7"]),
    ("select_star", "SELECT * FROM customers WHERE id = $1", &["7"]),
    (
        "join",
        "SELECT c.name, c.email, o.total FROM customers AS c JOIN orders AS o ON o.customer_id = c.id \
         WHERE c.id = $1 ORDER BY o.placed_at DESC LIMIT 10",
        &["7"],
    ),
    (
        "cte_union",
        "WITH recent AS (SELECT customer_id, sum(total) AS spent FROM orders WHERE placed_at > $1 \
         GROUP BY customer_id) SELECT c.name, c.email FROM customers AS c JOIN recent AS r \
         ON r.customer_id = c.id UNION SELECT name, email FROM customers WHERE name = $2",
        &["2024-01-01", "Ann"],
    ),
    ("update", "UPDATE customers SET name = $1 WHERE id = $2", &["New", "7"]),
];

fn column(name: &str, type_name: &str) -> CatalogColumn {
    CatalogColumn { name: name.into(), type_name: type_name.into(), nullable: name != "id" }
}

fn relation(schema: &str, name: &str) -> RelationName {
    RelationName { schema: Some(schema.into()), name: name.into() }
}

/// What the connector would introspect: `customers` and `orders` in `schema`.
fn catalog(schema: &str, folding: NameFolding) -> Catalog {
    let table = |columns| RelationInfo { kind: RelationKind::Table, columns };
    let relations = BTreeMap::from([
        (
            relation(schema, "customers"),
            table(vec![
                column("id", "int4"),
                column("tenant_id", "text"),
                column("name", "text"),
                column("email", "text"),
                column("ssn", "text"),
            ]),
        ),
        (
            relation(schema, "orders"),
            table(vec![
                column("id", "int4"),
                column("tenant_id", "text"),
                column("customer_id", "int4"),
                column("total", "numeric"),
                column("placed_at", "timestamptz"),
                column("status", "text"),
            ]),
        ),
    ]);
    Catalog { relations, search_path: vec![schema.into()], folding }
}

/// A tenant filter on both tables; `email` and `partial(0,4)` masks on customers.
fn outcome() -> ChainOutcome {
    let unqualified = |name: &str| RelationName { schema: None, name: name.into() };
    let filter = |name: &str| RowFilter {
        plugin: "tenancy".into(),
        relation: unqualified(name),
        predicate: "tenant_id = :tenant".into(),
        params: vec![("tenant".into(), ParamSource::Attribute("tenant_id".into()))],
    };
    let mask = |column: &str, kind, args: &[&str]| {
        (
            (unqualified("customers"), column.to_string()),
            ColumnMask {
                plugin: "pii".into(),
                relation: unqualified("customers"),
                column: column.into(),
                kind,
                args: args.iter().map(|a| a.to_string()).collect(),
            },
        )
    };
    let mut outcome = ChainOutcome::allow();
    outcome.row_filters = ["customers", "orders"].map(|t| (unqualified(t), vec![filter(t)])).into();
    outcome.column_masks =
        BTreeMap::from([mask("email", MaskKind::Email, &[]), mask("ssn", MaskKind::Partial, &["0", "4"])]);
    outcome.plugins = vec!["tenancy".into(), "pii".into()];
    outcome
}

fn params(values: &[&str]) -> Vec<Value> {
    values.iter().map(|v| v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n))).collect()
}

/// What the gateway's `prepare` does once it has the catalog: `plan`, then `rewrite`.
fn protect(
    dialect: Dialect,
    analysis: &Analysis,
    catalog: &Catalog,
    outcome: &ChainOutcome,
    principal: &Principal,
    params: &[Value],
) -> Rewritten {
    let protection = plan(dialect, outcome, catalog, &[]).expect("plan");
    let input =
        RewriteInput { dialect, analysis, catalog, protection: &protection, principal, params, secret: None };
    rewrite(input).expect("rewrite")
}

fn bench(c: &mut Criterion) {
    let principal = Principal {
        id: "bench".into(),
        roles: vec!["analyst".into()],
        attributes: [("tenant_id".to_string(), "3".to_string())].into(),
    };
    let outcome = outcome();
    let postgres = catalog("public", NameFolding::Exact);
    let mysql = catalog("app", NameFolding::Exact);
    let sqlite = catalog("main", NameFolding::AsciiLower);

    let mut cases: Vec<(Dialect, &str, String, &Catalog, Vec<Value>)> = STATEMENTS
        .iter()
        .map(|(name, sql, values)| (Dialect::Postgres, *name, sql.to_string(), &postgres, params(values)))
        .collect();
    // One shape on the `?` dialects: the injected tenant value must sit between the caller's
    // parameters in text order, so binding renumbers instead of appending.
    let point = "SELECT id, email FROM customers WHERE id = ?";
    cases.push((Dialect::MySql, "point_select", point.into(), &mysql, params(&["7"])));
    cases.push((Dialect::Sqlite, "point_select", point.into(), &sqlite, params(&["7"])));

    let mut group = c.benchmark_group("rewrite");
    for (dialect, name, sql, catalog, params) in &cases {
        let analysis = analyse(*dialect, sql).expect("analyse");
        let run = || protect(*dialect, &analysis, catalog, &outcome, &principal, params);
        // Fail before measuring if the statement is refused.
        let rewritten = run().sql;
        assert_ne!(rewritten, analysis.sql, "{name}: nothing was rewritten");
        eprintln!("{}/{name}: {} -> {} bytes", dialect.name(), sql.len(), rewritten.len());
        let id = |what: &str| BenchmarkId::new(format!("{}/{what}", dialect.name()), name);
        group.bench_with_input(id("plan+rewrite"), sql, |b, _| b.iter(run));
        group.bench_with_input(id("analyse"), sql, |b, sql| b.iter(|| analyse(*dialect, sql)));
        // The fixpoint check re-analyses the final text: most of the rewrite's cost.
        group.bench_with_input(id("analyse-rewritten"), &rewritten, |b, sql| {
            b.iter(|| analyse(*dialect, sql))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
