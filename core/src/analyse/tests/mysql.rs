//! MySQL / MariaDB corpus.

use super::{
    Case, ColumnCase, Refusal, check_cases, check_columns, check_functions, check_placeholders,
    check_refusals,
};
use crate::analyse::Dialect;
use crate::analyse::StatementKind::{Ddl, Delete, Insert, Other, Read, Update};

const D: Dialect = Dialect::MySql;

const CASES: &[Case] = &[
    ("SELECT 1", Read, &[]),
    ("SELECT 1;", Read, &[]),
    ("SELECT a FROM t WHERE b = ? LIMIT ?", Read, &["r:t"]),
    // case: table names as written, quoted or not
    ("SELECT * FROM `Orders` o JOIN db.orders p USING (id)", Read, &["r:Orders", "r:db.orders"]),
    ("SELECT * FROM Orders, orders, `orders`", Read, &["r:Orders", "r:orders"]),
    ("SELECT * FROM db.t AS a, db.T", Read, &["r:db.T", "r:db.t"]),
    ("SELECT * FROM `t``x`", Read, &["r:t`x"]),
    ("SELECT * FROM `select`", Read, &["r:select"]),
    ("SELECT * FROM t AS T1 JOIN t AS t1 ON T1.a = t1.b", Read, &["r:t"]),
    // CTEs
    ("WITH t AS (SELECT 1) SELECT * FROM t", Read, &[]),
    ("WITH t AS (SELECT * FROM t) SELECT * FROM t", Read, &["r:t"]),
    ("WITH t AS (SELECT 1) SELECT * FROM db.t", Read, &["r:db.t"]),
    ("WITH T AS (SELECT 1) SELECT * FROM t", Read, &["r:t"]),
    ("WITH a AS (SELECT 1) SELECT * FROM (WITH a AS (SELECT * FROM a) SELECT * FROM a) s, a", Read, &[]),
    ("SELECT * FROM (WITH c AS (SELECT 1) SELECT * FROM c) s JOIN c ON true", Read, &["r:c"]),
    (
        "WITH RECURSIVE t (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t",
        Read,
        &[],
    ),
    ("WITH a AS (SELECT * FROM x), b AS (SELECT * FROM a) SELECT * FROM b", Read, &["r:x"]),
    ("SELECT * FROM (TABLE secret) AS x", Read, &["r:secret"]),
    // aliases
    (
        "SELECT customers.id, orders.cid FROM orders AS customers JOIN customers AS orders ON customers.id = orders.cid",
        Read,
        &["r:customers", "r:orders"],
    ),
    // comments
    ("SELECT 1 # ; DROP TABLE t", Read, &[]),
    ("SELECT 1 -- ; DROP TABLE t", Read, &[]),
    ("SELECT 1 /* ; DROP TABLE t */", Read, &[]),
    ("SELECT 1 --comment", Read, &[]),
    ("SELECT * FROM t WHERE a = 1 /*! AND 1=0 UNION SELECT * FROM secret */", Read, &["r:secret", "r:t"]),
    // literal traps: backslash escapes and doubled quotes as MySQL reads them
    ("SELECT 'a\\'' , 'x'' FROM secret --'", Read, &[]),
    ("SELECT 'it''s', \"dq\\\"x\" FROM t", Read, &["r:t"]),
    ("SELECT \"x\" FROM t", Read, &["r:t"]),
    ("SELECT '\\\\' FROM t", Read, &["r:t"]),
    // subqueries, set operations, joins
    (
        "SELECT (SELECT max(x) FROM u) FROM t WHERE EXISTS (SELECT 1 FROM v WHERE v.id = t.id) AND a IN (SELECT b FROM w) ORDER BY (SELECT 1 FROM z)",
        Read,
        &["r:t", "r:u", "r:v", "r:w", "r:z"],
    ),
    ("SELECT a FROM t GROUP BY a HAVING count(*) > (SELECT 1 FROM h)", Read, &["r:h", "r:t"]),
    ("SELECT CASE WHEN a > 0 THEN (SELECT 1 FROM c1) END FROM t", Read, &["r:c1", "r:t"]),
    ("SELECT * FROM t UNION SELECT * FROM u UNION ALL SELECT * FROM v", Read, &["r:t", "r:u", "r:v"]),
    ("SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.a = t.a) s", Read, &["r:t", "r:u"]),
    (
        "SELECT * FROM t LEFT JOIN u ON t.a = u.a RIGHT JOIN v USING (b) STRAIGHT_JOIN w",
        Read,
        &["r:t", "r:u", "r:v", "r:w"],
    ),
    ("SELECT * FROM (SELECT * FROM (SELECT * FROM deep) a) b", Read, &["r:deep"]),
    ("SELECT * FROM t PARTITION (p0)", Read, &["r:t"]),
    ("SELECT * FROM t FOR UPDATE", Read, &["r:t"]),
    ("SELECT * FROM JSON_TABLE('[1]', '$[*]' COLUMNS (x INT PATH '$')) AS j", Read, &[]),
    ("SELECT JSON_EXTRACT(a, '$.x') FROM t", Read, &["r:t"]),
    // DML
    ("INSERT INTO t (a) VALUES (?)", Insert, &["w:t"]),
    ("INSERT INTO t SET a = 1, b = ?", Insert, &["w:t"]),
    ("INSERT INTO t (a) SELECT b FROM u", Insert, &["w:t", "r:u"]),
    ("INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)", Insert, &["r:t", "w:t"]),
    ("INSERT INTO t (a) VALUES (1) AS new ON DUPLICATE KEY UPDATE a = new.a", Insert, &["r:t", "w:t"]),
    ("REPLACE INTO t VALUES (1)", Insert, &["w:t"]),
    ("INSERT IGNORE INTO db.t VALUES (1)", Insert, &["w:db.t"]),
    ("UPDATE t SET a = 1 ORDER BY b LIMIT 1", Update, &["r:t", "w:t"]),
    ("UPDATE LOW_PRIORITY IGNORE t SET a = 1", Update, &["r:t", "w:t"]),
    ("UPDATE IGNORE a JOIN b ON a.id = b.id SET a.x = b.y", Update, &["r:a", "w:a", "r:b"]),
    ("DELETE QUICK IGNORE LOW_PRIORITY FROM t WHERE a = 1", Delete, &["r:t", "w:t"]),
    ("DELETE IGNORE a FROM a JOIN b ON a.id = b.id", Delete, &["r:a", "w:a", "r:b"]),
    ("UPDATE `ignore` SET a = 1", Update, &["r:ignore", "w:ignore"]),
    ("UPDATE a JOIN b ON a.id = b.id SET a.x = b.y", Update, &["r:a", "w:a", "r:b"]),
    ("UPDATE a JOIN b ON a.id = b.id SET x = 1", Update, &["r:a", "w:a", "r:b", "w:b"]),
    ("UPDATE t SET a = (SELECT max(b) FROM u)", Update, &["r:t", "w:t", "r:u"]),
    ("DELETE FROM t WHERE a = 1 LIMIT 10", Delete, &["r:t", "w:t"]),
    ("DELETE a FROM a JOIN b ON a.id = b.id", Delete, &["r:a", "w:a", "r:b"]),
    ("DELETE x FROM a AS x JOIN b ON x.id = b.id", Delete, &["r:a", "w:a", "r:b"]),
    ("DELETE FROM a USING a JOIN b ON a.id = b.id", Delete, &["r:a", "w:a", "r:b"]),
    // DDL and other
    ("CREATE TABLE x LIKE t", Ddl, &["r:t", "w:x"]),
    ("CREATE TABLE x AS SELECT * FROM t", Ddl, &["r:t", "w:x"]),
    ("CREATE TABLE x (id INT PRIMARY KEY)", Ddl, &["w:x"]),
    ("ALTER TABLE t RENAME TO u", Ddl, &["w:t"]),
    ("RENAME TABLE a TO b", Ddl, &["w:a", "w:b"]),
    ("DROP TABLE IF EXISTS t", Ddl, &["w:t"]),
    ("TRUNCATE TABLE t", Ddl, &["w:t"]),
    ("CREATE INDEX i ON t (a)", Ddl, &["w:t"]),
    ("EXPLAIN SELECT * FROM t", Other, &["r:t"]),
    ("EXPLAIN ANALYZE SELECT * FROM t", Read, &["r:t"]),
    ("DESCRIBE t", Other, &["r:t"]),
    ("SHOW TABLES", Other, &[]),
    ("SHOW COLUMNS FROM t", Other, &["r:t"]),
    ("SHOW CREATE TABLE t", Other, &["r:t"]),
];

