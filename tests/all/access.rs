//! Just-in-time access end to end: a real plugin (`test-approval`: every statement on `app`
//! needs the approval of group `dba`) holds statements, the HTTP API files, reviews and
//! revokes, and the statement runs under the grant.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{
    KEY, KEY_TENANT_2, MyDatabase, PgSchema, Process, SQLITE, Sluice, TempDir, assert_error, base_toml,
    plugin_toml, policy_toml,
};

pub(crate) const DBA1: &str = "sk_test_access_dba_one";
const DBA2: &str = "sk_test_access_dba_two";
/// A principal who holds the approver role and asks for access themselves.
pub(crate) const SELFISH: &str = "sk_test_access_dba_asking";
/// A principal with the break-glass role `oncall`.
pub(crate) const ONCALL: &str = "sk_test_access_oncall";
/// A principal with the role `security` only.
const SECURITY: &str = "sk_test_access_security";

/// API keys for two approvers and an approver who also asks.
fn approver_keys() -> String {
    let key = |id: &str, token: &str| {
        format!(
            "\n[[auth.api_keys]]\nid = \"{id}\"\nhash = \"{}\"\nroles = [\"dba\", \"admin\"]\n",
            sluice_core::auth::hash_api_key(token)
        )
    };
    let oncall = format!(
        "\n[[auth.api_keys]]\nid = \"oncall\"\nhash = \"{}\"\nroles = [\"oncall\"]\n\
         \n[[auth.api_keys]]\nid = \"sec\"\nhash = \"{}\"\nroles = [\"security\"]\n",
        sluice_core::auth::hash_api_key(ONCALL),
        sluice_core::auth::hash_api_key(SECURITY)
    );
    format!("{}{}{}{oncall}", key("dba1", DBA1), key("dba2", DBA2), key("selfish", SELFISH))
}

/// Configuration: datasource `app` (`datasource`) judged by `test-approval`, datasource `free`
/// (SQLite) judged by nothing, and `[access]` with `access`.
pub(crate) fn config(datasource: &str, access: &str) -> String {
    format!(
        "{}{}\n[datasources.app]\n{datasource}\n[datasources.free]\n{SQLITE}\n{}{}\n[access]\n{access}\n",
        base_toml(),
        approver_keys(),
        policy_toml(0),
        plugin_toml("approval", "test-approval", "datasources = [\"app\"]"),
    )
}

/// Starts Sluice in `dir` (SQLite `app` with table `t`), keeping `dir`.
async fn start_in(dir: &Path, access: &str) -> Sluice {
    std::fs::write(dir.join("init.sql"), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n").unwrap();
    Sluice::start(&config(SQLITE, access), dir).await
}

async fn run(sluice: &Sluice, token: &str, sql: &str) -> (StatusCode, Value) {
    let body = json!({"datasource": "app", "sql": sql, "params": [], "justification": "ticket 7"});
    sluice.call("POST", "/v1/query", token, Some(body)).await
}

/// Sends `sql` as the default principal, asserts `202`, and returns the filed request.
async fn held(sluice: &Sluice, sql: &str) -> Value {
    let (status, body) = run(sluice, KEY, sql).await;
    assert_error(status, &body, "approval_required");
    let request = body["approval"]["request"].clone();
    assert_eq!(request["status"], "pending", "{body}");
    assert_eq!(request["principal"], "tester");
    request
}

async fn review(sluice: &Sluice, token: &str, id: &str, decision: &str) -> (StatusCode, Value) {
    let path = format!("/v1/access-requests/{id}/{decision}");
    sluice.call("POST", &path, token, Some(json!({"comment": "looked at it"}))).await
}

#[tokio::test]
async fn ask_approve_run_once_and_refuse_the_replay() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "approvers = [\"dba\"]").await;
    let insert = "INSERT INTO t (id, v) VALUES (1, 'a')";
    let request = held(&sluice, insert).await;
    let id = request["id"].as_str().unwrap().to_string();
    assert_eq!(request["statement"]["kind"], "insert");
    assert_eq!(request["statement"]["relations"], json!(["t"]));
    assert_eq!(request["approver_groups"], json!(["dba"]));
    assert_eq!(request["reasons"], json!(["needs a human"]));
    assert_eq!(request["justification"], "ticket 7");
    assert_eq!(request["duration_seconds"], 3600);

    // Asking again joins the pending request.
    assert_eq!(held(&sluice, insert).await["id"], id.as_str());

    // The requester and the approvers see it; another principal does not learn it exists.
    let path = format!("/v1/access-requests/{id}");
    assert_eq!(sluice.call("GET", &path, KEY, None).await.0, StatusCode::OK);
    assert_eq!(sluice.call("GET", &path, DBA1, None).await.0, StatusCode::OK);
    let (status, body) = sluice.call("GET", &path, KEY_TENANT_2, None).await;
    assert_error(status, &body, "not_found");
    let (status, body) = review(&sluice, KEY_TENANT_2, &id, "approve").await;
    assert_error(status, &body, "not_found");
    // The requester cannot approve (not an approver here).
    let (status, body) = review(&sluice, KEY, &id, "approve").await;
    assert_error(status, &body, "forbidden");

    let (status, listed) = sluice.call("GET", "/v1/access-requests?scope=review", DBA1, None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["requests"][0]["id"], id.as_str());

    let (status, approved) = review(&sluice, DBA1, &id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["reviews"][0]["reviewer"], "dba1");
    // Listings filter by status and scope.
    let ids = |body: &Value| -> Vec<String> {
        body["requests"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
    };
    let (_, mine) = sluice.call("GET", "/v1/access-requests?scope=mine&status=approved", KEY, None).await;
    assert_eq!(ids(&mine), vec![id.clone()]);
    let (_, theirs) = sluice.call("GET", "/v1/access-requests?scope=mine", DBA1, None).await;
    assert!(ids(&theirs).is_empty(), "{theirs}");
    let (_, pending) = sluice.call("GET", "/v1/access-requests?status=pending", DBA1, None).await;
    assert!(!ids(&pending).contains(&id), "{pending}");
    let (_, to_review) = sluice.call("GET", "/v1/access-requests?scope=review", DBA1, None).await;
    assert!(ids(&to_review).is_empty(), "decided: {to_review}");
    assert_eq!(approved["reviews"][0]["comment"], "looked at it");
    let grant_id = approved["grant_id"].as_str().unwrap().to_string();
    let (status, body) = review(&sluice, DBA2, &id, "approve").await;
    assert_error(status, &body, "conflict");

    // Another statement, even of the same shape, is not covered: it is held again.
    let other = held(&sluice, "INSERT INTO t (id, v) VALUES (2, 'b')").await;
    assert_ne!(other["id"], id.as_str());
    let (status, _) = run(&sluice, KEY, "DELETE FROM t WHERE id = 1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Nor does it cover another principal.
    let (status, _) = run(&sluice, KEY_TENANT_2, insert).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let (status, body) = run(&sluice, KEY, insert).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows_affected"], 1);
    let (status, body) = run(&sluice, KEY, insert).await;
    assert_error(status, &body, "conflict");
    assert!(body["error"]["message"].as_str().unwrap().contains(&grant_id), "{body}");

    let (status, grants) = sluice.call("GET", "/v1/grants?all=true", KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{grants}");
    let grant = grants["grants"].as_array().unwrap().iter().find(|g| g["id"] == grant_id.as_str()).unwrap();
    assert!(grant["used_at_ms"].is_i64(), "{grant}");
    assert_eq!(grant["approved_by"], json!(["dba1"]));
    let (_, live) = sluice.call("GET", "/v1/grants", KEY, None).await;
    assert!(live["grants"].as_array().unwrap().iter().all(|g| g["id"] != grant_id.as_str()), "{live}");
}

#[tokio::test]
async fn nobody_approves_their_own_request_whatever_their_roles() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "").await;
    let (status, body) = run(&sluice, SELFISH, "DELETE FROM t").await;
    assert_error(status, &body, "approval_required");
    let id = body["approval"]["request"]["id"].as_str().unwrap().to_string();
    let (status, body) = review(&sluice, SELFISH, &id, "approve").await;
    assert_error(status, &body, "forbidden");
    assert!(body["error"]["message"].as_str().unwrap().contains("own"), "{body}");
    let (status, body) = sluice.call("GET", &format!("/v1/access-requests/{id}"), SELFISH, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "pending");
    assert_eq!(body["reviews"], json!([]));
}

