//! SQLite: every storage class under every declared-type affinity (and the names Sluice reads
//! more precisely: BOOLEAN, DECIMAL, DATE, JSON), written and read directly with rusqlite and
//! through Sluice. SQLite lets any column hold any class, so the cases include columns whose
//! values do not fit their declared type.

use base64::Engine as _;
use rusqlite::types::Value as Sql;
use serde_json::{Value, json};

use super::{assert_none, compare};
use crate::harness::{Sluice, TempDir, base_toml};

/// A declared column type, the values (SQL literals) stored in it, and the response type the
/// column must have: the declared type's when every value fits it, else its values' class.
struct Case {
    declared: &'static str,
    values: &'static [&'static str],
    name: &'static str,
}

const fn case(declared: &'static str, values: &'static [&'static str], name: &'static str) -> Case {
    Case { declared, values, name }
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
        case("INTEGER", &["-9223372036854775808", "9223372036854775807", "0"], "int8"),
        case("INT", &["1.5", "2"], "numeric"),
        case("REAL", &["1.7976931348623157e308", "5e-324", "0.1", "-0.0", "9e999", "-9e999", "3"], "float8"),
        case("DOUBLE PRECISION", &["2.5"], "float8"),
        case("TEXT", &["''", "'héllo ''q'' \\ 😀'", "'a' || char(0) || 'b'", "'NULL'"], "text"),
        case("VARCHAR(5)", &["'longer than five'"], "text"),
        case("BLOB", &["x''", "x'00ff10'", "zeroblob(3)"], "bytes"),
        case("", &["x'01'"], "bytes"),
        case("", &["1", "-2"], "int8"),
        case("", &["0.5", "7"], "numeric"),
        case("NUMERIC", &["12.5", "3", "1e308", "123456789012345678"], "numeric"),
        case("DECIMAL(10,2)", &["0.1", "-0.0", "9e999"], "numeric"),
        case("BOOLEAN", &["0", "1"], "bool"),
        case("BOOLEAN", &["0", "2"], "int8"),
        case("DATE", &["'2024-02-29'", "'0000-00-00'", "'not a date'"], "text"),
        case("DATETIME", &["1700000000"], "int8"),
        // JSON has NUMERIC affinity: SQLite itself stores a bare number (`'1e400'`) as a REAL.
        case("JSON", &["'[0.1, 1.3e100, 123456789012345678901234567890.5]'", "'[1e400]'", "'null'", "'  {\"a\": 1}  '"], "json"),
        case("JSON", &["'1e400'", "'2.5'"], "float8"),
        case("JSON", &["'{\"a\": 1}'", "'not json'"], "text"),
        case("JSONB", &["jsonb('{\"a\": [1, 2]}')"], "bytes"),
    ]
}

/// The JSON the README documents for a value of a column typed `ty`.
fn expect(ty: &str, v: &Sql) -> Value {
    match (ty, v) {
        (_, Sql::Null) => Value::Null,
        ("bool", Sql::Integer(i)) => json!(*i == 1),
        ("int8" | "numeric", Sql::Integer(i)) => json!(i.to_string()),
        ("numeric", Sql::Real(f)) if f.is_infinite() => {
            json!(if *f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        ("numeric", Sql::Real(f)) => json!(f.to_string()),
        ("float8", Sql::Real(f)) if f.is_infinite() => json!(if *f > 0.0 { "Infinity" } else { "-Infinity" }),
        ("float8", Sql::Real(f)) => json!(f),
        ("float8", Sql::Integer(i)) => json!(*i as f64),
        (_, Sql::Text(t)) => json!(t),
        (_, Sql::Blob(b)) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
        (ty, v) => panic!("no {ty} form for {v:?}"),
    }
}

/// A database file written directly, and Sluice serving it.
async fn served(setup: &str) -> (Sluice, rusqlite::Connection, TempDir) {
    let dir = TempDir::new();
    let path = dir.path().join("f.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(setup).unwrap_or_else(|e| panic!("{setup}: {e}"));
    let toml = format!("{}\n[datasources.app]\nkind = \"sqlite\"\npath = \"f.db\"\n", base_toml());
    let sluice = Sluice::start(&toml, dir.path()).await;
    (sluice, conn, dir)
}

fn direct(conn: &rusqlite::Connection, sql: &str) -> Vec<Sql> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |row| row.get::<_, Sql>(0)).unwrap().map(Result::unwrap).collect()
}

#[tokio::test]
async fn every_sqlite_class_and_affinity_reads_as_stored() {
    let cases = cases();
    let mut setup = String::new();
    for (i, c) in cases.iter().enumerate() {
        let rows: Vec<String> = c.values.iter().enumerate().map(|(k, v)| format!("({k}, {v})")).collect();
        setup.push_str(&format!(
            "CREATE TABLE c{i} (id INTEGER, v {}); INSERT INTO c{i} VALUES {}, ({}, NULL);\n",
            c.declared,
            rows.join(", "),
            rows.len()
        ));
    }
    let (sluice, conn, _dir) = served(&setup).await;
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let sql = format!("SELECT v FROM c{i} ORDER BY id");
        let expected: Vec<Value> = direct(&conn, &sql).iter().map(|v| expect(c.name, v)).collect();
        let (status, body) = sluice.query(&sql, json!([])).await;
        if status != 200 {
            failures.push(format!("{}: {status} {body}", c.declared));
            continue;
        }
        compare(&mut failures, &format!("{} {:?}", c.declared, c.values), &body, c.name, &expected);
    }
    assert_none(&failures);
}

/// Expression columns are typed by their values; integers and reals together are exact
/// decimals; a column mixing text with numbers is refused rather than typed wrongly.
#[tokio::test]
async fn mixed_storage_classes_are_typed_honestly_or_refused() {
    let (sluice, _conn, _dir) =
        served("CREATE TABLE m (id INTEGER, v); INSERT INTO m VALUES (1, 5), (2, '5'); CREATE TABLE j (v JSON); INSERT INTO j VALUES ('[1e400]'), (NULL)").await;
    let body = sluice.ok("SELECT 9007199254740993 AS v UNION ALL SELECT 2.5", json!([])).await;
    assert_eq!(body["columns"][0]["type"], "numeric");
    assert_eq!(body["rows"], json!([["9007199254740993"], ["2.5"]]));
    let message = sluice.err("SELECT v FROM m ORDER BY id", json!([]), "invalid_request").await;
    assert!(message.contains("integer, text"), "{message}");
    let body = sluice.ok("SELECT v FROM m WHERE id = 2", json!([])).await;
    assert_eq!((body["columns"][0]["type"].clone(), body["rows"].clone()), (json!("text"), json!([["5"]])));
    // JSON text verbatim, and JSON null apart from SQL NULL.
    let body = sluice.ok("SELECT v FROM j", json!([])).await;
    assert_eq!(
        (body["columns"][0]["type"].clone(), body["rows"].clone()),
        (json!("json"), json!([["[1e400]"], [null]]))
    );
    let body = sluice.ok("SELECT json('null') AS v", json!([])).await;
    assert_eq!(body["rows"], json!([["null"]]));
}
