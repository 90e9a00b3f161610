//! Sluice's embedded SQLite connector (`rusqlite`, bundled SQLite).
//!
//! # What every statement runs in
//! - A pooled connection opened without `SQLITE_OPEN_CREATE` or URI filenames, with
//!   `SQLITE_DBCONFIG_DEFENSIVE`, `trusted_schema = OFF`, `foreign_keys = ON`, extension loading
//!   off (never enabled) and `SQLITE_LIMIT_ATTACHED = 0`, so `ATTACH` cannot reach other files.
//! - Reads: `PRAGMA query_only = ON` inside a transaction, and the prepared statement must be
//!   read-only by `sqlite3_stmt_readonly`; both are undone before the connection is reused
//!   (a connection that cannot be reset is dropped).
//! - A progress handler that interrupts the statement at its deadline ([`ExecError::Timeout`])
//!   or when the request's cancel fires ([`ExecError::Cancelled`]), and a busy timeout of the same length (still busy -> [`ExecError::Unavailable`]).
//! - At most `max_rows + 1` rows are stepped; the statement is then reset. (Writes with
//!   `RETURNING` have made all their changes at the first step.)
//!
//! # Types (declared column type -> Sluice type)
//! | declared | Sluice |
//! |---|---|
//! | INTEGER affinity (`INT` in the name) | int8 |
//! | REAL affinity (`REAL`, `FLOA`, `DOUB`) | float8 |
//! | TEXT affinity (`CHAR`, `CLOB`, `TEXT`) | text |
//! | BLOB or none declared on a table column | bytes |
//! | NUMERIC, DECIMAL and other NUMERIC affinity | numeric (string) |
//! | BOOLEAN, BOOL | bool (0/1) |
//! | DATE, DATETIME, TIMESTAMP, TIME | text, exactly as stored (SQLite has no date type) |
//! | JSON | json: the text exactly as stored, a string |
//! | expressions (no declared type) | by their values' storage class, as below; all-null -> text |
//!
//! SQLite lets a column hold any storage class. A column is typed as declared only when every
//! value in the result fits the declared type (JSON: text that is JSON; BOOLEAN: 0 or 1);
//! otherwise by the storage classes of its values: integers `int8`, reals `float8`, integers
//! and reals together `numeric` (exact decimal strings), text `text`, blobs `bytes`. A column
//! mixing text or blobs with other classes is [`ExecError::UnsupportedType`]: no one JSON type
//! would keep the integer 5 apart from the text `'5'`. Cast it (`CAST(x AS TEXT)`).
//!
//! # Parameters
//! JSON null -> NULL, bool -> 0/1, integers -> INTEGER (beyond i64 rejected), other numbers ->
//! REAL, strings -> TEXT, arrays and objects -> JSON text. Blobs cannot be passed: use
//! `unhex(?)` in the SQL.

mod catalog;
mod decode;
mod errors;
mod pool;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use sluice_core::analyse::Dialect;
use sluice_core::execute::{
    Cancel, Catalog, Column, Connector, ExecError, ExecRequest, Mode, PoolStatus, ResultSet, Value,
    command_tag,
};

use crate::pool::{Pool, Reuse};

/// How often (in SQLite VM instructions) the deadline is checked: frequent enough to stop
/// within microseconds, rare enough to cost nothing measurable.
const PROGRESS_OPS: i32 = 1000;

/// One SQLite database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The database file. Required. It is never created implicitly, except by `bootstrap`; its
    /// directory must exist.
    pub path: PathBuf,
    /// Maximum open connections. Default 4. SQLite serialises writers; more connections help
    /// concurrent reads only.
    pub pool_size: usize,
    /// SQL files run once, in order, in one transaction, only when `path` does not exist yet
    /// (the quickstart's schema and seed). Default none. If any fails, the new file is removed.
    pub bootstrap: Vec<PathBuf>,
    /// Open the file read-only: every statement fails to write, whatever its mode. Default false.
    pub read_only: bool,
    /// How long a request waits for a free connection. Default 5 s.
    pub acquire_timeout: Duration,
}

