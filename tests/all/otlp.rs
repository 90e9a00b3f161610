//! OTLP export end to end: a real `sluice serve` process, configured with `[telemetry]`, sends
//! its spans to a real OTLP/HTTP receiver here, which decodes them with the OpenTelemetry
//! protocol's own types. Once per encoding (`http/protobuf`, `http/json`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use serde_json::{Value, json};

use crate::harness::{Process, TempDir};
use crate::quickstart::{QUICKSTART_KEY, copy_quickstart};

/// The caller's trace the first request continues (the W3C specification's example).
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
/// A literal and a parameter value that must never reach telemetry.
const LITERAL: &str = "literal-never-exported";
const PARAM: &str = "param-never-exported";

/// What the receiver got: every export request, decoded, and the content types they came in.
#[derive(Clone, Default)]
struct Received(
    Arc<Mutex<(Vec<ExportTraceServiceRequest>, Vec<String>)>>,
    Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
);

async fn receive_metrics(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> &'static str {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let request = if content_type.starts_with("application/json") {
        serde_json::from_slice(&body).expect("OTLP/JSON metrics decode")
    } else {
        ExportMetricsServiceRequest::decode(body).expect("OTLP/protobuf metrics decode")
    };
    received.1.lock().unwrap().push(request);
    ""
}

async fn receive(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> &'static str {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let request = if content_type.starts_with("application/json") {
        serde_json::from_slice(&body).expect("OTLP/JSON decodes")
    } else {
        ExportTraceServiceRequest::decode(body).expect("OTLP/protobuf decodes")
    };
    let mut guard = received.0.lock().unwrap();
    guard.0.push(request);
    guard.1.push(content_type);
    ""
}

