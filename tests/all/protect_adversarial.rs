//! Acceptance of the rewrite stage (row filters and column masks), adversarially: well over
//! 80 statements on PostgreSQL, MariaDB and SQLite, each sent by tenant 1 through Sluice with
//! the `tenant-isolation` and `pii-mask` plugins configured. For every statement the response
//! must carry no row of another tenant and no clear masked value (every such value carries a
//! marker, searched for in the whole response, also hex-, base64- and reverse-encoded), or the
//! statement must be refused with a client error. Legit everyday reads must succeed with the
//! exact row count (or values) tenant 1 is entitled to, so the suite cannot pass by refusing
//! everything. Writes come after the reads; afterwards the rows of the other tenants are
//! compared with what they were, read directly (a second Sluice without plugins), and no clear
//! value may have been copied into an unmasked column.
//!
//! The expectations themselves are checked by `*_expectations_hold_on_premasked_data`: the
//! same reads run without plugins on a database that holds only tenant 1's rows, with the
//! masked values stored literally, which is what the rewrite must make tenant 1 see.

use std::path::Path;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::{
    KEY, KEY_TENANT_2, MyDatabase, PgSchema, Sluice, TempDir, base_toml, plugin_toml, policy_toml,
};

/// Which databases a case runs on (bit set).
const PG: u8 = 1;
const MY: u8 = 2;
const LITE: u8 = 4;
const ALL: u8 = PG | MY | LITE;

/// What a case must produce.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Success with exactly this many rows.
    Rows(usize),
    /// Success; the first column's values, as text (`null` for NULL), sorted, are these.
    Values(&'static [&'static str]),
    /// A client error (never a success, never a 5xx other than upstream_error).
    Refuse,
    /// A refusal, or success with this many rows (`None`: any number).
    OrRefuse(Option<usize>),
    /// Success; the first column's values, as text, in this order.
    Ordered(&'static [&'static str]),
    /// A refusal, or success with these first-column values (as `Values`).
    ValuesOrRefuse(&'static [&'static str]),
    /// An error oracle: success with this many rows, or a refusal before the statement reaches
    /// the database (a database error here would depend on hidden data).
    Oracle(usize),
    /// A write that is an error oracle: success with this many affected rows, or a refusal before
    /// the statement reaches the database.
    OracleWrite(u64),
    /// A write that must succeed and report this many affected rows.
    Affected(u64),
    /// A write that may be refused; if it runs it must report this many affected rows.
    AffectedOrRefuse(u64),
}

use Expect::{
    Affected, AffectedOrRefuse, OrRefuse, Oracle, OracleWrite, Ordered, Refuse, Rows, Values, ValuesOrRefuse,
};

/// One statement. `{schema}` is replaced by the PostgreSQL schema / MariaDB database name.
struct Case {
    on: u8,
    sql: &'static str,
    params: &'static [&'static str],
    expect: Expect,
}

const fn q(on: u8, sql: &'static str, expect: Expect) -> Case {
    Case { on, sql, params: &[], expect }
}

