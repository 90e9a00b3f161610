//! Policy plugins end to end: real components from `plugins/dist/` (built by `plugins/build`)
//! judging statements on SQLite datasources `app` and `other`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::Value;
use sluice_core::analyse::{self, Dialect};
use sluice_core::auth::Principal;
use sluice_core::policy::{ChainOutcome, PolicyInput, RequestMeta};

use crate::harness::{Sluice, TempDir, assert_error, plugin, plugin_toml, policy_toml};

async fn start(plugins: &str) -> Sluice {
    Sluice::with_plugins(&format!("{}{plugins}", policy_toml(0))).await
}

/// Asserts a `403 policy_denied` whose message contains every one of `parts`.
fn assert_denied(status: StatusCode, body: &Value, parts: &[&str]) {
    assert_error(status, body, "policy_denied");
    let message = body["error"]["message"].as_str().unwrap();
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

/// Runs the gateway's chain directly on `sql` (datasource `app`), to see annotations.
async fn evaluate(sluice: &Sluice, sql: &str) -> ChainOutcome {
    let analysis = analyse::analyse(Dialect::Sqlite, sql).unwrap();
    let principal = Principal {
        id: "tester".into(),
        roles: vec!["analyst".into(), "dev".into()],
        attributes: BTreeMap::from([("tenant_id".to_string(), "1".to_string())]),
    };
    let request = RequestMeta {
        client_address: Some("127.0.0.1:1234".into()),
        justification: Some("ticket 42".into()),
        received_at_ms: 1_700_000_000_000,
        trace_id: "0123456789abcdef0123456789abcdef".into(),
    };
    let input = PolicyInput {
        principal: &principal,
        datasource: "app",
        dialect: Dialect::Sqlite,
        facts: &analysis.facts,
        text: &analysis.sql,
        request: &request,
        grants: &[],
    };
    sluice.gateway.policy.as_ref().unwrap().evaluate(&input).await
}

#[tokio::test]
async fn allow_deny_and_approval() {
    let sluice = start(&plugin_toml("allow", "test-allow", "")).await;
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let sluice = start(&plugin_toml("test-deny", "test-deny", "")).await;
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_denied(status, &body, &["`test-deny`", "denied by test"]);

    let sluice = start(&plugin_toml("test-approval", "test-approval", "")).await;
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_error(status, &body, "approval_required");
    assert_eq!(status, StatusCode::ACCEPTED);
    let approval = &body["approval"];
    assert_eq!(approval["reasons"], serde_json::json!(["needs a human"]));
    assert_eq!(approval["approver_groups"], serde_json::json!(["dba"]));
    assert_eq!(approval["suggested_duration_seconds"], 3600);
    assert_eq!(approval["plugins"], serde_json::json!(["test-approval"]));
}

#[tokio::test]
async fn a_plugin_judges_only_its_datasources() {
    let sluice = start(&plugin_toml("deny-other", "test-deny", "datasources = [\"other\"]")).await;
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = sluice.query_on("other", "SELECT id FROM t").await;
    assert_denied(status, &body, &["`deny-other`"]);
}

#[tokio::test]
async fn decisions_combine_across_the_chain() {
    let allow = plugin_toml("a", "test-allow", "");
    let approve = plugin_toml("b", "test-approval", "");
    let deny = plugin_toml("c", "test-deny", "");
    let sluice = start(&format!("{allow}{approve}{deny}")).await;
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_denied(status, &body, &["`c`"]);

    let sluice = start(&format!("{allow}{approve}")).await;
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let again = plugin_toml("b2", "test-approval", "");
    let sluice = start(&format!("{approve}{again}")).await;
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["approval"]["plugins"], serde_json::json!(["b", "b2"]));
    assert_eq!(body["approval"]["reasons"].as_array().unwrap().len(), 2);
    assert_eq!(body["approval"]["approver_groups"], serde_json::json!(["dba"]));
}

#[tokio::test]
async fn a_row_filter_that_cannot_apply_fails_closed() {
    // `t` has no `tenant_id` column: the filter cannot be applied, so the statement is refused.
    let sluice = start(&plugin_toml("tenancy", "test-filter-mask", "")).await;
    let (status, body) = sluice.query_on("app", "SELECT id, v FROM t").await;
    assert_denied(status, &body, &["`tenancy`", "tenant_id", "not a column"]);
    let outcome = evaluate(&sluice, "SELECT id, v FROM t").await;
    assert_eq!(outcome.row_filters.len(), 1);
}

/// A failing plugin denies naming itself and its failure kind, and Sluice keeps serving.
async fn assert_fault(file: &str, extra: &str, kind: &str) -> Duration {
    let sluice = start(&format!(
        "{}{}",
        plugin_toml(file, file, &format!("datasources = [\"app\"]\n{extra}")),
        plugin_toml("healthy", "test-allow", "datasources = [\"other\"]")
    ))
    .await;
    let started = Instant::now();
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    let elapsed = started.elapsed();
    assert_denied(status, &body, &[&format!("`{file}`"), &format!("({kind})")]);
    let (status, body) = sluice.query_on("other", "SELECT id FROM t").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_denied(status, &body, &[&format!("`{file}`")]);
    elapsed
}