impl Received {
    async fn start() -> (Received, u16) {
        let received = Received::default();
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(receive))
            .route("/v1/metrics", axum::routing::post(receive_metrics))
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (received, port)
    }

    /// Every span received, with its resource's attributes.
    fn spans(&self) -> Vec<(Span, Vec<(String, String)>)> {
        let guard = self.0.lock().unwrap();
        let mut spans = Vec::new();
        for request in &guard.0 {
            for resource in &request.resource_spans {
                let attributes = resource.resource.as_ref().map(|r| pairs(&r.attributes)).unwrap_or_default();
                for scope in &resource.scope_spans {
                    spans.extend(scope.spans.iter().map(|s| (s.clone(), attributes.clone())));
                }
            }
        }
        spans
    }

    /// Waits until `count` spans of trace `trace` (hex) arrived.
    async fn wait_for(&self, trace: &str, count: usize) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let spans: Vec<Span> =
                self.spans().into_iter().map(|(s, _)| s).filter(|s| hex(&s.trace_id) == trace).collect();
            if spans.len() >= count {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "only {} span(s) of trace {trace} arrived: {spans:#?}",
                spans.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pairs(attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Vec<(String, String)> {
    attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Any::StringValue(s)) => s.clone(),
                Some(Any::IntValue(i)) => i.to_string(),
                Some(Any::BoolValue(b)) => b.to_string(),
                Some(Any::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

/// The `request` attribute of an access-request event.
fn held_trace_request(attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> String {
    pairs(attributes).into_iter().find(|(k, _)| k == "request").map(|(_, v)| v).unwrap_or_default()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    pairs(&span.attributes).into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn named<'s>(spans: &'s [Span], name: &str) -> &'s Span {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        panic!("no span named {name:?} in {names:?}")
    })
}

async fn post(url: &str, body: Value, traceparent: Option<&str>) -> (u16, Value) {
    let mut request =
        reqwest::Client::new().post(format!("{url}/v1/query")).bearer_auth(QUICKSTART_KEY).json(&body);
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent).header("tracestate", "vendor=opaque");
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn exports_spans_over(protocol: &str) {
    let (received, port) = Received::start().await;
    let dir = TempDir::new();
    copy_quickstart(dir.path());
    let toml = std::fs::read_to_string(dir.path().join("sluice.toml"))
        .unwrap()
        .replace("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:0\"")
        // A checkpoint every two records, so that one is exported during the test.
        .replace("[audit]\n", "[audit]\ncheckpoint_every = 2\n")
        + &format!(
            "\n[telemetry]\notlp_endpoint = \"http://127.0.0.1:{port}\"\notlp_protocol = \"{protocol}\"\n\
             service_name = \"sluice-under-test\"\notlp_metrics_interval_seconds = 1\n\
             resource_attributes = {{ \"deployment.environment.name\" = \"test\" }}\n"
        );
    let sluice = Process::serve(dir.path(), &toml).await;

    // A protected read, with a literal and a parameter, continuing the caller's trace.
    let read = json!({
        "datasource": "app",
        "sql": format!("SELECT id, email FROM customers WHERE name <> '{LITERAL}' AND name <> ? AND id = 1"),
        "params": [PARAM],
    });
    let (status, body) = post(&sluice.url, read, Some(&format!("00-{TRACE}-{CALLER_SPAN}-01"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["trace_id"], TRACE, "the response carries the caller's trace id");
    assert_eq!(body["rows"][0][1], "j***@acme.example", "{body}");

    // A refusal, in a trace of its own.
    let (status, denied) =
        post(&sluice.url, json!({"datasource": "app", "sql": "DELETE FROM customers"}), None).await;
    assert_eq!(status, 403, "{denied}");
    let denied_trace = denied["error"]["trace_id"].as_str().unwrap().to_owned();
    assert_ne!(denied_trace, TRACE);

    // A statement held for approval: filing its access request is an event of the policy span.
    let (status, held) =
        post(&sluice.url, json!({"datasource": "app", "sql": "DELETE FROM orders WHERE id = 1"}), None).await;
    assert_eq!(status, 202, "{held}");
    let held_trace = held["error"]["trace_id"].as_str().unwrap().to_owned();

    let spans = received.wait_for(TRACE, 7).await;
    let request = named(&spans, "POST /v1/query");
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(hex(&request.parent_span_id), CALLER_SPAN, "the request span's parent is the caller's span");
    assert_eq!(request.trace_state, "vendor=opaque");
    assert_eq!(attribute(request, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(attribute(request, "http.route").as_deref(), Some("/v1/query"));
    assert_eq!(attribute(request, "http.response.status_code").as_deref(), Some("200"));
    for stage in ["auth", "analyse", "policy", "rewrite", "encode"] {
        let span = named(&spans, stage);
        assert_eq!(span.parent_span_id, request.span_id, "{stage} is a child of the request span");
        assert_eq!(span.kind, SpanKind::Internal as i32, "{stage}");
    }
    let execute = named(&spans, "SELECT customers");
    assert_eq!(execute.kind, SpanKind::Client as i32);
    assert_eq!(execute.parent_span_id, request.span_id);
    for (key, value) in [
        ("db.system.name", "sqlite"),
        ("db.namespace", "quickstart.db"),
        ("db.collection.name", "customers"),
        ("db.operation.name", "SELECT"),
        ("db.query.summary", "SELECT customers"),
        ("db.response.returned_rows", "1"),
    ] {
        assert_eq!(attribute(execute, key).as_deref(), Some(value), "{key}");
    }
    let text = attribute(execute, "db.query.text").expect("db.query.text");
    assert!(text.starts_with("SELECT") && text.contains("name <> ?"), "parameterised text: {text}");
    let policy = named(&spans, "policy");
    assert_eq!(attribute(policy, "sluice.verdict").as_deref(), Some("allow"));
    assert_eq!(
        attribute(policy, "sluice.verdicts").as_deref(),
        Some("guardrails=allow,tenant-isolation=allow,pii-mask=allow")
    );
    let rewrite = named(&spans, "rewrite");
    assert_eq!(attribute(rewrite, "sluice.filtered_relations").as_deref(), Some("customers"));
    let masked = attribute(rewrite, "sluice.masked_columns").unwrap_or_default();
    assert!(masked.contains("customers.email:email"), "{masked}");

    let refused = received.wait_for(&denied_trace, 4).await;
    let refused_request = named(&refused, "POST /v1/query");
    assert!(refused_request.parent_span_id.is_empty(), "a request without traceparent starts a trace");
    assert_eq!(attribute(refused_request, "http.response.status_code").as_deref(), Some("403"));
    assert_eq!(attribute(named(&refused, "policy"), "sluice.denied_by").as_deref(), Some("guardrails"));
    assert!(refused.iter().all(|s| s.kind != SpanKind::Client as i32), "a refused statement never ran");

    let held = received.wait_for(&held_trace, 4).await;
    let filed = named(&held, "policy").events.iter().find(|e| e.name == "access request pending");
    let filed = filed.unwrap_or_else(|| panic!("no access request event in {held:#?}"));
    let request_id = held_trace_request(&filed.attributes);
    assert!(!request_id.is_empty(), "the event names the request");

    // The audit log's checkpoints leave the machine with the traces, and verify the log there.
    let deadline = Instant::now() + Duration::from_secs(30);
    let exported = loop {
        let found = received.spans().into_iter().map(|(s, _)| s).find(|s| s.name == "audit checkpoint");
        if let Some(span) = found {
            break span;
        }
        assert!(Instant::now() < deadline, "no audit checkpoint was exported");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let event = exported.events.first().expect("the checkpoint event");
    let fields: serde_json::Map<String, Value> =
        pairs(&event.attributes).into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    let seq: u64 = fields["seq"].as_str().unwrap().parse().unwrap();
    let copy = json!({"checkpoint": {
        "seq": seq, "hash": fields["hash"], "signature": fields["signature"], "key_id": fields["key_id"], "at": "",
    }});
    let checkpoint = sluice_core::audit::log::ExternalCheckpoint::parse(&copy.to_string());
    let checkpoint = checkpoint.unwrap_or_else(|e| panic!("{e}: {copy}"));
    let options =
        sluice_core::audit::log::VerifyOptions { public_keys: Vec::new(), checkpoint: Some(checkpoint) };
    let report = sluice_core::audit::log::verify_file(&dir.path().join("quickstart-audit.jsonl"), &options);
    assert_eq!(report.unwrap().external, Some(seq), "the exported checkpoint matches the log");

    // The metrics are pushed too, by their Prometheus names: the statements counted by outcome.
    let deadline = Instant::now() + Duration::from_secs(30);
    let ok_statements = loop {
        let pushed = received.1.lock().unwrap().clone();
        let counted = pushed
            .iter()
            .rev()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .find_map(|m| match &m.data {
                Some(Data::Sum(sum)) if m.name == "sluice_queries_total" => sum
                    .data_points
                    .iter()
                    .find(|p| pairs(&p.attributes).contains(&("outcome".into(), "ok".into())))
                    .map(|p| format!("{:?}", p.value)),
                _ => None,
            });
        if let Some(counted) = counted {
            break counted;
        }
        assert!(Instant::now() < deadline, "no sluice_queries_total was pushed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(ok_statements, "Some(AsDouble(1.0))", "one statement succeeded");

    let everything = format!("{:?}", received.spans());
    for secret in [LITERAL, PARAM, QUICKSTART_KEY] {
        assert!(!everything.contains(secret), "{secret} reached telemetry");
    }
    let (_, resource) = &received.spans()[0];
    assert!(resource.contains(&("service.name".into(), "sluice-under-test".into())), "{resource:?}");
    assert!(resource.contains(&("deployment.environment.name".into(), "test".into())), "{resource:?}");
    let content_types = received.0.lock().unwrap().1.clone();
    let expected = if protocol == "http/json" { "application/json" } else { "application/x-protobuf" };
    assert!(content_types.iter().all(|c| c == expected), "{content_types:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_receiver_over_http_protobuf() {
    exports_spans_over("http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_receiver_over_http_json() {
    exports_spans_over("http/json").await;
}

/// A collector where nothing listens: every request is served as usual, and the audit log,
/// which does not depend on export, holds every record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_costs_requests_nothing_and_loses_no_audit_record() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = TempDir::new();
    copy_quickstart(dir.path());
    let toml = std::fs::read_to_string(dir.path().join("sluice.toml"))
        .unwrap()
        .replace("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:0\"")
        + &format!(
            "\n[telemetry]\notlp_endpoint = \"http://127.0.0.1:{closed}\"\notlp_timeout_seconds = 1\n"
        );
    let sluice = Process::serve(dir.path(), &toml).await;
    for id in 1..=50 {
        let (status, body) = post(
            &sluice.url,
            json!({"datasource": "app", "sql": format!("SELECT id FROM customers WHERE id = {id}")}),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    drop(sluice);
    // The quickstart keeps its audit log next to its configuration.
    let log = dir.path().join("quickstart-audit.jsonl");
    let report = sluice_core::audit::log::verify_file(&log, &Default::default()).unwrap();
    assert_eq!(report.records, 100, "an allowed and a completed record for each of the 50 statements");
}
