//! The writer: one thread per log owns its [`Sink`] (the file, or a PostgreSQL chain), so
//! records are written in order by one hand; callers reach it over a bounded channel and
//! wait for its acknowledgement.
//!
//! Group commit: the writer takes whatever is queued (up to [`MAX_BATCH`]), encodes it, hands
//! the batch to the sink in one piece (one `write(2)` and, with `sync`, one `fdatasync` for a
//! file; one transaction for PostgreSQL), then acknowledges each caller. Under load a caller
//! pays for a share of one write rather than a write of its own. A batch is all or nothing:
//! when the sink refuses it, every record in it is refused and the chain stays where it was.
//!
//! It is a thread, not a Tokio task, because its work is blocking I/O: a slow disk, an
//! `fdatasync` or a slow database must not stall the runtime's workers. A small Tokio task
//! only ticks the time-based checkpoints, holding a weak sender so that it never keeps the log
//! open.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::chain::{self, Checkpoint, Hash};
use super::entry::AuditEntry;
use super::error::AuditError;
use super::key::{self, PublicKey, Signer};
use super::postgres::PgSink;
use super::settings::{AuditSettings, AuditStore};
use super::tail;
use super::verify::ChainEnd;
use crate::audit::metrics::{AuditMetrics, Metrics};

/// Appends that may wait for the writer before `append` itself waits (back-pressure).
const QUEUE: usize = 4096;

/// Most records written with one write.
const MAX_BATCH: usize = 1024;

/// The audit log: a handle on its writer. Cloning is cheap (a channel sender); the writer
/// writes a last checkpoint and stops when [`AuditLog::close`] is called or the last clone is
/// dropped.
#[derive(Debug, Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Message>,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    store: AuditStore,
    public_key: PublicKey,
    fail_closed: bool,
}

#[derive(Debug)]
enum Message {
    Append {
        entry: Box<AuditEntry>,
        ack: oneshot::Sender<Result<u64, AuditError>>,
    },
    /// Time for a checkpoint, if records came since the last one.
    Tick,
    Close {
        ack: oneshot::Sender<()>,
    },
}

fn closed() -> AuditError {
    AuditError::Unavailable("the audit log is closed".into())
}

