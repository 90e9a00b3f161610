//! The rendered SQL, dialect by dialect. SQL Server has no connector yet, so its T-SQL is pinned
//! here for every mask; the other dialects are also executed by `tests/all/masks.rs`.

use super::text::hmac_hex_for_tests;
use super::*;
use MaskDialect::{MsSql, MySql, Postgres, Sqlite};

const SECRET: &str = "s3cr3t-do-not-print";

fn r(d: MaskDialect, kind: MaskKind, args: &[&str], ty: ColumnType) -> Result<String, MaskError> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    render_mask(d, kind, &args, "c", ty, Some(SECRET))
}

fn ok(d: MaskDialect, kind: MaskKind, args: &[&str], ty: ColumnType) -> String {
    r(d, kind, args, ty).unwrap_or_else(|e| panic!("{kind:?} on {d:?}: {e}"))
}

#[test]
fn tsql_rendering_of_every_mask() {
    use ColumnType::*;
    use MaskKind::*;
    let cases: &[(MaskKind, &[&str], ColumnType, &str)] = &[
        (Null, &[], Integer, "CASE WHEN 1 = 0 THEN c END"),
        (Constant, &["it's"], Text, "CASE WHEN 1 = 0 THEN c ELSE N'it''s' END"),
        (Constant, &["42"], Integer, "CASE WHEN 1 = 0 THEN c ELSE 42 END"),
        (Constant, &["2024-02-29"], Date, "CASE WHEN 1 = 0 THEN c ELSE CAST(N'2024-02-29' AS DATE) END"),
        (Constant, &["true"], Bool, "CASE WHEN 1 = 0 THEN c ELSE CAST(1 AS BIT) END"),
        (DefaultForType, &[], Text, "CASE WHEN 1 = 0 THEN c ELSE N'' END"),
        (DefaultForType, &[], Decimal, "CASE WHEN 1 = 0 THEN c ELSE 0 END"),
        (
            DefaultForType,
            &[],
            Timestamp,
            "CASE WHEN 1 = 0 THEN c ELSE CAST(N'1970-01-01 00:00:00' AS DATETIME2) END",
        ),
        (DefaultForType, &[], Bytes, "CASE WHEN 1 = 0 THEN c ELSE 0x END"),
        (
            Redact,
            &[],
            Text,
            "CASE WHEN c IS NULL THEN NULL ELSE REPLICATE(CAST(N'*' AS NVARCHAR(MAX)), (LEN(c + N'x') - 1)) END",
        ),
        (
            Partial,
            &["1", "2"],
            Text,
            "CASE WHEN c IS NULL THEN NULL ELSE CASE WHEN (LEN(c + N'x') - 1) > 3 THEN CONCAT(LEFT(c, 1), \
             REPLICATE(CAST(N'*' AS NVARCHAR(MAX)), (LEN(c + N'x') - 1) - 3), RIGHT(c, 2)) ELSE \
             REPLICATE(CAST(N'*' AS NVARCHAR(MAX)), (LEN(c + N'x') - 1)) END END",
        ),
        (
            LastFour,
            &[],
            Text,
            "CASE WHEN c IS NULL THEN NULL ELSE CASE WHEN (LEN(c + N'x') - 1) > 4 THEN CONCAT(LEFT(c, 0), \
             REPLICATE(CAST(N'*' AS NVARCHAR(MAX)), (LEN(c + N'x') - 1) - 4), RIGHT(c, 4)) ELSE \
             REPLICATE(CAST(N'*' AS NVARCHAR(MAX)), (LEN(c + N'x') - 1)) END END",
        ),
        (
            Email,
            &[],
            Text,
            "CASE WHEN c IS NULL THEN NULL ELSE CASE WHEN c LIKE '_%@_%' AND c NOT LIKE '%@%@%' THEN \
             CONCAT(LEFT(c, 1), N'***@', SUBSTRING(c, CHARINDEX('@', c) + 1, LEN(c + N'x'))) ELSE \
             REPLICATE(CAST(N'*' AS NVARCHAR(MAX)), (LEN(c + N'x') - 1)) END END",
        ),
        (Round, &["2"], Decimal, "ROUND(c, 2)"),
        (Round, &["1"], Float, "ROUND(c, 1)"),
        (Round, &["2"], Integer, "c"),
        (Bucket, &["10"], Integer, "(c - ((c % 10 + 10) % 10))"),
        (Bucket, &["0.5"], Decimal, "(FLOOR(c / 0.5) * 0.5)"),
        (TruncateDate, &["year"], Date, "DATEFROMPARTS(YEAR(c), 1, 1)"),
        (TruncateDate, &["month"], Date, "DATEFROMPARTS(YEAR(c), MONTH(c), 1)"),
        (TruncateDate, &["quarter"], Date, "DATEFROMPARTS(YEAR(c), (DATEPART(quarter, c) - 1) * 3 + 1, 1)"),
        (TruncateDate, &["week"], Date, "DATETRUNC(iso_week, c)"),
        (TruncateDate, &["year"], Timestamp, "DATETRUNC(year, c)"),
        (TruncateDate, &["month"], Timestamp, "DATETRUNC(month, c)"),
        (
            JsonRedact,
            &["ssn", "a.b"],
            Json,
            "JSON_MODIFY(JSON_MODIFY(c, N'$.\"ssn\"', NULL), N'$.\"a.b\"', NULL)",
        ),
    ];
    for (kind, args, ty, expected) in cases {
        assert_eq!(ok(MsSql, *kind, args, *ty), *expected, "{kind:?} {args:?} {ty:?}");
    }
    let hash = ok(MsSql, KeyedHash, &[], Text);
    assert!(
        hash.starts_with("LOWER(CONVERT(VARCHAR(64), HASHBYTES('SHA2_256', 0x")
            && hash.ends_with(" + CAST(c AS VARBINARY(MAX)))), 2))"),
        "{hash}"
    );
}

