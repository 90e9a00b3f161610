//! `[telemetry]`: OpenTelemetry export of the span tree, and trace context sent to databases.
//!
//! Export is off unless an OTLP endpoint is configured, in the file or through the standard
//! `OTEL_EXPORTER_OTLP_*` environment variables. Settings written in the file win; the
//! standard variables fill what the file leaves out, so one image can be pointed at a
//! collector by its deployment alone.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::Problems;

/// `[telemetry]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySection {
    /// The OTLP/HTTP collector's base URL, e.g. `http://otel-collector:4318`; spans go to
    /// `<endpoint>/v1/traces`. Default none (no export), or `OTEL_EXPORTER_OTLP_ENDPOINT`;
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` gives the full traces URL instead.
    pub otlp_endpoint: Option<String>,
    /// `http/protobuf` (default) or `http/json`; else `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`. gRPC is not supported.
    pub otlp_protocol: Option<String>,
    /// Headers sent with every export (an API key: `{ "x-api-key" = "${OTLP_KEY}" }`). Default
    /// none, or `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`). Never logged.
    pub otlp_headers: Option<BTreeMap<String, String>>,
    /// How long one export may take, seconds. Default 10, or `OTEL_EXPORTER_OTLP_TIMEOUT` (ms).
    pub otlp_timeout_seconds: Option<u64>,
    /// Push the metrics of `GET /metrics` over OTLP too, to `<otlp_endpoint>/v1/metrics`
    /// (or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`). Default true when an endpoint is set;
    /// `OTEL_METRICS_EXPORTER=none` also turns it off.
    pub otlp_metrics: Option<bool>,
    /// Seconds between metric pushes. Default 60, or `OTEL_METRIC_EXPORT_INTERVAL` (ms).
    pub otlp_metrics_interval_seconds: Option<u64>,
    /// The `service.name` resource attribute. Default `sluice`, or `OTEL_SERVICE_NAME`.
    pub service_name: Option<String>,
    /// Share of new traces recorded, 0.0 to 1.0. Default 1.0, or `OTEL_TRACES_SAMPLER_ARG` with
    /// `OTEL_TRACES_SAMPLER=traceidratio` / `parentbased_traceidratio`. A request that continues
    /// a caller's trace follows the caller's sampling decision.
    pub sampling_ratio: Option<f64>,
    /// More resource attributes (`{ "deployment.environment.name" = "prod" }`); merged over
    /// `OTEL_RESOURCE_ATTRIBUTES`.
    pub resource_attributes: BTreeMap<String, String>,
    /// Append the request's W3C trace context to every statement sent to the database as a
    /// comment in the sqlcommenter format (`/*traceparent='00-...-01'*/`), so database logs
    /// join the trace. Default `false`. The comment holds only ids Sluice generated or
    /// validated, never text a caller or plugin chose; it also makes each statement text
    /// unique, so databases cannot reuse prepared statements across requests.
    pub sql_comment: bool,
}

/// How spans are encoded over OTLP/HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `http/protobuf`.
    Protobuf,
    /// `http/json`.
    Json,
}

/// Validated OTLP export settings.
#[derive(Clone)]
pub struct OtlpSettings {
    /// The full traces URL (`.../v1/traces`).
    pub traces_endpoint: String,
    /// The full metrics URL (`.../v1/metrics`), when metrics are pushed too.
    pub metrics_endpoint: Option<String>,
    /// Time between metric pushes.
    pub metrics_interval: Duration,
    /// The encoding.
    pub protocol: OtlpProtocol,
    /// Headers sent with every export. Secret: never logged.
    pub headers: Vec<(String, String)>,
    /// One export's time limit.
    pub timeout: Duration,
    /// `service.name`.
    pub service_name: String,
    /// Share of new traces sampled.
    pub sampling_ratio: f64,
    /// Other resource attributes.
    pub resource_attributes: BTreeMap<String, String>,
}

impl fmt::Debug for OtlpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpSettings")
            .field("traces_endpoint", &self.traces_endpoint)
            .field("metrics_endpoint", &self.metrics_endpoint)
            .field("metrics_interval", &self.metrics_interval)
            .field("protocol", &self.protocol)
            .field("headers", &self.headers.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .field("service_name", &self.service_name)
            .field("sampling_ratio", &self.sampling_ratio)
            .field("resource_attributes", &self.resource_attributes)
            .finish()
    }
}

