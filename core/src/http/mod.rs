//! The HTTP API: routes, the authentication extractor, limits, and the one place where errors
//! become responses. It knows nothing of SQL: it hands plain requests to the [`Gateway`].
//!
//! [`Gateway`]: crate::gateway::Gateway

mod access;
mod app;
mod console;
mod error;
mod extract;
mod openapi;
mod routes;

pub use app::app;
pub use error::{ApiError, ApprovalBody, ErrorBody, ErrorDetail};
pub use openapi::openapi;
