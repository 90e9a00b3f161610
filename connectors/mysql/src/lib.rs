//! Sluice's MySQL / MariaDB connector (`mysql_async`, no TLS yet).
//!
//! # What every statement runs in
//! - A pooled connection whose session is pinned by `setup` statements, which `mysql_async`
//!   runs on every new connection *and* after each `COM_RESET_CONNECTION` the pool issues when
//!   a connection is returned (plain `init` statements would be lost at the first reset):
//!   `SET NAMES utf8mb4` and `sql_mode` = [`SQL_MODE`] (deliberately without `ANSI_QUOTES` and
//!   `NO_BACKSLASH_ESCAPES`: the analyser parses assuming both are off), `time_zone = '+00:00'`.
//! - One prepared statement (`COM_STMT_PREPARE` cannot hold several statements, so the
//!   multi-statement capability `mysql_async` negotiates is never usable; `LOAD DATA LOCAL` is
//!   not preparable and no local-infile handler is installed).
//! - Reads on a pool of its own whose sessions are pinned `SESSION TRANSACTION READ ONLY` (so
//!   the read's single autocommit statement is a read-only transaction, without a `START
//!   TRANSACTION` and a `COMMIT` round trip each); writes on the other pool, in autocommit.
//! - A role template's role (the only session part MySQL takes): `SET ROLE` before the
//!   statement and `SET ROLE NONE` after it, on the same connection; a connection whose role
//!   could not be unset is closed rather than pooled, so no later statement inherits it.
//! - A client-side deadline of `statement_timeout`. When it fires, a separate short-lived
//!   connection sends `KILL CONNECTION <id>`: that stops the statement on MySQL and MariaDB
//!   alike (unlike `max_statement_time` / `max_execution_time`, which differ between them and
//!   cover only some statements), and the killed connection is discarded by the pool. The
//!   request's cancel (its grant revoked) takes the same path at once ([`ExecError::Cancelled`]).
//! - At most `max_rows + 1` rows are decoded; the rest of the result is read and discarded
//!   (the protocol cannot stop a result early without a cursor), still under the deadline.
//!
//! # Types (column type -> Sluice type)
//! | MySQL / MariaDB | Sluice |
//! |---|---|
//! | TINYINT, SMALLINT (signed), YEAR | int2 (JSON number) |
//! | SMALLINT UNSIGNED, MEDIUMINT, INT | int4 (JSON number) |
//! | INT UNSIGNED, BIGINT | int8 (string) |
//! | BIGINT UNSIGNED | numeric (string) |
//! | FLOAT, DOUBLE | float4, float8 |
//! | DECIMAL | numeric (exact string) |
//! | CHAR, VARCHAR, TEXT, ENUM, SET (and MariaDB's INET4, INET6, UUID) | text |
//! | BINARY, VARBINARY, BLOB, BIT | bytes |
//! | JSON (MySQL) | json: the JSON text as the server sent it; MariaDB's JSON is LONGTEXT on the wire, so it is text |
//! | DATE, DATETIME | date, timestamp; `text` (MariaDB's own text) if any value in the result is a zero or invalid date |
//! | TIMESTAMP | timestamptz (UTC `Z`; the session time zone is pinned to UTC); `text` as above |
//! | TIME | time; `interval` (ISO 8601 hours) if any value in the result is negative or 24 h or more |
//! | GEOMETRY | geometry: base64 of the stored bytes (4-byte little-endian SRID, then WKB) |
//! | VECTOR (MySQL 9) | vector: a JSON array of float4 numbers, each the shortest decimal that reads back as the same `f32`; NaN and infinities as the words float columns use |
//!
//! VECTOR is decoded from its wire form (a length-prefixed string of little-endian `f32`s, which
//! `mysql_common` hands over as bytes) and checked on bytes only: no MySQL 9 server runs in the
//! tests. Other column types are [`ExecError::UnsupportedType`]. Fractions of seconds: six
//! digits, only when nonzero. See `temporal` for zero dates and durations.
//!
//! # Parameters
//! JSON null -> NULL, bool -> 1/0, integers -> integer, other numbers -> DOUBLE, strings as
//! strings (the server converts them for DECIMAL, DATE, ... columns), arrays and objects as JSON
//! text. Binary values cannot be passed; use `FROM_BASE64(?)` in the SQL.

