//! Verification: walks a log line by line (streaming, one line in memory, whatever the file's
//! size) and reports the first problem, telling apart what was done to the file: a record
//! edited, deleted, moved or inserted, a checkpoint forged or left behind by a rewrite, a
//! partial last line; and against a checkpoint kept off the machine, a truncation or a rewrite
//! of the whole chain. The writer runs the same walk over the end of the file before it
//! continues the chain.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::chain::{
    Checkpoint, GENESIS, Hash, canonical_record, checkpoint_message, from_hex, record_hash, to_hex,
};
use super::error::{AuditError, Finding, FindingKind};
use super::key::PublicKey;

/// The longest line accepted, in bytes (records are a few hundred).
const MAX_LINE: u64 = 1 << 20;

/// What to check a log against.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Keys whose signatures checkpoints may carry (several, across key rotations). Empty:
    /// signatures are not checked, and the report says so.
    pub public_keys: Vec<PublicKey>,
    /// A checkpoint kept off the machine: the log must reach its seq, with its hash there.
    pub checkpoint: Option<ExternalCheckpoint>,
}

/// A checkpoint kept off the machine (exported, or copied from the log earlier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalCheckpoint {
    /// The record it seals.
    pub seq: u64,
    /// That record's hash.
    pub hash: Hash,
    /// The signing key's id, when known.
    pub key_id: Option<String>,
    /// The signature, when known.
    pub signature: Option<[u8; 64]>,
}

impl ExternalCheckpoint {
    /// Reads one checkpoint: a checkpoint line of the log (`{"checkpoint": {...}}`), the object
    /// inside one, or a JSON log line of the exported `audit checkpoint` event (with `seq`,
    /// `hash`, `signature` and `key_id` at its top or under `fields`). When `text` has several
    /// lines, the one with the highest seq counts.
    ///
    /// # Errors
    /// No line of `text` holds a checkpoint.
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|value| Self::from_value(&value))
            .max_by_key(|checkpoint| checkpoint.seq)
            .ok_or_else(|| {
                AuditError::Input(
                    "no checkpoint found: expected a JSON line with seq and hash (a checkpoint line \
                     of the log, or the exported `audit checkpoint` event)"
                        .into(),
                )
            })
    }

    fn from_value(value: &Value) -> Option<Self> {
        [value.get("checkpoint"), value.get("fields"), Some(value)].into_iter().flatten().find_map(|object| {
            let seq = object.get("seq")?.as_u64()?;
            let hash = from_hex::<32>(object.get("hash")?.as_str()?)?;
            let signature = object
                .get("signature")
                .and_then(Value::as_str)
                .and_then(|s| STANDARD.decode(s).ok())
                .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok());
            let key_id = object.get("key_id").and_then(Value::as_str).map(str::to_owned);
            Some(ExternalCheckpoint { seq, hash, key_id, signature })
        })
    }
}

/// What a successful verification saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records in the log.
    pub records: u64,
    /// Checkpoint lines in the log.
    pub checkpoints: u64,
    /// Whether checkpoint signatures were checked (a public key was given).
    pub signatures_checked: bool,
    /// The last record's seq (0 for an empty log).
    pub last_seq: u64,
    /// The last record's hash.
    pub last_hash: Hash,
    /// Records after the last checkpoint, which no signature covers yet.
    pub unsealed: u64,
    /// The external checkpoint's seq, which matched.
    pub external: Option<u64>,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ok: {} records, {} checkpoints", self.records, self.checkpoints)?;
        if self.signatures_checked {
            f.write_str(" (all signatures valid)")?;
        } else {
            f.write_str(", checkpoint signatures not checked (no --public-key)")?;
        }
        write!(f, ", last seq {}, last hash {}", self.last_seq, to_hex(&self.last_hash))?;
        if let Some(seq) = self.external {
            write!(f, "; the external checkpoint at seq {seq} matches")?;
        }
        if self.unsealed > 0 {
            write!(f, "; {} records after the last checkpoint are not signed yet", self.unsealed)?;
        }
        Ok(())
    }
}