impl SqliteOptions {
    /// Options for `path` with the documented defaults.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            pool_size: 4,
            bootstrap: Vec::new(),
            read_only: false,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// An SQLite datasource.
#[derive(Debug, Clone)]
pub struct SqliteConnector {
    pool: Arc<Pool>,
    acquire_timeout: Duration,
}

fn bootstrap(path: &std::path::Path, files: &[PathBuf]) -> Result<(), ExecError> {
    let failed = |what: String| {
        let _ = std::fs::remove_file(path);
        ExecError::Unavailable(what)
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
    let mut conn = Connection::open_with_flags(path, flags)
        .map_err(|e| ExecError::Unavailable(format!("creating {}: {e}", path.display())))?;
    let tx = conn.transaction().map_err(|e| failed(format!("bootstrapping: {e}")))?;
    for file in files {
        let sql = std::fs::read_to_string(file)
            .map_err(|e| failed(format!("reading bootstrap file {}: {e}", file.display())))?;
        tx.execute_batch(&sql)
            .map_err(|e| failed(format!("running bootstrap file {}: {e}", file.display())))?;
    }
    tx.commit().map_err(|e| failed(format!("bootstrapping: {e}")))
}

impl SqliteConnector {
    /// Opens the datasource: if `path` does not exist, creates it and runs the bootstrap files
    /// (blocking file I/O; call at start-up). Connections open lazily.
    ///
    /// # Errors
    /// [`ExecError::Unavailable`] if `pool_size` is 0, the file is missing and there is nothing
    /// to bootstrap it with, its directory does not exist, or a bootstrap file fails.
    pub fn new(opts: SqliteOptions) -> Result<Self, ExecError> {
        if opts.pool_size == 0 {
            return Err(ExecError::Unavailable("pool_size must be at least 1".into()));
        }
        if !opts.path.exists() {
            let dir = opts.path.parent().filter(|d| !d.as_os_str().is_empty());
            if let Some(dir) = dir.filter(|d| !d.is_dir()) {
                return Err(ExecError::Unavailable(format!(
                    "the directory of the SQLite database, {}, does not exist",
                    dir.display()
                )));
            }
            if opts.bootstrap.is_empty() {
                return Err(ExecError::Unavailable(format!(
                    "the SQLite database {} does not exist and no bootstrap files are configured",
                    opts.path.display()
                )));
            }
            bootstrap(&opts.path, &opts.bootstrap)?;
        }
        Ok(SqliteConnector {
            pool: Arc::new(Pool::new(opts.path, opts.pool_size, opts.read_only)),
            acquire_timeout: opts.acquire_timeout,
        })
    }
}

#[async_trait::async_trait]
impl Connector for SqliteConnector {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        Some(self.pool.status())
    }

    async fn execute(&self, request: ExecRequest<'_>) -> Result<ResultSet, ExecError> {
        // SQLite has no roles and no row-level security to hand settings to.
        if !request.session.is_empty() {
            return Err(ExecError::Session(
                "SQLite datasources cannot apply a database role or session settings".into(),
            ));
        }
        let job = Job {
            sql: request.sql.to_owned(),
            params: request.params.to_vec(),
            mode: request.mode,
            timeout: request.limits.statement_timeout,
            max_rows: usize::try_from(request.limits.max_rows).unwrap_or(usize::MAX),
            cancel: request.cancel.clone(),
        };
        self.pool.run(self.acquire_timeout, move |conn| job.run(conn)).await
    }

    async fn ping(&self) -> Result<(), ExecError> {
        self.pool
            .run(self.acquire_timeout, |conn| {
                let result =
                    conn.query_row("SELECT 1", [], |_| Ok(())).map_err(|e| errors::map(e, Duration::ZERO));
                let reuse = if result.is_ok() { Reuse::Keep } else { Reuse::Discard };
                (result, reuse)
            })
            .await
    }

    async fn catalog(&self) -> Result<Catalog, ExecError> {
        self.pool
            .run(self.acquire_timeout, |conn| {
                let result = catalog::read(conn);
                let reuse = if result.is_ok() { Reuse::Keep } else { Reuse::Discard };
                (result, reuse)
            })
            .await
    }
}

/// One statement, owned, for the blocking thread.
struct Job {
    sql: String,
    params: Vec<serde_json::Value>,
    mode: Mode,
    timeout: Duration,
    max_rows: usize,
    /// Polled by the progress handler, like the deadline.
    cancel: Cancel,
}

impl Job {
    fn run(self, conn: &mut Connection) -> (Result<ResultSet, ExecError>, Reuse) {
        let deadline = Instant::now() + self.timeout;
        let cancel = self.cancel.clone();
        let stop = move || Instant::now() >= deadline || cancel.is_fired();
        let set_up = conn
            .busy_timeout(self.timeout)
            .and_then(|()| conn.progress_handler(PROGRESS_OPS, Some(stop)))
            .and_then(|()| match self.mode {
                Mode::Read => conn.execute_batch("PRAGMA query_only = ON; BEGIN"),
                Mode::Write => Ok(()),
            });
        let result = match set_up {
            Ok(()) => self.query(conn),
            Err(e) => Err(errors::map(e, self.timeout)),
        };
        // The progress handler interrupted it for the cancel, not the deadline.
        let result = match result {
            Err(ExecError::Timeout(_)) if self.cancel.is_fired() => Err(ExecError::Cancelled),
            other => other,
        };
        // Undo everything before the connection is reused; if that fails, drop it.
        let reset = conn.progress_handler(0, None::<fn() -> bool>).and_then(|()| match self.mode {
            Mode::Read if conn.is_autocommit() => conn.execute_batch("PRAGMA query_only = OFF"),
            Mode::Read => conn.execute_batch("ROLLBACK; PRAGMA query_only = OFF"),
            Mode::Write if conn.is_autocommit() => Ok(()),
            Mode::Write => conn.execute_batch("ROLLBACK"),
        });
        (result, if reset.is_ok() { Reuse::Keep } else { Reuse::Discard })
    }

