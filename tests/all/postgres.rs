//! PostgreSQL end to end: typed values, parameters, statement refusals.

use serde_json::{Value, json};

use crate::harness::{PgSchema, Sluice};

const TYPES: &str = "CREATE TABLE typed (
    b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, m money,
    t text, vc varchar(10), ch char(3), by bytea, u uuid, j json, jb jsonb,
    d date, tm time, ts timestamp, tz timestamptz, iv interval,
    ai int4[], at text[]
)";

#[tokio::test]
async fn every_type_round_trips_exactly() {
    let schema = PgSchema::new(TYPES).await;
    schema
        .client
        .batch_execute(&format!(
            "SET search_path = {}; INSERT INTO typed VALUES (
                true, -32768, 2147483647, -9223372036854775808, 1.5, 0.1,
                '123456789012345678901234567890.123456789012345678901234567890', '1234.56',
                'héllo ''q'' \\ \u{1F600}', 'short', 'ab', '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
                '{{\"k\": [1, 2.5, null]}}', '{{\"b\": {{\"c\": true}}}}',
                '2024-02-29', '13:45:59.123456', '2024-01-02 03:04:05.5', '2024-01-02 03:04:05+02',
                '1 year 2 mons 3 days 04:05:06.5', '{{1,NULL,3}}', '{{\"a\",\"b c\",NULL}}'
            ), (NULL, NULL, NULL, NULL, 'NaN', '-Infinity', 'NaN', NULL, NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
            schema.name
        ))
        .await
        .unwrap();
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let body = sluice.ok("SELECT * FROM typed ORDER BY b NULLS LAST", json!([])).await;
    let types: Vec<&str> =
        body["columns"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "bool",
            "int2",
            "int4",
            "int8",
            "float4",
            "float8",
            "numeric",
            "money",
            "text",
            "text",
            "text",
            "bytes",
            "uuid",
            "json",
            "json",
            "date",
            "time",
            "timestamp",
            "timestamptz",
            "interval",
            "int4[]",
            "text[]"
        ]
    );
    // JSON travels as its text: json as written, jsonb in PostgreSQL's canonical form.
    assert_eq!(
        body["rows"][0],
        json!([
            true,
            -32768,
            2147483647,
            "-9223372036854775808",
            1.5,
            0.1,
            "123456789012345678901234567890.123456789012345678901234567890",
            "1234.56",
            "héllo 'q' \\ \u{1F600}",
            "short",
            "ab ",
            "AP8Q",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{\"k\": [1, 2.5, null]}",
            "{\"b\": {\"c\": true}}",
            "2024-02-29",
            "13:45:59.123456",
            "2024-01-02T03:04:05.500000",
            "2024-01-02T01:04:05Z",
            "P1Y2M3DT4H5M6.5S",
            [1, null, 3],
            ["a", "b c", null]
        ])
    );
    let nulls = &body["rows"][1];
    assert_eq!(nulls[4], "NaN");
    assert_eq!(nulls[5], "-Infinity");
    assert_eq!(nulls[6], "NaN");
    assert!(nulls.as_array().unwrap().iter().enumerate().all(|(i, v)| (4..=6).contains(&i) || v.is_null()));
}

#[tokio::test]
async fn parameters_are_bound_natively_by_type() {
    let schema = PgSchema::new(TYPES).await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let params = json!([
        true, 7, 2147483647, "9223372036854775807", 2.5, 0.1, "0.000000000000000000001", "hi'; DROP TABLE typed; --",
        "AP8Q", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", {"x": [1]}, "2024-02-29", "2024-01-02T03:04:05Z", [1, null]
    ]);
    let body = sluice
        .ok(
            "INSERT INTO typed (b, i2, i4, i8, f4, f8, n, t, by, u, jb, d, tz, ai)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING i8, n, t, by, tz, ai",
            params,
        )
        .await;
    assert_eq!(body["command"], "INSERT");
    assert_eq!(body["rows_affected"], 1);
    assert_eq!(
        body["rows"][0],
        json!([
            "9223372036854775807",
            "0.000000000000000000001",
            "hi'; DROP TABLE typed; --",
            "AP8Q",
            "2024-01-02T03:04:05Z",
            [1, null]
        ])
    );
    let message = sluice.err("SELECT $1::int4", json!(["not a number"]), "invalid_request").await;
    assert!(message.contains("parameter $1"), "{message}");
    sluice.err("SELECT $1::int2", json!([70000]), "invalid_request").await;
}

