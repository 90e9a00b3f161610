//! Against the local MariaDB (127.0.0.1:3306, user root, no password, database `sluice_test`, or
//! `SLUICE_TEST_MYSQL_URL`). Each test works in its
//! own database and drops it.

// Test helpers outside `#[test]` functions may panic too (clippy.toml only covers the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable as _;
use serde_json::{Value as Json, json};
use sluice_core::execute::{
    Cancel, Connector, ExecError, ExecRequest, Limits, Mode, ResultSet, Session, Value,
};
use sluice_mysql::{MySqlConnector, MySqlOptions};

/// `SLUICE_TEST_MYSQL_URL`, default the database `tests/run` creates.
fn url() -> String {
    std::env::var("SLUICE_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/sluice_test".into())
}

fn connector(pool_size: usize) -> MySqlConnector {
    let mut opts = MySqlOptions::new(url());
    opts.pool_size = pool_size;
    opts.connect_timeout = Duration::from_secs(3);
    MySqlConnector::new(opts).unwrap()
}

async fn admin() -> mysql_async::Conn {
    mysql_async::Conn::from_url(url()).await.unwrap()
}

/// A database dropped when the test ends.
struct Db {
    name: String,
}

impl Db {
    async fn new() -> Db {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        admin().await.query_drop(format!("CREATE DATABASE {name}")).await.unwrap();
        Db { name }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {}", self.name);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let mut conn = admin().await;
                let _ = conn.query_drop(sql).await;
                let _ = conn.disconnect().await;
            });
        })
        .join()
        .unwrap();
    }
}

fn limits(ms: u64, max_rows: u64) -> Limits {
    Limits { statement_timeout: Duration::from_millis(ms), max_rows }
}

async fn exec(c: &MySqlConnector, sql: &str, params: &[Json], mode: Mode) -> Result<ResultSet, ExecError> {
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

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[tokio::test]
async fn types_round_trip() {
    let db = Db::new().await;
    let c = connector(2);
    let t = format!("{}.t", db.name);
    exec(
        &c,
        &format!(
            "CREATE TABLE {t} (ti TINYINT, si SMALLINT, su SMALLINT UNSIGNED, mi MEDIUMINT, i INT,
              iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, n DECIMAL(50, 10),
              vc VARCHAR(20), tx TEXT, vb VARBINARY(10), bl BLOB, bt BIT(12), e ENUM('a', 'b'),
              st SET('x', 'y'), j JSON, dt DATE, tm TIME(6), dtt DATETIME(6), ts TIMESTAMP(6) NULL,
              y YEAR)"
        ),
        &[],
        Mode::Write,
    )
    .await
    .unwrap();
    let params = vec![
        json!(-128),
        json!(-32768),
        json!(65535),
        json!(-8388608),
        json!(-2147483648i64),
        json!(4294967295u64),
        json!("-9223372036854775808"),
        json!(18446744073709551615u64),
        json!(0.1),
        json!(1e300),
        json!("-1234567890123456789012345678901234567890.0123456789"),
        json!("it's \\ \"x\""),
        json!("ünïcödé ✓"),
        json!("bin"),
        json!("blob"),
        json!(5),
        json!("b"),
        json!("x,y"),
        json!({"k": [1, 2]}),
        json!("2024-02-29"),
        json!("-838:59:59"),
        json!("2024-01-02 03:04:05.000006"),
        json!("2024-01-02 03:04:05"),
        json!(2024),
    ];
    let marks = vec!["?"; params.len()].join(", ");
    let rs = exec(&c, &format!("INSERT INTO {t} VALUES ({marks})"), &params, Mode::Write).await.unwrap();
    assert_eq!((rs.command.as_str(), rs.rows_affected), ("INSERT", Some(1)));
    exec(&c, &format!("INSERT INTO {t} () VALUES ()"), &[], Mode::Write).await.unwrap();

    let rs = exec(&c, &format!("SELECT * FROM {t} ORDER BY ti DESC"), &[], Mode::Read).await.unwrap();
    let types: Vec<&str> = rs.columns.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(
        types,
        [
            "int2",
            "int2",
            "int4",
            "int4",
            "int4",
            "int8",
            "int8",
            "numeric",
            "float4",
            "float8",
            "numeric",
            "text",
            "text",
            "bytes",
            "bytes",
            "bytes",
            "text",
            "text",
            "text",
            "date",
            "interval",
            "timestamp",
            "timestamptz",
            "int2"
        ]
    );
    let expected = vec![
        Value::Int(-128),
        Value::Int(-32768),
        Value::Int(65535),
        Value::Int(-8388608),
        Value::Int(-2147483648),
        Value::Int8(4294967295),
        Value::Int8(i64::MIN),
        Value::UInt8(u64::MAX),
        Value::Float(0.1),
        Value::Float(1e300),
        Value::Decimal("-1234567890123456789012345678901234567890.0123456789".into()),
        text("it's \\ \"x\""),
        text("ünïcödé ✓"),
        Value::Bytes(b"bin".to_vec()),
        Value::Bytes(b"blob".to_vec()),
        Value::Bytes(vec![0, 5]),
        text("b"),
        text("x,y"),
        // MariaDB: JSON is LONGTEXT with a check constraint.
        text("{\"k\":[1,2]}"),
        Value::Date("2024-02-29".into()),
        // Negative: a duration, not a time of day.
        Value::Interval("PT-838H-59M-59S".into()),
        Value::Timestamp("2024-01-02T03:04:05.000006".into()),
        Value::TimestampTz("2024-01-02T03:04:05Z".into()),
        Value::Int(2024),
    ];
    assert_eq!(rs.rows[0], expected);
    assert!(rs.rows[1].iter().all(|v| *v == Value::Null));

    // JSON values and MySQL-side conversion of string parameters.
    let rs = exec(
        &c,
        "SELECT ? AS a, ? + 1 AS b, CAST(? AS DECIMAL(5,2)) AS c, ? AS d",
        &[json!(null), json!(41), json!("1.5"), json!(true)],
        Mode::Read,
    )
    .await
    .unwrap();
    assert_eq!(rs.rows[0][1], Value::Int8(42));
    assert_eq!(rs.rows[0][2], Value::Decimal("1.50".into()));
    assert_eq!(rs.rows[0][0], Value::Null);
}

