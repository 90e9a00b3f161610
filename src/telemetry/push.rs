//! The metrics of `GET /metrics`, pushed over OTLP/HTTP as well.
//!
//! One source of truth: the gateway's Prometheus registry is read every interval and its
//! families are converted, as they are, into OTLP metrics (counters into cumulative monotonic
//! sums, gauges into gauges, histograms into cumulative explicit-bucket histograms). The names
//! stay the Prometheus names, so a dashboard reads the same series whichever way they arrived.
//! A failed push is logged and dropped: the next one carries the totals again.

use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prometheus::proto::{MetricFamily, MetricType};
use prost::Message as _;
use sluice_core::config::{OtlpProtocol, OtlpSettings};
use sluice_core::gateway::Gateway;

/// Pushes `gateway`'s metrics to `otlp.metrics_endpoint` every `otlp.metrics_interval`, until
/// the returned task is aborted. `None` when metrics are not pushed.
pub fn spawn(gateway: Arc<Gateway>, otlp: &OtlpSettings) -> Option<tokio::task::JoinHandle<()>> {
    let endpoint = otlp.metrics_endpoint.clone()?;
    let client = match reqwest::Client::builder().timeout(otlp.timeout).build() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the OTLP metrics client; metrics are not pushed");
            return None;
        }
    };
    let push = Push {
        client,
        endpoint,
        protocol: otlp.protocol,
        headers: otlp.headers.clone(),
        resource: resource(otlp),
        started: unix_nanos(SystemTime::now()),
    };
    let interval = otlp.metrics_interval;
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            push.send(&gateway.metrics.gather()).await;
        }
    }))
}

struct Push {
    client: reqwest::Client,
    endpoint: String,
    protocol: OtlpProtocol,
    headers: Vec<(String, String)>,
    resource: Resource,
    /// The start of every cumulative series: the process's start, near enough.
    started: u64,
}

impl Push {
    async fn send(&self, families: &[MetricFamily]) {
        let now = unix_nanos(SystemTime::now());
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope { name: "sluice".into(), ..Default::default() }),
                    metrics: families.iter().filter_map(|f| convert(f, self.started, now)).collect(),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let (content_type, body) = match self.protocol {
            OtlpProtocol::Protobuf => ("application/x-protobuf", request.encode_to_vec()),
            OtlpProtocol::Json => match serde_json::to_vec(&request) {
                Ok(body) => ("application/json", body),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot encode metrics as OTLP/JSON");
                    return;
                }
            },
        };
        let mut post = self.client.post(&self.endpoint).header("content-type", content_type).body(body);
        for (name, value) in &self.headers {
            post = post.header(name, value);
        }
        match post.send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::warn!(status = response.status().as_u16(), "the collector refused metrics")
            }
            Err(e) => tracing::warn!(error = %e, "cannot push metrics over OTLP"),
        }
    }
}

fn resource(otlp: &OtlpSettings) -> Resource {
    let mut attributes = vec![text("service.name", &otlp.service_name)];
    attributes.extend(
        otlp.resource_attributes
            .iter()
            .filter(|(key, _)| key.as_str() != "service.name")
            .map(|(k, v)| text(k, v)),
    );
    Resource { attributes, ..Default::default() }
}

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.to_owned())) }),
        ..Default::default()
    }
}

fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// One Prometheus family as an OTLP metric; `None` for kinds Sluice does not register.
fn convert(family: &MetricFamily, start: u64, now: u64) -> Option<Metric> {
    let attributes = |m: &prometheus::proto::Metric| -> Vec<KeyValue> {
        m.get_label().iter().map(|l| text(l.name(), l.value())).collect()
    };
    let number = |m: &prometheus::proto::Metric, value: f64| NumberDataPoint {
        attributes: attributes(m),
        start_time_unix_nano: start,
        time_unix_nano: now,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    };
    let metrics = family.get_metric();
    let data = match family.get_field_type() {
        MetricType::COUNTER => metric::Data::Sum(Sum {
            data_points: metrics.iter().map(|m| number(m, m.get_counter().get_value())).collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        }),
        MetricType::GAUGE => metric::Data::Gauge(Gauge {
            data_points: metrics.iter().map(|m| number(m, m.get_gauge().get_value())).collect(),
        }),
        MetricType::HISTOGRAM => metric::Data::Histogram(Histogram {
            data_points: metrics
                .iter()
                .map(|m| {
                    let histogram = m.get_histogram();
                    // Prometheus buckets are cumulative and end before +Inf; OTLP counts each
                    // bucket on its own, with one more for everything above the last bound.
                    let mut counts = Vec::with_capacity(histogram.get_bucket().len() + 1);
                    let mut below = 0;
                    for bucket in histogram.get_bucket() {
                        counts.push(bucket.cumulative_count().saturating_sub(below));
                        below = bucket.cumulative_count();
                    }
                    counts.push(histogram.get_sample_count().saturating_sub(below));
                    HistogramDataPoint {
                        attributes: attributes(m),
                        start_time_unix_nano: start,
                        time_unix_nano: now,
                        count: histogram.get_sample_count(),
                        sum: Some(histogram.get_sample_sum()),
                        bucket_counts: counts,
                        explicit_bounds: histogram.get_bucket().iter().map(|b| b.upper_bound()).collect(),
                        ..Default::default()
                    }
                })
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
        _ => return None,
    };
    Some(Metric {
        name: family.name().to_owned(),
        description: family.help().to_owned(),
        data: Some(data),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_become_per_bucket_counts_with_an_overflow_bucket() {
        let registry = prometheus::Registry::new();
        let histogram = prometheus::Histogram::with_opts(
            prometheus::HistogramOpts::new("h", "help").buckets(vec![1.0, 2.0]),
        )
        .unwrap();
        registry.register(Box::new(histogram.clone())).unwrap();
        for value in [0.5, 1.5, 1.7, 9.0] {
            histogram.observe(value);
        }
        let metric = convert(&registry.gather()[0], 1, 2).unwrap();
        let Some(metric::Data::Histogram(h)) = metric.data else { panic!("not a histogram: {metric:?}") };
        let point = &h.data_points[0];
        assert_eq!(point.explicit_bounds, [1.0, 2.0]);
        assert_eq!(point.bucket_counts, [1, 2, 1]);
        assert_eq!(point.count, 4);
    }

    #[test]
    fn counters_are_cumulative_monotonic_sums_with_their_labels() {
        let registry = prometheus::Registry::new();
        let counter =
            prometheus::IntCounterVec::new(prometheus::Opts::new("c_total", "help"), &["k"]).unwrap();
        registry.register(Box::new(counter.clone())).unwrap();
        counter.with_label_values(&["v"]).inc_by(3);
        let metric = convert(&registry.gather()[0], 1, 2).unwrap();
        let Some(metric::Data::Sum(sum)) = metric.data else { panic!("not a sum: {metric:?}") };
        assert!(sum.is_monotonic);
        assert_eq!(sum.aggregation_temporality, AggregationTemporality::Cumulative as i32);
        assert_eq!(sum.data_points[0].value, Some(number_data_point::Value::AsDouble(3.0)));
        assert_eq!(sum.data_points[0].attributes, [text("k", "v")]);
    }
}
