//! A small connection pool: at most `size` connections, opened lazily with hardened settings,
//! used on the blocking thread pool. A connection that failed to return to a clean state is
//! dropped instead of being reused.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::{Connection, OpenFlags};
use sluice_core::execute::{ExecError, PoolStatus};
use tokio::sync::Semaphore;

#[derive(Debug)]
pub(crate) struct Pool {
    path: PathBuf,
    read_only: bool,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    size: usize,
    /// Requests waiting for a permit, for the pool gauges.
    waiting: AtomicUsize,
}

/// What a job on a pooled connection reports besides its result.
pub(crate) enum Reuse {
    Keep,
    Discard,
}

fn unavailable(e: &rusqlite::Error) -> ExecError {
    ExecError::Unavailable(format!("opening the SQLite database: {e}"))
}

impl Pool {
    pub(crate) fn new(path: PathBuf, size: usize, read_only: bool) -> Pool {
        Pool {
            path,
            read_only,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size)),
            size,
            waiting: AtomicUsize::new(0),
        }
    }

    /// The pool's state now.
    pub(crate) fn status(&self) -> PoolStatus {
        let in_use = self.size.saturating_sub(self.permits.available_permits());
        let idle = self.idle.lock().map_or(0, |idle| idle.len());
        PoolStatus { idle, in_use, max: self.size, waiting: self.waiting.load(Ordering::Relaxed) }
    }

    /// Opens a connection: no CREATE (the file must exist), no URI filenames, extension loading
    /// and ATTACH impossible, defensive mode, untrusted schema, foreign keys enforced.
    fn open(&self) -> Result<Connection, ExecError> {
        let access =
            if self.read_only { OpenFlags::SQLITE_OPEN_READ_ONLY } else { OpenFlags::SQLITE_OPEN_READ_WRITE };
        let conn = Connection::open_with_flags(&self.path, access | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| unavailable(&e))?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true).map_err(|e| unavailable(&e))?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false).map_err(|e| unavailable(&e))?;
        conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0).map_err(|e| unavailable(&e))?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;")
            .map_err(|e| unavailable(&e))?;
        Ok(conn)
    }

    /// Runs `job` on a pooled connection on the blocking thread pool, waiting at most `wait`
    /// for a free connection.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, wait: Duration, job: F) -> Result<T, ExecError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> (Result<T, ExecError>, Reuse) + Send + 'static,
    {
        let acquired = {
            // Counted down however the wait ends, the request's cancellation included.
            let _waiting = Waiting::count(&self.waiting);
            tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned()).await
        };
        let permit = match acquired {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => {
                return Err(ExecError::Unavailable("the connection pool is closed".into()));
            }
            Err(_) => {
                return Err(ExecError::Unavailable(
                    "no database connection became free in time (pool exhausted)".into(),
                ));
            }
        };
        let pool = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let idle = pool.idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut conn = match idle {
                Some(conn) => conn,
                None => pool.open()?,
            };
            let (result, reuse) = job(&mut conn);
            if let (Reuse::Keep, Ok(mut idle)) = (reuse, pool.idle.lock()) {
                idle.push(conn);
            }
            result
        })
        .await;
        joined.unwrap_or_else(|e| Err(ExecError::Unavailable(format!("the SQLite worker failed: {e}"))))
    }
}

/// One request waiting for a connection, for as long as it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn count(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
