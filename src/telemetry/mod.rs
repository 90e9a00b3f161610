//! Log output, and OpenTelemetry export of the span tree and the metrics.
//!
//! Two layers share one subscriber, each with its own filter: the log layer writes what
//! `RUST_LOG` asks for (by default one line per request), and the OTLP layer, when
//! `[telemetry]` configures an endpoint, takes every Sluice span, the `debug` stage spans
//! included, whatever the log filter says.
//!
//! Export never blocks a request: a finished span is queued for the SDK's batch processor,
//! which exports from its own thread and drops spans when its queue is full. Spans are
//! telemetry, not the audit record (that is the audit log, which does not depend on export).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider};
use sluice_core::config::{OtlpProtocol, OtlpSettings, TelemetrySettings};
use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

mod push;

pub use push::spawn as push_metrics;

/// Log format on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event, with the span fields (trace_id, stage) attached.
    Json,
}

/// Spans waiting for export at most; past this, new spans are dropped (and counted by the SDK)
/// rather than held in memory or allowed to slow a request.
const EXPORT_QUEUE: usize = 8192;

/// Keeps the exporter alive; [`Telemetry::shutdown`] exports what is queued.
#[must_use = "dropping it without shutdown loses the spans still queued"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still queued (bounded by the export timeout) and stops the exporter.
    /// Blocking: call it off the async runtime's worker threads.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(5))
        {
            eprintln!("warning: OpenTelemetry shutdown: {e}");
        }
    }
}

/// Installs logging only (the commands that serve nothing).
pub fn init_logs(format: LogFormat) {
    let _ = tracing_subscriber::registry().with(log_layer(format)).try_init();
}

/// Installs the process-wide subscriber: logs on standard error (`RUST_LOG` overrides the
/// default filter, `info` for Sluice and `warn` for libraries), plus OTLP export when
/// `settings` configure it. Must run inside the tokio runtime that will serve: the exporter
/// sends its HTTP requests on it.
///
/// # Errors
/// When the exporter cannot be built from the validated settings.
pub fn init(format: LogFormat, settings: &TelemetrySettings) -> anyhow::Result<Telemetry> {
    let Some(otlp) = &settings.otlp else {
        init_logs(format);
        return Ok(Telemetry { provider: None });
    };
    let provider = provider(otlp)?;
    // Every span Sluice opens, stage spans included, and the audit checkpoints' events.
    let wanted = Targets::new().with_target("sluice", Level::DEBUG).with_target("sluice_core", Level::DEBUG);
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("sluice"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        // Busy/idle times per span would cost a clock read at every poll of every stage.
        .with_tracked_inactivity(false)
        .with_filter(wanted);
    tracing_subscriber::registry()
        .with(log_layer(format))
        .with(otel)
        .try_init()
        .context("installing the tracing subscriber")?;
    tracing::info!(
        endpoint = otlp.traces_endpoint.as_str(),
        protocol = ?otlp.protocol,
        sampling_ratio = otlp.sampling_ratio,
        "exporting traces over OTLP"
    );
    Ok(Telemetry { provider: Some(provider) })
}

fn log_layer<S>(format: LogFormat) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,sluice=info,sluice_core=info"));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_span_events(FmtSpan::CLOSE);
    match format {
        LogFormat::Text => layer.with_filter(filter).boxed(),
        LogFormat::Json => {
            layer.json().with_current_span(true).with_span_list(true).with_filter(filter).boxed()
        }
    }
}

fn provider(otlp: &OtlpSettings) -> anyhow::Result<SdkTracerProvider> {
    let client = RuntimeClient {
        client: reqwest::Client::builder()
            .timeout(otlp.timeout)
            .build()
            .context("building the OTLP HTTP client")?,
        runtime: tokio::runtime::Handle::try_current().context("OTLP export needs the tokio runtime")?,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(otlp.traces_endpoint.clone())
        .with_protocol(match otlp.protocol {
            OtlpProtocol::Protobuf => Protocol::HttpBinary,
            OtlpProtocol::Json => Protocol::HttpJson,
        })
        .with_headers(otlp.headers.iter().cloned().collect::<HashMap<_, _>>())
        .with_timeout(otlp.timeout)
        .build()
        .context("building the OTLP exporter")?;
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(EXPORT_QUEUE)
        .with_scheduled_delay(Duration::from_secs(1))
        .build();
    let resource = Resource::builder()
        .with_service_name(otlp.service_name.clone())
        .with_attributes(
            otlp.resource_attributes
                .iter()
                .filter(|(key, _)| key.as_str() != "service.name")
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        )
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter).with_batch_config(batch).build())
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(otlp.sampling_ratio))))
        .with_resource(resource)
        .build())
}

/// The exporter's HTTP client. The batch processor exports from its own thread, where an
/// async client finds no tokio reactor and would export nothing; each request is therefore
/// spawned onto the runtime Sluice serves on, and the processor's thread only waits for it.
#[derive(Debug)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for RuntimeClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<opentelemetry_http::Response<opentelemetry_http::Bytes>, opentelemetry_http::HttpError> {
        let (parts, body) = request.into_parts();
        let mut outgoing = self.client.request(parts.method, parts.uri.to_string()).body(body);
        for (name, value) in &parts.headers {
            outgoing = outgoing.header(name, value);
        }
        let sent = self.runtime.spawn(async move {
            let response = outgoing.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        });
        let (status, headers, body) = sent.await??;
        let mut response = opentelemetry_http::Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        Ok(response)
    }
}
