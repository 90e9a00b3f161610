//! Column masks executed on real databases: each built-in mask is rendered by
//! `sluice_core::rewrite::render_mask` and run through Sluice as `SELECT <mask> AS m FROM t`,
//! checking the masked values, that NULL stays NULL, and that the column type survives.
//! (SQL Server has no connector yet: its T-SQL is pinned by the unit tests in `core`.)

use serde_json::{Value, json};
use sluice_core::policy::MaskKind;
use sluice_core::rewrite::{ColumnType, MaskDialect, MaskError, render_mask};

use crate::harness::{MyDatabase, PgSchema, Sluice};

const SECRET: &str = "test-secret";
/// HMAC-SHA256 under `SECRET`, computed independently (Python's `hmac`).
const HASH_EMAIL: &str = "470d35fc55b5658ed822ee9044b2693e37c770728b048a9455f1c0a104caae3d";
const HASH_OTHER: &str = "034802e185c920b9b27e0fbd3c5ec7125fedd47720e65289dfc4586aa1559c2d";

/// One mask over one column, and what each of the three rows (values, all NULL, edge values)
/// must come back as, with the response's column type.
struct Case {
    kind: MaskKind,
    args: &'static [&'static str],
    column: &'static str,
    class: ColumnType,
    sql_type: &'static str,
    rows: Value,
}

fn case(
    kind: MaskKind,
    args: &'static [&'static str],
    column: &'static str,
    class: ColumnType,
    sql_type: &'static str,
    rows: Value,
) -> Case {
    Case { kind, args, column, class, sql_type, rows }
}

/// The same value for each of the three rows (NULL included: the mask chose a value).
fn three(v: Value) -> Value {
    json!([v.clone(), v.clone(), v])
}