mod catalog;
mod decode;
mod errors;
mod temporal;

use std::time::Duration;

use mysql_async::prelude::Queryable as _;
use mysql_async::{Conn, Opts, OptsBuilder, Params, Pool, PoolConstraints, PoolOpts};
use sluice_core::analyse::Dialect;
use sluice_core::execute::{
    Catalog, Connector, ExecError, ExecRequest, Mode, PoolStatus, ResultSet, SessionSupport, command_tag,
};

/// The pinned `sql_mode`: strict, no zero dates, and none of the modes that change how SQL
/// text parses (`ANSI_QUOTES`, `NO_BACKSLASH_ESCAPES`, `PIPES_AS_CONCAT`).
pub const SQL_MODE: &str =
    "STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";

/// How long an idle pooled connection is kept before it is closed.
const IDLE_CONNECTION_TTL: Duration = Duration::from_secs(300);

/// How long listing the catalog may take before the connection is discarded.
const CATALOG_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach one MySQL or MariaDB database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlOptions {
    /// Connection URL, e.g. `mysql://sluice:secret@db.internal:3306/app`. Required.
    /// Security: it may carry a password; never log it.
    pub url: String,
    /// Maximum open connections for reads, and as many again for writes. Default 10.
    /// Connections open lazily, on first use.
    pub pool_size: usize,
    /// Limit for getting a connection: opening one, or waiting for a free one when the pool is
    /// exhausted. Default 5 s. A short value makes an unreachable database fail fast.
    pub connect_timeout: Duration,
}

impl MySqlOptions {
    /// Options for `url` with the documented defaults.
    pub fn new(url: impl Into<String>) -> Self {
        MySqlOptions { url: url.into(), pool_size: 10, connect_timeout: Duration::from_secs(5) }
    }
}

/// A MySQL / MariaDB datasource: two lazily connecting pools (reads, writes) plus the
/// execution rules above.
#[derive(Debug, Clone)]
pub struct MySqlConnector {
    /// Sessions pinned read-only: a read is one statement, with no transaction around it.
    reads: Pool,
    writes: Pool,
    opts: Opts,
    connect_timeout: Duration,
    /// Each pool's most connections.
    pool_size: usize,
}

impl MySqlConnector {
    /// Builds the pool without connecting, so Sluice starts while the database is down and
    /// recovers when it returns. Must be called inside a Tokio runtime.
    ///
    /// # Errors
    /// [`ExecError::Unavailable`] if the URL does not parse or `pool_size` is 0.
    pub fn new(opts: MySqlOptions) -> Result<Self, ExecError> {
        let parsed = Opts::from_url(&opts.url)
            .map_err(|e| ExecError::Unavailable(format!("invalid MySQL URL: {e}")))?;
        let constraints = PoolConstraints::new(0, opts.pool_size)
            .ok_or_else(|| ExecError::Unavailable("pool_size must be at least 1".into()))?;
        let pinned =
            format!("SET NAMES utf8mb4, SESSION sql_mode = '{SQL_MODE}', SESSION time_zone = '+00:00'");
        let built = |setup: Vec<String>| -> Opts {
            OptsBuilder::from_opts(parsed.clone())
                // The pool runs these after every connection reset, a round trip each.
                .setup(setup)
                .pool_opts(
                    PoolOpts::default()
                        .with_constraints(constraints)
                        // Without a TTL, mysql_async keeps only `min` (0) idle connections and
                        // closes every other one it gets back: each statement then opened a
                        // new connection. Idle ones now stay (up to `max`) for this long.
                        .with_inactive_connection_ttl(IDLE_CONNECTION_TTL)
                        .with_reset_connection(true),
                )
                // `rows_affected` counts the rows a write matched, as on PostgreSQL and SQLite,
                // not the rows whose value it changed: the latter tells a writer whether a
                // value it wrote equals the one stored, even in a column it may only see masked.
                .client_found_rows(true)
                .into()
        };
        // Every transaction of a read session is read-only, the single statement of a read
        // included: the guarantee `START TRANSACTION READ ONLY` gave, without its two round
        // trips per read. The reset restores it with the rest of the setup. (It cannot join
        // the `SET` above, and the variable behind it is named differently in MySQL and
        // MariaDB.)
        let reads = built(vec![pinned.clone(), "SET SESSION TRANSACTION READ ONLY".into()]);
        let writes = built(vec![pinned]);
        Ok(MySqlConnector {
            reads: Pool::new(reads),
            writes: Pool::new(writes.clone()),
            opts: writes,
            connect_timeout: opts.connect_timeout,
            pool_size: opts.pool_size,
        })
    }

