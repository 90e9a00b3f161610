//! The rewrite on a synthetic catalog: exact output text, parameter order per dialect, and the
//! refusals. End-to-end behaviour on real databases is in `tests/all/rewrite.rs` and the
//! adversarial suite.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::{RewriteError, RewriteInput, plan, rewrite};
use crate::analyse::{Dialect, RelationName, analyse};
use crate::auth::Principal;
use crate::execute::{Catalog, CatalogColumn, NameFolding, RelationInfo, RelationKind};
use crate::policy::{ChainOutcome, ColumnMask, MaskKind, ParamSource, RowFilter};

fn rel(schema: Option<&str>, name: &str) -> RelationName {
    RelationName { schema: schema.map(str::to_owned), name: name.to_owned() }
}

fn catalog(schema: &str, folding: NameFolding) -> Catalog {
    let columns = |names: &[(&str, &str)]| RelationInfo {
        kind: RelationKind::Table,
        columns: names
            .iter()
            .map(|(n, t)| CatalogColumn { name: (*n).into(), type_name: (*t).into(), nullable: true })
            .collect(),
    };
    let mut relations = BTreeMap::new();
    relations.insert(
        rel(Some(schema), "customers"),
        columns(&[("id", "int4"), ("tenant_id", "text"), ("email", "text")]),
    );
    relations.insert(rel(Some(schema), "notes"), columns(&[("id", "int4"), ("body", "text")]));
    Catalog { relations, search_path: vec![schema.into()], folding }
}

/// The synthetic catalog in `dialect`'s default schema and name folding.
fn dialect_catalog(dialect: Dialect) -> Catalog {
    match dialect {
        Dialect::Postgres => catalog("public", NameFolding::Exact),
        Dialect::MySql => catalog("app", NameFolding::Exact),
        Dialect::Sqlite => catalog("main", NameFolding::AsciiLower),
    }
}

fn outcome(predicate: &str) -> ChainOutcome {
    let mut outcome = ChainOutcome::allow();
    let customers = rel(None, "customers");
    outcome.row_filters.insert(
        customers.clone(),
        vec![RowFilter {
            plugin: "tenancy".into(),
            relation: customers.clone(),
            predicate: predicate.into(),
            params: vec![("tenant".into(), ParamSource::Attribute("tenant_id".into()))],
        }],
    );
    outcome.column_masks.insert(
        (customers.clone(), "email".into()),
        ColumnMask {
            plugin: "pii".into(),
            relation: customers,
            column: "email".into(),
            kind: MaskKind::Null,
            args: vec![],
        },
    );
    outcome
}

fn principal() -> Principal {
    Principal {
        id: "p".into(),
        roles: vec![],
        attributes: BTreeMap::from([("tenant_id".to_owned(), "7".to_owned())]),
    }
}

fn run(
    dialect: Dialect,
    sql: &str,
    params: Json,
    predicate: &str,
) -> Result<(String, Vec<Json>), RewriteError> {
    run_with(dialect, sql, params, predicate, &[])
}

/// [`run`], with masked columns the operator made writable.
fn run_with(
    dialect: Dialect,
    sql: &str,
    params: Json,
    predicate: &str,
    writable: &[(RelationName, String)],
) -> Result<(String, Vec<Json>), RewriteError> {
    let catalog = dialect_catalog(dialect);
    let analysis = analyse(dialect, sql).unwrap();
    let protection = plan(dialect, &outcome(predicate), &catalog, writable)?;
    let params = params.as_array().cloned().unwrap_or_default();
    let out = rewrite(RewriteInput {
        dialect,
        analysis: &analysis,
        catalog: &catalog,
        protection: &protection,
        principal: &principal(),
        params: &params,
        secret: None,
    })?;
    Ok((out.sql, out.params))
}

const FILTER: &str = "tenant_id = :tenant";

#[test]
fn postgres_wraps_the_table_keeps_the_alias_and_numbers_the_filter_after_the_caller() {
    let (sql, params) =
        run(Dialect::Postgres, "SELECT c.email FROM customers AS c WHERE c.id = $1", json!([5]), FILTER)
            .unwrap();
    assert_eq!(
        sql,
        "SELECT c.email FROM (SELECT \"id\", \"tenant_id\", CASE WHEN 1 = 0 THEN \"email\" END AS \"email\" \
         FROM \"public\".\"customers\" WHERE (tenant_id = $2) AND (\"id\" = $1) OFFSET 0) AS c WHERE c.id = $1"
    );
    assert_eq!(params, vec![json!(5), json!("7")]);
}