impl AuditLog {
    /// Opens the log of `settings`, checks the end of what it holds and continues its chain;
    /// loads the signing key (created if missing, and its public key logged); starts the
    /// writer. A file is created if missing; a PostgreSQL store gets its tables if missing,
    /// and the writer holds its chain's lock until it stops. Call it inside the Tokio runtime,
    /// which runs the checkpoint timer. `metrics`, when given, counts records, checkpoints and
    /// write failures.
    ///
    /// # Errors
    /// The file cannot be opened or locked (another writer has it), or the store cannot be
    /// reached or its chain is locked by another process; the log's last line is incomplete
    /// or its end does not verify (named by line: the chain is never restarted over a broken
    /// one); or the key file is malformed or cannot be created.
    pub fn open(settings: &AuditSettings, metrics: Option<&Metrics>) -> Result<AuditLog, AuditError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            AuditError::Input(
                "the audit log must be opened inside the Tokio runtime (it runs the checkpoint timer)".into(),
            )
        })?;
        let (signer, created) = key::load_or_create(&settings.signing_key)?;
        if created {
            tracing::warn!(
                path = %settings.signing_key.display(),
                public_key = %signer.public_key(),
                key_id = %signer.public_key().key_id(),
                "created the audit log's signing key; keep a copy of its public key off this machine to verify \
                 checkpoints with"
            );
        }
        let key_id = signer.public_key().key_id();
        let (sink, end): (Box<dyn Sink>, ChainEnd) = match &settings.store {
            AuditStore::File(path) => {
                let (sink, end) = FileSink::open(path, settings.sync)?;
                tracing::info!(path = %path.display(), seq = end.seq, key_id = %key_id, "audit log open");
                (Box::new(sink), end)
            }
            AuditStore::Postgres { url, chain } => {
                let (sink, end) = PgSink::open(url, chain)?;
                tracing::info!(chain = %chain, seq = end.seq, key_id = %key_id, "audit log open in PostgreSQL");
                (Box::new(sink), end)
            }
        };
        Self::start(settings, signer, sink, end, metrics.map(Metrics::audit), &runtime)
    }

    /// Starts the writer thread over `sink`, whose chain ends at `end`, and the checkpoint
    /// timer on `runtime`.
    fn start(
        settings: &AuditSettings,
        signer: Signer,
        sink: Box<dyn Sink>,
        end: ChainEnd,
        metrics: Option<AuditMetrics>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<AuditLog, AuditError> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let name = match &settings.store {
            AuditStore::File(path) => path.display().to_string(),
            AuditStore::Postgres { chain, .. } => format!("PostgreSQL chain {chain:?}"),
        };
        let shared = Arc::new(Shared {
            store: settings.store.clone(),
            public_key: signer.public_key().clone(),
            fail_closed: settings.fail_closed,
        });
        let writer = Writer {
            name,
            sink,
            signer,
            checkpoint_every: settings.checkpoint_every.max(1),
            metrics,
            seq: end.seq,
            prev: end.hash,
            checkpoint_seq: end.checkpoint_seq.min(end.seq),
        };
        std::thread::Builder::new()
            .name("sluice-audit".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| AuditError::Input(format!("cannot start the audit log's writer: {e}")))?;
        let weak = tx.downgrade();
        let period = settings.checkpoint_interval.max(std::time::Duration::from_millis(10));
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(tx) = weak.upgrade() else { break };
                // A full queue means records are flowing: checkpoints by count come anyway.
                let _ = tx.try_send(Message::Tick);
            }
        });
        Ok(AuditLog { tx, shared })
    }

    /// Appends `entry` as the next record; returns its seq once its line is written to the
    /// file (and synced, with `sync`), or committed to the PostgreSQL store.
    ///
    /// # Errors
    /// [`AuditError::Unavailable`] when the line could not be written (the record is then not
    /// part of the chain) or the log is closed.
    pub async fn append(&self, entry: AuditEntry) -> Result<u64, AuditError> {
        let (ack, done) = oneshot::channel();
        self.tx.send(Message::Append { entry: Box::new(entry), ack }).await.map_err(|_| closed())?;
        done.await.map_err(|_| closed())?
    }

    /// Writes a last checkpoint, flushes and stops the writer; later appends fail. Waits for
    /// the writer to finish (call it at shutdown: a process that exits first loses the final
    /// checkpoint, never a record).
    pub async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Message::Close { ack }).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Where the log is kept.
    pub fn store(&self) -> &AuditStore {
        &self.shared.store
    }

    /// The public key that verifies this log's checkpoints.
    pub fn public_key(&self) -> &PublicKey {
        &self.shared.public_key
    }

    /// Whether a statement whose record cannot be written must not run.
    pub fn fail_closed(&self) -> bool {
        self.shared.fail_closed
    }
}

/// Where the writer's batches go: the log file, a PostgreSQL chain, or in tests a file that
/// fails on demand.
pub(super) trait Sink: Send {
    /// Before each batch: whether the sink can take one now. `Ok(Some(end))` when it had to
    /// reconnect and found the chain at `end` (a batch whose acknowledgement was lost with the
    /// connection may have been committed after all); the writer continues from there.
    ///
    /// # Errors
    /// Why it cannot write now; the batch's records are refused with it.
    fn ready(&mut self) -> Result<Option<ChainEnd>, String> {
        Ok(None)
    }

    /// Writes all of `lines` or none of them.
    ///
    /// # Errors
    /// Why not, for the callers (never a secret).
    fn write(&mut self, lines: &BatchLines) -> Result<(), String>;

    /// On the way out: what was written reaches the disk, locks are released.
    fn close(&mut self);
}

/// One batch's lines, in the order a file holds them: each record, and after a record the
/// checkpoint that seals it.
#[derive(Debug, Default)]
pub(super) struct BatchLines {
    /// The lines, each with its newline.
    pub(super) bytes: Vec<u8>,
    /// Each line's seq, whether it is a checkpoint, and where it ends in `bytes`.
    pub(super) lines: Vec<(u64, bool, usize)>,
}

impl BatchLines {
    fn push(&mut self, seq: u64, checkpoint: bool, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.lines.push((seq, checkpoint, self.bytes.len()));
    }

