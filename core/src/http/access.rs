//! The access API: access requests, their review, and grants (see [`crate::access`]).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiError;
use super::extract::{Caller, JsonBody};
use crate::access::{AccessError, AccessRequest, Decision, Grant, RequestStatus, Scope};
use crate::auth::Principal;
use crate::error::Error;
use crate::gateway::{AskAhead, Gateway};

/// `GET /v1/access-requests` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRequests {
    /// `pending`, `approved`, `rejected` or `expired`; default any.
    pub status: Option<String>,
    /// `mine` (my requests), `review` (pending requests I may approve) or `all` (both; the
    /// default).
    pub scope: Option<String>,
}

/// `GET /v1/grants` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListGrants {
    /// `true` to include grants that ended (used, revoked, expired); default only live ones.
    pub all: Option<bool>,
}

/// Body of `approve`, `reject` and `revoke`; optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    /// Why; recorded with the decision.
    pub comment: Option<String>,
}

/// A list of access requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    /// Newest first.
    pub requests: Vec<AccessRequest>,
}

/// A list of grants.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantList {
    /// Newest first.
    pub grants: Vec<Grant>,
}

/// The handler's outcome as the response: JSON, or the error with the request's trace id.
// The handlers' own return type, which axum turns into the response.
#[allow(clippy::result_large_err)]
fn answer<T>(outcome: Result<T, Error>, caller: crate::gateway::RequestContext) -> Result<Json<T>, ApiError> {
    outcome.map(Json).map_err(|error| ApiError { error, trace_id: caller.trace_id })
}

/// Longest comment or reason kept, in bytes.
const MAX_COMMENT_BYTES: usize = 4096;

fn invalid(message: String) -> Error {
    Error::InvalidRequest(message)
}

/// The optional JSON body `{"comment": "..."}`; an empty body is no comment.
fn comment(body: &Bytes) -> Result<Option<String>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let parsed: Comment =
        serde_json::from_slice(body).map_err(|e| invalid(format!("invalid JSON body: {e}")))?;
    match parsed.comment {
        Some(c) if c.len() > MAX_COMMENT_BYTES => {
            Err(invalid(format!("the comment is {} bytes; the limit is {MAX_COMMENT_BYTES}", c.len())))
        }
        other => Ok(other),
    }
}

/// Ask ahead: file an access request for a statement the policy holds for approval, with a
/// window, a duration, or as break-glass.
#[utoipa::path(
    post,
    path = "/v1/access-requests",
    request_body = AskAhead,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request filed (or the identical one pending); break-glass: approved, with its grant", body = AccessRequest),
        (status = 400, description = "invalid_request: no approval needed, justification missing, duration out of range; or what /v1/query would refuse", body = super::ErrorBody),
        (status = 403, description = "policy_denied, statement_not_allowed, or forbidden (break-glass without a break-glass role)", body = super::ErrorBody),
        (status = 503, description = "unavailable: the access store cannot be reached", body = super::ErrorBody),
    )
)]
pub async fn ask(
    State(gateway): State<Arc<Gateway>>,
    Caller(caller): Caller,
    principal: Principal,
    JsonBody(body): JsonBody<AskAhead>,
) -> Result<Json<AccessRequest>, ApiError> {
    answer(gateway.ask_ahead(&principal, body, &caller).await, caller)
}

/// Access requests the caller filed or may review.
#[utoipa::path(
    get,
    path = "/v1/access-requests",
    params(ListRequests),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first, at most 500", body = RequestList),
        (status = 400, description = "invalid_request: an unknown status or scope", body = super::ErrorBody),
        (status = 401, description = "unauthenticated", body = super::ErrorBody),
        (status = 503, description = "unavailable: the access store cannot be reached", body = super::ErrorBody),
    )
)]
pub async fn list_requests(
    State(gateway): State<Arc<Gateway>>,
    Caller(caller): Caller,
    principal: Principal,
    query: Result<Query<ListRequests>, QueryRejection>,
) -> Result<Json<RequestList>, ApiError> {
    let run = async {
        let Query(query) = query.map_err(|e| invalid(format!("invalid query: {}", e.body_text())))?;
        let status = query
            .status
            .map(|s| RequestStatus::parse(&s).ok_or_else(|| invalid(format!("unknown status {s:?}"))))
            .transpose()?;
        let scope = match query.scope.as_deref() {
            None | Some("all") => Scope::All,
            Some("mine") => Scope::Mine,
            Some("review") => Scope::ToReview,
            Some(other) => return Err(invalid(format!("unknown scope {other:?}; use mine, review or all"))),
        };
        Ok(RequestList { requests: gateway.access.requests(&principal, status, scope).await? })
    };
    answer(run.await, caller)
}

