//! Against the local PostgreSQL (127.0.0.1:5432, trust auth, user `postgres`, database
//! `sluice_test`, or `SLUICE_TEST_PG_URL`).
//! Each test works in its own schema and drops it.

// Test helpers outside `#[test]` functions may panic too (clippy.toml only covers the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use sluice_core::execute::{
    Cancel, Connector, ExecError, ExecRequest, Limits, Mode, ResultSet, Session, Value,
};
use sluice_postgres::{PostgresConnector, PostgresOptions};

mod common;

use common::{Schema, admin, url};

fn connector(app: &str, pool_size: usize) -> PostgresConnector {
    let mut opts = PostgresOptions::new(url());
    opts.pool_size = pool_size;
    opts.application_name = app.into();
    opts.connect_timeout = Duration::from_secs(2);
    PostgresConnector::new(opts).unwrap()
}

fn limits(ms: u64, max_rows: u64) -> Limits {
    Limits { statement_timeout: Duration::from_millis(ms), max_rows }
}

async fn exec(c: &PostgresConnector, sql: &str, params: &[Json], mode: Mode) -> Result<ResultSet, ExecError> {
    c.execute(ExecRequest {
        sql,
        params,
        mode,
        limits: limits(5000, 1000),
        session: &Session::NONE,
        cancel: &Cancel::NEVER,
    })
    .await
}

