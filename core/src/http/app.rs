//! The router, separate from `main` so tests drive it directly.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tracing::{Instrument, field};

use super::{access, console, routes};
use crate::audit::{TraceId, span};
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

/// Opens the request span, gives the request its [`TraceId`], and records the final status.
///
/// The request span is the one log line a request writes at the default filter: the stages
/// record its summary fields (who, where, what kind, the verdict, rows, the error code), and
/// their own spans are `debug`, so a request costs one line, not one per stage.
async fn trace_request(State(gateway): State<Arc<Gateway>>, mut request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    // The route's pattern (`/v1/access-requests/{id}`), never the path asked for: ids and
    // unknown paths must not become label values.
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let trace_id = TraceId::new();
    let request_span = tracing::info_span!(
        span::REQUEST,
        trace_id = %trace_id,
        method = %request.method(),
        path = request.uri().path(),
        status = field::Empty,
        code = field::Empty,
        principal = field::Empty,
        datasource = field::Empty,
        kind = field::Empty,
        verdict = field::Empty,
        rows = field::Empty,
    );
    request.extensions_mut().insert(trace_id);
    async move {
        let response = next.run(request).await;
        let status = response.status().as_u16();
        tracing::Span::current().record("status", status);
        gateway.metrics.observe_http(&route, status, started.elapsed().as_secs_f64());
        response
    }
    .instrument(request_span)
    .await
}
