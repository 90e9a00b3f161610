//! One request's record: what it did, filled by the stages as they run and read once, at the
//! request's single exit.
//!
//! [`Gateway::query`](crate::gateway::Gateway::query) wraps the stages so that every path out
//! of them, the early refusals included, passes through that exit: no path can leave a request
//! unrecorded. The request span's summary fields and the metrics are written from it there.

use std::time::{Duration, Instant};

use crate::analyse::StatementKind;
use crate::error::ErrorCode;

/// What one `POST /v1/query` did. Plain data: names and counts, never SQL text or values.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// When the request reached the gateway.
    pub started: Instant,
    /// The datasource, once the request named a known one.
    pub datasource: Option<String>,
    /// The database's name in telemetry (`postgresql`, `mysql`, `sqlite`).
    pub db_system: Option<&'static str>,
    /// The statement kind, once analysed.
    pub kind: Option<StatementKind>,
    /// The policy chain's verdict (`allow`, `deny`, ...), or `granted` when a grant satisfied
    /// an approval; `None` when no plugin judged the statement.
    pub verdict: Option<&'static str>,
    /// The plugins that judged it, in order.
    pub plugins: Vec<String>,
    /// The grant it ran under.
    pub grant: Option<String>,
    /// How long the database took, once it ran.
    pub executed_in: Option<Duration>,
    /// Rows returned.
    pub rows: Option<usize>,
    /// The outcome: `None` for success, else the error's code.
    pub error: Option<ErrorCode>,
}

impl RequestRecord {
    /// An empty record of a request starting now.
    pub fn start() -> Self {
        RequestRecord {
            started: Instant::now(),
            datasource: None,
            db_system: None,
            kind: None,
            verdict: None,
            plugins: Vec::new(),
            grant: None,
            executed_in: None,
            rows: None,
            error: None,
        }
    }

    /// The outcome's label: `ok` or the error code.
    pub fn outcome(&self) -> &'static str {
        self.error.map_or("ok", ErrorCode::as_str)
    }
}