#[test]
fn mysql_parameters_follow_the_text_order() {
    let (sql, params) = run(
        Dialect::MySql,
        "SELECT id FROM notes WHERE id = ? AND EXISTS (SELECT 1 FROM customers WHERE id = ?)",
        json!([1, 2]),
        FILTER,
    )
    .unwrap();
    assert!(
        sql.contains(
            "FROM `app`.`customers` WHERE (tenant_id = ?) AND (`id` = ?) LIMIT 18446744073709551615"
        ),
        "{sql}"
    );
    // notes.id = ?, then inside the subquery's FROM the filter and the copy of the subquery's
    // condition (carrying the caller's second value), then the subquery's own ?.
    assert_eq!(params, vec![json!(1), json!("7"), json!(2), json!(2)]);
}

#[test]
fn sqlite_numbers_every_placeholder_explicitly() {
    let (sql, params) =
        run(Dialect::Sqlite, "SELECT id FROM customers WHERE id = ? OR id = ?1", json!([3]), FILTER).unwrap();
    assert!(
        sql.contains("WHERE (tenant_id = ?2) LIMIT -1 OFFSET 0) AS customers WHERE id = ?1 OR id = ?1"),
        "{sql}"
    );
    assert_eq!(params, vec![json!(3), json!("7")]);
}

#[test]
fn a_cte_named_like_the_table_is_not_the_table_but_its_body_is() {
    let (sql, _) = run(
        Dialect::Postgres,
        "WITH customers AS (SELECT * FROM customers) SELECT * FROM customers",
        json!([]),
        FILTER,
    )
    .unwrap();
    assert_eq!(sql.matches("\"public\".\"customers\"").count(), 1, "{sql}");
    assert!(sql.ends_with(") SELECT * FROM customers"), "{sql}");
}

#[test]
fn writes_get_the_filter_and_new_rows_are_checked() {
    let (sql, params) =
        run(Dialect::Postgres, "UPDATE customers AS c SET id = $1 WHERE id = 2", json!([3]), FILTER).unwrap();
    assert_eq!(
        sql,
        "UPDATE customers AS c SET id = $1 WHERE (c.tenant_id = $2) \
         AND CASE WHEN (c.tenant_id = $2) THEN (id = 2) ELSE false END"
    );
    assert_eq!(params, vec![json!(3), json!("7")]);
    let (sql, _) = run(Dialect::Postgres, "DELETE FROM customers", json!([]), FILTER).unwrap();
    assert_eq!(sql, "DELETE FROM customers WHERE (customers.tenant_id = $1)");

    run(
        Dialect::Postgres,
        "INSERT INTO customers (id, tenant_id) VALUES (1, '7'), ($1, $2)",
        json!([2, "7"]),
        FILTER,
    )
    .unwrap();
    for (sql, params) in [
        ("INSERT INTO customers (id, tenant_id) VALUES (1, '8')", json!([])),
        ("INSERT INTO customers (id, tenant_id) VALUES (1, $1)", json!([7.5])),
        ("INSERT INTO customers (id) VALUES (1)", json!([])),
        ("INSERT INTO customers (id, tenant_id) SELECT 1, '7'", json!([])),
        ("INSERT INTO customers (id, tenant_id) VALUES (1, '7') ON CONFLICT DO NOTHING", json!([])),
        ("UPDATE customers SET tenant_id = '8'", json!([])),
        ("UPDATE customers SET id = 1 RETURNING email", json!([])),
        ("DELETE FROM customers WHERE email IS NULL", json!([])),
    ] {
        assert!(
            matches!(run(Dialect::Postgres, sql, params, FILTER), Err(RewriteError::Refused(_))),
            "{sql}"
        );
    }
    // Without a column list, values follow the catalog's column order (and write the masked
    // column, which must be writable for that).
    let writable = [(rel(None, "customers"), "email".to_owned())];
    let insert = |sql: &str| run_with(Dialect::Postgres, sql, json!([]), FILTER, &writable);
    insert("INSERT INTO customers VALUES (1, '7', NULL)").unwrap();
    assert!(insert("INSERT INTO customers VALUES (1, '8', NULL)").is_err());
    // The same injected value bound twice keeps MySQL's positional list in step.
    let (sql, params) =
        run(Dialect::MySql, "UPDATE customers SET id = ? WHERE id = ?", json!([1, 2]), FILTER).unwrap();
    assert!(sql.ends_with("WHERE (customers.tenant_id = ?) AND CASE WHEN (customers.tenant_id = ?) THEN (id = ?) ELSE false END"), "{sql}");
    assert_eq!(params, vec![json!(1), json!("7"), json!("7"), json!(2)]);
    // MySQL's REPLACE and SQLite's INSERT / UPDATE OR REPLACE can delete another tenant's row.
    assert!(
        run(Dialect::Sqlite, "UPDATE OR REPLACE customers SET id = 9 WHERE id = 2", json!([]), FILTER)
            .is_err()
    );
    assert!(
        run(Dialect::MySql, "REPLACE INTO customers (id, tenant_id) VALUES (1, '7')", json!([]), FILTER)
            .is_err()
    );
    assert!(
        run(
            Dialect::Sqlite,
            "INSERT OR REPLACE INTO customers (id, tenant_id) VALUES (1, '7')",
            json!([]),
            FILTER
        )
        .is_err()
    );
}

