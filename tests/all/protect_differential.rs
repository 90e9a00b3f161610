//! Differential acceptance of the rewrite stage on PostgreSQL: for a deterministic, generated
//! set of read queries, the rows Sluice returns under the rewrite (tenant-isolation plugin,
//! Sluice connected as a superuser, so only the rewrite filters) equal the rows PostgreSQL's
//! own row-level security returns for the same policy (`tenant_id =
//! current_setting('sluice.tenant_id')`, queried directly as an unprivileged role), for
//! tenants 1 and 2. Every generated query must succeed through Sluice.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{KEY, KEY_TENANT_2, PgSchema, Sluice, plugin_toml, policy_toml, unique};

/// How many distinct queries are generated.
const QUERIES: usize = 320;

/// A tiny deterministic PRNG (xorshift64*), so the generated set is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const NAMES: &[&str] = &["ann", "bob", "cat", "dan", "eve", "ann"];
const NOTES: &[&str] = &["rush", "gift", "bulk", "late", "rush"];
const TENANTS: &[&str] = &["1", "2", "3"];

/// The schema, seed data (generated, deterministic) and RLS policies; `{role}` is the
/// unprivileged role the ground truth runs as.
fn setup(rng: &mut Rng) -> String {
    let mut sql = String::from(
        "CREATE TABLE customers (id int PRIMARY KEY, tenant_id text NOT NULL, name text, email text);
         CREATE TABLE orders (id int PRIMARY KEY, tenant_id text, customer_id int, amount numeric(10,2), note text);
         CREATE TABLE products (id int PRIMARY KEY, name text);
         INSERT INTO products VALUES (1, 'widget'), (2, 'gadget'), (3, 'gizmo');\n",
    );
    for id in 1..=18 {
        let tenant = TENANTS[id % 3];
        let name = if rng.chance(15) { "NULL".to_string() } else { format!("'{}'", rng.pick(NAMES)) };
        let email = if rng.chance(20) { "NULL".to_string() } else { format!("'u{id}@t{tenant}.example'") };
        sql.push_str(&format!("INSERT INTO customers VALUES ({id}, '{tenant}', {name}, {email});\n"));
    }
    for id in 1..=45 {
        let customer = rng.range(1, 20);
        // Mostly the customer's own tenant; sometimes another one, sometimes none.
        let tenant = match rng.below(10) {
            0 => "NULL".to_string(),
            1 | 2 => format!("'{}'", rng.pick(TENANTS)),
            _ => format!("'{}'", TENANTS[(customer % 3) as usize]),
        };
        let customer = if rng.chance(8) { "NULL".to_string() } else { customer.to_string() };
        let amount = format!("{}.{:02}", rng.range(1, 300), rng.range(0, 99));
        let note = if rng.chance(10) { "NULL".to_string() } else { format!("'{}'", rng.pick(NOTES)) };
        sql.push_str(&format!("INSERT INTO orders VALUES ({id}, {tenant}, {customer}, {amount}, {note});\n"));
    }
    for table in ["customers", "orders"] {
        sql.push_str(&format!(
            "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
             ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
             CREATE POLICY tenant ON {table} USING (tenant_id = current_setting('sluice.tenant_id', true));\n"
        ));
    }
    sql
}

/// A predicate over customers aliased `a`.
fn customer_predicate(rng: &mut Rng, a: &str, depth: usize) -> String {
    if depth < 1 && rng.chance(25) {
        let op = rng.pick(&["AND", "OR"]);
        let left = customer_predicate(rng, a, depth + 1);
        let right = customer_predicate(rng, a, depth + 1);
        return format!("({left} {op} {right})");
    }
    match rng.below(10) {
        0 => format!("{a}.id > {}", rng.range(0, 18)),
        1 => format!("{a}.id <= {}", rng.range(1, 18)),
        2 => format!("{a}.name = '{}'", rng.pick(NAMES)),
        3 => format!("{a}.name LIKE '{}%'", rng.pick(&["a", "b", "c", "d", "e"])),
        4 => format!("{a}.name IS {}NULL", rng.pick(&["", "NOT "])),
        5 => format!("{a}.tenant_id = '{}'", rng.pick(TENANTS)),
        6 => format!("{a}.id % {} = {}", rng.range(2, 4), rng.range(0, 1)),
        7 => format!("{a}.id IN ({}, {}, {})", rng.range(1, 18), rng.range(1, 18), rng.range(1, 18)),
        8 => format!("{a}.email LIKE '%t{}%'", rng.pick(TENANTS)),
        _ => "true".to_string(),
    }
}

