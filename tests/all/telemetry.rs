//! The telemetry contract: one request span per request with its trace id, and a child span per
//! stage. A stage that stops reporting fails here.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tracing::Subscriber;
use tracing::span::{Attributes, Id};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

use crate::harness::{KEY, SQLITE, Sluice};

/// A span as opened: its name, its parent's name, and its initial fields.
type Opened = (String, Option<String>, String);

/// Records every span opened.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Opened>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx.span(id).and_then(|s| s.parent()).map(|p| p.name().to_string());
        let mut fields = String::new();
        attrs.record(&mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
            fields.push_str(&format!("{}={:?} ", field.name(), value));
        });
        self.0.lock().unwrap().push((attrs.metadata().name().to_string(), parent, fields));
    }
}

#[tokio::test]
async fn every_stage_has_a_span_under_the_request() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let sluice = Sluice::with_datasource(SQLITE).await;
    let body = sluice.ok("SELECT 1 AS one", json!([])).await;
    let trace_id = body["trace_id"].as_str().unwrap().to_string();
    assert_eq!(trace_id.len(), 32);

    let recorded = spans.0.lock().unwrap().clone();
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
    let spans = Spans::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let sluice = Sluice::with_datasource(SQLITE).await;
    let (_, body) = sluice.post(None, json!({"datasource": "app", "sql": "SELECT 1"}).to_string()).await;
    let trace_id = body["error"]["trace_id"].as_str().unwrap();
    let recorded = spans.0.lock().unwrap().clone();
    assert!(recorded.iter().any(|(name, _, fields)| name == "request" && fields.contains(trace_id)));
}