/// Verifies the log at `path` from its first line to its last.
///
/// # Errors
/// [`AuditError::Invalid`] with the first problem (line, seq, what); [`AuditError::File`]
/// when it cannot be read; [`AuditError::Input`] when the external checkpoint's own
/// signature does not verify with the given keys.
pub fn verify_file(path: &Path, options: &VerifyOptions) -> Result<VerifyReport, AuditError> {
    let keys = keys_of(options)?;
    let file_error =
        |e: io::Error| AuditError::File { path: path.to_path_buf(), message: format!("cannot read: {e}") };
    let file = File::open(path).map_err(file_error)?;
    verify_lines(BufReader::with_capacity(1 << 16, file), &keys, options).map_err(|e| match e {
        Stop::Io(e) => file_error(e),
        Stop::Found(finding) => AuditError::Invalid { path: path.to_path_buf(), finding },
    })
}

/// The public keys of `options` with their ids, after checking the external checkpoint's own
/// signature with them.
pub(super) fn keys_of(options: &VerifyOptions) -> Result<Vec<(String, PublicKey)>, AuditError> {
    let keys: Vec<(String, PublicKey)> =
        options.public_keys.iter().map(|k| (k.key_id(), k.clone())).collect();
    if let Some(external) = &options.checkpoint {
        check_external_signature(external, &keys)?;
    }
    Ok(keys)
}

/// Verifies the lines `reader` gives, from a log's first line to its last: the one walk
/// behind [`verify_file`] and the PostgreSQL store's verification, which streams a chain's
/// rows as the lines a file would hold.
pub(super) fn verify_lines<R: BufRead>(
    reader: R,
    keys: &[(String, PublicKey)],
    options: &VerifyOptions,
) -> Result<VerifyReport, Stop> {
    let mut lines = Lines::new(reader);
    let mut chain = Chain::from_start();
    chain.walk(&mut lines, keys, options.checkpoint.as_ref())?;
    if let Some(external) = &options.checkpoint
        && chain.last_seq < external.seq
    {
        return Err(Stop::Found(Finding {
            line: lines.number,
            seq: Some(chain.last_seq),
            kind: FindingKind::Truncated,
            message: format!(
                "the log ends at seq {}, before the external checkpoint's seq {}: records were removed \
                 from its end (truncated)",
                chain.last_seq, external.seq
            ),
        }));
    }
    Ok(VerifyReport {
        records: chain.records,
        checkpoints: chain.checkpoints,
        signatures_checked: !keys.is_empty(),
        last_seq: chain.last_seq,
        last_hash: chain.prev,
        unsealed: chain.last_seq.saturating_sub(chain.checkpoint_seq),
        external: options.checkpoint.as_ref().map(|c| c.seq),
    })
}

fn check_external_signature(
    external: &ExternalCheckpoint,
    keys: &[(String, PublicKey)],
) -> Result<(), AuditError> {
    let Some(signature) = external.signature else { return Ok(()) };
    if keys.is_empty() {
        return Ok(());
    }
    let message = checkpoint_message(external.seq, &external.hash);
    let verified = keys
        .iter()
        .filter(|(id, _)| external.key_id.as_ref().is_none_or(|wanted| wanted == id))
        .any(|(_, key)| key.verifies(&message, &signature));
    if verified {
        Ok(())
    } else {
        Err(AuditError::Input(format!(
            "the external checkpoint (seq {}) is not signed by the given public key(s): it did not come \
             from this log's writer",
            external.seq
        )))
    }
}

/// Where the chain ends, as the writer needs it to continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChainEnd {
    /// The last record's seq (0: none).
    pub(super) seq: u64,
    /// Its hash ([`GENESIS`] for none).
    pub(super) hash: Hash,
    /// The last checkpoint's seq (0: none seen).
    pub(super) checkpoint_seq: u64,
    /// Records seen.
    pub(super) records: u64,
}