/// Validated `[telemetry]`.
#[derive(Debug, Clone, Default)]
pub struct TelemetrySettings {
    /// OTLP export; `None` when off.
    pub otlp: Option<OtlpSettings>,
    /// Whether statements carry the trace context as a sqlcommenter comment.
    pub sql_comment: bool,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks `section`, filling unset values from the standard `OTEL_*` variables read by `env`.
pub(super) fn validate(
    section: &TelemetrySection,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Problems,
) -> TelemetrySettings {
    let settings = TelemetrySettings { otlp: None, sql_comment: section.sql_comment };
    if env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return settings;
    }
    let base = section.otlp_endpoint.clone().or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let traces_endpoint = match (&section.otlp_endpoint, env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
        (Some(base), _) => Some(signal_url(base, "traces")),
        (None, Some(full)) => Some(full),
        (None, None) => base.as_deref().map(|base| signal_url(base, "traces")),
    };
    let Some(traces_endpoint) = traces_endpoint else { return settings };
    if !(traces_endpoint.starts_with("http://") || traces_endpoint.starts_with("https://")) {
        problems.add("telemetry.otlp_endpoint", "must be an http:// or https:// URL");
    }
    let protocol = section
        .otlp_protocol
        .clone()
        .or_else(|| env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
        .or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"));
    let protocol = match protocol.as_deref().map(str::trim) {
        None | Some("http/protobuf") => OtlpProtocol::Protobuf,
        Some("http/json") => OtlpProtocol::Json,
        Some(_) => {
            // Not echoed: from the environment, a misplaced value could be a secret.
            problems.add(
                "telemetry.otlp_protocol",
                "unsupported protocol; use \"http/protobuf\" or \"http/json\"",
            );
            OtlpProtocol::Protobuf
        }
    };
    let headers = match &section.otlp_headers {
        Some(headers) => headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        None => env("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
            .or_else(|| env("OTEL_EXPORTER_OTLP_HEADERS"))
            .map(|list| pairs(&list))
            .unwrap_or_default(),
    };
    for (name, value) in &headers {
        let valid_name =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !valid_name || value.bytes().any(|b| b.is_ascii_control()) {
            // The value may be a secret: name the header only.
            problems.add("telemetry.otlp_headers", format!("header {name:?} is not a valid HTTP header"));
        }
    }
    let timeout = match section.otlp_timeout_seconds {
        Some(seconds) => Duration::from_secs(seconds),
        None => env("OTEL_EXPORTER_OTLP_TIMEOUT")
            .and_then(|ms| ms.trim().parse().ok())
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis),
    };
    if timeout.is_zero() || timeout > Duration::from_secs(300) {
        problems.add("telemetry.otlp_timeout_seconds", "must be between 1 and 300 seconds");
    }
    let metrics_wanted = section.otlp_metrics.unwrap_or_else(|| {
        !env("OTEL_METRICS_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none"))
    });
    let metrics_endpoint = match (&section.otlp_endpoint, env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")) {
        _ if !metrics_wanted => None,
        (Some(base), _) => Some(signal_url(base, "metrics")),
        (None, Some(full)) => Some(full),
        (None, None) => base.as_deref().map(|base| signal_url(base, "metrics")),
    };
    let metrics_interval = match section.otlp_metrics_interval_seconds {
        Some(seconds) => Duration::from_secs(seconds),
        None => env("OTEL_METRIC_EXPORT_INTERVAL")
            .and_then(|ms| ms.trim().parse().ok())
            .map_or(Duration::from_secs(60), Duration::from_millis),
    };
    if metrics_interval < Duration::from_secs(1) || metrics_interval > Duration::from_secs(86_400) {
        problems.add("telemetry.otlp_metrics_interval_seconds", "must be between 1 and 86400 seconds");
    }
    let service_name =
        section.service_name.clone().or_else(|| env("OTEL_SERVICE_NAME")).unwrap_or_else(|| "sluice".into());
    let sampling_ratio = section.sampling_ratio.unwrap_or_else(|| sampler_from_env(env));
    if !(0.0..=1.0).contains(&sampling_ratio) {
        problems.add("telemetry.sampling_ratio", "must be between 0.0 and 1.0");
    }
    let mut resource_attributes: BTreeMap<String, String> =
        env("OTEL_RESOURCE_ATTRIBUTES").map(|list| pairs(&list).into_iter().collect()).unwrap_or_default();
    resource_attributes.extend(section.resource_attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
    TelemetrySettings {
        otlp: Some(OtlpSettings {
            traces_endpoint,
            metrics_endpoint,
            metrics_interval,
            protocol,
            headers,
            timeout,
            service_name,
            sampling_ratio,
            resource_attributes,
        }),
        ..settings
    }
}

/// `base` with a signal's path (`traces`, `metrics`), as the specification builds it from a
/// base endpoint.
fn signal_url(base: &str, signal: &str) -> String {
    format!("{}/v1/{signal}", base.trim_end_matches('/'))
}

/// The ratio the standard sampler variables ask for; 1.0 when they ask for none.
fn sampler_from_env(env: &dyn Fn(&str) -> Option<String>) -> f64 {
    let ratio = || env("OTEL_TRACES_SAMPLER_ARG").and_then(|arg| arg.trim().parse().ok()).unwrap_or(1.0);
    match env("OTEL_TRACES_SAMPLER").as_deref().map(str::trim) {
        Some("always_off" | "parentbased_always_off") => 0.0,
        Some("traceidratio" | "parentbased_traceidratio") => ratio(),
        _ => 1.0,
    }
}

/// `k=v,k2=v2` as the OTel environment variables write lists; values are percent-decoded.
fn pairs(list: &str) -> Vec<(String, String)> {
    list.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), percent_decode(v.trim())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (b, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml: &str, vars: &[(&str, &str)]) -> (TelemetrySettings, Vec<String>) {
        let section: TelemetrySection = toml::from_str(toml).unwrap();
        let env = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
        let mut problems = Problems::default();
        let settings = validate(&section, &env, &mut problems);
        (settings, problems.into_vec().into_iter().map(|p| format!("{}: {}", p.key, p.message)).collect())
    }

