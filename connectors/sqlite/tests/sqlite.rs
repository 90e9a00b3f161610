//! Against temporary SQLite files, each test in its own directory.

// Test helpers outside `#[test]` functions may panic too (clippy.toml only covers the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use sluice_core::execute::{
    Cancel, Connector, ExecError, ExecRequest, Limits, Mode, ResultSet, Session, Value,
};
use sluice_sqlite::{SqliteConnector, SqliteOptions};

/// A temporary directory removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let dir = std::env::temp_dir().join(format!("sluice-sqlite-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        Dir(dir)
    }

    fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const SCHEMA: &str = "CREATE TABLE t (i INTEGER PRIMARY KEY, r REAL, tx TEXT, b BLOB, n NUMERIC,
  d DECIMAL(10, 2), flag BOOLEAN, day DATE, at DATETIME, j JSON, v VARCHAR(10), u TEXT UNIQUE);";
const SEED: &str = "INSERT INTO t VALUES (1, 1.5, 'one', x'00ff00', 12.5, 3, 1, '2024-02-29',
  '2024-01-02 03:04:05', '{\"a\": [1]}', 'v', 'u1');
  INSERT INTO t (i) VALUES (9223372036854775807);";

fn connector(dir: &Dir) -> SqliteConnector {
    let mut opts = SqliteOptions::new(dir.0.join("db.sqlite"));
    opts.bootstrap = vec![dir.file("schema.sql", SCHEMA), dir.file("seed.sql", SEED)];
    SqliteConnector::new(opts).unwrap()
}

fn limits(ms: u64, max_rows: u64) -> Limits {
    Limits { statement_timeout: Duration::from_millis(ms), max_rows }
}

