//! Metrics in the Prometheus text format, served at `GET /metrics`.
//!
//! One registry per gateway (no global registry): counters and histograms keyed by low-
//! cardinality labels only (configured datasource names, outcome codes, verdicts, plugin names,
//! route patterns), never by principal, statement or value. Each request updates them once, from
//! its record at the single exit (see [`RequestRecord`]); the cost is a few hash look-ups under
//! read locks and atomic adds (measured in `benches/hot_path.rs`).

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder, exponential_buckets,
};

use super::RequestRecord;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The gateway's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    queries: IntCounterVec,
    query_seconds: HistogramVec,
    verdicts: IntCounterVec,
    plugin_evaluations: IntCounterVec,
    grants_used: IntCounterVec,
    db_seconds: HistogramVec,
    http: IntCounterVec,
    http_seconds: HistogramVec,
    pending: IntGauge,
}

/// Half a millisecond to about 16 s, doubling.
fn latency(name: &str, help: &str, labels: &[&str]) -> Result<HistogramVec, prometheus::Error> {
    HistogramVec::new(HistogramOpts::new(name, help).buckets(exponential_buckets(0.0005, 2.0, 16)?), labels)
}

fn counter(name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec, prometheus::Error> {
    IntCounterVec::new(Opts::new(name, help), labels)
}

impl Metrics {
    /// Empty metrics, registered.
    ///
    /// # Errors
    /// A metric this file defines is malformed (names and labels are constants: a bug).
    pub fn new() -> Result<Self, prometheus::Error> {
        let metrics = Metrics {
            registry: Registry::new(),
            queries: counter(
                "sluice_queries_total",
                "Statements sent to POST /v1/query, by outcome (ok or the error code)",
                &["datasource", "outcome"],
            )?,
            query_seconds: latency(
                "sluice_query_duration_seconds",
                "Time from the gateway receiving a statement to its answer",
                &["datasource"],
            )?,
            verdicts: counter(
                "sluice_policy_verdicts_total",
                "Policy chain verdicts (granted: held for approval, and a grant covered it)",
                &["datasource", "verdict"],
            )?,
            plugin_evaluations: counter(
                "sluice_plugin_evaluations_total",
                "Statements each policy plugin judged",
                &["plugin"],
            )?,
            grants_used: counter(
                "sluice_grants_used_total",
                "Statements that ran under an access grant",
                &["datasource"],
            )?,
            db_seconds: latency(
                "db_client_operation_duration_seconds",
                "Duration of database client operations (OpenTelemetry db.client.operation.duration)",
                &["db_system_name", "db_namespace", "db_operation_name"],
            )?,
            http: counter(
                "sluice_http_requests_total",
                "HTTP requests, by route and status",
                &["route", "status"],
            )?,
            http_seconds: latency(
                "sluice_http_request_duration_seconds",
                "HTTP request duration",
                &["route"],
            )?,
            pending: IntGauge::new("sluice_access_requests_pending", "Access requests awaiting approval")?,
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 9] = [
            Box::new(metrics.queries.clone()),
            Box::new(metrics.query_seconds.clone()),
            Box::new(metrics.verdicts.clone()),
            Box::new(metrics.plugin_evaluations.clone()),
            Box::new(metrics.grants_used.clone()),
            Box::new(metrics.db_seconds.clone()),
            Box::new(metrics.http.clone()),
            Box::new(metrics.http_seconds.clone()),
            Box::new(metrics.pending.clone()),
        ];
        for collector in collectors {
            metrics.registry.register(collector)?;
        }
        Ok(metrics)
    }

    /// Counts one `POST /v1/query` from its record.
    pub fn observe(&self, record: &RequestRecord) {
        let datasource = record.datasource.as_deref().unwrap_or("");
        self.queries.with_label_values(&[datasource, record.outcome()]).inc();
        self.query_seconds.with_label_values(&[datasource]).observe(record.started.elapsed().as_secs_f64());
        if let Some(verdict) = record.verdict {
            self.verdicts.with_label_values(&[datasource, verdict]).inc();
        }
        for plugin in &record.plugins {
            self.plugin_evaluations.with_label_values(&[plugin.as_str()]).inc();
        }
        if record.grant.is_some() {
            self.grants_used.with_label_values(&[datasource]).inc();
        }
        if let (Some(took), Some(system), Some(kind)) = (record.executed_in, record.db_system, record.kind) {
            self.db_seconds
                .with_label_values(&[system, datasource, kind.operation_name()])
                .observe(took.as_secs_f64());
        }
    }

    /// Counts one HTTP request to `route` (the route's pattern, never the path asked for).
    pub fn observe_http(&self, route: &str, status: u16, seconds: f64) {
        self.http.with_label_values(&[route, &status.to_string()]).inc();
        self.http_seconds.with_label_values(&[route]).observe(seconds);
    }

    /// Sets the number of pending access requests.
    pub fn set_pending(&self, pending: u64) {
        self.pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}
