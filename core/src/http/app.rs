//! The router, separate from `main` so tests drive it directly.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tracing::{Instrument, field};

use super::{access, console, routes};
use crate::audit::{self, span};
use crate::gateway::Gateway;

/// Builds the HTTP application over a ready [`Gateway`].
pub fn app(gateway: Arc<Gateway>) -> Router {
    let body_limit = gateway.server.max_body_bytes;
    Router::new()
        .route("/v1/query", post(routes::query))
        .route("/v1/access-requests", get(access::list_requests).post(access::ask))
        .route("/v1/access-requests/{id}", get(access::get_request))
        .route("/v1/access-requests/{id}/{decision}", post(access::decide))
        .route("/v1/grants", get(access::list_grants))
        .route("/v1/grants/{id}/revoke", post(access::revoke))
        .route("/v1/me", get(routes::me))
        .route("/console", get(console::page))
        .route("/console/console.js", get(console::script))
        .route("/console/console.css", get(console::style))
        .route("/metrics", get(routes::metrics))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/openapi.json", get(routes::openapi_json))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(Arc::clone(&gateway), trace_request))
        .with_state(gateway)
}

/// Opens the request span, gives the request its [`TraceId`] (the caller's, when a valid
/// `traceparent` header continues a trace), and records the final status.
///
/// The request span is the one log line a request writes at the default filter: the stages
/// record its summary fields (who, where, what kind, the verdict, rows, the error code), and
/// their own spans are `debug`, so a request costs one line, not one per stage. Exported over
/// OTLP it is the SERVER span, named after the route as the HTTP conventions ask.
async fn trace_request(State(gateway): State<Arc<Gateway>>, mut request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    // The route's pattern (`/v1/access-requests/{id}`), never the path asked for: ids and
    // unknown paths must not become label values or span names.
    let matched = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let method = request.method().clone();
    let name = match &matched {
        Some(route) => format!("{method} {route}"),
        None => method.to_string(),
    };
    let request_span = tracing::info_span!(
        span::REQUEST,
        otel.name = name,
        otel.kind = "server",
        otel.status_code = field::Empty,
        trace_id = field::Empty,
        http.request.method = %method,
        http.route = matched.as_deref(),
        url.path = request.uri().path(),
        http.response.status_code = field::Empty,
        error.type = field::Empty,
        client.address = field::Empty,
        code = field::Empty,
        principal = field::Empty,
        datasource = field::Empty,
        kind = field::Empty,
        verdict = field::Empty,
        rows = field::Empty,
    );
    let trace_id = {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        audit::continue_trace(&request_span, header("traceparent"), header("tracestate"))
    };
    request_span.record("trace_id", trace_id.as_str());
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        request_span.record("client.address", peer.ip().to_string());
    }
    request.extensions_mut().insert(trace_id);
    async move {
        let response = next.run(request).await;
        let status = response.status();
        let current = tracing::Span::current();
        current.record("http.response.status_code", status.as_u16());
        // A server span is an error only for 5xx: a refused request is the server working.
        if status.is_server_error() {
            current.record("otel.status_code", "ERROR");
            current.record("error.type", status.as_str());
        }
        let route = matched.as_deref().unwrap_or("unmatched");
        gateway.metrics.observe_http(route, status.as_u16(), started.elapsed().as_secs_f64());
        response
    }
    .instrument(request_span)
    .await
}
