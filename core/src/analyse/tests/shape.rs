//! Unrestricted writes, outer limits and fingerprints.

use super::*;
use crate::analyse::StatementFacts;

fn facts(dialect: Dialect, sql: &str) -> StatementFacts {
    analyse(dialect, sql).unwrap_or_else(|e| panic!("{sql}: {e}")).facts
}

#[test]
fn writes_without_a_restricting_where_are_reported() {
    let unrestricted = [
        "DELETE FROM t",
        "DELETE FROM t WHERE 1 = 1",
        "DELETE FROM t WHERE true",
        "DELETE FROM t WHERE id = id",
        "DELETE FROM t WHERE (1 = 1) OR id = 5",
        "DELETE FROM t WHERE id = 5 OR 'a' = 'a'",
        "DELETE FROM t WHERE id IS NOT NULL",
        "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.x = 1)",
        "UPDATE t SET a = 1",
        "UPDATE t SET a = 1 WHERE 2 > 1",
        "UPDATE t AS x SET a = 1 WHERE x.a = x.a",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
    ];
    for sql in unrestricted {
        let f = facts(Dialect::Postgres, sql);
        assert_eq!(f.unrestricted_writes, vec![RelationName { schema: None, name: "t".into() }], "{sql}");
    }
    let restricted = [
        "DELETE FROM t WHERE id = 5",
        "DELETE FROM t WHERE id = $1",
        "DELETE FROM t WHERE 1 = 1 AND id = 5",
        "DELETE FROM t WHERE id = 5 OR id = 6",
        "DELETE FROM t AS x WHERE x.id IN (SELECT id FROM u)",
        "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.x = t.id)",
        "UPDATE t SET a = 1 WHERE a IS NULL",
        "UPDATE t SET a = 1 WHERE NOT (a > 3)",
    ];
    for sql in restricted {
        assert!(facts(Dialect::Postgres, sql).unrestricted_writes.is_empty(), "{sql}");
    }
    assert!(facts(Dialect::Postgres, "SELECT * FROM t").unrestricted_writes.is_empty());
    let mysql = facts(Dialect::MySql, "DELETE a FROM t AS a JOIN u ON a.id = u.id");
    assert_eq!(mysql.unrestricted_writes, vec![RelationName { schema: None, name: "t".into() }]);
}

#[test]
fn outer_literal_limits_are_reported() {
    let cases: [(Dialect, &str, Option<u64>); 8] = [
        (Dialect::Postgres, "SELECT * FROM t LIMIT 10", Some(10)),
        (Dialect::Postgres, "SELECT * FROM t LIMIT 10 OFFSET 5", Some(10)),
        (Dialect::Postgres, "SELECT * FROM t FETCH FIRST 3 ROWS ONLY", Some(3)),
        (Dialect::Postgres, "SELECT * FROM t LIMIT $1", None),
        (Dialect::Postgres, "SELECT * FROM (SELECT * FROM t LIMIT 5) AS s", None),
        (Dialect::Postgres, "SELECT * FROM t", None),
        (Dialect::MySql, "SELECT * FROM t LIMIT 20, 7", Some(7)),
        (Dialect::Sqlite, "SELECT * FROM t LIMIT 4", Some(4)),
    ];
    for (dialect, sql, limit) in cases {
        assert_eq!(facts(dialect, sql).limit, limit, "{sql}");
    }
}

#[test]
fn fingerprints_ignore_constants_only() {
    let a = facts(Dialect::Postgres, "SELECT * FROM t WHERE id = 1 AND name = 'x'").fingerprint;
    let b = facts(Dialect::Postgres, "select *   from t where id = 42 and name = 'other' -- c").fingerprint;
    let c = facts(Dialect::Postgres, "SELECT * FROM t WHERE id = 1 OR name = 'x'").fingerprint;
    let d = facts(Dialect::Postgres, "SELECT * FROM u WHERE id = 1 AND name = 'x'").fingerprint;
    assert_eq!(a.len(), 64);
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, d);
}