#[test]
fn postgres_rendering() {
    use ColumnType::*;
    use MaskKind::*;
    assert_eq!(ok(Postgres, Null, &[], Text), "CASE WHEN 1 = 0 THEN c END");
    // Untyped literals: PostgreSQL resolves them to the column's exact type.
    assert_eq!(ok(Postgres, Constant, &["42"], Integer), "CASE WHEN 1 = 0 THEN c ELSE '42' END");
    assert_eq!(ok(Postgres, Constant, &[" 007.50"], Decimal), "CASE WHEN 1 = 0 THEN c ELSE '7.50' END");
    assert_eq!(ok(Postgres, DefaultForType, &[], Jsonb), "CASE WHEN 1 = 0 THEN c ELSE '{}' END");
    assert_eq!(
        ok(Postgres, Redact, &[], Text),
        "CASE WHEN c IS NULL THEN NULL ELSE repeat('*', char_length(c)) END"
    );
    assert_eq!(
        ok(Postgres, Email, &[], Text),
        "CASE WHEN c IS NULL THEN NULL ELSE CASE WHEN c LIKE '_%@_%' AND c NOT LIKE '%@%@%' THEN \
         left(c, 1) || '***@' || substr(c, strpos(c, '@') + 1) ELSE repeat('*', char_length(c)) END END"
    );
    assert_eq!(ok(Postgres, Round, &["2"], Float), "CAST(round(CAST(c AS numeric), 2) AS double precision)");
    assert_eq!(ok(Postgres, Bucket, &["2.5"], Float), "(floor(c / 2.5) * 2.5)");
    assert_eq!(ok(Postgres, TruncateDate, &["month"], Date), "CAST(date_trunc('month', c) AS date)");
    assert_eq!(ok(Postgres, TruncateDate, &["year"], Timestamp), "date_trunc('year', c)");
    assert_eq!(
        ok(Postgres, JsonRedact, &["ssn", "o'k"], Jsonb),
        "(c - CAST(ARRAY['ssn', 'o''k'] AS text[]))"
    );
    assert_eq!(
        ok(Postgres, JsonRedact, &["ssn"], Json),
        "CAST((CAST(c AS jsonb) - CAST(ARRAY['ssn'] AS text[])) AS json)"
    );
    let hash = ok(Postgres, KeyedHash, &[], Text);
    assert!(hash.starts_with("encode(sha256(decode('") && hash.ends_with("convert_to(c, 'UTF8'))), 'hex')"));
}

