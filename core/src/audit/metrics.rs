//! Metrics in the Prometheus text format, served at `GET /metrics`.
//!
//! One registry per gateway (no global registry): counters and histograms keyed by low-
//! cardinality labels only (configured datasource names, outcome codes, verdicts, plugin names,
//! route patterns), never by principal, statement or value. Each request updates them once, from
//! its record at the single exit (see [`RequestRecord`]); the cost is a few hash look-ups under
//! read locks and atomic adds (measured in `benches/hot_path.rs`).

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
    exponential_buckets,
};

use super::RequestRecord;
use crate::execute::PoolStatus;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The gateway's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Every family registered, including those no label set has been observed for yet
    /// (which the text format omits).
    families: std::collections::BTreeSet<String>,
    audit: AuditMetrics,
    queries: IntCounterVec,
    query_seconds: HistogramVec,
    verdicts: IntCounterVec,
    plugin_evaluations: IntCounterVec,
    plugin_failures: IntCounterVec,
    stage_seconds: HistogramVec,
    grants_used: IntCounterVec,
    db_seconds: HistogramVec,
    http: IntCounterVec,
    http_seconds: HistogramVec,
    pending: IntGauge,
    pool_connections: IntGaugeVec,
    pool_max: IntGaugeVec,
    pool_pending: IntGaugeVec,
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
        let mut metrics = Metrics {
            registry: Registry::new(),
            families: std::collections::BTreeSet::new(),
            audit: AuditMetrics::new()?,
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
                "Statements each policy plugin judged, by its own verdict (allow, deny, require_approval, failed, advisory)",
                &["plugin", "verdict"],
            )?,
            stage_seconds: latency(
                "sluice_stage_duration_seconds",
                "Time each stage of POST /v1/query took (analyse, policy, rewrite, execute, encode)",
                &["stage"],
            )?,
            plugin_failures: counter(
                "sluice_plugin_failures_total",
                "Policy plugin failures, by kind (timeout, out_of_memory, trap, malformed_verdict, init_failed, unavailable)",
                &["plugin", "kind"],
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
            pool_connections: IntGaugeVec::new(
                Opts::new(
                    "db_client_connections",
                    "Open connections of each datasource's pool, by state (OpenTelemetry db.client.connection.count)",
                ),
                &["db_client_connection_pool_name", "db_client_connection_state"],
            )?,
            pool_max: IntGaugeVec::new(
                Opts::new(
                    "db_client_connections_max",
                    "Most connections each datasource's pool opens (OpenTelemetry db.client.connection.max)",
                ),
                &["db_client_connection_pool_name"],
            )?,
            pool_pending: IntGaugeVec::new(
                Opts::new(
                    "db_client_connections_pending_requests",
                    "Requests waiting for a connection of each datasource's pool (OpenTelemetry db.client.connection.pending_requests)",
                ),
                &["db_client_connection_pool_name"],
            )?,
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 14] = [
            Box::new(metrics.queries.clone()),
            Box::new(metrics.query_seconds.clone()),
            Box::new(metrics.verdicts.clone()),
            Box::new(metrics.plugin_evaluations.clone()),
            Box::new(metrics.plugin_failures.clone()),
            Box::new(metrics.stage_seconds.clone()),
            Box::new(metrics.grants_used.clone()),
            Box::new(metrics.db_seconds.clone()),
            Box::new(metrics.http.clone()),
            Box::new(metrics.http_seconds.clone()),
            Box::new(metrics.pending.clone()),
            Box::new(metrics.pool_connections.clone()),
            Box::new(metrics.pool_max.clone()),
            Box::new(metrics.pool_pending.clone()),
        ];
        for collector in collectors {
            metrics.families.extend(collector.desc().iter().map(|desc| desc.fq_name.clone()));
            metrics.registry.register(collector)?;
        }
        metrics.audit.register(&metrics.registry)?;
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
        for (plugin, verdict) in &record.verdicts {
            self.plugin_evaluations.with_label_values(&[plugin.as_str(), verdict]).inc();
        }
        for (stage, took) in record.stage_times() {
            self.stage_seconds.with_label_values(&[stage.name()]).observe(took.as_secs_f64());
        }
        for (plugin, kind) in &record.failures {
            self.plugin_failures.with_label_values(&[plugin.as_str(), kind.name()]).inc();
        }
        if record.grant.is_some() {
            self.grants_used.with_label_values(&[datasource]).inc();
        }
        if let (Some(took), Some(system), Some(kind)) = (record.executed_in, record.db_system, record.kind())
        {
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

    /// Sets datasource `name`'s pool gauges.
    pub fn set_pool(&self, name: &str, status: PoolStatus) {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.pool_connections.with_label_values(&[name, "idle"]).set(gauge(status.idle));
        self.pool_connections.with_label_values(&[name, "used"]).set(gauge(status.in_use));
        self.pool_max.with_label_values(&[name]).set(gauge(status.max));
        self.pool_pending.with_label_values(&[name]).set(gauge(status.waiting));
    }

    /// The name of every metric family, observed yet or not.
    pub fn families(&self) -> std::collections::BTreeSet<String> {
        let mut families = self.families.clone();
        families.extend(self.registry.gather().into_iter().map(|family| family.name().to_owned()));
        families
    }

    /// Every metric as it stands now, for pushing elsewhere (OTLP).
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.registry.gather()
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }

    /// The audit log's counters, for its writer to hold.
    pub fn audit(&self) -> AuditMetrics {
        self.audit.clone()
    }
}

/// The audit log writer's counters (no labels): cheap clones of registered counters, so the
/// writer thread counts with an atomic add.
#[derive(Debug, Clone)]
pub struct AuditMetrics {
    pub(crate) records: prometheus::IntCounter,
    pub(crate) checkpoints: prometheus::IntCounter,
    pub(crate) write_failures: prometheus::IntCounter,
}

impl AuditMetrics {
    fn new() -> Result<Self, prometheus::Error> {
        Ok(AuditMetrics {
            records: prometheus::IntCounter::new("sluice_audit_records_total", "Audit records written")?,
            checkpoints: prometheus::IntCounter::new(
                "sluice_audit_checkpoints_total",
                "Signed audit checkpoints written",
            )?,
            write_failures: prometheus::IntCounter::new(
                "sluice_audit_write_failures_total",
                "Audit log writes that failed (each refused a batch of records)",
            )?,
        })
    }

    fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.records.clone()))?;
        registry.register(Box::new(self.checkpoints.clone()))?;
        registry.register(Box::new(self.write_failures.clone()))
    }
}
