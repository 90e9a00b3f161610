//! The telemetry contract: one request span per request with its trace id, and a child span per
//! stage. A stage that stops reporting fails here.

use serde_json::json;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::harness::{KEY, PgSchema, SQLITE, Sluice, SpanRecorder, TempDir, base_toml};

#[tokio::test]
async fn every_stage_has_a_span_under_the_request() {
    let spans = SpanRecorder::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let sluice = Sluice::with_datasource(SQLITE).await;
    let body = sluice.ok("SELECT 1 AS one", json!([])).await;
    let trace_id = body["trace_id"].as_str().unwrap().to_string();
    assert_eq!(trace_id.len(), 32);

    let recorded = spans.spans();
    let request = recorded.iter().find(|(name, ..)| name == "request").expect("request span");
    assert!(request.2.contains(&trace_id), "request span carries the trace id: {}", request.2);
    for stage in ["auth", "analyse", "rewrite", "execute", "encode"] {
        let span = recorded.iter().find(|(name, ..)| name == stage);
        let (_, parent, _) = span.unwrap_or_else(|| panic!("no {stage} span in {recorded:?}"));
        assert_eq!(parent.as_deref(), Some("request"), "{stage} is a child of the request span");
    }
    let everything = format!("{recorded:?}");
    assert!(!everything.contains(KEY), "tokens never reach telemetry");
    assert!(!everything.contains("SELECT 1"), "SQL text never reaches telemetry");
}

#[tokio::test]
async fn refused_requests_carry_the_trace_id_of_their_span() {
    let spans = SpanRecorder::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let sluice = Sluice::with_datasource(SQLITE).await;
    let (_, body) = sluice.post(None, json!({"datasource": "app", "sql": "SELECT 1"}).to_string()).await;
    let trace_id = body["error"]["trace_id"].as_str().unwrap();
    let recorded = spans.spans();
    assert!(recorded.iter().any(|(name, _, fields)| name == "request" && fields.contains(trace_id)));
}

/// A valid `traceparent` makes the request continue the caller's trace, whether or not spans
/// are exported; a malformed one is ignored.
#[tokio::test]
async fn a_traceparent_continues_the_callers_trace() {
    // A subscriber, as in every test of this file: a stage span first reached on a thread with
    // none can be cached as disabled while another test's subscriber is being registered.
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(SpanRecorder::default()));
    let sluice = Sluice::with_datasource(SQLITE).await;
    let request = |traceparent: &str| {
        axum::http::Request::post("/v1/query")
            .header("authorization", format!("Bearer {KEY}"))
            .header("traceparent", traceparent)
            .body(axum::body::Body::from(json!({"datasource": "app", "sql": "SELECT 1 AS one"}).to_string()))
            .unwrap()
    };
    let caller = "0af7651916cd43dd8448eb211c80319c";
    let (status, body) = sluice.send(request(&format!("00-{caller}-b7ad6b7169203331-01"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["trace_id"], caller);
    let (_, body) = sluice.send(request(&format!("00-{}-b7ad6b7169203331-01", caller.to_uppercase()))).await;
    let fresh = body["trace_id"].as_str().unwrap();
    assert_eq!(fresh.len(), 32);
    assert_ne!(fresh, caller, "an upper-case (invalid) header starts a new trace");
}

/// With `sql_comment`, the statement PostgreSQL runs ends with the request's trace context in
/// the sqlcommenter format; without it (the default), the text is the statement alone.
#[tokio::test]
async fn statements_carry_the_trace_context_to_the_database_when_asked() {
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(SpanRecorder::default()));
    let schema = PgSchema::new("").await;
    let dir = TempDir::new();
    let toml = format!(
        "{}\n[datasources.app]\n{}\n[telemetry]\nsql_comment = true\n",
        base_toml(),
        schema.datasource("")
    );
    let sluice = Sluice::start(&toml, dir.path()).await;
    let body = sluice.ok("SELECT current_query() AS q", json!([])).await;
    let text = body["rows"][0][0].as_str().unwrap();
    let trace = body["trace_id"].as_str().unwrap();
    let comment = text.strip_prefix("SELECT current_query() AS q /*traceparent='00-").expect(text);
    let (ids, end) = comment.split_at(32 + 1 + 16 + 1 + 2);
    assert_eq!(end, "'*/", "{text}");
    assert!(ids.starts_with(&format!("{trace}-")), "the comment carries the response's trace id: {text}");

    let plain = Sluice::with_datasource(&schema.datasource("")).await;
    let body = plain.ok("SELECT current_query() AS q", json!([])).await;
    assert_eq!(body["rows"][0][0], "SELECT current_query() AS q");
}
