//! Errors become HTTP responses here, and only here.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::TraceId;
use crate::error::{Error, ErrorCode};

/// An [`Error`] on its way to the caller, with the request's trace id.
#[derive(Debug)]
pub struct ApiError {
    /// What went wrong.
    pub error: Error,
    /// The request's trace id, echoed so the caller can quote it.
    pub trace_id: TraceId,
}

/// The error response body: `{"error": {...}}`, plus `approval` for `202 approval_required`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
    /// What approval the policy requires (`approval_required` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalBody>,
}

/// The approval a `202 approval_required` response asks for, accumulated over the policy chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalBody {
    /// Each requiring plugin's reason, in chain order; shown to approvers.
    pub reasons: Vec<String>,
    /// Groups that may approve (union over the plugins); empty means the datasource's defaults.
    pub approver_groups: Vec<String>,
    /// The shortest grant duration any plugin suggested, in seconds.
    pub suggested_duration_seconds: Option<u32>,
    /// The plugins that require approval, in chain order.
    pub plugins: Vec<String>,
    /// The access request filed for this statement (or the identical one already pending):
    /// approvers review it at `/v1/access-requests/{id}`; once approved, send the statement
    /// again. Absent only when no request could be filed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<crate::access::AccessRequest>,
}

/// The error itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (see the README's error table).
    pub code: &'static str,
    /// Human-readable explanation; never contains credentials, row data or internal causes.
    pub message: String,
    /// The request's trace id.
    pub trace_id: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.error.code();
        tracing::Span::current().record("code", code.as_str());
        let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Client errors are the caller's business and are not logged above debug; server-side
        // causes are logged in full here and answered generically.
        let message = if code == ErrorCode::Internal {
            tracing::error!(trace_id = %self.trace_id, cause = ?self.error, "internal error");
            "internal error; quote the trace id to your operator".to_string()
        } else {
            if status.is_server_error() {
                tracing::warn!(trace_id = %self.trace_id, code = code.as_str(), error = %self.error, "request failed");
            } else {
                tracing::debug!(trace_id = %self.trace_id, code = code.as_str(), "request refused");
            }
            self.error.to_string()
        };
        let approval = match &self.error {
            Error::ApprovalRequired(asked, filed) => Some(ApprovalBody {
                reasons: asked.reasons.clone(),
                approver_groups: asked.approver_groups.iter().cloned().collect(),
                suggested_duration_seconds: asked.suggested_duration_seconds,
                plugins: asked.plugins.clone(),
                request: filed.as_deref().cloned(),
            }),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail { code: code.as_str(), message, trace_id: self.trace_id.to_string() },
            approval,
        };
        let mut response = (status, Json(body)).into_response();
        if code == ErrorCode::Unauthenticated {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        response
    }
}
