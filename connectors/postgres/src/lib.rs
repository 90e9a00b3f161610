//! Sluice's PostgreSQL connector (`tokio-postgres` + `deadpool-postgres`, no TLS yet).
//!
//! # What every statement runs in
//! - A connection whose session settings are pinned in the startup packet, so they hold from the
//!   first byte and `RESET ALL` returns to them: `standard_conforming_strings=on`,
//!   `TimeZone=UTC`, `DateStyle=ISO`, `IntervalStyle=iso_8601`, `bytea_output=hex`,
//!   `extra_float_digits=1` (the last two fix the text of values inside records and ranges).
//! - A fresh transaction, `READ ONLY` for [`Mode::Read`], with `SET LOCAL statement_timeout`.
//!   The statement is prepared (typed placeholders and columns), bound, and executed through a
//!   portal that returns at most `max_rows + 1` rows, so the server stops early.
//! - When the request carries a [`Session`](sluice_core::execute::Session) (native row-level
//!   security, plugin session settings): `SET LOCAL ROLE "<role>"` and
//!   `set_config(name, value, true)` for each setting, in the same transaction and before the
//!   statement. Both are transaction-local, so they end with the commit or rollback and never
//!   reach the next caller of the pooled connection. Names and values are bound parameters;
//!   the role, which `SET ROLE` cannot take as a parameter, is quoted as an identifier.
//! - A client-side deadline a little after the server's: if it fires, a cancel request is sent
//!   and the connection is dropped from the pool, so a wedged connection is never reused.
//! - Connections are recycled with `RecyclingMethod::Clean` (`RESET ALL`, `CLOSE ALL`,
//!   `DISCARD TEMP`, ...) after a closed-connection check, so no session state leaks between
//!   callers.
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
mod types;

use std::pin::pin;
use std::str::FromStr as _;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime, Timeouts};
use futures_util::StreamExt as _;
use sluice_core::analyse::Dialect;
use sluice_core::execute::{Catalog, Connector, ExecError, ExecRequest, Mode, ResultSet, command_tag};
use tokio_postgres::NoTls;
use tokio_postgres::types::{ToSql, Type};

/// Session settings pinned on every connection, as `-c` startup options.
/// `bytea_output` and `extra_float_digits` fix the text of values inside canonical texts
/// Sluice prints itself (a bytea field of a record, a point's coordinates).
const SESSION_OPTIONS: &str = "-c standard_conforming_strings=on -c TimeZone=UTC -c DateStyle=ISO \
                               -c IntervalStyle=iso_8601 -c bytea_output=hex -c extra_float_digits=1";

/// How long listing the catalog may take before the connection is dropped.
const CATALOG_TIMEOUT: Duration = Duration::from_secs(30);

