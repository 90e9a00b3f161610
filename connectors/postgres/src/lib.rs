//! Sluice's PostgreSQL connector (`tokio-postgres` + `deadpool-postgres`, no TLS yet).
//!
//! # What every statement runs in
//! - A connection whose session settings are pinned in the startup packet, so they hold from the
//!   first byte and `RESET ALL` returns to them: `standard_conforming_strings=on`,
//!   `TimeZone=UTC`, `DateStyle=ISO`, `IntervalStyle=iso_8601`, `bytea_output=hex`,
//!   `extra_float_digits=1` (the last two fix the text of values inside records and ranges),
//!   and `default_transaction_read_only=on`.
//! - The statement prepared once per connection (typed placeholders and columns; at most 256
//!   kept per connection), then a pipeline sent before any answer is read (see `run`): `BEGIN
//!   READ ONLY` for reads (`READ WRITE` for writes) with `SET LOCAL statement_timeout`, the
//!   statement, and for a read whose values decode without the server, `COMMIT` and the session
//!   reset: one round trip. Writes commit after their rows are decoded. A read past `max_rows` is
//!   cancelled on the server and its connection closed.
//! - When the request carries a [`Session`](sluice_core::execute::Session) (native row-level
//!   security, plugin session settings): `SET LOCAL ROLE "<role>"` and
//!   `set_config(name, value, true)` for each setting, in the same transaction and before the
//!   statement. Both are transaction-local, so they end with the commit or rollback and never
//!   reach the next caller of the pooled connection. Names and values are bound parameters;
//!   the role, which `SET ROLE` cannot take as a parameter, is quoted as an identifier.
//! - After every statement, with its transaction's end: `CLOSE ALL; SET SESSION AUTHORIZATION
//!   DEFAULT; RESET ALL; UNLISTEN *; pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES`,
//!   since a function the statement called may have changed the session. A connection returns to
//!   the pool only after that succeeded; the pool itself only checks that it is open.
//! - A client-side deadline a little after the server's: if it fires, a cancel request is sent
//!   and the connection is dropped from the pool, so a wedged connection is never reused. The
//!   request's cancel (its grant revoked) takes the same path at once ([`ExecError::Cancelled`]).
//!
//! # Types (column type -> Sluice type, JSON form)
//! | PostgreSQL | Sluice | notes |
//! |---|---|---|
//! | bool | bool | |
//! | int2, int4 | int2, int4 | JSON number |
//! | int8, oid | int8 | string |
//! | float4, float8 | float4, float8 | float4 via its shortest decimal |
//! | numeric | numeric | exact string, `NaN`, `Infinity`, `-Infinity` |
//! | money | money | exact string with the fraction digits of the server's `lc_monetary` |
//! | text, varchar, bpchar, name, citext, "char", xml, refcursor, unknown, enums | text | `"char"` as `charout` prints it (`""` for NUL, `\ooo` above 127) |
//! | inet, cidr | text | as PostgreSQL prints them |
//! | bytea | bytes | |
//! | uuid | uuid | |
//! | json, jsonb | json | a string: the JSON text as the server sent it (jsonb canonical) |
//! | date, time, timestamp, timestamptz, interval | same | see `datetime` formats below |
//! | timetz | timetz | `HH:MM:SS[.ffffff]+HH:MM[:SS]` |
//! | every other type | its own name | a string: the text PostgreSQL prints for it |
//! | domains | their base type | |
//! | void (e.g. `pg_sleep`) | text | always null |
//! | arrays of the above | `T[]` | multi-dimensional arrays nest; lower bounds dropped |
//!
//! "Every other type" is decoded from its binary form into the text PostgreSQL's output
//! function prints (ranges and multiranges, records and composites, bit strings, MAC
//! addresses, geometric types, `tsvector`, `jsonpath`, `pg_lsn`, `tid`, `xid`, `xid8`, `cid`,
//! snapshots), except where only the server can print it: the reg* types, `tsquery`, money
//! inside a record or range, and types that are not built in (extension types, user-defined
//! multiranges) are printed by the server with `format('%s', $1)` in the statement's own
//! transaction, one extra round trip per result that has them. A type the server cannot take
//! back is [`ExecError::UnsupportedType`] (e.g. `pg_ndistinct`).
//!
//! `aclitem` and `gtsvector` have no binary form at all: a column holding them (directly, as
//! array elements, in a composite's fields) is cast to text by preparing the statement again,
//! wrapped (see `astext`): one extra round trip before it runs. The text is what PostgreSQL
//! prints (`"postgres=arwdDxt/postgres"`); the type keeps its name (`aclitem`, `aclitem[]`).
//! A statement that cannot be wrapped is [`ExecError::UnsupportedType`] before it runs. An
//! anonymous record holding one fails on the server (42883) when it is sent, since its fields'
//! types are known only then.
//!
//! # Parameters (JSON -> placeholder type the server inferred)
//! null -> NULL of any type; bool; integers from JSON integers or decimal strings (range
//! checked); floats from numbers or `"NaN"`/`"Infinity"`/`"-Infinity"`; numeric and money from
//! numbers or decimal strings; text types from strings; bytea from standard base64; uuid from
//! strings; json/jsonb from any JSON value (JSON `null` is SQL NULL); date/time/timestamp from
//! ISO strings; timestamptz from RFC 3339 (no offset = UTC); interval and inet/cidr from strings
//! PostgreSQL parses; arrays from JSON arrays (one dimension, null elements allowed).