async fn exec(c: &SqliteConnector, sql: &str, params: &[Json], mode: Mode) -> Result<ResultSet, ExecError> {
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
async fn bootstrap_and_types() {
    let dir = Dir::new();
    let c = connector(&dir);
    let rs = exec(&c, "SELECT * FROM t ORDER BY i", &[], Mode::Read).await.unwrap();
    let types: Vec<&str> = rs.columns.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(
        types,
        [
            "int8", "float8", "text", "bytes", "numeric", "numeric", "bool", "text", "text", "json", "text",
            "text"
        ]
    );
    assert_eq!(
        rs.rows[0],
        vec![
            Value::Int8(1),
            Value::Float(1.5),
            text("one"),
            Value::Bytes(vec![0, 255, 0]),
            Value::Decimal("12.5".into()),
            Value::Decimal("3".into()),
            Value::Bool(true),
            text("2024-02-29"),
            text("2024-01-02 03:04:05"),
            Value::Json(r#"{"a": [1]}"#.into()),
            text("v"),
            text("u1"),
        ]
    );
    assert_eq!(rs.rows[1][0], Value::Int8(i64::MAX));
    assert!(rs.rows[1][1..].iter().all(|v| *v == Value::Null));
    assert_eq!((rs.command.as_str(), rs.rows_affected, rs.truncated), ("SELECT", None, false));

    // Expression columns are typed by their values; all-null ones are text.
    let rs =
        exec(&c, "SELECT 1 AS a, 2.5 AS b, 'x' AS c, x'01' AS d, NULL AS e", &[], Mode::Read).await.unwrap();
    let types: Vec<&str> = rs.columns.iter().map(|c| c.type_name.as_str()).collect();
    assert_eq!(types, ["int8", "float8", "text", "bytes", "text"]);

    // A second connector on the existing file does not bootstrap again.
    let again = connector(&dir);
    let rs = exec(&again, "SELECT count(*) AS n FROM t", &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows[0][0], Value::Int8(2));
}

#[tokio::test]
async fn params_bind_and_bad_ones_are_rejected() {
    let dir = Dir::new();
    let c = connector(&dir);
    let rs = exec(
        &c,
        "INSERT INTO t (i, r, tx, flag, j) VALUES (?, ?, ?, ?, ?)",
        &[json!(2), json!(0.25), json!("it's"), json!(false), json!({"k": [null]})],
        Mode::Write,
    )
    .await
    .unwrap();
    assert_eq!((rs.command.as_str(), rs.rows_affected), ("INSERT", Some(1)));
    let rs = exec(&c, "SELECT r, tx, flag, j FROM t WHERE i = ?", &[json!(2)], Mode::Read).await.unwrap();
    assert_eq!(
        rs.rows,
        vec![vec![
            Value::Float(0.25),
            text("it's"),
            Value::Bool(false),
            Value::Json(r#"{"k":[null]}"#.into())
        ]]
    );
    let err = exec(&c, "SELECT ?", &[json!(u64::MAX)], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Param { index: 1, .. }), "{err:?}");
    let err = exec(&c, "SELECT ?, ?", &[json!(1)], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Param { index: 2, .. }), "{err:?}");
}

#[tokio::test]
async fn max_rows_truncates_exactly_and_returning_writes_count() {
    let dir = Dir::new();
    let c = connector(&dir);
    let sql = "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 5) SELECT x FROM g";
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
    let rs = c
        .execute(ExecRequest {
            sql: "UPDATE t SET tx = 'z' RETURNING i",
            params: &[],
            mode: Mode::Write,
            limits: limits(5000, 1),
            session: &Session::NONE,
            cancel: &Cancel::NEVER,
        })
        .await
        .unwrap();
    assert_eq!((rs.rows.len(), rs.truncated, rs.rows_affected), (1, true, Some(2)));
    let rs = exec(&c, "SELECT count(*) FROM t WHERE tx = 'z'", &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows[0][0], Value::Int8(2));
}

#[tokio::test]
async fn read_mode_cannot_write_and_attach_is_impossible() {
    let dir = Dir::new();
    let c = connector(&dir);
    let err = exec(&c, "DELETE FROM t", &[], Mode::Read).await.unwrap_err();
    assert!(
        matches!(err, ExecError::Upstream { ref code, .. } if code.as_deref() == Some("SQLITE_READONLY"))
    );
    // query_only was reset: the same connection writes in write mode.
    exec(&c, "DELETE FROM t WHERE i = 1", &[], Mode::Write).await.unwrap();
    let other = dir.0.join("other.sqlite");
    let err =
        exec(&c, &format!("ATTACH DATABASE '{}' AS o", other.display()), &[], Mode::Write).await.unwrap_err();
    assert!(matches!(err, ExecError::Upstream { .. }), "{err:?}");
    assert!(!other.exists());
    let err = exec(&c, "SELECT load_extension('x')", &[], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Upstream { .. }), "{err:?}");
}

#[tokio::test]
async fn timeout_interrupts_and_the_pool_recovers() {
    let dir = Dir::new();
    let mut opts = SqliteOptions::new(dir.0.join("db.sqlite"));
    opts.bootstrap = vec![dir.file("schema.sql", SCHEMA)];
    opts.pool_size = 1;
    let c = SqliteConnector::new(opts).unwrap();
    let started = Instant::now();
    let err = c
        .execute(ExecRequest {
            sql: "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g) SELECT count(*) FROM g",
            params: &[],
            mode: Mode::Read,
            limits: limits(300, 10),
            session: &Session::NONE,
            cancel: &Cancel::NEVER,
        })
        .await
        .unwrap_err();
    assert_eq!(err, ExecError::Timeout(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(2));
    let rs = exec(&c, "SELECT 1", &[], Mode::Read).await.unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int8(1)]]);
    c.ping().await.unwrap();
}

#[tokio::test]
async fn missing_files_and_failed_bootstraps_are_clear_errors() {
    let dir = Dir::new();
    let err = SqliteConnector::new(SqliteOptions::new(dir.0.join("none.sqlite"))).unwrap_err();
    assert!(matches!(err, ExecError::Unavailable(ref m) if m.contains("does not exist")), "{err:?}");
    let err = SqliteConnector::new(SqliteOptions::new(dir.0.join("no/such/dir.sqlite"))).unwrap_err();
    assert!(matches!(err, ExecError::Unavailable(ref m) if m.contains("directory")), "{err:?}");
    let mut opts = SqliteOptions::new(dir.0.join("bad.sqlite"));
    opts.bootstrap = vec![dir.file("bad.sql", "CREATE TABLE x (a); NOT SQL;")];
    assert!(SqliteConnector::new(opts).is_err());
    assert!(!dir.0.join("bad.sqlite").exists());
}

