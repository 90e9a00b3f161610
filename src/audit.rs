//! `sluice audit`: verify a log, read its end, make and show its signing key. These work on
//! files or on a PostgreSQL store, without a running Sluice: a verifier may be a machine that
//! never ran one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use sluice_core::audit::log::{self, ExternalCheckpoint, PublicKey, VerifyOptions};

/// Where a log is read from.
#[derive(Clone)]
pub enum Source {
    /// A log file.
    File(PathBuf),
    /// A PostgreSQL store: one chain, or (verify only) every chain in it.
    Store {
        /// The store's `postgres://` URL (may hold a password: never printed).
        url: String,
        /// The chain; `None`: all of them.
        chain: Option<String>,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(path) => f.debug_tuple("File").field(path).finish(),
            Source::Store { url, chain } => f
                .debug_struct("Store")
                .field("url", &sluice_core::config::redact_url(url))
                .field("chain", chain)
                .finish(),
        }
    }
}

/// One `sluice audit` command.
#[derive(Debug, Clone)]
pub enum Action {
    /// Walk the log and report the first problem.
    Verify {
        /// The log.
        log: Source,
        /// Public keys (base64, or files holding it) checkpoints may be signed with.
        public_keys: Vec<String>,
        /// A checkpoint kept off the machine: a JSON line, or `@FILE`.
        checkpoint: Option<String>,
    },
    /// Print the last records.
    Tail {
        /// The log (a store needs its chain).
        log: Source,
        /// How many.
        n: usize,
        /// The lines as written rather than one readable line each.
        json: bool,
        /// Keep printing records as they are added.
        follow: bool,
    },
    /// Create a signing key file.
    Keygen {
        /// Where; never replaced.
        out: PathBuf,
    },
    /// Print a signing key's public key.
    PublicKey {
        /// The signing key file.
        signing_key: PathBuf,
    },
}

/// Runs `action`, writing its answer to `out`.
///
/// # Errors
/// A verification problem (the first one, naming its line and seq), or a file that cannot be
/// read or written.
pub fn run(action: Action, out: &mut impl Write) -> anyhow::Result<()> {
    match action {
        Action::Verify { log, public_keys, checkpoint } => {
            let options = VerifyOptions {
                public_keys: public_keys.iter().map(|k| public_key(k)).collect::<anyhow::Result<_>>()?,
                checkpoint: checkpoint.as_deref().map(external_checkpoint).transpose()?,
            };
            match log {
                Source::File(path) => writeln!(out, "{}", log::verify_file(&path, &options)?)?,
                Source::Store { url, chain: Some(chain) } => {
                    writeln!(out, "{}", log::verify_store(&url, &chain, &options)?)?;
                }
                Source::Store { url, chain: None } => verify_chains(&url, &options, out)?,
            }
        }
        Action::Tail { log, n, json, follow } => {
            let show = |out: &mut dyn Write, line: &str| {
                if json { writeln!(out, "{line}") } else { writeln!(out, "{}", log::format_record(line)) }
            };
            let poll = Duration::from_millis(500);
            match log {
                Source::File(path) => {
                    let (records, end) = log::last_records(&path, n)?;
                    for line in &records {
                        show(out, line)?;
                    }
                    out.flush()?;
                    if follow {
                        log::follow(&path, end, poll, |line| {
                            show(out, line)?;
                            out.flush()
                        })?;
                    }
                }
                Source::Store { url, chain } => {
                    let chain = chain
                        .context("--store needs --chain for tail (see `sluice audit verify --store`)")?;
                    let (records, last) = log::last_store_records(&url, &chain, n)?;
                    for line in &records {
                        show(out, line)?;
                    }
                    out.flush()?;
                    if follow {
                        log::follow_store(&url, &chain, last, poll, |line| {
                            show(out, line)?;
                            out.flush()
                        })?;
                    }
                }
            }
        }
        Action::Keygen { out: path } => {
            let key = log::generate_signing_key(&path)?;
            writeln!(
                out,
                "signing key: {}\npublic key:  {key}\nkey id:      {}\n\nPoint [audit] signing_key at the file; keep the \
                 public key off this machine, to verify checkpoints with (sluice audit verify --public-key).",
                path.display(),
                key.key_id()
            )?;
        }
        Action::PublicKey { signing_key } => {
            let signer = log::read_signing_key(&signing_key)?;
            writeln!(out, "{}", signer.public_key())?;
        }
    }
    Ok(())
}

/// Verifies every chain in the store at `url`, one line each; fails when any does not verify.
fn verify_chains(url: &str, options: &VerifyOptions, out: &mut impl Write) -> anyhow::Result<()> {
    let chains = log::store_chains(url)?;
    if chains.is_empty() {
        writeln!(out, "no chains in the store")?;
        return Ok(());
    }
    let mut failed = Vec::new();
    for chain in &chains {
        match log::verify_store(url, chain, options) {
            Ok(report) => writeln!(out, "chain {chain:?}: {report}")?,
            Err(e) => {
                writeln!(out, "chain {chain:?}: FAILED: {e}")?;
                failed.push(e.to_string());
            }
        }
    }
    match failed.first() {
        None => Ok(()),
        Some(first) => {
            anyhow::bail!("{} of {} chains do not verify; the first: {first}", failed.len(), chains.len())
        }
    }
}

/// `--public-key`: the base64 itself, or a file holding it.
fn public_key(given: &str) -> anyhow::Result<PublicKey> {
    let path = Path::new(given);
    if path.is_file() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return PublicKey::from_base64(&text).with_context(|| format!("in {}", path.display()));
    }
    Ok(PublicKey::from_base64(given)?)
}

/// `--checkpoint`: a JSON line, or `@FILE` (its checkpoint with the highest seq).
fn external_checkpoint(given: &str) -> anyhow::Result<ExternalCheckpoint> {
    match given.strip_prefix('@') {
        Some(file) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
            ExternalCheckpoint::parse(&text).with_context(|| format!("in {file}"))
        }
        None => Ok(ExternalCheckpoint::parse(given)?),
    }
}
