//! The rewrite stage end to end: row filters and masks from the first-party plugins applied to
//! reads and writes on each database, the response's column metadata, parameter binding order,
//! and the refusals that keep protected data from leaking.

use serde_json::{Value, json};

use crate::harness::{
    KEY, KEY_TENANT_2, MyDatabase, PgSchema, SQLITE, Sluice, TempDir, base_toml, plugin_toml, policy_toml,
};

/// The protected schema, in SQL every database here accepts.
const SCHEMA: &[&str] = &[
    "CREATE TABLE customers (id INT PRIMARY KEY, tenant_id VARCHAR(10) NOT NULL, name VARCHAR(50), \
     email VARCHAR(100), ssn VARCHAR(20))",
    "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(100))",
    "INSERT INTO customers VALUES (1, '1', 'Ann', 'ann.secret@example.com', '111-22-3333'), \
     (2, '1', 'Bob', 'bob.secret@example.com', NULL), \
     (3, '2', 'Zed-of-tenant-2', 'zed.secret@example.org', '999-88-7777')",
    "INSERT INTO notes VALUES (1, 'hello')",
];

/// tenant-isolation on `customers`, pii-mask on its email and ssn.
fn plugins() -> String {
    format!(
        "{}{}{}",
        policy_toml(60_000),
        plugin_toml(
            "tenancy",
            "tenant-isolation",
            "config = { attribute = \"tenant_id\", tables = { customers = \"tenant_id\" } }"
        ),
        plugin_toml(
            "pii",
            "pii-mask",
            "config = { columns = { \"customers.email\" = \"email\", \"customers.ssn\" = \"partial(0,4)\" } }"
        ),
    )
}

async fn sqlite() -> (Sluice, TempDir) {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), SCHEMA.join(";\n") + ";\n").unwrap();
    let toml = format!("{}\n[datasources.app]\n{SQLITE}\n{}", base_toml(), plugins());
    (Sluice::start(&toml, dir.path()).await, dir)
}

async fn postgres() -> (Sluice, PgSchema) {
    let schema = PgSchema::new(&(SCHEMA.join(";\n") + ";")).await;
    let toml = format!("{}\n[datasources.app]\n{}\n{}", base_toml(), schema.datasource(""), plugins());
    (Sluice::start(&toml, std::path::Path::new(".")).await, schema)
}

async fn mysql() -> (Sluice, MyDatabase) {
    let db = MyDatabase::new(&SCHEMA.join(";")).await;
    let toml = format!("{}\n[datasources.app]\n{}\n{}", base_toml(), db.datasource(""), plugins());
    (Sluice::start(&toml, std::path::Path::new(".")).await, db)
}

async fn as_tenant(sluice: &Sluice, key: &str, sql: &str, params: Value) -> (u16, Value) {
    let body = json!({"datasource": "app", "sql": sql, "params": params});
    let (status, body) = sluice.post(Some(key), body.to_string()).await;
    (status.as_u16(), body)
}

/// No secret value and no other tenant's row anywhere in a response.
fn assert_no_leak(body: &Value) {
    let text = body.to_string();
    for marker in ["secret@", "Zed", "999-88", "111-22", "tenant-2"] {
        assert!(!text.contains(marker), "{marker} leaked: {text}");
    }
}