const fn qp(on: u8, sql: &'static str, params: &'static [&'static str], expect: Expect) -> Case {
    Case { on, sql, params, expect }
}

// ---------------------------------------------------------------------------------------------
// Data. Tenant 1 owns customers 1-3 and orders 1-5 (order 5 points at tenant 2's customer 101);
// tenant 2 owns customers 101-102 and orders 101-103 (order 103 points at tenant 1's customer
// 1); order 104 has no tenant. Every foreign row carries `ZZT2` / `ZZNUL` in a text column and
// an amount no tenant-1 row has; every clear email, SSN and card carries a marker in the part
// its mask hides. Order 101's note is not a valid regular expression (for the error oracles).

/// id, tenant, name, email, ssn, card.
type CustomerRow = (i32, &'static str, &'static str, &'static str, &'static str, &'static str);

const CUSTOMERS: &[CustomerRow] = &[
    (1, "1", "Alice Tone", "leakmail1@t1.example", "531-77-0011", "4929555500011111"),
    (2, "1", "Bob Tone", "leakmail2@t1.example", "531-77-0012", "4929555500021112"),
    (3, "1", "Carol Tone", "leakmail3@t1.example", "531-77-0013", "4929555500031113"),
    (101, "2", "ZZT2 Dave", "leakmailz1@zzt2.example", "531-77-ZZT2", "4929555599ZZT2"),
    (102, "2", "ZZT2 Erin", "leakmailz2@zzt2.example", "531-77-ZZT2", "4929555598ZZT2"),
];

/// id, tenant, customer_id, amount, note.
type OrderRow = (i32, Option<&'static str>, i32, &'static str, &'static str);

const ORDERS: &[OrderRow] = &[
    (1, Some("1"), 1, "10.00", "t1 note one"),
    (2, Some("1"), 1, "20.00", "t1 note two"),
    (3, Some("1"), 2, "30.00", "t1 note three"),
    (4, Some("1"), 3, "40.00", "t1 note four"),
    (5, Some("1"), 101, "50.00", "t1 note five"),
    (101, Some("2"), 101, "7777.77", "ZZT2 order (a"),
    (102, Some("2"), 102, "8888.88", "ZZT2 order b"),
    (103, Some("2"), 1, "9999.99", "ZZT2 order c"),
    (104, None, 1, "6666.66", "ZZNUL orphan"),
];

/// Substrings that only a row of another tenant can bring into a response.
const FOREIGN_MARKERS: &[&str] = &["zzt2", "zznul", "7777.77", "8888.88", "9999.99", "6666.66"];
/// Substrings of the clear values that only their masks' hidden parts contain.
const CLEAR_MARKERS: &[&str] = &["leakmail", "531-77", "49295555"];

/// The error codes a refused statement may carry.
const REFUSALS: &[&str] =
    &["statement_not_allowed", "policy_denied", "sql_parse_error", "upstream_error", "invalid_request"];

fn mask_email(email: &str) -> String {
    let (_, domain) = email.split_once('@').unwrap();
    format!("{}***@{domain}", &email[..1])
}

fn mask_tail(value: &str) -> String {
    let n = value.chars().count();
    format!("{}{}", "*".repeat(n - 4), &value[n - 4..])
}

/// The dialect's spelling of the schema.
#[derive(Clone, Copy)]
enum Dialect {
    Postgres,
    MariaDb,
    Sqlite,
}

/// The schema and seed data for `dialect`; `premasked` keeps only tenant 1's rows and stores
/// the masked values instead of the clear ones.
fn setup_sql(dialect: Dialect, premasked: bool) -> String {
    let (text, key, amount) = match dialect {
        Dialect::Postgres => ("text", "int", "numeric(10,2)"),
        Dialect::MariaDb => ("VARCHAR(255)", "INT", "DECIMAL(10,2)"),
        Dialect::Sqlite => ("TEXT", "INTEGER", "NUMERIC"),
    };
    let mut sql = format!(
        "CREATE TABLE customers (id {key} PRIMARY KEY, tenant_id {text} NOT NULL, name {text}, \
         email {text}, ssn {text}, card {text});\n\
         CREATE TABLE orders (id {key} PRIMARY KEY, tenant_id {text}, customer_id {key}, \
         amount {amount}, note {text});\n\
         CREATE TABLE products (id {key} PRIMARY KEY, name {text});\n\
         INSERT INTO products (id, name) VALUES (1001, 'widget'), (1002, 'gadget');\n"
    );
    for &(id, tenant, name, email, ssn, card) in CUSTOMERS {
        if premasked && tenant != "1" {
            continue;
        }
        let (email, ssn, card) = if premasked {
            (mask_email(email), mask_tail(ssn), mask_tail(card))
        } else {
            (email.to_string(), ssn.to_string(), card.to_string())
        };
        sql.push_str(&format!(
            "INSERT INTO customers (id, tenant_id, name, email, ssn, card) \
             VALUES ({id}, '{tenant}', '{name}', '{email}', '{ssn}', '{card}');\n"
        ));
    }
    for &(id, tenant, customer, amount, note) in ORDERS {
        if premasked && tenant != Some("1") {
            continue;
        }
        let tenant = tenant.map_or("NULL".to_string(), |t| format!("'{t}'"));
        sql.push_str(&format!(
            "INSERT INTO orders (id, tenant_id, customer_id, amount, note) \
             VALUES ({id}, {tenant}, {customer}, {amount}, '{note}');\n"
        ));
    }
    // Statistics the catalog cases try to read values from.
    match dialect {
        Dialect::Postgres => sql.push_str("CREATE INDEX customers_email ON customers (email);\nANALYZE customers;\n"),
        Dialect::MariaDb => sql.push_str(
            "CREATE INDEX customers_email ON customers (email);\nANALYZE TABLE customers PERSISTENT FOR ALL;\n",
        ),
        Dialect::Sqlite => sql.push_str("CREATE INDEX customers_email ON customers (email);\nANALYZE;\n"),
    }
    sql
}

// ---------------------------------------------------------------------------------------------
// Reads. Tenant 1 sees 3 customers and 5 orders; 4 orders join a visible customer.

static READS: &[Case] = &[
    // Issue 8, class 5: metadata through table functions and casts, refused with or without
    // protected relations in the statement.
    q(LITE, "SELECT name, ncell FROM dbstat('main')", Refuse),
    q(LITE, "SELECT name, ncell FROM dbstat", Refuse),
    q(LITE, "SELECT * FROM pragma_table_info('customers')", Refuse),
    q(LITE, "SELECT * FROM pragma_database_list()", Refuse),
    q(LITE, "SELECT * FROM main.pragma_index_list('customers')", Refuse),
    q(PG, "SELECT 'customers'::regclass::oid", Refuse),
    q(PG, "SELECT CAST('{schema}.customers' AS pg_catalog.regclass)", Refuse),
    q(PG, "SELECT id FROM customers WHERE 'customers'::regclass IS NOT NULL", Refuse),
    q(PG, "SELECT * FROM pg_ls_dir('.')", Refuse),
    // Class 6: expressions the resolver never visits.
    q(PG, "SELECT id FROM customers TABLESAMPLE BERNOULLI ((SELECT count(*) FROM orders))", Refuse),
    q(
        PG,
        "SELECT id FROM orders TABLESAMPLE SYSTEM ((SELECT 100 FROM customers WHERE ssn LIKE '531%'))",
        Refuse,
    ),
    // Everyday reads: exact counts.
    q(ALL, "SELECT * FROM customers", Rows(3)),
    q(ALL, "SELECT id, name FROM customers", Rows(3)),
    q(ALL, "SELECT email FROM customers", Values(&["l***@t1.example", "l***@t1.example", "l***@t1.example"])),
    q(ALL, "SELECT ssn FROM customers", Values(&["*******0011", "*******0012", "*******0013"])),
    q(
        ALL,
        "SELECT card FROM customers",
        Values(&["************1111", "************1112", "************1113"]),
    ),
    q(ALL, "SELECT * FROM orders", Rows(5)),
    q(ALL, "SELECT count(*) FROM customers", Values(&["3"])),
    q(ALL, "SELECT count(*) FROM orders", Values(&["5"])),
    q(ALL, "SELECT id FROM products", Rows(2)),
    q(ALL, "SELECT * FROM customers ORDER BY id LIMIT 10 OFFSET 2", Rows(1)),
    // Predicates on the tenant column and on foreign ids.
    q(ALL, "SELECT * FROM customers WHERE tenant_id = '2'", Rows(0)),
    q(ALL, "SELECT * FROM customers WHERE tenant_id <> '1'", Rows(0)),
    q(ALL, "SELECT * FROM customers WHERE id = 101", Rows(0)),
    q(ALL, "SELECT * FROM customers WHERE id = 101 OR 1 = 1", Rows(3)),
    q(ALL, "SELECT * FROM customers WHERE tenant_id = '1' OR tenant_id = '2'", Rows(3)),
    q(ALL, "SELECT * FROM customers WHERE tenant_id IS NULL OR tenant_id IS NOT NULL", Rows(3)),
    q(ALL, "SELECT * FROM orders WHERE tenant_id IS NULL", Rows(0)),
    q(ALL, "SELECT * FROM orders WHERE note LIKE 'ZZ%'", Rows(0)),
    q(ALL, "SELECT id FROM orders WHERE customer_id = 101", Rows(1)),
    // Joins, alias swaps.
    q(ALL, "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id", Rows(4)),
    q(ALL, "SELECT o.id, c.name FROM orders o LEFT JOIN customers c ON c.id = o.customer_id", Rows(5)),
    q(ALL, "SELECT c.id, o.note FROM customers c LEFT JOIN orders o ON o.customer_id = c.id", Rows(4)),
    q(ALL, "SELECT c.name, o.amount FROM customers c, orders o WHERE o.customer_id = c.id", Rows(4)),
    q(ALL, "SELECT o.email FROM orders c, customers o", Rows(15)),
    q(ALL, "SELECT c.note, o.ssn FROM customers o JOIN orders c ON c.customer_id = o.id", Rows(4)),
    q(ALL, "SELECT * FROM customers AS orders", Rows(3)),
    q(ALL, "SELECT orders.email, orders.card FROM customers orders", Rows(3)),
    q(ALL, "SELECT customers.note FROM orders customers", Rows(5)),
    q(ALL, "SELECT c.* FROM customers c", Rows(3)),
    q(ALL, "SELECT customers.* FROM customers", Rows(3)),
    q(ALL, "SELECT c.*, o.* FROM customers c JOIN orders o ON o.customer_id = c.id", Rows(4)),
    q(ALL, "SELECT * FROM customers c1 JOIN customers c2 ON c1.id <> c2.id", Rows(6)),
    q(ALL, "SELECT a.id FROM customers a JOIN customers b ON a.email = b.email", Rows(9)),
    q(ALL, "SELECT a.id FROM customers a JOIN customers b ON a.ssn = b.ssn", Rows(3)),
    q(ALL, "SELECT * FROM customers NATURAL JOIN orders", Rows(3)),
    q(ALL, "SELECT * FROM customers JOIN orders USING (tenant_id)", Rows(15)),
    q(ALL, "SELECT * FROM customers CROSS JOIN products", Rows(6)),
    q(
        ALL,
        "SELECT count(*) FROM orders o1 JOIN orders o2 ON o1.customer_id = o2.customer_id",
        Values(&["7"]),
    ),
    // CTEs: shadowing, renaming, recursion.
    q(PG | MY, "WITH customers AS (SELECT * FROM customers) SELECT * FROM customers", Rows(3)),
    q(LITE, "WITH customers AS (SELECT * FROM customers) SELECT * FROM customers", OrRefuse(Some(3))),
    q(PG | MY, "WITH orders AS (SELECT * FROM customers) SELECT * FROM orders", Rows(3)),
    q(ALL, "WITH t AS (SELECT email, ssn FROM customers) SELECT * FROM t", Rows(3)),
    q(
        ALL,
        "WITH x AS (SELECT * FROM orders) SELECT * FROM x JOIN customers ON customers.id = x.customer_id",
        Rows(4),
    ),
    q(
        ALL,
        "WITH a AS (SELECT * FROM customers), b AS (SELECT * FROM a WHERE id > 1) SELECT * FROM b",
        Rows(2),
    ),
    q(
        ALL,
        "WITH RECURSIVE r(n, e) AS (SELECT 1, email FROM customers UNION ALL SELECT n + 1, e FROM r WHERE n < 2) \
         SELECT * FROM r",
        Rows(6),
    ),
    q(
        ALL,
        "WITH RECURSIVE r(id) AS (SELECT 1 UNION ALL SELECT c.id FROM customers c JOIN r ON c.id = r.id + 100) \
         SELECT * FROM r",
        Rows(1),
    ),
    q(
        ALL,
        "WITH RECURSIVE r(id, s) AS (SELECT id, ssn FROM customers WHERE id = 1 UNION ALL \
         SELECT c.id, c.ssn FROM r JOIN customers c ON c.id = r.id + 1) SELECT * FROM r",
        Rows(3),
    ),
    q(
        ALL,
        "WITH RECURSIVE customers AS (SELECT * FROM customers) SELECT * FROM customers",
        OrRefuse(Some(3)),
    ),
    q(
        ALL,
        "SELECT * FROM customers WHERE id IN (WITH customers AS (SELECT 101 AS id) SELECT id FROM customers)",
        Rows(0),
    ),
    q(
        ALL,
        "WITH c AS (SELECT * FROM customers) SELECT (SELECT count(*) FROM customers) FROM c",
        Values(&["3", "3", "3"]),
    ),
    q(
        ALL,
        "WITH customers AS (SELECT * FROM orders) SELECT (SELECT count(*) FROM customers) AS n",
        Values(&["5"]),
    ),
    q(
        ALL,
        "WITH RECURSIVE orders(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM orders WHERE n < 3) SELECT count(*) FROM orders",
        Values(&["3"]),
    ),
    // Set operations.
    q(ALL, "SELECT name FROM customers UNION SELECT note FROM orders", Rows(8)),
    q(ALL, "SELECT email FROM customers UNION ALL SELECT email FROM customers", Rows(6)),
    q(ALL, "SELECT email FROM customers UNION SELECT ssn FROM customers", Rows(4)),
    q(ALL, "SELECT id FROM customers INTERSECT SELECT customer_id FROM orders", Rows(3)),
    q(ALL, "SELECT customer_id FROM orders EXCEPT SELECT id FROM customers", Values(&["101"])),
    q(ALL, "SELECT id FROM customers UNION SELECT id FROM products", Rows(5)),
    q(ALL, "SELECT name FROM products UNION ALL SELECT name FROM customers WHERE id > 100", Rows(2)),
    // Subqueries in every clause.
    q(
        ALL,
        "SELECT id, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) AS n FROM customers c",
        Rows(3),
    ),
    q(ALL, "SELECT (SELECT count(*) FROM orders o WHERE o.customer_id = 1)", Values(&["2"])),
    q(ALL, "SELECT (SELECT email FROM customers WHERE id = 1)", Values(&["l***@t1.example"])),
    q(ALL, "SELECT (SELECT name FROM customers WHERE id = 101)", Values(&["null"])),
    q(ALL, "SELECT * FROM (SELECT * FROM customers) AS x", Rows(3)),
    q(ALL, "SELECT * FROM (SELECT * FROM (SELECT email, tenant_id FROM customers) a) b", Rows(3)),
    q(ALL, "SELECT x.id FROM products p JOIN (SELECT * FROM customers) x ON 1 = 1", Rows(6)),
    q(ALL, "SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers)", Rows(4)),
    q(ALL, "SELECT id FROM orders WHERE customer_id NOT IN (SELECT id FROM customers)", Rows(1)),
    q(
        ALL,
        "SELECT id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.amount > 1000)",
        Rows(0),
    ),
    q(ALL, "SELECT id FROM products WHERE EXISTS (SELECT 1 FROM customers WHERE id = 101)", Rows(0)),
    q(ALL, "SELECT id FROM products WHERE (SELECT count(*) FROM customers) = 5", Rows(0)),
    q(ALL, "SELECT id FROM products WHERE (SELECT max(amount) FROM orders) > 1000", Rows(0)),
    q(
        ALL,
        "SELECT customer_id, count(*) FROM orders GROUP BY customer_id \
         HAVING count(*) > (SELECT count(*) FROM customers WHERE tenant_id = '2')",
        Rows(4),
    ),
    q(
        ALL,
        "SELECT c.id FROM customers c JOIN orders o ON o.customer_id = c.id \
         AND o.amount < (SELECT max(amount) FROM orders)",
        Rows(4),
    ),
    q(
        ALL,
        "SELECT id FROM customers c ORDER BY (SELECT count(*) FROM orders o WHERE o.customer_id = c.id)",
        Rows(3),
    ),
    q(ALL, "SELECT id FROM orders o WHERE o.amount = (SELECT max(amount) FROM orders)", Values(&["5"])),
    q(
        ALL,
        "SELECT * FROM customers WHERE (tenant_id, id) IN (SELECT tenant_id, customer_id FROM orders)",
        Rows(3),
    ),
    q(
        ALL,
        "SELECT name FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE note LIKE '%')",
        Rows(3),
    ),
    // Masked values flow into WHERE: no inference on the clear values.
    q(ALL, "SELECT id FROM customers WHERE email LIKE 'leakmail%'", Rows(0)),
    q(ALL, "SELECT id FROM customers WHERE ssn LIKE '531%'", Rows(0)),
    q(ALL, "SELECT id FROM customers WHERE card LIKE '4929%'", Rows(0)),
    q(ALL, "SELECT id FROM customers WHERE lower(email) = 'leakmail1@t1.example'", Rows(0)),
    q(ALL, "SELECT id FROM customers WHERE substr(ssn, 1, 3) = '531'", Rows(0)),
    q(ALL, "SELECT id FROM customers WHERE email = 'l***@t1.example'", Rows(3)),
    q(ALL, "SELECT id FROM customers WHERE ssn > '5'", Rows(0)),
    q(ALL, "SELECT id FROM customers WHERE email IN (SELECT 'leakmail1@t1.example')", Rows(0)),
    q(ALL, "SELECT a.id FROM customers a JOIN customers b ON substr(a.ssn, 1, 1) = '5'", Rows(0)),
    q(
        ALL,
        "SELECT id FROM customers c WHERE EXISTS (SELECT 1 FROM products p WHERE c.ssn LIKE '5%')",
        Rows(0),
    ),
    q(ALL, "SELECT * FROM (SELECT email FROM customers UNION SELECT note FROM orders) u", Rows(6)),
    q(ALL, "SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers UNION SELECT 101)", Rows(5)),
    q(ALL, "SELECT id FROM customers WHERE email LIKE '%@t1.example' AND ssn LIKE '%0013'", Values(&["3"])),
    // GROUP BY / DISTINCT / ORDER BY / aggregates / windows over masked columns.
    q(ALL, "SELECT ssn, count(*) FROM customers GROUP BY ssn", Rows(3)),
    q(ALL, "SELECT email, count(*) FROM customers GROUP BY email", Rows(1)),
    q(ALL, "SELECT tenant_id, count(*) FROM customers GROUP BY tenant_id", Values(&["1"])),
    q(ALL, "SELECT DISTINCT email FROM customers", Rows(1)),
    q(ALL, "SELECT DISTINCT tenant_id FROM orders", Values(&["1"])),
    q(ALL, "SELECT count(DISTINCT email) FROM customers", Values(&["1"])),
    q(ALL, "SELECT count(DISTINCT ssn) FROM customers", Values(&["3"])),
    q(ALL, "SELECT max(email), min(ssn), max(card) FROM customers", Values(&["l***@t1.example"])),
    q(ALL, "SELECT min(card) FROM customers", Values(&["************1111"])),
    q(ALL, "SELECT id FROM customers ORDER BY card", Rows(3)),
    q(ALL, "SELECT id FROM customers ORDER BY email DESC, ssn", Rows(3)),
    q(ALL, "SELECT id, row_number() OVER (ORDER BY ssn) FROM customers", Rows(3)),
    q(
        ALL,
        "SELECT id FROM customers ORDER BY CASE WHEN ssn = '531-77-0013' THEN 0 ELSE 1 END, id",
        Ordered(&["1", "2", "3"]),
    ),
    q(
        ALL,
        "SELECT id FROM customers ORDER BY CASE WHEN email LIKE 'leakmail3%' THEN 0 ELSE 1 END, id",
        Ordered(&["1", "2", "3"]),
    ),
    q(
        ALL,
        "SELECT id FROM customers ORDER BY CASE WHEN card > '49295555000311' THEN 0 ELSE 1 END, id",
        Ordered(&["1", "2", "3"]),
    ),
    q(ALL, "SELECT id FROM customers ORDER BY substr(email, 9, 1) DESC, id", Ordered(&["1", "2", "3"])),
    q(
        ALL,
        "SELECT count(*) FROM customers GROUP BY substr(ssn, 1, 3) HAVING max(card) LIKE '4929%'",
        Rows(0),
    ),
    q(ALL, "SELECT id, first_value(email) OVER (PARTITION BY tenant_id ORDER BY id) FROM customers", Rows(3)),
    q(ALL, "SELECT id, lag(ssn) OVER (ORDER BY id) FROM customers", Rows(3)),
    q(ALL, "SELECT count(*) OVER () FROM customers", Values(&["3", "3", "3"])),
    q(ALL, "SELECT sum(amount) OVER (PARTITION BY customer_id) FROM orders", Rows(5)),
    // CASE over masked columns.
    q(
        ALL,
        "SELECT CASE WHEN ssn = '531-77-0011' THEN 1 ELSE 0 END AS x FROM customers",
        Values(&["0", "0", "0"]),
    ),
    q(ALL, "SELECT id FROM customers WHERE CASE WHEN ssn LIKE '5%' THEN 1 ELSE 0 END = 1", Rows(0)),
    q(ALL, "SELECT sum(CASE WHEN card LIKE '4929%' THEN 1 ELSE 0 END) FROM customers", Values(&["0"])),
    q(ALL, "SELECT CASE WHEN email LIKE 'l%' THEN 'x' END FROM customers", Values(&["x", "x", "x"])),
    // String functions over masked columns.
    q(
        ALL,
        "SELECT upper(email) FROM customers",
        Values(&["L***@T1.EXAMPLE", "L***@T1.EXAMPLE", "L***@T1.EXAMPLE"]),
    ),
    q(ALL, "SELECT substr(ssn, 1, 3), substr(card, 1, 6) FROM customers", Values(&["***", "***", "***"])),
    q(ALL, "SELECT length(ssn) FROM customers", Values(&["11", "11", "11"])),
    q(ALL, "SELECT replace(email, '*', '') FROM customers", Rows(3)),
    q(ALL, "SELECT coalesce(ssn, email) FROM customers", Rows(3)),
    q(ALL, "SELECT trim(card), lower(email) FROM customers", Rows(3)),
    // Error oracles: must not error on a predicate over hidden values (or hidden rows).
    q(ALL, "SELECT id FROM customers WHERE 1 / (CASE WHEN ssn LIKE '5%' THEN 0 ELSE 1 END) = 1", Oracle(3)),
    q(ALL, "SELECT id FROM customers WHERE 1 / (CASE WHEN tenant_id = '2' THEN 0 ELSE 1 END) = 1", Oracle(3)),
    q(ALL, "SELECT 1 / (CASE WHEN tenant_id = '2' THEN 0 ELSE 1 END) FROM customers", Oracle(3)),
    q(ALL, "SELECT id FROM orders WHERE 1 / (CASE WHEN amount > 1000 THEN 0 ELSE 1 END) = 1", Oracle(5)),
    q(ALL, "SELECT id FROM orders WHERE 1 / (CASE WHEN tenant_id IS NULL THEN 0 ELSE 1 END) = 1", Oracle(5)),
    q(
        ALL,
        "SELECT id FROM orders WHERE 1 / (CASE WHEN note LIKE 'ZZ%' THEN 0 ELSE 1 END) = 1 AND id > 0",
        Oracle(5),
    ),
    q(
        ALL,
        "SELECT id FROM customers WHERE id = 101 AND 1 / (CASE WHEN ssn LIKE '5%' THEN 0 ELSE 1 END) = 1",
        Oracle(0),
    ),
    // Other error oracles: functions that raise on some inputs, over hidden values or rows.
    q(
        PG,
        "SELECT id FROM customers WHERE name ~ (CASE WHEN tenant_id = '2' THEN '(' ELSE '.' END)",
        Oracle(3),
    ),
    q(
        PG,
        "SELECT id FROM customers WHERE email ~ (CASE WHEN ssn LIKE '5%' THEN '(' ELSE '.' END)",
        Oracle(3),
    ),
    q(PG, "SELECT chr(CASE WHEN ssn LIKE '5%' THEN 0 ELSE 65 END) FROM customers", Oracle(3)),
    q(
        PG,
        "SELECT id FROM customers WHERE chr(CASE WHEN tenant_id = '2' THEN 0 ELSE 65 END) = 'A'",
        Oracle(3),
    ),
    q(PG, "SELECT ln(CASE WHEN card LIKE '4%' THEN 0 ELSE 1 END) FROM customers", Oracle(3)),
    q(
        PG,
        "SELECT id FROM customers WHERE substr(name, 1, CASE WHEN tenant_id = '2' THEN -1 ELSE 1 END) <> ''",
        Oracle(3),
    ),
    q(
        PG | LITE,
        "SELECT id FROM customers WHERE name LIKE '%' ESCAPE (CASE WHEN tenant_id = '2' THEN 'xx' ELSE 'x' END)",
        Oracle(3),
    ),
    q(
        PG | LITE,
        "SELECT id FROM customers WHERE email LIKE '%' ESCAPE (CASE WHEN ssn LIKE '5%' THEN 'xx' ELSE 'x' END)",
        Oracle(3),
    ),
    q(
        MY,
        "SELECT id FROM customers WHERE name REGEXP (CASE WHEN tenant_id = '2' THEN '(' ELSE '.' END)",
        Oracle(3),
    ),
    q(
        MY,
        "SELECT id FROM customers WHERE email REGEXP (CASE WHEN ssn LIKE '5%' THEN '(' ELSE '.' END)",
        Oracle(3),
    ),
    q(LITE, "SELECT json(CASE WHEN ssn LIKE '5%' THEN 'x' ELSE '1' END) FROM customers", Oracle(3)),
    q(
        LITE,
        "SELECT id FROM customers WHERE json(CASE WHEN tenant_id = '2' THEN 'x' ELSE '1' END) = '1'",
        Oracle(3),
    ),
    q(PG, "SELECT id FROM orders WHERE 'x' ~ note", Oracle(0)),
    q(MY, "SELECT id FROM orders WHERE 'x' REGEXP note", Oracle(0)),
    q(LITE, "SELECT id FROM orders WHERE 'x' LIKE 'x' ESCAPE substr(note, 1, 1)", Oracle(5)),
    // Parameters next to the filter's own parameter.
    qp(PG, "SELECT * FROM customers WHERE tenant_id = $1", &["2"], Rows(0)),
    qp(PG, "SELECT * FROM customers WHERE name <> $1", &["2"], Rows(3)),
    qp(PG, "SELECT * FROM orders WHERE $1 = '2' OR tenant_id = $1", &["2"], Rows(5)),
    qp(MY | LITE, "SELECT * FROM customers WHERE tenant_id = ?", &["2"], Rows(0)),
    qp(MY | LITE, "SELECT * FROM customers WHERE name <> ?", &["2"], Rows(3)),
    qp(MY | LITE, "SELECT * FROM orders WHERE ? = '2' OR tenant_id = ?", &["2", "2"], Rows(5)),
    qp(LITE, "SELECT * FROM orders WHERE ?1 = '2' OR tenant_id = ?1", &["2"], Rows(5)),
    qp(PG, "SELECT $1::text, id FROM customers WHERE name <> $2", &["p", "q"], Values(&["p", "p", "p"])),
    qp(MY | LITE, "SELECT ?, id FROM customers WHERE name <> ?", &["p", "q"], Values(&["p", "p", "p"])),
    qp(
        MY | LITE,
        "SELECT x.v FROM (SELECT ? AS v) x, customers WHERE customers.name <> ?",
        &["p", "q"],
        Values(&["p", "p", "p"]),
    ),
    qp(
        MY | LITE,
        "SELECT ? FROM orders o JOIN customers c ON c.id = o.customer_id AND c.name <> ? WHERE o.note <> ?",
        &["z", "y", "x"],
        Values(&["z", "z", "z", "z"]),
    ),
    qp(
        PG,
        "SELECT $3::text FROM orders o JOIN customers c ON c.id = o.customer_id AND c.name <> $2 WHERE o.note <> $1",
        &["x", "y", "z"],
        Values(&["z", "z", "z", "z"]),
    ),
    qp(LITE, "SELECT ?2, id FROM customers WHERE name <> ?1", &["q", "p"], Values(&["p", "p", "p"])),
    qp(LITE, "SELECT :a, id FROM customers WHERE name <> :b", &["p", "q"], ValuesOrRefuse(&["p", "p", "p"])),
    // More parameters than placeholders, or a gap: the filter's value must stay the caller's tenant.
    qp(PG, "SELECT * FROM customers", &["2"], OrRefuse(Some(3))),
    qp(MY | LITE, "SELECT * FROM customers", &["2"], OrRefuse(Some(3))),
    qp(PG, "SELECT * FROM customers WHERE name <> $2", &["2", "x"], OrRefuse(Some(3))),
    // Quoted, case-varied and schema-qualified names.
    q(PG | LITE, "SELECT * FROM \"customers\"", Rows(3)),
    q(PG | LITE, "SELECT \"email\", \"ssn\" FROM \"customers\" AS \"c\"", Rows(3)),
    q(PG | LITE, "SELECT * FROM CUSTOMERS", Rows(3)),
    q(PG | LITE, "SELECT Email, SSN, Card FROM Customers", Rows(3)),
    q(MY, "SELECT * FROM CUSTOMERS", OrRefuse(Some(3))),
    q(MY, "SELECT Email, SSN, Card FROM customers", Rows(3)),
    q(MY | LITE, "SELECT `email` FROM `customers`", Rows(3)),
    q(MY | LITE, "SELECT `c`.`ssn` FROM `customers` `c`", Rows(3)),
    q(PG, "SELECT * FROM \"CUSTOMERS\"", OrRefuse(Some(3))),
    q(LITE, "SELECT * FROM \"CUSTOMERS\"", Rows(3)),
    q(LITE, "SELECT \"EMAIL\" FROM \"Customers\"", Rows(3)),
    q(PG | MY, "SELECT * FROM {schema}.customers", Rows(3)),
    q(PG | MY, "SELECT customers.email FROM {schema}.customers", Rows(3)),
    q(PG | MY, "SELECT {schema}.customers.email FROM {schema}.customers", OrRefuse(Some(3))),
    q(
        PG | MY,
        "SELECT c.ssn FROM {schema}.customers c JOIN {schema}.orders o ON o.customer_id = c.id",
        Rows(4),
    ),
    q(PG, "SELECT * FROM \"{schema}\".\"customers\"", Rows(3)),
    q(PG, "SELECT * FROM public.customers", OrRefuse(None)),
    q(MY, "SELECT * FROM `{schema}`.`customers`", Rows(3)),
    q(MY, "SELECT * FROM sluice_test.customers", OrRefuse(None)),
    q(LITE, "SELECT * FROM main.customers", Rows(3)),
    q(LITE, "SELECT * FROM \"main\".\"customers\"", Rows(3)),
    q(LITE, "SELECT * FROM MAIN.Customers", Rows(3)),
    q(LITE, "SELECT * FROM temp.customers", OrRefuse(Some(3))),
    q(LITE, "SELECT * FROM [customers]", OrRefuse(Some(3))),
    // PostgreSQL: LATERAL, whole rows, casts, catalog and XML functions.
    q(
        PG,
        "SELECT c.id, l.note FROM customers c, LATERAL (SELECT note FROM orders o WHERE o.customer_id = c.id) l",
        Rows(4),
    ),
    q(
        PG,
        "SELECT c.id, l.n FROM customers c LEFT JOIN LATERAL \
         (SELECT count(*) AS n FROM orders o WHERE o.customer_id = c.id) l ON true",
        Rows(3),
    ),
    q(PG, "SELECT l.* FROM products p CROSS JOIN LATERAL (SELECT email, ssn FROM customers) l", Rows(6)),
    q(
        PG,
        "SELECT v.x, c.ssn FROM (VALUES (1), (101)) v(x) JOIN LATERAL (SELECT * FROM customers WHERE id = v.x) c ON true",
        Rows(1),
    ),
    q(PG, "SELECT row_to_json(c) FROM customers c", OrRefuse(Some(3))),
    q(PG, "SELECT to_jsonb(c) FROM customers c", OrRefuse(Some(3))),
    q(PG, "SELECT json_agg(c) FROM customers c", OrRefuse(Some(1))),
    q(PG, "SELECT c::text FROM customers c", OrRefuse(Some(3))),
    q(PG, "SELECT customers::text FROM customers", OrRefuse(Some(3))),
    q(PG, "SELECT customers FROM customers", OrRefuse(Some(3))),
    q(PG, "SELECT c.*::text FROM customers c", OrRefuse(Some(3))),
    q(PG, "SELECT row(c.*)::text FROM customers c", OrRefuse(Some(3))),
    q(PG, "SELECT (c).email FROM customers c", OrRefuse(Some(3))),
    q(PG, "SELECT format('%s', c) FROM customers c", OrRefuse(Some(3))),
    q(PG, "SELECT (SELECT c FROM customers c WHERE c.id = 1)::text", OrRefuse(Some(1))),
    q(PG, "SELECT ssn::int FROM customers", OrRefuse(None)),
    q(PG, "SELECT id FROM customers WHERE ssn::text LIKE '531%'", Rows(0)),
    q(PG, "SELECT CAST(card AS varchar(6)) FROM customers", Values(&["******", "******", "******"])),
    q(PG, "SELECT id FROM customers WHERE CAST(ssn AS varchar(3)) = '531'", Rows(0)),
    q(PG, "SELECT email::bytea FROM customers", OrRefuse(Some(3))),
    q(PG, "SELECT encode(convert_to(email, 'UTF8'), 'hex') FROM customers", OrRefuse(Some(3))),
    q(PG, "SELECT encode(convert_to(ssn, 'UTF8'), 'base64') FROM customers", OrRefuse(Some(3))),
    q(
        PG,
        "SELECT md5(ssn) = md5('531-77-0011') FROM customers",
        ValuesOrRefuse(&["false", "false", "false"]),
    ),
    q(PG, "SELECT ascii(substr(ssn, 1, 1)) FROM customers", ValuesOrRefuse(&["42", "42", "42"])),
    q(PG, "SELECT id FROM customers WHERE CASE WHEN ssn LIKE '5%' THEN ssn::int ELSE 0 END = 0", Oracle(3)),
    q(
        PG,
        "SELECT id FROM customers WHERE CASE WHEN tenant_id = '2' THEN name::int ELSE 0 END = 0",
        Oracle(3),
    ),
    q(PG, "SELECT id FROM customers WHERE email ~ '^leak'", Rows(0)),
    q(PG, "SELECT id FROM customers WHERE email ILIKE 'LEAK%'", Rows(0)),
    q(PG, "SELECT id FROM customers WHERE starts_with(ssn, '531')", OrRefuse(Some(0))),
    q(PG, "SELECT string_agg(email, ',') FROM customers", Rows(1)),
    q(PG, "SELECT ARRAY(SELECT ssn FROM customers)", OrRefuse(Some(1))),
    q(PG, "SELECT * FROM unnest(ARRAY(SELECT card FROM customers))", OrRefuse(Some(3))),
    q(PG, "SELECT id FROM customers WHERE id = ANY(SELECT customer_id FROM orders)", Rows(3)),
    q(PG, "SELECT tenant_id, count(*) FROM customers GROUP BY ROLLUP (tenant_id)", Rows(2)),
    q(
        PG,
        "SELECT id FROM customers ORDER BY id LIMIT (SELECT count(*) FROM customers WHERE tenant_id = '2')",
        Rows(0),
    ),
    q(PG, "SELECT id FROM customers WHERE to_tsvector(email) @@ to_tsquery('leakmail1')", OrRefuse(Some(0))),
    q(PG, "TABLE customers", OrRefuse(Some(3))),
    q(PG, "SELECT * FROM ONLY customers", OrRefuse(Some(3))),
    q(PG, "SELECT * FROM customers TABLESAMPLE SYSTEM (100)", OrRefuse(Some(3))),
    q(PG, "SELECT * FROM customers FOR UPDATE", OrRefuse(Some(3))),
    q(PG, "SELECT ctid, * FROM customers", OrRefuse(Some(3))),
    q(PG, "SELECT xmin, id FROM customers", OrRefuse(Some(3))),
    q(PG, "SELECT tableoid::regclass::text, id FROM customers", OrRefuse(Some(3))),
    q(PG, "SELECT query_to_xml('select * from customers', true, false, '')::text", OrRefuse(None)),
    q(PG, "SELECT table_to_xml('customers', true, false, '')::text", OrRefuse(None)),
    q(PG, "SELECT schema_to_xml('{schema}', true, false, '')::text", OrRefuse(None)),
    q(
        PG,
        "SELECT pg_catalog.query_to_xml('select ssn from {schema}.customers', true, false, '')::text",
        OrRefuse(None),
    ),
    q(PG, "SELECT word FROM ts_stat('SELECT to_tsvector(email) FROM customers')", OrRefuse(None)),
    q(
        PG,
        "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, email::tsquery FROM customers')::text",
        OrRefuse(None),
    ),
    q(
        PG,
        "SELECT query_to_xml_and_xmlschema('select * from customers', true, false, '')::text",
        OrRefuse(None),
    ),
    q(PG, "SELECT table_to_xml_and_xmlschema('customers', true, false, '')::text", OrRefuse(None)),
    q(
        PG,
        "SELECT x::text FROM query_to_xml('select ssn from customers', true, false, '') AS x",
        OrRefuse(None),
    ),
    q(PG, "SELECT \"query_to_xml\"('select ssn from customers', true, false, '')::text", OrRefuse(None)),
    q(PG, "SELECT QUERY_TO_XML('select ssn from customers', true, false, '')::text", OrRefuse(None)),
    q(PG, "SELECT query FROM pg_stat_activity", OrRefuse(None)),
    // Other sessions' statement text (the setup leaves one with markers in it), through functions.
    q(PG, "SELECT query FROM pg_stat_get_activity(NULL)", OrRefuse(None)),
    q(PG, "SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() s", OrRefuse(None)),
    // The table's file, read by the server (the datasource connects as a superuser; the setup
    // runs CHECKPOINT so the rows are on disk).
    q(PG, "SELECT pg_read_binary_file(pg_relation_filepath('customers'))", OrRefuse(None)),
    q(
        PG,
        "SELECT most_common_vals::text, histogram_bounds::text FROM pg_catalog.pg_stats WHERE tablename = 'customers'",
        OrRefuse(None),
    ),
    q(
        PG,
        "SELECT s.stavalues1::text FROM pg_catalog.pg_statistic s \
         JOIN pg_catalog.pg_class r ON r.oid = s.starelid WHERE r.relname = 'customers'",
        OrRefuse(None),
    ),
    q(
        PG,
        "SELECT most_common_vals::text, histogram_bounds::text FROM pg_stats WHERE tablename = 'customers'",
        OrRefuse(None),
    ),
    // MariaDB: JSON, casts, hints, user variables.
    q(MY, "SELECT JSON_OBJECT('e', email, 's', ssn, 'c', card) FROM customers", Rows(3)),
    q(MY, "SELECT JSON_ARRAYAGG(email) FROM customers", Rows(1)),
    q(MY, "SELECT GROUP_CONCAT(ssn) FROM customers", Rows(1)),
    q(MY, "SELECT CONCAT(email, ssn, card) FROM customers", Rows(3)),
    q(MY, "SELECT CAST(ssn AS UNSIGNED) FROM customers", ValuesOrRefuse(&["0", "0", "0"])),
    q(MY, "SELECT CAST(card AS CHAR(6)) FROM customers", Values(&["******", "******", "******"])),
    q(MY, "SELECT id FROM customers WHERE ssn + 0 > 500", Rows(0)),
    q(MY, "SELECT ASCII(ssn) FROM customers", ValuesOrRefuse(&["42", "42", "42"])),
    q(MY, "SELECT HEX(email) FROM customers", OrRefuse(Some(3))),
    q(MY, "SELECT TO_BASE64(ssn) FROM customers", OrRefuse(Some(3))),
    q(MY, "SELECT SUBSTRING_INDEX(email, '@', 1) FROM customers", ValuesOrRefuse(&["l***", "l***", "l***"])),
    q(MY, "SELECT id FROM customers WHERE email REGEXP '^leak'", Rows(0)),
    q(MY, "SELECT id FROM customers WHERE tenant_id = 2", Rows(0)),
    q(MY, "SELECT * FROM customers FORCE INDEX (PRIMARY)", OrRefuse(Some(3))),
    q(MY, "SELECT * FROM customers USE INDEX ()", OrRefuse(Some(3))),
    q(MY, "SELECT SQL_CALC_FOUND_ROWS * FROM customers", OrRefuse(Some(3))),
    q(MY, "SELECT @x := email FROM customers", OrRefuse(Some(3))),
    q(MY, "SELECT SQL_NO_CACHE email FROM customers", OrRefuse(Some(3))),
    q(MY, "SELECT HIGH_PRIORITY ssn FROM customers", OrRefuse(Some(3))),
    q(
        MY,
        "SELECT STRAIGHT_JOIN c.email FROM customers c JOIN orders o ON o.customer_id = c.id",
        OrRefuse(Some(4)),
    ),
    q(MY, "SELECT email /*! , ssn */ FROM customers", Rows(3)),
    q(MY, "SELECT id /*!, (SELECT group_concat(ssn) FROM customers) */ FROM products", Rows(2)),
    q(
        MY,
        "SELECT id FROM customers WHERE name = 'a\\' UNION SELECT id FROM orders WHERE tenant_id = \\'2'",
        OrRefuse(Some(0)),
    ),
    q(MY, "SELECT info FROM information_schema.processlist", OrRefuse(None)),
    q(MY, "SELECT * FROM customers INTO OUTFILE '/tmp/sluice_leak.txt'", Refuse),
    q(
        MY,
        "SELECT min_value, max_value FROM mysql.column_stats WHERE table_name = 'customers'",
        OrRefuse(None),
    ),
    // SQLite: JSON, casts, row ids, index hints.
    q(LITE, "SELECT json_object('e', email, 's', ssn, 'c', card) FROM customers", Rows(3)),
    q(LITE, "SELECT json_group_array(email) FROM customers", Rows(1)),
    q(LITE, "SELECT group_concat(ssn) FROM customers", Rows(1)),
    q(LITE, "SELECT * FROM json_each((SELECT json_group_array(card) FROM customers))", OrRefuse(Some(3))),
    q(LITE, "SELECT email || ssn || card FROM customers", Rows(3)),
    q(LITE, "SELECT CAST(ssn AS INTEGER) FROM customers", ValuesOrRefuse(&["0", "0", "0"])),
    q(LITE, "SELECT id FROM customers WHERE ssn + 0 > 500", Rows(0)),
    q(LITE, "SELECT unicode(ssn) FROM customers", Values(&["42", "42", "42"])),
    q(LITE, "SELECT hex(email) FROM customers", OrRefuse(Some(3))),
    q(LITE, "SELECT instr(email, 'leak') FROM customers", Values(&["0", "0", "0"])),
    q(LITE, "SELECT id FROM customers WHERE ssn GLOB '531*'", Rows(0)),
    q(LITE, "SELECT iif(card LIKE '4929%', 1, 0) FROM customers", Values(&["0", "0", "0"])),
    q(LITE, "SELECT printf('%s-%s', ssn, card) FROM customers", Rows(3)),
    q(LITE, "SELECT rowid, * FROM customers", OrRefuse(Some(3))),
    q(LITE, "SELECT _rowid_, note FROM orders", OrRefuse(Some(5))),
    q(LITE, "SELECT * FROM customers NOT INDEXED", OrRefuse(Some(3))),
    q(LITE, "SELECT * FROM customers INDEXED BY sqlite_autoindex_customers_1", OrRefuse(Some(3))),
    // Statistics and catalogs: STAT4 samples hold index keys (the clear emails).
    q(LITE, "SELECT tbl, idx, sample FROM sqlite_stat4", OrRefuse(None)),
    q(LITE, "SELECT * FROM main.sqlite_stat4", OrRefuse(None)),
    q(LITE, "SELECT * FROM sqlite_stat1", OrRefuse(None)),
    q(LITE, "SELECT name, payload FROM dbstat", OrRefuse(None)),
    q(LITE, "SELECT sql FROM sqlite_master", OrRefuse(None)),
    q(LITE, "SELECT name FROM pragma_table_info('customers')", OrRefuse(None)),
    q(LITE, "SELECT * FROM pragma_index_list('customers')", OrRefuse(None)),
];

// ---------------------------------------------------------------------------------------------
// Writes, in order, after the reads. Tenant 1 may change its own rows; nothing may reach
// tenant 2's or the tenantless rows, no row may be created outside tenant 1, and no clear value
// may be copied into an unmasked column.

static WRITES: &[Case] = &[
    // Issue 8: a write sees its masked target only through unmasked columns.
    // 1. Whole-row references to the write target (PostgreSQL), in RETURNING, SET and WHERE.
    q(PG, "UPDATE customers SET name = name WHERE id = 1 RETURNING concat(customers.*)", Refuse),
    q(PG, "UPDATE customers SET name = name WHERE id = 1 RETURNING to_jsonb(customers.*)", Refuse),
    q(PG, "UPDATE customers AS p SET name = name WHERE id = 1 RETURNING (p.*)::text", Refuse),
    q(PG, "UPDATE customers AS p SET name = name WHERE id = 1 RETURNING row_to_json(p)", Refuse),
    q(PG, "UPDATE customers SET name = name WHERE id = 1 RETURNING ARRAY[customers.*]", Refuse),
    q(
        PG,
        "UPDATE customers SET name = name WHERE id = 1 RETURNING json_build_object('r', customers.*)",
        Refuse,
    ),
    q(
        PG,
        "UPDATE customers SET name = name WHERE id = 1 RETURNING (SELECT concat(x.*) FROM (SELECT customers.*) x)",
        Refuse,
    ),
    q(PG, "UPDATE {schema}.customers SET name = name WHERE id = 1 RETURNING {schema}.customers.*", Refuse),
    q(PG, "UPDATE customers AS \"P\" SET name = name WHERE id = 1 RETURNING to_jsonb(\"P\")", Refuse),
    q(
        PG,
        "UPDATE customers SET name = name FROM orders o WHERE o.customer_id = customers.id AND customers.id = 1 \
         RETURNING to_jsonb(customers)",
        Refuse,
    ),
    q(PG, "UPDATE customers SET name = to_jsonb(customers.*) ->> 'ssn' WHERE id = 1", Refuse),
    q(PG, "UPDATE customers SET name = (customers).email WHERE id = 1", Refuse),
    q(PG, "UPDATE customers SET name = name WHERE id = 1 AND concat(customers.*) LIKE '%-77-%'", Refuse),
    q(PG, "DELETE FROM customers AS c WHERE c.id = 999 AND row_to_json(c)::text LIKE '%leak%'", Refuse),
    q(PG | LITE, "UPDATE customers SET name = name WHERE id = 1 RETURNING email", Refuse),
    q(PG | LITE, "UPDATE customers SET name = name WHERE id = 1 RETURNING \"SSN\"", Refuse),
    q(ALL, "DELETE FROM customers WHERE id = 999 RETURNING *", Refuse),
    q(ALL, "DELETE FROM customers WHERE id = 999 RETURNING card", Refuse),
    // 2. Identifier truncation: PostgreSQL reads these two aliases as one.
    q(
        PG,
        "UPDATE customers AS aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaax SET name = name WHERE id = 1 RETURNING aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaay.ssn",
        Refuse,
    ),
    q(
        PG,
        "UPDATE customers AS \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaax\" SET name = name WHERE id = 1 RETURNING concat(\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaay\".*)",
        Refuse,
    ),
    // 3. ORDER BY ... LIMIT in writes: which row changes reveals the order of clear values.
    q(
        MY,
        "UPDATE customers SET name = 'x' WHERE id IN (1, 2) ORDER BY ssn LIKE '%-0011%' DESC LIMIT 1",
        Refuse,
    ),
    q(MY, "UPDATE customers SET name = 'x' WHERE id IN (1, 2) ORDER BY customers.EMAIL DESC LIMIT 1", Refuse),
    q(MY, "UPDATE customers AS c SET c.name = 'x' WHERE c.id IN (1, 2) ORDER BY c.`card` LIMIT 1", Refuse),
    q(MY, "DELETE FROM customers WHERE id IN (998, 999) ORDER BY ssn LIMIT 1", Refuse),
    q(MY, "UPDATE customers SET name = 'ordered' WHERE id IN (1, 2) ORDER BY id DESC LIMIT 1", Affected(1)),
    // 4. Masked columns are not writable by default.
    q(ALL, "UPDATE customers SET ssn = 'x' WHERE id = 2", Refuse),
    q(ALL, "UPDATE customers SET SSN = NULL WHERE id = 2", Refuse),
    q(PG | MY, "UPDATE {schema}.customers AS c SET email = 'x' WHERE c.id = 2", Refuse),
    q(ALL, "INSERT INTO customers (id, tenant_id, name, email) VALUES (240, '1', 'n', 'e@x')", Refuse),
    q(MY, "INSERT INTO customers SET id = 241, tenant_id = '1', name = 'n', card = '1'", Refuse),
    q(ALL, "INSERT INTO customers VALUES (243, '1', 'n', NULL, NULL, NULL)", Refuse),
    q(ALL, "INSERT INTO customers (id, tenant_id, name) VALUES (242, '1', 'legit')", Affected(1)),
    q(ALL, "UPDATE customers SET name = 'legit too' WHERE id = 242", Affected(1)),
    // 5. Catalog look-ups by name on a datasource plugins judge (the casts and table functions
    // are refused everywhere; see READS).
    q(PG, "SELECT to_regclass('customers') IS NOT NULL", Refuse),
    q(PG, "SELECT has_table_privilege('customers', 'SELECT')", Refuse),
    // 7. A NUL character PostgreSQL cannot store: a clear 400, nothing sent.
    q(PG, "UPDATE customers SET name = 'a\0b' WHERE id = 1", Refuse),
    qp(PG, "UPDATE customers SET name = $1 WHERE id = 1", &["a\0b"], Refuse),
    // New rows outside tenant 1, spelled every way.
    q(ALL, "INSERT INTO orders VALUES (211, '2', 1, 1, 'planted')", Refuse),
    q(
        ALL,
        "INSERT INTO orders (tenant_id, id, customer_id, amount, note) VALUES ('2', 213, 1, 1, 'planted')",
        Refuse,
    ),
    q(
        ALL,
        "INSERT INTO orders (id, TENANT_ID, customer_id, amount, note) VALUES (216, '2', 1, 1, 'planted')",
        Refuse,
    ),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (217, DEFAULT, 1, 1, 'planted')",
        Refuse,
    ),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (218, '2 ', 1, 1, 'planted')",
        Refuse,
    ),
    q(
        PG | MY,
        "INSERT INTO {schema}.orders (id, tenant_id, customer_id, amount, note) VALUES (219, '2', 1, 1, 'p')",
        Refuse,
    ),
    q(
        PG | LITE,
        "INSERT INTO orders (id, \"tenant_id\", customer_id, amount, note) VALUES (220, '2', 1, 1, 'p')",
        Refuse,
    ),
    q(
        PG | LITE,
        "INSERT INTO ORDERS (id, tenant_id, customer_id, amount, note) VALUES (221, '2', 1, 1, 'p')",
        Refuse,
    ),
    q(
        MY | LITE,
        "INSERT INTO orders (id, `tenant_id`, customer_id, amount, note) VALUES (222, '2', 1, 1, 'p')",
        Refuse,
    ),
    q(
        MY,
        "INSERT INTO orders SET id = 223, tenant_id = '2', customer_id = 1, amount = 1, note = 'p'",
        Refuse,
    ),
    q(
        LITE,
        "INSERT INTO main.orders (id, tenant_id, customer_id, amount, note) VALUES (224, '2', 1, 1, 'p')",
        Refuse,
    ),
    qp(
        PG,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (215, $1, 1, 1, 'p')",
        &["2"],
        Refuse,
    ),
    qp(
        MY | LITE,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (215, ?, 1, 1, 'p')",
        &["2"],
        Refuse,
    ),
    qp(PG, "UPDATE orders SET tenant_id = $1 WHERE id = 1", &["2"], Refuse),
    qp(MY | LITE, "UPDATE orders SET tenant_id = ? WHERE id = 1", &["2"], Refuse),
    q(ALL, "UPDATE orders SET TENANT_ID = '2' WHERE id = 1", Refuse),
    q(ALL, "UPDATE orders SET tenant_id = concat(tenant_id, '2') WHERE id = 1", Refuse),
    q(ALL, "INSERT INTO orders VALUES (212, '1', 1, 1, 'legit too')", AffectedOrRefuse(1)),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (230, '1', (SELECT max(id) FROM customers), 1, 'x')",
        AffectedOrRefuse(1),
    ),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) \
         VALUES (231, (SELECT tenant_id FROM customers WHERE id = 101), 1, 1, 'planted')",
        Refuse,
    ),
    q(ALL, "UPDATE orders SET tenant_id = '1', note = 'stolen' WHERE id = 101", AffectedOrRefuse(0)),
    q(
        ALL,
        "DELETE FROM orders WHERE id = 1 AND (SELECT max(amount) FROM orders) > 1000",
        AffectedOrRefuse(0),
    ),
    q(
        ALL,
        "UPDATE orders SET amount = (SELECT max(o2.amount) FROM orders o2) WHERE id = 4",
        AffectedOrRefuse(1),
    ),
    q(
        ALL,
        "DELETE FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE ssn LIKE '531%')",
        AffectedOrRefuse(0),
    ),
    q(
        ALL,
        "UPDATE orders SET note = 'x' WHERE id = 1 AND EXISTS (SELECT 1 FROM customers WHERE id = 101)",
        AffectedOrRefuse(0),
    ),
    q(ALL, "INSERT INTO customers (id, tenant_id, name) VALUES (201, '2', 'planted')", Refuse),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (202, NULL, 1, 1, 'planted')",
        Refuse,
    ),
    q(ALL, "INSERT INTO orders (id, customer_id, amount, note) VALUES (203, 1, 1, 'planted')", Refuse),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (204, '1', 1, 1, 'ok'), \
         (205, '2', 1, 1, 'planted')",
        Refuse,
    ),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) SELECT 207, '2', 1, 1, 'planted'",
        Refuse,
    ),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (206, '1', 1, 1.50, 'legit')",
        Affected(1),
    ),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) \
         SELECT id + 300, tenant_id, id, 1, name FROM customers WHERE id = 101",
        AffectedOrRefuse(0),
    ),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) \
         SELECT 208, '1', id, 1, email FROM customers WHERE id = 1",
        AffectedOrRefuse(1),
    ),
    q(ALL, "UPDATE customers SET name = 'hijack' WHERE id = 101", AffectedOrRefuse(0)),
    q(ALL, "UPDATE customers SET tenant_id = '2' WHERE id = 1", Refuse),
    q(ALL, "UPDATE customers SET tenant_id = NULL WHERE id = 2", Refuse),
    q(ALL, "UPDATE orders SET tenant_id = (SELECT '2') WHERE id = 1", Refuse),
    q(ALL, "UPDATE orders SET note = 'hijack' WHERE tenant_id = '2'", AffectedOrRefuse(0)),
    q(ALL, "UPDATE orders SET note = 'hijack' WHERE id IN (101, 102, 103, 104)", AffectedOrRefuse(0)),
    q(ALL, "UPDATE orders SET amount = 11 WHERE id = 1", Affected(1)),
    q(ALL, "DELETE FROM customers WHERE id = 101", AffectedOrRefuse(0)),
    q(ALL, "DELETE FROM orders WHERE id = 103 OR tenant_id IS NULL", AffectedOrRefuse(0)),
    q(
        ALL,
        "DELETE FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE tenant_id = '2')",
        AffectedOrRefuse(0),
    ),
    q(ALL, "UPDATE customers SET name = email WHERE id = 2", AffectedOrRefuse(1)),
    q(ALL, "UPDATE customers SET name = ssn WHERE id = 3", AffectedOrRefuse(1)),
    q(
        ALL,
        "UPDATE orders SET note = (SELECT card FROM customers WHERE id = 1) WHERE id = 2",
        AffectedOrRefuse(1),
    ),
    q(ALL, "UPDATE customers SET name = 'probe' WHERE id = 1 AND ssn LIKE '531%'", AffectedOrRefuse(0)),
    q(ALL, "UPDATE customers SET name = 'probe' WHERE email LIKE 'leakmail%'", AffectedOrRefuse(0)),
    q(
        ALL,
        "DELETE FROM orders WHERE id = 1 AND (SELECT card FROM customers WHERE id = 1) LIKE '4929%'",
        AffectedOrRefuse(0),
    ),
    q(
        ALL,
        "UPDATE customers SET name = 'p' WHERE id = 1 AND EXISTS (SELECT 1 FROM orders WHERE id = 103)",
        AffectedOrRefuse(0),
    ),
    q(
        ALL,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) \
         SELECT id + 500, '1', customer_id, amount, note FROM orders WHERE id = 101",
        AffectedOrRefuse(0),
    ),
    q(
        ALL,
        "UPDATE orders SET note = (SELECT o2.note FROM orders o2 WHERE o2.id = 101) WHERE id = 3",
        AffectedOrRefuse(1),
    ),
    q(
        ALL,
        "UPDATE customers SET name = (SELECT c2.name FROM customers c2 WHERE c2.id = 101) WHERE id = 1",
        AffectedOrRefuse(1),
    ),
    q(ALL, "DELETE FROM orders WHERE id = 206", Affected(1)),
    // Error oracles in writes: the filter must be applied before the caller's condition can fail.
    q(
        PG,
        "UPDATE orders SET note = 'oracle' WHERE id IN (1, 101) AND note ~ (CASE WHEN tenant_id = '2' THEN '(' ELSE '.' END)",
        OracleWrite(1),
    ),
    q(
        PG | LITE,
        "DELETE FROM orders WHERE id IN (101, 102) AND note LIKE '%' ESCAPE (CASE WHEN tenant_id = '2' THEN 'xx' ELSE 'x' END)",
        OracleWrite(0),
    ),
    q(
        PG,
        "UPDATE customers SET name = 'oracle' WHERE id IN (1, 101) AND name ~ (CASE WHEN tenant_id = '2' THEN '(' ELSE '.' END)",
        OracleWrite(1),
    ),
    q(
        MY,
        "UPDATE orders SET note = 'oracle' WHERE id IN (1, 101) AND note REGEXP (CASE WHEN tenant_id = '2' THEN '(' ELSE '.' END)",
        OracleWrite(1),
    ),
    q(
        MY,
        "DELETE FROM orders WHERE id IN (101, 102) AND note REGEXP (CASE WHEN tenant_id = '2' THEN '(' ELSE '.' END)",
        OracleWrite(0),
    ),
    q(
        MY,
        "UPDATE customers SET name = 'oracle' WHERE id IN (1, 101) AND name REGEXP (CASE WHEN tenant_id = '2' THEN '(' ELSE '.' END)",
        OracleWrite(1),
    ),
    q(
        LITE,
        "UPDATE orders SET note = 'oracle' WHERE id IN (1, 101) AND note LIKE '%' ESCAPE (CASE WHEN tenant_id = '2' THEN 'xx' ELSE 'x' END)",
        OracleWrite(1),
    ),
    q(
        LITE,
        "UPDATE customers SET name = 'oracle' WHERE id IN (1, 101) AND name LIKE '%' ESCAPE (CASE WHEN tenant_id = '2' THEN 'xx' ELSE 'x' END)",
        OracleWrite(1),
    ),
    // The same condition over tenant 1's rows only runs (so an error above depends on hidden rows),
    // and twins that differ only in a guess about a hidden row's content must behave alike.
    q(
        LITE,
        "UPDATE orders SET note = 'control' WHERE id IN (1, 2) AND note LIKE '%' ESCAPE (CASE WHEN tenant_id = '2' THEN 'xx' ELSE 'x' END)",
        OracleWrite(2),
    ),
    q(
        LITE,
        "DELETE FROM orders WHERE id = 101 AND note LIKE '%' ESCAPE (CASE WHEN note LIKE 'ZZT2%' THEN 'xx' ELSE 'x' END)",
        OracleWrite(0),
    ),
    q(
        LITE,
        "DELETE FROM orders WHERE id = 101 AND note LIKE '%' ESCAPE (CASE WHEN note LIKE 'QQ%' THEN 'xx' ELSE 'x' END)",
        OracleWrite(0),
    ),
    q(
        PG,
        "DELETE FROM orders WHERE id = 101 AND note ~ (CASE WHEN note LIKE 'ZZT2%' THEN '(' ELSE '.' END)",
        OracleWrite(0),
    ),
    q(
        MY,
        "DELETE FROM orders WHERE id = 101 AND note REGEXP (CASE WHEN note LIKE 'ZZT2%' THEN '(' ELSE '.' END)",
        OracleWrite(0),
    ),
    // A hidden value used as a pattern: an error if the caller's condition sees the hidden row.
    q(PG, "DELETE FROM orders WHERE id = 101 AND 'x' ~ note", OracleWrite(0)),
    q(PG, "UPDATE orders SET note = 'x' WHERE id = 101 AND 'x' ~ note", OracleWrite(0)),
    q(MY, "DELETE FROM orders WHERE id = 101 AND 'x' REGEXP note", OracleWrite(0)),
    q(PG, "DELETE FROM orders WHERE id = 1 AND 'x' ~ note", OracleWrite(0)),
    q(MY, "DELETE FROM orders WHERE id = 1 AND 'x' REGEXP note", OracleWrite(0)),
    // Writes to an unprotected table that read protected ones: sources are filtered and masked.
    q(ALL, "INSERT INTO products (id, name) SELECT id + 5000, email FROM customers", AffectedOrRefuse(3)),
    q(
        ALL,
        "INSERT INTO products (id, name) SELECT id + 6000, name FROM customers WHERE tenant_id = '2'",
        AffectedOrRefuse(0),
    ),
    q(
        ALL,
        "INSERT INTO products (id, name) SELECT id + 7000, note FROM orders WHERE id BETWEEN 101 AND 104",
        AffectedOrRefuse(0),
    ),
    q(
        ALL,
        "UPDATE products SET name = (SELECT ssn FROM customers WHERE id = 1) WHERE id = 1001",
        AffectedOrRefuse(1),
    ),
    q(ALL, "UPDATE products SET name = (SELECT max(note) FROM orders) WHERE id = 1002", AffectedOrRefuse(1)),
    q(
        ALL,
        "DELETE FROM products WHERE id = 1001 AND EXISTS (SELECT 1 FROM customers WHERE id = 101)",
        AffectedOrRefuse(0),
    ),
    q(ALL, "UPDATE orders SET note = 'bulk'", OrRefuse(None)),
    q(ALL, "UPDATE customers SET name = 'bulk'", OrRefuse(None)),
    // PostgreSQL: upserts, MERGE, UPDATE FROM, DELETE USING, RETURNING, writable CTEs.
    q(
        PG,
        "INSERT INTO customers (id, tenant_id, name) VALUES (101, '1', 'stolen') \
         ON CONFLICT (id) DO UPDATE SET tenant_id = '1', name = 'stolen'",
        Refuse,
    ),
    q(
        PG,
        "INSERT INTO customers (id, tenant_id, name) VALUES (102, '1', 'x') ON CONFLICT (id) DO NOTHING",
        AffectedOrRefuse(0),
    ),
    q(
        PG,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (103, '1', 1, 1, 'x') \
         ON CONFLICT (id) DO UPDATE SET note = 'stolen'",
        Refuse,
    ),
    q(
        PG,
        "MERGE INTO customers c USING (SELECT 101 AS id) s ON c.id = s.id WHEN MATCHED THEN UPDATE SET name = 'merged'",
        Refuse,
    ),
    q(
        PG,
        "UPDATE customers c SET name = 'x' FROM orders o WHERE o.customer_id = c.id AND o.id = 103",
        AffectedOrRefuse(0),
    ),
    q(
        PG,
        "DELETE FROM orders o USING customers c WHERE c.id = o.customer_id AND c.id = 101",
        AffectedOrRefuse(0),
    ),
    q(
        PG,
        "UPDATE orders o SET note = c.email FROM customers c WHERE c.id = o.customer_id AND o.id = 3",
        AffectedOrRefuse(1),
    ),
    q(
        PG,
        "WITH moved AS (UPDATE customers SET tenant_id = '2' WHERE id = 1 RETURNING id) SELECT * FROM moved",
        Refuse,
    ),
    q(PG, "WITH d AS (DELETE FROM orders WHERE id = 101 RETURNING *) SELECT * FROM d", OrRefuse(Some(0))),
    q(PG, "UPDATE customers SET name = 'x' WHERE id = 101 RETURNING *", OrRefuse(Some(0))),
    q(PG | LITE, "UPDATE customers SET name = 'y' WHERE id = 1 RETURNING id, name", OrRefuse(Some(1))),
    q(PG, "UPDATE customers SET name = 'r' WHERE id = 1 RETURNING email, ssn, card", OrRefuse(Some(1))),
    q(
        PG,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (209, '1', 1, 1, 'r') RETURNING *",
        OrRefuse(Some(1)),
    ),
    q(PG, "DELETE FROM customers WHERE id = 3 RETURNING email, ssn, card", OrRefuse(Some(1))),
    q(PG | MY | LITE, "DELETE FROM orders WHERE id = 101 RETURNING *", OrRefuse(Some(0))),
    q(PG, "UPDATE customers SET id = 101 WHERE id = 2", OrRefuse(None)),
    // MariaDB: upserts, REPLACE, multi-table writes, RETURNING.
    q(
        MY,
        "INSERT INTO customers (id, tenant_id, name) VALUES (101, '1', 'stolen') \
         ON DUPLICATE KEY UPDATE tenant_id = '1', name = 'stolen'",
        Refuse,
    ),
    q(MY, "REPLACE INTO customers (id, tenant_id, name) VALUES (101, '1', 'stolen')", Refuse),
    q(
        MY,
        "REPLACE INTO orders (id, tenant_id, customer_id, amount, note) VALUES (103, '1', 1, 1, 'stolen')",
        Refuse,
    ),
    q(
        MY,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (102, '1', 1, 1, 'x') \
         ON DUPLICATE KEY UPDATE note = 'stolen'",
        Refuse,
    ),
    // Row 101 is tenant 2's: IGNORE skips the caller's own row 2 instead of failing on the
    // key, and MariaDB counts it as matched whether or not the key collided.
    q(MY, "UPDATE IGNORE customers SET id = 101 WHERE id = 2", AffectedOrRefuse(1)),
    q(MY, "UPDATE LOW_PRIORITY orders SET note = 'x' WHERE id = 101", AffectedOrRefuse(0)),
    q(MY, "DELETE LOW_PRIORITY FROM orders WHERE id = 102", AffectedOrRefuse(0)),
    q(MY, "DELETE QUICK IGNORE FROM orders WHERE id = 102", AffectedOrRefuse(0)),
    q(MY, "INSERT IGNORE INTO customers (id, tenant_id, name) VALUES (101, '1', 'x')", AffectedOrRefuse(0)),
    q(
        MY,
        "UPDATE customers c JOIN orders o ON o.customer_id = c.id SET c.name = 'x' WHERE o.id = 103",
        AffectedOrRefuse(0),
    ),
    q(
        MY,
        "UPDATE orders o JOIN customers c ON c.id = o.customer_id SET o.note = c.email WHERE o.id = 3",
        AffectedOrRefuse(1),
    ),
    q(
        MY,
        "DELETE o FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.id = 101",
        AffectedOrRefuse(0),
    ),
    q(MY, "UPDATE customers SET name = 'x' WHERE id = 101 LIMIT 1", AffectedOrRefuse(0)),
    q(MY, "UPDATE customers SET tenant_id = '2' ORDER BY id LIMIT 1", Refuse),
    q(
        MY,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (209, '1', 1, 1, 'r') RETURNING *",
        OrRefuse(Some(1)),
    ),
    q(MY, "DELETE FROM customers WHERE id = 3 RETURNING email, ssn, card", OrRefuse(Some(1))),
    q(MY, "UPDATE customers SET id = 101 WHERE id = 2", OrRefuse(None)),
    // SQLite: conflict clauses, UPDATE FROM, RETURNING.
    q(LITE, "INSERT OR REPLACE INTO customers (id, tenant_id, name) VALUES (101, '1', 'stolen')", Refuse),
    q(LITE, "REPLACE INTO customers (id, tenant_id, name) VALUES (101, '1', 'stolen')", Refuse),
    q(
        LITE,
        "INSERT INTO customers (id, tenant_id, name) VALUES (101, '1', 'stolen') \
         ON CONFLICT (id) DO UPDATE SET tenant_id = '1', name = 'stolen'",
        Refuse,
    ),
    q(
        LITE,
        "INSERT OR IGNORE INTO customers (id, tenant_id, name) VALUES (101, '1', 'x')",
        AffectedOrRefuse(0),
    ),
    q(LITE, "UPDATE OR REPLACE customers SET id = 101 WHERE id = 2", Refuse),
    q(LITE, "UPDATE OR REPLACE orders SET id = 101 WHERE id = 4", Refuse),
    q(
        LITE,
        "INSERT OR REPLACE INTO orders (id, tenant_id, customer_id, amount, note) VALUES (102, '1', 1, 1, 'stolen')",
        Refuse,
    ),
    q(
        LITE,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (103, '1', 1, 1, 'x') ON CONFLICT DO NOTHING",
        AffectedOrRefuse(0),
    ),
    q(
        LITE,
        "UPDATE customers SET name = 'x' FROM orders o WHERE o.customer_id = customers.id AND o.id = 103",
        AffectedOrRefuse(0),
    ),
    q(LITE, "UPDATE customers SET name = 'r' WHERE id = 1 RETURNING email, ssn, card", OrRefuse(Some(1))),
    q(
        LITE,
        "INSERT INTO orders (id, tenant_id, customer_id, amount, note) VALUES (209, '1', 1, 1, 'r') RETURNING *",
        OrRefuse(Some(1)),
    ),
    q(LITE, "DELETE FROM customers WHERE id = 3 RETURNING *", OrRefuse(Some(1))),
    q(LITE, "UPDATE customers SET id = 101 WHERE id = 2", OrRefuse(None)),
];