    async fn checkout(&self, mode: Mode) -> Result<Conn, ExecError> {
        let pool = match mode {
            Mode::Read => &self.reads,
            Mode::Write => &self.writes,
        };
        match tokio::time::timeout(self.connect_timeout, pool.get_conn()).await {
            Ok(conn) => conn.map_err(|e| match errors::map(&e, Duration::ZERO) {
                ExecError::Upstream { code, message } => ExecError::Unavailable(format!(
                    "{}{message}",
                    code.map(|c| format!("{c}: ")).unwrap_or_default()
                )),
                other => other,
            }),
            Err(_) => {
                Err(ExecError::Unavailable("no database connection could be opened or freed in time".into()))
            }
        }
    }
}

/// Stops connection `id`'s statement for certain, from a fresh connection (the pool may be
/// exhausted by the very statement being killed).
async fn kill(opts: Opts, id: u32, within: Duration) {
    let attempt = async {
        let mut conn = Conn::new(opts).await?;
        conn.query_drop(format!("KILL CONNECTION {id}")).await?;
        conn.disconnect().await
    };
    match tokio::time::timeout(within, attempt).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, id, "killing a timed-out MySQL statement failed"),
        Err(_) => tracing::warn!(id, "killing a timed-out MySQL statement timed out"),
    }
}

#[async_trait::async_trait]
impl Connector for MySqlConnector {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    fn session_support(&self) -> SessionSupport {
        // A role, set for the statement and unset after it; MySQL has no row-level security
        // to read settings.
        SessionSupport { role: true, settings: false }
    }

    /// Both pools together: reads and writes share the datasource's gauges.
    fn pool_status(&self) -> Option<PoolStatus> {
        use std::sync::atomic::Ordering::Relaxed;
        let (mut open, mut idle, mut waiting) = (0, 0, 0);
        for pool in [&self.reads, &self.writes] {
            let metrics = pool.metrics();
            open += metrics.connection_count.load(Relaxed);
            idle += metrics.connections_in_pool.load(Relaxed);
            waiting += metrics.active_wait_requests.load(Relaxed);
        }
        Some(PoolStatus { idle, in_use: open.saturating_sub(idle), max: 2 * self.pool_size, waiting })
    }

    async fn execute(&self, request: ExecRequest<'_>) -> Result<ResultSet, ExecError> {
        if !request.session.settings.is_empty() {
            return Err(ExecError::Session("MySQL datasources cannot apply session settings".into()));
        }
        let limit = request.limits.statement_timeout;
        let mut conn = self.checkout(request.mode).await?;
        let id = conn.id();
        let stopped = tokio::select! {
            finished = tokio::time::timeout(limit, run(&mut conn, &request)) => match finished {
                Ok(finished) => Ok(finished),
                Err(_) => Err(ExecError::Timeout(limit)),
            },
            () = request.cancel.fired() => Err(ExecError::Cancelled),
        };
        let stopped = match stopped {
            Ok((result, true)) => return result,
            Ok((result, false)) => {
                tokio::spawn(async move {
                    if let Err(e) = conn.disconnect().await {
                        tracing::debug!(error = %e, "closing a MySQL connection failed");
                    }
                });
                return result;
            }
            Err(stopped) => stopped,
        };
        let (opts, within) = (self.opts.clone(), self.connect_timeout);
        tokio::spawn(async move {
            kill(opts, id, within).await;
            // Returned to the pool only now; its clean-up then fails on the killed
            // connection and the pool discards it.
            drop(conn);
        });
        Err(stopped)
    }