/// Checks the complete lines of `window`, the end of a log; `from_start` says whether it is
/// the whole file (then its first record must be seq 1, chained to [`GENESIS`]). Otherwise
/// its first record is taken as it is and every later one checked against it. Line numbers
/// in a finding count from the window's first line.
pub(super) fn check_window(window: &[u8], from_start: bool) -> Result<ChainEnd, Finding> {
    let mut chain = if from_start { Chain::from_start() } else { Chain::unanchored() };
    let mut lines = Lines::new(window);
    match chain.walk(&mut lines, &[], None) {
        Ok(()) => Ok(ChainEnd {
            seq: chain.last_seq,
            hash: chain.prev,
            checkpoint_seq: chain.checkpoint_seq,
            records: chain.records,
        }),
        Err(Stop::Found(finding)) => Err(finding),
        // Reading a byte slice does not fail.
        Err(Stop::Io(e)) => {
            Err(Finding { line: 0, seq: None, kind: FindingKind::Malformed, message: e.to_string() })
        }
    }
}

/// Whether a complete line is a checkpoint line rather than a record (for `tail`).
pub(super) fn is_checkpoint_line(line: &[u8]) -> bool {
    serde_json::from_slice::<Value>(line).is_ok_and(|value| value.get("checkpoint").is_some())
}

/// Why a walk stopped early.
pub(super) enum Stop {
    /// The lines could not be read.
    Io(io::Error),
    /// The first problem.
    Found(Finding),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Self {
        Stop::Io(e)
    }
}

/// One line as read: its number, its bytes without the newline, and whether it had one.
struct RawLine {
    number: u64,
    bytes: Vec<u8>,
    complete: bool,
}

/// Lines of a reader, numbered from 1, each at most [`MAX_LINE`] bytes.
struct Lines<R> {
    reader: R,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Lines { reader, number: 0 }
    }

    fn next(&mut self) -> io::Result<Option<RawLine>> {
        let mut bytes = Vec::with_capacity(512);
        let read = (&mut self.reader).take(MAX_LINE + 1).read_until(b'\n', &mut bytes)?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        let complete = bytes.last() == Some(&b'\n');
        if complete {
            bytes.pop();
        }
        Ok(Some(RawLine { number: self.number, bytes, complete }))
    }

    /// The next record line that parses, skipping checkpoints (for telling problems apart).
    fn next_record(&mut self) -> io::Result<Option<(u64, Record)>> {
        while let Some(line) = self.next()? {
            if let Ok(Parsed::Record(record)) = parse(&line.bytes) {
                return Ok(Some((line.number, record)));
            }
        }
        Ok(None)
    }
}

/// A record line, parsed: its seq, its stated hash, and its canonical form.
struct Record {
    seq: u64,
    hash: Hash,
    canonical: Vec<u8>,
}

enum Parsed {
    Record(Record),
    Checkpoint(Checkpoint),
}

fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let Strict(value) = serde_json::from_slice(bytes).map_err(|e| format!("not a JSON line: {e}"))?;
    let Value::Object(mut map) = value else { return Err("not a JSON object".into()) };
    if let Some(checkpoint) = map.remove("checkpoint") {
        if !map.is_empty() {
            return Err("a checkpoint line has keys besides \"checkpoint\"".into());
        }
        return serde_json::from_value(checkpoint)
            .map(Parsed::Checkpoint)
            .map_err(|e| format!("malformed checkpoint: {e}"));
    }
    let hash = match map.get("hash") {
        Some(Value::String(hex)) => from_hex::<32>(hex).ok_or("\"hash\" is not 64 hex digits")?,
        _ => return Err("a record without \"hash\"".into()),
    };
    let seq = match map.get("seq").and_then(Value::as_u64) {
        Some(seq) if seq > 0 => seq,
        _ => return Err("a record without \"seq\" (a positive integer)".into()),
    };
    Ok(Parsed::Record(Record { seq, hash, canonical: canonical_record(&map) }))
}

/// The walk's state.
struct Chain {
    /// Whether `prev` is known to be the hash before the next record (false at the start of
    /// a window taken from the middle of a file).
    anchored: bool,
    last_seq: u64,
    prev: Hash,
    last_line: u64,
    records: u64,
    checkpoints: u64,
    checkpoint_seq: u64,
}

