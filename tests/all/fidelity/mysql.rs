//! MariaDB: every column type, each in a table of its own with edge values and a NULL, read
//! through Sluice and directly over the text protocol (what the server prints for each value).
//! Zero and invalid dates are stored with a permissive `sql_mode`, as legacy data holds them.

use base64::Engine as _;
use mysql_async::prelude::Queryable as _;
use serde_json::{Value, json};

use super::{assert_none, compare};
use crate::harness::{MyDatabase, Sluice};

/// How the server's text for a value becomes the JSON Sluice documents.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// The text itself.
    Text,
    /// A JSON number.
    Int,
    /// FLOAT: the direct read is `CAST(v AS DOUBLE)`, the float's exact value; Sluice sends the
    /// shortest decimal that reads back as the same 32-bit float.
    Float4,
    /// DOUBLE: a JSON number.
    Float8,
    /// Base64 of the bytes.
    Bytes,
    /// DATETIME / TIMESTAMP text -> ISO 8601 (`T`, six fraction digits only when nonzero, `Z`
    /// for TIMESTAMP when `utc`).
    DateTime { utc: bool },
    /// TIME text -> `HH:MM:SS[.ffffff]`.
    Time,
    /// TIME text -> ISO 8601 duration in hours (`PT-838H-59M-59S`).
    Duration,
}

impl Form {
    fn expect(self, raw: &mysql_async::Value) -> Value {
        let text = match raw {
            mysql_async::Value::NULL => return Value::Null,
            mysql_async::Value::Bytes(b) => b.clone(),
            other => panic!("text protocol value {other:?}"),
        };
        if let Form::Bytes = self {
            return json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
        let t = String::from_utf8(text).unwrap();
        match self {
            Form::Text => json!(t),
            Form::Int => json!(t.parse::<i64>().unwrap()),
            Form::Float4 => json!((t.parse::<f64>().unwrap() as f32).to_string().parse::<f64>().unwrap()),
            Form::Float8 => json!(t.parse::<f64>().unwrap()),
            Form::DateTime { utc } => {
                let iso = t.replacen(' ', "T", 1);
                let iso = match iso.split_once('.') {
                    Some((whole, frac)) if frac.trim_end_matches('0').is_empty() => whole.to_string(),
                    Some((whole, frac)) => format!("{whole}.{frac:0<6}"),
                    None => iso,
                };
                json!(if utc { format!("{iso}Z") } else { iso })
            }
            Form::Time => json!(match t.split_once('.') {
                Some((whole, frac)) if frac.trim_end_matches('0').is_empty() => whole.to_string(),
                Some((whole, frac)) => format!("{whole}.{frac:0<6}"),
                None => t,
            }),
            Form::Duration => json!(duration(&t)),
            Form::Bytes => unreachable!(),
        }
    }
}

/// `-838:59:59.500000` -> `PT-838H-59M-59.5S`, each nonzero component signed.
fn duration(t: &str) -> String {
    let (sign, body) = match t.strip_prefix('-') {
        Some(body) => ("-", body),
        None => ("", t),
    };
    let (hms, frac) = body.split_once('.').unwrap_or((body, ""));
    let parts: Vec<u64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    let frac = frac.trim_end_matches('0');
    if parts.iter().all(|p| *p == 0) && frac.is_empty() {
        return "PT0S".into();
    }
    let mut out = String::from("PT");
    if parts[0] != 0 {
        out.push_str(&format!("{sign}{}H", parts[0]));
    }
    if parts[1] != 0 {
        out.push_str(&format!("{sign}{}M", parts[1]));
    }
    if parts[2] != 0 || !frac.is_empty() {
        out.push_str(&format!("{sign}{}", parts[2]));
        if !frac.is_empty() {
            out.push_str(&format!(".{frac}"));
        }
        out.push('S');
    }
    out
}

struct Case {
    sql: &'static str,
    name: &'static str,
    form: Form,
    values: &'static [&'static str],
}

