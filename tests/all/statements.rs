//! Statements reach the database meaning what the caller wrote, or are refused for the right
//! reason with one code per statement kind (issue 14's analyser half), on real databases.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{MyDatabase, PgSchema, Sluice, base_toml, plugin_toml, policy_toml};

const EVERY_KIND: &str = "statements = [\"read\", \"insert\", \"update\", \"delete\", \"ddl\", \"other\"]";

async fn postgres(setup: &str, extra: &str) -> (Sluice, PgSchema) {
    let schema = PgSchema::new(setup).await;
    let toml = format!("{}\n[datasources.app]\n{}\n{extra}", base_toml(), schema.datasource(EVERY_KIND));
    (Sluice::start(&toml, std::path::Path::new(".")).await, schema)
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("(none)")
}

#[tokio::test]
async fn legal_statements_run_on_postgres() {
    let (sluice, _schema) = postgres(
        "CREATE TABLE tab (x int, y text DEFAULT 'dflt'); INSERT INTO tab VALUES (1, 'one');
         CREATE MATERIALIZED VIEW mv AS SELECT x, y FROM tab",
        "",
    )
    .await;
    // Materialized views are relations of the catalog.
    let body = sluice.ok("SELECT x, y FROM mv", json!([])).await;
    assert_eq!(body["rows"], json!([[1, "one"]]), "{body}");
    // SET c = DEFAULT is the keyword, not a column.
    let body = sluice.ok("UPDATE tab SET y = DEFAULT WHERE x = 1", json!([])).await;
    assert_eq!(body["rows_affected"], json!(1), "{body}");
    // An alias column list renames by position.
    let body = sluice.ok("SELECT t.b FROM tab t (a, b) WHERE t.a = 1", json!([])).await;
    assert_eq!(body["rows"], json!([["dflt"]]), "{body}");
}

#[tokio::test]
async fn statement_kinds_get_one_answer_on_postgres() {
    let (sluice, _schema) = postgres("CREATE TABLE t (a int)", "").await;
    for sql in ["VACUUM t", "VACUUM ANALYZE t", "DO $$ BEGIN END $$", "ANALYZE t"] {
        let (status, body) = sluice.query(sql, json!([])).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "statement_not_allowed"), "{sql}: {body}");
    }
    // A system catalog is refused before it reaches the database, DDL and TRUNCATE included.
    for sql in ["TRUNCATE pg_catalog.pg_class", "TRUNCATE pg_class", "DROP TABLE information_schema.tables"] {
        let (status, body) = sluice.query(sql, json!([])).await;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "invalid_request"), "{sql}: {body}");
    }
    // The literal would change meaning if printed back: refused, never altered.
    let (status, body) = sluice.query("SELECT interval(0) '1 day 01:23:45.6789'", json!([])).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "statement_not_allowed"), "{body}");
}

/// A function that reads relations by name is refused on a datasource plugins judge, with a
/// message about the function, not about protected relations the statement never named.
#[tokio::test]
async fn hidden_reads_are_named_for_what_they_are() {
    let plugins = format!("{}{}", policy_toml(60_000), plugin_toml("allow", "test-allow", ""));
    let (sluice, _schema) = postgres("CREATE TABLE t (a int)", &plugins).await;
    let (status, body) = sluice.query("SELECT query_to_xml('SELECT 1', true, true, '')", json!([])).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "statement_not_allowed"), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("query_to_xml") && !message.contains("protected"), "{body}");
}

#[tokio::test]
async fn mysql_literals_and_modifiers_are_faithful_or_refused() {
    let db = MyDatabase::new(
        "CREATE TABLE t (a BIGINT UNSIGNED, b VARBINARY(8));
         CREATE TABLE u (k INT PRIMARY KEY, v INT); INSERT INTO u VALUES (1, 10), (2, 20)",
    )
    .await;
    let toml = format!("{}\n[datasources.app]\n{}", base_toml(), db.datasource(""));
    let sluice = Sluice::start(&toml, std::path::Path::new(".")).await;
    // 0x41 is 65 to MariaDB; sent as X'41' it would be a string (0 in arithmetic). Modifiers
    // out of MariaDB's order are a syntax error there, and refused here.
    for sql in [
        "SELECT 0x41 + 0",
        "INSERT INTO t (a) VALUES (0xffffffffffffffff)",
        "UPDATE IGNORE LOW_PRIORITY u SET v = 1",
    ] {
        let (status, body) = sluice.query(sql, json!([])).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "statement_not_allowed"), "{sql}: {body}");
    }
    // The X'..' spelling means the same on both sides, and runs.
    let body = sluice.ok("INSERT INTO t (b) VALUES (X'41')", json!([])).await;
    assert_eq!(body["rows_affected"], json!(1), "{body}");

    // The modifiers reach MariaDB: without IGNORE the key collision is an error, with it the
    // row is skipped (and still counted: `rows_affected` counts matched rows).
    let (status, body) = sluice.query("UPDATE u SET k = 2 WHERE k = 1", json!([])).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_GATEWAY, "upstream_error"), "{body}");
    let body = sluice.ok("UPDATE LOW_PRIORITY IGNORE u SET k = 2 WHERE k = 1", json!([])).await;
    assert_eq!(body["rows_affected"], json!(1), "{body}");
    let body = sluice.ok("SELECT k FROM u ORDER BY k", json!([])).await;
    assert_eq!(body["rows"], json!([[1], [2]]), "{body}");
    let body = sluice.ok("UPDATE LOW_PRIORITY u SET v = 11 WHERE k = 1", json!([])).await;
    assert_eq!(body["rows_affected"], json!(1), "{body}");
    let body = sluice.ok("DELETE QUICK IGNORE FROM u WHERE k = 2", json!([])).await;
    assert_eq!(body["rows_affected"], json!(1), "{body}");
    let body = sluice.ok("SELECT k, v FROM u ORDER BY k", json!([])).await;
    assert_eq!(body["rows"], json!([[1, 11]]), "{body}");
}