async fn reads_are_filtered_and_masked(sluice: &Sluice) {
    let (status, body) = as_tenant(sluice, KEY, "SELECT * FROM customers ORDER BY id", json!([])).await;
    assert_eq!(status, 200, "{body}");
    assert_no_leak(&body);
    assert_eq!(body["row_count"], 2, "{body}");
    assert_eq!(body["rows"][0][3], "a***@example.com", "{body}");
    assert_eq!(body["rows"][0][4], "*******3333", "{body}");
    assert_eq!(body["rows"][1][4], Value::Null, "NULL stays NULL: {body}");
    let masked: Vec<(Value, Value)> = body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["masked"].clone(), c["mask"].clone()))
        .collect();
    assert_eq!(masked[3], (json!(true), json!("email")), "{body}");
    assert_eq!(masked[4], (json!(true), json!("partial")), "{body}");
    assert_eq!(masked[1], (json!(false), Value::Null), "{body}");

    // Tenant 2 sees its own row only.
    let (_, body) = as_tenant(sluice, KEY_TENANT_2, "SELECT name FROM customers", json!([])).await;
    assert_eq!(body["rows"], json!([["Zed-of-tenant-2"]]), "{body}");

    // Masked values flow into WHERE: the clear value matches nothing.
    let (status, body) =
        as_tenant(sluice, KEY, "SELECT id FROM customers WHERE email LIKE 'ann.secret%'", json!([])).await;
    assert_eq!((status, body["row_count"].clone()), (200, json!(0)), "{body}");

    // A CTE named like the table reads the filtered table; aliases and subqueries are covered.
    for sql in [
        "WITH customers AS (SELECT * FROM customers) SELECT name, email FROM customers",
        "SELECT c.name, c.email FROM notes n, customers c",
        "SELECT name, (SELECT max(email) FROM customers) AS e FROM customers",
        "SELECT name FROM customers WHERE id IN (SELECT id FROM customers WHERE tenant_id = '2') OR 1 = 1",
        "SELECT name, email FROM customers UNION SELECT name, email FROM customers",
    ] {
        let (status, body) = as_tenant(sluice, KEY, sql, json!([])).await;
        assert_eq!(status, 200, "{sql}: {body}");
        assert_no_leak(&body);
        assert!(body["row_count"].as_u64().unwrap() >= 1, "{sql}: {body}");
    }
}

async fn parameters_keep_their_order(sluice: &Sluice, placeholder: &dyn Fn(usize) -> String) {
    // The caller's parameters surround the injected tenant value in text order.
    let sql = format!(
        "SELECT name FROM customers WHERE id >= {} AND name <> {} ORDER BY id LIMIT {}",
        placeholder(1),
        placeholder(2),
        placeholder(3)
    );
    let (status, body) = as_tenant(sluice, KEY, &sql, json!([1, "Ann", 5])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], json!([["Bob"]]), "{body}");
}

async fn writes_stay_in_the_tenant(sluice: &Sluice, placeholder: &dyn Fn(usize) -> String) {
    // Another tenant's row cannot be changed or deleted: the filter is in WHERE.
    let (status, body) =
        as_tenant(sluice, KEY, "UPDATE customers SET name = 'x' WHERE id = 3", json!([])).await;
    assert_eq!((status, body["rows_affected"].clone()), (200, json!(0)), "{body}");
    let (status, body) = as_tenant(sluice, KEY, "DELETE FROM customers WHERE id = 3", json!([])).await;
    assert_eq!((status, body["rows_affected"].clone()), (200, json!(0)), "{body}");
    // New rows must belong to the caller's tenant, as literals or parameters.
    let insert = format!(
        "INSERT INTO customers (id, tenant_id, name) VALUES ({}, {}, 'New')",
        placeholder(1),
        placeholder(2)
    );
    let (status, body) = as_tenant(sluice, KEY, &insert, json!([10, "1"])).await;
    assert_eq!(status, 200, "{body}");
    for (sql, params) in [
        (insert.as_str(), json!([11, "2"])),
        ("INSERT INTO customers (id, tenant_id) VALUES (12, '2')", json!([])),
        ("INSERT INTO customers (id, tenant_id) VALUES (13, NULL)", json!([])),
        ("INSERT INTO customers (id, name) VALUES (14, 'no tenant')", json!([])),
        ("UPDATE customers SET tenant_id = '2' WHERE id = 1", json!([])),
        ("UPDATE customers SET name = ssn WHERE id = 1", json!([])),
        ("DELETE FROM customers WHERE ssn LIKE '111%'", json!([])),
        ("INSERT INTO notes (id, body) SELECT id, email FROM customers", json!([])),
    ] {
        let (status, body) = as_tenant(sluice, KEY, sql, params).await;
        assert_eq!(status, 403, "{sql}: {body}");
        assert_eq!(body["error"]["code"], "statement_not_allowed", "{sql}: {body}");
    }
    let (_, body) = as_tenant(sluice, KEY_TENANT_2, "SELECT count(*) FROM customers", json!([])).await;
    assert_eq!(body["rows"][0][0].to_string().trim_matches('"'), "1", "tenant 2 untouched: {body}");
}