const REFUSALS: &[Refusal] = &[
    // 0x41 is a number in numeric context, X'41' (what sqlparser prints) a binary string.
    ("SELECT 0x41 + 0", "unsupported"),
    ("INSERT INTO t VALUES (0xffffffffffffffff)", "unsupported"),
    // Modifiers out of MySQL's order (a syntax error there), or beside optimizer hints.
    ("UPDATE IGNORE LOW_PRIORITY t SET a = 1", "unsupported"),
    ("UPDATE QUICK t SET a = 1", "unsupported"),
    ("UPDATE IGNORE IGNORE t SET a = 1", "unsupported"),
    ("UPDATE /*+ NO_ICP(t) */ IGNORE t SET a = 1", "unsupported"),
    ("SELECT 1; SELECT 2", "count:2"),
    ("SELECT 1 #\n; DROP TABLE t", "count:2"),
    ("SELECT 1 /* */; SELECT 2", "count:2"),
    ("", "count:0"),
    ("SELECT 'a\\' , 'x'' FROM secret --' FROM t", "parse"),
    ("SELECT * FROM t INTO OUTFILE '/tmp/x'", "parse"),
    ("SELECT * FROM t LOCK IN SHARE MODE", "parse"),
    ("LOAD DATA INFILE '/x' INTO TABLE t", "not_allowed:LOAD"),
    ("LOAD DATA LOCAL INFILE '/x' INTO TABLE t", "not_allowed:LOAD"),
    ("HANDLER t OPEN", "not_allowed:HANDLER"),
    ("DO SLEEP(1)", "not_allowed:DO"),
    ("PREPARE s FROM 'SELECT 1'", "not_allowed:PREPARE"),
    ("SET NAMES utf8", "not_allowed:SET"),
    ("SET @a = 1", "not_allowed:SET"),
    ("SET GLOBAL x = 1", "not_allowed:SET"),
    ("SET autocommit = 0", "not_allowed:SET"),
    ("START TRANSACTION", "not_allowed:START TRANSACTION"),
    ("BEGIN", "not_allowed:START TRANSACTION"),
    ("COMMIT", "not_allowed:COMMIT"),
    ("ROLLBACK", "not_allowed:ROLLBACK"),
    ("EXECUTE s", "not_allowed:EXECUTE"),
    ("DEALLOCATE PREPARE s", "not_allowed:DEALLOCATE"),
    ("CALL p()", "not_allowed:CALL"),
    ("USE db", "not_allowed:USE"),
    ("KILL 1", "not_allowed:KILL"),
    ("FLUSH TABLES", "not_allowed:FLUSH"),
    ("LOCK TABLES t READ", "not_allowed:LOCK TABLES"),
    ("UNLOCK TABLES", "not_allowed:UNLOCK TABLES"),
    ("SHOW PROCESSLIST", "not_allowed:SHOW PROCESS LIST"),
    ("GRANT SELECT ON t TO u", "not_allowed:GRANT"),
    ("CREATE USER u", "not_allowed:CREATE USER"),
    ("SELECT * FROM a.b.c", "unsupported"),
];

