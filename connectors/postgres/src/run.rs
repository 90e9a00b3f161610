//! One statement on a pooled connection, in as few round trips as its guarantees allow.
//!
//! Everything a statement needs around it is pipelined with it: the transaction's start (read
//! only for reads), its `statement_timeout`, the session's role and settings, and, for a read
//! whose values need nothing more from the server, the commit and the session reset. A read
//! therefore costs one round trip once its statement is prepared on the connection (prepared
//! statements are cached per connection); a write, or a read with a type only the server can
//! print, costs two, since its rows are decoded before it commits.
//!
//! The session reset ([`COMMIT_AND_RESET`]) runs after every statement, in the same round trip as
//! its transaction's end: a statement may call a function that changes the session (a setting
//! with `set_config(.., false)`, an advisory lock, a temporary table, `lastval`), and the next
//! request on the connection must not see it. A connection goes back to the pool only once that
//! reset has succeeded ([`Lease`]); any other way out closes it.

use std::ops::Deref;

use deadpool_postgres::Object;
use futures_util::StreamExt as _;
use sluice_core::execute::{ExecError, ExecRequest, Mode, ResultSet, command_tag};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Row};

use crate::{astext, decode, errors, params, quote_ident};

/// Statements each connection keeps prepared; past this, its cache starts again. Bounded
/// because every prepared statement holds memory in the server's backend.
const PREPARED_PER_CONNECTION: usize = 256;

/// Leaves the session as a new one, except for the statements Sluice prepared: what
/// `DISCARD ALL` does without `DEALLOCATE ALL`. `RESET ALL` returns the settings Sluice pins at
/// connect time (see `SESSION_OPTIONS`) to those values.
macro_rules! reset_session {
    () => {
        "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
         SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES"
    };
}

/// A transaction's end and the session reset, one simple query.
const COMMIT_AND_RESET: &str = concat!("COMMIT; ", reset_session!());
/// The same after a failure.
const ROLLBACK_AND_RESET: &str = concat!("ROLLBACK; ", reset_session!());

/// A pooled connection that returns to the pool only once its session has been reset after
/// the statement. Dropped any other way (an error before the reset, a timeout, a request
/// cancelled by its client, a cancel request in flight), it is closed instead, so no request
/// ever sees another's session state or open transaction.
pub(crate) struct Lease {
    object: Option<Object>,
    reset: bool,
}

impl Lease {
    pub(crate) fn new(object: Object) -> Self {
        Lease { object: Some(object), reset: false }
    }

    /// Forgets the statements prepared on the connection.
    pub(crate) fn forget_prepared(&self) {
        if let Some(object) = &self.object {
            object.statement_cache.clear();
        }
    }

    /// The connection, taken out of the pool for good (to be closed after a cancel).
    pub(crate) fn detach(mut self) -> Option<deadpool_postgres::ClientWrapper> {
        self.object.take().map(Object::take)
    }
}

impl Deref for Lease {
    type Target = tokio_postgres::Client;

    fn deref(&self) -> &tokio_postgres::Client {
        // `object` is `None` only inside `detach` and `drop`, which consume the lease.
        #[allow(clippy::expect_used)]
        self.object.as_ref().expect("a lease holds its connection until it is consumed")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(object) = self.object.take()
            && !self.reset
        {
            drop(Object::take(object));
        }
    }
}

/// Whether `error` is PostgreSQL refusing a cached prepared statement whose result changed
/// with the schema (`ALTER TABLE` since it was prepared). It is raised when the statement is
/// bound, before anything runs, so running it again, prepared afresh, is safe.
pub(crate) fn is_stale_statement(error: &ExecError) -> bool {
    matches!(error, ExecError::Upstream { code: Some(code), message }
        if code == "0A000" && message.starts_with("cached plan must not change result type"))
}

/// What the statement sent back.
struct Fetched {
    rows: Vec<Row>,
    /// Rows the server sent, kept or not.
    seen: u64,
    /// The command's row count, when the server finished.
    completed: Option<u64>,
}