const fn case(sql: &'static str, name: &'static str, form: Form, values: &'static [&'static str]) -> Case {
    Case { sql, name, form, values }
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use Form::*;
    vec![
        case("TINYINT", "int2", Int, &["-128", "127"]),
        case("TINYINT UNSIGNED", "int2", Int, &["0", "255"]),
        case("SMALLINT", "int2", Int, &["-32768", "32767"]),
        case("SMALLINT UNSIGNED", "int4", Int, &["65535"]),
        case("MEDIUMINT", "int4", Int, &["-8388608", "8388607"]),
        case("MEDIUMINT UNSIGNED", "int4", Int, &["16777215"]),
        case("INT", "int4", Int, &["-2147483648", "2147483647"]),
        case("INT UNSIGNED", "int8", Text, &["4294967295", "0"]),
        case("BIGINT", "int8", Text, &["-9223372036854775808", "9223372036854775807"]),
        case("BIGINT UNSIGNED", "numeric", Text, &["18446744073709551615", "0"]),
        case("DECIMAL(65,30)", "numeric", Text, &["-99999999999999999999999999999999999.999999999999999999999999999999", "0", "0.000000000000000000000000000001"]),
        case("DECIMAL(5,0)", "numeric", Text, &["-99999", "0"]),
        case("FLOAT", "float4", Float4, &["3.4028235e38", "1.17549435e-38", "0.1", "-0", "123456.7"]),
        case("DOUBLE", "float8", Float8, &["1.7976931348623157e308", "2.2250738585072014e-308", "0.1", "-0", "1e15", "123456789012345680000"]),
        case("BIT(1)", "bytes", Bytes, &["b'1'", "b'0'"]),
        case("BIT(64)", "bytes", Bytes, &["b'1111111111111111111111111111111111111111111111111111111111111111'", "0"]),
        case("CHAR(5)", "text", Text, &["'ab'", "''", "'ü😀'"]),
        case("VARCHAR(50)", "text", Text, &["'héllo ''q'' \\\\ 😀'", "''", "'NULL'", "'tab\\there'"]),
        case("TINYTEXT", "text", Text, &["''"]),
        case("TEXT", "text", Text, &["'long text'"]),
        case("MEDIUMTEXT", "text", Text, &["REPEAT('ü', 10000)"]),
        case("LONGTEXT", "text", Text, &["'x'"]),
        case("BINARY(4)", "bytes", Bytes, &["X'00FF'", "''"]),
        case("VARBINARY(10)", "bytes", Bytes, &["X''", "X'00FF10'"]),
        case("TINYBLOB", "bytes", Bytes, &["X'01'"]),
        case("BLOB", "bytes", Bytes, &["X'00'"]),
        case("MEDIUMBLOB", "bytes", Bytes, &["X'FFFE'"]),
        case("LONGBLOB", "bytes", Bytes, &["REPEAT(X'AB', 1000)"]),
        case("ENUM('a', 'ü b', '')", "text", Text, &["'a'", "'ü b'", "''"]),
        case("SET('x', 'y')", "text", Text, &["'x,y'", "''"]),
        // MariaDB's JSON is LONGTEXT with a validity check: its text, exactly as stored.
        case("JSON", "text", Text, &["'[0.1, 1.3e100, 123456789012345678901234567890.5]'", "'1e400'", "'null'", "'{\"é\": \"😀\"}'"]),
        case("DATE", "date", Text, &["'2024-02-29'", "'1000-01-01'", "'9999-12-31'", "'0001-01-01'"]),
        case("DATE", "text", Text, &["'0000-00-00'", "'2024-00-15'", "'2024-02-00'", "'2024-02-30'", "'2024-01-01'"]),
        case("DATETIME(6)", "timestamp", DateTime { utc: false }, &["'2024-01-02 03:04:05.500000'", "'1000-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'"]),
        case("DATETIME(2)", "text", Text, &["'0000-00-00 00:00:00'", "'2024-02-30 10:00:00.5'", "'2024-01-02 03:04:05.25'"]),
        case("TIMESTAMP(6) NULL", "timestamptz", DateTime { utc: true }, &["'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999999'"]),
        case("TIMESTAMP NULL", "text", Text, &["'0000-00-00 00:00:00'", "'2024-01-02 03:04:05'"]),
        case("TIME(6)", "time", Time, &["'00:00:00'", "'23:59:59.999999'", "'12:00:00.5'"]),
        case("TIME(6)", "interval", Duration, &["'838:59:59'", "'-838:59:59'", "'24:00:00'", "'-00:00:00.5'", "'00:00:00'", "'12:30:00.25'"]),
        case("YEAR", "int2", Int, &["1901", "2155", "0"]),
        case("GEOMETRY", "geometry", Bytes, &["ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('LINESTRING(0 0, 0.1 1e100)', 4326)", "ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))')"]),
        case("POINT", "geometry", Bytes, &["POINT(-0.5, 1e-300)"]),
        case("INET6", "text", Text, &["'::1'", "'::ffff:1.2.3.4'", "'2001:db8::1'"]),
        case("INET4", "text", Text, &["'0.0.0.0'", "'255.255.255.255'"]),
        case("UUID", "text", Text, &["'123e4567-e89b-12d3-a456-426655440000'"]),
    ]
}