#[tokio::test]
async fn param_count_mismatch_is_a_param_error() {
    let c = connector(1);
    let err = exec(&c, "SELECT ?, ?", &[json!(1)], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Param { index: 2, .. }), "{err:?}");
    let err = exec(&c, "SELECT 1", &[json!(1)], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Param { index: 1, .. }), "{err:?}");
}

#[tokio::test]
async fn max_rows_truncates_exactly() {
    let c = connector(1);
    let sql = "SELECT seq FROM seq_1_to_5";
    for (max_rows, len, truncated) in [(3, 3, true), (5, 5, false), (0, 0, true)] {
        let rs = c
            .execute(ExecRequest {
                sql,
                params: &[],
                mode: Mode::Read,
                limits: limits(5000, max_rows),
                session: &Session::NONE,
                cancel: &Cancel::NEVER,
            })
            .await
            .unwrap();
        assert_eq!((rs.rows.len(), rs.truncated), (len, truncated));
    }
    // The connection is clean afterwards.
    let rs = exec(&c, "SELECT 7 AS x", &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int(7)]]);
}

#[tokio::test]
async fn read_mode_cannot_write_and_session_is_pinned() {
    let db = Db::new().await;
    let c = connector(1);
    let t = format!("{}.t", db.name);
    exec(&c, &format!("CREATE TABLE {t} (x INT)"), &[], Mode::Write).await.unwrap();
    let err = exec(&c, &format!("INSERT INTO {t} VALUES (1)"), &[], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Upstream { code: Some(ref c), .. } if c == "1792"), "{err:?}");
    // Settings survive a connection reset between requests: a statement that changes its
    // session (the analyser refuses these; the connector must not rely on it) leaves nothing
    // for the next one on the same connection (one per pool here).
    exec(&c, "SET SESSION sql_mode = 'ANSI_QUOTES'", &[], Mode::Read).await.unwrap();
    let rs = exec(&c, "SELECT @@sql_mode AS m, @@time_zone AS tz", &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows[0], vec![text(sluice_mysql::SQL_MODE), text("+00:00")]);
    exec(&c, "SET SESSION TRANSACTION READ WRITE", &[], Mode::Read).await.unwrap();
    let err = exec(&c, &format!("INSERT INTO {t} VALUES (2)"), &[], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Upstream { code: Some(ref c), .. } if c == "1792"), "{err:?}");
    exec(&c, &format!("INSERT INTO {t} VALUES (3)"), &[], Mode::Write).await.unwrap();
}

