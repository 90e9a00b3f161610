//! The checkpoint signing key: a file holding the 32-byte Ed25519 secret key as base64, on
//! one line, readable by Sluice alone (mode 0600).

use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::chain::{Checkpoint, Hash, checkpoint_message, to_hex};
use super::error::AuditError;

/// A checkpoint verification key: an Ed25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Reads the base64 of the 32-byte public key (as `sluice audit public-key` prints it).
    ///
    /// # Errors
    /// Not base64, not 32 bytes, or not a valid Ed25519 point.
    pub fn from_base64(text: &str) -> Result<Self, AuditError> {
        let bad =
            || AuditError::Input(format!("{:?} is not the base64 of an Ed25519 public key", text.trim()));
        let bytes: [u8; 32] =
            STANDARD.decode(text.trim()).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        VerifyingKey::from_bytes(&bytes).map(PublicKey).map_err(|_| bad())
    }

    /// The base64 of the 32-byte public key.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    /// The key's id in checkpoints: the first 16 hex digits of the SHA-256 of its 32 bytes.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0.to_bytes());
        to_hex(digest.get(..8).unwrap_or_default())
    }

    /// Whether `signature` is this key's signature of `message` (strict Ed25519: no
    /// malleable or small-order forms).
    pub(super) fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.0.verify_strict(message, &Signature::from_bytes(signature)).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// The secret key, loaded. Its `Debug` shows only the public key.
pub struct Signer {
    key: SigningKey,
    public: PublicKey,
}

impl Signer {
    fn new(key: SigningKey) -> Self {
        let public = PublicKey(key.verifying_key());
        Signer { key, public }
    }

    /// The public key that verifies this signer's checkpoints.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// A checkpoint of record `seq` whose hash is `hash`, written `at`.
    pub(super) fn checkpoint(&self, seq: u64, hash: &Hash, at: &str) -> Checkpoint {
        let signature = self.key.sign(&checkpoint_message(seq, hash));
        Checkpoint {
            seq,
            hash: to_hex(hash),
            at: at.to_owned(),
            key_id: self.public.key_id(),
            signature: STANDARD.encode(signature.to_bytes()),
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("public", &self.public).finish_non_exhaustive()
    }
}

fn key_error(path: &Path, message: impl Into<String>) -> AuditError {
    AuditError::Key { path: path.to_path_buf(), message: message.into() }
}

/// Reads the signing key file at `path`.
///
/// # Errors
/// The file cannot be read, or is not one line of base64 holding 32 bytes.
pub fn read_signing_key(path: &Path) -> Result<Signer, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|e| key_error(path, format!("cannot read: {e}")))?;
    let secret: [u8; 32] =
        STANDARD.decode(text.trim()).ok().and_then(|bytes| bytes.try_into().ok()).ok_or_else(|| {
            key_error(
                path,
                "malformed: expected one line of base64 holding a 32-byte Ed25519 secret key \
                 (make one with `sluice audit keygen --out FILE`)",
            )
        })?;
    Ok(Signer::new(SigningKey::from_bytes(&secret)))
}

/// Checks, without creating anything, that the key file at `path` is usable: either absent
/// (it will be created) or well-formed. For configuration validation.
///
/// # Errors
/// Why the existing file cannot be used.
pub fn check_signing_key_file(path: &Path) -> Result<(), AuditError> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        _ => read_signing_key(path).map(|_| ()),
    }
}

/// Creates a new random signing key at `path` (mode 0600), refusing to replace an existing
/// file; returns its public key.
///
/// # Errors
/// The file exists or cannot be written, or the system has no randomness to give.
pub fn generate_signing_key(path: &Path) -> Result<PublicKey, AuditError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| key_error(path, format!("no system randomness: {e}")))?;
    let signer = Signer::new(SigningKey::from_bytes(&secret));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(
        |e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => key_error(path, "already exists; not replacing it"),
            _ => key_error(path, format!("cannot create: {e}")),
        },
    )?;
    let written = writeln!(file, "{}", STANDARD.encode(secret)).and_then(|()| file.sync_all());
    secret.fill(0);
    written.map_err(|e| key_error(path, format!("cannot write: {e}")))?;
    Ok(signer.public)
}

/// Loads the signing key at `path`, creating it first when the file does not exist; the
/// flag tells whether it was created.
pub(super) fn load_or_create(path: &Path) -> Result<(Signer, bool), AuditError> {
    match std::fs::metadata(path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "the audit signing key can be read by other users; `chmod 600` it"
                );
            }
            read_signing_key(path).map(|signer| (signer, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match generate_signing_key(path) {
                Ok(_) => read_signing_key(path).map(|signer| (signer, true)),
                // Another process created it between the two calls: use theirs.
                Err(AuditError::Key { .. }) if path.exists() => {
                    read_signing_key(path).map(|signer| (signer, false))
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(key_error(path, format!("cannot read: {e}"))),
    }
}