#[tokio::test]
async fn constraint_errors_keep_code_and_no_values() {
    let dir = Dir::new();
    let c = connector(&dir);
    let insert = "INSERT INTO t (i, u) VALUES (?, ?)";
    exec(&c, insert, &[json!(5), json!("secret@example.com")], Mode::Write).await.unwrap();
    let err = exec(&c, insert, &[json!(6), json!("secret@example.com")], Mode::Write).await.unwrap_err();
    let ExecError::Upstream { code, message } = &err else { panic!("{err:?}") };
    assert_eq!(code.as_deref(), Some("SQLITE_CONSTRAINT_UNIQUE"));
    assert!(!message.contains("secret"), "{message}");
    let err = exec(&c, "SELEC 1", &[], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Upstream { .. }), "{err:?}");
    let err = exec(&c, "SELECT 1; SELECT 2", &[], Mode::Read).await.unwrap_err();
    assert!(matches!(err, ExecError::Upstream { .. }), "{err:?}");
}

fn rel(schema: Option<&str>, name: &str) -> sluice_core::analyse::RelationName {
    sluice_core::analyse::RelationName { schema: schema.map(str::to_owned), name: name.to_owned() }
}

#[tokio::test]
async fn catalog_lists_tables_and_views_and_resolves_names() {
    use sluice_core::execute::RelationKind;
    let dir = Dir::new();
    let c = connector(&dir);
    exec(
        &c,
        "CREATE TABLE Items (id INTEGER NOT NULL, label TEXT, price REAL NOT NULL, raw)",
        &[],
        Mode::Write,
    )
    .await
    .unwrap();
    exec(&c, "CREATE VIEW cheap AS SELECT id, label, price * 2 AS dbl FROM Items", &[], Mode::Write)
        .await
        .unwrap();
    let catalog = c.catalog().await.unwrap();
    assert_eq!(catalog.search_path, vec!["main".to_owned()]);
    let names: Vec<&str> = catalog.relations.keys().map(|k| k.name.as_str()).collect();
    assert_eq!(names, vec!["cheap", "items", "t"]);

    let (key, t) = catalog.resolve(&rel(None, "ITEMS")).unwrap();
    assert_eq!(key, &rel(Some("main"), "items"));
    assert_eq!(t.kind, RelationKind::Table);
    let cols: Vec<(&str, &str, bool)> =
        t.columns.iter().map(|c| (c.name.as_str(), c.type_name.as_str(), c.nullable)).collect();
    assert_eq!(
        cols,
        vec![
            ("id", "int8", false),
            ("label", "text", true),
            ("price", "float8", false),
            ("raw", "text", true)
        ]
    );

    let (_, v) = catalog.resolve(&rel(Some("Main"), "cheap")).unwrap();
    assert_eq!(v.kind, RelationKind::View);
    let cols: Vec<&str> = v.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, vec!["id", "label", "dbl"]);
    assert_eq!(catalog.columns_of(&rel(None, "t")).map(<[_]>::len), Some(12));

    assert!(catalog.resolve(&rel(None, "missing")).is_none());
    assert!(catalog.resolve(&rel(Some("temp"), "items")).is_none());
}

#[tokio::test]
async fn a_database_session_is_refused() {
    let dir = Dir::new();
    let c = connector(&dir);
    assert_eq!(c.session_support(), sluice_core::execute::SessionSupport::NONE);
    let session = Session { role: None, settings: vec![("sluice.tenant_id".into(), "1".into())] };
    let request = ExecRequest {
        sql: "SELECT 1",
        params: &[],
        mode: Mode::Read,
        limits: limits(5000, 10),
        session: &session,
        cancel: &Cancel::NEVER,
    };
    let err = c.execute(request).await.unwrap_err();
    assert!(matches!(&err, ExecError::Session(m) if m.contains("SQLite")), "{err:?}");
}