async fn leak_channels_are_refused(sluice: &Sluice) {
    for sql in [
        "SELECT id FROM customers WHERE 1 / (id - 3) = 1",
        "SELECT CAST(ssn AS INT) FROM customers",
        "SELECT nosuchfunction(email) FROM customers",
    ] {
        let (status, body) = as_tenant(sluice, KEY, sql, json!([])).await;
        assert_eq!(status, 403, "{sql}: {body}");
        assert_no_leak(&body);
    }
    let (status, body) = as_tenant(sluice, KEY, "SELECT * FROM no_such_table", json!([])).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!("invalid_request")), "{body}");
}

#[tokio::test]
async fn sqlite_reads_writes_and_refusals() {
    let (sluice, _dir) = sqlite().await;
    reads_are_filtered_and_masked(&sluice).await;
    parameters_keep_their_order(&sluice, &|_| "?".to_owned()).await;
    parameters_keep_their_order(&sluice, &|n| format!("?{n}")).await;
    leak_channels_are_refused(&sluice).await;
    writes_stay_in_the_tenant(&sluice, &|_| "?".to_owned()).await;
}

#[tokio::test]
async fn postgres_reads_writes_and_refusals() {
    let (sluice, _schema) = postgres().await;
    reads_are_filtered_and_masked(&sluice).await;
    parameters_keep_their_order(&sluice, &|n| format!("${n}")).await;
    leak_channels_are_refused(&sluice).await;
    writes_stay_in_the_tenant(&sluice, &|n| format!("${n}")).await;
}

#[tokio::test]
async fn mysql_reads_writes_and_refusals() {
    let (sluice, _db) = mysql().await;
    reads_are_filtered_and_masked(&sluice).await;
    parameters_keep_their_order(&sluice, &|_| "?".to_owned()).await;
    leak_channels_are_refused(&sluice).await;
    writes_stay_in_the_tenant(&sluice, &|_| "?".to_owned()).await;
    modifiers_keep_the_tenant_filter(&sluice).await;
}

/// MySQL's `UPDATE IGNORE` / `DELETE IGNORE` go through the same write rewrite: the other
/// tenant's row is out of reach, and `IGNORE` still reaches the database (a key collision
/// skips the row instead of failing; `rows_affected` counts it as matched).
async fn modifiers_keep_the_tenant_filter(sluice: &Sluice) {
    for (sql, affected) in [
        ("UPDATE LOW_PRIORITY IGNORE customers SET name = 'Mallory' WHERE id IN (1, 3)", 1),
        ("DELETE IGNORE FROM customers WHERE id = 3", 0),
        ("UPDATE IGNORE customers SET id = 2 WHERE id = 1", 1),
    ] {
        let (status, body) = as_tenant(sluice, KEY, sql, json!([])).await;
        assert_eq!((status, body["rows_affected"].clone()), (200, json!(affected)), "{sql}: {body}");
    }
    let (_, body) =
        as_tenant(sluice, KEY, "SELECT id, name FROM customers WHERE id < 3 ORDER BY id", json!([])).await;
    assert_eq!(body["rows"], json!([[1, "Mallory"], [2, "Bob"]]), "{body}");
    let (_, body) = as_tenant(sluice, KEY_TENANT_2, "SELECT name FROM customers", json!([])).await;
    assert_eq!(body["rows"], json!([["Zed-of-tenant-2"]]), "{body}");
}

