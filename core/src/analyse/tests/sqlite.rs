//! SQLite corpus.

use super::{
    Case, ColumnCase, Refusal, check_cases, check_columns, check_functions, check_placeholders,
    check_refusals,
};
use crate::analyse::Dialect;
use crate::analyse::StatementKind::{Ddl, Delete, Insert, Other, Read, Update};

const D: Dialect = Dialect::Sqlite;

const CASES: &[Case] = &[
    ("SELECT 1", Read, &[]),
    ("SELECT 1;", Read, &[]),
    ("SELECT * FROM t WHERE a = ?", Read, &["r:t"]),
    // every quoting style, ASCII-case-insensitive
    ("SELECT * FROM [x] JOIN \"y\" ON 1 JOIN `z` ON 1", Read, &["r:x", "r:y", "r:z"]),
    ("SELECT * FROM \"T\" JOIN [t] ON 1 JOIN T ON 1", Read, &["r:t"]),
    ("SELECT * FROM \"t\"\"x\"", Read, &["r:t\"x"]),
    ("SELECT * FROM [a b]", Read, &["r:a b"]),
    ("SELECT * FROM main.T", Read, &["r:main.t"]),
    ("SELECT * FROM temp.t", Read, &["r:temp.t"]),
    ("SELECT * FROM t AS `x`", Read, &["r:t"]),
    // CTEs
    ("WITH t AS (SELECT 1) SELECT * FROM t", Read, &[]),
    ("WITH T AS (SELECT 1) SELECT * FROM t", Read, &[]),
    ("WITH t AS (SELECT * FROM t) SELECT * FROM t", Read, &["r:t"]),
    ("WITH t AS (SELECT 1) SELECT * FROM main.t", Read, &["r:main.t"]),
    ("WITH a AS (SELECT 1) SELECT * FROM (WITH a AS (SELECT * FROM a) SELECT * FROM a) s, a", Read, &[]),
    ("SELECT * FROM (WITH c AS (SELECT 1) SELECT * FROM c) s JOIN c ON 1", Read, &["r:c"]),
    (
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t",
        Read,
        &[],
    ),
    ("WITH a AS (SELECT * FROM x), b AS (SELECT * FROM a) SELECT * FROM b", Read, &["r:x"]),
    // aliases
    (
        "SELECT customers.id, orders.cid FROM orders AS customers JOIN customers AS orders ON customers.id = orders.cid",
        Read,
        &["r:customers", "r:orders"],
    ),
    // comments and literals
    ("SELECT 1 -- ; DROP TABLE t", Read, &[]),
    ("SELECT 1 /* ; DROP TABLE t */", Read, &[]),
    ("SELECT 'x'' FROM secret --' FROM t", Read, &["r:t"]),
    ("SELECT 'a\\' FROM t", Read, &["r:t"]),
    ("SELECT \"a\"\"b\" FROM t", Read, &["r:t"]),
    // subqueries, set operations, joins
    (
        "SELECT (SELECT max(x) FROM u) FROM t WHERE EXISTS (SELECT 1 FROM v WHERE v.id = t.id) AND a IN (SELECT b FROM w) ORDER BY (SELECT 1 FROM z) LIMIT (SELECT 1 FROM q)",
        Read,
        &["r:q", "r:t", "r:u", "r:v", "r:w", "r:z"],
    ),
    ("SELECT a FROM t GROUP BY a HAVING count(*) > (SELECT 1 FROM h)", Read, &["r:h", "r:t"]),
    (
        "SELECT CASE WHEN a > 0 THEN (SELECT 1 FROM c1) ELSE (SELECT 2 FROM c2) END FROM t",
        Read,
        &["r:c1", "r:c2", "r:t"],
    ),
    (
        "SELECT * FROM t INTERSECT SELECT * FROM u EXCEPT SELECT * FROM v UNION SELECT * FROM w",
        Read,
        &["r:t", "r:u", "r:v", "r:w"],
    ),
    (
        "SELECT * FROM t JOIN u USING (id) LEFT JOIN v ON v.a = t.a NATURAL JOIN w",
        Read,
        &["r:t", "r:u", "r:v", "r:w"],
    ),
    ("SELECT * FROM t CROSS JOIN u", Read, &["r:t", "r:u"]),
    ("SELECT * FROM (SELECT * FROM (SELECT * FROM deep) a) b", Read, &["r:deep"]),
    ("SELECT * FROM json_each('[1]')", Read, &[]),
    ("SELECT * FROM t, json_each(t.doc) AS j", Read, &["r:t"]),
    ("SELECT * FROM t INDEXED BY i", Read, &["r:t"]),
    ("VALUES (1), (2)", Read, &[]),
    ("SELECT group_concat(a) FROM t GROUP BY b ORDER BY 1", Read, &["r:t"]),
    ("SELECT * FROM t WHERE a IN (SELECT a FROM u UNION SELECT a FROM v)", Read, &["r:t", "r:u", "r:v"]),
    // DML
    ("INSERT INTO t (a) VALUES (?)", Insert, &["w:t"]),
    ("INSERT OR REPLACE INTO t VALUES (1)", Insert, &["w:t"]),
    ("REPLACE INTO t VALUES (1)", Insert, &["w:t"]),
    ("INSERT INTO t SELECT * FROM u", Insert, &["w:t", "r:u"]),
    ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", Insert, &["w:t"]),
    (
        "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = excluded.a WHERE t.b > 0",
        Insert,
        &["r:t", "w:t"],
    ),
    ("WITH s AS (SELECT * FROM u) INSERT INTO t SELECT * FROM s", Insert, &["w:t", "r:u"]),
    ("UPDATE t SET a = u.b FROM u WHERE t.id = u.id", Update, &["r:t", "w:t", "r:u"]),
    ("UPDATE t SET a = (SELECT max(b) FROM u) RETURNING a", Update, &["r:t", "w:t", "r:u"]),
    ("UPDATE OR IGNORE t SET a = 1", Update, &["r:t", "w:t"]),
    ("DELETE FROM t WHERE rowid = 1 RETURNING *", Delete, &["r:t", "w:t"]),
    ("DELETE FROM main.t WHERE a IN (SELECT a FROM u)", Delete, &["r:main.t", "w:main.t", "r:u"]),
    // DDL and other
    ("CREATE TABLE x (a INTEGER PRIMARY KEY, b TEXT)", Ddl, &["w:x"]),
    ("CREATE TEMP TABLE x AS SELECT * FROM t", Ddl, &["w:x", "r:t"]),
    ("CREATE VIEW v AS SELECT * FROM t", Ddl, &["w:v", "r:t"]),
    ("CREATE INDEX i ON t (a)", Ddl, &["w:t"]),
    ("CREATE VIRTUAL TABLE f USING fts5(a)", Ddl, &["w:f"]),
    ("DROP VIEW IF EXISTS v", Ddl, &["w:v"]),
    ("DROP TABLE t", Ddl, &["w:t"]),
    ("ALTER TABLE t ADD COLUMN c TEXT", Ddl, &["w:t"]),
    ("EXPLAIN QUERY PLAN SELECT * FROM t", Other, &["r:t"]),
    ("EXPLAIN SELECT * FROM t", Other, &["r:t"]),
];