#[test]
fn mysql_and_sqlite_rendering() {
    use ColumnType::*;
    use MaskKind::*;
    assert_eq!(
        ok(MySql, Redact, &[], Text),
        "CASE WHEN c IS NULL THEN NULL ELSE REPEAT('*', CHAR_LENGTH(c)) END"
    );
    assert_eq!(
        ok(MySql, Constant, &["2024-01-31"], Date),
        "CASE WHEN 1 = 0 THEN c ELSE DATE '2024-01-31' END"
    );
    assert_eq!(ok(MySql, TruncateDate, &["year"], Date), "MAKEDATE(YEAR(c), 1)");
    assert_eq!(
        ok(MySql, TruncateDate, &["month"], Timestamp),
        "CAST((DATE(c) - INTERVAL (DAYOFMONTH(c) - 1) DAY) AS DATETIME)"
    );
    assert_eq!(ok(MySql, JsonRedact, &["ssn", "x.y"], Json), "JSON_REMOVE(c, '$.\"ssn\"', '$.\"x.y\"')");
    assert!(ok(MySql, KeyedHash, &[], Text).starts_with("LOWER(SHA2(CONCAT(X'"));
    assert_eq!(
        ok(Sqlite, Redact, &[], Text),
        "CASE WHEN c IS NULL THEN NULL ELSE replace(hex(zeroblob(length(c))), '00', '*') END"
    );
    assert_eq!(ok(Sqlite, TruncateDate, &["month"], Date), "date(c, 'start of month')");
    assert_eq!(ok(Sqlite, TruncateDate, &["year"], Timestamp), "datetime(c, 'start of year')");
    assert_eq!(ok(Sqlite, JsonRedact, &["ssn"], Json), "json_remove(c, '$.\"ssn\"')");
    assert_eq!(ok(Sqlite, Constant, &["1"], Bool), "CASE WHEN 1 = 0 THEN c ELSE 1 END");
    assert_eq!(
        ok(Sqlite, Bucket, &["10"], Float),
        "((CAST((c / 10.0) AS INTEGER) - ((c / 10.0) < CAST((c / 10.0) AS INTEGER))) * 10.0)"
    );
}

#[test]
fn literals_are_escaped_per_dialect() {
    let text = r"O'Brien \' x";
    let lit = |d| ok(d, MaskKind::Constant, &[text], ColumnType::Text);
    assert_eq!(lit(Postgres), r"CASE WHEN 1 = 0 THEN c ELSE E'O''Brien \\'' x' END");
    assert_eq!(lit(MySql), r"CASE WHEN 1 = 0 THEN c ELSE 'O''Brien \\'' x' END");
    assert_eq!(lit(Sqlite), r"CASE WHEN 1 = 0 THEN c ELSE 'O''Brien \'' x' END");
    assert_eq!(lit(MsSql), r"CASE WHEN 1 = 0 THEN c ELSE N'O''Brien \'' x' END");
    assert_eq!(
        ok(Postgres, MaskKind::Constant, &["plain"], ColumnType::Text),
        "CASE WHEN 1 = 0 THEN c ELSE 'plain' END"
    );
    assert!(matches!(
        r(Postgres, MaskKind::Constant, &["a\0b"], ColumnType::Text),
        Err(MaskError::Arguments { .. })
    ));
    // MySQL JSON paths are escaped too.
    assert_eq!(ok(MySql, MaskKind::JsonRedact, &["it's"], ColumnType::Json), "JSON_REMOVE(c, '$.\"it''s\"')");
}