// ---------------------------------------------------------------------------------------------
// Running.

/// One database: Sluice with the plugins, Sluice without (to look at the data directly), the
/// name `{schema}` stands for.
struct Target {
    name: &'static str,
    bit: u8,
    schema: String,
    sluice: Sluice,
    raw: Sluice,
    _dir: TempDir,
}

/// The plugins' configuration: tenant filter on customers and orders, three masks.
fn plugins() -> String {
    format!(
        "{}{}{}",
        policy_toml(60_000),
        plugin_toml(
            "tenants",
            "tenant-isolation",
            "config = { attribute = \"tenant_id\", tables = { customers = \"tenant_id\", orders = \"tenant_id\" } }",
        ),
        plugin_toml(
            "pii",
            "pii-mask",
            "config = { columns = { \"customers.email\" = \"email\", \"customers.ssn\" = \"partial(0,4)\", \
             \"customers.card\" = \"last-four\" } }",
        ),
    )
}

async fn start(datasource: &str, extra: &str, dir: &Path) -> Sluice {
    let toml = format!("{}\n[datasources.app]\n{datasource}\n{extra}", base_toml());
    Sluice::start(&toml, dir).await
}

impl Target {
    async fn postgres(premasked: bool) -> (Target, PgSchema) {
        let schema = PgSchema::new(&setup_sql(Dialect::Postgres, premasked)).await;
        schema.client.batch_execute("CHECKPOINT").await.unwrap();
        // Another session's last statement carries another tenant's values (pg_stat_activity).
        schema.client.batch_execute("SELECT 'leakmailz1@zzt2.example' AS other_session").await.unwrap();
        let dir = TempDir::new();
        let extra = if premasked { String::new() } else { plugins() };
        let sluice = start(&schema.datasource(""), &extra, dir.path()).await;
        let raw = start(&schema.datasource(""), "", dir.path()).await;
        let target =
            Target { name: "PostgreSQL", bit: PG, schema: schema.name.clone(), sluice, raw, _dir: dir };
        (target, schema)
    }