#[test]
fn filters_outside_the_grammar_are_refused_naming_the_plugin() {
    for predicate in [
        "tenant_id IN (SELECT tenant_id FROM notes)",
        "nosuch = :tenant",
        "tenant_id = :undeclared",
        "pg_sleep(1) IS NULL",
        "tenant_id = :tenant; DROP TABLE notes",
        "1 / 0 = 1",
    ] {
        match run(Dialect::Postgres, "SELECT id FROM customers", json!([]), predicate) {
            Err(RewriteError::BadFilter { plugin, .. }) => assert_eq!(plugin, "tenancy"),
            other => panic!("{predicate}: {other:?}"),
        }
    }
}

#[test]
fn a_missing_attribute_refuses_rather_than_binding_nothing() {
    let catalog = catalog("public", NameFolding::Exact);
    let analysis = analyse(Dialect::Postgres, "SELECT id FROM customers").unwrap();
    let protection = plan(Dialect::Postgres, &outcome(FILTER), &catalog, &[]).unwrap();
    let nobody = Principal { id: "x".into(), roles: vec![], attributes: BTreeMap::new() };
    let result = rewrite(RewriteInput {
        dialect: Dialect::Postgres,
        analysis: &analysis,
        catalog: &catalog,
        protection: &protection,
        principal: &nobody,
        params: &[],
        secret: None,
    });
    assert!(
        matches!(result, Err(RewriteError::MissingAttribute { attribute, .. }) if attribute == "tenant_id")
    );
}

#[test]
fn leak_channels_and_unwrappable_reads_are_refused() {
    for sql in [
        "SELECT id, id, id FROM notes UNION TABLE customers",
        "EXPLAIN SELECT * FROM customers",
        "SELECT pg_sleep(1) FROM customers",
        "SELECT id FROM customers WHERE 1 / (id - 3) > 0",
        "SELECT email::int FROM customers",
        "WITH d AS (DELETE FROM customers RETURNING id) SELECT * FROM d",
        "SELECT * FROM ONLY customers",
    ] {
        assert!(
            matches!(run(Dialect::Postgres, sql, json!([]), FILTER), Err(RewriteError::Refused(_))),
            "{sql}"
        );
    }
    // A schema-qualified column of an unaliased schema-qualified table names the derived table.
    let (sql, _) =
        run(Dialect::Postgres, "SELECT public.customers.id FROM public.customers", json!([]), FILTER)
            .unwrap();
    assert!(sql.starts_with("SELECT customers.id FROM (SELECT"), "{sql}");
    // Division by a literal and casts to text are fine.
    run(Dialect::Postgres, "SELECT id / 2, email::text FROM customers", json!([]), FILTER).unwrap();
}

