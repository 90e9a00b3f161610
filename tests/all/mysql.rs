//! MySQL / MariaDB end to end: typed values, parameters, statement refusals.

use serde_json::json;

use crate::harness::{MyDatabase, Sluice};

#[tokio::test]
async fn every_type_round_trips_exactly() {
    let db = MyDatabase::new(
        "CREATE TABLE typed (
            ti TINYINT, si SMALLINT, i INT, bi BIGINT, ubi BIGINT UNSIGNED, f FLOAT, d DOUBLE,
            dec_ DECIMAL(40,20), vc VARCHAR(20), tx TEXT, vb VARBINARY(10), bl BLOB,
            dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP(0) NULL, yr YEAR, js JSON
        );
        INSERT INTO typed VALUES (
            -128, -32768, -2147483648, -9223372036854775808, 18446744073709551615, 1.5, 0.1,
            '12345678901234567890.12345678901234567890', 'héllo ''q'' \\\\ 😀', 'long text', X'00FF10', X'01',
            '2024-02-29', '-838:59:59', '2024-01-02 03:04:05.500000', '2024-01-02 03:04:05', 2024, '{\"k\": [1, 2.5, null]}'
        );
        INSERT INTO typed () VALUES ()",
    )
    .await;
    let sluice = Sluice::with_datasource(&db.datasource("")).await;
    let body = sluice.ok("SELECT * FROM typed ORDER BY ti IS NULL", json!([])).await;
    let types: Vec<&str> =
        body["columns"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(
        &types[..17],
        [
            "int2",
            "int2",
            "int4",
            "int8",
            "numeric",
            "float4",
            "float8",
            "numeric",
            "text",
            "text",
            "bytes",
            "bytes",
            "date",
            "interval",
            "timestamp",
            "timestamptz",
            "int2"
        ]
    );
    let row = &body["rows"][0];
    assert_eq!(
        row.as_array().unwrap()[..17],
        json!([
            -128,
            -32768,
            -2147483648,
            "-9223372036854775808",
            "18446744073709551615",
            1.5,
            0.1,
            "12345678901234567890.12345678901234567890",
            "héllo 'q' \\ 😀",
            "long text",
            "AP8Q",
            "AQ==",
            "2024-02-29",
            // A negative TIME is a duration, not a time of day.
            "PT-838H-59M-59S",
            "2024-01-02T03:04:05.500000",
            "2024-01-02T03:04:05Z",
            2024
        ])
        .as_array()
        .unwrap()[..]
    );
    // MariaDB stores JSON as LONGTEXT: it arrives as text with the same content.
    let js = &row[17];
    let parsed =
        if js.is_string() { serde_json::from_str(js.as_str().unwrap()).unwrap() } else { js.clone() };
    assert_eq!(parsed, json!({"k": [1, 2.5, null]}));
    assert!(body["rows"][1].as_array().unwrap().iter().all(|v| v.is_null()), "{}", body["rows"][1]);
}

#[tokio::test]
async fn parameters_are_bound_never_interpolated() {
    let db = MyDatabase::new("CREATE TABLE t (id BIGINT, v VARCHAR(100))").await;
    let sluice = Sluice::with_datasource(&db.datasource("")).await;
    let evil = "x'); DROP TABLE t; -- \\' \" `";
    let body = sluice.ok("INSERT INTO t VALUES (?, ?)", json!(["9223372036854775807", evil])).await;
    assert_eq!(body["rows_affected"], 1);
    let body = sluice.ok("SELECT id, v FROM t WHERE v = ?", json!([evil])).await;
    assert_eq!(body["rows"], json!([["9223372036854775807", evil]]));
}

#[tokio::test]
async fn session_and_bulk_statements_are_refused() {
    let db = MyDatabase::new("CREATE TABLE t (id INT)").await;
    let sluice = Sluice::with_datasource(&db.datasource("")).await;
    for sql in [
        "SET sql_mode = 'ANSI_QUOTES'",
        "SET NAMES latin1",
        "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t",
        "LOCK TABLES t WRITE",
        "START TRANSACTION",
        "CALL p()",
        "PREPARE s FROM 'SELECT 1'",
        "USE mysql",
        "SELECT 1; SELECT 2",
        "SELECT 1 # comment\n; DROP TABLE t",
    ] {
        let (status, body) = sluice.query(sql, json!([])).await;
        assert!([400, 403].contains(&status.as_u16()), "{sql} must be refused, got {status}: {body}");
    }
    let body = sluice.ok("SELECT count(*) FROM t", json!([])).await;
    assert_eq!(body["rows"], json!([["0"]]));
}

#[tokio::test]
async fn backslash_escapes_are_read_as_mysql_reads_them() {
    let db =
        MyDatabase::new("CREATE TABLE secret (s VARCHAR(10)); INSERT INTO secret VALUES ('hidden')").await;
    let sluice = Sluice::with_datasource(&db.datasource("")).await;
    // In MySQL `\'` does not end the string, so this is one literal and no table is read.
    let body = sluice.ok(r"SELECT 'a\' FROM secret -- ' AS x", json!([])).await;
    assert_eq!(body["rows"], json!([["a' FROM secret -- "]]));
}