/// One access request, if the caller filed it or may review it.
#[utoipa::path(
    get,
    path = "/v1/access-requests/{id}",
    params(("id" = String, Path, description = "The request's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = AccessRequest),
        (status = 404, description = "not_found", body = super::ErrorBody),
    )
)]
pub async fn get_request(
    State(gateway): State<Arc<Gateway>>,
    Caller(caller): Caller,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<AccessRequest>, ApiError> {
    answer(gateway.access.request(&principal, &id).await.map_err(Error::from), caller)
}

async fn review(
    gateway: &Gateway,
    principal: &Principal,
    id: &str,
    decision: Decision,
    body: &Bytes,
) -> Result<AccessRequest, Error> {
    let comment = comment(body)?;
    let request = gateway.access.review(principal, id, decision, comment).await?;
    tracing::info!(
        request = id,
        reviewer = principal.id.as_str(),
        decision = decision.name(),
        status = request.status.name(),
        "access request reviewed"
    );
    Ok(request)
}

/// Approve or reject an access request. The last approval needed creates its grant; one
/// rejection ends it. For a break-glass use, this is the review after the fact, and a
/// rejection also revokes its grant.
#[utoipa::path(
    post,
    path = "/v1/access-requests/{id}/{decision}",
    params(
        ("id" = String, Path, description = "The request's id"),
        ("decision" = Decision, Path, description = "`approve` or `reject`"),
    ),
    request_body(content = Comment, description = "Optional"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request as it now stands (`grant_id` once approved)", body = AccessRequest),
        (status = 403, description = "forbidden: not an approver of this request, or it is your own", body = super::ErrorBody),
        (status = 404, description = "not_found: no such request you may see, or no such decision", body = super::ErrorBody),
        (status = 409, description = "conflict: already decided, expired, or already reviewed by you", body = super::ErrorBody),
    )
)]
pub async fn decide(
    State(gateway): State<Arc<Gateway>>,
    Caller(caller): Caller,
    principal: Principal,
    Path((id, decision)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<AccessRequest>, ApiError> {
    let run = async {
        let decision = Decision::parse(&decision).ok_or_else(|| {
            Error::Access(AccessError::NotFound(format!("no decision {decision:?}: use approve or reject")))
        })?;
        review(&gateway, &principal, &id, decision, &body).await
    };
    answer(run.await, caller)
}

/// Grants the caller holds or may revoke.
#[utoipa::path(
    get,
    path = "/v1/grants",
    params(ListGrants),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = GrantList),
        (status = 503, description = "unavailable", body = super::ErrorBody),
    )
)]
pub async fn list_grants(
    State(gateway): State<Arc<Gateway>>,
    Caller(caller): Caller,
    principal: Principal,
    query: Result<Query<ListGrants>, QueryRejection>,
) -> Result<Json<GrantList>, ApiError> {
    let run = async {
        let Query(query) = query.map_err(|e| invalid(format!("invalid query: {}", e.body_text())))?;
        let live_only = !query.all.unwrap_or(false);
        Ok::<_, Error>(GrantList { grants: gateway.access.grants(&principal, live_only).await? })
    };
    answer(run.await, caller)
}

/// Revoke a live grant: its holder or one of its approver groups.
#[utoipa::path(
    post,
    path = "/v1/grants/{id}/revoke",
    params(("id" = String, Path, description = "The grant's id")),
    request_body(content = Comment, description = "Optional: the reason"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The grant, revoked", body = Grant),
        (status = 404, description = "not_found", body = super::ErrorBody),
        (status = 409, description = "conflict: no longer live", body = super::ErrorBody),
    )
)]
pub async fn revoke(
    State(gateway): State<Arc<Gateway>>,
    Caller(caller): Caller,
    principal: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Grant>, ApiError> {
    let run = async {
        let reason = comment(&body)?;
        let grant = gateway.access.revoke(&principal, &id, reason).await?;
        tracing::info!(grant = id.as_str(), by = principal.id.as_str(), "access grant revoked");
        Ok::<_, Error>(grant)
    };
    answer(run.await, caller)
}