#[tokio::test]
async fn timeout_kills_and_the_pool_recovers() {
    let c = connector(1);
    let started = Instant::now();
    let err = c
        .execute(ExecRequest {
            sql: "SELECT SLEEP(5)",
            params: &[],
            mode: Mode::Read,
            limits: limits(300, 10),
            session: &Session::NONE,
            cancel: &Cancel::NEVER,
        })
        .await
        .unwrap_err();
    assert_eq!(err, ExecError::Timeout(Duration::from_millis(300)));
    let rs = exec(&c, "SELECT 1 AS one", &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int(1)]]);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn killed_connection_is_unavailable_then_recovers() {
    let c = connector(1);
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let sql = format!("SELECT SLEEP(5) AS `{marker}`");
    let c2 = c.clone();
    let sql2 = sql.clone();
    let query = tokio::spawn(async move {
        c2.execute(ExecRequest {
            sql: &sql2,
            params: &[],
            mode: Mode::Read,
            limits: limits(10_000, 10),
            session: &Session::NONE,
            cancel: &Cancel::NEVER,
        })
        .await
    });
    let mut admin = admin().await;
    let mut killed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let ids: Vec<u64> = admin
            .exec("SELECT id FROM information_schema.processlist WHERE info = ?", (sql.clone(),))
            .await
            .unwrap();
        if let Some(id) = ids.first() {
            admin.query_drop(format!("KILL {id}")).await.unwrap();
            killed = true;
            break;
        }
    }
    assert!(killed);
    let err = query.await.unwrap().unwrap_err();
    assert!(matches!(err, ExecError::Unavailable(_) | ExecError::Upstream { .. }), "{err:?}");
    let rs = exec(&c, "SELECT 2 AS two", &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int(2)]]);
    c.ping().await.unwrap();
}

#[tokio::test]
async fn unreachable_server_is_unavailable_quickly() {
    let mut opts = MySqlOptions::new("mysql://root@127.0.0.1:1/test");
    opts.connect_timeout = Duration::from_millis(500);
    let c = MySqlConnector::new(opts).unwrap();
    let started = Instant::now();
    let err = exec(&c, "SELECT 1", &[], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Unavailable(_)), "{err:?}");
    assert!(matches!(c.ping().await, Err(ExecError::Unavailable(_))));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn upstream_errors_do_not_quote_row_data() {
    let db = Db::new().await;
    let c = connector(1);
    let t = format!("{}.u", db.name);
    exec(&c, &format!("CREATE TABLE {t} (email VARCHAR(50) PRIMARY KEY, n INT)"), &[], Mode::Write)
        .await
        .unwrap();
    let insert = format!("INSERT INTO {t} (email) VALUES (?)");
    exec(&c, &insert, &[json!("secret@example.com")], Mode::Write).await.unwrap();
    let err = exec(&c, &insert, &[json!("secret@example.com")], Mode::Write).await.unwrap_err();
    let ExecError::Upstream { code, message } = &err else { panic!("{err:?}") };
    assert_eq!(code.as_deref(), Some("1062"));
    assert!(!message.contains("secret"), "{message}");
    let err = exec(&c, &format!("UPDATE {t} SET n = email"), &[], Mode::Write).await.unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
    let err = exec(&c, "SELEC 1", &[], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Upstream { code: Some(ref c), .. } if c == "1064"), "{err:?}");
}

fn rel(schema: Option<&str>, name: &str) -> sluice_core::analyse::RelationName {
    sluice_core::analyse::RelationName { schema: schema.map(str::to_owned), name: name.to_owned() }
}