/// Runs `req` on `lease`; marks the lease reusable once the session is reset.
pub(crate) async fn run(lease: &mut Lease, req: &ExecRequest<'_>) -> Result<ResultSet, ExecError> {
    let limit = req.limits.statement_timeout;
    let map = |e: tokio_postgres::Error| errors::map(&e, limit);
    req.session.check().map_err(ExecError::Session)?;
    let Some(object) = lease.object.as_ref() else {
        return Err(ExecError::Unavailable("the connection was already released".into()));
    };
    if object.statement_cache.size() >= PREPARED_PER_CONNECTION {
        object.statement_cache.clear();
    }
    let statement = object.prepare_cached(req.sql).await.map_err(map)?;
    let client: &tokio_postgres::Client = object;

    let (columns, asks, plan) = decode::columns(statement.columns())?;
    let statement = if asks.iter().all(|a| *a == astext::Ask::Binary) {
        statement
    } else {
        as_text(client, req, &statement, &columns, &asks).await?
    };
    let params = params::encode_all(statement.params(), req.params)?;

    let read = req.mode == Mode::Read;
    // 0 would mean "no timeout"; round sub-millisecond limits up.
    let millis = limit.as_millis().max(1);
    let mut begin = format!(
        "BEGIN {}; SET LOCAL statement_timeout = {millis}",
        if read { "READ ONLY" } else { "READ WRITE" }
    );
    if let Some(role) = &req.session.role {
        begin.push_str(&format!("; SET LOCAL ROLE {}", quote_ident(role)));
    }
    let (names, values): (Vec<&str>, Vec<&str>) =
        req.session.settings.iter().map(|(n, v)| (n.as_str(), v.as_str())).unzip();
    let settings = async {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for every setting; `query_typed` sends it without a prepare round trip.
        client
            .query_typed(
                "SELECT pg_catalog.set_config(n, v, true) FROM unnest($1::text[], $2::text[]) AS s(n, v)",
                &[(&names as &(dyn ToSql + Sync), Type::TEXT_ARRAY), (&values, Type::TEXT_ARRAY)],
            )
            .await
    };
    // A read whose values decode without the server ends its transaction in the same round
    // trip; anything else commits only after its rows decoded.
    let commit_at_once = read && !plan.asks_server();
    let max_rows = usize::try_from(req.limits.max_rows).unwrap_or(usize::MAX);
    let mut cancelled = false;
    let fetch = async {
        let refs = params.iter().map(|p| p as &(dyn ToSql + Sync));
        let mut stream = std::pin::pin!(client.query_raw(&statement, refs).await?);
        let mut fetched = Fetched { rows: Vec::new(), seen: 0, completed: None };
        while let Some(row) = stream.next().await {
            let row = row?;
            fetched.seen += 1;
            if fetched.rows.len() < max_rows {
                fetched.rows.push(row);
            } else if commit_at_once {
                // One row past the limit says the result is truncated. A read's remaining rows
                // are of no use, so the server is asked to stop producing them; the cancel may
                // land on a later statement of this connection, so it is closed afterwards.
                let token = client.cancel_token();
                tokio::spawn(async move {
                    if let Err(e) = token.cancel_query(NoTls).await {
                        tracing::warn!(error = %e, "cancelling a truncated PostgreSQL read failed");
                    }
                });
                cancelled = true;
                return Ok(fetched);
            }
        }
        fetched.completed = stream.rows_affected();
        Ok::<_, tokio_postgres::Error>(fetched)
    };
    let end_at_once = async {
        match commit_at_once {
            true => Some(client.batch_execute(COMMIT_AND_RESET).await),
            false => None,
        }
    };
    // Sent in this order before any answer is read. Every part is awaited and the first failure
    // in pipeline order is reported: once one fails, the later ones fail only because the
    // transaction is aborted (25P02), and whichever completed first must not hide the cause.
    let (begun, set, fetched, ended) =
        tokio::join!(client.batch_execute(&begin), settings, fetch, end_at_once);
    let outcome = async {
        begun.map_err(map)?;
        set.map_err(map)?;
        let fetched = fetched.map_err(map)?;
        let rows = match commit_at_once {
            true => decode::rows_local(&fetched.rows, &columns, &plan)?,
            false => decode::rows(client, &fetched.rows, &columns, &plan, map).await?,
        };
        Ok::<_, ExecError>((fetched, rows))
    }
    .await;
    let ended = match ended {
        Some(ended) => ended,
        None => {
            client.batch_execute(if outcome.is_ok() { COMMIT_AND_RESET } else { ROLLBACK_AND_RESET }).await
        }
    };
    // A failed statement still ended its transaction and reset the session: the connection
    // is as good as new, unless a cancel may still be on its way to it.
    lease.reset = ended.is_ok() && !cancelled;
    let (fetched, rows) = outcome?;
    if !cancelled {
        // With a cancel sent, it may have landed on this read-only transaction's commit
        // instead of the statement: the rows are the answer either way.
        ended.map_err(map)?;
    }
    Ok(result(req, columns, rows, &fetched))
}

fn result(
    req: &ExecRequest<'_>,
    columns: Vec<sluice_core::execute::Column>,
    rows: Vec<Vec<sluice_core::execute::Value>>,
    fetched: &Fetched,
) -> ResultSet {
    let truncated = fetched.seen > fetched.rows.len() as u64;
    let rows_affected = match req.mode {
        Mode::Read => None,
        Mode::Write => Some(fetched.completed.unwrap_or(fetched.seen).max(fetched.seen)),
    };
    ResultSet { columns, rows, truncated, command: command_tag(req.sql, req.mode), rows_affected }
}

/// `statement` prepared again with the columns `asks` names cast to text (see [`astext`]), with
/// the same parameter types.
///
/// # Errors
/// [`ExecError::UnsupportedType`] for the first such column if the statement cannot be wrapped
/// (nothing has run: preparing executes nothing) or the wrapped statement's columns are not
/// the ones asked for; the mapped error if the session failed.
async fn as_text(
    client: &tokio_postgres::Client,
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
    let wrapped = match client.prepare_typed(&sql, statement.params()).await {
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
