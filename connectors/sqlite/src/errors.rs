//! `rusqlite` errors -> [`ExecError`].
//!
//! SQLite's messages name tables, columns and constraints, never row values
//! (`UNIQUE constraint failed: users.email`), so the message is kept as is.

use std::time::Duration;

use rusqlite::ffi;
use sluice_core::execute::ExecError;

fn code_name(extended: i32) -> String {
    let name = match extended {
        ffi::SQLITE_ERROR => "SQLITE_ERROR",
        ffi::SQLITE_READONLY => "SQLITE_READONLY",
        ffi::SQLITE_CONSTRAINT => "SQLITE_CONSTRAINT",
        ffi::SQLITE_CONSTRAINT_UNIQUE => "SQLITE_CONSTRAINT_UNIQUE",
        ffi::SQLITE_CONSTRAINT_PRIMARYKEY => "SQLITE_CONSTRAINT_PRIMARYKEY",
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => "SQLITE_CONSTRAINT_FOREIGNKEY",
        ffi::SQLITE_CONSTRAINT_NOTNULL => "SQLITE_CONSTRAINT_NOTNULL",
        ffi::SQLITE_CONSTRAINT_CHECK => "SQLITE_CONSTRAINT_CHECK",
        ffi::SQLITE_MISMATCH => "SQLITE_MISMATCH",
        ffi::SQLITE_RANGE => "SQLITE_RANGE",
        ffi::SQLITE_TOOBIG => "SQLITE_TOOBIG",
        ffi::SQLITE_AUTH => "SQLITE_AUTH",
        _ => return extended.to_string(),
    };
    name.to_owned()
}

/// Maps an error of a statement that ran under `timeout`.
pub(crate) fn map(err: rusqlite::Error, timeout: Duration) -> ExecError {
    match err {
        rusqlite::Error::SqliteFailure(e, message) => match e.code {
            rusqlite::ErrorCode::OperationInterrupted => ExecError::Timeout(timeout),
            rusqlite::ErrorCode::DatabaseBusy
            | rusqlite::ErrorCode::DatabaseLocked
            | rusqlite::ErrorCode::CannotOpen
            | rusqlite::ErrorCode::SystemIoFailure
            | rusqlite::ErrorCode::NotADatabase
            | rusqlite::ErrorCode::DatabaseCorrupt
            | rusqlite::ErrorCode::OutOfMemory
            | rusqlite::ErrorCode::DiskFull => {
                ExecError::Unavailable(format!("SQLite: {}", message.unwrap_or_else(|| e.to_string())))
            }
            _ => ExecError::Upstream {
                code: Some(code_name(e.extended_code)),
                message: message.unwrap_or_else(|| e.to_string()),
            },
        },
        rusqlite::Error::SqlInputError { error, msg, .. } => {
            ExecError::Upstream { code: Some(code_name(error.extended_code)), message: msg }
        }
        rusqlite::Error::MultipleStatement => {
            ExecError::Upstream { code: None, message: "only one statement may be run".into() }
        }
        other => ExecError::Upstream { code: None, message: other.to_string() },
    }
}
