//! The connector trait and its request/error types.

use std::time::Duration;

use crate::analyse::Dialect;
use crate::error::ErrorCode;

use super::{Cancel, Catalog, ResultSet, Session};

/// Whether a statement only reads. Connectors run reads in read-only transactions where the
/// database supports it, so a read that the analyser misjudged still cannot write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SELECT and other statements the analyser classified as reads.
    Read,
    /// Everything else that was allowed to run.
    Write,
}

/// Per-datasource execution limits, validated at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The statement is cancelled on the server after this long.
    pub statement_timeout: Duration,
    /// At most this many rows are returned. Connectors fetch one more row than this to tell a
    /// result that fits exactly from one that overflows, and set [`ResultSet::truncated`].
    pub max_rows: u64,
}

/// One statement to run: SQL that the analyser produced (never the caller's raw text) and the
/// caller's positional parameters, bound natively by the connector.
#[derive(Debug, Clone, Copy)]
pub struct ExecRequest<'a> {
    /// The verified, re-serialised statement.
    pub sql: &'a str,
    /// Positional parameters as JSON values; each connector converts them to the types the
    /// database inferred for the placeholders and rejects values that do not fit.
    pub params: &'a [serde_json::Value],
    /// Read-only or not.
    pub mode: Mode,
    /// Timeout and row limit.
    pub limits: Limits,
    /// The role and transaction-local settings to run the statement with; [`Session::NONE`]
    /// for none. A connector that cannot apply a non-empty session refuses the statement.
    pub session: &'a Session,
    /// Stops the statement before its timeout when it fires; [`Cancel::NEVER`] for none.
    pub cancel: &'a Cancel,
}

/// A connector to one database. Implementations own their connection pool, pin the session
/// settings Sluice relies on, and map every database failure to an [`ExecError`].
#[async_trait::async_trait]
pub trait Connector: Send + Sync + 'static {
    /// The SQL dialect statements for this database are analysed in.
    fn dialect(&self) -> Dialect;

    /// Runs one statement and returns at most `limits.max_rows` rows.
    async fn execute(&self, request: ExecRequest<'_>) -> Result<ResultSet, ExecError>;

    /// What of [`ExecRequest::session`] this connector applies, each part lasting exactly as
    /// long as the statement. Default nothing, and such connectors refuse any non-empty session.
    fn session_support(&self) -> SessionSupport {
        SessionSupport::NONE
    }

    /// The connection pool's state now, for the pool gauges of `/metrics`; `None` when the
    /// connector cannot tell.
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }

    /// Checks that the database answers (used by `/readyz` and `sluice check`).
    async fn ping(&self) -> Result<(), ExecError>;

    /// Lists every table and view the connection can see, with their columns, and the schemas
    /// unqualified names resolve in. Read fresh on every call; callers cache it.
    async fn catalog(&self) -> Result<Catalog, ExecError>;
}

/// A connection pool's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStatus {
    /// Connections open and idle.
    pub idle: usize,
    /// Connections lent to a statement.
    pub in_use: usize,
    /// The most connections the pool opens.
    pub max: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

/// The parts of a [`Session`](super::Session) a connector can apply to one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSupport {
    /// A database role the statement runs as, and nothing after it.
    pub role: bool,
    /// Settings that hold for the statement only.
    pub settings: bool,
}

impl SessionSupport {
    /// Neither.
    pub const NONE: SessionSupport = SessionSupport { role: false, settings: false };
    /// Both.
    pub const FULL: SessionSupport = SessionSupport { role: true, settings: true };
}

/// Why a connector could not run a statement. Messages are safe to show the caller: connectors
/// build them from the database's error code and primary message only, never from detail fields
/// that can quote row data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The database rejected the statement.
    #[error("database error{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Upstream {
        /// The database's own error code (SQLSTATE, MySQL error number), if any.
        code: Option<String>,
        /// The sanitised primary message.
        message: String,
    },
    /// The database is unreachable, the connection broke, or the pool is exhausted.
    #[error("datasource unavailable: {0}")]
    Unavailable(String),
    /// The statement did not finish within the statement timeout.
    #[error("statement timed out after {0:?}")]
    Timeout(Duration),
    /// The request's [`Cancel`] fired while the statement ran (the grant it ran under was
    /// revoked); it was stopped on the server. A write may have committed before the signal.
    #[error("the statement was stopped before it finished: the grant it ran under was revoked")]
    Cancelled,
    /// A parameter could not be converted to the type the database expects.
    #[error("parameter ${index}: {message}")]
    Param {
        /// 1-based position of the parameter.
        index: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The result has a column whose type Sluice cannot encode exactly.
    #[error("column {column:?} has type {type_name}, which Sluice cannot encode; cast it (e.g. to text)")]
    UnsupportedType {
        /// The column's name.
        column: String,
        /// The database's name for the type.
        type_name: String,
    },
    /// The request's session (role, settings) cannot be applied on this database, or is not
    /// well-formed; the statement did not run.
    #[error("cannot run the statement in the requested database session: {0}")]
    Session(String),
}

impl ExecError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ExecError::Upstream { .. } => ErrorCode::UpstreamError,
            ExecError::Unavailable(_) => ErrorCode::Unavailable,
            ExecError::Timeout(_) => ErrorCode::Timeout,
            ExecError::Cancelled => ErrorCode::Conflict,
            ExecError::Param { .. } | ExecError::UnsupportedType { .. } => ErrorCode::InvalidRequest,
            // Fail closed: the session carries policy, so this is a refusal, not a fault.
            ExecError::Session(_) => ErrorCode::PolicyDenied,
        }
    }
}

/// The command tag connectors report (`SELECT`, `INSERT`, ...): the statement's first keyword,
/// with the query forms that start otherwise (`WITH`, `VALUES`, `TABLE`) reported as `SELECT`
/// when they only read. The text is the analyser's re-serialised statement, so the first
/// keyword is never hidden behind a comment.
pub fn command_tag(sql: &str, mode: Mode) -> String {
    let word = sql
        .trim_start()
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_uppercase();
    match word.as_str() {
        "" => "UNKNOWN".into(),
        "WITH" | "VALUES" | "TABLE" if mode == Mode::Read => "SELECT".into(),
        _ => word,
    }
}
