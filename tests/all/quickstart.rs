//! The quickstart configuration, as shipped, on a fresh copy of its SQLite database.

use serde_json::json;

use crate::harness::{Sluice, TempDir, repo};

/// Starts the shipped quickstart configuration in a temporary copy of its folder.
pub async fn quickstart() -> (Sluice, TempDir) {
    let dir = TempDir::new();
    let src = repo().join("examples/quickstart");
    for file in ["schema.sql", "seed.sql"] {
        std::fs::copy(src.join(file), dir.path().join(file)).unwrap();
    }
    let toml = std::fs::read_to_string(src.join("sluice.toml")).unwrap();
    (Sluice::start(&toml, dir.path()).await, dir)
}

pub const QUICKSTART_KEY: &str = "sk_quickstart_do_not_use_in_production";

#[tokio::test]
async fn quickstart_database_is_bootstrapped_and_typed() {
    let (sluice, _dir) = quickstart().await;
    let body = json!({"datasource": "app", "sql": "SELECT id, name, email, created_at FROM customers WHERE tenant_id = ? ORDER BY id", "params": [2]});
    let (status, body) = sluice.post(Some(QUICKSTART_KEY), body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["row_count"], 2);
    assert_eq!(body["columns"][0], json!({"name": "id", "type": "int8", "masked": false}));
    assert_eq!(body["rows"][0], json!(["3", "Ada Lovelace", "ada@globex.example", "2024-03-10 11:15:00"]));
    assert_eq!(body["command"], "SELECT");
    assert_eq!(body["truncated"], false);
    assert_eq!(body["rows_affected"], json!(null));
}

#[tokio::test]
async fn quickstart_restart_keeps_data_and_does_not_rerun_bootstrap() {
    let (sluice, dir) = quickstart().await;
    let insert = json!({"datasource": "app", "sql": "INSERT INTO tenants (id, name) VALUES (?, ?)", "params": [3, "Initech"]});
    let (status, body) = sluice.post(Some(QUICKSTART_KEY), insert.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows_affected"], 1);
    drop(sluice);
    let toml = std::fs::read_to_string(repo().join("examples/quickstart/sluice.toml")).unwrap();
    let again = Sluice::start(&toml, dir.path()).await;
    let count = json!({"datasource": "app", "sql": "SELECT count(*) AS n FROM tenants"});
    let (status, body) = again.post(Some(QUICKSTART_KEY), count.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"][0][0], "3");
}

#[tokio::test]
async fn sqlite_values_round_trip_exactly() {
    let sluice = Sluice::with_datasource("kind = \"sqlite\"\npath = \"t.db\"\nbootstrap = [\"init.sql\"]\nstatements = [\"read\", \"insert\", \"ddl\"]").await;
    sluice.ok("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n NUMERIC, ok BOOLEAN)", json!([])).await;
    sluice
        .ok(
            "INSERT INTO t VALUES (?, ?, ?, X'00FF10', ?, ?), (NULL, NULL, NULL, NULL, NULL, NULL)",
            json!([i64::MAX, 0.1, "héllo \u{1F600} 'q' \\", "12.50", true]),
        )
        .await;
    let body = sluice.ok("SELECT i, r, s, b, n, ok FROM t ORDER BY i IS NULL", json!([])).await;
    let types: Vec<_> = body["columns"].as_array().unwrap().iter().map(|c| c["type"].clone()).collect();
    assert_eq!(
        types,
        vec![json!("int8"), json!("float8"), json!("text"), json!("bytes"), json!("numeric"), json!("bool")]
    );
    // NUMERIC affinity: SQLite itself stores '12.50' as the number 12.5.
    assert_eq!(
        body["rows"][0],
        json!(["9223372036854775807", 0.1, "héllo \u{1F600} 'q' \\", "AP8Q", "12.5", true])
    );
    assert_eq!(body["rows"][1], json!([null, null, null, null, null, null]));
}