    async fn mariadb(premasked: bool) -> (Target, MyDatabase) {
        let db = MyDatabase::new(&setup_sql(Dialect::MariaDb, premasked)).await;
        let dir = TempDir::new();
        let extra = if premasked { String::new() } else { plugins() };
        let sluice = start(&db.datasource(""), &extra, dir.path()).await;
        let raw = start(&db.datasource(""), "", dir.path()).await;
        let target = Target { name: "MariaDB", bit: MY, schema: db.name.clone(), sluice, raw, _dir: dir };
        (target, db)
    }

    async fn sqlite(premasked: bool) -> Target {
        let dir = TempDir::new();
        std::fs::write(dir.path().join("init.sql"), setup_sql(Dialect::Sqlite, premasked)).unwrap();
        let extra = if premasked { String::new() } else { plugins() };
        // The first instance creates the file from the bootstrap script; the second opens it.
        let sluice = start(crate::harness::SQLITE, &extra, dir.path()).await;
        let raw = start("kind = \"sqlite\"\npath = \"t.db\"\n", "", dir.path()).await;
        Target { name: "SQLite", bit: LITE, schema: "main".into(), sluice, raw, _dir: dir }
    }

    async fn post(&self, sluice: &Sluice, key: &str, sql: &str, params: &[&str]) -> (StatusCode, Value) {
        let body = json!({"datasource": "app", "sql": sql, "params": params});
        sluice.post(Some(key), body.to_string()).await
    }

