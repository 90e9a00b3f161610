//! CPU that Sluice itself spends on one protected point query: authentication (an API key),
//! analysis, the three first-party plugins (`guardrails`, `tenant-isolation`, `pii-mask` with
//! two masked columns), the rewrite and the JSON encoding. The database is replaced by a
//! connector that answers one fixed row at once, so nothing else is timed.
//!
//! - `cache-hit/warm`, `cache-hit/fresh`: the same statement again (its analysis and rewrite
//!   come from the plan cache), plugins in `mode = "warm"` and in the default fresh mode.
//! - `cache-off/warm`: `plan_cache_bytes = 0`, everything worked out again.
//! - `cache-hit/warm/audit`: as `cache-hit/warm`, with the audit log on (a file in the temp
//!   directory): two hash-chained records per statement, each written before the request goes on.
//!
//! Components come from `plugins/build`.

// A benchmark whose setup fails should stop loudly, not be measured.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use sluice_core::analyse::{Dialect, RelationName};
use sluice_core::execute::{
    Catalog, CatalogColumn, Column, Connector, ExecError, ExecRequest, NameFolding, RelationInfo,
    RelationKind, ResultSet, Value,
};
use sluice_core::gateway::{Gateway, QueryRequest, RequestContext};
use tokio::runtime::Runtime;

const KEY: &str = "sk_hot_path_benchmark_key_0123456789";
const SQL: &str = "SELECT id, name, email, ssn FROM customers WHERE id = $1";

/// A PostgreSQL-dialect datasource whose every statement returns one fixed row.
struct Canned;

#[async_trait::async_trait]
impl Connector for Canned {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&self, request: ExecRequest<'_>) -> Result<ResultSet, ExecError> {
        let column = |name: &str, type_name: &str| Column { name: name.into(), type_name: type_name.into() };
        std::hint::black_box(request.sql);
        Ok(ResultSet {
            columns: vec![
                column("id", "int8"),
                column("name", "text"),
                column("email", "text"),
                column("ssn", "text"),
            ],
            rows: vec![vec![
                Value::Int8(4207),
                Value::Text("Customer 4207".into()),
                Value::Text("c***@example.com".into()),
                Value::Text("***-**-4207".into()),
            ]],
            truncated: false,
            command: "SELECT".into(),
            rows_affected: None,
        })
    }

    async fn ping(&self) -> Result<(), ExecError> {
        Ok(())
    }

    async fn catalog(&self) -> Result<Catalog, ExecError> {
        let columns = ["id:int8", "tenant_id:text", "name:text", "email:text", "ssn:text"]
            .iter()
            .map(|c| {
                let (name, type_name) = c.split_once(':').unwrap();
                CatalogColumn { name: name.into(), type_name: type_name.into(), nullable: true }
            })
            .collect();
        let name = RelationName { schema: Some("public".into()), name: "customers".into() };
        Ok(Catalog {
            relations: BTreeMap::from([(name, RelationInfo { kind: RelationKind::Table, columns })]),
            search_path: vec!["public".into()],
            folding: NameFolding::Exact,
        })
    }
}

fn dist(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins/dist").join(format!("{name}.wasm"));
    assert!(path.exists(), "run plugins/build first: {} is missing", path.display());
    path.display().to_string()
}

