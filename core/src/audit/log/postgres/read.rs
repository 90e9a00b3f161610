//! Reading chains back: their names, their rows as the lines of a file (for the verifier),
//! their last records and the ones that follow (for `tail`). Each call opens a connection of
//! its own, on a runtime of its own: call these outside any Tokio runtime (a command line
//! tool, a blocking thread).

use std::io::{self, BufRead, Read};
use std::time::Duration;

use tokio::runtime::Runtime;

use super::super::error::AuditError;
use super::super::verify::{self, Stop, VerifyOptions, VerifyReport};
use super::connect::{self, Conn};

/// Rows read per query: a chain is read page by page, never whole.
const PAGE: i64 = 10_000;

fn store_error(chain: Option<&str>, message: impl Into<String>) -> AuditError {
    AuditError::Store { chain: chain.map(str::to_owned), message: message.into() }
}

/// A connection for reading, on a runtime of its own.
struct Reader {
    runtime: Runtime,
    conn: Conn,
}

impl Reader {
    fn open(url: &str, chain: Option<&str>) -> Result<Reader, AuditError> {
        let runtime = connect::runtime().map_err(|e| store_error(chain, e))?;
        let config = connect::config(url, "sluice audit reader").map_err(|e| store_error(chain, e))?;
        let conn = Conn::open(&runtime, &config).map_err(|e| store_error(chain, e))?;
        Ok(Reader { runtime, conn })
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        self.runtime.block_on(self.conn.client.query(sql, params))
    }
}

/// The chains in the store at `url`, by name.
///
/// # Errors
/// [`AuditError::Store`]: the store cannot be reached or holds no audit tables.
pub fn store_chains(url: &str) -> Result<Vec<String>, AuditError> {
    let reader = Reader::open(url, None)?;
    // A skip scan over the primary key: one index probe per chain, however long the chains.
    let rows = reader
        .query(
            "WITH RECURSIVE chains (chain) AS ( \
                 (SELECT chain FROM sluice_audit_records ORDER BY chain LIMIT 1) \
                 UNION ALL \
                 SELECT (SELECT r.chain FROM sluice_audit_records r WHERE r.chain > chains.chain \
                         ORDER BY r.chain LIMIT 1) \
                 FROM chains WHERE chains.chain IS NOT NULL) \
             SELECT chain FROM chains WHERE chain IS NOT NULL",
            &[],
        )
        .map_err(|e| store_error(None, format!("cannot list the chains: {e}")))?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Verifies `chain` in the store at `url` from its first record to its last, exactly as
/// [`verify_file`](super::super::verify_file) verifies a file: its rows in seq order (a
/// record before the checkpoint of the same seq) are the file's lines, and a finding's line
/// is the line it would have there.
///
/// # Errors
/// [`AuditError::InvalidChain`] with the first problem; [`AuditError::Store`] when the store
/// cannot be read; [`AuditError::Input`] when the external checkpoint's own signature does
/// not verify with the given keys.
pub fn verify_store(url: &str, chain: &str, options: &VerifyOptions) -> Result<VerifyReport, AuditError> {
    let keys = verify::keys_of(options)?;
    let reader = Reader::open(url, Some(chain))?;
    let lines = ChainLines { reader: &reader, chain, after: i64::MIN, done: false, buf: Vec::new(), pos: 0 };
    verify::verify_lines(lines, &keys, options).map_err(|e| match e {
        Stop::Io(e) => store_error(Some(chain), format!("cannot read: {e}")),
        Stop::Found(finding) => AuditError::InvalidChain { chain: chain.to_owned(), finding },
    })
}

/// A chain's rows as the lines of its file, fetched a page at a time.
struct ChainLines<'a> {
    reader: &'a Reader,
    chain: &'a str,
    /// Every row with a seq up to this one was read.
    after: i64,
    done: bool,
    buf: Vec<u8>,
    pos: usize,
}

