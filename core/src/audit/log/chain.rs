//! The chain's formulas: how a record line is made and hashed, and what a checkpoint signs.
//! The writer and the verifier both use these, and the README states them for independent
//! verifiers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::entry::AuditEntry;

/// Prefixed to every record hash's input, so that no other SHA-256 in the world collides
/// with the chain by construction.
pub const RECORD_DOMAIN: &[u8] = b"sluice-audit-v1\0";

/// Prefixed to what a checkpoint signs.
pub const CHECKPOINT_DOMAIN: &[u8] = b"sluice-audit-checkpoint-v1\0";

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// The "previous hash" of the first record.
pub const GENESIS: Hash = [0; 32];

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0xf] {
            out.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    out
}

/// Exactly `2 * N` hex digits (either case) as bytes.
pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let high = char::from(*pair.first()?).to_digit(16)?;
        let low = char::from(*pair.get(1)?).to_digit(16)?;
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(out)
}

/// The canonical form of a record: its JSON object without `hash`, keys sorted by their
/// UTF-8 bytes at every level, no whitespace, strings and numbers as serde_json writes them.
/// Sorting is explicit, so it holds even if serde_json's `preserve_order` gets enabled.
pub fn canonical_record(record: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_object(record.iter().filter(|(key, _)| key.as_str() != "hash"), &mut out);
    out
}

fn write_object<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    let mut entries: Vec<_> = entries.collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json(key.as_str(), out);
        out.push(b':');
        write_canonical(value, out);
    }
    out.push(b'}');
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_object(map.iter(), out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_json(scalar, out),
    }
}

fn write_json<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a scalar into a Vec cannot fail; an empty write would only break the hash.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `SHA-256(RECORD_DOMAIN || prev || canonical)`: a record's hash, given the hash of the
/// record before it ([`GENESIS`] for seq 1) and its canonical form.
pub fn record_hash(prev: &Hash, canonical: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(RECORD_DOMAIN);
    hasher.update(prev);
    hasher.update(canonical);
    hasher.finalize().into()
}

/// A record line, as written: `seq` and `at` first, `hash` last.
#[derive(Serialize)]
struct RecordLine<'a> {
    seq: u64,
    at: &'a str,
    #[serde(flatten)]
    entry: &'a AuditEntry,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<&'a str>,
}

/// One encoded record: its line (newline included) and its hash.
pub(super) struct Encoded {
    pub(super) line: Vec<u8>,
    pub(super) hash: Hash,
}

/// Encodes record `seq` written `at`, chained to `prev`. The hash is taken over the record as
/// a reader will parse it back, so writer and verifier canonicalise the same value.
pub(super) fn encode_record(
    seq: u64,
    at: &str,
    entry: &AuditEntry,
    prev: &Hash,
) -> Result<Encoded, serde_json::Error> {
    let value = serde_json::to_value(RecordLine { seq, at, entry, hash: None })?;
    let Value::Object(map) = value else {
        return Err(serde::ser::Error::custom("a record must serialise to a JSON object"));
    };
    let hash = record_hash(prev, &canonical_record(&map));
    let hex = to_hex(&hash);
    let mut line = serde_json::to_vec(&RecordLine { seq, at, entry, hash: Some(&hex) })?;
    line.push(b'\n');
    Ok(Encoded { line, hash })
}

/// What a checkpoint signs: `CHECKPOINT_DOMAIN || seq (8 bytes, big-endian) || hash[seq]`.
pub fn checkpoint_message(seq: u64, hash: &Hash) -> Vec<u8> {
    let mut message = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 8 + 32);
    message.extend_from_slice(CHECKPOINT_DOMAIN);
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(hash);
    message
}

/// A signed statement that the chain's record `seq` has hash `hash`. Not part of the chain:
/// a checkpoint line may be lost without breaking it, and it is exported off the machine so
/// that a later rewrite of the file cannot rewrite it too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The last record it covers.
    pub seq: u64,
    /// Hex of that record's hash.
    pub hash: String,
    /// When it was written (RFC 3339, UTC); not signed.
    pub at: String,
    /// The first 16 hex digits of the SHA-256 of the signing key's public key.
    pub key_id: String,
    /// Base64 of the Ed25519 signature of [`checkpoint_message`].
    pub signature: String,
}

/// A checkpoint line: `{"checkpoint": {...}}`.
#[derive(Serialize)]
struct CheckpointLine<'a> {
    checkpoint: &'a Checkpoint,
}

impl Checkpoint {
    /// The checkpoint as a log line, newline included.
    pub(super) fn line(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut line = serde_json::to_vec(&CheckpointLine { checkpoint: self })?;
        line.push(b'\n');
        Ok(line)
    }
}

/// Now, as RFC 3339 UTC with milliseconds (`2024-05-01T12:00:00.123Z`).
pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
