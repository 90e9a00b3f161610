//! PostgreSQL corpus.

use super::{
    Case, ColumnCase, Refusal, check_cases, check_columns, check_functions, check_placeholders,
    check_refusals,
};
use crate::analyse::Dialect;
use crate::analyse::StatementKind::{Ddl, Delete, Insert, Other, Read, Update};

const D: Dialect = Dialect::Postgres;

const CASES: &[Case] = &[
    ("SELECT 1", Read, &[]),
    ("SELECT 1;", Read, &[]),
    ("SELECT a, b FROM public.t WHERE c = $1 ORDER BY d LIMIT $2", Read, &["r:public.t"]),
    // CTE shadowing
    ("WITH t AS (SELECT 1) SELECT * FROM t", Read, &[]),
    ("WITH t AS (SELECT * FROM t) SELECT * FROM t", Read, &["r:t"]),
    ("WITH t AS (SELECT 1) SELECT * FROM public.t", Read, &["r:public.t"]),
    ("WITH a AS (SELECT * FROM b), b AS (SELECT * FROM a) SELECT * FROM b", Read, &["r:b"]),
    ("WITH a AS (SELECT 1) SELECT * FROM (WITH a AS (SELECT * FROM a) SELECT * FROM a) s, a", Read, &[]),
    (
        "WITH a AS (SELECT 1 FROM x) SELECT * FROM (WITH a AS (SELECT * FROM y) SELECT * FROM a) s",
        Read,
        &["r:x", "r:y"],
    ),
    ("SELECT * FROM (WITH c AS (SELECT 1) SELECT * FROM c) s JOIN c ON true", Read, &["r:c"]),
    ("WITH c AS (SELECT 1) SELECT (SELECT count(*) FROM c) FROM t", Read, &["r:t"]),
    ("WITH \"T\" AS (SELECT 1) SELECT * FROM t", Read, &["r:t"]),
    ("WITH T AS (SELECT 1) SELECT * FROM t", Read, &[]),
    // recursive
    (
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t",
        Read,
        &[],
    ),
    ("WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", Read, &["r:b"]),
    // TABLE
    ("SELECT * FROM (TABLE secret) AS x", Read, &["r:secret"]),
    ("SELECT 1 UNION TABLE public.secret", Read, &["r:public.secret"]),
    ("WITH s AS (SELECT 1) SELECT * FROM (TABLE s) AS x", Read, &[]),
    // aliases and case folding
    (
        "SELECT customers.id, orders.cid FROM orders AS customers JOIN customers AS orders ON customers.id = orders.cid",
        Read,
        &["r:customers", "r:orders"],
    ),
    ("SELECT * FROM \"Orders\", Orders, ORDERS", Read, &["r:Orders", "r:orders"]),
    ("SELECT * FROM \"t\"\"x\"", Read, &["r:t\"x"]),
    ("SELECT * FROM Sales.\"Q1\"", Read, &["r:sales.Q1"]),
    // comments
    ("SELECT 1 /* ; DROP TABLE t */ -- ; DROP TABLE u", Read, &[]),
    ("SELECT * FROM t -- ; DELETE FROM t\n", Read, &["r:t"]),
    // literal traps
    ("SELECT 'a\\' , 'x'' FROM secret --' FROM t", Read, &["r:t"]),
    ("SELECT E'\\'' FROM t", Read, &["r:t"]),
    ("SELECT E'\\' FROM secret --' FROM t", Read, &["r:t"]),
    ("SELECT $$ ' FROM secret $$ FROM t", Read, &["r:t"]),
    ("SELECT $tag$ $$ ' FROM secret $tag$ FROM t", Read, &["r:t"]),
    // subqueries in every clause
    (
        "SELECT (SELECT max(x) FROM u) FROM t WHERE EXISTS (SELECT 1 FROM v WHERE v.id = t.id) AND a IN (SELECT b FROM w) AND c = ANY (SELECT d FROM y) ORDER BY (SELECT 1 FROM z) LIMIT (SELECT 1 FROM q)",
        Read,
        &["r:q", "r:t", "r:u", "r:v", "r:w", "r:y", "r:z"],
    ),
    (
        "SELECT a FROM t GROUP BY a, (SELECT 1 FROM g) HAVING count(*) > (SELECT 1 FROM h)",
        Read,
        &["r:g", "r:h", "r:t"],
    ),
    (
        "SELECT CASE WHEN a > 0 THEN (SELECT 1 FROM c1) ELSE (SELECT 2 FROM c2) END FROM t",
        Read,
        &["r:c1", "r:c2", "r:t"],
    ),
    (
        "SELECT coalesce((SELECT x FROM f1), 1) FROM t JOIN u ON u.a = (SELECT 1 FROM j)",
        Read,
        &["r:f1", "r:j", "r:t", "r:u"],
    ),
    ("SELECT * FROM t WHERE a = ANY(ARRAY(SELECT x FROM arr))", Read, &["r:arr", "r:t"]),
    ("SELECT * FROM (SELECT * FROM (SELECT * FROM deep) a) b", Read, &["r:deep"]),
    // set operations
    (
        "SELECT * FROM t INTERSECT SELECT * FROM u EXCEPT SELECT * FROM v UNION ALL SELECT * FROM w",
        Read,
        &["r:t", "r:u", "r:v", "r:w"],
    ),
    ("(SELECT a FROM t) UNION (SELECT b FROM u) ORDER BY 1", Read, &["r:t", "r:u"]),
    ("VALUES (1), ((SELECT 2 FROM v))", Read, &["r:v"]),
    // LATERAL, functions, joins
    ("SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.a = t.a) s", Read, &["r:t", "r:u"]),
    ("SELECT * FROM t JOIN LATERAL generate_series(1, t.n) AS g(i) ON true", Read, &["r:t"]),
    ("SELECT * FROM generate_series(1, (SELECT max(n) FROM lim)) AS g", Read, &["r:lim"]),
    ("SELECT * FROM unnest(ARRAY[1, 2]) AS u(x)", Read, &[]),
    (
        "SELECT * FROM t JOIN u USING (id) LEFT JOIN v ON v.id = t.id NATURAL JOIN w",
        Read,
        &["r:t", "r:u", "r:v", "r:w"],
    ),
    ("SELECT * FROM ((a JOIN b ON a.x = b.x) JOIN c ON c.y = a.y)", Read, &["r:a", "r:b", "r:c"]),
    ("SELECT * FROM t CROSS JOIN u FULL OUTER JOIN v ON true", Read, &["r:t", "r:u", "r:v"]),
    ("SELECT * FROM t TABLESAMPLE SYSTEM (10)", Read, &["r:t"]),
    ("SELECT * FROM t FOR UPDATE", Read, &["r:t"]),
    ("SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b", Read, &["r:t"]),
    ("SELECT row_number() OVER w FROM t WINDOW w AS (PARTITION BY a ORDER BY b)", Read, &["r:t"]),
    // DML
    ("INSERT INTO t (a, b) VALUES ($1, $2)", Insert, &["w:t"]),
    ("INSERT INTO t SELECT * FROM u WHERE u.a IN (SELECT a FROM v)", Insert, &["r:u", "r:v", "w:t"]),
    (
        "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b RETURNING id",
        Insert,
        &["r:t", "w:t"],
    ),
    ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", Insert, &["w:t"]),
    ("WITH src AS (SELECT * FROM u) INSERT INTO t SELECT * FROM src", Insert, &["r:u", "w:t"]),
    ("UPDATE t SET a = u.b FROM u WHERE t.id = u.id", Update, &["r:t", "w:t", "r:u"]),
    ("UPDATE t SET a = DEFAULT WHERE b = 1", Update, &["r:t", "w:t"]),
    (
        "UPDATE t AS x SET a = (SELECT max(b) FROM u) WHERE x.c = 1 RETURNING x.a",
        Update,
        &["r:t", "w:t", "r:u"],
    ),
    ("DELETE FROM t USING u WHERE t.id = u.id", Delete, &["r:t", "w:t", "r:u"]),
    ("DELETE FROM t WHERE id IN (SELECT id FROM u) RETURNING *", Delete, &["r:t", "w:t", "r:u"]),
    // data-modifying CTEs take the kind of their statement
    ("WITH x AS (DELETE FROM t WHERE a = 1 RETURNING *) SELECT * FROM x", Delete, &["r:t", "w:t"]),
    ("WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", Insert, &["w:t"]),
    ("WITH x AS (UPDATE t SET a = 1 RETURNING *) UPDATE u SET b = 1", Update, &["r:t", "w:t", "r:u", "w:u"]),
    // DDL
    ("CREATE TABLE t2 AS SELECT * FROM t", Ddl, &["r:t", "w:t2"]),
    ("CREATE TABLE x (LIKE t)", Ddl, &["r:t", "w:x"]),
    ("CREATE TABLE z (a int REFERENCES secret (id))", Ddl, &["w:z"]),
    ("CREATE VIEW v AS SELECT * FROM t", Ddl, &["r:t", "w:v"]),
    ("CREATE MATERIALIZED VIEW mv AS SELECT * FROM t", Ddl, &["r:t", "w:mv"]),
    ("REFRESH MATERIALIZED VIEW mv", Ddl, &["w:mv"]),
    ("ALTER TABLE t ADD COLUMN c int", Ddl, &["w:t"]),
    ("CREATE INDEX i ON s.t (a)", Ddl, &["w:s.t"]),
    ("DROP TABLE a, b.c", Ddl, &["w:a", "w:b.c"]),
    ("TRUNCATE t, u", Ddl, &["w:t", "w:u"]),
    ("COMMENT ON TABLE t IS 'x'", Ddl, &["w:t"]),
    ("CREATE SCHEMA s", Ddl, &[]),
    // other
    ("EXPLAIN SELECT * FROM t", Other, &["r:t"]),
    ("EXPLAIN DELETE FROM t", Other, &["r:t", "w:t"]),
    ("EXPLAIN ANALYZE DELETE FROM t", Delete, &["r:t", "w:t"]),
    ("EXPLAIN (ANALYZE, FORMAT JSON) UPDATE t SET a = 1", Update, &["r:t", "w:t"]),
    ("SHOW search_path", Other, &[]),
];