mod astext;
mod catalog;
mod datetime;
mod decode;
mod errors;
mod numeric;
mod params;
mod run;
mod types;

use std::str::FromStr as _;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};
use sluice_core::analyse::Dialect;
use sluice_core::execute::{
    Catalog, Connector, ExecError, ExecRequest, PoolStatus, ResultSet, SessionSupport,
};
use tokio_postgres::NoTls;

use crate::run::Lease;

/// Session settings pinned on every connection, as `-c` startup options.
/// `bytea_output` and `extra_float_digits` fix the text of values inside canonical texts
/// Sluice prints itself (a bytea field of a record, a point's coordinates).
/// `default_transaction_read_only` makes a statement that somehow ran outside the transaction
/// Sluice opens for it read-only all the same.
const SESSION_OPTIONS: &str = "-c standard_conforming_strings=on -c TimeZone=UTC -c DateStyle=ISO \
                               -c IntervalStyle=iso_8601 -c bytea_output=hex -c extra_float_digits=1 \
                               -c default_transaction_read_only=on";

/// How long listing the catalog may take before the connection is dropped.
const CATALOG_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach one PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Connection URL, e.g. `postgres://sluice@db.internal:5432/app`. Required, no default.
    /// Security: it may carry a password; never log it. Sluice appends its own `options`
    /// (session settings), which win over any given here.
    pub url: String,
    /// Maximum open connections. Default 10. Connections open lazily, on first use.
    pub pool_size: usize,
    /// Limit for opening one TCP connection + startup, and for pool checks of idle connections.
    /// Default 5 s. A short value makes an unreachable database fail fast as `unavailable`.
    pub connect_timeout: Duration,
    /// `application_name` shown in `pg_stat_activity`. Default `sluice`.
    pub application_name: String,
}

impl PostgresOptions {
    /// Options for `url` with the documented defaults.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresOptions {
            url: url.into(),
            pool_size: 10,
            connect_timeout: Duration::from_secs(5),
            application_name: "sluice".into(),
        }
    }
}

/// A PostgreSQL datasource: a lazily connecting pool plus the execution rules above.
#[derive(Debug, Clone)]
pub struct PostgresConnector {
    pool: Pool,
    connect_timeout: Duration,
}