    /// Runs `sql` without plugins and returns its rows.
    async fn raw_rows(&self, sql: &str) -> Value {
        let (status, body) = self.post(&self.raw, KEY, sql, &[]).await;
        assert_eq!(status, StatusCode::OK, "{} (direct): {sql}: {body}", self.name);
        body["rows"].clone()
    }
}

/// Every string that must not appear in a response unless the statement itself contains it:
/// the markers (lower case), their hex and reversed forms, and the base64 of every clear value.
fn forbidden() -> Vec<String> {
    let mut out = Vec::new();
    for marker in FOREIGN_MARKERS.iter().chain(CLEAR_MARKERS) {
        out.push(marker.to_string());
        out.push(marker.chars().rev().collect());
        for form in [marker.to_string(), marker.to_uppercase()] {
            out.push(form.bytes().map(|b| format!("{b:02x}")).collect());
        }
    }
    for &(_, tenant, name, email, ssn, card) in CUSTOMERS {
        let mut values = vec![email, ssn, card];
        if tenant != "1" {
            values.push(name);
        }
        for value in values {
            out.push(base64::engine::general_purpose::STANDARD.encode(value).to_lowercase());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The response text searched for markers: the body without its trace id, plus every `bytes`
/// cell decoded, lower-cased.
fn searchable(body: &Value) -> String {
    let mut body = body.clone();
    if let Some(obj) = body.as_object_mut() {
        obj.remove("trace_id");
    }
    if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("trace_id");
    }
    let mut text = body.to_string();
    let columns = body["columns"].as_array().cloned().unwrap_or_default();
    for row in body["rows"].as_array().into_iter().flatten() {
        for (i, column) in columns.iter().enumerate() {
            if column["type"] == "bytes"
                && let Some(cell) = row[i].as_str()
                && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(cell)
            {
                text.push(' ');
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    text.to_lowercase()
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// Checks one response against `case`; returns what is wrong, if anything.
fn judge(case: &Case, sql: &str, status: StatusCode, body: &Value, forbidden: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let sent = format!("{sql} {}", case.params.join(" ")).to_lowercase();
    let text = searchable(body);
    for marker in forbidden {
        if !sent.contains(marker.as_str()) && text.contains(marker.as_str()) {
            problems.push(format!("LEAK: the response contains {marker:?}"));
        }
    }
    if status == StatusCode::OK {
        let rows = body["rows"].as_array().cloned().unwrap_or_default();
        let affected = body["rows_affected"].as_u64();
        match case.expect {
            Refuse => problems.push("expected a refusal, but it ran".into()),
            Rows(n) | OrRefuse(Some(n)) | Oracle(n) if rows.len() != n => {
                problems.push(format!("expected {n} rows, got {}", rows.len()))
            }
            Values(want) | ValuesOrRefuse(want) => {
                let mut got: Vec<String> = rows.iter().map(|r| cell_text(&r[0])).collect();
                got.sort();
                let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
                want.sort();
                if got != want {
                    problems.push(format!("expected first column {want:?}, got {got:?}"));
                }
            }
            Ordered(want) => {
                let got: Vec<String> = rows.iter().map(|r| cell_text(&r[0])).collect();
                if got != want {
                    problems.push(format!("expected first column in order {want:?}, got {got:?}"));
                }
            }
            Affected(n) | AffectedOrRefuse(n) | OracleWrite(n) if affected != Some(n) => {
                problems.push(format!("expected {n} affected rows, got {affected:?}"))
            }
            _ => {}
        }
    } else {
        let code = body["error"]["code"].as_str().unwrap_or("<no code>");
        let documented = sluice_core::ErrorCode::ALL.into_iter().find(|c| c.as_str() == code);
        if !REFUSALS.contains(&code) || documented.map(|c| c.status()) != Some(status.as_u16()) {
            problems.push(format!("refused with an unexpected code or status: {status} {code}"));
        }
        if matches!(case.expect, Oracle(_) | OracleWrite(_)) && code == "upstream_error" {
            problems.push("ERROR ORACLE: the database raised an error that depends on hidden data".into());
        }
        if matches!(case.expect, Rows(_) | Values(_) | Ordered(_) | Affected(_)) {
            problems.push("FALSE REFUSAL: a legitimate statement was refused".into());
        }
    }
    problems
}

/// Runs `cases` (those for this database) as tenant 1; returns the failures and how many ran.
async fn run(target: &Target, cases: &[Case], forbidden: &[String]) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases.iter().filter(|c| c.on & target.bit != 0) {
        ran += 1;
        let sql = case.sql.replace("{schema}", &target.schema);
        let (status, body) = target.post(&target.sluice, KEY, &sql, case.params).await;
        let problems = judge(case, &sql, status, &body, forbidden);
        if std::env::var_os("SLUICE_PROTECT_TRACE").is_some() {
            let outcome = body["error"]["code"].as_str().map_or_else(
                || {
                    format!(
                        "{} rows, affected {}",
                        body["rows"].as_array().map_or(0, Vec::len),
                        body["rows_affected"]
                    )
                },
                |code| format!("{code} ({})", body["error"]["message"].as_str().unwrap_or_default()),
            );
            eprintln!("[{}] {status} {outcome}: {sql}", target.name);
        }
        if !problems.is_empty() {
            failures.push(format!(
                "[{}] {sql}  params {:?}\n    expected {:?}\n    {}\n    response {status}: {body}",
                target.name,
                case.params,
                case.expect,
                problems.join("; ")
            ));
        }
    }
    (failures, ran)
}

/// The rows that are not tenant 1's, as they are in the database.
async fn foreign_rows(target: &Target) -> Value {
    json!([
        target
            .raw_rows("SELECT id, tenant_id, name, email, ssn, card FROM customers WHERE tenant_id <> '1' ORDER BY id")
            .await,
        target
            .raw_rows(
                "SELECT id, tenant_id, customer_id, amount, note FROM orders \
                 WHERE tenant_id IS NULL OR tenant_id <> '1' ORDER BY id",
            )
            .await,
    ])
}

/// The whole adversarial run on one database.
async fn adversarial(target: &Target) {
    let forbidden = forbidden();
    let mut failures = Vec::new();

    // The fixture is what the cases assume.
    let all = target.raw_rows("SELECT id FROM customers").await;
    assert_eq!(all.as_array().unwrap().len(), 5, "{}: fixture", target.name);
    let before = foreign_rows(target).await;
    assert_eq!(before[0].as_array().unwrap().len(), 2, "{}: fixture {before}", target.name);
    assert_eq!(before[1].as_array().unwrap().len(), 4, "{}: fixture {before}", target.name);

    let (read_failures, reads) = run(target, READS, &forbidden).await;
    failures.extend(read_failures);

    // Tenant 2 sees its own rows, and only those.
    let (status, body) =
        target.post(&target.sluice, KEY_TENANT_2, "SELECT name, email FROM customers", &[]).await;
    let rows = body["rows"].as_array().map_or(0, Vec::len);
    let text = searchable(&body);
    if status != StatusCode::OK || rows != 2 || text.contains("tone") || text.contains("leakmail") {
        failures.push(format!("[{}] tenant 2 reading customers: {status} {body}", target.name));
    }

    let (write_failures, writes) = run(target, WRITES, &forbidden).await;
    failures.extend(write_failures);

    // Nothing reached the other tenants' rows, and no row was created outside tenant 1.
    let after = foreign_rows(target).await;
    if after != before {
        failures.push(format!(
            "[{}] LEAK: the writes changed rows outside tenant 1:\n    before {before}\n    after  {after}",
            target.name
        ));
    }
    // No clear value was copied into an unmasked column, no foreign value into tenant 1's rows.
    let copied = target
        .raw_rows(
            "SELECT name FROM customers WHERE tenant_id = '1' \
             UNION ALL SELECT note FROM orders WHERE tenant_id = '1' UNION ALL SELECT name FROM products",
        )
        .await;
    let amounts = target.raw_rows("SELECT amount FROM orders WHERE tenant_id = '1'").await;
    let copied_text = format!("{copied} {amounts}").to_lowercase();
    for marker in CLEAR_MARKERS.iter().chain(FOREIGN_MARKERS) {
        if copied_text.contains(marker) {
            failures.push(format!(
                "[{}] LEAK: {marker:?} was copied into tenant 1's unmasked columns: {copied}",
                target.name
            ));
        }
    }

    eprintln!("{}: {reads} reads, {writes} writes, {} failures", target.name, failures.len());
    assert!(reads + writes >= 100, "{}: only {} statements ran", target.name, reads + writes);
    assert!(
        failures.is_empty(),
        "{} failures on {}:\n\n{}",
        failures.len(),
        target.name,
        failures.join("\n\n")
    );
}

#[tokio::test]
async fn protect_adversarial_postgres() {
    let (target, _schema) = Target::postgres(false).await;
    adversarial(&target).await;
}

#[tokio::test]
async fn protect_adversarial_mariadb() {
    let (target, _db) = Target::mariadb(false).await;
    adversarial(&target).await;
}

#[tokio::test]
async fn protect_adversarial_sqlite() {
    let target = Target::sqlite(false).await;
    adversarial(&target).await;
}

/// The suite has at least 80 distinct statements, and each database runs enough of them.
#[test]
fn protect_adversarial_suite_is_large_enough() {
    let mut distinct: Vec<&str> = READS.iter().chain(WRITES).map(|c| c.sql).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 80, "{} distinct statements", distinct.len());
    for bit in [PG, MY, LITE] {
        let n = READS.iter().chain(WRITES).filter(|c| c.on & bit != 0).count();
        assert!(n >= 100, "database {bit}: {n} statements");
    }
}

/// The reads' expectations (row counts and values) are what tenant 1 sees under the rewrite's
/// semantics: without plugins, on a database holding only tenant 1's rows with the masked
/// values stored as they are, every expectation holds. (This does not need the rewrite.)
async fn expectations_hold(target: &Target) {
    let mut failures = Vec::new();
    for case in READS.iter().filter(|c| c.on & target.bit != 0) {
        let sql = case.sql.replace("{schema}", &target.schema);
        let (status, body) = target.post(&target.sluice, KEY, &sql, case.params).await;
        // Only the expectations: the markers cannot occur in this data.
        let problems = judge(case, &sql, status, &body, &[]);
        if !problems.is_empty() {
            failures.push(format!(
                "[{}] {sql}\n    {}\n    response {status}: {body}",
                target.name,
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[tokio::test]
async fn protect_adversarial_postgres_expectations_hold_on_premasked_data() {
    let (target, _schema) = Target::postgres(true).await;
    expectations_hold(&target).await;
}

#[tokio::test]
async fn protect_adversarial_mariadb_expectations_hold_on_premasked_data() {
    let (target, _db) = Target::mariadb(true).await;
    expectations_hold(&target).await;
}

#[tokio::test]
async fn protect_adversarial_sqlite_expectations_hold_on_premasked_data() {
    let target = Target::sqlite(true).await;
    expectations_hold(&target).await;
}

/// The checker is not blind: without plugins (so without the rewrite) the same reads leak other
/// tenants' rows and clear values, and the suite notices (markers, or row counts and values).
#[tokio::test]
async fn protect_adversarial_detects_leaks_without_plugins() {
    let target = Target::sqlite(false).await;
    let forbidden = forbidden();
    let (mut leaks, mut caught, mut ran) = (0, 0, 0);
    for case in READS.iter().filter(|c| c.on & LITE != 0) {
        ran += 1;
        let (status, body) = target.post(&target.raw, KEY, case.sql, case.params).await;
        let problems = judge(case, case.sql, status, &body, &forbidden);
        leaks += usize::from(problems.iter().any(|p| p.starts_with("LEAK")));
        caught += usize::from(!problems.is_empty());
    }
    eprintln!("without plugins: {caught} of {ran} reads flagged, {leaks} with markers");
    assert!(leaks * 5 >= ran * 2, "only {leaks} of {ran} reads leak markers without plugins");
    assert!(caught * 4 >= ran * 3, "only {caught} of {ran} reads flagged without plugins");
}