    fn query(&self, conn: &Connection) -> Result<ResultSet, ExecError> {
        let map = |e| errors::map(e, self.timeout);
        let mut stmt = conn.prepare(&self.sql).map_err(map)?;
        if self.mode == Mode::Read && !stmt.readonly() {
            return Err(ExecError::Upstream {
                code: Some("SQLITE_READONLY".into()),
                message: "a read request cannot run a statement that writes".into(),
            });
        }
        let expected = stmt.parameter_count();
        if expected != self.params.len() {
            return Err(ExecError::Param {
                index: expected.min(self.params.len()) + 1,
                message: format!(
                    "the statement has {expected} placeholder(s) but {} parameter(s) were given",
                    self.params.len()
                ),
            });
        }
        for (i, p) in self.params.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, decode::param(i + 1, p)?).map_err(map)?;
        }
        let names: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let declared: Vec<decode::Declared> =
            stmt.columns().iter().map(|c| decode::declared(c.decl_type())).collect();
        // Rows are decoded once all are read: a column's type depends on every value in it.
        let mut raw_rows: Vec<Vec<rusqlite::types::Value>> = Vec::new();
        let mut truncated = false;
        let mut raw = stmt.raw_query();
        while let Some(row) = raw.next().map_err(map)? {
            if raw_rows.len() >= self.max_rows {
                truncated = true;
                break;
            }
            let values: Result<Vec<_>, _> =
                (0..names.len()).map(|i| row.get::<_, rusqlite::types::Value>(i)).collect();
            raw_rows.push(values.map_err(map)?);
        }
        drop(raw);
        drop(stmt);
        let mut columns = Vec::with_capacity(names.len());
        let mut decoders = Vec::with_capacity(names.len());
        for (i, (name, d)) in names.into_iter().zip(&declared).enumerate() {
            let values = raw_rows.iter().filter_map(|r| r.get(i)).map(rusqlite::types::ValueRef::from);
            let decoder = decode::settle(*d, values)
                .map_err(|type_name| ExecError::UnsupportedType { column: name.clone(), type_name })?;
            columns.push(Column { name, type_name: decoder.type_name().to_owned() });
            decoders.push(decoder);
        }
        let rows = raw_rows
            .iter()
            .map(|row| {
                row.iter().zip(&decoders).map(|(v, d)| d.value(rusqlite::types::ValueRef::from(v))).collect()
            })
            .collect::<Result<Vec<Vec<Value>>, ExecError>>()?;
        let rows_affected = match self.mode {
            Mode::Read => None,
            Mode::Write => Some(conn.changes()),
        };
        Ok(ResultSet { command: command_tag(&self.sql, self.mode), columns, rows, truncated, rows_affected })
    }
}