#[tokio::test]
async fn session_and_bulk_statements_are_refused() {
    let schema = PgSchema::new("CREATE TABLE t (id int)").await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    for sql in [
        "SET search_path = public",
        "SET ROLE postgres",
        "RESET ALL",
        "COPY t TO STDOUT",
        "COPY t FROM '/etc/passwd'",
        "BEGIN",
        "COMMIT",
        "DO $$ BEGIN PERFORM 1; END $$",
        "CALL p()",
        "PREPARE q AS SELECT 1",
        "LISTEN x",
        "DISCARD ALL",
    ] {
        let (status, body) = sluice.query(sql, json!([])).await;
        assert!([400, 403].contains(&status.as_u16()), "{sql} must be refused, got {status}: {body}");
        let code = body["error"]["code"].as_str().unwrap();
        assert!(["statement_not_allowed", "sql_parse_error"].contains(&code), "{sql}: {code}");
    }
    sluice.err("SELECT 1; SELECT 2", json!([]), "sql_parse_error").await;
    sluice.err("CREATE TABLE x (id int)", json!([]), "statement_not_allowed").await;
}

#[tokio::test]
async fn database_errors_are_upstream_errors_without_row_data() {
    let schema =
        PgSchema::new("CREATE TABLE u (email text UNIQUE); INSERT INTO u VALUES ('secret@example.com')")
            .await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let message =
        sluice.err("INSERT INTO u VALUES ('secret@example.com')", json!([]), "upstream_error").await;
    assert!(message.contains("23505"), "{message}");
    assert!(!message.contains("secret@example.com"), "{message}");
    // A relation the catalog does not list is refused before it reaches the database.
    let message = sluice.err("SELECT * FROM missing_table", json!([]), "invalid_request").await;
    assert!(message.contains("missing_table does not exist"), "{message}");
    let message = sluice.err("SELECT nosuchcolumn FROM u", json!([]), "invalid_request").await;
    assert!(message.contains("column nosuchcolumn does not exist"), "{message}");
    // A column the analyser cannot attribute is left to the database, which names it.
    let message = sluice.err("SELECT x.nosuch FROM (SELECT 1) AS x", json!([]), "upstream_error").await;
    assert!(message.contains("42703"), "{message}");
}

#[tokio::test]
async fn reads_run_read_only_and_writes_report_affected_rows() {
    let schema =
        PgSchema::new("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3); CREATE SEQUENCE s").await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let body = sluice.ok("UPDATE t SET id = id + 10 WHERE id > $1", json!([1])).await;
    assert_eq!((body["command"].clone(), body["rows_affected"].clone()), (json!("UPDATE"), json!(2)));
    let body = sluice.ok("DELETE FROM t WHERE id = $1", json!([12])).await;
    assert_eq!(body["rows_affected"], 1);
    // A function with side effects cannot write from inside a read.
    let message = sluice.err("SELECT nextval('s')", json!([]), "upstream_error").await;
    assert!(message.contains("25006"), "read-only transaction: {message}");
    let rows: Value = sluice.ok("SELECT id FROM t ORDER BY id", json!([])).await["rows"].clone();
    assert_eq!(rows, json!([[1], [13]]));
}

#[tokio::test]
async fn statement_timeout_is_a_504_and_the_pool_recovers() {
    let schema = PgSchema::new("").await;
    let sluice = Sluice::with_datasource(&schema.datasource("statement_timeout_ms = 300")).await;
    sluice.err("SELECT pg_sleep(5)", json!([]), "timeout").await;
    let body = sluice.ok("SELECT 1 AS one", json!([])).await;
    assert_eq!(body["rows"], json!([[1]]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_is_unavailable_not_a_hang() {
    let schema = PgSchema::new("").await;
    let sluice = std::sync::Arc::new(
        Sluice::with_datasource(&schema.datasource("pool_size = 1\nconnect_timeout_ms = 300")).await,
    );
    let busy = tokio::spawn({
        let sluice = std::sync::Arc::clone(&sluice);
        async move { sluice.query("SELECT pg_sleep(2)::text", json!([])).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    sluice.err("SELECT 1", json!([]), "unavailable").await;
    let (status, _) = busy.await.unwrap();
    assert_eq!(status, 200, "the busy request itself completes");
    sluice.ok("SELECT 1", json!([])).await;
}

#[tokio::test]
async fn an_oversized_returning_result_is_truncated_not_reported_as_a_failure() {
    let schema = PgSchema::new("CREATE TABLE t (id int)").await;
    let sluice = Sluice::with_datasource(&schema.datasource("max_rows = 2")).await;
    let body = sluice.ok("INSERT INTO t SELECT generate_series(1, 5) RETURNING id", json!([])).await;
    assert_eq!(body["rows_affected"], 5, "the write committed");
    assert_eq!(body["truncated"], true);
    assert_eq!(body["rows"], json!([[1], [2]]));
    sluice.err("SELECT id FROM t", json!([]), "too_large").await;
}
