//! Static API keys: the configuration holds only SHA-256 hashes; a presented key is hashed and
//! compared with every configured hash in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::Principal;

/// The prefix of a configured hash; it names the algorithm so another can be added later.
pub(crate) const HASH_PREFIX: &str = "sha256:";

/// One configured key: its hash and the principal it authenticates.
#[derive(Clone)]
pub(crate) struct ApiKey {
    pub(crate) hash: [u8; 32],
    pub(crate) principal: Principal,
}

/// The configured API keys. `Debug` shows ids only, never hashes.
#[derive(Clone, Default)]
pub(crate) struct ApiKeys {
    keys: Vec<ApiKey>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|k| &k.principal.id)).finish()
    }
}

impl ApiKeys {
    pub(crate) fn new(keys: Vec<ApiKey>) -> Self {
        ApiKeys { keys }
    }

    /// The principal whose key hashes to the same value as `token`, if any.
    ///
    /// Every configured hash is compared, whatever matched before, so the time taken does not
    /// reveal which key (or how much of a hash) matched.
    pub(crate) fn verify(&self, token: &str) -> Option<&Principal> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, key) in (0u64..).zip(&self.keys) {
            let eq = digest.ct_eq(&key.hash);
            index.conditional_assign(&i, eq);
            found |= eq;
        }
        if bool::from(found) {
            usize::try_from(index).ok().and_then(|i| self.keys.get(i)).map(|k| &k.principal)
        } else {
            None
        }
    }
}

/// Parses a configured `sha256:<64 hex digits>` hash (either hex case).
///
/// # Errors
/// A message saying what is wrong with it, for the configuration report.
pub(crate) fn parse_hash(text: &str) -> Result<[u8; 32], String> {
    let hex = text.strip_prefix(HASH_PREFIX).ok_or_else(|| {
        "must be \"sha256:\" followed by 64 hex digits (the SHA-256 of the key, never the key \
         itself)"
            .to_owned()
    })?;
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return Err(format!("must have 64 hex digits after \"sha256:\", found {}", bytes.len()));
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        match (pair.first().copied().and_then(hex_digit), pair.get(1).copied().and_then(hex_digit)) {
            (Some(hi), Some(lo)) => *byte = hi << 4 | lo,
            _ => return Err("must have only hex digits (0-9, a-f) after \"sha256:\"".to_owned()),
        }
    }
    Ok(out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The configuration form of `key`'s hash: `sha256:<64 lowercase hex digits>`.
pub fn hash_api_key(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(HASH_PREFIX.len() + 64);
    out.push_str(HASH_PREFIX);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A new random API key and its hash, as `(key, hash)`: give the key to the caller once, put
/// only the hash in the configuration.
///
/// The key is `sk_` followed by 32 random bytes in base64url (43 characters). The bytes come
/// from two version-4 UUIDs, which the `uuid` crate fills from the operating system's RNG; the
/// fixed version and variant bits leave 244 random bits, far beyond guessing range.
pub fn generate_api_key() -> (String, String) {
    let mut bytes = [0u8; 32];
    let (first, second) = bytes.split_at_mut(16);
    first.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    second.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let key = format!("sk_{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_api_key(&key);
    (key, hash)
}
