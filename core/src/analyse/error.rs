//! Why the analyser refused a statement.

use crate::error::ErrorCode;

/// Why a statement was refused before reaching the database. Messages are safe to return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyseError {
    /// The text does not parse in the datasource's dialect.
    #[error("SQL does not parse: {0}")]
    Parse(String),
    /// The text holds zero or several statements.
    #[error("expected exactly one statement, found {0}")]
    StatementCount(usize),
    /// A statement kind Sluice never forwards (session, transaction, procedural, bulk I/O).
    #[error("{0} statements are not allowed through Sluice")]
    NotAllowed(String),
    /// A construct the resolver cannot account for; refused rather than guessed at.
    #[error("unsupported SQL construct: {0}")]
    Unsupported(String),
    /// The re-serialised statement does not re-parse to the same AST.
    #[error("the statement cannot be forwarded faithfully (re-parse mismatch)")]
    RoundTrip,
}

impl AnalyseError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            AnalyseError::Parse(_) | AnalyseError::StatementCount(_) => ErrorCode::SqlParseError,
            AnalyseError::NotAllowed(_) | AnalyseError::Unsupported(_) | AnalyseError::RoundTrip => {
                ErrorCode::StatementNotAllowed
            }
        }
    }
}
