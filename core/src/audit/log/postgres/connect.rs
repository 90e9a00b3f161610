//! Connections to the store, its schema, the chain lock, and where a chain ends.

use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, Config, NoTls};

use super::super::chain::GENESIS;
use super::super::verify::{self, ChainEnd};

/// Longest any statement may run, the wait for the schema lock included.
const STATEMENT_TIMEOUT: &str = "10s";

/// The schema this Sluice writes; a store at a later version is refused.
const SCHEMA_VERSION: i64 = 1;

/// Version 1's tables.
const SCHEMA: &str = "
CREATE TABLE sluice_audit_records (
    chain TEXT NOT NULL,
    seq   BIGINT NOT NULL,
    line  TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE TABLE sluice_audit_checkpoints (
    chain TEXT NOT NULL,
    seq   BIGINT NOT NULL,
    line  TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);
";

/// The two keys of a chain's advisory lock: one for the audit log's locks, one for the schema
/// and chain (two processes with the same chain in different schemas do not collide).
const CHAIN_LOCK: &str =
    "hashtext('sluice-audit-chain'), hashtext(coalesce(current_schema(), '') || '/' || $1::text)";

/// A runtime for one thread's connections: driven by whoever waits on it.
pub(super) fn runtime() -> Result<Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime for the store's connection: {e}"))
}

/// The driver's configuration for `url`, named `application_name` in `pg_stat_activity`.
pub(super) fn config(url: &str, application_name: &str) -> Result<Config, String> {
    // The driver's message names what is wrong, never the URL (which may hold a password).
    let mut config: Config = url.parse().map_err(|e| format!("the store URL is malformed: {e}"))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    // At most 63 bytes are kept; the chain is printable ASCII.
    let name: String = application_name.chars().take(63).collect();
    config.application_name(&name);
    Ok(config)
}

/// One connection, running on a [`runtime`].
pub(super) struct Conn {
    pub(super) client: Client,
    task: JoinHandle<()>,
}