/// `sql` without parameters, under `limits`.
async fn exec_with(
    c: &PostgresConnector,
    sql: &str,
    mode: Mode,
    limits: Limits,
) -> Result<ResultSet, ExecError> {
    c.execute(ExecRequest { sql, params: &[], mode, limits, session: &Session::NONE, cancel: &Cancel::NEVER })
        .await
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[tokio::test]
async fn literal_types_decode_exactly() {
    let c = connector("sluice-test-types", 2);
    let sql = r#"SELECT true AS b, 1::int2 AS i2, 2::int4 AS i4,
        9223372036854775807::int8 AS i8max, (-9223372036854775808)::int8 AS i8min,
        0.1::float4 AS f4, 'NaN'::float8 AS f8,
        1234567890123456789012345678901234567890.123456789::numeric AS n,
        'NaN'::numeric AS nnan, '-Infinity'::numeric AS ninf, 0.000100::numeric AS nsmall,
        12.34::money AS m, 'x'::text AS t, 'ab'::char(3) AS bp,
        '\x00ff00'::bytea AS by, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid AS u,
        '{"a": [1, 2.5]}'::jsonb AS jb, '[1]'::json AS j,
        '2024-02-29'::date AS d, '12:34:56.5'::time AS tm,
        '2024-01-02 03:04:05'::timestamp AS ts,
        '2024-01-02 03:04:05.123456+02'::timestamptz AS tz,
        'infinity'::timestamptz AS tzinf, '-infinity'::date AS dinf,
        '1 year 2 months 3 days 04:05:06.5'::interval AS iv, '-1 day -00:00:01'::interval AS ivneg,
        ARRAY[1, NULL, 3]::int4[] AS ai, ARRAY['a', NULL]::text[] AS at,
        ARRAY[[1, 2], [3, 4]]::int8[] AS a2, '{}'::numeric[] AS aempty,
        NULL::int4 AS nul, '192.168.0.1'::inet AS ip, '10.0.0.0/8'::cidr AS net,
        'pg_class'::name AS nm, 7::oid AS o"#;
    let rs = exec(&c, sql, &[], Mode::Read).await.unwrap();
    let got: Vec<(String, Value)> =
        rs.columns.iter().map(|c| c.type_name.clone()).zip(rs.rows[0].clone()).collect();
    let expected: Vec<(&str, Value)> = vec![
        ("bool", Value::Bool(true)),
        ("int2", Value::Int(1)),
        ("int4", Value::Int(2)),
        ("int8", Value::Int8(i64::MAX)),
        ("int8", Value::Int8(i64::MIN)),
        ("float4", Value::Float(0.1)),
        ("float8", Value::Float(f64::NAN)),
        ("numeric", Value::Decimal("1234567890123456789012345678901234567890.123456789".into())),
        ("numeric", Value::Decimal("NaN".into())),
        ("numeric", Value::Decimal("-Infinity".into())),
        ("numeric", Value::Decimal("0.000100".into())),
        ("money", Value::Decimal("12.34".into())),
        ("text", text("x")),
        ("text", text("ab ")),
        ("bytes", Value::Bytes(vec![0, 255, 0])),
        ("uuid", Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())),
        ("json", Value::Json(r#"{"a": [1, 2.5]}"#.into())),
        ("json", Value::Json("[1]".into())),
        ("date", Value::Date("2024-02-29".into())),
        ("time", Value::Time("12:34:56.500000".into())),
        ("timestamp", Value::Timestamp("2024-01-02T03:04:05".into())),
        ("timestamptz", Value::TimestampTz("2024-01-02T01:04:05.123456Z".into())),
        ("timestamptz", Value::TimestampTz("infinity".into())),
        ("date", Value::Date("-infinity".into())),
        ("interval", Value::Interval("P1Y2M3DT4H5M6.5S".into())),
        ("interval", Value::Interval("P-1DT-1S".into())),
        ("int4[]", Value::Array(vec![Value::Int(1), Value::Null, Value::Int(3)])),
        ("text[]", Value::Array(vec![text("a"), Value::Null])),
        (
            "int8[]",
            Value::Array(vec![
                Value::Array(vec![Value::Int8(1), Value::Int8(2)]),
                Value::Array(vec![Value::Int8(3), Value::Int8(4)]),
            ]),
        ),
        ("numeric[]", Value::Array(vec![])),
        ("int4", Value::Null),
        ("text", text("192.168.0.1")),
        ("text", text("10.0.0.0/8")),
        ("text", text("pg_class")),
        ("int8", Value::Int8(7)),
    ];
    assert_eq!(got.len(), expected.len());
    for ((ty, v), (ety, ev)) in got.iter().zip(&expected) {
        assert_eq!(ty, ety);
        match (v, ev) {
            (Value::Float(a), Value::Float(b)) if b.is_nan() => assert!(a.is_nan()),
            _ => assert_eq!(v, ev, "column of type {ty}"),
        }
    }
    assert_eq!(rs.command, "SELECT");
    assert_eq!(rs.rows_affected, None);
    assert!(!rs.truncated);
}

#[tokio::test]
async fn params_round_trip_through_a_table() {
    let s = Schema::new().await;
    let c = connector("sluice-test-params", 2);
    let t = format!("{}.t", s.name);
    admin()
        .await
        .batch_execute(&format!(
            "CREATE TYPE {0}.mood AS ENUM ('sad', 'happy');
             CREATE DOMAIN {0}.posint AS int4 CHECK (VALUE > 0);
             CREATE TABLE {t} (b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
               n numeric, m money, tx text, vc varchar(10), by bytea, u uuid, j json, jb jsonb,
               d date, tm time, ts timestamp, tz timestamptz, iv interval, ip inet,
               e {0}.mood, p {0}.posint, ai int8[], an numeric[], at text[])",
            s.name
        ))
        .await
        .unwrap();
    let big = "-98765432109876543210987654321098765432109876543210.0000000001";
    let params = vec![
        json!(true),
        json!(-32768),
        json!(2147483647),
        json!("-9223372036854775808"),
        json!(1.5),
        json!("-Infinity"),
        json!(big),
        json!("-12.34"),
        json!("it's \"quoted\" \\ text"),
        json!("short"),
        json!("AP8AAQ=="),
        json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        json!({"k": null}),
        json!([1, "two"]),
        json!("1999-12-31"),
        json!("23:59:59.999999"),
        json!("2024-06-01T12:00:00.000001"),
        json!("2024-06-01T12:00:00+02:00"),
        json!("P1DT2H"),
        json!("::1"),
        json!("happy"),
        json!(5),
        json!([1, null, "9223372036854775807"]),
        json!(["1.5", null, 2, "NaN"]),
        json!(["a,b", "{\"}", null]),
    ];
    let placeholders: Vec<String> = (1..=params.len()).map(|i| format!("${i}")).collect();
    let insert = format!("INSERT INTO {t} VALUES ({})", placeholders.join(", "));
    let rs = exec(&c, &insert, &params, Mode::Write).await.unwrap();
    assert_eq!(rs.command, "INSERT");
    assert_eq!(rs.rows_affected, Some(1));

    let rs = exec(&c, &format!("SELECT * FROM {t}"), &[], Mode::Read).await.unwrap();
    let row = &rs.rows[0];
    let expected = vec![
        Value::Bool(true),
        Value::Int(-32768),
        Value::Int(2147483647),
        Value::Int8(i64::MIN),
        Value::Float(1.5),
        Value::Float(f64::NEG_INFINITY),
        Value::Decimal(big.into()),
        Value::Decimal("-12.34".into()),
        text("it's \"quoted\" \\ text"),
        text("short"),
        Value::Bytes(vec![0, 255, 0, 1]),
        Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
        // json keeps the text it was given: the parameter's compact serialisation.
        Value::Json(r#"{"k":null}"#.into()),
        Value::Json(r#"[1, "two"]"#.into()),
        Value::Date("1999-12-31".into()),
        Value::Time("23:59:59.999999".into()),
        Value::Timestamp("2024-06-01T12:00:00.000001".into()),
        Value::TimestampTz("2024-06-01T10:00:00Z".into()),
        Value::Interval("P1DT2H".into()),
        text("::1"),
        text("happy"),
        Value::Int(5),
        Value::Array(vec![Value::Int8(1), Value::Null, Value::Int8(i64::MAX)]),
        Value::Array(vec![
            Value::Decimal("1.5".into()),
            Value::Null,
            Value::Decimal("2".into()),
            Value::Decimal("NaN".into()),
        ]),
        Value::Array(vec![text("a,b"), text("{\"}"), Value::Null]),
    ];
    assert_eq!(row, &expected);
    let types: Vec<&str> = rs.columns.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(types[20..], ["text", "int4", "int8[]", "numeric[]", "text[]"]);

    // Every column accepts NULL.
    let nulls = vec![Json::Null; params.len()];
    exec(&c, &insert, &nulls, Mode::Write).await.unwrap();
    let rs = exec(&c, &format!("SELECT * FROM {t} WHERE b IS NULL"), &[], Mode::Read).await.unwrap();
    assert!(rs.rows[0].iter().all(|v| *v == Value::Null));
}

#[tokio::test]
async fn bad_params_are_param_errors() {
    let c = connector("sluice-test-badparams", 2);
    let cases: Vec<(&str, Vec<Json>, usize)> = vec![
        ("SELECT $1::int4", vec![json!(2147483648i64)], 1),
        ("SELECT $1::int2, $2::int2", vec![json!(1), json!(1.5)], 2),
        ("SELECT $1::int4", vec![], 1),
        ("SELECT $1::int4", vec![json!(1), json!(2)], 2),
        ("SELECT $1::bytea", vec![json!("not base64!")], 1),
        ("SELECT $1::uuid", vec![json!("nope")], 1),
        ("SELECT $1::numeric", vec![json!("1; DROP TABLE x")], 1),
        ("SELECT $1::bool", vec![json!("true")], 1),
        ("SELECT $1::text", vec![json!(5)], 1),
        ("SELECT $1::date", vec![json!("2024-02-30")], 1),
        ("SELECT $1::timestamptz", vec![json!("yesterday")], 1),
        ("SELECT $1::int4[]", vec![json!([[1]])], 1),
        ("SELECT $1::point", vec![json!("(1,2)")], 1),
    ];
    for (sql, params, index) in cases {
        match exec(&c, sql, &params, Mode::Read).await {
            Err(ExecError::Param { index: i, .. }) => assert_eq!(i, index, "{sql}"),
            other => panic!("{sql}: expected a Param error, got {other:?}"),
        }
    }
}

/// Types the server cannot send in binary come back as their text through a wrapped statement;
/// a statement that cannot be wrapped is refused before it runs, and a write runs once.
#[tokio::test]
async fn types_without_a_binary_form_are_asked_for_as_text() {
    let s = Schema::new().await;
    let c = connector("sluice-test-nobinary", 2);
    let t = format!("{}.acl", s.name);
    admin()
        .await
        .batch_execute(&format!(
            "CREATE TABLE {t} (id int4, a aclitem); INSERT INTO {t} VALUES (1, '=r/postgres'), (2, NULL)"
        ))
        .await
        .unwrap();

    let rs = exec(&c, "SELECT 'postgres=r/postgres'::aclitem AS p, $1::int8 AS n", &[json!("5")], Mode::Read)
        .await
        .unwrap();
    let types: Vec<&str> = rs.columns.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(types, ["aclitem", "int8"]);
    assert_eq!(rs.rows, [vec![text("postgres=r/postgres"), Value::Int8(5)]]);

    // The write's rows are drained past max_rows to count them, once.
    let rs = exec_with(&c, &format!("UPDATE {t} SET id = id + 10 RETURNING a"), Mode::Write, limits(5000, 1))
        .await
        .unwrap();
    assert_eq!((rs.rows.len(), rs.truncated, rs.rows_affected), (1, true, Some(2)));

    // A data-modifying WITH is allowed only at the top level, where the wrapping CTE stands.
    let nested =
        format!("WITH d AS (DELETE FROM {t} RETURNING *) INSERT INTO {t} SELECT * FROM d RETURNING a");
    match exec(&c, &nested, &[], Mode::Write).await {
        Err(ExecError::UnsupportedType { column, type_name }) => {
            assert_eq!((column.as_str(), type_name.as_str()), ("a", "aclitem"));
        }
        other => panic!("{other:?}"),
    }
    let rs = exec(&c, &format!("SELECT id FROM {t} ORDER BY id"), &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows, [vec![Value::Int(11)], vec![Value::Int(12)]]);
}

#[tokio::test]
async fn max_rows_truncates_exactly() {
    let s = Schema::new().await;
    let c = connector("sluice-test-rows", 2);
    let run = |max_rows| {
        let c = c.clone();
        async move {
            exec_with(&c, "SELECT g FROM generate_series(1, 5) g", Mode::Read, limits(5000, max_rows))
                .await
                .unwrap()
        }
    };
    let rs = run(3).await;
    assert_eq!((rs.rows.len(), rs.truncated), (3, true));
    let rs = run(5).await;
    assert_eq!((rs.rows.len(), rs.truncated), (5, false));
    let rs = run(0).await;
    assert_eq!((rs.rows.len(), rs.truncated), (0, true));

    // A write's RETURNING rows are capped too, but the write happens in full and is counted.
    let t = format!("{}.w", s.name);
    exec(&c, &format!("CREATE TABLE {t} (x int)"), &[], Mode::Write).await.unwrap();
    let rs = exec_with(
        &c,
        &format!("INSERT INTO {t} SELECT g FROM generate_series(1, 25000) g RETURNING x"),
        Mode::Write,
        limits(5000, 2),
    )
    .await
    .unwrap();
    assert_eq!((rs.rows.len(), rs.truncated, rs.rows_affected), (2, true, Some(25000)));
    let rs = exec(&c, &format!("SELECT count(*) FROM {t}"), &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows[0][0], Value::Int8(25000));
}

#[tokio::test]
async fn read_mode_cannot_write() {
    let s = Schema::new().await;
    let c = connector("sluice-test-ro", 2);
    let t = format!("{}.t", s.name);
    exec(&c, &format!("CREATE TABLE {t} (x int)"), &[], Mode::Write).await.unwrap();
    let err = exec(&c, &format!("INSERT INTO {t} VALUES (1)"), &[], Mode::Read).await.unwrap_err();
    assert_eq!(
        err,
        ExecError::Upstream {
            code: Some("25006".into()),
            message: "cannot execute INSERT in a read-only transaction".into()
        }
    );
}

#[tokio::test]
async fn session_settings_are_pinned_and_reset() {
    let c = connector("sluice-test-session", 1);
    exec(&c, "SET TimeZone = 'Europe/Paris'", &[], Mode::Write).await.unwrap();
    for (setting, value) in [
        ("TimeZone", "UTC"),
        ("DateStyle", "ISO, MDY"),
        ("IntervalStyle", "iso_8601"),
        ("standard_conforming_strings", "on"),
    ] {
        let rs = exec(&c, &format!("SHOW {setting}"), &[], Mode::Read).await.unwrap();
        assert_eq!(rs.rows[0][0], text(value), "{setting}");
    }
}

/// A statement may change its session through a function (a setting, an advisory lock, a
/// sequence's `lastval`); the next request on the same connection sees none of it.
#[tokio::test]
async fn no_session_state_survives_a_request() {
    let s = Schema::new().await;
    let c = connector("sluice-test-state", 1);
    let pid = |c: PostgresConnector| async move {
        exec(&c, "SELECT pg_backend_pid()", &[], Mode::Read).await.unwrap().rows[0][0].clone()
    };
    let first = pid(c.clone()).await;
    exec(
        &c,
        "SELECT set_config('application_name', 'leaked', false), set_config('default_transaction_read_only',          'off', false), pg_advisory_lock(4242)",
        &[],
        Mode::Read,
    )
    .await
    .unwrap();
    let rs = exec(
        &c,
        "SELECT current_setting('application_name'), current_setting('default_transaction_read_only'),          (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())",
        &[],
        Mode::Read,
    )
    .await
    .unwrap();
    assert_eq!(rs.rows[0], vec![text("sluice-test-state"), text("on"), Value::Int8(0)]);
    let t = format!("{}.seq", s.name);
    exec(&c, &format!("CREATE TABLE {t} (id serial)"), &[], Mode::Write).await.unwrap();
    exec(&c, &format!("INSERT INTO {t} DEFAULT VALUES"), &[], Mode::Write).await.unwrap();
    let err = exec(&c, "SELECT lastval()", &[], Mode::Read).await.unwrap_err();
    assert!(matches!(&err, ExecError::Upstream { code: Some(code), .. } if code == "55000"), "{err:?}");
    // Errors do not leave the connection dirty either: the same connection served all of it.
    assert_eq!(pid(c.clone()).await, first);
}

/// A statement prepared on a connection before a schema change is prepared again, not failed:
/// PostgreSQL refuses the cached one when it is bound, before anything runs.
#[tokio::test]
async fn a_statement_cached_before_a_schema_change_is_prepared_again() {
    let s = Schema::new().await;
    let c = connector("sluice-test-stale", 1);
    let t = format!("{}.t", s.name);
    exec(&c, &format!("CREATE TABLE {t} (x int)"), &[], Mode::Write).await.unwrap();
    exec(&c, &format!("INSERT INTO {t} VALUES (1)"), &[], Mode::Write).await.unwrap();
    let select = format!("SELECT * FROM {t}");
    let rs = exec(&c, &select, &[], Mode::Read).await.unwrap();
    assert_eq!(rs.columns.len(), 1);
    exec(&c, &format!("ALTER TABLE {t} ADD COLUMN y text DEFAULT 'new'"), &[], Mode::Write).await.unwrap();
    let rs = exec(&c, &select, &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int(1), text("new")]]);
}

/// A read past `max_rows` is cancelled on the server once its rows are in, and its connection
/// (which the cancel could otherwise reach later) is closed, not reused.
#[tokio::test]
async fn a_truncated_read_is_stopped_and_its_connection_closed() {
    let c = connector("sluice-test-truncate", 1);
    let pid = exec(&c, "SELECT pg_backend_pid()", &[], Mode::Read).await.unwrap().rows[0][0].clone();
    let rs = exec_with(&c, "SELECT g FROM generate_series(1, 100000000) g", Mode::Read, limits(60_000, 2))
        .await
        .unwrap();
    assert_eq!((rs.rows.len(), rs.truncated), (2, true));
    let after = exec(&c, "SELECT pg_backend_pid()", &[], Mode::Read).await.unwrap().rows[0][0].clone();
    assert_ne!(after, pid, "the connection that had a cancel sent was reused");
}

#[tokio::test]
async fn timeout_cancels_and_the_pool_recovers() {
    let c = connector("sluice-test-timeout", 1);
    let started = Instant::now();
    let err = exec_with(&c, "SELECT pg_sleep(5)", Mode::Read, limits(300, 10)).await.unwrap_err();
    assert_eq!(err, ExecError::Timeout(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(2));
    let rs = exec(&c, "SELECT 1 AS one", &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int(1)]]);
}

#[tokio::test]
async fn terminated_backend_is_unavailable_then_recovers() {
    let app = format!("sluice-test-kill-{}", uuid::Uuid::new_v4().simple());
    let c = connector(&app, 1);
    let c2 = c.clone();
    let query =
        tokio::spawn(
            async move { exec_with(&c2, "SELECT pg_sleep(5)", Mode::Read, limits(10_000, 10)).await },
        );
    let admin = admin().await;
    let mut killed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let rows = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = $1 AND query LIKE 'SELECT pg_sleep%'",
                &[&app],
            )
            .await
            .unwrap();
        if !rows.is_empty() {
            killed = true;
            break;
        }
    }
    assert!(killed);
    let err = query.await.unwrap().unwrap_err();
    assert!(matches!(err, ExecError::Unavailable(_)), "{err:?}");
    let rs = exec(&c, "SELECT 2 AS two", &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int(2)]]);
    c.ping().await.unwrap();
}