impl Chain {
    fn from_start() -> Self {
        Chain {
            anchored: true,
            last_seq: 0,
            prev: GENESIS,
            last_line: 0,
            records: 0,
            checkpoints: 0,
            checkpoint_seq: 0,
        }
    }

    fn unanchored() -> Self {
        Chain { anchored: false, ..Chain::from_start() }
    }

    fn walk<R: BufRead>(
        &mut self,
        lines: &mut Lines<R>,
        keys: &[(String, PublicKey)],
        external: Option<&ExternalCheckpoint>,
    ) -> Result<(), Stop> {
        while let Some(line) = lines.next()? {
            let found =
                |seq, kind, message: String| Stop::Found(Finding { line: line.number, seq, kind, message });
            if !line.complete {
                if line.bytes.len() as u64 > MAX_LINE {
                    let message = format!("longer than {MAX_LINE} bytes: not a line of this log");
                    return Err(found(None, FindingKind::Malformed, message));
                }
                let message = "the last line is incomplete (no newline at its end): the writer stopped \
                               mid-write, or the file was cut";
                return Err(found(None, FindingKind::Partial, message.to_owned()));
            }
            match parse(&line.bytes) {
                Err(message) => return Err(found(None, FindingKind::Malformed, message)),
                Ok(Parsed::Checkpoint(checkpoint)) => self.checkpoint(line.number, &checkpoint, keys)?,
                Ok(Parsed::Record(record)) => self.record(line.number, record, lines, external)?,
            }
        }
        Ok(())
    }

    fn record<R: BufRead>(
        &mut self,
        line: u64,
        record: Record,
        rest: &mut Lines<R>,
        external: Option<&ExternalCheckpoint>,
    ) -> Result<(), Stop> {
        if self.anchored || self.records > 0 {
            let expected = self.last_seq.saturating_add(1);
            if record.seq != expected {
                return Err(self.out_of_sequence(line, &record, expected, rest)?);
            }
            if record_hash(&self.prev, &record.canonical) != record.hash {
                return Err(self.broken_link(line, &record, rest)?);
            }
        }
        self.prev = record.hash;
        self.last_seq = record.seq;
        self.last_line = line;
        self.records += 1;
        if let Some(external) = external
            && external.seq == record.seq
            && external.hash != record.hash
        {
            return Err(Stop::Found(Finding {
                line,
                seq: Some(record.seq),
                kind: FindingKind::Rewritten,
                message: format!(
                    "the record's hash {} differs from the external checkpoint's {}: the chain was rewritten",
                    to_hex(&record.hash),
                    to_hex(&external.hash)
                ),
            }));
        }
        Ok(())
    }

    /// Tells a deletion from a move: a missing seq that shows up later was moved.
    fn out_of_sequence<R: BufRead>(
        &self,
        line: u64,
        record: &Record,
        expected: u64,
        rest: &mut Lines<R>,
    ) -> io::Result<Stop> {
        let seq = record.seq;
        let (kind, message) = if self.records > 0 && seq == self.last_seq {
            (
                FindingKind::Duplicate,
                format!("duplicate seq {seq} (also at line {}): a record was inserted", self.last_line),
            )
        } else if seq < expected {
            (
                FindingKind::Reordered,
                format!("seq {seq} comes after seq {}: records are out of order (reordered)", self.last_seq),
            )
        } else {
            let mut later = None;
            while let Some((number, next)) = rest.next_record()? {
                if next.seq == expected {
                    later = Some(number);
                    break;
                }
            }
            match later {
                Some(at) => (
                    FindingKind::Reordered,
                    format!(
                        "seq {seq} where seq {expected} was expected, and seq {expected} comes later, at \
                         line {at}: records are out of order (reordered)"
                    ),
                ),
                None => (
                    FindingKind::Deleted,
                    format!(
                        "seq {seq} where seq {expected} was expected: {} record(s) missing (seq {expected}..={}): \
                         deleted",
                        seq - expected,
                        seq - 1
                    ),
                ),
            }
        };
        Ok(Stop::Found(Finding { line, seq: Some(seq), kind, message }))
    }