#[test]
fn unknown_columns_are_found_but_aliases_system_and_outer_columns_are_not() {
    let catalog = catalog("app", NameFolding::Exact);
    let unknown =
        |sql: &str| super::unknown_column(Dialect::MySql, &catalog, &analyse(Dialect::MySql, sql).unwrap());
    assert_eq!(unknown("SELECT nosuch FROM customers"), Some(("customers".into(), "nosuch".into())));
    assert_eq!(
        unknown("INSERT INTO notes (id, nosuch) VALUES (1, 2)"),
        Some(("notes".into(), "nosuch".into()))
    );
    assert_eq!(unknown("SELECT c.EMAIL FROM customers c"), None, "MySQL column names ignore case");
    assert_eq!(unknown("SELECT count(*) AS n FROM customers HAVING n > 1"), None);
    // `body` belongs to the outer query, though the analyser attributes it to customers.
    assert_eq!(
        unknown("SELECT id FROM notes WHERE EXISTS (SELECT 1 FROM customers WHERE email = body)"),
        None
    );
}

/// A write to `customers` (email masked) as tenant 7 on `dialect`: the rewritten text, or why
/// it was refused.
fn write(dialect: Dialect, sql: &str) -> Result<String, RewriteError> {
    let params = json!([]);
    run(dialect, sql, params, FILTER).map(|(sql, _)| sql)
}

#[test]
fn writes_see_their_target_only_through_unmasked_columns() {
    let pg = |sql: &str| write(Dialect::Postgres, sql);
    let long = "a".repeat(63);
    let refused = [
        // Whole-row forms of the target, in every clause.
        "UPDATE customers SET id = id WHERE id = 1 RETURNING concat(customers.*)".to_owned(),
        "UPDATE customers SET id = id WHERE id = 1 RETURNING to_jsonb(customers)".to_owned(),
        "UPDATE customers AS c SET id = 1 WHERE id = 1 RETURNING (c.*)::text".to_owned(),
        "UPDATE customers AS \"C\" SET id = 1 WHERE id = 1 RETURNING row_to_json(\"C\")".to_owned(),
        "UPDATE public.customers SET id = 1 WHERE id = 1 RETURNING public.customers.*".to_owned(),
        "UPDATE customers SET id = 1 WHERE id = 1 RETURNING (SELECT concat(x.*) FROM (SELECT customers.*) x)"
            .to_owned(),
        "UPDATE customers SET tenant_id = to_jsonb(customers.*) ->> 'email' WHERE id = 1".to_owned(),
        "UPDATE customers SET id = id WHERE id = 1 AND concat(customers.*) LIKE '%x%'".to_owned(),
        "DELETE FROM customers c WHERE (c).email LIKE 'a%'".to_owned(),
        "DELETE FROM customers WHERE email(customers) LIKE 'a%'".to_owned(),
        // The masked column itself, read anywhere.
        "UPDATE customers SET tenant_id = email WHERE id = 1".to_owned(),
        "UPDATE customers SET id = 1 WHERE id = 1 RETURNING customers.email".to_owned(),
        "DELETE FROM customers WHERE EXISTS (SELECT 1 WHERE email LIKE 'a%')".to_owned(),
        "UPDATE customers SET id = 1 RETURNING *".to_owned(),
        // Two spellings PostgreSQL reads as one alias (it keeps 63 bytes).
        format!("UPDATE customers AS {long}x SET id = 1 WHERE id = 1 RETURNING {long}y.email"),
        format!("UPDATE customers AS {long}x SET id = 1 WHERE id = 1 RETURNING row_to_json({long}y)"),
    ];
    for sql in &refused {
        assert!(matches!(pg(sql), Err(RewriteError::Refused(_))), "{sql}: {:?}", pg(sql));
    }
    // MySQL: which row an ORDER BY ... LIMIT update picks reveals the order of clear values.
    let my = write(
        Dialect::MySql,
        "UPDATE customers SET id = 9 WHERE id IN (1, 2) ORDER BY EMAIL LIKE 'a%' LIMIT 1",
    );
    assert!(matches!(my, Err(RewriteError::Refused(_))), "{my:?}");
    let lite = write(Dialect::Sqlite, "UPDATE customers SET id = 9 WHERE id = 1 RETURNING \"EMAIL\"");
    assert!(matches!(lite, Err(RewriteError::Refused(_))), "{lite:?}");

    // The caller's own rows, through unmasked columns, still work.
    for sql in [
        "UPDATE customers SET id = id + 1 WHERE id = 1 RETURNING id, customers.tenant_id",
        "UPDATE customers AS c SET id = 2 WHERE c.id = 1 AND c.tenant_id = '7' RETURNING c.id",
        "DELETE FROM customers WHERE id IN (SELECT n.id FROM notes AS n WHERE n.body LIKE 'x%') RETURNING id",
    ] {
        assert!(pg(sql).is_ok(), "{sql}: {:?}", pg(sql));
    }
    let my = write(Dialect::MySql, "UPDATE customers SET id = 9 WHERE id IN (1, 2) ORDER BY id DESC LIMIT 1");
    assert!(my.is_ok(), "{my:?}");
}