#[tokio::test]
async fn two_approvals_when_configured_and_one_rejection_ends_it() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "min_approvals = 2").await;
    let insert = "INSERT INTO t (id, v) VALUES (5, 'e')";
    let id = held(&sluice, insert).await["id"].as_str().unwrap().to_string();
    let (status, body) = review(&sluice, DBA1, &id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["min_approvals"], 2);
    let (status, body) = review(&sluice, DBA1, &id, "approve").await;
    assert_error(status, &body, "conflict");
    let (status, _) = run(&sluice, KEY, insert).await;
    assert_eq!(status, StatusCode::ACCEPTED, "one approval of two grants nothing");
    let (status, body) = review(&sluice, DBA2, &id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "approved");
    let (status, body) = run(&sluice, KEY, insert).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let delete = "DELETE FROM t WHERE id = 5";
    let id = held(&sluice, delete).await["id"].as_str().unwrap().to_string();
    let (status, body) = review(&sluice, DBA1, &id, "reject").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected");
    let (status, body) = review(&sluice, DBA2, &id, "approve").await;
    assert_error(status, &body, "conflict");
    // Sent again, it is a new request: the rejected one stays rejected.
    assert_ne!(held(&sluice, delete).await["id"], id.as_str());
    let (status, _) = run(&sluice, KEY, "SELECT count(*) FROM t").await;
    assert_eq!(status, StatusCode::ACCEPTED, "reads on app are held too");
}

#[tokio::test]
async fn pending_requests_expire() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "pending_ttl_seconds = 1").await;
    let id = held(&sluice, "DELETE FROM t").await["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = sluice.call("GET", &format!("/v1/access-requests/{id}"), DBA1, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "expired");
    let (status, body) = review(&sluice, DBA1, &id, "approve").await;
    assert_error(status, &body, "conflict");
    let (_, listed) = sluice.call("GET", "/v1/access-requests?status=expired", KEY, None).await;
    assert_eq!(listed["requests"][0]["id"], id.as_str());
}