/// A predicate over orders aliased `a`.
fn order_predicate(rng: &mut Rng, a: &str, depth: usize) -> String {
    if depth < 1 && rng.chance(25) {
        let op = rng.pick(&["AND", "OR"]);
        let left = order_predicate(rng, a, depth + 1);
        let right = order_predicate(rng, a, depth + 1);
        return format!("({left} {op} {right})");
    }
    match rng.below(10) {
        0 => format!("{a}.amount > {}", rng.range(1, 300)),
        1 => {
            let lo = rng.range(1, 200);
            format!("{a}.amount BETWEEN {lo} AND {}", lo + rng.range(10, 100))
        }
        2 => format!("{a}.customer_id IS {}NULL", rng.pick(&["", "NOT "])),
        3 => format!("{a}.customer_id = {}", rng.range(1, 20)),
        4 => format!("{a}.note = '{}'", rng.pick(NOTES)),
        5 => format!("{a}.tenant_id = '{}'", rng.pick(TENANTS)),
        6 => format!("{a}.tenant_id IS NULL"),
        7 => format!("{a}.id % {} = {}", rng.range(2, 5), rng.range(0, 1)),
        8 => format!("NOT ({a}.note LIKE '{}%')", rng.pick(&["r", "g", "b", "l"])),
        _ => "true".to_string(),
    }
}

/// One generated query; `ordered` when its ORDER BY fixes the row order completely.
struct Query {
    sql: String,
    ordered: bool,
}