impl Conn {
    /// Connects, with the store's statement timeout.
    pub(super) fn open(runtime: &Runtime, config: &Config) -> Result<Conn, String> {
        runtime
            .block_on(async {
                let (client, connection) = config.connect(NoTls).await?;
                let task = tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!(error = %e, "the audit log's PostgreSQL connection ended");
                    }
                });
                client.batch_execute(&format!("SET statement_timeout = '{STATEMENT_TIMEOUT}'")).await?;
                Ok::<_, tokio_postgres::Error>(Conn { client, task })
            })
            .map_err(|e| format!("cannot connect to the PostgreSQL store: {e}"))
    }

    /// Ends the session (and with it any lock it holds), waiting a moment for it to close.
    pub(super) fn close(self, runtime: &Runtime) {
        let Conn { client, task } = self;
        drop(client);
        let _ = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(1), task).await });
    }

    /// Creates the tables when missing; refuses a store written by a newer Sluice.
    pub(super) fn ensure_schema(&mut self, runtime: &Runtime) -> Result<(), String> {
        runtime.block_on(async {
            let tx = self.client.transaction().await.map_err(|e| e.to_string())?;
            // Two processes starting at once must not both create the tables.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext('sluice-audit-schema'), \
                 hashtext(coalesce(current_schema(), '')))",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS sluice_audit_schema (version BIGINT NOT NULL)")
                .await
                .map_err(|e| e.to_string())?;
            let version: Option<i64> = tx
                .query_opt("SELECT max(version) FROM sluice_audit_schema", &[])
                .await
                .map_err(|e| e.to_string())?
                .and_then(|row| row.get(0));
            match version {
                None => {
                    tx.batch_execute(SCHEMA).await.map_err(|e| e.to_string())?;
                    tx.execute("INSERT INTO sluice_audit_schema (version) VALUES ($1)", &[&SCHEMA_VERSION])
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Some(version) if version > SCHEMA_VERSION => {
                    return Err(format!(
                        "the store's audit schema is version {version}, written by a newer Sluice (this one \
                         knows version {SCHEMA_VERSION})"
                    ));
                }
                Some(_) => {}
            }
            tx.commit().await.map_err(|e| e.to_string())
        })
        .map_err(|e| format!("cannot prepare the audit tables: {e}"))
    }

    /// Takes the chain's lock for this session, without waiting.
    pub(super) fn lock_chain(&self, runtime: &Runtime, chain: &str) -> Result<(), String> {
        let row = runtime
            .block_on(self.client.query_one(&format!("SELECT pg_try_advisory_lock({CHAIN_LOCK})"), &[&chain]))
            .map_err(|e| format!("cannot lock the chain: {e}"))?;
        if row.get::<_, bool>(0) {
            Ok(())
        } else {
            Err("another Sluice process writes this chain (one writer per chain: give each process its own \
                 [audit] chain)"
                .into())
        }
    }

    /// Releases the chain's lock.
    pub(super) fn unlock_chain(&self, runtime: &Runtime, chain: &str) {
        let sql = format!("SELECT pg_advisory_unlock({CHAIN_LOCK})");
        if let Err(e) = runtime.block_on(self.client.execute(&sql, &[&chain])) {
            tracing::warn!(error = %e, "cannot release the audit chain's lock (it goes with the session)");
        }
    }

    /// Where `chain` ends, after checking its end as the file's writer does: its last two
    /// records must chain (the whole chain, when it has fewer), with the checkpoints among
    /// them matching. A chain that fails is not continued.
    pub(super) fn read_end(&self, runtime: &Runtime, chain: &str) -> Result<ChainEnd, String> {
        let (records, checkpoints, last_checkpoint) = runtime
            .block_on(async {
                let records = self
                    .client
                    .query(
                        "SELECT seq, line FROM sluice_audit_records WHERE chain = $1 ORDER BY seq DESC LIMIT 2",
                        &[&chain],
                    )
                    .await?;
                let from = records.last().map_or(i64::MIN, |row| row.get::<_, i64>(0));
                let checkpoints = self
                    .client
                    .query(
                        "SELECT seq, line FROM sluice_audit_checkpoints WHERE chain = $1 AND seq >= $2 \
                         ORDER BY seq LIMIT 3",
                        &[&chain, &from],
                    )
                    .await?;
                let last: Option<i64> = self
                    .client
                    .query_one("SELECT max(seq) FROM sluice_audit_checkpoints WHERE chain = $1", &[&chain])
                    .await?
                    .get(0);
                Ok::<_, tokio_postgres::Error>((records, checkpoints, last))
            })
            .map_err(|e| format!("cannot read the chain's end: {e}"))?;
        if records.is_empty() && checkpoints.is_empty() {
            return Ok(ChainEnd { seq: 0, hash: GENESIS, checkpoint_seq: 0, records: 0 });
        }
        let from_start = records.len() < 2 || records.last().is_some_and(|row| row.get::<_, i64>(0) == 1);
        let mut rows: Vec<(i64, bool, String)> = records
            .iter()
            .map(|row| (row.get(0), false, row.get(1)))
            .chain(checkpoints.iter().map(|row| (row.get(0), true, row.get(1))))
            .collect();
        rows.sort_by_key(|(seq, checkpoint, _)| (*seq, *checkpoint));
        let mut window = Vec::new();
        for (_, _, line) in &rows {
            window.extend_from_slice(line.as_bytes());
            window.push(b'\n');
        }
        let end = verify::check_window(&window, from_start).map_err(|finding| {
            format!(
                "the end of the chain does not verify, so it is not continued: {}{}. Check it with `sluice audit \
                 verify --store URL --chain {chain}`; a new chain needs another [audit] chain",
                finding.seq.map(|seq| format!("seq {seq}: ")).unwrap_or_default(),
                finding.message
            )
        })?;
        let last_checkpoint = last_checkpoint.and_then(|seq| u64::try_from(seq).ok()).unwrap_or(0);
        Ok(ChainEnd { checkpoint_seq: end.checkpoint_seq.max(last_checkpoint).min(end.seq), ..end })
    }
}