impl ChainLines<'_> {
    /// The next page: records and checkpoints after `after`, up to the lower of the last seq
    /// of each full page (so that both are complete up to it), merged in file order.
    fn fetch(&mut self) -> io::Result<()> {
        let page = |table: &str| {
            let sql =
                format!("SELECT seq, line FROM {table} WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3");
            self.reader.query(&sql, &[&self.chain, &self.after, &PAGE]).map_err(io::Error::other)
        };
        let records = page("sluice_audit_records")?;
        let checkpoints = page("sluice_audit_checkpoints")?;
        let full_upto = |rows: &[tokio_postgres::Row]| {
            if rows.len() as i64 == PAGE { rows.last().map(|row| row.get::<_, i64>(0)) } else { None }
        };
        let upto = match (full_upto(&records), full_upto(&checkpoints)) {
            (None, None) => i64::MAX,
            (Some(a), None) | (None, Some(a)) => a,
            (Some(a), Some(b)) => a.min(b),
        };
        let mut rows: Vec<(i64, bool, &str)> = records
            .iter()
            .map(|row| (row.get(0), false, row.get(1)))
            .chain(checkpoints.iter().map(|row| (row.get(0), true, row.get(1))))
            .filter(|(seq, _, _)| *seq <= upto)
            .collect();
        rows.sort_by_key(|(seq, checkpoint, _)| (*seq, *checkpoint));
        self.buf.clear();
        self.pos = 0;
        for (_, _, line) in rows {
            self.buf.extend_from_slice(line.as_bytes());
            self.buf.push(b'\n');
        }
        self.done = upto == i64::MAX;
        self.after = upto;
        Ok(())
    }
}

impl Read for ChainLines<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        if let (Some(to), Some(from)) = (out.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ChainLines<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.buf.len() && !self.done {
            self.fetch()?;
        }
        Ok(self.buf.get(self.pos..).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.buf.len());
    }
}

/// The last `n` records of `chain` in the store at `url` (checkpoints left out) as written,
/// and the last one's seq, after which `--follow` goes on.
///
/// # Errors
/// [`AuditError::Store`]: the store cannot be read.
pub fn last_store_records(url: &str, chain: &str, n: usize) -> Result<(Vec<String>, u64), AuditError> {
    let reader = Reader::open(url, Some(chain))?;
    let limit = i64::try_from(n).unwrap_or(i64::MAX);
    let rows = reader
        .query(
            "SELECT seq, line FROM (SELECT seq, line FROM sluice_audit_records WHERE chain = $1 \
             ORDER BY seq DESC LIMIT $2) AS last ORDER BY seq",
            &[&chain, &limit],
        )
        .map_err(|e| store_error(Some(chain), format!("cannot read: {e}")))?;
    let last = rows.last().map_or(0, |row| row.get::<_, i64>(0));
    let lines = rows.iter().map(|row| row.get::<_, String>(1)).collect();
    Ok((lines, u64::try_from(last).unwrap_or(0)))
}

/// Calls `emit` with each record added to `chain` after seq `after`, polling every `poll`.
/// Returns when `emit` fails (its reader went away).
///
/// # Errors
/// [`AuditError::Store`]: the store cannot be read.
pub fn follow_store(
    url: &str,
    chain: &str,
    after: u64,
    poll: Duration,
    mut emit: impl FnMut(&str) -> io::Result<()>,
) -> Result<(), AuditError> {
    let reader = Reader::open(url, Some(chain))?;
    let mut after = i64::try_from(after).unwrap_or(i64::MAX);
    loop {
        let rows = reader
            .query(
                "SELECT seq, line FROM sluice_audit_records WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&chain, &after, &PAGE],
            )
            .map_err(|e| store_error(Some(chain), format!("cannot read: {e}")))?;
        for row in &rows {
            after = row.get(0);
            if emit(row.get(1)).is_err() {
                return Ok(());
            }
        }
        if (rows.len() as i64) < PAGE {
            std::thread::sleep(poll);
        }
    }
}