const REFUSALS: &[Refusal] = &[
    ("SELECT 1; SELECT 2", "count:2"),
    ("SELECT 1; DROP TABLE t", "count:2"),
    ("SELECT 1 /* x */; /* y */ SELECT 2 --", "count:2"),
    ("", "count:0"),
    (";", "count:0"),
    ("-- nothing", "count:0"),
    ("SELEC 1", "parse"),
    ("SELECT E'\\\\'' FROM t", "parse"),
    ("SELECT * FROM U&\"secr\\0065t\"", "parse"),
    // The tree cannot hold interval(0)'s precision: the printed text would drop it.
    ("SELECT interval(0) '1 day 01:23:45.6789'", "roundtrip"),
    // One answer per statement kind, whether or not sqlparser parses the form.
    ("VACUUM ANALYZE t", "not_allowed:VACUUM"),
    // Clauses the resolver does not walk hold no unjudged query or name.
    ("SELECT * FROM t TABLESAMPLE BERNOULLI ((SELECT count(*) FROM secrets))", "unsupported"),
    ("SELECT * FROM t TABLESAMPLE SYSTEM (a)", "unsupported"),
    // Catalog look-ups by name, and table functions off the allow-list.
    ("SELECT 'secrets'::regclass::oid", "unsupported"),
    ("SELECT CAST('secrets' AS pg_catalog.regclass)", "unsupported"),
    ("SELECT 'secrets'::REGCLASS[]", "unsupported"),
    ("SELECT 'x'::regtype", "unsupported"),
    ("SELECT * FROM pg_ls_dir('.')", "unsupported"),
    ("SELECT * FROM pg_catalog.pg_stat_get_activity(NULL)", "unsupported"),
    ("SELECT * FROM public.generate_series(1, 3)", "unsupported"),
    ("SELECT * FROM t WHERE a = ?", "parse"),
    ("TABLE secret", "parse"),
    ("DO $$ BEGIN END $$", "not_allowed:DO"),
    ("SET ROLE admin", "not_allowed:SET"),
    ("SET search_path TO evil", "not_allowed:SET"),
    ("SET LOCAL statement_timeout = 0", "not_allowed:SET"),
    ("RESET ALL", "not_allowed:RESET"),
    ("BEGIN", "not_allowed:START TRANSACTION"),
    ("COMMIT", "not_allowed:COMMIT"),
    ("ROLLBACK", "not_allowed:ROLLBACK"),
    ("SAVEPOINT s", "not_allowed:SAVEPOINT"),
    ("RELEASE SAVEPOINT s", "not_allowed:RELEASE SAVEPOINT"),
    ("COPY t TO STDOUT", "not_allowed:COPY"),
    ("COPY t FROM '/etc/passwd'", "not_allowed:COPY"),
    ("CALL p()", "not_allowed:CALL"),
    ("PREPARE p AS SELECT 1", "not_allowed:PREPARE"),
    ("EXECUTE p", "not_allowed:EXECUTE"),
    ("DEALLOCATE p", "not_allowed:DEALLOCATE"),
    ("DECLARE c CURSOR FOR SELECT 1", "not_allowed:DECLARE"),
    ("CLOSE c", "not_allowed:CLOSE"),
    ("LOCK TABLE t", "not_allowed:LOCK"),
    ("GRANT SELECT ON t TO x", "not_allowed:GRANT"),
    ("REVOKE ALL ON t FROM x", "not_allowed:REVOKE"),
    ("LISTEN x", "not_allowed:LISTEN"),
    ("NOTIFY x", "not_allowed:NOTIFY"),
    ("VACUUM t", "not_allowed:VACUUM"),
    ("ANALYZE t", "not_allowed:ANALYZE"),
    ("CREATE ROLE r", "not_allowed:CREATE ROLE"),
    ("ALTER ROLE r WITH SUPERUSER", "not_allowed:ALTER ROLE"),
    ("CREATE USER u", "not_allowed:CREATE USER"),
    ("DROP ROLE r", "not_allowed:DROP ROLE"),
    ("CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql", "not_allowed:CREATE FUNCTION"),
    ("CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", "not_allowed:CREATE TRIGGER"),
    ("CREATE EXTENSION x", "not_allowed:CREATE EXTENSION"),
    ("MERGE INTO t USING u ON t.a = u.a WHEN MATCHED THEN DELETE", "not_allowed:MERGE"),
    ("SELECT * INTO newt FROM t", "not_allowed:SELECT INTO"),
    ("EXPLAIN SET ROLE admin", "not_allowed:SET"),
    ("SELECT * FROM a.b.c", "unsupported"),
    ("WITH x AS (DELETE FROM t RETURNING *) INSERT INTO archive SELECT * FROM x", "unsupported"),
    ("CREATE TABLE a AS WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "unsupported"),
];

const COLUMNS: &[ColumnCase] = &[
    // An alias column list renames by position: the whole relation counts as read, and the
    // new names are not its columns.
    ("SELECT x.a FROM t AS x (a, b)", &["p:?.a", "p:t.*"]),
    ("UPDATE t SET a = DEFAULT", &["a:t.a"]),
    (
        "SELECT a, b FROM public.t WHERE c = $1 ORDER BY d",
        &["p:public.t.a", "p:public.t.b", "f:public.t.c", "o:public.t.d"],
    ),
    (
        "SELECT customers.id, orders.cid FROM orders AS customers JOIN customers AS orders ON customers.id = orders.cid",
        &["p:orders.id", "p:customers.cid", "j:orders.id", "j:customers.cid"],
    ),
    ("SELECT \"Name\", Name FROM T", &["p:t.Name", "p:t.name"]),
    ("SELECT x FROM (SELECT a AS x FROM t) AS s", &["p:t.a", "p:?.x"]),
    ("WITH c AS (SELECT a FROM t) SELECT c.a FROM c", &["p:t.a", "p:?.a"]),
    ("SELECT a AS k FROM t ORDER BY k", &["p:t.a"]),
    ("SELECT a FROM t UNION SELECT b FROM u ORDER BY a", &["p:t.a", "p:u.b", "o:?.a"]),
    ("SELECT * FROM t JOIN u USING (id)", &["p:t.*", "p:u.*", "j:t.id", "j:u.id"]),
    (
        "SELECT t.*, count(*) FROM t JOIN u ON t.a = u.a GROUP BY t.b HAVING max(u.c) > 1",
        &["p:t.*", "j:t.a", "j:u.a", "g:t.b", "f:u.c"],
    ),
    (
        "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a AND b = 1)",
        &["p:t.*", "f:u.a", "f:t.a", "f:u.b"],
    ),
    ("UPDATE t SET a = u.b FROM u WHERE t.id = u.id", &["a:t.a", "a:u.b", "f:t.id", "f:u.id"]),
    (
        "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b RETURNING id",
        &["a:t.a", "a:t.b", "a:?.b", "p:t.id"],
    ),
    ("DELETE FROM t WHERE a = 1 RETURNING b", &["f:t.a", "p:t.b"]),
];

#[test]
fn accepted_statements() {
    check_cases(D, CASES);
}

#[test]
fn names_compare_as_postgres_cuts_them() {
    // PostgreSQL keeps 63 bytes of a name: these two aliases are one to it, and must be to Sluice.
    let long = "a".repeat(63);
    let analysis = crate::analyse::analyse(D, &format!("SELECT {long}y.b FROM t AS {long}x")).unwrap();
    let column = analysis.facts.columns.iter().find(|c| c.column == "b").expect("column b");
    assert_eq!(column.relation.as_ref().map(|r| r.name.as_str()), Some("t"), "{:?}", analysis.facts.columns);
    // Cut at a character boundary, as pg_mbcliplen does: 62 ASCII bytes and a 2-byte letter.
    let name = format!("{}é{}", "b".repeat(62), "z");
    let analysis = crate::analyse::analyse(D, &format!("SELECT 1 FROM \"{name}\"")).unwrap();
    assert_eq!(analysis.facts.relations[0].relation.name, "b".repeat(62));
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
        &[
            (
                "SELECT pg_catalog.now(), \"Upper\"(1), public.f(a), count(*), COUNT(a) FROM t",
                &["count", "pg_catalog.now", "public.f", "upper"],
            ),
            ("SELECT * FROM generate_series(1, 3), unnest(ARRAY[1])", &["generate_series", "unnest"]),
            ("SELECT 1 FROM t WHERE a = (SELECT max(b) FROM u)", &["max"]),
        ],
    );
}

#[test]
fn placeholders() {
    check_placeholders(
        D,
        &[
            ("SELECT 1", 0),
            ("SELECT * FROM t WHERE a = $1", 1),
            ("SELECT * FROM t WHERE a = $3 AND b = $1", 3),
            ("SELECT * FROM t WHERE a = $1 OR b = $1 LIMIT $2", 2),
            ("SELECT * FROM t WHERE a = $1::int", 1),
        ],
    );
}

#[test]
fn corpus_size() {
    assert!(CASES.len() + REFUSALS.len() >= 60);
}