/// `$1` is an identifier in MySQL, as sqlparser reads it too: a column, not a parameter.
#[test]
fn dollar_is_an_identifier() {
    check_columns(D, &[("SELECT * FROM t WHERE a = $1", &["p:t.*", "f:t.a", "f:t.$1"])]);
}

const COLUMNS: &[ColumnCase] = &[
    ("SELECT `Col`, COL FROM t", &["p:t.col"]),
    ("SELECT a FROM t WHERE b = ? ORDER BY c", &["p:t.a", "f:t.b", "o:t.c"]),
    (
        "SELECT customers.id, orders.cid FROM orders AS customers JOIN customers AS orders ON customers.id = orders.cid",
        &["p:orders.id", "p:customers.cid", "j:orders.id", "j:customers.cid"],
    ),
    ("UPDATE a JOIN b ON a.id = b.id SET a.x = b.y", &["j:a.id", "j:b.id", "a:a.x", "a:b.y"]),
    ("INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)", &["a:t.a"]),
    (
        "SELECT * FROM `Orders` o JOIN db.orders p USING (id)",
        &["p:Orders.*", "p:db.orders.*", "j:Orders.id", "j:db.orders.id"],
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
    check_functions(D, &[("SELECT SLEEP(1), Now(), db.f(a) FROM t", &["db.f", "now", "sleep"])]);
}

#[test]
fn placeholders() {
    check_placeholders(
        D,
        &[("SELECT 1", 0), ("SELECT ?, ? FROM t WHERE a = ?", 3), ("SELECT '?' FROM t WHERE a = ?", 1)],
    );
}

/// The modifiers reach the database as written (in MySQL's order), and only there.
#[test]
fn modifiers_are_printed_back() {
    for (sql, sent) in [
        ("update low_priority ignore t set a = 1", "UPDATE LOW_PRIORITY IGNORE t SET a = 1"),
        ("/* c */ UPDATE\n IGNORE t SET a = 1", "UPDATE IGNORE t SET a = 1"),
        ("DELETE IGNORE QUICK FROM t", "DELETE QUICK IGNORE FROM t"),
        (
            "DELETE LOW_PRIORITY a FROM a JOIN b ON a.id = b.id",
            "DELETE LOW_PRIORITY a FROM a JOIN b ON a.id = b.id",
        ),
        ("UPDATE /*+ NO_ICP(t) */ t SET a = 1", "UPDATE /*+ NO_ICP(t) */ t SET a = 1"),
        ("UPDATE `IGNORE` SET a = 1", "UPDATE `IGNORE` SET a = 1"),
    ] {
        assert_eq!(crate::analyse::analyse(D, sql).map(|a| a.sql).ok().as_deref(), Some(sent), "{sql}");
    }
    // Other dialects have no such modifiers: the word stays a table name there.
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        let analysis = crate::analyse::analyse(dialect, "UPDATE low_priority SET a = 1");
        assert!(
            analysis
                .as_ref()
                .is_ok_and(|a| a.modifiers.is_empty() && a.sql == "UPDATE low_priority SET a = 1"),
            "{dialect:?}: {analysis:?}"
        );
    }
}

#[test]
fn corpus_size() {
    assert!(CASES.len() + REFUSALS.len() >= 60);
}
