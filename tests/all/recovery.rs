//! Database failures: killed connections and unreachable servers are answered with 502/503,
//! the service keeps serving, and the next request after recovery succeeds.

use std::time::Duration;

use mysql_async::prelude::Queryable as _;
use serde_json::json;

use crate::harness::{MyDatabase, PgSchema, Sluice};

fn is_failure_code(status: u16, body: &serde_json::Value) -> bool {
    matches!(
        (status, body["error"]["code"].as_str()),
        (502, Some("upstream_error")) | (503, Some("unavailable"))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_killed_mid_query() {
    let schema = PgSchema::new("").await;
    let sluice = std::sync::Arc::new(Sluice::with_datasource(&schema.datasource("pool_size = 2")).await);
    sluice.ok("SELECT 1", json!([])).await;

    let running = tokio::spawn({
        let sluice = std::sync::Arc::clone(&sluice);
        let schema_name = schema.name.clone();
        let sql = format!("SELECT pg_sleep(10), '{schema_name}' AS marker");
        async move { sluice.query(&sql, json!([])).await }
    });
    // Wait until the statement is running, then kill every backend of this test's pool.
    let mut killed = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let row = schema
            .client
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE query LIKE '%pg_sleep%' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()",
                &[&schema.name],
            )
            .await
            .unwrap();
        killed = row.get::<_, i64>(0);
        if killed > 0 {
            break;
        }
    }
    assert!(killed > 0, "the test query never showed up in pg_stat_activity");
    let (status, body) = running.await.unwrap();
    assert!(is_failure_code(status.as_u16(), &body), "{status}: {body}");

    let body = sluice.ok("SELECT 2 AS two", json!([])).await;
    assert_eq!(body["rows"], json!([[2]]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_connections_killed_mid_query() {
    let mut db = MyDatabase::new("").await;
    let sluice = std::sync::Arc::new(Sluice::with_datasource(&db.datasource("pool_size = 2")).await);
    sluice.ok("SELECT 1", json!([])).await;

    let running = tokio::spawn({
        let sluice = std::sync::Arc::clone(&sluice);
        async move { sluice.query("SELECT SLEEP(10)", json!([])).await }
    });
    let mut killed = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ids: Vec<u64> = db
            .conn
            .exec(
                "SELECT id FROM information_schema.processlist WHERE db = ? AND info LIKE 'SELECT SLEEP%'",
                (db.name.clone(),),
            )
            .await
            .unwrap();
        for id in &ids {
            db.conn.query_drop(format!("KILL {id}")).await.unwrap();
        }
        killed = ids.len();
        if killed > 0 {
            break;
        }
    }
    assert!(killed > 0, "the test query never showed up in the processlist");
    let (status, body) = running.await.unwrap();
    assert!(is_failure_code(status.as_u16(), &body), "{status}: {body}");

    let body = sluice.ok("SELECT 2 AS two", json!([])).await;
    assert_eq!(body["rows"], json!([[2]]));
}

#[tokio::test]
async fn unreachable_databases_are_unavailable_and_not_ready() {
    let toml =
        "kind = \"postgres\"\nurl = \"postgres://postgres@127.0.0.1:1/none\"\nconnect_timeout_ms = 500";
    let sluice = Sluice::with_datasource(toml).await;
    sluice.err("SELECT 1", json!([]), "unavailable").await;
    let (status, body) = sluice.get("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(body["datasources"]["app"], "unavailable");
    let (status, _) = sluice.get("/healthz").await;
    assert_eq!(status, 200, "the process itself is healthy");

    let toml = "kind = \"mysql\"\nurl = \"mysql://root@127.0.0.1:1/none\"\nconnect_timeout_ms = 500";
    let sluice = Sluice::with_datasource(toml).await;
    sluice.err("SELECT 1", json!([]), "unavailable").await;
}

#[tokio::test]
async fn ready_when_every_datasource_answers() {
    let schema = PgSchema::new("").await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let (status, body) = sluice.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"status": "ok", "datasources": {"app": "ok"}}));
}
