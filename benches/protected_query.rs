//! End-to-end latency of one point query through `Gateway::query` (analyse, policy, rewrite,
//! execute, encode; authentication excluded), protected and unprotected:
//!
//! - `unprotected`: no plugins; the caller's text runs as sent.
//! - `protected`: the compiled `tenant-isolation` (row filter on `tenant_id`) and `pii-mask`
//!   (`email` mask) plugins, fresh instances, as configured in `tests/all/rewrite.rs`.
//! - `rewritten-sql`: the protected statement's final text and parameters sent through the
//!   unprotected gateway: the database's share of the difference, without policy or rewrite.
//! - `rewritten-sql-unfenced`: the same without the derived table's optimisation fence
//!   (`OFFSET 0`, `LIMIT -1 OFFSET 0`), which Sluice never runs: what the fence costs.
//! - `policy`: the two-plugin chain alone, for the same statement.
//!
//! On an embedded SQLite file and, when reachable, on PostgreSQL (`SLUICE_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/sluice_test`; a private schema, dropped at the end).
//! Both hold 10,000 customers across 10 tenants, `id` primary key, an index on `tenant_id`.
//! Components come from `plugins/build`.

// A benchmark whose setup fails should stop loudly, not be measured.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sluice_core::auth::Principal;
use sluice_core::gateway::{Gateway, QueryRequest, RequestContext};
use sluice_core::policy::{PolicyInput, RequestMeta};
use sluice_core::rewrite::{RewriteInput, plan, rewrite};
use tokio::runtime::Runtime;

/// The caller's statement: one row by primary key, of the caller's own tenant.
const POINT: (&str, &str) = ("SELECT id, name, email FROM customers WHERE id = ?", "$1");
/// Tenant `id % 10`: the principal below is tenant 7.
const ID: i64 = 4207;
const ROWS: u32 = 10_000;
/// Requests timed one by one for the percentiles printed before the criterion runs.
const SINGLE_REQUESTS: usize = 2_000;

fn dist(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins/dist").join(format!("{name}.wasm"));
    assert!(path.exists(), "run plugins/build first: {} is missing", path.display());
    path.display().to_string()
}

fn base_toml() -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[[auth.api_keys]]\nid = \"bench\"\nhash = \"{}\"\n",
        sluice_core::auth::hash_api_key("sk_bench_key_not_used_by_the_benchmark")
    )
}

/// tenant-isolation on `customers`, pii-mask on its email.
fn plugins_toml() -> String {
    let cache = std::env::temp_dir().join("sluice-bench-cache");
    format!(
        "\n[policy]\ncache_dir = {:?}\n\n[[plugins]]\nname = \"tenancy\"\npath = {:?}\n\
         config = {{ attribute = \"tenant_id\", tables = {{ customers = \"tenant_id\" }} }}\n\n\
         [[plugins]]\nname = \"pii\"\npath = {:?}\nconfig = {{ columns = {{ \"customers.email\" = \"email\" }} }}\n",
        cache.display().to_string(),
        dist("tenant-isolation"),
        dist("pii-mask"),
    )
}

async fn start(datasource: &str, extra: &str, dir: &Path) -> Arc<Gateway> {
    let toml = format!("{}\n[datasources.app]\n{datasource}\n{extra}", base_toml());
    let config =
        sluice_core::config::parse(&toml, &dir.join("sluice.toml"), |_| None).expect("configuration");
    let gateway = sluice::build_gateway(config).await.expect("gateway");
    if let Some(policy) = &gateway.policy {
        assert!(policy.problems().is_empty(), "{:?}", policy.problems());
    }
    gateway
}

fn principal() -> Principal {
    Principal {
        id: "bench".into(),
        roles: vec!["analyst".into()],
        attributes: [("tenant_id".to_string(), "7".to_string())].into(),
    }
}

fn request(sql: &str, params: &[Value]) -> QueryRequest {
    QueryRequest { datasource: "app".into(), sql: sql.into(), params: params.to_vec(), justification: None }
}

