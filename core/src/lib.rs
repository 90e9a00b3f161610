//! Sluice's request pipeline.
//!
//! The modules read in request order; each stage is a plain function over plain data:
//!
//! ```text
//! http      POST /v1/query, limits, error -> status mapping (the only place errors become HTTP)
//! auth      bearer token -> Principal (API key or JWT)
//! analyse   SQL text -> Analysis (statement facts + verified AST), fail closed
//! execute   Analysis + params -> ResultSet through a datasource's Connector
//! encode    ResultSet -> typed JSON
//! audit     trace ids and the span of each stage
//! access    just-in-time access: requests held for approval, reviews, grants
//! ```
//!
//! `config` parses and validates the configuration once, at start-up; `gateway` holds the validated
//! runtime state and runs one query through the stages.

pub mod access;
pub mod analyse;
pub mod audit;
pub mod auth;
pub mod config;
pub mod dialect;
pub mod encode;
pub mod error;
pub mod execute;
pub mod gateway;
pub mod http;
pub mod plans;
pub mod policy;
pub mod rewrite;

pub use error::{Error, ErrorCode};