/// `keyed-hash` needs the datasource's secret: with it, equal values hash equally and nothing
/// clear is shown; without it, the statement is refused naming the plugin.
#[tokio::test]
async fn keyed_hash_uses_the_datasource_secret_and_refuses_without_one() {
    let schema = PgSchema::new(&(SCHEMA.join(";\n") + ";")).await;
    let hash =
        plugin_toml("pii", "pii-mask", "config = { columns = { \"customers.tenant_id\" = \"keyed-hash\" } }");
    let secret = "a-mask-secret-of-some-length";
    let start = |extra: &str| {
        let toml = format!(
            "{}\n[datasources.app]\n{}\n{}{hash}",
            base_toml(),
            schema.datasource(extra),
            policy_toml(60_000)
        );
        async move { Sluice::start(&toml, std::path::Path::new(".")).await }
    };
    let sluice = start(&format!("mask_secret = \"{secret}\"")).await;
    let (status, body) =
        as_tenant(&sluice, KEY, "SELECT tenant_id FROM customers ORDER BY id", json!([])).await;
    assert_eq!(status, 200, "{body}");
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{body}");
    assert_eq!(rows[0], rows[1], "equal values hash equally: {body}");
    assert_ne!(rows[0], rows[2], "{body}");
    assert!(!body.to_string().contains(secret), "{body}");
    assert_ne!(rows[0][0], "1", "{body}");
    assert_eq!(body["columns"][0]["mask"], "keyed-hash", "{body}");

    let sluice = start("").await;
    let (status, body) = as_tenant(&sluice, KEY, "SELECT tenant_id FROM customers", json!([])).await;
    assert_eq!((status, body["error"]["code"].clone()), (403, json!("policy_denied")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("`pii`"), "{body}");
}

/// Masked columns are not writable by default; `writable_masked_columns` lets a caller write
/// one, which it still reads masked.
#[tokio::test]
async fn masked_columns_are_writable_only_where_the_operator_allows() {
    let schema = PgSchema::new(&(SCHEMA.join(";\n") + ";")).await;
    let start = |extra: &str| {
        let toml = format!("{}\n[datasources.app]\n{}\n{}", base_toml(), schema.datasource(extra), plugins());
        async move { Sluice::start(&toml, std::path::Path::new(".")).await }
    };
    let insert = "INSERT INTO customers (id, tenant_id, name, email) VALUES (10, '1', 'New', 'new.secret@example.com')";
    let sluice = start("").await;
    let (status, body) = as_tenant(&sluice, KEY, insert, json!([])).await;
    assert_eq!((status, body["error"]["code"].clone()), (403, json!("statement_not_allowed")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("writable_masked_columns"), "{body}");
    let (status, body) =
        as_tenant(&sluice, KEY, "UPDATE customers SET email = 'x@example.com' WHERE id = 1", json!([])).await;
    assert_eq!(status, 403, "{body}");

    let sluice = start("writable_masked_columns = [\"customers.email\"]").await;
    let (status, body) = as_tenant(&sluice, KEY, insert, json!([])).await;
    assert_eq!((status, body["rows_affected"].clone()), (200, json!(1)), "{body}");
    let (status, body) =
        as_tenant(&sluice, KEY, "SELECT email FROM customers WHERE id = 10", json!([])).await;
    assert_eq!((status, body["rows"].clone()), (200, json!([["n***@example.com"]])), "{body}");
    // Writable, still unreadable: not as a SET source, and not through RETURNING.
    for sql in [
        "UPDATE customers SET name = email WHERE id = 10",
        "UPDATE customers SET email = 'y@example.com' WHERE id = 10 RETURNING email",
        "UPDATE customers SET ssn = '1' WHERE id = 10",
    ] {
        let (status, body) = as_tenant(&sluice, KEY, sql, json!([])).await;
        assert_eq!(status, 403, "{sql}: {body}");
    }
}

/// The rewritten text and parameters of `sql` as the caller `KEY` (tenant 1), as the gateway
/// builds them.
async fn rewritten(sluice: &Sluice, sql: &str, params: &[Value]) -> (String, Vec<Value>) {
    use sluice_core::auth::Principal;
    use sluice_core::policy::{PolicyInput, RequestMeta};
    let ds = &sluice.gateway.datasources["app"];
    let dialect = ds.connector.dialect();
    let analysis = sluice_core::analyse::analyse(dialect, sql).unwrap();
    let principal = Principal {
        id: "tester".into(),
        roles: vec!["analyst".into()],
        attributes: [("tenant_id".to_owned(), "1".to_owned())].into(),
    };
    let meta = RequestMeta::default();
    let input = PolicyInput {
        principal: &principal,
        datasource: "app",
        dialect,
        facts: &analysis.facts,
        text: &analysis.sql,
        request: &meta,
        grants: &[],
    };
    let outcome = sluice.gateway.policy.as_ref().unwrap().evaluate(&input).await;
    let catalog = ds.catalog.get(ds.connector.as_ref()).await.unwrap();
    let protection =
        sluice_core::rewrite::plan(dialect, &outcome, &catalog, &ds.settings.writable_masked_columns)
            .unwrap();
    let out = sluice_core::rewrite::rewrite(sluice_core::rewrite::RewriteInput {
        dialect,
        analysis: &analysis,
        catalog: &catalog,
        protection: &protection,
        principal: &principal,
        params,
        secret: None,
    })
    .unwrap();
    (out.sql, out.params)
}

/// A protected point lookup reads one row through the primary key, not the whole tenant:
/// the caller's `id = $1` is copied inside the fence. Shown by PostgreSQL's own plan.
#[tokio::test]
async fn a_protected_point_lookup_uses_the_primary_key_on_postgres() {
    let schema = PgSchema::new(
        "CREATE TABLE customers (id INT PRIMARY KEY, tenant_id VARCHAR(10) NOT NULL, name VARCHAR(50), \
         email VARCHAR(100), ssn VARCHAR(20));
         CREATE INDEX ON customers (tenant_id);
         INSERT INTO customers SELECT i, (i % 5)::text, 'n' || i, 'e' || i || '@x.example', NULL
           FROM generate_series(1, 20000) AS i;
         ANALYZE customers",
    )
    .await;
    let toml = format!("{}\n[datasources.app]\n{}\n{}", base_toml(), schema.datasource(""), plugins());
    let sluice = Sluice::start(&toml, std::path::Path::new(".")).await;
    let sql = "SELECT id, name, email FROM customers WHERE id = $1";
    let (text, params) = rewritten(&sluice, sql, &[json!(4206)]).await;
    assert_eq!(params, vec![json!(4206), json!("1")], "{text}");

    let plan: Value = schema
        .client
        .query_one(&format!("EXPLAIN (FORMAT JSON) {text}"), &[&4206_i32, &"1"])
        .await
        .unwrap()
        .get(0);
    let plan = plan.to_string();
    assert!(plan.contains("customers_pkey"), "the lookup does not use the primary key: {plan}");
    assert!(!plan.contains("customers_tenant_id_idx"), "the lookup reads the tenant: {plan}");
    // And the answer is the caller's row, masked.
    let (status, body) = as_tenant(&sluice, KEY, sql, json!([4206])).await;
    assert_eq!((status, body["rows"].clone()), (200, json!([[4206, "n4206", "e***@x.example"]])), "{body}");
    let (_, body) = as_tenant(&sluice, KEY, sql, json!([4207])).await;
    assert_eq!(body["row_count"], json!(0), "another tenant's row: {body}");
}

/// The same on MariaDB and SQLite, where the caller's `?` is copied inside the fence as an
/// injected parameter carrying its value.
#[tokio::test]
async fn a_protected_point_lookup_uses_the_primary_key_on_mariadb_and_sqlite() {
    use mysql_async::prelude::Queryable as _;
    let sql = "SELECT id, name, email FROM customers WHERE id = ?";
    let rows: Vec<String> =
        (1..=3000).map(|i| format!("({i}, '{}', 'n{i}', 'e{i}@x.example', NULL)", i % 5)).collect();
    let setup = [
        SCHEMA[0].to_owned(),
        "CREATE INDEX customers_tenant ON customers (tenant_id)".to_owned(),
        format!("INSERT INTO customers VALUES {}", rows.join(", ")),
    ];

    let mut db = MyDatabase::new(&setup.join(";")).await;
    db.conn.query_drop("ANALYZE TABLE customers").await.unwrap();
    let toml = format!("{}\n[datasources.app]\n{}\n{}", base_toml(), db.datasource(""), plugins());
    let sluice = Sluice::start(&toml, std::path::Path::new(".")).await;
    let (text, params) = rewritten(&sluice, sql, &[json!(2106)]).await;
    let params: Vec<mysql_async::Value> = params
        .iter()
        .map(|p| match p {
            Value::Number(n) => mysql_async::Value::Int(n.as_i64().unwrap()),
            other => mysql_async::Value::from(other.as_str().unwrap()),
        })
        .collect();
    let plan: Vec<mysql_async::Row> = db.conn.exec(format!("EXPLAIN {text}"), params).await.unwrap();
    let keys: Vec<Option<String>> = plan
        .iter()
        .map(|row| row.get_opt::<Option<String>, _>("key").and_then(Result::ok).flatten())
        .collect();
    assert!(keys.iter().any(|k| k.as_deref() == Some("PRIMARY")), "MariaDB plan keys {keys:?} for {text}");
    let (status, body) = as_tenant(&sluice, KEY, sql, json!([2106])).await;
    assert_eq!((status, body["rows"].clone()), (200, json!([[2106, "n2106", "e***@x.example"]])), "{body}");

    let dir = TempDir::new();
    std::fs::write(dir.path().join("init.sql"), setup.join(";\n") + ";\n").unwrap();
    let toml = format!("{}\n[datasources.app]\n{SQLITE}\n{}", base_toml(), plugins());
    let sluice = Sluice::start(&toml, dir.path()).await;
    let (text, params) = rewritten(&sluice, sql, &[json!(2106)]).await;
    let file = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
    let params: Vec<Box<dyn rusqlite::ToSql>> = params
        .iter()
        .map(|p| match p {
            Value::Number(n) => Box::new(n.as_i64().unwrap()) as Box<dyn rusqlite::ToSql>,
            other => Box::new(other.as_str().unwrap().to_owned()),
        })
        .collect();
    let mut explain = file.prepare(&format!("EXPLAIN QUERY PLAN {text}")).unwrap();
    let details: Vec<String> = explain
        .query_map(rusqlite::params_from_iter(params.iter()), |row| row.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let plan = details.join(" | ");
    assert!(
        plan.contains("PRIMARY KEY") || plan.contains("sqlite_autoindex"),
        "SQLite plan {plan} for {text}"
    );
    let (status, body) = as_tenant(&sluice, KEY, sql, json!([2106])).await;
    assert_eq!((status, body["rows"].clone()), (200, json!([["2106", "n2106", "e***@x.example"]])), "{body}");
}

/// MariaDB counts the rows a write matched, not those whose value changed: otherwise writing a
/// masked column would tell whether the value written equals the clear one stored.
#[tokio::test]
async fn rows_affected_does_not_compare_a_written_value_with_the_stored_one() {
    let db = MyDatabase::new(&SCHEMA.join(";")).await;
    let extra = "writable_masked_columns = [\"customers.email\"]";
    let toml = format!("{}\n[datasources.app]\n{}\n{}", base_toml(), db.datasource(extra), plugins());
    let sluice = Sluice::start(&toml, std::path::Path::new(".")).await;
    for guess in ["ann.secret@example.com", "wrong.guess@example.com"] {
        let sql = format!("UPDATE customers SET email = '{guess}' WHERE id = 1");
        let (status, body) = as_tenant(&sluice, KEY, &sql, json!([])).await;
        assert_eq!((status, body["rows_affected"].clone()), (200, json!(1)), "{sql}: {body}");
    }
}