    async fn ping(&self) -> Result<(), ExecError> {
        let mut conn = self.checkout(Mode::Read).await?;
        match tokio::time::timeout(self.connect_timeout, conn.ping()).await {
            Ok(result) => result.map_err(|e| errors::map(&e, self.connect_timeout)),
            Err(_) => Err(ExecError::Unavailable("the database did not answer a ping in time".into())),
        }
    }

    async fn catalog(&self) -> Result<Catalog, ExecError> {
        let mut conn = self.checkout(Mode::Read).await?;
        let id = conn.id();
        match tokio::time::timeout(CATALOG_TIMEOUT, catalog::read(&mut conn)).await {
            Ok(result) => result,
            Err(_) => {
                let (opts, within) = (self.opts.clone(), self.connect_timeout);
                tokio::spawn(async move {
                    kill(opts, id, within).await;
                    drop(conn);
                });
                Err(ExecError::Timeout(CATALOG_TIMEOUT))
            }
        }
    }
}

/// Runs the statement of `req` on `conn`, as its role if it names one; the result, and whether
/// `conn` is fit to go back to the pool.
async fn run(conn: &mut Conn, req: &ExecRequest<'_>) -> (Result<ResultSet, ExecError>, bool) {
    let params = if req.params.is_empty() {
        Params::Empty
    } else {
        Params::Positional(req.params.iter().map(decode::param).collect())
    };
    let Some(role) = &req.session.role else {
        // Reads run on read-only sessions (see `MySqlConnector::new`), writes in autocommit.
        return (fetch(conn, req, params).await, true);
    };
    // The role holds from here to the `SET ROLE NONE` below; a connection whose role could
    // not be unset is not clean, and the caller closes it instead of pooling it.
    let map = |e: mysql_async::Error| errors::map(&e, req.limits.statement_timeout);
    if let Err(e) = conn.query_drop(format!("SET ROLE {}", quote_identifier(role))).await {
        return (Err(map(e)), false);
    }
    let result = fetch(conn, req, params).await;
    match conn.query_drop("SET ROLE NONE").await {
        Ok(()) => (result, true),
        Err(e) => {
            tracing::warn!(error = %e, "cannot unset a MySQL role after a statement; closing the connection");
            (result, false)
        }
    }
}

/// `name` as a backquoted MySQL identifier.
fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

async fn fetch(
    conn: &mut impl mysql_async::prelude::Queryable,
    req: &ExecRequest<'_>,
    params: Params,
) -> Result<ResultSet, ExecError> {
    let limit = req.limits.statement_timeout;
    let map = |e: mysql_async::Error| errors::map(&e, limit);
    let statement = conn.prep(req.sql).await.map_err(map)?;
    if usize::from(statement.num_params()) != req.params.len() {
        return Err(ExecError::Param {
            index: usize::from(statement.num_params()).min(req.params.len()) + 1,
            message: format!(
                "the statement has {} placeholder(s) but {} parameter(s) were given",
                statement.num_params(),
                req.params.len()
            ),
        });
    }
    let mut result = conn.exec_iter(&statement, params).await.map_err(map)?;
    let cols = result.columns().unwrap_or_default();
    let (mut columns, mut kinds) = decode::columns(&cols)?;
    let max_rows = usize::try_from(req.limits.max_rows).unwrap_or(usize::MAX);
    // Rows are decoded once all are read: a temporal column's type depends on every value.
    let mut raw_rows = Vec::new();
    let mut truncated = false;
    while let Some(row) = result.next().await.map_err(map)? {
        if raw_rows.len() >= max_rows {
            truncated = true;
            break;
        }
        raw_rows.push(row.unwrap());
    }
    let affected = result.affected_rows();
    result.drop_result().await.map_err(map)?;
    decode::settle(&cols, &mut columns, &mut kinds, &raw_rows);
    let rows =
        raw_rows.into_iter().map(|row| decode::row(row, &columns, &kinds)).collect::<Result<Vec<_>, _>>()?;
    let rows_affected = match req.mode {
        Mode::Read => None,
        Mode::Write if columns.is_empty() => Some(affected),
        Mode::Write => Some(rows.len() as u64),
    };
    Ok(ResultSet { columns, rows, truncated, command: command_tag(req.sql, req.mode), rows_affected })
}
