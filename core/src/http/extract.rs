//! Extractors: the trace id, the authenticated [`Principal`], and a JSON body whose every
//! rejection is an [`ApiError`] with a stable code.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tracing::field;

use super::ApiError;
use crate::audit::{TraceId, span};
use crate::auth::Principal;
use crate::error::Error;
use crate::gateway::{Gateway, RequestContext};

/// Who is on the other end of the connection: the request's trace id (set by the tracing
/// middleware) and the peer address (present when served over a socket).
pub struct Caller(pub RequestContext);

fn trace_of(parts: &Parts) -> TraceId {
    parts.extensions.get::<TraceId>().cloned().unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let client_address =
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip().to_string());
        Ok(Caller(RequestContext { trace_id: trace_of(parts), client_address }))
    }
}

impl FromRequestParts<Arc<Gateway>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, gateway: &Arc<Gateway>) -> Result<Self, ApiError> {
        let request_span = tracing::Span::current();
        let auth_span = tracing::debug_span!(span::AUTH, principal = field::Empty, outcome = field::Empty);
        let _entered = auth_span.enter();
        let header = parts.headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
        match gateway.auth.authenticate(header) {
            Ok(principal) => {
                auth_span.record("principal", principal.id.as_str());
                request_span.record("principal", principal.id.as_str());
                auth_span.record("outcome", "ok");
                Ok(principal)
            }
            Err(e) => {
                auth_span.record("outcome", field::debug(&e));
                Err(ApiError { error: Error::Auth(e), trace_id: trace_of(parts) })
            }
        }
    }
}

/// A JSON request body. Unlike `axum::Json` it ignores `Content-Type` (callers are services
/// with curl-like clients) and answers every failure in Sluice's error format.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let trace_id = request.extensions().get::<TraceId>().cloned().unwrap_or_default();
        let reject = |error| ApiError { error, trace_id: trace_id.clone() };
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                reject(Error::TooLarge("request body is over the server's size limit".into()))
            } else {
                reject(Error::InvalidRequest("could not read the request body".into()))
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| reject(Error::InvalidRequest(format!("invalid JSON body: {e}"))))
    }
}