#[test]
fn masked_columns_are_not_writable_unless_the_operator_says_so() {
    for sql in [
        "UPDATE customers SET email = 'x' WHERE id = 1",
        "UPDATE customers SET \"email\" = NULL WHERE id = 1",
        "INSERT INTO customers (id, tenant_id, email) VALUES (1, '7', 'x')",
        "INSERT INTO customers VALUES (1, '7', 'x')",
    ] {
        assert!(matches!(write(Dialect::Postgres, sql), Err(RewriteError::MaskedWrite { .. })), "{sql}");
    }
    let sql = "INSERT INTO customers (id, tenant_id) VALUES (1, '7')";
    assert!(write(Dialect::Postgres, sql).is_ok(), "{sql}");

    let writable = [(rel(None, "customers"), "email".to_owned())];
    let with = |sql: &str| run_with(Dialect::Postgres, sql, json!([]), FILTER, &writable);
    for sql in [
        "UPDATE customers SET email = 'x' WHERE id = 1",
        "INSERT INTO customers (id, tenant_id, email) VALUES (1, '7', 'x')",
    ] {
        assert!(with(sql).is_ok(), "{sql}: {:?}", with(sql));
    }
    // Writable is not readable.
    let out = with("UPDATE customers SET email = email WHERE id = 1");
    assert!(matches!(out, Err(RewriteError::Refused(_))), "{out:?}");
}

/// Which caller conditions are copied inside the fence, where an index can serve them.
#[test]
fn safe_conditions_are_copied_inside_the_fence() {
    let inside = |dialect: Dialect, sql: &str, params: Json| {
        let (text, _) = run(dialect, sql, params, FILTER).unwrap();
        let start = text.find("WHERE (tenant_id").unwrap();
        let end = text[start..].find(" OFFSET 0").or_else(|| text[start..].find(" LIMIT")).unwrap();
        text[start..start + end].to_owned()
    };
    let pg = |sql: &str| {
        let params: Vec<Json> = (1..=sql.matches('$').count()).map(|n| json!(n)).collect();
        inside(Dialect::Postgres, sql, Json::Array(params))
    };
    assert_eq!(pg("SELECT id FROM customers WHERE id = $1"), "WHERE (tenant_id = $2) AND (\"id\" = $1)");
    assert_eq!(
        pg(
            "SELECT id FROM customers AS c WHERE c.id IN (1, $1) AND c.tenant_id IS NOT NULL AND id BETWEEN 1 AND 9"
        ),
        "WHERE (tenant_id = $2) AND (\"id\" IN (1, $1)) AND (\"tenant_id\" IS NOT NULL) AND (\"id\" BETWEEN 1 AND 9)"
    );
    // Not copied: a masked column, a computed value, a disjunction, another relation's
    // column, and anything under an outer join (a removed row would turn into a NULL one).
    for sql in [
        "SELECT id FROM customers WHERE email = 'x'",
        "SELECT id FROM customers WHERE id + 0 = 1",
        "SELECT id FROM customers WHERE id = 1 OR id = 2",
        "SELECT id FROM customers AS c WHERE c.id = (SELECT 1)",
        "SELECT c.id FROM notes n LEFT JOIN customers c ON c.id = n.id WHERE c.id = 1",
    ] {
        assert_eq!(pg(sql), "WHERE (tenant_id = $1)", "{sql}");
    }
    // A correlated subquery copies its own conditions only.
    assert_eq!(
        pg(
            "SELECT n.id FROM notes n WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = n.id AND c.id = 5)"
        ),
        "WHERE (tenant_id = $1) AND (\"id\" = 5)"
    );
    // MySQL and SQLite bind `?` by position: the copy is an injected parameter carrying the
    // caller's value, placed where the final text puts it.
    let (sql, params) =
        run(Dialect::MySql, "SELECT id FROM customers WHERE id = ? AND id IN (?, 3)", json!([5, 6]), FILTER)
            .unwrap();
    assert!(sql.contains("WHERE (tenant_id = ?) AND (`id` = ?) AND (`id` IN (?, 3)) LIMIT"), "{sql}");
    assert_eq!(params, vec![json!("7"), json!(5), json!(6), json!(5), json!(6)]);
    // SQLite numbers every placeholder: the copies are injected before the filter's value.
    let (sql, params) = run(
        Dialect::Sqlite,
        "SELECT id FROM customers WHERE id = ?1 AND tenant_id = ?2",
        json!([5, "7"]),
        FILTER,
    )
    .unwrap();
    assert!(sql.contains("WHERE (tenant_id = ?5) AND (\"id\" = ?3) AND (\"tenant_id\" = ?4) LIMIT"), "{sql}");
    assert!(sql.ends_with("WHERE id = ?1 AND tenant_id = ?2"), "{sql}");
    assert_eq!(params, vec![json!(5), json!("7"), json!(5), json!("7"), json!("7")], "{sql}");
}