/// The gateway: plugins in `mode`, the plan cache `cache_bytes` large, an audit log when `audit`.
fn gateway(mode: &str, cache_bytes: usize, audit: bool) -> Gateway {
    let cache = std::env::temp_dir().join("sluice-bench-cache");
    let plugin = |name: &str, config: &str| {
        let mode = if mode == "warm" { "mode = \"warm\"\n" } else { "" };
        format!("\n[[plugins]]\nname = \"{name}\"\npath = {:?}\n{mode}config = {config}\n", dist(name))
    };
    let toml = format!(
        "[server]\nplan_cache_bytes = {cache_bytes}\n\n[[auth.api_keys]]\nid = \"bench\"\nhash = \"{}\"\n\
         attributes = {{ tenant_id = \"7\" }}\n\n\
         [datasources.app]\nkind = \"postgres\"\nurl = \"postgres://unused@127.0.0.1:1/unused\"\n\n\
         [policy]\ncache_dir = {:?}\n{}{}{}",
        sluice_core::auth::hash_api_key(KEY),
        cache.display().to_string(),
        plugin("guardrails", "{ deny_ddl = true, deny_catalogs = true }"),
        plugin("tenant-isolation", "{ attribute = \"tenant_id\", tables = { customers = \"tenant_id\" } }"),
        plugin(
            "pii-mask",
            "{ columns = { \"customers.email\" = \"email\", \"customers.ssn\" = \"partial(0,4)\" } }"
        ),
    );
    let dir = std::env::temp_dir().join(format!("sluice-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench directory");
    let toml = match audit {
        true => format!("{toml}\n[audit]\npath = \"audit-{mode}-{cache_bytes}.jsonl\"\n"),
        false => toml,
    };
    let config =
        sluice_core::config::parse(&toml, &dir.join("sluice.toml"), |_| None).expect("configuration");
    let connectors: BTreeMap<String, Arc<dyn Connector>> =
        BTreeMap::from([("app".to_owned(), Arc::new(Canned) as _)]);
    let gateway = Gateway::new(config, connectors).expect("gateway");
    assert!(gateway.policy.as_ref().expect("plugins").problems().is_empty());
    gateway
}

/// One request as the HTTP layer runs it, minus the socket: authenticate, query, serialise.
fn request(rt: &Runtime, gateway: &Gateway) -> Vec<u8> {
    let header = format!("Bearer {KEY}");
    let principal = gateway.auth.authenticate(Some(&header)).expect("authenticated");
    let request = QueryRequest {
        datasource: "app".into(),
        sql: SQL.into(),
        params: vec![json!(4207)],
        justification: None,
    };
    let response =
        rt.block_on(gateway.query(&principal, request, &RequestContext::default())).expect("query");
    serde_json::to_vec(&response).expect("encoded")
}

fn hot_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut group = c.benchmark_group("hot_path");
    for (name, mode, cache_bytes, audit) in [
        ("cache-hit/warm", "warm", 16 << 20, false),
        ("cache-hit/fresh", "fresh", 16 << 20, false),
        ("cache-off/warm", "warm", 0, false),
        ("cache-hit/warm/audit", "warm", 16 << 20, true),
    ] {
        // The audit log's checkpoint timer runs on the runtime.
        let _entered = rt.enter();
        let gateway = gateway(mode, cache_bytes, audit);
        let body = String::from_utf8(request(&rt, &gateway)).expect("utf-8");
        assert!(body.contains("\"masked\":true"), "the masks were not applied: {body}");
        group.bench_function(name, |b| b.iter(|| request(&rt, &gateway)));
    }
    group.finish();
    let _ =
        std::fs::remove_dir_all(std::env::temp_dir().join(format!("sluice-bench-{}", std::process::id())));
}

/// What counting a request in the metrics costs, on its own: the record of a protected,
/// judged point query, observed once (label look-ups and atomic adds).
fn metrics(c: &mut Criterion) {
    let metrics = sluice_core::audit::Metrics::new().expect("metrics");
    let mut record = sluice_core::audit::RequestRecord::start();
    record.datasource = Some("app".into());
    record.db_system = Some("postgresql");
    let analysis = sluice_core::analyse::analyse(
        sluice_core::analyse::Dialect::Postgres,
        "SELECT id, email FROM customers WHERE id = $1",
    )
    .expect("the statement analyses");
    record.analysis = Some(std::sync::Arc::new(analysis));
    record.verdict = Some("allow");
    record.verdicts =
        ["guardrails", "tenant-isolation", "pii-mask"].into_iter().map(|p| (p.to_owned(), "allow")).collect();
    record.executed_in = Some(std::time::Duration::from_micros(300));
    record.rows = Some(1);
    c.bench_function("metrics/observe", |b| {
        b.iter(|| {
            metrics.observe(&record);
            metrics.observe_http("/v1/query", 200, 0.0004);
        })
    });
}

criterion_group!(benches, hot_path, metrics);
criterion_main!(benches);
