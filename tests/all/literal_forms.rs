//! Differential check of literal and syntax forms (issue 14): each statement runs through
//! Sluice and directly on the same database; Sluice must answer exactly what the database
//! answers, or refuse (a 4xx, or the database's own error when the direct run fails too).
//! Never a different answer.
//!
//! Every form is wrapped so that the answer is one text value (`(<form>)::text` and the like),
//! which both sides compute on the database itself: the comparison is of what the statement
//! means, not of how each side encodes types. Each form also runs in a few contexts (alone,
//! in arithmetic or concatenation, tested for NULL), since a literal printed differently
//! often shows only in one of them.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{MyDatabase, PgSchema, Sluice, base_toml};

/// PostgreSQL forms: numbers, strings, typed literals, casts, operators, special syntax.
const POSTGRES: &[&str] = &[
    "0",
    "1",
    "-1",
    "1.50",
    ".5",
    "5.",
    "1e3",
    "1E-3",
    "1.5e+10",
    "123456789012345678901234567890",
    "9223372036854775807",
    "9223372036854775808",
    "0x1F",
    "0o17",
    "0b101",
    "1_000_000",
    "'a'",
    "''",
    "'it''s'",
    "E'a\\nb'",
    "E'\\x41'",
    "E'\\\\'",
    "U&'d\\0061t'",
    "$$x$$",
    "$tag$a$b$tag$",
    "N'x'",
    "B'101'",
    "X'1F'",
    "DATE '2024-02-29'",
    "TIME '13:45:59.123'",
    "TIMESTAMP '2024-01-02 03:04:05.5'",
    "TIMESTAMPTZ '2024-01-02 03:04:05+02'",
    "INTERVAL '1 day'",
    "INTERVAL '1' DAY",
    "INTERVAL '1:2' HOUR TO MINUTE",
    "interval(0) '1 day 01:23:45.6789'",
    "INTERVAL '1.5' SECOND",
    "INTERVAL '1 day 01:23:45.6789' SECOND(0)",
    "'1.555'::numeric(10,2)",
    "CAST('1.555' AS numeric(10,2))",
    "'abc'::char(2)",
    "'abc'::varchar(2)",
    "'5'::int",
    "bool 'true'",
    "'{1,2}'::int[]",
    "ARRAY[1,2]",
    "ARRAY['a','b']",
    "ROW(1,'a')",
    "'(1,2)'::point",
    "'\\x41'::bytea",
    "'NaN'::float8",
    "'Infinity'::numeric",
    "'-0'::float8",
    "1 + 2 * 3",
    "7 / 2",
    "7 % 3",
    "2 ^ 3",
    "|/ 16.0",
    "@ -5",
    "'a' || 'b'",
    "'abc' LIKE 'a%'",
    "'a_c' LIKE 'a!_c' ESCAPE '!'",
    "'a' ~ 'a'",
    "NOT true",
    "true AND NULL",
    "1 IN (1,2)",
    "1 BETWEEN 0 AND 2",
    "1 IS DISTINCT FROM NULL",
    "COALESCE(NULL, 1)",
    "NULLIF(1,1)",
    "GREATEST(1,2)",
    "CASE WHEN 1=1 THEN 'y' END",
    "position('b' in 'abc')",
    "substring('abc' from 2 for 1)",
    "trim(both 'x' from 'xax')",
    "extract(year from DATE '2024-02-29')",
    "date_trunc('month', TIMESTAMP '2024-02-29 12:00')",
    "'a' COLLATE \"C\"",
    "x'1F'::int",
    "1::bit(4)",
    "'2024-02-29'::date - 1",
    "'{\"a\": [1, 2.50]}'::jsonb -> 'a'",
    "'[1e400]'::json",
    "-9223372036854775808",
    "(1, 2) < (1, 3)",
    "'a' IS NOT NULL",
    "10::numeric / 3",
    "round(2.5)",
    "'x'::\"char\"",
];

/// MySQL / MariaDB forms.
const MYSQL: &[&str] = &[
    "0",
    "-1",
    "1.50",
    ".5",
    "1e3",
    "18446744073709551615",
    "18446744073709551616",
    "0x41",
    "X'41'",
    "x'41'",
    "b'101'",
    "B'101'",
    "0b101",
    "'a'",
    "''",
    "'it''s'",
    "'it\\'s'",
    "'a\\nb'",
    "'\\\\'",
    "_utf8mb4'x'",
    "N'x'",
    "'a' 'b'",
    "DATE '2024-02-29'",
    "TIME '10:00:00'",
    "TIMESTAMP '2024-01-02 03:04:05'",
    "DATE '2024-01-01' + INTERVAL 1 DAY",
    "DATE_ADD('2024-01-01', INTERVAL 1 MONTH)",
    "CAST('1.555' AS DECIMAL(10,2))",
    "CONVERT('abc', CHAR(2))",
    "CONVERT('abc' USING utf8mb4)",
    "7 DIV 2",
    "7 MOD 3",
    "1 <=> NULL",
    "1 XOR 1",
    "~1",
    "1 << 2",
    "5 & 3",
    "5 | 3",
    "5 ^ 3",
    "'abc' LIKE 'a%'",
    "'abc' REGEXP '^a'",
    "IF(1,2,3)",
    "IFNULL(NULL,1)",
    "CASE WHEN 1=1 THEN 'y' END",
    "'A' = 'a'",
    "TRUE",
    "FALSE",
    "NULL",
    "1 IN (1,2)",
    "1 BETWEEN 0 AND 2",
    "(1,2) = (1,2)",
    "EXTRACT(YEAR FROM '2024-02-29')",
    "TIMESTAMPDIFF(DAY,'2024-01-01','2024-02-01')",
    "-9223372036854775808",
    "9223372036854775807 + 1",
    "JSON_EXTRACT('{\"a\": 1.50}', '$.a')",
    "CAST(0x41 AS UNSIGNED)",
    "0x10 = 16",
    "CAST('2024-02-30' AS DATE)",
    "1.0 / 3",
    "10 / 4",
    "'5' + 0",
    "CONCAT('a', NULL)",
    "CONCAT_WS('-', 'a', NULL, 'b')",
    "'abc' COLLATE utf8mb4_bin",
    "LEFT('abc', 2)",
    "CHAR_LENGTH('héllo')",
    "HEX('a')",
    "UNHEX('41')",
    "'a' IS NOT NULL",
];