/// One query from template `template` (0..TEMPLATES).
fn generate(rng: &mut Rng, template: usize) -> Query {
    let pc = customer_predicate(rng, "c", 0);
    let po = order_predicate(rng, "o", 0);
    let mut ordered = false;
    let sql = match template {
        0 => {
            let cols = rng.pick(&["c.id, c.name", "c.*", "c.id, c.email, c.tenant_id", "c.name"]);
            format!("SELECT {cols} FROM customers c WHERE {pc}")
        }
        1 => {
            let cols = rng.pick(&["o.*", "o.id, o.amount", "o.customer_id, o.note", "o.tenant_id, o.id"]);
            format!("SELECT {cols} FROM orders o WHERE {po}")
        }
        2 => {
            let op = rng.pick(&["AND", "OR"]);
            format!(
                "SELECT c.id, c.name, o.id, o.amount FROM customers c JOIN orders o ON o.customer_id = c.id \
                 WHERE {pc} {op} {po}"
            )
        }
        3 => format!(
            "SELECT c.id, o.id, o.note FROM customers c LEFT JOIN orders o ON o.customer_id = c.id AND {po} \
             WHERE {pc}"
        ),
        4 => format!(
            "SELECT o.id, c.name FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE {po}"
        ),
        5 => {
            let not = rng.pick(&["", "NOT "]);
            format!(
                "SELECT c.id, c.name FROM customers c WHERE c.id {not}IN \
                 (SELECT o.customer_id FROM orders o WHERE {po} AND o.customer_id IS NOT NULL)"
            )
        }
        6 => {
            let not = rng.pick(&["", "NOT "]);
            format!(
                "SELECT c.id FROM customers c WHERE {not}EXISTS \
                 (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND {po}) AND {pc}"
            )
        }
        7 => format!(
            "SELECT c.id, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id AND {po}) AS n, \
             (SELECT max(o2.amount) FROM orders o2 WHERE o2.customer_id = c.id) AS m FROM customers c WHERE {pc}"
        ),
        8 => format!(
            "WITH x AS (SELECT * FROM orders o WHERE {po}) \
             SELECT c.name, x.id, x.amount FROM customers c JOIN x ON x.customer_id = c.id WHERE {pc}"
        ),
        9 | 10 => {
            let op = rng.pick(&["UNION", "UNION ALL", "INTERSECT", "INTERSECT ALL", "EXCEPT", "EXCEPT ALL"]);
            if template == 9 {
                format!(
                    "SELECT c.name AS v FROM customers c WHERE {pc} {op} SELECT o.note FROM orders o WHERE {po}"
                )
            } else {
                format!(
                    "SELECT o.customer_id AS v FROM orders o WHERE {po} {op} SELECT c.id FROM customers c WHERE {pc}"
                )
            }
        }
        11 => {
            let group = rng.pick(&["o.customer_id", "o.note", "o.tenant_id"]);
            let having = if rng.chance(40) {
                format!(" HAVING count(*) > {}", rng.range(0, 2))
            } else {
                String::new()
            };
            format!(
                "SELECT {group}, count(*), sum(o.amount), min(o.id) FROM orders o WHERE {po} GROUP BY {group}{having}"
            )
        }
        12 => format!(
            "SELECT c.name, count(o.id), coalesce(sum(o.amount), 0) FROM customers c \
             LEFT JOIN orders o ON o.customer_id = c.id WHERE {pc} GROUP BY c.name"
        ),
        13 => {
            if rng.chance(50) {
                let col = rng.pick(&["o.note", "o.customer_id", "o.tenant_id"]);
                format!("SELECT DISTINCT {col} FROM orders o WHERE {po}")
            } else {
                let col = rng.pick(&["c.name", "c.tenant_id"]);
                format!("SELECT DISTINCT {col} FROM customers c WHERE {pc}")
            }
        }
        14 => {
            ordered = true;
            let dir = rng.pick(&["ASC", "DESC"]);
            let limit = rng.range(1, 6);
            let offset = rng.range(0, 3);
            if rng.chance(50) {
                format!(
                    "SELECT c.id, c.name FROM customers c WHERE {pc} ORDER BY c.id {dir} LIMIT {limit} OFFSET {offset}"
                )
            } else {
                format!(
                    "SELECT o.id, o.amount FROM orders o WHERE {po} ORDER BY o.id {dir} LIMIT {limit} OFFSET {offset}"
                )
            }
        }
        15 => format!(
            "SELECT p.name, count(c.id) FROM products p LEFT JOIN customers c ON c.id % 3 = p.id % 3 AND {pc} \
             GROUP BY p.name"
        ),
        16 => {
            format!("SELECT count(*) FROM customers c, orders o WHERE o.customer_id = c.id AND {pc} AND {po}")
        }
        17 => format!("SELECT c.id, count(*) OVER (PARTITION BY c.name) FROM customers c WHERE {pc}"),
        18 => format!(
            "SELECT s.id, s.name FROM (SELECT * FROM customers c WHERE {pc}) s \
             WHERE s.id IN (SELECT o.customer_id FROM orders o WHERE {po})"
        ),
        19 => format!(
            "WITH RECURSIVE r(id, depth) AS (SELECT c.id, 0 FROM customers c WHERE {pc} UNION ALL \
             SELECT c.id, r.depth + 1 FROM r JOIN customers c ON c.id = r.id + 3 WHERE r.depth < 3) \
             SELECT id, depth FROM r"
        ),
        20 => format!(
            "SELECT o.id FROM orders o WHERE {po} AND o.amount > \
             (SELECT avg(o2.amount) FROM orders o2 WHERE o2.customer_id = o.customer_id)"
        ),
        21 => format!(
            "SELECT c.tenant_id, count(*), max(c.name) FROM customers c WHERE {pc} GROUP BY c.tenant_id"
        ),
        22 => format!(
            "SELECT o.id, o.note FROM orders o WHERE o.customer_id = (SELECT min(c.id) FROM customers c WHERE {pc})"
        ),
        23 => format!(
            "SELECT c.id, c.name FROM customers c WHERE {pc} \
             AND c.id = ANY (SELECT o.customer_id FROM orders o WHERE {po})"
        ),
        24 => format!(
            "SELECT c.id, l.n FROM customers c CROSS JOIN LATERAL \
             (SELECT count(*) AS n FROM orders o WHERE o.customer_id = c.id AND {po}) l WHERE {pc}"
        ),
        25 => format!(
            "WITH customers AS (SELECT * FROM customers c WHERE {pc}) SELECT customers.id, customers.name FROM customers"
        ),
        26 => {
            let pa = customer_predicate(rng, "a", 0);
            format!(
                "SELECT a.id, b.id FROM customers a JOIN customers b ON a.name = b.name AND a.id < b.id WHERE {pa}"
            )
        }
        27 => {
            let swapped = order_predicate(rng, "customers", 0);
            format!(
                "SELECT orders.id, customers.amount FROM customers AS orders \
                 JOIN orders AS customers ON customers.customer_id = orders.id WHERE {swapped}"
            )
        }
        28 => format!(
            "SELECT o.id, c.id FROM orders o FULL JOIN customers c ON c.id = o.customer_id WHERE {po} OR o.id IS NULL"
        ),
        29 => format!(
            "SELECT o.id FROM customers c RIGHT JOIN orders o ON o.customer_id = c.id WHERE c.id IS NULL AND {po}"
        ),
        30 => format!(
            "SELECT u.v, count(*) FROM (SELECT c.name AS v FROM customers c WHERE {pc} \
             UNION ALL SELECT o.note FROM orders o WHERE {po}) u GROUP BY u.v"
        ),
        31 => {
            ordered = true;
            format!(
                "SELECT c.id FROM customers c WHERE {pc} \
                 ORDER BY (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) DESC, c.id LIMIT {}",
                rng.range(1, 5)
            )
        }
        32 => {
            let po2 = order_predicate(rng, "o2", 0);
            format!(
                "SELECT o.customer_id, sum(o.amount) FROM orders o GROUP BY o.customer_id \
                 HAVING sum(o.amount) > (SELECT avg(o2.amount) FROM orders o2 WHERE {po2})"
            )
        }
        33 => {
            let pc2 = customer_predicate(rng, "c2", 0);
            format!(
                "SELECT c.id FROM customers c WHERE c.id IN (SELECT o.customer_id FROM orders o \
                 WHERE o.customer_id IN (SELECT c2.id FROM customers c2 WHERE {pc2}))"
            )
        }
        34 => format!(
            "SELECT (SELECT max(c.name) FROM customers c WHERE {pc}), (SELECT count(*) FROM orders o WHERE {po})"
        ),
        35 => format!(
            "SELECT c.id, x.total FROM customers c JOIN (SELECT o.customer_id, sum(o.amount) AS total \
             FROM orders o GROUP BY o.customer_id) x ON x.customer_id = c.id WHERE {pc}"
        ),
        36 => format!(
            "SELECT c.id, o.id FROM customers c JOIN orders o ON o.customer_id = c.id \
             AND o.tenant_id IS DISTINCT FROM c.tenant_id WHERE {pc}"
        ),
        37 => format!(
            "SELECT count(*) FROM orders o WHERE o.customer_id NOT IN (SELECT c.id FROM customers c WHERE {pc})"
        ),
        38 => format!("SELECT id, name FROM customers WHERE {}", customer_predicate(rng, "customers", 0)),
        _ => format!(
            "SELECT customers.id, orders.id FROM customers, orders \
             WHERE orders.customer_id = customers.id AND {}",
            order_predicate(rng, "orders", 0)
        ),
    };
    Query { sql, ordered }
}