    /// Tells an edit from an insertion: an edited record keeps its hash, so the next record
    /// still chains from it.
    fn broken_link<R: BufRead>(&self, line: u64, record: &Record, rest: &mut Lines<R>) -> io::Result<Stop> {
        let seq = record.seq;
        let next = rest.next_record()?;
        let chains_on = |next: &Record| {
            Some(next.seq) == seq.checked_add(1) && record_hash(&record.hash, &next.canonical) == next.hash
        };
        let (kind, message) = match next {
            Some((_, next)) if chains_on(&next) => (
                FindingKind::Edited,
                "the record's content does not match its hash, and the next record still chains from that \
                 hash: the record was edited"
                    .to_owned(),
            ),
            Some(_) => (
                FindingKind::Inserted,
                format!(
                    "the record does not chain from seq {} (its hash is not that of its content after seq {}'s), \
                     nor does the next record chain from it: a record was inserted or replaced",
                    seq - 1,
                    seq - 1
                ),
            ),
            None => (
                FindingKind::Edited,
                "the last record's content does not match its hash: the record was edited (or replaced)"
                    .to_owned(),
            ),
        };
        Ok(Stop::Found(Finding { line, seq: Some(seq), kind, message }))
    }

    fn checkpoint(
        &mut self,
        line: u64,
        checkpoint: &Checkpoint,
        keys: &[(String, PublicKey)],
    ) -> Result<(), Stop> {
        let seq = checkpoint.seq;
        let found = |kind, message: String| Stop::Found(Finding { line, seq: Some(seq), kind, message });
        let hash = from_hex::<32>(&checkpoint.hash).ok_or_else(|| {
            found(FindingKind::Malformed, "the checkpoint's hash is not 64 hex digits".into())
        })?;
        let signature = STANDARD
            .decode(&checkpoint.signature)
            .ok()
            .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
            .ok_or_else(|| {
                found(FindingKind::Malformed, "the checkpoint's signature is not 64 bytes of base64".into())
            })?;
        if self.anchored || self.records > 0 {
            if seq != self.last_seq {
                return Err(found(
                    FindingKind::CheckpointMismatch,
                    format!(
                        "a checkpoint for seq {seq} after seq {}: a checkpoint seals the record just before it, \
                         so it was moved or the records around it were changed",
                        self.last_seq
                    ),
                ));
            }
            if hash != self.prev {
                return Err(found(
                    FindingKind::CheckpointMismatch,
                    format!(
                        "the checkpoint says seq {seq} has hash {}, but the chain has {}: the records up to seq \
                         {seq} were rewritten after the checkpoint was signed",
                        checkpoint.hash,
                        to_hex(&self.prev)
                    ),
                ));
            }
        }
        if !keys.is_empty() {
            let Some((id, key)) = keys.iter().find(|(id, _)| *id == checkpoint.key_id) else {
                let ids: Vec<&str> = keys.iter().map(|(id, _)| id.as_str()).collect();
                return Err(found(
                    FindingKind::UnknownKey,
                    format!(
                        "the checkpoint is signed by key id {}, which is none of the given public keys ({})",
                        checkpoint.key_id,
                        ids.join(", ")
                    ),
                ));
            };
            if !key.verifies(&checkpoint_message(seq, &hash), &signature) {
                return Err(found(
                    FindingKind::BadSignature,
                    format!(
                        "the checkpoint's signature does not verify with key {id}: it was forged or altered"
                    ),
                ));
            }
        }
        self.checkpoints += 1;
        self.checkpoint_seq = seq;
        Ok(())
    }
}

/// A JSON value whose objects may not repeat a key. serde_json keeps the last of repeated
/// keys, other readers the first: a line with `"principal"` twice could show one principal to
/// the verifier and another to a person.
struct Strict(Value);

impl<'de> de::Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!("the key {key:?} appears twice")));
            }
            let Strict(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}