#[tokio::test]
async fn every_mariadb_type_reads_as_the_database_prints_it() {
    let cases = cases();
    // Permissive, so zero and invalid dates can be stored as legacy data holds them.
    let mut setup = String::from("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'; SET time_zone = '+00:00'");
    for (i, c) in cases.iter().enumerate() {
        let rows: Vec<String> = c.values.iter().enumerate().map(|(k, v)| format!("({k}, {v})")).collect();
        setup.push_str(&format!(
            "; CREATE TABLE c{i} (id INT, v {}); INSERT INTO c{i} VALUES {}, ({}, NULL)",
            c.sql,
            rows.join(", "),
            rows.len()
        ));
    }
    let mut db = MyDatabase::new(&setup).await;
    let sluice = Sluice::with_datasource(&db.datasource("")).await;
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let direct_sql = match c.form {
            Form::Float4 => format!("SELECT CAST(v AS DOUBLE) FROM c{i} ORDER BY id"),
            _ => format!("SELECT v FROM c{i} ORDER BY id"),
        };
        let rows: Vec<mysql_async::Row> =
            db.conn.query(&direct_sql).await.unwrap_or_else(|e| panic!("{direct_sql}: {e}"));
        let expected: Vec<Value> = rows.into_iter().map(|r| c.form.expect(&r.unwrap()[0])).collect();
        let (status, body) = sluice.query(&format!("SELECT v FROM c{i} ORDER BY id"), json!([])).await;
        if status != 200 {
            failures.push(format!("{}: {status} {body}", c.sql));
            continue;
        }
        compare(&mut failures, c.sql, &body, c.name, &expected);
    }
    assert_none(&failures);
}

/// One zero date among valid ones makes the whole column text, valid dates included: a column
/// has one type, and `0000-00-00` is no ISO date.
#[tokio::test]
async fn a_zero_date_is_never_typed_as_a_date() {
    let db = MyDatabase::new(
        "SET SESSION sql_mode = ''; CREATE TABLE t (id INT, d DATE, tm TIME);
         INSERT INTO t VALUES (1, '2024-02-29', '10:00:00'), (2, '0000-00-00', '100:00:00')",
    )
    .await;
    let sluice = Sluice::with_datasource(&db.datasource("")).await;
    let body = sluice.ok("SELECT d, tm FROM t ORDER BY id", json!([])).await;
    let types: Vec<&str> =
        body["columns"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["text", "interval"]);
    assert_eq!(body["rows"], json!([["2024-02-29", "PT10H"], ["0000-00-00", "PT100H"]]));
    // Without the zero date the same column is a date again.
    let body = sluice.ok("SELECT d, tm FROM t WHERE id = 1", json!([])).await;
    assert_eq!(body["columns"][0]["type"], "date");
    assert_eq!(body["columns"][1]["type"], "time");
}