const TEMPLATES: usize = 40;

/// `QUERIES` distinct queries, every template used, in a fixed order.
fn queries() -> Vec<Query> {
    let mut rng = Rng(0x5EED_D1FF);
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut template = 0;
    while out.len() < QUERIES {
        let query = generate(&mut rng, template % TEMPLATES);
        template += 1;
        if seen.insert(query.sql.clone()) {
            out.push(query);
        }
    }
    out
}

type Rows = Vec<Vec<Option<String>>>;

/// A JSON cell as PostgreSQL's text output spells it.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "t" } else { "f" }.to_string()),
        other => Some(other.to_string()),
    }
}

/// The rows PostgreSQL's RLS gives `tenant`: `sql` as `role`, in a transaction.
async fn ground_truth(schema: &PgSchema, role: &str, tenant: &str, sql: &str) -> Result<Rows, String> {
    let client = &schema.client;
    client
        .batch_execute(&format!(
            "BEGIN; SET LOCAL ROLE {role}; SELECT set_config('sluice.tenant_id', '{tenant}', true)"
        ))
        .await
        .map_err(|e| e.to_string())?;
    let result = client.simple_query(sql).await;
    client.batch_execute("ROLLBACK").await.map_err(|e| e.to_string())?;
    let messages = result.map_err(|e| format!("{e:?}"))?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect())
}