/// The protected gateway's final text and parameters for `sql`: the chain's outcome applied
/// to the datasource's catalog, as `Gateway::query` does.
async fn rewritten(
    gateway: &Gateway,
    principal: &Principal,
    sql: &str,
    params: &[Value],
) -> (String, Vec<Value>) {
    let ds = &gateway.datasources["app"];
    let dialect = ds.connector.dialect();
    let analysis = sluice_core::analyse::analyse(dialect, sql).expect("analyse");
    let meta = RequestMeta::default();
    let input = PolicyInput {
        principal,
        datasource: "app",
        dialect,
        facts: &analysis.facts,
        text: &analysis.sql,
        request: &meta,
        grants: &[],
    };
    let outcome = gateway.policy.as_ref().expect("plugins").evaluate(&input).await;
    let catalog = ds.catalog.get(ds.connector.as_ref()).await.expect("catalog");
    let protection = plan(dialect, &outcome, &catalog, &ds.settings.writable_masked_columns).expect("plan");
    let out = rewrite(RewriteInput {
        dialect,
        analysis: &analysis,
        catalog: &catalog,
        protection: &protection,
        principal,
        params,
        secret: None,
    })
    .expect("rewrite");
    (out.sql, out.params)
}

/// Benchmarks the four variants against an unprotected and a protected gateway on one database.
fn variants(c: &mut Criterion, rt: &Runtime, db: &str, plain: &Gateway, protected: &Gateway, sql: &str) {
    let principal = principal();
    let caller = RequestContext::default();
    let params = [json!(ID)];
    let run = |gateway: &Gateway, sql: &str, params: &[Value]| {
        rt.block_on(gateway.query(&principal, request(sql, params), &caller)).expect("query")
    };

    // Check the setup before measuring: one row either way, masked only when protected.
    let open = run(plain, sql, &params);
    let masked = run(protected, sql, &params);
    assert_eq!((open.row_count, masked.row_count), (1, 1), "{open:?} / {masked:?}");
    assert_eq!(open.rows[0][2], json!(format!("user{ID}@example.com")));
    assert_ne!(masked.rows[0][2], open.rows[0][2], "the email is not masked");
    let (final_sql, final_params) = rt.block_on(rewritten(protected, &principal, sql, &params));
    eprintln!("{db}: the protected statement runs as\n  {final_sql}\n  with {final_params:?}");
    assert_eq!(run(plain, &final_sql, &final_params).rows, masked.rows);

    // Criterion reports per-sample means; per-request percentiles, alternating the two.
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..SINGLE_REQUESTS {
        for (gateway, times) in [plain, protected].into_iter().zip(&mut times) {
            let start = Instant::now();
            run(gateway, sql, &params);
            times.push(start.elapsed());
        }
    }
    for (label, mut times) in ["unprotected", "protected"].into_iter().zip(times) {
        times.sort();
        let at = |q: usize| times[times.len() * q / 100].as_secs_f64() * 1e6;
        eprintln!(
            "{db}/{label}: {SINGLE_REQUESTS} single requests: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs",
            at(50),
            at(90),
            at(99)
        );
    }

    let mut group = c.benchmark_group(format!("protected_query/{db}"));
    group.bench_function("unprotected", |b| b.iter(|| run(plain, sql, &params)));
    group.bench_function("protected", |b| b.iter(|| run(protected, sql, &params)));
    group.bench_function("rewritten-sql", |b| b.iter(|| run(plain, &final_sql, &final_params)));
    // What the fence costs: the same text without it (not something Sluice would run).
    let fence = if db == "sqlite" { " LIMIT -1 OFFSET 0) AS " } else { " OFFSET 0) AS " };
    let unfenced = final_sql.replacen(fence, ") AS ", 1);
    assert_ne!(unfenced, final_sql, "no fence found");
    assert_eq!(run(plain, &unfenced, &final_params).rows, masked.rows);
    group.bench_function("rewritten-sql-unfenced", |b| b.iter(|| run(plain, &unfenced, &final_params)));
    let policy = protected.policy.as_ref().expect("plugins");
    let dialect = protected.datasources["app"].connector.dialect();
    let analysis = sluice_core::analyse::analyse(dialect, sql).expect("analyse");
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
    group.bench_function("policy", |b| b.iter(|| rt.block_on(policy.evaluate(&input))));
    group.finish();
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("sluice-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sqlite(c: &mut Criterion, rt: &Runtime) {
    let dir = TempDir::new();
    let setup = format!(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT, email TEXT, ssn TEXT);\n\
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS})\n\
         INSERT INTO customers SELECT i, CAST(i % 10 AS TEXT), 'name' || i, 'user' || i || '@example.com', \
         printf('000-00-%04d', i) FROM n;\n\
         CREATE INDEX customers_tenant ON customers (tenant_id);\nANALYZE;\n"
    );
    std::fs::write(dir.0.join("init.sql"), setup).unwrap();
    // Each gateway gets its own file: bootstrap runs only when the file is new.
    let datasource =
        |file: &str| format!("kind = \"sqlite\"\npath = \"{file}\"\nbootstrap = [\"init.sql\"]\n");
    let plain = rt.block_on(start(&datasource("plain.db"), "", &dir.0));
    let protected = rt.block_on(start(&datasource("protected.db"), &plugins_toml(), &dir.0));
    variants(c, rt, "sqlite", &plain, &protected, POINT.0);
}

