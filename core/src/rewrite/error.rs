//! Why the rewrite stage refused a statement.

use crate::error::ErrorCode;

use super::MaskError;

/// Why a statement could not be rewritten to honour its row filters and masks. Every variant
/// refuses the statement: Sluice never runs it with less protection than policy asked for.
/// Messages name relations, columns and plugins, never data or the keyed-hash secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    /// The statement names a relation the datasource's catalog does not list.
    #[error("relation {0} does not exist (or is not visible to Sluice) on this datasource")]
    UnknownRelation(String),
    /// The statement names a column that none of its relations has.
    #[error("column {column} does not exist in {relation} (nor in any other relation the statement reads)")]
    UnknownColumn {
        /// The relation the column was attributed to.
        relation: String,
        /// The column.
        column: String,
    },
    /// A policy plugin's row filter cannot be applied safely.
    #[error("the row filter of policy plugin `{plugin}` on {relation} is refused: {reason}")]
    BadFilter {
        /// The plugin.
        plugin: String,
        /// The relation it filters.
        relation: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A policy plugin's row filter binds a principal attribute the caller does not have.
    #[error(
        "the row filter of policy plugin `{plugin}` needs the caller's attribute {attribute:?}, \
         which the caller does not have"
    )]
    MissingAttribute {
        /// The plugin.
        plugin: String,
        /// The attribute.
        attribute: String,
    },
    /// A mask cannot be rendered for the column it applies to.
    #[error("the mask of policy plugin `{plugin}` on {relation}.{column} is refused: {source}")]
    BadMask {
        /// The plugin.
        plugin: String,
        /// The relation.
        relation: String,
        /// The column.
        column: String,
        /// Why.
        source: MaskError,
    },
    /// A write sets a column the caller sees masked, and the operator did not make it writable
    /// (`writable_masked_columns`).
    #[error(
        "the column {column} of {relation} is masked for this caller and not writable \
         (the datasource's writable_masked_columns does not list it)"
    )]
    MaskedWrite {
        /// The relation written.
        relation: String,
        /// The masked column.
        column: String,
    },
    /// The statement calls a function that reads relations named in its arguments (or the
    /// system catalog), which policy cannot see; refused whether or not the statement names a
    /// protected relation.
    #[error("the function {0} reads relations policy cannot see")]
    HiddenRead(String),
    /// The statement uses a construct that row filters or masks cannot cover.
    #[error("{0}; the statement touches relations protected by row filters or masks")]
    Refused(String),
    /// The rewritten statement did not survive re-analysis (a guard against rewrite bugs).
    #[error("the rewritten statement failed verification and was refused")]
    Verification(String),
}

impl RewriteError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            RewriteError::UnknownRelation(_) | RewriteError::UnknownColumn { .. } => {
                ErrorCode::InvalidRequest
            }
            RewriteError::BadFilter { .. }
            | RewriteError::MissingAttribute { .. }
            | RewriteError::BadMask { .. } => ErrorCode::PolicyDenied,
            RewriteError::Refused(_)
            | RewriteError::HiddenRead(_)
            | RewriteError::MaskedWrite { .. }
            | RewriteError::Verification(_) => ErrorCode::StatementNotAllowed,
        }
    }
}

/// Shorthand for a refusal.
pub(crate) fn refused<T>(what: impl Into<String>) -> Result<T, RewriteError> {
    Err(RewriteError::Refused(what.into()))
}