/// `*` over `USING` / `NATURAL` joins lists the join columns once, first: the masked flags
/// follow the columns the database returns.
#[test]
fn output_masks_follow_using_joins() {
    let catalog = catalog("public", NameFolding::Exact);
    let protection = plan(Dialect::Postgres, &outcome(FILTER), &catalog, &[]).unwrap();
    for sql in ["SELECT * FROM notes JOIN customers USING (id)", "SELECT * FROM notes NATURAL JOIN customers"]
    {
        let analysis = analyse(Dialect::Postgres, sql).unwrap();
        let out = rewrite(RewriteInput {
            dialect: Dialect::Postgres,
            analysis: &analysis,
            catalog: &catalog,
            protection: &protection,
            principal: &principal(),
            params: &[],
            secret: None,
        })
        .unwrap();
        // id, body, tenant_id, email
        let masked: Vec<bool> = ["id", "body", "tenant_id", "email"]
            .iter()
            .enumerate()
            .map(|(i, name)| out.masks.mask(i, name).is_some())
            .collect();
        assert_eq!(masked, [false, false, false, true], "{sql}");
    }
}

/// A rewrite made for one principal and caller parameters, bound again for another, equals
/// the rewrite made for that other one: what the plan cache relies on to reuse reads.
#[test]
fn a_rewrite_rebound_for_another_request_equals_its_own_rewrite() {
    let statements = [
        (Dialect::Postgres, "SELECT id, email FROM customers WHERE id = $1 AND tenant_id <> $2"),
        (Dialect::MySql, "SELECT id, email FROM customers WHERE id = ? AND tenant_id IN (?, 'x')"),
        (
            Dialect::Sqlite,
            "SELECT c.id FROM customers c JOIN notes n ON n.id = c.id WHERE c.id = ?2 AND n.body = ?1",
        ),
    ];
    let filters = [FILTER, "tenant_id = :tenant OR tenant_id = :shared"];
    for (dialect, sql) in statements {
        for predicate in filters {
            let catalog = dialect_catalog(dialect);
            let analysis = analyse(dialect, sql).unwrap();
            let mut decided = outcome(predicate);
            for filters in decided.row_filters.values_mut() {
                filters[0].params.push(("shared".into(), ParamSource::Literal("0".into())));
            }
            let protection = plan(dialect, &decided, &catalog, &[]).unwrap();
            let once = |principal: &Principal, params: &[Json]| {
                rewrite(RewriteInput {
                    dialect,
                    analysis: &analysis,
                    catalog: &catalog,
                    protection: &protection,
                    principal,
                    params,
                    secret: None,
                })
                .unwrap()
            };
            let (first, second) = (
                principal(),
                Principal {
                    id: "q".into(),
                    roles: vec![],
                    attributes: BTreeMap::from([("tenant_id".to_owned(), "8".to_owned())]),
                },
            );
            let cached = once(&first, &[json!(1), json!("a")]);
            let own = once(&second, &[json!(2), json!("b")]);
            assert_eq!(cached.sql, own.sql, "{dialect:?} {sql}");
            assert_eq!(
                cached.rebind(&second, &[json!(2), json!("b")]),
                Some(own.params),
                "{dialect:?} {sql}"
            );
            let stranger = Principal { id: "s".into(), roles: vec![], attributes: BTreeMap::new() };
            assert_eq!(cached.rebind(&stranger, &[json!(2), json!("b")]), None, "a missing attribute");
        }
    }
}