#[tokio::test]
async fn catalog_lists_tables_and_views_and_resolves_names() {
    use sluice_core::execute::{NameFolding, RelationKind};
    let db = Db::new().await;
    let mut admin = admin().await;
    admin
        .query_drop(format!(
            "CREATE TABLE {0}.t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, amount DECIMAL(10, 2),
               big BIGINT UNSIGNED, at TIMESTAMP NULL, flag TINYINT NOT NULL DEFAULT 0)",
            db.name
        ))
        .await
        .unwrap();
    admin.query_drop(format!("CREATE VIEW {0}.v AS SELECT id, name FROM {0}.t", db.name)).await.unwrap();
    let lower_case: u64 = admin.query_first("SELECT @@lower_case_table_names").await.unwrap().unwrap();
    let base = url();
    let server = base.rsplit_once('/').map_or(base.as_str(), |(server, _)| server);
    let c = MySqlConnector::new(MySqlOptions::new(format!("{server}/{}", db.name))).unwrap();
    let catalog = c.catalog().await.unwrap();
    assert_eq!(catalog.search_path, vec![db.name.clone()]);
    let expected_folding = if lower_case == 0 { NameFolding::Exact } else { NameFolding::Lower };
    assert_eq!(catalog.folding, expected_folding);
    assert_eq!(catalog.relations.len(), 2);

    let (key, t) = catalog.resolve(&rel(None, "t")).unwrap();
    assert_eq!(key, &rel(Some(&db.name), "t"));
    assert_eq!(t.kind, RelationKind::Table);
    let cols: Vec<(&str, &str, bool)> =
        t.columns.iter().map(|c| (c.name.as_str(), c.type_name.as_str(), c.nullable)).collect();
    assert_eq!(
        cols,
        vec![
            ("id", "int4", false),
            ("name", "text", false),
            ("amount", "numeric", true),
            ("big", "numeric", true),
            ("at", "timestamptz", true),
            ("flag", "int2", false),
        ]
    );

    let (_, v) = catalog.resolve(&rel(Some(&db.name), "v")).unwrap();
    assert_eq!(v.kind, RelationKind::View);
    let cols: Vec<(&str, &str, bool)> =
        v.columns.iter().map(|c| (c.name.as_str(), c.type_name.as_str(), c.nullable)).collect();
    assert_eq!(cols, vec![("id", "int4", false), ("name", "text", false)]);

    assert!(catalog.resolve(&rel(None, "missing")).is_none());
    assert!(catalog.resolve(&rel(Some("mysql"), "t")).is_none());
    assert_eq!(catalog.resolve(&rel(None, "T")).is_some(), lower_case != 0);
    admin.disconnect().await.unwrap();
}

/// Runs `sql` in `session` on `c`.
async fn exec_in(
    c: &MySqlConnector,
    sql: &str,
    session: &Session,
) -> Result<sluice_core::execute::ResultSet, ExecError> {
    let request = ExecRequest {
        sql,
        params: &[],
        mode: Mode::Read,
        limits: limits(5000, 10),
        session,
        cancel: &Cancel::NEVER,
    };
    c.execute(request).await
}

#[tokio::test]
async fn session_settings_are_refused() {
    let c = connector(1);
    assert_eq!(c.session_support(), sluice_core::execute::SessionSupport { role: true, settings: false });
    let session = Session { role: None, settings: vec![("sluice.tenant_id".into(), "1".into())] };
    let err = exec_in(&c, "SELECT 1", &session).await.unwrap_err();
    assert!(matches!(&err, ExecError::Session(m) if m.contains("MySQL")), "{err:?}");
}

#[tokio::test]
async fn a_role_holds_for_its_statement_only() {
    let c = connector(1);
    let role = format!("sluice_t_{}", uuid::Uuid::new_v4().simple());
    let opts = mysql_async::Opts::from_url(&url()).unwrap();
    let mut admin = mysql_async::Conn::new(opts).await.unwrap();
    admin.query_drop(format!("CREATE ROLE {role}")).await.unwrap();
    admin.query_drop(format!("GRANT {role} TO CURRENT_USER()")).await.unwrap();
    let with_role = Session { role: Some(role.clone()), settings: vec![] };
    let which = "SELECT CURRENT_ROLE()";
    // One pooled connection: every statement below runs on it.
    for _ in 0..2 {
        let result = exec_in(&c, which, &with_role).await.unwrap();
        assert_eq!(result.rows[0][0], Value::Text(role.clone()));
        let result = exec_in(&c, which, &Session::NONE).await.unwrap();
        assert_eq!(result.rows[0][0], Value::Null, "the role ended with its statement");
    }
    // A role the login does not hold fails the statement, and nothing is left behind.
    let missing = Session { role: Some("sluice_no_such_role".into()), settings: vec![] };
    let err = exec_in(&c, which, &missing).await.unwrap_err();
    assert!(matches!(err, ExecError::Upstream { .. }), "{err:?}");
    let result = exec_in(&c, which, &Session::NONE).await.unwrap();
    assert_eq!(result.rows[0][0], Value::Null);
    admin.query_drop(format!("DROP ROLE {role}")).await.unwrap();
    admin.disconnect().await.unwrap();
}

#[tokio::test]
async fn pooled_connections_are_reused_not_reopened() {
    let c = connector(4);
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let result = exec(&c, "SELECT CONNECTION_ID()", &[], Mode::Read).await.unwrap();
        ids.insert(format!("{:?}", result.rows[0][0]));
        // Let the pool reset the connection and take it back before the next checkout.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ids.len() <= 2, "10 sequential reads opened {} connections: {ids:?}", ids.len());
}