    /// Each line's seq, whether it is a checkpoint, and its bytes without the newline.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, bool, &[u8])> {
        let mut start = 0;
        self.lines.iter().map(move |&(seq, checkpoint, end)| {
            let line = self.bytes.get(start..end).unwrap_or_default();
            start = end;
            (seq, checkpoint, line.strip_suffix(b"\n").unwrap_or(line))
        })
    }
}

/// The file under a [`FileSink`]: a real file, or in tests one that fails on demand.
trait FileLike: Send {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize>;
    fn sync(&mut self) -> io::Result<()>;
    fn len(&self) -> io::Result<u64>;
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl FileLike for File {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        io::Write::write(self, bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }

    fn len(&self) -> io::Result<u64> {
        self.metadata().map(|m| m.len())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// The log file: each batch appended with one write, cut back after a failure so that no
/// partial line ever sits inside the chain.
struct FileSink {
    path: PathBuf,
    file: Box<dyn FileLike>,
    sync: bool,
    /// The file's length after the last good write.
    len: u64,
    /// A write failed since: the file may hold part of a batch past `len`.
    dirty: bool,
}

impl FileSink {
    /// Opens (creates) and locks the log file at `path`, and reads where its chain ends.
    fn open(path: &Path, sync: bool) -> Result<(FileSink, ChainEnd), AuditError> {
        let file_error = |message: String| AuditError::File { path: path.to_path_buf(), message };
        // Readable by its group (a log shipper), not by everyone: records name principals.
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o640)
            .open(path)
            .map_err(|e| file_error(format!("cannot open: {e}")))?;
        // One writer per file, across processes too: two would fork the chain.
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => {
                file_error("another writer has it open (one Sluice process per audit log)".into())
            }
            std::fs::TryLockError::Error(e) => file_error(format!("cannot lock: {e}")),
        })?;
        let end = tail::read_end(&mut file, path)?;
        let len = file.metadata().map_err(|e| file_error(format!("cannot read: {e}")))?.len();
        Ok((FileSink { path: path.to_path_buf(), file: Box::new(file), sync, len, dirty: false }, end))
    }

    /// All of `bytes`, or nothing: after a failure the file is cut back to its last good
    /// length (now, or before the next write if that fails too).
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.dirty {
            if self.file.len()? != self.len {
                self.file.truncate(self.len)?;
            }
            self.dirty = false;
        }
        let mut written = 0;
        let result = loop {
            let Some(rest) = bytes.get(written..).filter(|rest| !rest.is_empty()) else { break Ok(()) };
            match self.file.write(rest) {
                Ok(0) => break Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let result = result.and_then(|()| if self.sync { self.file.sync() } else { Ok(()) });
        match result {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                self.dirty = true;
                if written > 0 && self.file.truncate(self.len).is_ok() {
                    self.dirty = false;
                }
                Err(e)
            }
        }
    }
}

impl Sink for FileSink {
    fn write(&mut self, lines: &BatchLines) -> Result<(), String> {
        self.append(&lines.bytes).map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }

    fn close(&mut self) {
        // On the way out, the file reaches the disk even without `sync`.
        if let Err(e) = self.file.sync() {
            tracing::error!(path = %self.path.display(), error = %e, "cannot sync the audit log");
        }
    }
}

/// The writer thread's state: where the chain stands in its sink.
struct Writer {
    /// The file or chain, for messages.
    name: String,
    sink: Box<dyn Sink>,
    signer: Signer,
    checkpoint_every: u64,
    metrics: Option<AuditMetrics>,
    /// The last written record's seq and hash.
    seq: u64,
    prev: Hash,
    /// The last written checkpoint's seq.
    checkpoint_seq: u64,
}