fn pg_url() -> String {
    std::env::var("SLUICE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/sluice_test".into())
}

async fn pg_connect() -> Result<tokio_postgres::Client, String> {
    let url = pg_url();
    let connect = tokio_postgres::connect(&url, tokio_postgres::NoTls);
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(Ok((client, conn))) => {
            tokio::spawn(conn);
            Ok(client)
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out connecting".into()),
    }
}

fn postgres(c: &mut Criterion, rt: &Runtime) {
    let client = match rt.block_on(pg_connect()) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("protected_query/postgres skipped: PostgreSQL at {} is unreachable ({e})", pg_url());
            return;
        }
    };
    let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let setup = format!(
        "CREATE SCHEMA {schema}; SET search_path = {schema};
         CREATE TABLE customers (id int4 PRIMARY KEY, tenant_id text NOT NULL, name text, email text, ssn text);
         INSERT INTO customers SELECT i, (i % 10)::text, 'name' || i, 'user' || i || '@example.com',
           '000-00-' || lpad(i::text, 4, '0') FROM generate_series(1, {ROWS}) AS i;
         CREATE INDEX customers_tenant ON customers (tenant_id);
         ANALYZE customers;"
    );
    rt.block_on(client.batch_execute(&setup)).expect("schema setup");
    let datasource =
        format!("kind = \"postgres\"\nurl = \"{}?options=-csearch_path%3D{schema}\"\n", pg_url());
    let here = Path::new(".");
    let plain = rt.block_on(start(&datasource, "", here));
    let protected = rt.block_on(start(&datasource, &plugins_toml(), here));
    let sql = POINT.0.replace('?', POINT.1);
    // Dropped even if a variant panics.
    let _schema = Dropper { rt, client: &client, schema: &schema };
    variants(c, rt, "postgres", &plain, &protected, &sql);
}

/// Drops the benchmark's PostgreSQL schema.
struct Dropper<'a> {
    rt: &'a Runtime,
    client: &'a tokio_postgres::Client,
    schema: &'a str,
}

impl Drop for Dropper<'_> {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        if let Err(e) = self.rt.block_on(self.client.batch_execute(&sql)) {
            eprintln!("could not drop schema {}: {e}", self.schema);
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    sqlite(c, &rt);
    postgres(c, &rt);
}

criterion_group!(benches, bench);
criterion_main!(benches);
