//! Policy plugin cost on the request path: one evaluation in fresh-instance mode (instantiate,
//! `init`, `evaluate`, drop the store) and on a warm instance, for Rust, C, Python and
//! JavaScript components, and a chain of three. Components come from `plugins/build`.
//!
//! Each iteration includes a `block_on` of the evaluation future on a current-thread runtime
//! (well under a microsecond) and the conversion of the facts into the contract's types.

// A benchmark whose setup fails should stop loudly, not be measured.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sluice_core::analyse::{Dialect, analyse};
use sluice_core::auth::Principal;
use sluice_core::config::{InstanceMode, PluginSettings, PolicySettings};
use sluice_core::policy::{PolicyInput, PolicyRuntime, RequestMeta};

fn dist(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins/dist").join(format!("{name}.wasm"))
}

fn plugin(name: &str, mode: InstanceMode, config_json: &str) -> PluginSettings {
    PluginSettings {
        name: name.to_string(),
        path: dist(name),
        datasources: None,
        config_json: config_json.to_string(),
        timeout: Duration::from_secs(10),
        memory_limit_bytes: 64 << 20,
        mode,
        fail_open: false,
    }
}

fn runtime(plugins: Vec<PluginSettings>) -> PolicyRuntime {
    let settings = PolicySettings {
        cache_dir: Some(std::env::temp_dir().join("sluice-bench-cache")),
        reload_interval: None,
        max_concurrent_evaluations: 64,
        plugins,
    };
    let runtime = PolicyRuntime::new(&settings).expect("policy engine");
    let problems = runtime.problems();
    assert!(problems.is_empty(), "run plugins/build first: {problems:?}");
    runtime
}

const WARM: InstanceMode = InstanceMode::Warm { max_reuse: u32::MAX, instances: 1 };
const HOURS: &str = r#"{"open_hour": 0, "close_hour": 24}"#;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let principal = Principal {
        id: "bench".into(),
        roles: vec!["analyst".into()],
        attributes: [("tenant_id".to_string(), "1".to_string())].into(),
    };
    let analysis = analyse(Dialect::Postgres, "SELECT id, email FROM customers WHERE id = $1 LIMIT 10")
        .expect("analyse");
    let request =
        RequestMeta { received_at_ms: 1_700_000_000_000, trace_id: "0".repeat(32), ..RequestMeta::default() };
    let input = PolicyInput {
        principal: &principal,
        datasource: "app",
        dialect: Dialect::Postgres,
        facts: &analysis.facts,
        text: &analysis.sql,
        request: &request,
        grants: &[],
    };

    let mut group = c.benchmark_group("plugin");
    let singles = [
        ("rust", "test-allow", "null"),
        ("rust-guardrails", "guardrails", "{}"),
        ("c", "business-hours-c", HOURS),
        ("python", "business-hours-python", HOURS),
        ("js", "business-hours-js", HOURS),
    ];
    for (label, name, config) in singles {
        // Python and JavaScript components take milliseconds per fresh instance; sample less.
        let heavy = matches!(label, "python" | "js");
        group.sample_size(if heavy { 10 } else { 100 });
        let fresh = runtime(vec![plugin(name, InstanceMode::Fresh, config)]);
        group.bench_function(BenchmarkId::new("fresh", label), |b| {
            b.iter(|| rt.block_on(fresh.evaluate(&input)))
        });
        let warm = runtime(vec![plugin(name, WARM, config)]);
        group.bench_function(BenchmarkId::new("warm", label), |b| {
            b.iter(|| rt.block_on(warm.evaluate(&input)))
        });
    }
    group.sample_size(100);
    let chain = runtime(vec![
        plugin("test-allow", InstanceMode::Fresh, "null"),
        plugin("guardrails", InstanceMode::Fresh, "{}"),
        plugin("business-hours-c", InstanceMode::Fresh, HOURS),
    ]);
    group.bench_function("chain-of-three/fresh", |b| b.iter(|| rt.block_on(chain.evaluate(&input))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