#[test]
fn numbers_are_rendered_from_their_parsed_value() {
    use MaskKind::*;
    for bad in ["1; DROP TABLE t", "0x10", "1e3'", "", "--1"] {
        assert!(r(MySql, Constant, &[bad], ColumnType::Integer).is_err(), "{bad:?}");
        assert!(r(MySql, Bucket, &[bad], ColumnType::Decimal).is_err(), "{bad:?}");
    }
    assert_eq!(ok(MySql, Constant, &[" -0042 "], ColumnType::Integer), "CASE WHEN 1 = 0 THEN c ELSE -42 END");
    assert_eq!(ok(MySql, Constant, &["1.5"], ColumnType::Float), "CASE WHEN 1 = 0 THEN c ELSE 1.5e0 END");
    assert!(r(MySql, Bucket, &["0"], ColumnType::Integer).is_err());
    assert!(r(MySql, Bucket, &["-5"], ColumnType::Integer).is_err());
    assert!(r(MySql, Bucket, &["2.5"], ColumnType::Integer).is_err());
    assert!(r(MySql, Round, &["-1"], ColumnType::Decimal).is_err());
    assert!(r(MySql, Partial, &["1"], ColumnType::Text).is_err());
    assert!(r(MySql, TruncateDate, &["century"], ColumnType::Date).is_err());
    assert!(r(MySql, TruncateDate, &["year'"], ColumnType::Date).is_err());
    assert!(r(MySql, Constant, &["2024-13-01"], ColumnType::Date).is_err());
    assert!(r(MySql, Constant, &["{not json"], ColumnType::Json).is_err());
    assert!(r(MySql, Null, &["x"], ColumnType::Text).is_err());
}

#[test]
fn type_mismatches_are_errors() {
    use ColumnType::*;
    use MaskKind::*;
    let mismatches = [
        (Round, &["2"][..], Text),
        (Bucket, &["10"][..], Date),
        (Redact, &[][..], Integer),
        (Email, &[][..], Json),
        (KeyedHash, &[][..], Integer),
        (TruncateDate, &["year"][..], Text),
        (JsonRedact, &["k"][..], Text),
        (Constant, &["x"][..], Other),
        (DefaultForType, &[][..], Other),
    ];
    for d in [Postgres, MySql, Sqlite, MsSql] {
        for (kind, args, ty) in mismatches {
            assert_eq!(
                r(d, kind, args, ty),
                Err(MaskError::TypeMismatch { kind, column_type: ty }),
                "{kind:?} on {ty:?} ({d:?})"
            );
        }
        // `null` applies to every type.
        assert!(r(d, Null, &[], Other).is_ok());
    }
}

#[test]
fn the_secret_never_appears_in_errors_or_in_clear() {
    let errors = [
        r(Sqlite, MaskKind::KeyedHash, &[], ColumnType::Text),
        r(Postgres, MaskKind::KeyedHash, &[], ColumnType::Integer),
        r(Postgres, MaskKind::KeyedHash, &[SECRET], ColumnType::Text),
        render_mask(Postgres, MaskKind::KeyedHash, &[], "c", ColumnType::Text, None),
        render_mask(Postgres, MaskKind::KeyedHash, &[], "c", ColumnType::Text, Some("")),
    ];
    for error in errors {
        let error = error.unwrap_err();
        assert!(!format!("{error} {error:?}").contains(SECRET), "{error:?}");
    }
    assert_eq!(
        render_mask(Postgres, MaskKind::KeyedHash, &[], "c", ColumnType::Text, None),
        Err(MaskError::MissingSecret)
    );
    for d in [Postgres, MySql, MsSql] {
        let sql = ok(d, MaskKind::KeyedHash, &[], ColumnType::Text);
        assert!(!sql.contains(SECRET) && !sql.contains(&super::sql::hex(SECRET.as_bytes())), "{sql}");
    }
}

#[test]
fn hmac_pads_give_rfc_4231_hmac_sha256() {
    // RFC 4231 test case 2, and a key longer than the block (hashed first).
    assert_eq!(
        hmac_hex_for_tests(b"Jefe", "what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hmac_hex_for_tests(&[0xaa; 131], "Test Using Larger Than Block-Size Key - Hash Key First"),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}