/// The rows Sluice returns for `query` as the principal of `key`, as text.
async fn sluice_rows(sluice: &Sluice, key: &str, query: &Query) -> Result<Rows, String> {
    let body = json!({"datasource": "app", "sql": query.sql});
    let (status, response) = sluice.post(Some(key), body.to_string()).await;
    if status != StatusCode::OK {
        return Err(format!("{status} {response}"));
    }
    Ok(response["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(text).collect())
        .collect())
}

fn sorted(mut rows: Rows) -> Rows {
    rows.sort();
    rows
}

#[tokio::test]
async fn protect_differential_postgres_rls() {
    let mut rng = Rng(0xD1FF_5EED);
    let schema = PgSchema::new(&setup(&mut rng)).await;
    let role = unique("sluice_rls");
    schema
        .client
        .batch_execute(&format!(
            "CREATE ROLE {role} NOLOGIN;
             GRANT USAGE ON SCHEMA {0} TO {role};
             GRANT SELECT ON {0}.customers, {0}.orders, {0}.products TO {role};",
            schema.name
        ))
        .await
        .unwrap();

    let dir = crate::harness::TempDir::new();
    let toml = format!(
        "{}\n[datasources.app]\n{}\n{}{}",
        crate::harness::base_toml(),
        schema.datasource(""),
        policy_toml(60_000),
        plugin_toml(
            "tenants",
            "tenant-isolation",
            "config = { attribute = \"tenant_id\", tables = { customers = \"tenant_id\", orders = \"tenant_id\" } }",
        ),
    );
    let sluice = Sluice::start(&toml, dir.path()).await;
    // The same datasource without the plugin: what the comparison must be able to tell apart.
    let unfiltered = Sluice::start(
        &format!("{}\n[datasources.app]\n{}\n", crate::harness::base_toml(), schema.datasource("")),
        dir.path(),
    )
    .await;

    // The ground truth is really filtered: each tenant owns 6 of the 18 customers.
    for tenant in ["1", "2"] {
        let count = ground_truth(&schema, &role, tenant, "SELECT count(*) FROM customers").await.unwrap();
        assert_eq!(count, vec![vec![Some("6".to_string())]], "tenant {tenant}");
    }

    let queries = queries();
    let mut failures = Vec::new();
    let mut non_empty = 0;
    let mut compared = 0;
    let mut discriminating = 0;
    for (tenant, key) in [("1", KEY), ("2", KEY_TENANT_2)] {
        for query in &queries {
            let truth = match ground_truth(&schema, &role, tenant, &query.sql).await {
                Ok(rows) => rows,
                Err(e) => {
                    failures.push(format!("[tenant {tenant}] ground truth failed: {}\n    {e}", query.sql));
                    continue;
                }
            };
            let mut got = match sluice_rows(&sluice, key, query).await {
                Ok(rows) => rows,
                Err(e) => {
                    failures.push(format!("[tenant {tenant}] REFUSED: {}\n    {e}", query.sql));
                    continue;
                }
            };
            let mut want = truth;
            if !query.ordered {
                got.sort();
                want.sort();
            }
            if tenant == "1"
                && sluice_rows(&unfiltered, key, query).await.map(sorted) != Ok(sorted(want.clone()))
            {
                discriminating += 1;
            }
            compared += 1;
            if !want.is_empty() {
                non_empty += 1;
            }
            if got != want {
                failures.push(format!(
                    "[tenant {tenant}] DIFFERENT ROWS: {}\n    sluice {got:?}\n    rls    {want:?}",
                    query.sql
                ));
            }
        }
    }
    // Roles are cluster-wide: drop it before asserting anything.
    schema.client.batch_execute(&format!("DROP OWNED BY {role}; DROP ROLE {role}")).await.unwrap();

    eprintln!(
        "differential: {} queries x 2 tenants, {compared} compared, {non_empty} non-empty, \
         {discriminating} differ without the rewrite",
        queries.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n\n{}",
        failures.len(),
        2 * queries.len(),
        failures.join("\n\n")
    );
    assert_eq!(compared, 2 * queries.len());
    assert!(
        discriminating >= queries.len() / 2,
        "only {discriminating} queries tell filtered from unfiltered rows: the generator is too weak"
    );
    assert!(
        non_empty >= queries.len() / 2,
        "only {non_empty} non-empty results: the generator is too narrow"
    );
}

/// The generator is deterministic and yields enough distinct queries over every template.
#[test]
fn protect_differential_generator_is_deterministic() {
    let a: Vec<String> = queries().into_iter().map(|q| q.sql).collect();
    let b: Vec<String> = queries().into_iter().map(|q| q.sql).collect();
    assert_eq!(a, b);
    assert!(a.len() >= 200);
    let distinct: BTreeSet<&String> = a.iter().collect();
    assert_eq!(distinct.len(), a.len());
}