#[tokio::test]
async fn unreachable_server_is_unavailable_quickly() {
    let mut opts = PostgresOptions::new("postgres://postgres@127.0.0.1:1/test");
    opts.connect_timeout = Duration::from_millis(500);
    let c = PostgresConnector::new(opts).unwrap();
    let started = Instant::now();
    let err = exec(&c, "SELECT 1", &[], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Unavailable(_)), "{err:?}");
    assert!(matches!(c.ping().await, Err(ExecError::Unavailable(_))));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn upstream_errors_do_not_quote_row_data() {
    let s = Schema::new().await;
    let c = connector("sluice-test-sanitise", 2);
    let t = format!("{}.u", s.name);
    exec(&c, &format!("CREATE TABLE {t} (email text PRIMARY KEY)"), &[], Mode::Write).await.unwrap();
    let insert = format!("INSERT INTO {t} VALUES ($1)");
    exec(&c, &insert, &[json!("secret@example.com")], Mode::Write).await.unwrap();
    let err = exec(&c, &insert, &[json!("secret@example.com")], Mode::Write).await.unwrap_err();
    let ExecError::Upstream { code, message } = &err else { panic!("{err:?}") };
    assert_eq!(code.as_deref(), Some("23505"));
    assert!(!message.contains("secret"), "{message}");
    assert!(!err.to_string().contains("secret"));
    // Syntax errors map to Upstream with their SQLSTATE.
    let err = exec(&c, "SELEC 1", &[], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Upstream { code: Some(ref c), .. } if c == "42601"), "{err:?}");
}