/// Wrappers that make one text value of a form, in several contexts.
const POSTGRES_CONTEXTS: &[&str] =
    &["SELECT ({})::text", "SELECT (({}) IS NULL)::text", "SELECT pg_typeof({})::text"];
const MYSQL_CONTEXTS: &[&str] =
    &["SELECT CAST(({}) AS CHAR)", "SELECT CAST((({}) IS NULL) AS CHAR)", "SELECT CAST((({}) + 0) AS CHAR)"];

/// What one side answered: the text value, or that it failed.
#[derive(Debug, PartialEq)]
enum Answer {
    Text(Option<String>),
    Failed,
}

/// Sluice's answer, or `None` when it refused before the database ran anything.
async fn through_sluice(sluice: &Sluice, sql: &str) -> Option<Answer> {
    let (status, body) = sluice.query(sql, json!([])).await;
    match status {
        StatusCode::OK => match &body["rows"][0][0] {
            Value::Null => Some(Answer::Text(None)),
            Value::String(s) => Some(Answer::Text(Some(s.clone()))),
            other => panic!("{sql}: a text column answered {other}"),
        },
        StatusCode::BAD_GATEWAY => Some(Answer::Failed),
        s if s.is_client_error() => None,
        s => panic!("{sql}: {s} {body}"),
    }
}

/// Runs every form in every context; returns (statements, refusals) and panics listing the
/// statements whose answers differ.
async fn compare<F, Fut>(forms: &[&str], contexts: &[&str], sluice: &Sluice, direct: F) -> (usize, usize)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let (mut count, mut refused, mut differences) = (0, 0, Vec::new());
    for form in forms {
        for context in contexts {
            let sql = context.replace("{}", form);
            count += 1;
            let Some(answer) = through_sluice(sluice, &sql).await else {
                refused += 1;
                continue;
            };
            let expected = direct(sql.clone()).await;
            if answer != expected {
                differences
                    .push(format!("{sql}\n    through Sluice {answer:?}\n    directly       {expected:?}"));
            }
        }
    }
    assert!(differences.is_empty(), "{} different answers:\n{}", differences.len(), differences.join("\n"));
    (count, refused)
}

#[tokio::test]
async fn literal_forms_mean_the_same_through_sluice_on_postgres() {
    let schema = PgSchema::new("SELECT 1").await;
    let toml = format!("{}\n[datasources.app]\n{}", base_toml(), schema.datasource(""));
    let sluice = Sluice::start(&toml, std::path::Path::new(".")).await;
    let client = &schema.client;
    // The session Sluice's connector pins (README, PostgreSQL connector), so that both sides
    // print values alike.
    client
        .batch_execute(
            "SET TimeZone = 'UTC'; SET DateStyle = ISO; SET IntervalStyle = iso_8601; \
             SET bytea_output = hex; SET extra_float_digits = 1",
        )
        .await
        .unwrap();
    let direct = |sql: String| async move {
        match client.simple_query(&sql).await {
            Ok(messages) => {
                let row = messages.iter().find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
                    _ => None,
                });
                Answer::Text(row.flatten())
            }
            Err(_) => Answer::Failed,
        }
    };
    let (count, refused) = compare(POSTGRES, POSTGRES_CONTEXTS, &sluice, direct).await;
    assert!(count >= 250, "{count} statements");
    // The check cannot pass by refusing: most forms run.
    assert!(refused * 5 < count, "{refused} of {count} refused");
}

#[tokio::test]
async fn literal_forms_mean_the_same_through_sluice_on_mariadb() {
    use mysql_async::prelude::Queryable as _;
    let db = MyDatabase::new("SELECT 1").await;
    let toml = format!("{}\n[datasources.app]\n{}", base_toml(), db.datasource(""));
    let sluice = Sluice::start(&toml, std::path::Path::new(".")).await;
    let opts = mysql_async::Opts::from_url(&crate::harness::mysql_admin_url()).unwrap();
    let conn = tokio::sync::Mutex::new(mysql_async::Conn::new(opts).await.unwrap());
    // The session Sluice pins, so that both sides read the statement alike.
    conn.lock()
        .await
        .query_drop(format!(
            "SET NAMES utf8mb4, sql_mode = '{}', time_zone = '+00:00'",
            sluice_mysql::SQL_MODE
        ))
        .await
        .unwrap();
    let conn = &conn;
    let direct = |sql: String| async move {
        let result: Result<Option<mysql_async::Value>, _> = conn.lock().await.query_first(sql).await;
        match result {
            Ok(Some(mysql_async::Value::NULL)) | Ok(None) => Answer::Text(None),
            Ok(Some(mysql_async::Value::Bytes(bytes))) => {
                Answer::Text(Some(String::from_utf8_lossy(&bytes).into()))
            }
            Ok(Some(other)) => Answer::Text(Some(format!("{other:?}"))),
            Err(_) => Answer::Failed,
        }
    };
    let (count, refused) = compare(MYSQL, MYSQL_CONTEXTS, &sluice, direct).await;
    assert!(count >= 200, "{count} statements");
    assert!(refused * 5 < count, "{refused} of {count} refused");
}
