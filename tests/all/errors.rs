//! Every documented refusal, end to end, on the embedded SQLite datasource.

use serde_json::json;

use crate::harness::{KEY, Sluice, assert_error};

async fn start(extra: &str) -> Sluice {
    let sluice = Sluice::with_datasource(&format!(
        "kind = \"sqlite\"\npath = \"t.db\"\nbootstrap = [\"init.sql\"]\nstatements = [\"read\", \"insert\", \"ddl\"]\n{extra}"
    ))
    .await;
    sluice.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", json!([])).await;
    sluice.ok("INSERT INTO t (v) VALUES ('a'), ('b'), ('c'), ('d'), ('e')", json!([])).await;
    sluice
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let sluice = start("").await;
    for body in [
        "{not json",
        "",
        "[]",
        r#"{"datasource": "app"}"#,
        r#"{"datasource": "app", "sql": "SELECT 1", "params": {}}"#,
        r#"{"datasource": "app", "sql": "SELECT 1", "parameters": []}"#,
    ] {
        let (status, response) = sluice.post(Some(KEY), body).await;
        assert_error(status, &response, "invalid_request");
    }
    let (status, response) =
        sluice.post(Some(KEY), json!({"datasource": "nope", "sql": "SELECT 1"}).to_string()).await;
    assert_error(status, &response, "invalid_request");
    assert!(response["error"]["message"].as_str().unwrap().contains("unknown datasource"));
    let message = sluice.err("SELECT * FROM t WHERE id = ?", json!([]), "invalid_request").await;
    assert!(message.contains("1 placeholder"), "{message}");
}

#[tokio::test]
async fn bad_credentials_are_unauthenticated_and_never_reach_the_database() {
    let sluice = start("").await;
    let body = json!({"datasource": "app", "sql": "INSERT INTO t (v) VALUES ('x')"}).to_string();
    for token in [None, Some(""), Some("sk_wrong"), Some("a.b.c"), Some("Bearer")] {
        let (status, response) = sluice.post(token, body.clone()).await;
        assert_error(status, &response, "unauthenticated");
    }
    let count = sluice.ok("SELECT count(*) FROM t", json!([])).await;
    assert_eq!(count["rows"][0][0], "5");
}

#[tokio::test]
async fn statements_that_are_not_one_plain_statement_are_refused() {
    let sluice = start("").await;
    sluice.err("SELECT 1; DELETE FROM t", json!([]), "sql_parse_error").await;
    sluice.err("SELECT 1; -- \n DROP TABLE t", json!([]), "sql_parse_error").await;
    sluice.err("SELEC 1", json!([]), "sql_parse_error").await;
    sluice.err("", json!([]), "sql_parse_error").await;
    sluice.err("PRAGMA writable_schema = 1", json!([]), "statement_not_allowed").await;
    sluice.err("ATTACH DATABASE '/tmp/x.db' AS x", json!([]), "statement_not_allowed").await;
    sluice.err("BEGIN", json!([]), "statement_not_allowed").await;
    // `delete` is not in this datasource's `statements`.
    let message = sluice.err("DELETE FROM t", json!([]), "statement_not_allowed").await;
    assert!(message.contains("delete"), "{message}");
    let count = sluice.ok("SELECT count(*) FROM t", json!([])).await;
    assert_eq!(count["rows"][0][0], "5", "nothing was changed");
}

#[tokio::test]
async fn oversized_requests_are_too_large() {
    let sluice = start("").await;
    let huge = format!(r#"{{"datasource": "app", "sql": "SELECT '{}'"}}"#, "x".repeat(70_000));
    let (status, response) = sluice.post(Some(KEY), huge).await;
    assert_error(status, &response, "too_large");
    let long_sql = format!("SELECT '{}'", "x".repeat(9000));
    sluice.err(&long_sql, json!([]), "too_large").await;
}

#[tokio::test]
async fn results_over_the_row_limit_are_rejected_by_default() {
    let sluice = start("max_rows = 3").await;
    let message = sluice.err("SELECT v FROM t", json!([]), "too_large").await;
    assert!(message.contains("3 rows"), "{message}");
    let body = sluice.ok("SELECT v FROM t ORDER BY id LIMIT 3", json!([])).await;
    assert_eq!(body["row_count"], 3);
    assert_eq!(body["truncated"], false);
}

#[tokio::test]
async fn truncation_when_configured_is_reported_never_silent() {
    let sluice = start("max_rows = 3\non_overflow = \"truncate\"").await;
    let body = sluice.ok("SELECT v FROM t ORDER BY id", json!([])).await;
    assert_eq!(body["rows"], json!([["a"], ["b"], ["c"]]));
    assert_eq!(body["truncated"], true);

    let sluice = start("max_response_bytes = 1024\non_overflow = \"truncate\"").await;
    let long = "x".repeat(400);
    sluice.ok("INSERT INTO t (v) VALUES (?), (?), (?), (?)", json!([long, long, long, long])).await;
    let body = sluice.ok("SELECT v FROM t WHERE length(v) = 400", json!([])).await;
    assert_eq!(body["truncated"], true);
    assert_eq!(body["row_count"], 2, "whole rows that fit in 1024 bytes of JSON");
}

#[tokio::test]
async fn too_many_parameters_are_too_large() {
    let sluice = start("").await;
    let body = serde_json::json!({"datasource": "app", "sql": "SELECT 1", "params": vec![1; 1001]});
    let (status, response) = sluice.post(Some(KEY), body.to_string()).await;
    assert_error(status, &response, "too_large");
}