    #[test]
    fn off_unless_an_endpoint_is_given() {
        let (settings, problems) = check("", &[]);
        assert!(settings.otlp.is_none() && problems.is_empty());
    }

    #[test]
    fn the_file_wins_and_the_environment_fills_in() {
        let (settings, problems) = check(
            r#"otlp_endpoint = "http://collector:4318/"
               resource_attributes = { "deployment.environment.name" = "prod" }"#,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=a%3Db,other=c"),
                ("OTEL_SERVICE_NAME", "gateway-eu"),
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
                ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=dev,host.name=h1"),
            ],
        );
        assert!(problems.is_empty(), "{problems:?}");
        let otlp = settings.otlp.unwrap();
        assert_eq!(otlp.traces_endpoint, "http://collector:4318/v1/traces");
        assert_eq!(otlp.metrics_endpoint.as_deref(), Some("http://collector:4318/v1/metrics"));
        assert_eq!(otlp.metrics_interval, Duration::from_secs(60));
        assert_eq!(otlp.protocol, OtlpProtocol::Json);
        assert_eq!(otlp.headers, [("x-api-key".to_owned(), "a=b".to_owned()), ("other".into(), "c".into())]);
        assert_eq!(otlp.service_name, "gateway-eu");
        assert!((otlp.sampling_ratio - 0.25).abs() < f64::EPSILON);
        assert_eq!(otlp.resource_attributes["deployment.environment.name"], "prod");
        assert_eq!(otlp.resource_attributes["host.name"], "h1");
        assert!(!format!("{otlp:?}").contains("a=b"), "header values never appear in Debug");
    }

    #[test]
    fn the_traces_endpoint_variable_is_used_as_is_and_sdk_disabled_turns_export_off() {
        let (settings, _) = check("", &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/custom")]);
        let otlp = settings.otlp.unwrap();
        assert_eq!(otlp.traces_endpoint, "http://c:4318/custom");
        assert_eq!(otlp.metrics_endpoint, None, "no base endpoint: nowhere to push metrics");
        let (settings, _) = check(
            r#"otlp_endpoint = "http://c:4318""#,
            &[("OTEL_METRICS_EXPORTER", "none"), ("OTEL_METRIC_EXPORT_INTERVAL", "5000")],
        );
        let otlp = settings.otlp.unwrap();
        assert_eq!(otlp.metrics_endpoint, None);
        assert_eq!(otlp.metrics_interval, Duration::from_secs(5));
        let (settings, _) = check(r#"otlp_endpoint = "http://c:4318""#, &[("OTEL_SDK_DISABLED", "true")]);
        assert!(settings.otlp.is_none());
    }

    #[test]
    fn bad_values_are_problems_that_do_not_echo_secrets() {
        let (_, problems) = check(
            r#"otlp_endpoint = "collector:4318"
               otlp_protocol = "grpc"
               sampling_ratio = 1.5
               otlp_headers = { "bad header" = "s3cret" }"#,
            &[],
        );
        let all = problems.join("\n");
        for key in ["otlp_endpoint", "otlp_protocol", "sampling_ratio", "otlp_headers"] {
            assert!(all.contains(key), "{key} missing in {all}");
        }
        assert!(!all.contains("s3cret"));
    }
}
