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
        "{}{}",
        policy_toml(0),
        plugin_toml("approval", "test-approval", "datasources = [\"other\"]")
    ))
    .await;
    let before = scrape(&sluice).await;
    let ok = r#"sluice_queries_total{datasource="app",outcome="ok"}"#;
    let held = r#"sluice_queries_total{datasource="other",outcome="approval_required"}"#;
    let judged = r#"sluice_plugin_evaluations_total{plugin="approval"}"#;
    let http = r#"sluice_http_requests_total{route="/v1/query",status="200"}"#;
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
