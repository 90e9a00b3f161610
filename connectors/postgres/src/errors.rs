//! `tokio-postgres` and pool errors -> [`ExecError`], sanitised.
//!
//! Only the SQLSTATE and the primary message of a server error are kept: DETAIL, HINT, WHERE
//! and the `Display` of `tokio_postgres::Error` (which includes them) can quote row data, e.g.
//! the duplicate key of a unique violation.

use std::time::Duration;

use deadpool_postgres::{PoolError, TimeoutType};
use sluice_core::execute::ExecError;

/// SQLSTATEs that mean the connection, not the statement, is the problem.
fn is_connection_state(code: &str) -> bool {
    code.starts_with("08") // connection_exception
        || matches!(
            code,
            "57P01" // admin_shutdown (pg_terminate_backend, smart/fast shutdown)
            | "57P02" // crash_shutdown
            | "57P03" // cannot_connect_now (starting up, in recovery)
            | "57P05" // idle_session_timeout
            | "53300" // too_many_connections
            | "3D000" // invalid_catalog_name: the configured database is gone
            | "28000" // invalid_authorization_specification
            | "28P01" // invalid_password
        )
}

/// Whether a server error is about the statement itself (its syntax or meaning), not a cancel or
/// the connection.
pub(crate) fn is_statement_error(code: &str) -> bool {
    code != "57014" && !is_connection_state(code)
}

/// Maps a driver error for a statement that ran under `timeout`.
pub(crate) fn map(err: &tokio_postgres::Error, timeout: Duration) -> ExecError {
    if let Some(db) = err.as_db_error() {
        let code = db.code().code();
        if code == "57014" {
            // query_canceled: our own statement_timeout or our cancel request.
            return ExecError::Timeout(timeout);
        }
        if is_connection_state(code) {
            return ExecError::Unavailable(format!("{code}: {}", db.message()));
        }
        return ExecError::Upstream { code: Some(code.to_owned()), message: db.message().to_owned() };
    }
    if err.is_closed() {
        return ExecError::Unavailable("the database connection was closed".into());
    }
    // Non-server errors are I/O, protocol or connect failures; their Display carries no row data.
    ExecError::Unavailable(err.to_string())
}

/// Maps a failure to get a pooled connection.
pub(crate) fn pool(err: PoolError) -> ExecError {
    match err {
        PoolError::Timeout(TimeoutType::Wait) => {
            ExecError::Unavailable("no database connection became free in time (pool exhausted)".into())
        }
        PoolError::Timeout(TimeoutType::Create) => {
            ExecError::Unavailable("connecting to the database timed out".into())
        }
        PoolError::Timeout(TimeoutType::Recycle) => {
            ExecError::Unavailable("checking a pooled connection timed out".into())
        }
        PoolError::Backend(e) => match map(&e, Duration::ZERO) {
            ExecError::Upstream { code, message } => ExecError::Unavailable(format!(
                "{}{message}",
                code.map(|c| format!("{c}: ")).unwrap_or_default()
            )),
            other => other,
        },
        PoolError::Closed => ExecError::Unavailable("the connection pool is closed".into()),
        PoolError::NoRuntimeSpecified => ExecError::Unavailable("no async runtime for the pool".into()),
        PoolError::PostCreateHook(_) => ExecError::Unavailable("connection set-up failed".into()),
    }
}
