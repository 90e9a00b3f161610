//! The writer's side: one batch, one transaction, on the connection that holds the chain's
//! lock; reconnecting (at most once a second) when that connection is lost.

use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use tokio_postgres::Config;

use super::super::error::AuditError;
use super::super::verify::ChainEnd;
use super::super::writer::{BatchLines, Sink};
use super::connect::{self, Conn};

/// How long a failed connection attempt is believed before the next one: while the database is
/// down, appends fail at once instead of each waiting for a connect timeout.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// One chain in a PostgreSQL store, as the writer thread's sink.
pub(in super::super) struct PgSink {
    runtime: Runtime,
    config: Config,
    chain: String,
    /// The connection holding the chain's lock; `None` while it is lost.
    conn: Option<Conn>,
    /// When the last connection attempt was made.
    attempted: Instant,
    /// Why there is no connection, for the appends refused meanwhile.
    down: String,
}

impl PgSink {
    /// Connects to the store at `url`, creates its tables when missing, takes `chain`'s lock
    /// and reads where the chain ends. Safe to call inside a Tokio runtime: the work runs on a
    /// thread of its own.
    ///
    /// # Errors
    /// [`AuditError::Store`]: the URL is malformed, the database cannot be reached, another
    /// process writes the chain, or the chain's end does not verify.
    pub(in super::super) fn open(url: &str, chain: &str) -> Result<(PgSink, ChainEnd), AuditError> {
        let store_error = |message: String| AuditError::Store { chain: Some(chain.to_owned()), message };
        let opened = std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<(PgSink, ChainEnd), String> {
                    let runtime = connect::runtime()?;
                    let config = connect::config(url, &format!("sluice audit {chain}"))?;
                    let (conn, end) = connect_locked(&runtime, &config, chain)?;
                    let sink = PgSink {
                        runtime,
                        config,
                        chain: chain.to_owned(),
                        conn: Some(conn),
                        attempted: Instant::now(),
                        down: String::new(),
                    };
                    Ok((sink, end))
                })
                .join()
        });
        opened.map_err(|_| store_error("opening the store panicked".into()))?.map_err(store_error)
    }

    /// Drops the connection (and the lock with it): the next batch reconnects first.
    fn disconnect(&mut self, why: String) {
        if let Some(conn) = self.conn.take() {
            conn.close(&self.runtime);
        }
        self.down = why;
    }
}

/// A connection holding `chain`'s lock, over a schema that exists, and where the chain ends.
fn connect_locked(runtime: &Runtime, config: &Config, chain: &str) -> Result<(Conn, ChainEnd), String> {
    let mut conn = Conn::open(runtime, config)?;
    let ready = conn
        .ensure_schema(runtime)
        .and_then(|()| conn.lock_chain(runtime, chain))
        .and_then(|()| conn.read_end(runtime, chain));
    match ready {
        Ok(end) => Ok((conn, end)),
        Err(e) => {
            conn.close(runtime);
            Err(e)
        }
    }
}

impl Sink for PgSink {
    fn ready(&mut self) -> Result<Option<ChainEnd>, String> {
        if self.conn.is_some() {
            return Ok(None);
        }
        if self.attempted.elapsed() < RECONNECT_AFTER {
            return Err(self.down.clone());
        }
        self.attempted = Instant::now();
        match connect_locked(&self.runtime, &self.config, &self.chain) {
            Ok((conn, end)) => {
                tracing::info!(chain = %self.chain, seq = end.seq, "the audit log reconnected to PostgreSQL");
                self.conn = Some(conn);
                Ok(Some(end))
            }
            Err(e) => {
                self.down = format!("the PostgreSQL store is unavailable: {e}");
                Err(self.down.clone())
            }
        }
    }

    fn write(&mut self, lines: &BatchLines) -> Result<(), String> {
        let Some(conn) = self.conn.as_mut() else { return Err(self.down.clone()) };
        let mut records: (Vec<i64>, Vec<&str>) = (Vec::new(), Vec::new());
        let mut checkpoints: (Vec<i64>, Vec<&str>) = (Vec::new(), Vec::new());
        for (seq, checkpoint, line) in lines.iter() {
            let seq =
                i64::try_from(seq).map_err(|_| format!("seq {seq} does not fit PostgreSQL's BIGINT"))?;
            let line = std::str::from_utf8(line).map_err(|e| format!("a line is not UTF-8: {e}"))?;
            let into = if checkpoint { &mut checkpoints } else { &mut records };
            into.0.push(seq);
            into.1.push(line);
        }
        let chain = self.chain.as_str();
        let written = self.runtime.block_on(async {
            let tx = conn.client.transaction().await?;
            for (table, (seqs, lines)) in
                [("sluice_audit_records", &records), ("sluice_audit_checkpoints", &checkpoints)]
            {
                if !seqs.is_empty() {
                    let sql = format!(
                        "INSERT INTO {table} (chain, seq, line) SELECT $1, seq, line \
                         FROM unnest($2::bigint[], $3::text[]) AS batch (seq, line)"
                    );
                    tx.execute(&sql, &[&chain, seqs, lines]).await?;
                }
            }
            // Dropping the transaction on an error rolls it back.
            tx.commit().await
        });
        match written {
            Ok(()) => Ok(()),
            Err(e) => {
                let why = format!("cannot write to the PostgreSQL store: {e}");
                // The database said no and the session lives on: the transaction was rolled
                // back. Otherwise the connection (and the lock) may be gone, and whether the
                // commit landed is unknown: reconnect, and read where the chain stands.
                let fatal = e.as_db_error().is_none_or(|db| matches!(db.severity(), "FATAL" | "PANIC"));
                if fatal || e.is_closed() || conn.client.is_closed() {
                    self.disconnect(why.clone());
                }
                Err(why)
            }
        }
    }

    fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Released now rather than when the server notices the session ended, so that a
            // process opening the chain next starts at once.
            conn.unlock_chain(&self.runtime, &self.chain);
            conn.close(&self.runtime);
        }
    }
}