const REFUSALS: &[Refusal] = &[
    ("SELECT 1; SELECT 2", "count:2"),
    ("SELECT 1 -- x\n; DELETE FROM t", "count:2"),
    ("", "count:0"),
    ("SELEC 1", "parse"),
    ("PRAGMA table_info('t')", "not_allowed:PRAGMA"),
    // SQLite's 0x41 is an integer; sqlparser would print the blob X'41'.
    ("SELECT 0x41 + 0", "unsupported"),
    // Table functions over the database's own state: other tenants' row counts, denied
    // tables' columns, the file path.
    ("SELECT name, ncell FROM dbstat('main')", "unsupported"),
    ("SELECT * FROM pragma_table_info('secrets')", "unsupported"),
    ("SELECT * FROM pragma_database_list()", "unsupported"),
    ("PRAGMA foreign_keys = ON", "not_allowed:PRAGMA"),
    ("ATTACH DATABASE 'x' AS y", "not_allowed:ATTACH DATABASE"),
    ("DETACH DATABASE y", "not_allowed:DETACH"),
    ("BEGIN", "not_allowed:START TRANSACTION"),
    ("BEGIN IMMEDIATE", "not_allowed:START TRANSACTION"),
    ("END", "not_allowed:COMMIT"),
    ("COMMIT", "not_allowed:COMMIT"),
    ("ROLLBACK", "not_allowed:ROLLBACK"),
    ("SAVEPOINT s", "not_allowed:SAVEPOINT"),
    ("VACUUM", "not_allowed:VACUUM"),
    ("ANALYZE", "not_allowed:ANALYZE"),
    ("REINDEX", "not_allowed:REINDEX"),
    ("CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u; END", "not_allowed:CREATE TRIGGER"),
    ("SELECT [a]]b] FROM t", "unsupported"),
    ("SELECT * FROM t WHERE a = :name", "unsupported"),
    ("SELECT * FROM t WHERE a = @x", "unsupported"),
    ("SELECT * FROM t WHERE a = $x", "unsupported"),
    ("SELECT * FROM a.b.c", "unsupported"),
];

const COLUMNS: &[ColumnCase] = &[
    ("SELECT A, \"a\", [B] FROM T WHERE c = ?", &["p:t.a", "p:t.b", "f:t.c"]),
    ("SELECT x.a FROM t AS X", &["p:t.a"]),
    (
        "SELECT customers.id, orders.cid FROM orders AS customers JOIN customers AS orders ON customers.id = orders.cid",
        &["p:orders.id", "p:customers.cid", "j:orders.id", "j:customers.cid"],
    ),
    ("UPDATE t SET a = u.b FROM u WHERE t.id = u.id", &["a:t.a", "a:u.b", "f:t.id", "f:u.id"]),
    (
        "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = excluded.a WHERE t.b > 0",
        &["a:t.a", "a:?.a", "f:t.b"],
    ),
];

#[test]
fn accepted_statements() {
    check_cases(D, CASES);
}

#[test]
fn refused_statements() {
    check_refusals(D, REFUSALS);
}

#[test]
fn column_uses() {
    check_columns(D, COLUMNS);
}

#[test]
fn functions() {
    check_functions(
        D,
        &[(
            "SELECT Upper(a), json_extract(b, '$.x') FROM t, json_each(t.c)",
            &["json_each", "json_extract", "upper"],
        )],
    );
}

#[test]
fn placeholders() {
    check_placeholders(
        D,
        &[
            ("SELECT 1", 0),
            ("SELECT ?, ? FROM t", 2),
            ("SELECT ?1, ?, ?5, ?", 6),
            ("SELECT * FROM t WHERE a = ?2 AND b = ?", 3),
            ("SELECT ?3", 3),
        ],
    );
}

#[test]
fn corpus_size() {
    assert!(CASES.len() + REFUSALS.len() >= 60);
}
