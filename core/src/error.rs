//! The one error type that leaves the pipeline, and its stable codes.
//!
//! Every stage has its own error type; each converts into [`Error`] here, and [`Error`] becomes an
//! HTTP response in exactly one place (`http::error`). The codes are a documented contract
//! (README, "Error codes"); a test checks that the table there and [`ErrorCode::ALL`] agree.

use crate::access::{AccessError, AccessRequest};
use crate::analyse::AnalyseError;
use crate::auth::AuthError;
use crate::execute::ExecError;
use crate::policy::{ApprovalRequest, Denial};
use crate::rewrite::RewriteError;

/// The stable, machine-readable code of an [`Error`], as sent in `{"error": {"code": ...}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request itself is malformed: bad JSON, unknown datasource, bad parameters, limits.
    InvalidRequest,
    /// The SQL does not parse in the datasource's dialect, or is not exactly one statement.
    SqlParseError,
    /// No credentials, or credentials that do not verify.
    Unauthenticated,
    /// The statement parses but its kind is not allowed here (session control, procedural code, ...).
    StatementNotAllowed,
    /// A policy plugin refused the statement, or failed (fail closed); the message names it.
    PolicyDenied,
    /// Policy requires a human's approval first; the body carries the access request filed.
    ApprovalRequired,
    /// No such access request or grant, or none the caller may see.
    NotFound,
    /// The caller may not do this (not an approver; their own request).
    Forbidden,
    /// The access request or grant is not in a state that allows this (already decided,
    /// expired, a one-time grant already used).
    Conflict,
    /// The statement ran longer than the datasource's statement timeout.
    Timeout,
    /// The request body or the result is over a configured limit.
    TooLarge,
    /// The database answered with an error (message sanitised).
    UpstreamError,
    /// The database cannot be reached or its pool is exhausted.
    Unavailable,
    /// A fault inside Sluice; the cause is logged, never sent.
    Internal,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::InvalidRequest,
        ErrorCode::SqlParseError,
        ErrorCode::Unauthenticated,
        ErrorCode::StatementNotAllowed,
        ErrorCode::PolicyDenied,
        ErrorCode::ApprovalRequired,
        ErrorCode::NotFound,
        ErrorCode::Forbidden,
        ErrorCode::Conflict,
        ErrorCode::Timeout,
        ErrorCode::TooLarge,
        ErrorCode::UpstreamError,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::SqlParseError => "sql_parse_error",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::StatementNotAllowed => "statement_not_allowed",
            ErrorCode::PolicyDenied => "policy_denied",
            ErrorCode::ApprovalRequired => "approval_required",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Timeout => "timeout",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UpstreamError => "upstream_error",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status that carries this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest | ErrorCode::SqlParseError => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::ApprovalRequired => 202,
            ErrorCode::StatementNotAllowed | ErrorCode::PolicyDenied | ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::Internal => 500,
            ErrorCode::UpstreamError => 502,
            ErrorCode::Unavailable => 503,
            ErrorCode::Timeout => 504,
        }
    }
}

/// Why a request failed. The `Display` text of each variant is safe to send to the caller.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; the message says what to fix.
    #[error("{0}")]
    InvalidRequest(String),
    /// The caller could not be authenticated.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The statement was refused by the analyser.
    #[error(transparent)]
    Analyse(#[from] AnalyseError),
    /// The statement's kind is not enabled on the datasource (`statements = [...]`).
    #[error("{} statements are not enabled on datasource {datasource:?}", kind.name())]
    KindNotAllowed {
        /// The statement's kind.
        kind: crate::analyse::StatementKind,
        /// The datasource's name.
        datasource: String,
    },
    /// The policy chain refused the statement: a plugin denied it or failed. Never empty.
    #[error("{}", denial_message(.0))]
    PolicyDenied(Vec<Denial>),
    /// The policy chain allowed the statement only with a rewrite (row filters, masks, session
    /// settings, role) that this build cannot apply yet: refused rather than run unrestricted.
    #[error(
        "datasource {datasource:?} requires {what} (asked for by policy plugin `{plugin}`), which this \
         build of Sluice cannot apply yet; the statement is refused rather than run without it"
    )]
    PolicyUnenforceable {
        /// The datasource.
        datasource: String,
        /// The first plugin that asked.
        plugin: String,
        /// What it asked for: `row filtering`, `column masking`, ...
        what: &'static str,
    },
    /// The database session a statement needs (native row-level security, plugin session
    /// settings) cannot be set up for this request: refused rather than run without it.
    #[error("datasource {datasource:?} refuses the statement: {reason}")]
    SessionRefused {
        /// The datasource.
        datasource: String,
        /// Why.
        reason: crate::execute::SessionRefusal,
    },
    /// The policy chain requires a human's approval before the statement may run, and no
    /// grant covers it; the access request filed for it (or joined), when the store took it.
    #[error(
        "approval required by policy plugin(s) {}: {}{}",
        .0.plugins.join(", "),
        .0.reasons.join("; "),
        .1.as_ref().map(|r| format!(" (access request {}, {})", r.id, r.status.name())).unwrap_or_default()
    )]
    ApprovalRequired(ApprovalRequest, Option<Box<AccessRequest>>),
    /// An access request or grant operation failed.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The statement could not be rewritten to honour its row filters and masks.
    #[error(transparent)]
    Rewrite(#[from] RewriteError),
    /// The datasource failed to run the statement.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// The result is over the datasource's row or byte limit and the datasource rejects overflow.
    #[error("{0}")]
    TooLarge(String),
    /// The audit log could not take the statement's record, and `[audit] fail_closed` keeps
    /// unrecorded statements from running. The cause is logged, not shown (it names files).
    #[error("the audit log cannot be written, so the statement did not run")]
    AuditUnavailable(#[source] crate::audit::log::AuditError),
    /// A fault inside Sluice. The message is logged; the caller sees a generic text.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Error::Auth(_) => ErrorCode::Unauthenticated,
            Error::Analyse(e) => e.code(),
            Error::KindNotAllowed { .. } => ErrorCode::StatementNotAllowed,
            Error::PolicyDenied(_) | Error::PolicyUnenforceable { .. } | Error::SessionRefused { .. } => {
                ErrorCode::PolicyDenied
            }
            Error::ApprovalRequired(..) => ErrorCode::ApprovalRequired,
            Error::Access(e) => match e {
                AccessError::NotFound(_) => ErrorCode::NotFound,
                AccessError::Forbidden(_) => ErrorCode::Forbidden,
                AccessError::Conflict(_) => ErrorCode::Conflict,
                AccessError::Unavailable(_) => ErrorCode::Unavailable,
            },
            Error::Rewrite(e) => e.code(),
            Error::Exec(e) => e.code(),
            Error::TooLarge(_) => ErrorCode::TooLarge,
            Error::AuditUnavailable(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// `denied by policy plugin `a`: reason; also denied by `b`: ...`; failures say so and give
/// their stable kind, e.g. `policy plugin `x` failed (timeout): it ran past its 100 ms limit`.
fn denial_message(denials: &[Denial]) -> String {
    let one = |d: &Denial| match d.failure {
        Some(kind) => format!("policy plugin `{}` failed ({}): {}", d.plugin, kind.name(), d.reason),
        None => format!("denied by policy plugin `{}`: {}", d.plugin, d.reason),
    };
    let mut parts = denials.iter().map(one);
    let mut message = parts.next().unwrap_or_else(|| "denied by policy".to_string());
    for rest in parts {
        message.push_str("; also ");
        message.push_str(&rest);
    }
    message
}