/// Runs every case; reports all mismatches at once.
async fn check(sluice: &Sluice, dialect: MaskDialect, quote: char, cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        let args: Vec<String> = c.args.iter().map(|a| a.to_string()).collect();
        let column = format!("{quote}{}{quote}", c.column);
        let expr = render_mask(dialect, c.kind, &args, &column, c.class, Some(SECRET))
            .unwrap_or_else(|e| panic!("{:?} on {}: {e}", c.kind, c.column));
        let sql = format!("SELECT {expr} AS m FROM t ORDER BY id");
        let (status, body) = sluice.query(&sql, json!([])).await;
        if !status.is_success() {
            failures.push(format!("{sql}\n  -> {status} {body}"));
            continue;
        }
        let got: Vec<Value> = body["rows"].as_array().unwrap().iter().map(|r| r[0].clone()).collect();
        let got_type = body["columns"][0]["type"].as_str().unwrap_or_default().to_string();
        if Value::Array(got.clone()) != c.rows || got_type != c.sql_type {
            failures.push(format!(
                "{:?}{:?} on {}: got {} {}, want {} {}\n  {sql}",
                c.kind,
                c.args,
                c.column,
                got_type,
                Value::Array(got),
                c.sql_type,
                c.rows
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The cases whose results are the same in every dialect (`date` is the dialect's name for a
/// date column's type).
fn common_cases(date: &'static str) -> Vec<Case> {
    use ColumnType as T;
    use MaskKind as K;
    vec![
        case(K::Null, &[], "e", T::Text, "text", json!([null, null, null])),
        case(K::Constant, &["n/a"], "t", T::Text, "text", three(json!("n/a"))),
        case(K::Constant, &[r"it's \ odd"], "t", T::Text, "text", three(json!(r"it's \ odd"))),
        case(K::DefaultForType, &[], "t", T::Text, "text", three(json!(""))),
        case(K::DefaultForType, &[], "d", T::Date, date, three(json!("1970-01-01"))),
        case(K::Redact, &[], "t", T::Text, "text", json!(["************", null, "**"])),
        case(K::Partial, &["1", "2"], "t", T::Text, "text", json!(["H*********ld", null, "**"])),
        case(K::Partial, &["0", "0"], "t", T::Text, "text", json!(["************", null, "**"])),
        case(K::Email, &[], "e", T::Text, "text", json!(["j***@acme.example", null, "************"])),
        case(K::LastFour, &[], "card", T::Text, "text", json!(["***************1234", null, "***"])),
        case(K::TruncateDate, &["month"], "d", T::Date, date, json!(["2024-05-01", null, "2023-01-01"])),
        case(K::TruncateDate, &["year"], "d", T::Date, date, json!(["2024-01-01", null, "2023-01-01"])),
        case(K::TruncateDate, &["week"], "d", T::Date, date, json!(["2024-05-13", null, "2022-12-26"])),
        case(K::TruncateDate, &["quarter"], "d", T::Date, date, json!(["2024-04-01", null, "2023-01-01"])),
        case(K::Bucket, &["0.5"], "f", T::Float, "float8", json!([2.0, null, -7.5])),
        case(K::Round, &["1"], "f", T::Float, "float8", json!([2.3, null, -7.5])),
    ]
}

/// Integer masks where the dialect keeps the column's own integer type (PostgreSQL, MariaDB).
fn integer_cases(bucket_type: &'static str, bucket_rows: Value) -> Vec<Case> {
    use ColumnType as T;
    use MaskKind as K;
    vec![
        case(K::Null, &[], "i4", T::Integer, "int4", json!([null, null, null])),
        case(K::Constant, &["42"], "i4", T::Integer, "int4", three(json!(42))),
        case(K::DefaultForType, &[], "i4", T::Integer, "int4", three(json!(0))),
        case(K::Round, &["0"], "i4", T::Integer, "int4", json!([17, null, -5])),
        case(K::Bucket, &["10"], "i4", T::Integer, bucket_type, bucket_rows),
        case(K::Bucket, &["10"], "i8", T::Integer, "int8", json!(["-20", null, "20"])),
        case(K::Round, &["1"], "n", T::Decimal, "numeric", json!(["1234.6", null, "-1234.6"])),
        case(
            K::TruncateDate,
            &["month"],
            "ts",
            T::Timestamp,
            "timestamp",
            json!(["2024-05-01T00:00:00", null, "2023-12-01T00:00:00"]),
        ),
        case(
            K::TruncateDate,
            &["hour"],
            "ts",
            T::Timestamp,
            "timestamp",
            json!(["2024-05-17T13:00:00", null, "2023-12-31T23:00:00"]),
        ),
    ]
}

const ROWS: &str = "INSERT INTO t VALUES
    (1, 'Hello, World', 'jane.doe@acme.example', '4111-1111-1111-1234', 17, -17, 1234.56, 2.345,
     '2024-05-17', '2024-05-17 13:45:59', '{\"name\": \"x\", \"ssn\": \"123\", \"x.y\": 1}', TRUE),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (3, 'ab', 'not-an-email', '123', -5, 25, -1234.56, -7.5, '2023-01-01', '2023-12-31 23:59:59', '{\"a\": 1}', FALSE)";

#[tokio::test]
async fn masks_run_on_postgres() {
    let schema = PgSchema::new(&format!(
        "CREATE TABLE t (id int4, t text, e text, card varchar(20), i4 int4, i8 int8, n numeric(10,2),
            f float8, d date, ts timestamp, j json, b bool, jb jsonb);
         {ROWS};
         UPDATE t SET jb = CAST(j AS jsonb);"
    ))
    .await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    use ColumnType as T;
    use MaskKind as K;
    let mut cases = common_cases("date");
    cases.extend(integer_cases("int4", json!([10, null, -10])));
    cases.extend([
        // JSON values travel as the text PostgreSQL prints (jsonb's canonical form here).
        case(
            K::JsonRedact,
            &["ssn", "x.y"],
            "j",
            T::Json,
            "json",
            json!(["{\"name\": \"x\"}", null, "{\"a\": 1}"]),
        ),
        case(K::KeyedHash, &[], "e", T::Text, "text", json!([HASH_EMAIL, null, HASH_OTHER])),
        case(
            K::JsonRedact,
            &["ssn"],
            "jb",
            T::Jsonb,
            "json",
            json!(["{\"x.y\": 1, \"name\": \"x\"}", null, "{\"a\": 1}"]),
        ),
        case(K::Constant, &["2.5"], "n", T::Decimal, "numeric", three(json!("2.5"))),
        case(K::DefaultForType, &[], "b", T::Bool, "bool", three(json!(false))),
        case(K::DefaultForType, &[], "jb", T::Jsonb, "json", three(json!("{}"))),
        case(K::Constant, &["true"], "b", T::Bool, "bool", three(json!(true))),
    ]);
    check(&sluice, MaskDialect::Postgres, '"', &cases).await;
}

#[tokio::test]
async fn masks_run_on_mariadb() {
    let db = MyDatabase::new(&format!(
        "CREATE TABLE t (id INT, t VARCHAR(50), e VARCHAR(100), card VARCHAR(20), i4 INT, i8 BIGINT,
            n DECIMAL(10,2), f DOUBLE, d DATE, ts DATETIME, j JSON, b BOOLEAN);
         {}",
        ROWS.replace("\\\"", "\"")
    ))
    .await;
    let sluice = Sluice::with_datasource(&db.datasource("")).await;
    use ColumnType as T;
    use MaskKind as K;
    let mut cases = common_cases("date");
    // MySQL integer arithmetic is BIGINT: the bucketed INT comes back as a (wider) integer.
    cases.extend(integer_cases("int8", json!(["10", null, "-10"])));
    cases.extend([
        // MariaDB stores JSON as LONGTEXT: JSON_REMOVE returns text, like the column itself.
        case(
            K::JsonRedact,
            &["ssn", "x.y"],
            "j",
            T::Json,
            "text",
            json!(["{\"name\": \"x\"}", null, "{\"a\": 1}"]),
        ),
        case(K::KeyedHash, &[], "e", T::Text, "text", json!([HASH_EMAIL, null, HASH_OTHER])),
        case(K::Constant, &["2.5"], "n", T::Decimal, "numeric", three(json!("2.50"))),
    ]);
    check(&sluice, MaskDialect::MySql, '`', &cases).await;
}

#[tokio::test]
async fn masks_run_on_sqlite() {
    let sluice = Sluice::with_datasource(
        "kind = \"sqlite\"\npath = \"t.db\"\nbootstrap = [\"init.sql\"]\nstatements = [\"read\", \"insert\", \"ddl\"]",
    )
    .await;
    sluice
        .ok(
            "CREATE TABLE t (id INTEGER, t TEXT, e TEXT, card TEXT, i4 INTEGER, i8 INTEGER, n NUMERIC,
                f REAL, d DATE, ts TIMESTAMP, j TEXT, b BOOLEAN)",
            json!([]),
        )
        .await;
    sluice.ok(&ROWS.replace("\\\"", "\""), json!([])).await;
    use ColumnType as T;
    use MaskKind as K;
    // SQLite expressions carry no declared type: the response types each column from its
    // values (integers int8, text text, all-NULL text).
    let mut cases = common_cases("text");
    cases.extend([
        case(K::Null, &[], "i4", T::Integer, "text", json!([null, null, null])),
        case(K::Constant, &["42"], "i4", T::Integer, "int8", three(json!("42"))),
        case(K::DefaultForType, &[], "i4", T::Integer, "int8", three(json!("0"))),
        case(K::Round, &["0"], "i4", T::Integer, "int8", json!(["17", null, "-5"])),
        case(K::Bucket, &["10"], "i4", T::Integer, "int8", json!(["10", null, "-10"])),
        case(K::Bucket, &["10"], "i8", T::Integer, "int8", json!(["-20", null, "20"])),
        case(K::Round, &["1"], "n", T::Decimal, "float8", json!([1234.6, null, -1234.6])),
        case(
            K::TruncateDate,
            &["month"],
            "ts",
            T::Timestamp,
            "text",
            json!(["2024-05-01 00:00:00", null, "2023-12-01 00:00:00"]),
        ),
        case(
            K::TruncateDate,
            &["hour"],
            "ts",
            T::Timestamp,
            "text",
            json!(["2024-05-17 13:00:00", null, "2023-12-31 23:00:00"]),
        ),
        case(
            K::JsonRedact,
            &["ssn", "x.y"],
            "j",
            T::Json,
            "text",
            json!(["{\"name\":\"x\"}", null, "{\"a\":1}"]),
        ),
        case(K::Constant, &["true"], "b", T::Bool, "int8", three(json!("1"))),
    ]);
    check(&sluice, MaskDialect::Sqlite, '"', &cases).await;
    // No hash function built in: refused, never faked.
    let refused =
        render_mask(MaskDialect::Sqlite, MaskKind::KeyedHash, &[], "\"e\"", ColumnType::Text, Some(SECRET));
    assert!(matches!(refused, Err(MaskError::Unsupported { .. })), "{refused:?}");
}