#[tokio::test]
async fn an_endless_plugin_is_stopped_at_its_deadline() {
    let elapsed = assert_fault("test-loop", "timeout_ms = 50", "timeout").await;
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
}

#[tokio::test]
async fn a_plugin_that_allocates_without_bound_hits_its_memory_limit() {
    assert_fault("test-oom", "memory_limit_mb = 16\ntimeout_ms = 5000", "out_of_memory").await;
}

#[tokio::test]
async fn a_trapping_plugin_denies() {
    assert_fault("test-trap", "", "trap").await;
}

#[tokio::test]
async fn a_malformed_verdict_denies() {
    for defect in ["all", "row_filter", "predicate", "mask", "annotation", "empty_deny"] {
        let sluice =
            start(&plugin_toml("test-garbage", "test-garbage", &format!("config = {defect:?}"))).await;
        let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
        assert_denied(status, &body, &["`test-garbage`", "(malformed_verdict)"]);
    }
    assert_fault("test-garbage", "", "malformed_verdict").await;
}

#[tokio::test]
async fn a_plugin_for_another_contract_version_is_unavailable_and_reported() {
    assert_fault("test-old-contract", "", "unavailable").await;
    let sluice = start(&plugin_toml("old", "test-old-contract", "")).await;
    let problems = sluice.gateway.policy.as_ref().unwrap().problems();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].1.contains("built for contract sluice:policy@0.0.9; this Sluice supports 0.1.x"),
        "{problems:?}"
    );
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_denied(status, &body, &["`old`", "sluice:policy@0.0.9"]);
}

#[tokio::test]
async fn a_fail_open_plugin_is_advisory() {
    let sluice = start(&plugin_toml("advisory", "test-trap", "fail_open = true")).await;
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outcome = evaluate(&sluice, "SELECT id FROM t").await;
    assert_eq!(outcome.annotations["advisory.failure"], "trap");
}

#[tokio::test]
async fn fresh_instances_share_no_state_and_warm_ones_are_recycled() {
    let sluice = start(&plugin_toml("counter", "test-counter", "")).await;
    for _ in 0..4 {
        let outcome = evaluate(&sluice, "SELECT 1").await;
        assert_eq!(outcome.annotations["counter.count"], "1");
        assert_eq!(outcome.annotations["counter.inits"], "1");
    }
    let sluice = start(&plugin_toml("counter", "test-counter", "mode = \"warm\"\nmax_reuse = 3")).await;
    let mut counts = Vec::new();
    for _ in 0..7 {
        let outcome = evaluate(&sluice, "SELECT 1").await;
        counts.push(outcome.annotations["counter.count"].clone());
        assert_eq!(outcome.annotations["counter.inits"], "1");
    }
    assert_eq!(counts, ["1", "2", "3", "1", "2", "3", "1"]);
}