/// A batch being built: the chain as it will stand if its write succeeds.
struct Batch {
    lines: BatchLines,
    seq: u64,
    prev: Hash,
    checkpoint_seq: u64,
    acks: Vec<(oneshot::Sender<Result<u64, AuditError>>, u64)>,
    checkpoints: Vec<Checkpoint>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Message>) {
        let mut messages = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = rx.blocking_recv() {
            messages.push(first);
            while messages.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(message) => messages.push(message),
                    Err(_) => break,
                }
            }
            if let Some(ack) = self.process(messages.drain(..)) {
                self.sink.close();
                // The file (and its lock) goes first, so that whoever waited for the close
                // can open the log again at once.
                drop(self);
                let _ = ack.send(());
                return;
            }
        }
        // Every handle dropped: seal what was written.
        let _ = self.process(std::iter::once(Message::Tick));
        self.sink.close();
    }

    /// Asks the sink whether it can write; when it reconnected, continues from where it found
    /// the chain.
    fn ready(&mut self) -> Result<(), String> {
        let Some(end) = self.sink.ready()? else { return Ok(()) };
        if end.seq != self.seq || end.hash != self.prev {
            tracing::warn!(
                log = %self.name,
                from = self.seq,
                to = end.seq,
                "the audit chain moved while the connection was down (a batch reported as failed was \
                 committed); continuing from where it stands"
            );
        }
        self.seq = end.seq;
        self.prev = end.hash;
        self.checkpoint_seq = end.checkpoint_seq.min(end.seq);
        Ok(())
    }

    /// Writes one batch; returns the close acknowledgement when the batch asked to close
    /// (after writing everything in it and a last checkpoint).
    fn process(&mut self, messages: impl Iterator<Item = Message>) -> Option<oneshot::Sender<()>> {
        if let Err(reason) = self.ready() {
            return self.refuse(messages, &reason);
        }
        let at = chain::now();
        let mut batch = Batch {
            lines: BatchLines { bytes: Vec::with_capacity(64 << 10), lines: Vec::new() },
            seq: self.seq,
            prev: self.prev,
            checkpoint_seq: self.checkpoint_seq,
            acks: Vec::new(),
            checkpoints: Vec::new(),
        };
        let mut seal = false;
        let mut close = None;
        for message in messages {
            match message {
                Message::Append { entry, ack } => self.add(&mut batch, *entry, ack, &at),
                Message::Tick => seal = true,
                Message::Close { ack } => {
                    seal = true;
                    close = Some(ack);
                }
            }
        }
        if seal && batch.seq > batch.checkpoint_seq {
            self.add_checkpoint(&mut batch, &at);
        }
        if batch.lines.lines.is_empty() {
            return close;
        }
        match self.sink.write(&batch.lines) {
            Ok(()) => self.commit(batch),
            Err(reason) => {
                if let Some(metrics) = &self.metrics {
                    metrics.write_failures.inc();
                }
                let records = batch.acks.len();
                tracing::error!(log = %self.name, error = %reason, records, "audit log write failed");
                for (ack, _) in batch.acks {
                    let _ = ack.send(Err(AuditError::Unavailable(reason.clone())));
                }
            }
        }
        close
    }

    /// Refuses every record of a batch the sink cannot take now (`reason`); returns the close
    /// acknowledgement when the batch asked to close.
    fn refuse(&self, messages: impl Iterator<Item = Message>, reason: &str) -> Option<oneshot::Sender<()>> {
        let mut close = None;
        let mut refused = 0;
        for message in messages {
            match message {
                Message::Append { ack, .. } => {
                    refused += 1;
                    let _ = ack.send(Err(AuditError::Unavailable(reason.to_owned())));
                }
                Message::Tick => {}
                Message::Close { ack } => close = Some(ack),
            }
        }
        if refused > 0 {
            if let Some(metrics) = &self.metrics {
                metrics.write_failures.inc();
            }
            tracing::error!(log = %self.name, error = %reason, records = refused, "audit log unavailable");
        }
        close
    }

    fn add(
        &self,
        batch: &mut Batch,
        entry: AuditEntry,
        ack: oneshot::Sender<Result<u64, AuditError>>,
        at: &str,
    ) {
        let seq = batch.seq + 1;
        match chain::encode_record(seq, at, &entry.normalised(), &batch.prev) {
            Ok(encoded) => {
                batch.lines.push(seq, false, &encoded.line);
                batch.seq = seq;
                batch.prev = encoded.hash;
                batch.acks.push((ack, seq));
                if seq - batch.checkpoint_seq >= self.checkpoint_every {
                    self.add_checkpoint(batch, at);
                }
            }
            Err(e) => {
                let _ = ack.send(Err(AuditError::Unavailable(format!("cannot encode the record: {e}"))));
            }
        }
    }

    fn add_checkpoint(&self, batch: &mut Batch, at: &str) {
        let checkpoint = self.signer.checkpoint(batch.seq, &batch.prev, at);
        match checkpoint.line() {
            Ok(line) => {
                batch.lines.push(batch.seq, true, &line);
                batch.checkpoint_seq = batch.seq;
                batch.checkpoints.push(checkpoint);
            }
            // Not written: the next checkpoint covers these records too.
            Err(e) => tracing::error!(error = %e, "cannot encode an audit checkpoint"),
        }
    }

    fn commit(&mut self, batch: Batch) {
        self.seq = batch.seq;
        self.prev = batch.prev;
        self.checkpoint_seq = batch.checkpoint_seq;
        if let Some(metrics) = &self.metrics {
            metrics.records.inc_by(batch.acks.len() as u64);
            metrics.checkpoints.inc_by(batch.checkpoints.len() as u64);
        }
        for checkpoint in &batch.checkpoints {
            // Exported off the machine (the OTLP layer, or the log collector): a copy of the
            // chain's state that a later rewrite of the file cannot reach. In a span of its
            // own, since trace exporters carry events only as parts of spans.
            tracing::info_span!(target: "sluice::audit::checkpoint", "audit checkpoint").in_scope(|| {
                tracing::info!(
                    target: "sluice::audit::checkpoint",
                    seq = checkpoint.seq,
                    hash = %checkpoint.hash,
                    signature = %checkpoint.signature,
                    key_id = %checkpoint.key_id,
                    "audit checkpoint"
                );
            });
        }
        for (ack, seq) in batch.acks {
            let _ = ack.send(Ok(seq));
        }
    }
}

