//! The store in an embedded SQLite file: the default, with nothing to set up.
//!
//! One connection serves the process; a write transaction is `BEGIN IMMEDIATE`, which takes the
//! file's write lock at once, so writers in this process and in any other sharing the file run
//! one at a time. The schema version is the file's `PRAGMA user_version`.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, TransactionBehavior};

use super::sql::{Backend, Row, Sql, Value};
use super::unavailable;
use crate::access::AccessError;

/// The SQLite backend.
pub struct Sqlite {
    conn: Mutex<Connection>,
}

impl Sqlite {
    /// Opens (creating if needed) the file at `path`.
    ///
    /// # Errors
    /// [`AccessError::Unavailable`] when it cannot be opened.
    pub fn open(path: &Path) -> Result<Self, AccessError> {
        let conn = Connection::open(path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(unavailable)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(unavailable)?;
        Ok(Sqlite { conn: Mutex::new(conn) })
    }
}

impl Backend for Sqlite {
    fn transaction(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn Sql) -> Result<(), AccessError>,
    ) -> Result<(), AccessError> {
        let mut conn = self.conn.lock().map_err(|_| unavailable("a previous store operation panicked"))?;
        let behavior = if write { TransactionBehavior::Immediate } else { TransactionBehavior::Deferred };
        let tx = conn.transaction_with_behavior(behavior).map_err(unavailable)?;
        // Dropping `tx` on an error rolls it back.
        f(&mut Tx(&tx))?;
        tx.commit().map_err(unavailable)
    }

    fn schema_version(&self, sql: &mut dyn Sql) -> Result<usize, AccessError> {
        let version: i64 = sql.query_one("PRAGMA user_version", &[])?.get(0)?;
        Ok(usize::try_from(version).unwrap_or(usize::MAX))
    }

    fn set_schema_version(&self, sql: &mut dyn Sql, version: usize) -> Result<(), AccessError> {
        // A pragma takes no parameters; `version` is a number this code chose.
        sql.batch(&format!("PRAGMA user_version = {version}"))
    }
}

struct Tx<'a>(&'a rusqlite::Transaction<'a>);

fn bind(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

fn read(value: ValueRef<'_>) -> Result<Value, AccessError> {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => Ok(Value::Int(i)),
        ValueRef::Text(bytes) => String::from_utf8(bytes.to_vec())
            .map(Value::Text)
            .map_err(|_| unavailable("stored text is not UTF-8")),
        ValueRef::Real(_) | ValueRef::Blob(_) => {
            Err(unavailable("a stored value has a type Sluice never writes"))
        }
    }
}

impl Sql for Tx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, AccessError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(unavailable)?;
        let changed =
            stmt.execute(rusqlite::params_from_iter(params.iter().map(bind))).map_err(unavailable)?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, AccessError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(unavailable)?;
        let width = stmt.column_count();
        let mut rows =
            stmt.query(rusqlite::params_from_iter(params.iter().map(bind))).map_err(unavailable)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(unavailable)? {
            let values = (0..width)
                .map(|i| row.get_ref(i).map_err(unavailable).and_then(read))
                .collect::<Result<_, _>>()?;
            out.push(Row(values));
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), AccessError> {
        self.0.execute_batch(sql).map_err(unavailable)
    }
}
