//! The store in PostgreSQL: for several Sluice processes sharing requests and grants.
//!
//! Each process keeps one connection to it. A write transaction first takes a transaction-level
//! advisory lock (`pg_advisory_xact_lock`) that every Sluice sharing the database takes, so
//! writers run one at a time across processes exactly as `BEGIN IMMEDIATE` makes them on
//! SQLite, and the lock ends with the transaction whatever happens to the connection. The
//! schema version lives in `sluice_access_schema`. Tables go where the connection's
//! `search_path` points (a `?options=-csearch_path%3Dsluice` URL parameter picks a schema).
//!
//! The store's logic is synchronous (it runs on a blocking thread, as SQLite calls must), so
//! each call here waits for the asynchronous driver on the runtime that opened the store.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::runtime::Handle;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls};

use super::sql::{Backend, Row, Sql, Value};
use super::unavailable;
use crate::access::AccessError;

/// The advisory lock every Sluice writer of a PostgreSQL store takes: "sluice" in ASCII.
const WRITE_LOCK: i64 = 0x0000_736c_7569_6365;

/// How long a failed connection attempt is believed before the next one: while the database is
/// down, requests fail at once instead of each waiting for a connect timeout.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Longest any store statement may run, the wait for the write lock included.
const STATEMENT_TIMEOUT: &str = "10s";

/// The PostgreSQL backend.
pub struct Postgres {
    config: tokio_postgres::Config,
    runtime: Handle,
    conn: Mutex<Connection>,
}

#[derive(Default)]
struct Connection {
    client: Option<Client>,
    failed: Option<(Instant, String)>,
}

impl Postgres {
    /// A backend for the database at `url`; connects on first use.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when `url` is malformed or no Tokio runtime is current.
    pub fn open(url: &str) -> Result<Self, AccessError> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| unavailable(format!("the store URL is malformed: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let runtime = Handle::try_current().map_err(unavailable)?;
        Ok(Postgres { config, runtime, conn: Mutex::new(Connection::default()) })
    }

    fn connect(&self, conn: &mut Connection) -> Result<(), AccessError> {
        if conn.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        conn.client = None;
        if let Some((at, why)) = &conn.failed
            && at.elapsed() < RECONNECT_AFTER
        {
            return Err(unavailable(why));
        }
        let connected = self.runtime.block_on(async {
            let (client, connection) = self.config.connect(NoTls).await?;
            self.runtime.spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "the access store's PostgreSQL connection ended");
                }
            });
            client.batch_execute(&format!("SET statement_timeout = '{STATEMENT_TIMEOUT}'")).await?;
            Ok::<_, tokio_postgres::Error>(client)
        });
        match connected {
            Ok(client) => {
                conn.client = Some(client);
                conn.failed = None;
                Ok(())
            }
            Err(e) => {
                let why = format!("cannot connect to the PostgreSQL store: {e}");
                conn.failed = Some((Instant::now(), why.clone()));
                Err(unavailable(why))
            }
        }
    }
}

impl Backend for Postgres {
    fn transaction(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Sql) -> Result<(), AccessError>,
    ) -> Result<(), AccessError> {
        let mut conn = self.conn.lock().map_err(|_| unavailable("a previous store operation panicked"))?;
        self.connect(&mut conn)?;
        let Some(client) = conn.client.as_mut() else {
            return Err(unavailable("the PostgreSQL store is not connected"));
        };
        let runtime = &self.runtime;
        let tx =
            runtime.block_on(client.build_transaction().read_only(!write).start()).map_err(unavailable)?;
        let mut sql = Tx { tx: &tx, runtime };
        if write {
            sql.execute("SELECT pg_advisory_xact_lock(?1)", &[Value::Int(WRITE_LOCK)])?;
        }
        // Dropping `tx` on an error rolls it back.
        f(&mut sql)?;
        runtime.block_on(tx.commit()).map_err(unavailable)
    }

    fn schema_version(&self, sql: &mut dyn Sql) -> Result<usize, AccessError> {
        sql.batch("CREATE TABLE IF NOT EXISTS sluice_access_schema (version BIGINT NOT NULL)")?;
        match sql.query_opt("SELECT version FROM sluice_access_schema", &[])? {
            Some(row) => Ok(usize::try_from(row.get::<i64>(0)?).unwrap_or(usize::MAX)),
            None => {
                sql.execute("INSERT INTO sluice_access_schema (version) VALUES (0)", &[])?;
                Ok(0)
            }
        }
    }

    fn set_schema_version(&self, sql: &mut dyn Sql, version: usize) -> Result<(), AccessError> {
        let version = i64::try_from(version).unwrap_or(i64::MAX);
        sql.execute("UPDATE sluice_access_schema SET version = ?1", &[Value::Int(version)])?;
        Ok(())
    }
}

struct Tx<'a> {
    tx: &'a tokio_postgres::Transaction<'a>,
    runtime: &'a Handle,
}

/// `sql` with its `?N` placeholders numbered the PostgreSQL way, `$N`. The store's statements
/// use `?` for nothing else.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '?' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            c => out.push(c),
        }
    }
    out
}

fn params(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

fn read(row: &tokio_postgres::Row) -> Result<Row, AccessError> {
    let value = |i: usize, ty: &Type| -> Result<Value, tokio_postgres::Error> {
        Ok(match *ty {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::Int),
            Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map_or(Value::Null, |v| Value::Int(v.into())),
            Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map_or(Value::Null, |v| Value::Int(v.into())),
            Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map_or(Value::Null, |v| Value::Int(v.into())),
            _ => row.try_get::<_, Option<String>>(i)?.map_or(Value::Null, Value::Text),
        })
    };
    row.columns()
        .iter()
        .enumerate()
        .map(|(i, column)| value(i, column.type_()).map_err(unavailable))
        .collect::<Result<_, _>>()
        .map(Row)
}

impl Sql for Tx<'_> {
    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64, AccessError> {
        self.runtime.block_on(self.tx.execute(&numbered(sql), &params(values))).map_err(unavailable)
    }

    fn query(&mut self, sql: &str, values: &[Value]) -> Result<Vec<Row>, AccessError> {
        let rows =
            self.runtime.block_on(self.tx.query(&numbered(sql), &params(values))).map_err(unavailable)?;
        rows.iter().map(read).collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), AccessError> {
        self.runtime.block_on(self.tx.batch_execute(sql)).map_err(unavailable)
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot bind as {ty}").into()),
            },
            Value::Text(s) if <&str as ToSql>::accepts(ty) => s.as_str().to_sql(ty, out),
            Value::Text(_) => Err(format!("text cannot bind as {ty}").into()),
        }
    }

    // Each value checks its own type in `to_sql`.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_are_numbered_the_postgresql_way() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ?1 AND c = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = $12"
        );
        assert_eq!(numbered("SELECT '?'"), "SELECT '?'");
    }
}