#[tokio::test]
async fn plugins_see_the_analysers_facts_and_nothing_of_the_host() {
    let sluice = start(&plugin_toml("echo", "test-echo", "")).await;
    let sql = "UPDATE t SET v = 'x' WHERE 1 = 1";
    let outcome = evaluate(&sluice, sql).await;
    let analysis = analyse::analyse(Dialect::Sqlite, sql).unwrap();
    let a = |key: &str| {
        outcome.annotations.get(&format!("echo.{key}")).cloned().unwrap_or_else(|| panic!("{key}"))
    };
    assert_eq!(a("principal.id"), "tester");
    assert_eq!(a("principal.roles"), "analyst,dev");
    assert_eq!(a("principal.attr.tenant_id"), "1");
    assert_eq!(a("datasource.name"), "app");
    assert_eq!(a("datasource.dialect"), "sqlite");
    assert_eq!(a("statement.kind"), "update");
    assert!(a("statement.relations").contains("w:t"), "{}", a("statement.relations"));
    assert_eq!(a("statement.unrestricted_writes"), "t");
    assert_eq!(a("statement.fingerprint"), analysis.facts.fingerprint);
    assert_eq!(a("statement.text"), analysis.sql);
    assert_eq!(a("request.justification"), "ticket 42");
    assert_eq!(a("request.client_address"), "127.0.0.1:1234");
    assert_eq!(a("request.trace_id"), "0123456789abcdef0123456789abcdef");
    assert_eq!(a("env"), "", "the WASI environment is empty");
    assert_eq!(a("args"), "", "no arguments");
    assert!(a("fs").starts_with("error"), "no filesystem: {}", a("fs"));

    let outcome = evaluate(&sluice, "SELECT id FROM t LIMIT 5").await;
    assert_eq!(outcome.annotations["echo.statement.limit"], "5");
    assert_eq!(outcome.annotations["echo.statement.unrestricted_writes"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_swaps_plugins_under_load_and_keeps_the_old_one_on_a_broken_file() {
    let dir = TempDir::new();
    let live = dir.path().join("live.wasm");
    std::fs::copy(plugin("test-allow"), &live).unwrap();
    let toml = format!(
        "{}\n[[plugins]]\nname = \"live\"\npath = {:?}\n",
        policy_toml(20),
        live.display().to_string()
    );
    let sluice = std::sync::Arc::new(Sluice::with_plugins(&toml).await);
    let (status, _) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_eq!(status, StatusCode::OK);

    let load = {
        let sluice = std::sync::Arc::clone(&sluice);
        tokio::spawn(async move {
            let mut statuses = BTreeMap::<String, usize>::new();
            for _ in 0..4 {
                let requests = (0..50).map(|_| {
                    let sluice = std::sync::Arc::clone(&sluice);
                    tokio::spawn(async move { sluice.query_on("app", "SELECT id FROM t").await })
                });
                for r in futures_join(requests.collect()).await {
                    let (status, body) = r;
                    let key = match status {
                        StatusCode::OK => "200".to_string(),
                        StatusCode::FORBIDDEN if body["error"]["code"] == "policy_denied" => {
                            "403".to_string()
                        }
                        other => format!("{other} {body}"),
                    };
                    *statuses.entry(key).or_default() += 1;
                }
            }
            statuses
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let staged = dir.path().join("staged.wasm");
    std::fs::copy(plugin("test-deny"), &staged).unwrap();
    std::fs::rename(&staged, &live).unwrap();
    let statuses = load.await.unwrap();
    assert!(statuses.keys().all(|k| k == "200" || k == "403"), "{statuses:?}");
    assert_eq!(statuses.values().sum::<usize>(), 200);

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
        if status == StatusCode::FORBIDDEN {
            assert_denied(status, &body, &["`live`", "denied by test"]);
            break;
        }
        assert!(Instant::now() < deadline, "the new plugin never took over");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    std::fs::write(&staged, b"\0asm broken").unwrap();
    std::fs::rename(&staged, &live).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = sluice.query_on("app", "SELECT id FROM t").await;
    assert_denied(status, &body, &["`live`", "denied by test"]);
    assert!(sluice.gateway.policy.as_ref().unwrap().problems().is_empty());
}

async fn futures_join<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[test]
fn plugin_configuration_mistakes_are_all_reported() {
    let dir = TempDir::new();
    let allow = plugin("test-allow").display().to_string();
    let text = format!(
        "{}\n[datasources.app]\n{}\n[policy]\nmax_concurrent_evaluations = 0\n\
         [[plugins]]\nname = \"a\"\npath = {allow:?}\ndatasources = [\"nope\"]\nmode = \"lukewarm\"\n\
         [[plugins]]\nname = \"a\"\npath = \"missing.wasm\"\ntimeout_ms = 0\n\
         [[plugins]]\nname = \"b c\"\npath = {allow:?}\nmax_reuse = 5\n",
        crate::harness::base_toml(),
        crate::harness::SQLITE
    );
    let error =
        sluice_core::config::parse(&text, &dir.path().join("s.toml"), |_| None).err().expect("invalid");
    let report = error.to_string();
    for expected in [
        "policy.max_concurrent_evaluations",
        "plugins[0].datasources: unknown datasource \"nope\"",
        "plugins[0].mode",
        "plugins[1].name",
        "plugins[1].path",
        "plugins[1].timeout_ms",
        "plugins[2].name",
        "plugins[2].mode",
    ] {
        assert!(report.contains(expected), "{expected:?} not in {report}");
    }
}

/// Served over a real socket, the caller's address reaches the plugins.
#[tokio::test]
async fn plugins_see_the_callers_address_over_a_socket() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let recorder = crate::harness::SpanRecorder::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let sluice = start(&plugin_toml("echo", "test-echo", "")).await;
    tracing::callsite::rebuild_interest_cache();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sluice::server::serve(sluice.gateway.clone(), listener, async {
        let _ = stopped.await;
    }));
    let response = reqwest::Client::new()
        .post(format!("http://{address}/v1/query"))
        .bearer_auth(crate::harness::KEY)
        .json(&serde_json::json!({"datasource": "app", "sql": "SELECT id FROM t LIMIT 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let spans = recorder.spans();
    let policy = spans.iter().find(|(name, ..)| name == "policy").map(|(.., fields)| fields.clone());
    let policy = policy.unwrap_or_else(|| panic!("no policy span in {spans:?}"));
    assert!(policy.contains(r#""echo.request.client_address": "127.0.0.1""#), "{policy}");
}
