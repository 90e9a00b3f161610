//! The guardrails plugin (`plugins/dist/guardrails.wasm`) end to end on real PostgreSQL and
//! MariaDB: what it denies never reaches the database, what it allows runs.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{MyDatabase, PgSchema, Sluice, assert_error, plugin_toml, policy_toml};

/// The datasource accepts DDL, so it is guardrails that refuses it; the test principal has the
/// role `analyst`, which may use `items` only; updates of `items` need approval.
fn extra() -> String {
    let config = "config = { tables = [{ role = \"analyst\", allow = [\"items\"] }, \
                  { role = \"auditor\", allow = [\"secrets\"] }], require_approval = [{ when = { kinds = \
                  [\"update\"], relations = [\"items\"] }, reason = \"updating items needs a DBA\", \
                  approvers = [\"dba\"], duration_secs = 900 }] }";
    format!(
        "statements = [\"read\", \"insert\", \"update\", \"delete\", \"ddl\"]\n{}{}",
        policy_toml(0),
        plugin_toml("guardrails", "guardrails", config)
    )
}

const SETUP: &str = "CREATE TABLE items (id int PRIMARY KEY, v varchar(10)); \
                     INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c'); \
                     CREATE TABLE secrets (id int); INSERT INTO secrets VALUES (1)";

async fn denied(sluice: &Sluice, sql: &str, params: Value, parts: &[&str]) {
    let (status, body) = sluice.query(sql, params).await;
    assert_error(status, &body, "policy_denied");
    let message = body["error"]["message"].as_str().unwrap();
    for part in ["`guardrails`"].iter().chain(parts) {
        assert!(message.contains(part), "{sql}: {part:?} not in {message:?}");
    }
}

/// The statements both databases share, with `p` the dialect's first placeholder; `count` reads
/// `items`' row count and `value(id)` its `v` directly from the database.
async fn guardrails_end_to_end(sluice: &Sluice, p: &str, catalogs: &[&str]) {
    for ddl in ["DROP TABLE items", "CREATE TABLE x (id int)", "ALTER TABLE items ADD COLUMN w int"] {
        denied(sluice, ddl, json!([]), &["DDL statements are not allowed"]).await;
    }
    for unrestricted in ["DELETE FROM items", "DELETE FROM items WHERE 1=1"] {
        denied(sluice, unrestricted, json!([]), &["DELETE on items must have a WHERE clause"]).await;
    }
    denied(sluice, "UPDATE items SET v = 'z'", json!([]), &["UPDATE on items must have a WHERE clause"])
        .await;
    for catalog in catalogs {
        denied(sluice, catalog, json!([]), &["system catalog"]).await;
    }
    denied(
        sluice,
        "SELECT id FROM secrets",
        json!([]),
        &["secrets is not among the tables your roles may use"],
    )
    .await;

    let (status, body) = sluice.query(&format!("UPDATE items SET v = 'z' WHERE id = {p}"), json!([2])).await;
    assert_error(status, &body, "approval_required");
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["approval"]["reasons"], json!(["updating items needs a DBA"]), "{body}");
    assert_eq!(body["approval"]["plugins"], json!(["guardrails"]), "{body}");
    assert_eq!(body["approval"]["suggested_duration_seconds"], 900, "{body}");

    let body = sluice.ok(&format!("DELETE FROM items WHERE id = {p}"), json!([1])).await;
    assert_eq!(body["rows_affected"], 1, "{body}");
    let body = sluice.ok("SELECT id, v FROM items ORDER BY id", json!([])).await;
    assert_eq!(body["row_count"], 2, "{body}");
    assert_eq!(body["rows"][0][1], "b", "the update awaiting approval did not run: {body}");
}

#[tokio::test]
async fn guardrails_on_postgres() {
    let schema = PgSchema::new(SETUP).await;
    let sluice = Sluice::with_datasource(&schema.datasource(&extra())).await;
    let catalogs = [
        "SELECT * FROM pg_catalog.pg_class",
        "SELECT relname FROM pg_class",
        "SELECT table_name FROM information_schema.tables",
    ];
    guardrails_end_to_end(&sluice, "$1", &catalogs).await;

    // The database itself: every denied statement left it alone.
    let q = |sql: String| {
        let client = &schema.client;
        async move { client.query_one(&sql, &[]).await.unwrap() }
    };
    let n: i64 = q(format!("SELECT count(*) FROM {}.items", schema.name)).await.get(0);
    assert_eq!(n, 2);
    let v: String = q(format!("SELECT v FROM {}.items WHERE id = 2", schema.name)).await.get(0);
    assert_eq!(v, "b");
    let columns: i64 = q(format!(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = '{}' AND table_name = 'items'",
        schema.name
    ))
    .await
    .get(0);
    assert_eq!(columns, 2, "ALTER TABLE never ran");
    let tables: i64 =
        q(format!("SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}'", schema.name))
            .await
            .get(0);
    assert_eq!(tables, 2, "no table was dropped or created");
}

#[tokio::test]
async fn guardrails_on_mariadb() {
    use mysql_async::prelude::Queryable as _;
    let mut db = MyDatabase::new(SETUP).await;
    let sluice = Sluice::with_datasource(&db.datasource(&extra())).await;
    let catalogs = ["SELECT table_name FROM information_schema.tables", "SELECT user FROM mysql.user"];
    guardrails_end_to_end(&sluice, "?", &catalogs).await;

    let name = db.name.clone();
    let n: Option<i64> = db.conn.query_first(format!("SELECT count(*) FROM {name}.items")).await.unwrap();
    assert_eq!(n, Some(2));
    let v: Option<String> =
        db.conn.query_first(format!("SELECT v FROM {name}.items WHERE id = 2")).await.unwrap();
    assert_eq!(v.as_deref(), Some("b"));
    let columns: Option<i64> = db
        .conn
        .query_first(format!(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = '{name}' AND table_name = 'items'"
        ))
        .await
        .unwrap();
    assert_eq!(columns, Some(2), "ALTER TABLE never ran");
    let tables: Option<i64> = db
        .conn
        .query_first(format!("SELECT count(*) FROM information_schema.tables WHERE table_schema = '{name}'"))
        .await
        .unwrap();
    assert_eq!(tables, Some(2), "no table was dropped or created");
}