/// Rows fetched per round trip when a write's `RETURNING` rows are drained to count them.
const DRAIN_BATCH: i32 = 10_000;

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
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Clean });
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

    fn supports_session(&self) -> bool {
        true
    }

    async fn execute(&self, request: ExecRequest<'_>) -> Result<ResultSet, ExecError> {
        let limit = request.limits.statement_timeout;
        // Waiting for a pooled connection is bounded by the connect timeout, not the statement
        // timeout: an exhausted pool answers `unavailable` promptly instead of queueing.
        let mut client = self.checkout(self.connect_timeout).await?;
        let cancel = client.cancel_token();
        match tokio::time::timeout(client_deadline(limit), run(&mut client, &request)).await {
            Ok(result) => result,
            Err(_) => {
                // The server did not stop in time: cancel the query and never reuse the
                // connection (dropping it closes the socket).
                let detached = Object::take(client);
                tokio::spawn(async move {
                    if let Err(e) = cancel.cancel_query(NoTls).await {
                        tracing::warn!(error = %e, "cancelling a timed-out PostgreSQL query failed");
                    }
                    drop(detached);
                });
                Err(ExecError::Timeout(limit))
            }
        }
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

async fn run(client: &mut tokio_postgres::Client, req: &ExecRequest<'_>) -> Result<ResultSet, ExecError> {
    let limit = req.limits.statement_timeout;
    let map = |e: tokio_postgres::Error| errors::map(&e, limit);
    req.session.check().map_err(ExecError::Session)?;
    let tx = client.build_transaction().read_only(req.mode == Mode::Read).start().await.map_err(map)?;
    // 0 would mean "no timeout"; round sub-millisecond limits up.
    let millis = limit.as_millis().max(1);
    let mut prelude = format!("SET LOCAL statement_timeout = {millis}");
    if let Some(role) = &req.session.role {
        prelude.push_str(&format!("; SET LOCAL ROLE {}", quote_ident(role)));
    }
    let (names, values): (Vec<&str>, Vec<&str>) =
        req.session.settings.iter().map(|(n, v)| (n.as_str(), v.as_str())).unzip();
    let settings = async {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for every setting; `query_typed` sends it without a prepare round trip.
        tx.query_typed(
            "SELECT pg_catalog.set_config(n, v, true) FROM unnest($1::text[], $2::text[]) AS s(n, v)",
            &[(&names as &(dyn ToSql + Sync), Type::TEXT_ARRAY), (&values, Type::TEXT_ARRAY)],
        )
        .await
    };
    // Pipelined, in this order, in one round trip: the session is in place before the statement
    // is bound and executed. All three are awaited and the first failure in pipeline order is
    // reported: when the prelude fails, the later ones fail only because the transaction is
    // aborted (25P02), and whichever completed first must not hide the cause.
    let (prelude, settings, statement) =
        tokio::join!(tx.batch_execute(&prelude), settings, tx.prepare(req.sql));
    prelude.map_err(map)?;
    settings.map_err(map)?;
    let statement = statement.map_err(map)?;

    let (columns, asks, plan) = decode::columns(statement.columns())?;
    let statement = if asks.iter().all(|a| *a == astext::Ask::Binary) {
        statement
    } else {
        as_text(&tx, req, &statement, &columns, &asks).await?
    };
    let params = params::encode_all(statement.params(), req.params)?;
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let portal = tx.bind(&statement, &refs).await.map_err(map)?;

    let max_rows = usize::try_from(req.limits.max_rows).unwrap_or(usize::MAX);
    // 0 asks for all rows: used only when max_rows + 1 does not fit the protocol's i32.
    let fetch = max_rows.checked_add(1).and_then(|n| i32::try_from(n).ok()).unwrap_or(0);
    let mut stream = pin!(tx.query_portal_raw(&portal, fetch).await.map_err(map)?);
    // Rows are decoded only once the statement is done: a few types are printed by the server,
    // in this transaction, which cannot run another statement while the portal streams.
    let mut raw_rows = Vec::new();
    let mut seen: u64 = 0;
    while let Some(row) = stream.next().await {
        let row = row.map_err(map)?;
        seen += 1;
        if raw_rows.len() < max_rows {
            raw_rows.push(row);
        }
    }
    let mut completed = stream.rows_affected();
    let truncated = seen > raw_rows.len() as u64;

    // A suspended write has already run in full (PostgreSQL executes DML with RETURNING to
    // completion on the first fetch); drain its remaining rows only to count them.
    if completed.is_none() && req.mode == Mode::Write {
        loop {
            let mut more = pin!(tx.query_portal_raw(&portal, DRAIN_BATCH).await.map_err(map)?);
            let mut got: u64 = 0;
            while let Some(row) = more.next().await {
                row.map_err(map)?;
                got += 1;
            }
            seen += got;
            completed = more.rows_affected();
            if completed.is_some() || got == 0 {
                break;
            }
        }
    }
    drop(portal);
    let rows = decode::rows(&tx, &raw_rows, &columns, &plan, map).await?;
    tx.commit().await.map_err(map)?;

    let command = command_tag(req.sql, req.mode);
    let rows_affected = match req.mode {
        Mode::Read => None,
        Mode::Write => Some(completed.unwrap_or(seen).max(seen)),
    };
    Ok(ResultSet { columns, rows, truncated, command, rows_affected })
}

/// `statement` prepared again with the columns `asks` names cast to text (see [`astext`]), with
/// the same parameter types.
///
/// # Errors
/// [`ExecError::UnsupportedType`] for the first such column if the statement cannot be wrapped
/// (nothing has run: preparing executes nothing) or the wrapped statement's columns are not
/// the ones asked for; the mapped error if the session failed.
async fn as_text(
    tx: &tokio_postgres::Transaction<'_>,
    req: &ExecRequest<'_>,
    statement: &tokio_postgres::Statement,
    columns: &[sluice_core::execute::Column],
    asks: &[astext::Ask],
) -> Result<tokio_postgres::Statement, ExecError> {
    let refused = || {
        let at = asks.iter().position(|a| *a != astext::Ask::Binary).unwrap_or(0);
        ExecError::UnsupportedType {
            column: columns.get(at).map(|c| c.name.clone()).unwrap_or_default(),
            type_name: columns.get(at).map(|c| c.type_name.clone()).unwrap_or_default(),
        }
    };
    let sql = astext::wrap(req.sql, req.mode, asks);
    let wrapped = match tx.prepare_typed(&sql, statement.params()).await {
        Ok(wrapped) => wrapped,
        // The statement itself prepared, so a statement error here comes from the wrapping.
        Err(e) if e.as_db_error().is_some_and(|db| errors::is_statement_error(db.code().code())) => {
            return Err(refused());
        }
        Err(e) => return Err(errors::map(&e, req.limits.statement_timeout)),
    };
    let original = statement.columns();
    let sent = wrapped.columns();
    let as_asked = sent.len() == original.len()
        && original
            .iter()
            .zip(sent)
            .zip(asks)
            .all(|((o, s), a)| a.sent_type(o.type_()).oid() == s.type_().oid());
    if !as_asked {
        return Err(refused());
    }
    Ok(wrapped)
}
