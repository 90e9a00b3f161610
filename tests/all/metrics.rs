//! `GET /metrics`: valid Prometheus exposition (checked by `promtool`), counters that move
//! with requests, and labels that never carry a principal, a statement or a value.

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt as _;

use crate::harness::{Sluice, plugin_toml, policy_toml};

async fn scrape(sluice: &Sluice) -> String {
    let response =
        sluice.app.clone().oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The value of the sample named exactly `sample` (name and labels), or 0 when absent.
fn value(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(sample).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Runs `promtool check metrics` on `text`.
fn promtool(text: &str) -> (bool, String) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is not installed: tests/run installs Debian's prometheus package");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

#[tokio::test]
async fn metrics_are_valid_and_move_with_requests() {
    let sluice = Sluice::with_plugins(&format!(
        "{}{}{}",
        policy_toml(0),
        plugin_toml("approval", "test-approval", "datasources = [\"other\"]"),
        // Advisory, so it fails on every statement of `app` without refusing any.
        plugin_toml("trap", "test-trap", "datasources = [\"app\"]\nfail_open = true"),
    ))
    .await;
    let before = scrape(&sluice).await;
    let ok = r#"sluice_queries_total{datasource="app",outcome="ok"}"#;
    let held = r#"sluice_queries_total{datasource="other",outcome="approval_required"}"#;
    let judged = r#"sluice_plugin_evaluations_total{plugin="approval",verdict="require_approval"}"#;
    let analysed = r#"sluice_stage_duration_seconds_count{stage="analyse"}"#;
    let encoded = r#"sluice_stage_duration_seconds_count{stage="encode"}"#;
    let http = r#"sluice_http_requests_total{route="/v1/query",status="200"}"#;
    let trapped = r#"sluice_plugin_failures_total{kind="trap",plugin="trap"}"#;
    for _ in 0..3 {
        sluice.ok("SELECT 'secret-literal' AS v FROM t", serde_json::json!([])).await;
    }
    let (status, _) = sluice.query_on("other", "DELETE FROM t WHERE id = 1").await;
    assert_eq!(status, 202);
    let (status, _) = sluice.query("SELEC nonsense", serde_json::json!([])).await;
    assert_eq!(status, 400);

    let after = scrape(&sluice).await;
    assert_eq!(value(&after, ok) - value(&before, ok), 3.0, "{after}");
    assert_eq!(value(&after, held) - value(&before, held), 1.0, "{after}");
    assert_eq!(value(&after, judged) - value(&before, judged), 1.0, "{after}");
    assert_eq!(value(&after, http) - value(&before, http), 3.0, "{after}");
    assert_eq!(value(&after, trapped) - value(&before, trapped), 3.0, "{after}");
    // Every statement was analysed (the unparsable one too); only the three that ran were encoded.
    assert_eq!(value(&after, analysed) - value(&before, analysed), 5.0, "{after}");
    assert_eq!(value(&after, encoded) - value(&before, encoded), 3.0, "{after}");
    // Pool gauges, read at each scrape: the configured pool size, nothing lent out now.
    let max = r#"db_client_connections_max{db_client_connection_pool_name="app"}"#;
    let configured = sluice.gateway.datasources["app"].settings.pool_size as f64;
    assert_eq!(value(&after, max), configured, "{after}");
    let used =
        r#"db_client_connections{db_client_connection_pool_name="app",db_client_connection_state="used"}"#;
    assert_eq!(value(&after, used), 0.0, "{after}");
    let idle =
        r#"db_client_connections{db_client_connection_pool_name="app",db_client_connection_state="idle"}"#;
    assert!(value(&after, idle) >= 1.0, "a connection was kept for reuse: {after}");
    assert!(
        after.contains(r#"sluice_queries_total{datasource="app",outcome="sql_parse_error"} 1"#),
        "{after}"
    );
    assert!(
        after.contains(r#"sluice_policy_verdicts_total{datasource="other",verdict="require_approval"} 1"#),
        "{after}"
    );
    let db = r#"db_client_operation_duration_seconds_count{db_namespace="app",db_operation_name="SELECT",db_system_name="sqlite"}"#;
    assert_eq!(value(&after, db), 3.0, "{after}");
    assert!(after.contains("sluice_access_requests_pending 1"), "{after}");
    // Names and codes only: no principal, no statement text, no literal.
    for secret in ["tester", "secret-literal", "nonsense", "DELETE FROM"] {
        assert!(!after.contains(secret), "{secret} leaked into /metrics");
    }
    let (valid, report) = promtool(&after);
    assert!(valid, "promtool check metrics: {report}\n{after}");
}

/// The shipped Grafana dashboard queries only metrics Sluice serves: a renamed metric fails
/// here instead of leaving an empty panel.
#[tokio::test]
async fn the_dashboard_queries_only_served_metrics() {
    let sluice = Sluice::with_plugins("").await;
    let served = sluice.gateway.metrics.families();
    let path = crate::harness::repo().join("examples/observability/grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            // A metric's name is followed by its selector, its range or nothing; a label's
            // name by `=`, `!`, `,` or `)`.
            let mut rest = expr;
            while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
                let tail = &rest[start..];
                let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
                let (word, after) = tail.split_at(end);
                rest = after;
                let metric = after.is_empty() || after.starts_with('{') || after.starts_with('[');
                if !metric || !(word.starts_with("sluice_") || word.starts_with("db_client_")) {
                    continue;
                }
                let family =
                    ["_bucket", "_count", "_sum"].iter().fold(word, |w, s| w.strip_suffix(s).unwrap_or(w));
                assert!(served.contains(family), "{family} (panel {}) is not served", panel["title"]);
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "the dashboard's queries were read ({checked})");
}