impl PostgresConnector {
    /// Builds the pool without connecting, so Sluice starts while the database is down and
    /// recovers when it returns.
    ///
    /// # Errors
    /// [`ExecError::Unavailable`] if the URL does not parse or `pool_size` is 0.
    pub fn new(opts: PostgresOptions) -> Result<Self, ExecError> {
        let mut config = tokio_postgres::Config::from_str(&opts.url)
            .map_err(|e| ExecError::Unavailable(format!("invalid PostgreSQL URL: {e}")))?;
        if opts.pool_size == 0 {
            return Err(ExecError::Unavailable("pool_size must be at least 1".into()));
        }
        let options = match config.get_options() {
            Some(given) if !given.is_empty() => format!("{given} {SESSION_OPTIONS}"),
            _ => SESSION_OPTIONS.to_owned(),
        };
        config
            .options(&options)
            .application_name(&opts.application_name)
            .connect_timeout(opts.connect_timeout);
        // Every statement resets its session before its connection is reused (see `run`), so
        // the pool only checks that a connection is still open.
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(opts.pool_size)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| ExecError::Unavailable(format!("building the connection pool: {e}")))?;
        Ok(PostgresConnector { pool, connect_timeout: opts.connect_timeout })
    }

    async fn checkout(&self, wait: Duration) -> Result<Object, ExecError> {
        let timeouts = Timeouts {
            wait: Some(wait),
            create: Some(self.connect_timeout),
            recycle: Some(self.connect_timeout),
        };
        self.pool.timeout_get(&timeouts).await.map_err(errors::pool)
    }
}

/// `name` as a double-quoted identifier, inner quotes doubled. The caller has refused NUL.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The client-side deadline: the server's `statement_timeout` plus a margin for its cancel
/// to arrive, so the server-side error (cleaner, keeps the connection) normally wins.
fn client_deadline(limit: Duration) -> Duration {
    limit + Duration::from_millis(250) + limit / 10
}

#[async_trait::async_trait]
impl Connector for PostgresConnector {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn session_support(&self) -> SessionSupport {
        SessionSupport::FULL
    }

    fn pool_status(&self) -> Option<PoolStatus> {
        let status = self.pool.status();
        Some(PoolStatus {
            idle: status.available,
            in_use: status.size.saturating_sub(status.available),
            max: status.max_size,
            waiting: status.waiting,
        })
    }

    async fn execute(&self, request: ExecRequest<'_>) -> Result<ResultSet, ExecError> {
        let limit = request.limits.statement_timeout;
        let deadline = tokio::time::Instant::now() + client_deadline(limit);
        // Waiting for a pooled connection is bounded by the connect timeout, not the statement
        // timeout: an exhausted pool answers `unavailable` promptly instead of queueing.
        let mut lease = Lease::new(self.checkout(self.connect_timeout).await?);
        let cancel = lease.cancel_token();
        let attempt = async {
            match run::run(&mut lease, &request).await {
                // Nothing ran: the statement was refused when bound.
                Err(e) if run::is_stale_statement(&e) => {
                    lease.forget_prepared();
                    run::run(&mut lease, &request).await
                }
                other => other,
            }
        };
        let stopped = tokio::select! {
            finished = tokio::time::timeout_at(deadline, attempt) => match finished {
                Ok(result) => return result,
                // The server did not stop in time.
                Err(_) => ExecError::Timeout(limit),
            },
            () = request.cancel.fired() => ExecError::Cancelled,
        };
        // Cancel the query and never reuse the connection (dropping it closes the socket).
        let detached = lease.detach();
        tokio::spawn(async move {
            if let Err(e) = cancel.cancel_query(NoTls).await {
                tracing::warn!(error = %e, "cancelling a PostgreSQL query failed");
            }
            drop(detached);
        });
        Err(stopped)
    }

    async fn ping(&self) -> Result<(), ExecError> {
        let client = self.checkout(self.connect_timeout).await?;
        match tokio::time::timeout(self.connect_timeout, client.simple_query("SELECT 1")).await {
            Ok(result) => result.map(drop).map_err(|e| errors::map(&e, self.connect_timeout)),
            Err(_) => {
                drop(Object::take(client));
                Err(ExecError::Unavailable("the database did not answer a ping in time".into()))
            }
        }
    }

    async fn catalog(&self) -> Result<Catalog, ExecError> {
        let client = self.checkout(self.connect_timeout).await?;
        match tokio::time::timeout(CATALOG_TIMEOUT, catalog::read(&client, CATALOG_TIMEOUT)).await {
            Ok(result) => result,
            Err(_) => {
                drop(Object::take(client));
                Err(ExecError::Timeout(CATALOG_TIMEOUT))
            }
        }
    }
}
