//! Route handlers: thin adapters between HTTP and the [`Gateway`].

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::{Caller, JsonBody};
use super::{ApiError, ErrorBody};
use crate::auth::Principal;
use crate::gateway::{Gateway, QueryRequest, QueryResponse};

/// Run one SQL statement on a datasource.
#[utoipa::path(
    post,
    path = "/v1/query",
    request_body = QueryRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The statement ran", body = QueryResponse),
        (status = 202, description = "approval_required: policy requires a human's approval; `approval` says which", body = ErrorBody),
        (status = 400, description = "invalid_request or sql_parse_error", body = ErrorBody),
        (status = 401, description = "unauthenticated", body = ErrorBody),
        (status = 403, description = "statement_not_allowed or policy_denied (names the plugin)", body = ErrorBody),
        (status = 413, description = "too_large", body = ErrorBody),
        (status = 502, description = "upstream_error", body = ErrorBody),
        (status = 503, description = "unavailable", body = ErrorBody),
        (status = 504, description = "timeout", body = ErrorBody),
    )
)]
pub async fn query(
    State(gateway): State<Arc<Gateway>>,
    Caller(caller): Caller,
    principal: Principal,
    JsonBody(request): JsonBody<QueryRequest>,
) -> Result<Json<QueryResponse>, ApiError> {
    match gateway.query(&principal, request, &caller).await {
        Ok(response) => Ok(Json(response)),
        Err(error) => Err(ApiError { error, trace_id: caller.trace_id }),
    }
}

/// Who the caller is: the principal the token authenticates, with its roles (not its
/// attributes, which may hold what policy uses but the caller need not see).
#[utoipa::path(
    get,
    path = "/v1/me",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "unauthenticated", body = ErrorBody),
    )
)]
pub async fn me(principal: Principal) -> Json<Me> {
    Json(Me { id: principal.id, roles: principal.roles })
}

/// `GET /v1/me` response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The principal's id.
    pub id: String,
    /// Its roles.
    pub roles: Vec<String>,
}

/// Metrics in the OpenMetrics text format, for Prometheus (see the README's "Telemetry").
/// Unauthenticated, like `/healthz`: its labels are datasource, plugin and route names and
/// outcome codes, never principals, statements or values.
pub async fn metrics(State(gateway): State<Arc<Gateway>>) -> impl axum::response::IntoResponse {
    if let Ok(pending) = gateway.access.pending_count().await {
        gateway.metrics.set_pending(pending);
    }
    for (name, ds) in &gateway.datasources {
        if let Some(status) = ds.connector.pool_status() {
            gateway.metrics.set_pool(name, status);
        }
    }
    ([(axum::http::header::CONTENT_TYPE, crate::audit::metrics::CONTENT_TYPE)], gateway.metrics.render())
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", datasources: None })
}

/// Readiness: every datasource answers a ping within two seconds.
#[utoipa::path(
    get,
    path = "/readyz",
    responses(
        (status = 200, description = "Every datasource is reachable", body = Health),
        (status = 503, description = "At least one datasource is not", body = Health),
    )
)]
pub async fn readyz(State(gateway): State<Arc<Gateway>>) -> (StatusCode, Json<Health>) {
    let checks = gateway.readiness(Duration::from_secs(2)).await;
    let ready = checks.values().all(|ok| *ok);
    let datasources =
        checks.into_iter().map(|(name, ok)| (name, if ok { "ok" } else { "unavailable" })).collect();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        status,
        Json(Health { status: if ready { "ok" } else { "unavailable" }, datasources: Some(datasources) }),
    )
}

/// The OpenAPI document of this API, generated from the code.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(super::openapi())
}

/// Health and readiness answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// Per-datasource status (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasources: Option<std::collections::BTreeMap<String, &'static str>>,
}