#[cfg(test)]
pub(super) mod testing {
    //! A log over a sink that fails on demand, with real errors: its failing writes go to
    //! `/dev/full`, which answers every write with ENOSPC.

    use std::fs::File;
    use std::io;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU8, Ordering};

    use super::{AuditLog, AuditSettings, FileLike, FileSink, key, tail};
    use crate::audit::log::AuditError;

    /// Writes go to the file.
    pub(crate) const WORKING: u8 = 0;
    /// Writes fail (ENOSPC from `/dev/full`).
    pub(crate) const FULL: u8 = 1;
    /// The next write puts half its bytes in the file, then writes fail: a torn write.
    pub(crate) const TORN: u8 = 2;

    struct Flaky {
        file: File,
        full: File,
        mode: Arc<AtomicU8>,
    }

    impl FileLike for Flaky {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            match self.mode.load(Ordering::SeqCst) {
                WORKING => io::Write::write(&mut self.file, bytes),
                TORN => {
                    self.mode.store(FULL, Ordering::SeqCst);
                    io::Write::write(&mut self.file, bytes.get(..bytes.len() / 2).unwrap_or_default())
                }
                _ => io::Write::write(&mut self.full, bytes),
            }
        }

        fn sync(&mut self) -> io::Result<()> {
            self.file.sync_data()
        }

        fn len(&self) -> io::Result<u64> {
            self.file.metadata().map(|m| m.len())
        }

        fn truncate(&mut self, len: u64) -> io::Result<()> {
            self.file.set_len(len)
        }
    }

    /// Opens the log of `settings` over a sink whose behaviour `mode` sets.
    pub(crate) fn open_flaky(settings: &AuditSettings, mode: Arc<AtomicU8>) -> Result<AuditLog, AuditError> {
        let (signer, _) = key::load_or_create(&settings.signing_key)?;
        let path = settings.file().ok_or_else(|| AuditError::Input("a file log".into()))?.to_path_buf();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| AuditError::File { path: path.clone(), message: e.to_string() })?;
        let end = tail::read_end(&mut file, &path)?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let full = std::fs::OpenOptions::new()
            .append(true)
            .open("/dev/full")
            .map_err(|e| AuditError::File { path: "/dev/full".into(), message: e.to_string() })?;
        let runtime = tokio::runtime::Handle::current();
        let sink = FileSink {
            path,
            file: Box::new(Flaky { file, full, mode }),
            sync: settings.sync,
            len,
            dirty: false,
        };
        AuditLog::start(settings, signer, Box::new(sink), end, None, &runtime)
    }
}