#[tokio::test]
async fn a_revoked_grant_covers_nothing() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "").await;
    let insert = "INSERT INTO t (id, v) VALUES (9, 'r')";
    let id = held(&sluice, insert).await["id"].as_str().unwrap().to_string();
    let (_, approved) = review(&sluice, DBA2, &id, "approve").await;
    let grant_id = approved["grant_id"].as_str().unwrap().to_string();
    let (_, live) = sluice.call("GET", "/v1/grants", DBA2, None).await;
    assert_eq!(live["grants"][0]["id"], grant_id.as_str(), "approvers see the grants they may revoke");
    let path = format!("/v1/grants/{grant_id}/revoke");
    let (status, body) = sluice.call("POST", &path, KEY_TENANT_2, Some(json!({"comment": "x"}))).await;
    assert_error(status, &body, "not_found");
    let (status, body) = sluice.call("POST", &path, DBA1, Some(json!({"comment": "changed my mind"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revoked"]["by"], "dba1");
    assert_eq!(body["revoked"]["reason"], "changed my mind");
    let (status, body) = sluice.call("POST", &path, DBA1, None).await;
    assert_error(status, &body, "conflict");
    assert_ne!(held(&sluice, insert).await["id"], id.as_str(), "held again, as a new request");
}

#[tokio::test]
async fn concurrent_replays_of_a_one_time_grant_run_once() {
    let dir = TempDir::new();
    let sluice = std::sync::Arc::new(start_in(dir.path(), "").await);
    // A second Sluice on the same store, as a second process would be.
    let other = std::sync::Arc::new(Sluice::start(&config(SQLITE, ""), dir.path()).await);
    let insert = "INSERT INTO t (v) VALUES ('once')";
    let id = held(&sluice, insert).await["id"].as_str().unwrap().to_string();
    let (status, _) = review(&other, DBA1, &id, "approve").await;
    assert_eq!(status, StatusCode::OK);
    let mut replays = tokio::task::JoinSet::new();
    for i in 0..20 {
        let target = if i % 2 == 0 { std::sync::Arc::clone(&sluice) } else { std::sync::Arc::clone(&other) };
        replays.spawn(async move { run(&target, KEY, insert).await });
    }
    let (mut ran, mut refused) = (0, 0);
    while let Some(joined) = replays.join_next().await {
        let (status, body) = joined.unwrap();
        match status {
            StatusCode::OK => ran += 1,
            _ => {
                assert_error(status, &body, "conflict");
                refused += 1;
            }
        }
    }
    assert_eq!((ran, refused), (1, 19));
    let (status, body) =
        sluice.call("POST", "/v1/query", DBA1, Some(json!({"datasource": "app", "sql": "SELECT 1"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test]
async fn deny_beats_approval_and_files_nothing() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n")
        .unwrap();
    let toml =
        format!("{}{}", config(SQLITE, ""), plugin_toml("deny", "test-deny", "datasources = [\"app\"]"));
    let sluice = Sluice::start(&toml, dir.path()).await;
    let (status, body) = run(&sluice, KEY, "DELETE FROM t").await;
    assert_error(status, &body, "policy_denied");
    let (status, body) = sluice.call("GET", "/v1/access-requests", KEY, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["requests"], json!([]));
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_changes_nothing() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "").await;
    let (status, body) = review(&sluice, DBA1, "no-such-request", "approve").await;
    assert_error(status, &body, "not_found");
    let (status, body) = review(&sluice, DBA1, "no-such-request", "bless").await;
    assert_error(status, &body, "not_found");
    assert!(body["error"]["message"].as_str().unwrap().contains("approve or reject"), "{body}");
    let id = held(&sluice, "DELETE FROM t").await["id"].as_str().unwrap().to_string();
    let path = format!("/v1/access-requests/{id}/approve");
    for bad in [json!({"comment": 5}), json!({"note": "x"}), json!([1])] {
        let (status, body) = sluice.call("POST", &path, DBA1, Some(bad)).await;
        assert_error(status, &body, "invalid_request");
    }
    let (status, body) = sluice.call("POST", &path, DBA1, Some(json!({"comment": "x".repeat(5000)}))).await;
    assert_error(status, &body, "invalid_request");
    for query in ["status=maybe", "scope=everyone", "colour=red"] {
        let (status, body) = sluice.call("GET", &format!("/v1/access-requests?{query}"), KEY, None).await;
        assert_error(status, &body, "invalid_request");
    }
    let (status, body) = sluice.call("GET", &format!("/v1/access-requests/{id}"), KEY, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "pending", "nothing changed: {body}");
    assert_eq!(body["reviews"], json!([]));
    let (status, body) = sluice.call("GET", "/v1/access-requests", "not-a-key", None).await;
    assert_error(status, &body, "unauthenticated");
    // An empty body is no comment.
    let (status, body) = sluice.call("POST", &path, DBA1, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reviews"][0]["comment"], Value::Null);
}

#[tokio::test]
async fn an_unreachable_store_fails_held_statements_only() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n")
        .unwrap();
    let sluice = Sluice::start(&config(SQLITE, "store = \"no/such/dir/access.db\""), dir.path()).await;
    let (status, body) = run(&sluice, KEY, "DELETE FROM t").await;
    assert_error(status, &body, "unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("access store"), "{body}");
    let (status, body) = sluice
        .call("POST", "/v1/query", KEY, Some(json!({"datasource": "free", "sql": "SELECT 1 AS one"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = sluice.call("GET", "/v1/access-requests", KEY, None).await;
    assert_error(status, &body, "unavailable");
}

#[tokio::test]
async fn a_postgresql_store_that_is_down_newer_or_malformed_fails_closed() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n")
        .unwrap();
    // Nobody listens on port 1.
    let sluice =
        Sluice::start(&config(SQLITE, "store = \"postgres://postgres@127.0.0.1:1/x\""), dir.path()).await;
    for _ in 0..2 {
        let (status, body) = run(&sluice, KEY, "DELETE FROM t").await;
        assert_error(status, &body, "unavailable");
        assert!(body["error"]["message"].as_str().unwrap().contains("PostgreSQL store"), "{body}");
    }
    let (status, body) = sluice
        .call("POST", "/v1/query", KEY, Some(json!({"datasource": "free", "sql": "SELECT 1 AS one"})))
        .await;
    assert_eq!(status, StatusCode::OK, "plain statements are unaffected: {body}");

    // A store a newer Sluice migrated is refused, not misread.
    let store = PgSchema::new(
        "CREATE TABLE sluice_access_schema (version BIGINT NOT NULL); \
                               INSERT INTO sluice_access_schema VALUES (99);",
    )
    .await;
    let access =
        format!("store = \"{}?options=-csearch_path%3D{}\"", crate::harness::pg_admin_url(), store.name);
    let sluice = Sluice::start(&config(SQLITE, &access), dir.path()).await;
    let (status, body) = run(&sluice, KEY, "DELETE FROM t").await;
    assert_error(status, &body, "unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("newer"), "{body}");

    let toml = config(SQLITE, "store = \"postgres://postgres@127.0.0.1:notaport/x\"");
    let error = match sluice_core::config::parse(&toml, &dir.path().join("sluice.toml"), |_| None) {
        Ok(_) => panic!("a malformed store URL was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains("access.store: not a valid PostgreSQL URL"), "{error}");
    assert!(!error.contains("notaport/x"), "the URL is not echoed: {error}");
}

#[tokio::test]
async fn a_statement_under_a_grant_ends_when_the_grant_does() {
    let schema = PgSchema::new("").await;
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "-- empty\n").unwrap();
    let toml = config(&schema.datasource("statement_timeout_ms = 30000"), "max_grant_seconds = 2");
    let sluice = Sluice::start(&toml, dir.path()).await;
    // Minutes of work: only a timeout ends it.
    let sleep = "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000000) \
                 SELECT count(*) AS n FROM r";
    let id = held(&sluice, sleep).await["id"].as_str().unwrap().to_string();
    let (_, approved) = review(&sluice, DBA1, &id, "approve").await;
    assert_eq!(approved["status"], "approved", "{approved}");
    let started = Instant::now();
    let (status, body) = run(&sluice, KEY, sleep).await;
    assert_error(status, &body, "timeout");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "cut to the grant's 2 s, not the datasource's 30 s: {took:?}");
}

/// Minutes of work for PostgreSQL and SQLite alike: only a timeout or a cancel ends it.
const LONG: &str = "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000000) \
                    SELECT count(*) AS n FROM r";

/// Approves `LONG` on `sluice`, runs it, revokes the grant half a second in, and asserts the
/// statement stopped with `409 conflict` long before its 30 s timeout.
async fn revoke_while_running(sluice: Sluice) {
    let sluice = std::sync::Arc::new(sluice);
    let id = held(&sluice, LONG).await["id"].as_str().unwrap().to_string();
    let (_, approved) = review(&sluice, DBA1, &id, "approve").await;
    let grant_id = approved["grant_id"].as_str().unwrap().to_string();
    let started = Instant::now();
    let running = {
        let sluice = std::sync::Arc::clone(&sluice);
        tokio::spawn(async move { run(&sluice, KEY, LONG).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let path = format!("/v1/grants/{grant_id}/revoke");
    let (status, body) = sluice.call("POST", &path, DBA2, Some(json!({"comment": "stop it"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = running.await.unwrap();
    assert_error(status, &body, "conflict");
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"), "{body}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "stopped at the revocation, not the 30 s timeout: {took:?}");
}

#[tokio::test]
async fn revoking_a_grant_stops_its_running_statement_on_postgres() {
    let schema = PgSchema::new("").await;
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "-- empty\n").unwrap();
    let toml = config(&schema.datasource("statement_timeout_ms = 30000"), "");
    revoke_while_running(Sluice::start(&toml, dir.path()).await).await;
    // Stopped on the server too, not only abandoned by Sluice.
    let still_running = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
                         AND query LIKE 'WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r%'";
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n: i64 = schema.client.query_one(still_running, &[]).await.unwrap().get(0);
        if n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the revoked statement still runs on the server");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn revoking_a_grant_stops_its_running_statement_on_sqlite() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "-- empty\n").unwrap();
    let toml = config(&format!("{SQLITE}statement_timeout_ms = 30000\n"), "");
    revoke_while_running(Sluice::start(&toml, dir.path()).await).await;
}

/// `POST /v1/access-requests` as `token`.
async fn ask(sluice: &Sluice, token: &str, body: Value) -> (StatusCode, Value) {
    sluice.call("POST", "/v1/access-requests", token, Some(body)).await
}

#[tokio::test]
async fn a_window_grant_covers_its_fingerprint_until_it_expires() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "").await;
    let read = |id: i64| json!({"datasource": "app", "sql": "SELECT v FROM t WHERE id = ?", "params": [id]});
    let mut asked = read(1);
    asked["uses"] = json!("window");
    asked["duration_seconds"] = json!(2);
    asked["justification"] = json!("debugging INC-9");
    let (status, request) = ask(&sluice, KEY, asked).await;
    assert_eq!(status, StatusCode::OK, "{request}");
    assert_eq!(request["uses"], "window");
    assert_eq!(request["duration_seconds"], 2);
    let id = request["id"].as_str().unwrap();
    let (status, approved) = review(&sluice, DBA1, id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{approved}");

    // Any constants or parameters of the same shape, as often as wanted.
    for id in [1, 2, 3, 2] {
        let (status, body) = sluice.call("POST", "/v1/query", KEY, Some(read(id))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Another shape is held.
    let (status, _) = run(&sluice, KEY, "SELECT v FROM t WHERE id IN (1, 2)").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Plugins see the grant.
    let (_, grants) = sluice.call("GET", "/v1/grants", KEY, None).await;
    assert_eq!(grants["grants"][0]["uses"], "window", "{grants}");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = sluice.call("POST", "/v1/query", KEY, Some(read(1))).await;
    assert_error(status, &body, "approval_required");
}

#[tokio::test]
async fn a_statement_started_under_a_window_grant_stops_when_the_window_ends() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "").await;
    let asked = json!({"datasource": "app", "sql": LONG, "uses": "window", "duration_seconds": 2});
    let (status, request) = ask(&sluice, KEY, asked).await;
    assert_eq!(status, StatusCode::OK, "{request}");
    let (status, _) = review(&sluice, DBA2, request["id"].as_str().unwrap(), "approve").await;
    assert_eq!(status, StatusCode::OK);
    let started = Instant::now();
    let (status, body) = run(&sluice, KEY, LONG).await;
    assert_error(status, &body, "timeout");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "cut at the window's end, not the 30 s timeout: {took:?}");
}

#[tokio::test]
async fn asking_ahead_refuses_what_needs_no_approval_and_bad_durations() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "require_justification = true\nmax_grant_seconds = 600").await;
    let statement = |extra: Value| {
        let mut body =
            json!({"datasource": "app", "sql": "DELETE FROM t WHERE id = 1", "justification": "x"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    for (body, needle) in [
        (statement(json!({"justification": null})), "justification"),
        (statement(json!({"justification": "  "})), "justification"),
        (statement(json!({"duration_seconds": 601})), "out of range"),
        (statement(json!({"duration_seconds": 0})), "out of range"),
        (statement(json!({"uses": "forever"})), "forever"),
        (statement(json!({"colour": "red"})), "colour"),
        (json!({"datasource": "free", "sql": "SELECT 1", "justification": "x"}), "no policy plugin"),
        (statement(json!({"datasource": "nope"})), "unknown datasource"),
    ] {
        let (status, answer) = ask(&sluice, KEY, body).await;
        assert_error(status, &answer, "invalid_request");
        assert!(answer["error"]["message"].as_str().unwrap().contains(needle), "{needle}: {answer}");
    }
    let (status, answer) = ask(&sluice, KEY, statement(json!({"sql": "SELEC nonsense"}))).await;
    assert_error(status, &answer, "sql_parse_error");
    let (_, listed) = sluice.call("GET", "/v1/access-requests", KEY, None).await;
    assert_eq!(listed["requests"], json!([]), "nothing was filed");
    let (status, filed) = ask(&sluice, KEY, statement(json!({"duration_seconds": 600}))).await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    assert_eq!(filed["status"], "pending");
    assert_eq!(filed["justification"], "x");
}

#[tokio::test]
async fn a_relation_grant_covers_its_kinds_over_that_relation_only() {
    let dir = TempDir::new();
    std::fs::write(
        dir.path().join("init.sql"),
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one');\n\
         CREATE TABLE u (id INTEGER PRIMARY KEY);\n",
    )
    .unwrap();
    let sluice = Sluice::start(&config(SQLITE, "approvers = [\"dba\"]"), dir.path()).await;
    let relation = |body: Value| {
        let mut base = json!({"datasource": "app", "relation": "t", "justification": "INC-7"});
        base.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        base
    };
    for (bad, says) in [
        (relation(json!({"relation": "nope"})), "no relation"),
        (relation(json!({"relation": "a.b.c"})), "schema.name"),
        (relation(json!({"statements": ["drop"]})), "not one of"),
        (relation(json!({"sql": "SELECT 1"})), "exactly one"),
        (json!({"datasource": "app", "sql": "SELECT 1", "statements": ["read"]}), "goes with"),
        (relation(json!({"datasource": "free"})), "no policy plugin"),
    ] {
        let (status, body) = ask(&sluice, KEY, bad).await;
        assert_error(status, &body, "invalid_request");
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{says}: {body}");
    }
    let (status, request) =
        ask(&sluice, KEY, relation(json!({"statements": ["read", "update", "read"]}))).await;
    assert_eq!(status, StatusCode::OK, "{request}");
    assert_eq!(request["relation"], json!({"relation": "main.t", "statements": ["read", "update"]}));
    assert_eq!(request["statement"], Value::Null);
    assert_eq!(request["uses"], "window");
    assert_eq!(request["approver_groups"], json!(["dba"]));
    let id = request["id"].as_str().unwrap();
    let (status, body) = run(&sluice, KEY, "SELECT v FROM t").await;
    assert_eq!(status, StatusCode::ACCEPTED, "not before approval: {body}");
    let (status, approved) = review(&sluice, DBA1, id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{approved}");

    // Statements of its kinds over `t` alone run, in any shape, as often as wanted.
    for sql in
        ["SELECT v FROM t", "SELECT count(*) FROM main.t WHERE id > 0", "UPDATE t SET v = 'uno' WHERE id = 1"]
    {
        for _ in 0..2 {
            let (status, body) = run(&sluice, KEY, sql).await;
            assert_eq!(status, StatusCode::OK, "{sql}: {body}");
        }
    }
    // Other kinds, other relations, other principals: held as before.
    for sql in [
        "DELETE FROM t WHERE id = 1",
        "SELECT id FROM u",
        "SELECT t.v FROM t JOIN u ON u.id = t.id",
        "SELECT 1",
    ] {
        let (status, body) = run(&sluice, KEY, sql).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{sql}: {body}");
    }
    let (status, _) = run(&sluice, KEY_TENANT_2, "SELECT v FROM t").await;
    assert_eq!(status, StatusCode::ACCEPTED);

    // Plugins and listings see it for what it is; revoking it ends it.
    let (_, grants) = sluice.call("GET", "/v1/grants", KEY, None).await;
    let grant = grants["grants"].as_array().unwrap().iter().find(|g| g["request_id"] == id).unwrap().clone();
    assert_eq!(grant["relation"]["relation"], "main.t", "{grant}");
    let path = format!("/v1/grants/{}/revoke", grant["id"].as_str().unwrap());
    let (status, body) = sluice.call("POST", &path, KEY, Some(json!({"comment": "done"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = run(&sluice, KEY, "SELECT v FROM t").await;
    assert_eq!(status, StatusCode::ACCEPTED, "held again after revocation");

    // Without `[access] approvers`, nobody could review one: refused up front.
    let other = TempDir::new();
    let sluice = start_in(other.path(), "").await;
    let (status, body) = ask(&sluice, KEY, json!({"datasource": "app", "relation": "t"})).await;
    assert_error(status, &body, "invalid_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("approvers"), "{body}");
}

#[tokio::test]
async fn break_glass_is_taken_at_once_loudly_and_reviewed_by_someone_else() {
    let dir = TempDir::new();
    let sluice =
        start_in(dir.path(), "break_glass_roles = [\"oncall\"]\nbreak_glass_max_seconds = 900").await;
    let delete = json!({"datasource": "app", "sql": "DELETE FROM t WHERE id = 3", "break_glass": true});
    let (status, body) = ask(&sluice, ONCALL, delete.clone()).await;
    assert_error(status, &body, "invalid_request");
    let mut justified = delete.clone();
    justified["justification"] = json!("outage INC-77: bad row blocks checkout");
    let (status, body) = ask(&sluice, KEY, justified.clone()).await;
    assert_error(status, &body, "forbidden");
    justified["duration_seconds"] = json!(901);
    let (status, body) = ask(&sluice, ONCALL, justified.clone()).await;
    assert_error(status, &body, "invalid_request");
    justified["duration_seconds"] = json!(600);

    let (status, taken) = ask(&sluice, ONCALL, justified.clone()).await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["break_glass"], true);
    assert_eq!(taken["status"], "approved");
    assert_eq!(taken["duration_seconds"], 600);
    let grant_id = taken["grant_id"].as_str().unwrap().to_string();
    let id = taken["id"].as_str().unwrap().to_string();
    let (status, body) = run(&sluice, ONCALL, "DELETE FROM t WHERE id = 3").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // It awaits review by an approver, never by the one who took it.
    let (_, to_review) = sluice.call("GET", "/v1/access-requests?scope=review", DBA1, None).await;
    assert_eq!(to_review["requests"][0]["id"], id.as_str(), "{to_review}");
    let (status, body) = review(&sluice, ONCALL, &id, "approve").await;
    assert_error(status, &body, "forbidden");
    let (status, reviewed) = review(&sluice, DBA1, &id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{reviewed}");
    assert_eq!(reviewed["reviews"][0]["reviewer"], "dba1");
    let (status, body) = review(&sluice, DBA2, &id, "reject").await;
    assert_error(status, &body, "conflict");
    let (_, to_review) = sluice.call("GET", "/v1/access-requests?scope=review", DBA1, None).await;
    assert_eq!(to_review["requests"], json!([]));

    // A use rejected on review ends its grant at once.
    justified["sql"] = json!("DELETE FROM t WHERE id = 4");
    justified["uses"] = json!("window");
    let (_, taken) = ask(&sluice, ONCALL, justified).await;
    let (status, rejected) = review(&sluice, DBA2, taken["id"].as_str().unwrap(), "reject").await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    let (status, _) = run(&sluice, ONCALL, "DELETE FROM t WHERE id = 4").await;
    assert_eq!(status, StatusCode::ACCEPTED, "the rejected use's grant no longer covers it");
    let (_, grants) = sluice.call("GET", "/v1/grants?all=true", DBA1, None).await;
    let first = grants["grants"].as_array().unwrap().iter().find(|g| g["id"] == grant_id.as_str()).unwrap();
    assert!(first["used_at_ms"].is_i64(), "{first}");
}

#[tokio::test]
async fn a_role_template_grant_runs_its_statements_as_its_role_until_it_expires() {
    let schema =
        PgSchema::new("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'one');").await;
    let role = crate::harness::unique("sluice_debug_read");
    schema
        .client
        .batch_execute(&format!(
            "CREATE ROLE {role} NOLOGIN; GRANT USAGE ON SCHEMA {s} TO {role}; GRANT SELECT ON {s}.t TO {role};",
            s = schema.name
        ))
        .await
        .unwrap();
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "-- empty\n").unwrap();
    // `app` is held by the plugin; `plain`, the same schema, is judged by nobody.
    let template = format!(
        "[[access.templates]]\nname = \"debug-read\"\ndescription = \"Read anything, for debugging\"\n\
         datasources = [\"app\", \"plain\"]\nstatements = [\"read\"]\nrelations = [\"*\"]\nrole = \"{role}\"\n\
         max_duration_seconds = 3\napprovers = [\"dba\"]\n"
    );
    let toml = format!(
        "{}\n[datasources.plain]\n{}\n",
        config(&schema.datasource(""), &template),
        schema.datasource("")
    );
    let sluice = Sluice::start(&toml, dir.path()).await;
    let who = "SELECT current_user::text AS who";
    let on_plain = |sql: &str| json!({"datasource": "plain", "sql": sql});
    let (_, body) = sluice.call("POST", "/v1/query", KEY, Some(on_plain(who))).await;
    assert_eq!(body["rows"][0][0], "postgres", "{body}");

    let (status, body) =
        ask(&sluice, KEY, json!({"datasource": "app", "template": "debug-read", "duration_seconds": 4}))
            .await;
    assert_error(status, &body, "invalid_request");
    let (status, body) = ask(&sluice, KEY, json!({"datasource": "free", "template": "debug-read"})).await;
    assert_error(status, &body, "invalid_request");
    // A grant is for the datasource asked for: one on each.
    for datasource in ["app", "plain"] {
        let (status, request) =
            ask(&sluice, KEY, json!({"datasource": datasource, "template": "debug-read"})).await;
        assert_eq!(status, StatusCode::OK, "{request}");
        assert_eq!(request["template"], "debug-read");
        assert_eq!(request["statement"], Value::Null);
        assert_eq!(request["duration_seconds"], 3, "capped by the template");
        assert_eq!(request["reasons"], json!(["role template debug-read: Read anything, for debugging"]));
        let (status, approved) = review(&sluice, DBA1, request["id"].as_str().unwrap(), "approve").await;
        assert_eq!(status, StatusCode::OK, "{approved}");
    }

    // Held statements it covers run, as its role, as often as wanted; on `plain`, it changes
    // only the role.
    for _ in 0..2 {
        let (status, body) = run(&sluice, KEY, who).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["rows"][0][0], role.as_str());
    }
    let (status, body) = run(&sluice, KEY, "SELECT v FROM t WHERE id = 1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"][0][0], "one");
    let (_, body) = sluice.call("POST", "/v1/query", KEY, Some(on_plain(who))).await;
    assert_eq!(body["rows"][0][0], role.as_str(), "{body}");
    // What it does not permit stays held; other principals are not covered.
    let (status, _) = run(&sluice, KEY, "DELETE FROM t WHERE id = 1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = run(&sluice, KEY_TENANT_2, who).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, _) = run(&sluice, KEY, who).await;
    assert_eq!(status, StatusCode::ACCEPTED, "held again once the grant expired");
    let (_, body) = sluice.call("POST", "/v1/query", KEY, Some(on_plain(who))).await;
    assert_eq!(body["rows"][0][0], "postgres", "back to the login role: {body}");
    schema.client.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}")).await.unwrap();
}

#[tokio::test]
async fn a_role_template_grant_sets_its_role_on_mariadb_and_unsets_it_after_each_statement() {
    use mysql_async::prelude::Queryable as _;
    let mut db =
        MyDatabase::new("CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one')").await;
    let role = crate::harness::unique("sluice_debug_read");
    for statement in [
        format!("CREATE ROLE {role}"),
        format!("GRANT SELECT ON {}.* TO {role}", db.name),
        format!("GRANT {role} TO CURRENT_USER()"),
    ] {
        db.conn.query_drop(statement).await.unwrap();
    }
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "-- empty\n").unwrap();
    let template = format!(
        "[[access.templates]]\nname = \"debug-read\"\ndescription = \"Read anything\"\n\
         datasources = [\"app\", \"plain\"]\nstatements = [\"read\"]\nrelations = [\"*\"]\nrole = \"{role}\"\n\
         max_duration_seconds = 3\napprovers = [\"dba\"]\n"
    );
    let toml =
        format!("{}\n[datasources.plain]\n{}\n", config(&db.datasource(""), &template), db.datasource(""));
    let sluice = Sluice::start(&toml, dir.path()).await;
    let which = "SELECT CURRENT_ROLE() AS r";
    let on_plain = |sql: &str| json!({"datasource": "plain", "sql": sql});
    let (status, body) = sluice.call("POST", "/v1/query", KEY, Some(on_plain(which))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"][0][0], Value::Null, "no role before the grant: {body}");
    for datasource in ["app", "plain"] {
        let (status, request) =
            ask(&sluice, KEY, json!({"datasource": datasource, "template": "debug-read"})).await;
        assert_eq!(status, StatusCode::OK, "{request}");
        let (status, approved) = review(&sluice, DBA1, request["id"].as_str().unwrap(), "approve").await;
        assert_eq!(status, StatusCode::OK, "{approved}");
    }
    for _ in 0..3 {
        let (status, body) = run(&sluice, KEY, which).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["rows"][0][0], role.as_str());
    }
    let (status, body) = run(&sluice, KEY, "SELECT v FROM t WHERE id = 1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"][0][0], "one");
    // Another principal's statements, on the same pooled connections, run without it.
    let (_, body) = sluice.call("POST", "/v1/query", KEY_TENANT_2, Some(on_plain(which))).await;
    assert_eq!(body["rows"][0][0], Value::Null, "{body}");

    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, _) = run(&sluice, KEY, which).await;
    assert_eq!(status, StatusCode::ACCEPTED, "held again once the grant expired");
    for _ in 0..4 {
        let (_, body) = sluice.call("POST", "/v1/query", KEY, Some(on_plain(which))).await;
        assert_eq!(body["rows"][0][0], Value::Null, "no connection kept the role: {body}");
    }
    db.conn.query_drop(format!("DROP ROLE {role}")).await.unwrap();
}

#[tokio::test]
async fn role_templates_and_webhooks_are_validated_at_start_up() {
    let dir = TempDir::new();
    let template = "[[access.templates]]\nname = \"t1\"\ndescription = \"x\"\ndatasources = [\"free\", \"nope\"]\n\
                    statements = [\"read\", \"fly\"]\nrelations = [\"a.b.c\"]\nrole = \"r\"\nmax_duration_seconds = 999999\n\
                    [[access.webhooks]]\nname = \"w\"\nurl = \"ftp://x\"\nevents = [\"request.eaten\"]\n";
    let error =
        sluice_core::config::parse(&config(SQLITE, template), &dir.path().join("sluice.toml"), |_| None)
            .err()
            .unwrap()
            .to_string();
    for needle in [
        "access.templates[0].datasources: no datasource is named \"nope\"",
        "access.templates[0].role: datasource \"free\" is SQLite",
        "access.templates[0].statements: unknown statement kind \"fly\"",
        "access.templates[0].relations",
        "access.templates[0].max_duration_seconds",
        "access.webhooks[0].url",
        "access.webhooks[0].secret: required for json webhooks",
        "access.webhooks[0].events: unknown event \"request.eaten\"",
    ] {
        assert!(error.contains(needle), "{needle:?} not in {error}");
    }
}

/// What a test webhook receiver got: `(path, signature header, event id header, body)`.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<String>, Option<String>, String)>>>;

/// Serves `POST /json` and `POST /slack` on `listener`, recording every call.
fn receive(listener: tokio::net::TcpListener, received: Received) -> tokio::task::JoinHandle<()> {
    use axum::http::HeaderMap;
    let record = move |path: &'static str| {
        let received = received.clone();
        move |headers: HeaderMap, body: String| {
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            received.lock().unwrap().push((
                path.to_string(),
                header("sluice-signature"),
                header("sluice-event-id"),
                body,
            ));
            async { StatusCode::NO_CONTENT }
        }
    };
    let app = axum::Router::new()
        .route("/json", axum::routing::post(record("json")))
        .route("/slack", axum::routing::post(record("slack")));
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    })
}

#[tokio::test]
async fn webhooks_get_every_event_once_after_an_outage_and_a_restart() {
    const SECRET: &str = "webhook-secret-for-the-test";
    // A port nobody listens on yet: the receiver is down while the events happen.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let webhooks = format!(
        "[[access.webhooks]]\nname = \"security\"\nurl = \"http://127.0.0.1:{port}/json\"\nsecret = \"{SECRET}\"\n\
         [[access.webhooks]]\nname = \"chat\"\nurl = \"http://127.0.0.1:{port}/slack\"\nformat = \"slack\"\n\
         events = [\"request.created\", \"request.break_glass\"]\n"
    );
    let dir = TempDir::new();
    let first = start_in(dir.path(), &webhooks).await;
    let insert = "INSERT INTO t (id, v) VALUES (40, 'w')";
    let id = held(&first, insert).await["id"].as_str().unwrap().to_string();
    let (_, approved) = review(&first, DBA1, &id, "approve").await;
    let (status, _) = run(&first, KEY, insert).await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/v1/grants/{}/revoke", approved["grant_id"].as_str().unwrap());
    let (status, _) = first.call("POST", &path, DBA2, None).await;
    assert_eq!(status, StatusCode::OK);
    // Let the worker fail at least once, then stop this Sluice.
    tokio::time::sleep(Duration::from_millis(600)).await;
    drop(first);

    let received = Received::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let server = receive(listener, received.clone());
    let second = start_in(dir.path(), &webhooks).await;
    let expected = ["request.created", "request.approved", "grant.used", "grant.revoked"];
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().unwrap().len() < expected.len() + 1 {
        assert!(Instant::now() < deadline, "not delivered: {:?}", received.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nothing more arrives: each was delivered once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let calls = received.lock().unwrap().clone();
    let json_calls: Vec<_> = calls.iter().filter(|(path, ..)| path == "json").collect();
    let mut types: Vec<String> = Vec::new();
    for (_, signature, event_id, body) in &json_calls {
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event_id.as_deref(), event["id"].as_str());
        let at = event["at_ms"].as_i64().unwrap();
        let expected_signature = sluice_core::access::notify::signature(SECRET, at, body);
        assert_eq!(signature.as_deref(), Some(expected_signature.as_str()), "{body}");
        types.push(event["type"].as_str().unwrap().to_string());
    }
    assert_eq!(types, expected, "in order, once each");
    let slack: Vec<_> = calls.iter().filter(|(path, ..)| path == "slack").collect();
    assert_eq!(slack.len(), 1, "the chat webhook wants only creations: {slack:?}");
    let text: Value = serde_json::from_str(&slack[0].3).unwrap();
    assert!(text["text"].as_str().unwrap().contains("request.created"), "{text}");
    assert!(slack[0].1.is_none(), "a webhook without a secret is not signed");
    drop(second);
    server.abort();
}

/// Runs `sluice access <args>` against `url` as `token` (none when `None`); returns success,
/// standard output and standard error.
async fn cli(url: &str, token: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    command.arg("access").args(args).env("SLUICE_URL", url).env_remove("SLUICE_TOKEN");
    if let Some(token) = token {
        command.env("SLUICE_TOKEN", token);
    }
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_asks_reviews_lists_and_revokes() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);\n")
        .unwrap();
    let config =
        sluice_core::config::parse(&config(SQLITE, ""), &dir.path().join("sluice.toml"), |_| None).unwrap();
    let gateway = sluice::build_gateway(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sluice::server::serve(gateway, listener, async {
        let _ = stopped.await;
    }));

    let (ok, out, err) = cli(
        &url,
        Some(KEY),
        &[
            "request",
            "--datasource",
            "app",
            "--sql",
            "DELETE FROM t WHERE id = ?",
            "--param",
            "1",
            "--justification",
            "ticket 8",
            "--json",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let request: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(request["status"], "pending");
    assert_eq!(request["statement"]["params"], json!([1]));
    let id = request["id"].as_str().unwrap().to_string();

    let (ok, out, err) = cli(&url, Some(DBA1), &["list", "--scope", "review"]).await;
    assert!(ok, "{err}");
    let header = out.lines().next().unwrap();
    assert!(header.starts_with("ID") && header.contains("APPROVALS") && header.contains("WHAT"), "{out}");
    let row = out.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{id} not in {out}"));
    for cell in ["pending", "tester", "app", "0/1", "in 59m", "DELETE FROM t WHERE id = ?"] {
        assert!(row.contains(cell), "{cell:?} not in {row:?}");
    }

    let (ok, _, err) = cli(&url, Some(KEY), &["approve", &id, "--comment", "mine"]).await;
    assert!(!ok);
    assert!(err.contains("forbidden (403)"), "{err}");
    let (ok, out, err) = cli(&url, Some(DBA1), &["approve", &id, "--comment", "checked"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("status:         approved"), "{out}");
    assert!(out.contains("review:         approve by dba1"), "{out}");
    let grant = out.lines().find_map(|l| l.strip_prefix("grant:          ")).unwrap().to_string();

    let (ok, out, _) = cli(&url, Some(KEY), &["grants"]).await;
    assert!(ok);
    let row = out.lines().find(|l| l.starts_with(&grant)).unwrap_or_else(|| panic!("{out}"));
    assert!(row.contains("live") && row.contains("once") && row.contains("dba1"), "{row}");
    let (ok, out, err) = cli(&url, Some(DBA1), &["revoke", &grant, "--reason", "done"]).await;
    assert!(ok, "{err}");
    assert!(out.lines().any(|l| l.starts_with(&grant) && l.contains("revoked")), "{out}");

    let (ok, _, err) = cli(&url, Some(KEY), &["show", "no-such-request"]).await;
    assert!(!ok);
    assert!(err.contains("not_found (404)"), "{err}");
    let (ok, _, err) = cli(&url, None, &["list"]).await;
    assert!(!ok);
    assert!(err.contains("no token"), "{err}");
    let (ok, _, err) = cli("http://127.0.0.1:1", Some(KEY), &["list"]).await;
    assert!(!ok);
    assert!(err.contains("cannot reach Sluice"), "{err}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn one_approval_per_group_when_a_template_asks_for_it() {
    let dir = TempDir::new();
    let template = "[[access.templates]]\nname = \"sensitive\"\ndescription = \"Everything\"\n\
                    datasources = [\"app\"]\nstatements = [\"read\"]\nrelations = [\"*\"]\n\
                    approvers = [\"dba\", \"security\"]\nmin_approvals = 2\napproval_per_group = true\n";
    let sluice = start_in(dir.path(), template).await;
    let (status, request) = ask(&sluice, KEY, json!({"datasource": "app", "template": "sensitive"})).await;
    assert_eq!(status, StatusCode::OK, "{request}");
    assert_eq!(request["per_group"], true);
    let id = request["id"].as_str().unwrap();
    let (_, after) = review(&sluice, DBA1, id, "approve").await;
    assert_eq!(after["status"], "pending");
    let (_, after) = review(&sluice, DBA2, id, "approve").await;
    assert_eq!(after["status"], "pending", "two approvals, but nobody from `security`: {after}");
    assert_eq!(after["reviews"][1]["groups"], json!(["dba"]));
    let (status, after) = review(&sluice, SECURITY, id, "approve").await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["status"], "approved");
    let (status, body) = run(&sluice, KEY, "SELECT count(*) AS n FROM t").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn pending_requests_per_principal_are_capped_and_justifications_bounded() {
    let dir = TempDir::new();
    let sluice = start_in(dir.path(), "max_pending_per_principal = 2").await;
    held(&sluice, "DELETE FROM t WHERE id = 1").await;
    held(&sluice, "DELETE FROM t WHERE id = 2").await;
    // Asking again for a pending one joins it; a third is refused.
    held(&sluice, "DELETE FROM t WHERE id = 2").await;
    let (status, body) = run(&sluice, KEY, "DELETE FROM t WHERE id = 3").await;
    assert_error(status, &body, "conflict");
    assert!(body["error"]["message"].as_str().unwrap().contains("2 pending"), "{body}");
    // Other principals are not affected.
    let (status, _) = run(&sluice, KEY_TENANT_2, "DELETE FROM t WHERE id = 3").await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let long = "x".repeat(5000);
    let body = json!({"datasource": "app", "sql": "DELETE FROM t WHERE id = 4", "justification": long});
    let (status, answer) = sluice.call("POST", "/v1/query", KEY_TENANT_2, Some(body.clone())).await;
    assert_error(status, &answer, "invalid_request");
    let (status, answer) = ask(&sluice, KEY_TENANT_2, body).await;
    assert_error(status, &answer, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_postgresql_store() {
    let data = PgSchema::new("CREATE TABLE t (id serial PRIMARY KEY, v text)").await;
    let store = PgSchema::new("").await;
    let access =
        format!("store = \"{}?options=-csearch_path%3D{}\"", crate::harness::pg_admin_url(), store.name);
    let toml = config(&data.datasource(""), &access);
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    for dir in [&dir_a, &dir_b] {
        std::fs::write(dir.path().join("init.sql"), "-- empty\n").unwrap();
    }
    let a = std::sync::Arc::new(Process::serve(dir_a.path(), &toml).await);
    let b = std::sync::Arc::new(Process::serve(dir_b.path(), &toml).await);

    // Asked through one, approved through the other.
    let insert = "INSERT INTO t (v) VALUES ('once')";
    let (status, body) = a.run(KEY, insert).await;
    assert_error(status, &body, "approval_required");
    let id = body["approval"]["request"]["id"].as_str().unwrap().to_string();
    let (status, body) = b.call(&format!("/v1/access-requests/{id}/approve"), DBA1, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "approved");

    // Twenty replays, half through each process: one runs.
    let mut replays = tokio::task::JoinSet::new();
    for i in 0..20 {
        let target = std::sync::Arc::clone(if i % 2 == 0 { &a } else { &b });
        replays.spawn(async move { target.run(KEY, insert).await });
    }
    let (mut ran, mut refused) = (0, 0);
    while let Some(joined) = replays.join_next().await {
        let (status, body) = joined.unwrap();
        if status == StatusCode::OK {
            ran += 1;
        } else {
            assert_error(status, &body, "conflict");
            refused += 1;
        }
    }
    assert_eq!((ran, refused), (1, 19));
    let rows: i64 = data.client.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(rows, 1, "the statement ran exactly once");

    // The store is PostgreSQL's, at the current schema version, in the schema the URL named.
    let version: i64 = store
        .client
        .query_one(&format!("SELECT version FROM {}.sluice_access_schema", store.name), &[])
        .await
        .unwrap()
        .get(0);
    assert!(version >= 4, "{version}");
    let grants: i64 = store
        .client
        .query_one(&format!("SELECT count(*) FROM {}.grants WHERE used_at_ms IS NOT NULL", store.name), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(grants, 1);
}
