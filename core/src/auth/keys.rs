//! Loading JWT verification keys at start-up, checked thoroughly enough that a bad key is a
//! configuration problem rather than every request failing later.

use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use serde::Deserialize;

/// The shortest HS256 secret accepted, in bytes: RFC 7518 §3.2 asks for at least the hash size.
pub(crate) const MIN_HS256_SECRET_BYTES: usize = 32;

/// The smallest RSA modulus accepted, in bits (NIST SP 800-131A).
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// A key that verifies tokens signed with exactly one algorithm.
#[derive(Clone, Debug)]
pub(crate) struct VerifyKey {
    /// The only algorithm this key verifies: a token naming another never reaches it.
    pub(crate) alg: Algorithm,
    /// The JWKS `kid`, for keys from a JWKS file.
    pub(crate) kid: Option<String>,
    /// The key material (its `Debug` is redacted by jsonwebtoken).
    pub(crate) key: DecodingKey,
}

/// The HS256 key for `secret`.
///
/// # Errors
/// The secret is shorter than [`MIN_HS256_SECRET_BYTES`].
pub(crate) fn hs256(secret: &str) -> Result<VerifyKey, String> {
    if secret.len() < MIN_HS256_SECRET_BYTES {
        return Err(format!(
            "is {} bytes; HS256 needs at least {MIN_HS256_SECRET_BYTES} random bytes \
             (e.g. `openssl rand -base64 48`)",
            secret.len()
        ));
    }
    Ok(VerifyKey { alg: Algorithm::HS256, kid: None, key: DecodingKey::from_secret(secret.as_bytes()) })
}

/// The key in a PEM text holding one RSA (RS256) or Ed25519 (EdDSA) public key.
///
/// # Errors
/// What is wrong with the PEM, for the configuration report.
pub(crate) fn from_pem(pem: &[u8]) -> Result<VerifyKey, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "is not a PEM text".to_owned())?;
    let blocks: Vec<&str> = text.split("-----BEGIN ").skip(1).collect();
    let label = match blocks.as_slice() {
        [] => return Err("holds no PEM block (\"-----BEGIN PUBLIC KEY-----\")".to_owned()),
        [block] => block.split("-----").next().unwrap_or_default(),
        _ => {
            return Err(format!(
                "holds {} PEM blocks; give one public key here, or several keys in a JWKS file",
                blocks.len()
            ));
        }
    };
    if label.contains("PRIVATE") {
        return Err("holds a private key: give Sluice only the public key \
                    (`openssl pkey -in key.pem -pubout`), and keep the private key with the issuer"
            .to_owned());
    }
    if label != "PUBLIC KEY" && label != "RSA PUBLIC KEY" {
        return Err(format!("holds a \"{label}\", not a \"PUBLIC KEY\""));
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        check_rsa(&key)?;
        return Ok(VerifyKey { alg: Algorithm::RS256, kid: None, key });
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        check_ed25519(&key)?;
        return Ok(VerifyKey { alg: Algorithm::EdDSA, kid: None, key });
    }
    Err("is not a valid RSA or Ed25519 public key (EC keys are not supported)".to_owned())
}

/// One JWKS entry, with only the members Sluice reads.
#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

/// The RS256 and EdDSA signing keys of a JWKS document.
///
/// Keys Sluice cannot use (EC, symmetric, encryption keys, other algorithms) are skipped: an
/// identity provider's JWKS commonly holds several kinds.
///
/// # Errors
/// Every problem found, each a message starting with the JSON location it concerns.
pub(crate) fn from_jwks(json: &[u8]) -> Result<Vec<VerifyKey>, Vec<String>> {
    let raw: RawJwks = serde_json::from_slice(json)
        .map_err(|e| vec![format!("is not a JWKS document ({{\"keys\": [...]}}): {e}")])?;
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for (i, value) in raw.keys.into_iter().enumerate() {
        let jwk: RawJwk = match serde_json::from_value(value) {
            Ok(jwk) => jwk,
            Err(e) => {
                errors.push(format!("keys[{i}]: {e}"));
                continue;
            }
        };
        match jwk_key(&jwk) {
            Ok(Some(key)) => {
                if key.kid.is_some() && keys.iter().any(|k: &VerifyKey| k.kid == key.kid) {
                    errors.push(format!("keys[{i}]: kid {:?} appears twice", key.kid.unwrap_or_default()));
                } else {
                    keys.push(key);
                }
            }
            Ok(None) => {}
            Err(e) => errors.push(format!("keys[{i}]: {e}")),
        }
    }
    if errors.is_empty() && keys.is_empty() {
        errors.push("holds no RSA (RS256) or Ed25519 (EdDSA) signing key".to_owned());
    }
    if errors.is_empty() { Ok(keys) } else { Err(errors) }
}

/// The key of one JWKS entry, `None` when it is not a signing key Sluice uses.
fn jwk_key(jwk: &RawJwk) -> Result<Option<VerifyKey>, String> {
    if jwk.usage.as_deref().is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    let field =
        |value: &Option<String>, name: &str| value.clone().ok_or_else(|| format!("missing \"{name}\""));
    let (alg, key) = match (jwk.kty.as_deref(), jwk.crv.as_deref()) {
        (Some("RSA"), _) => {
            let key = DecodingKey::from_rsa_components(&field(&jwk.n, "n")?, &field(&jwk.e, "e")?)
                .map_err(|_| "\"n\" and \"e\" must be base64url".to_owned())?;
            (Algorithm::RS256, key)
        }
        (Some("OKP"), Some("Ed25519")) => {
            let key = DecodingKey::from_ed_components(&field(&jwk.x, "x")?)
                .map_err(|_| "\"x\" must be base64url".to_owned())?;
            (Algorithm::EdDSA, key)
        }
        _ => return Ok(None),
    };
    // A key published for another algorithm (say PS256 on an RSA key) must not verify RS256.
    let wanted = if alg == Algorithm::RS256 { "RS256" } else { "EdDSA" };
    if jwk.alg.as_deref().is_some_and(|a| a != wanted) {
        return Ok(None);
    }
    match alg {
        Algorithm::RS256 => check_rsa(&key)?,
        _ => check_ed25519(&key)?,
    }
    Ok(Some(VerifyKey { alg, kid: jwk.kid.clone(), key }))
}

/// Refuses RSA keys that do not parse or are too small, which jsonwebtoken would only notice
/// (as a bad signature) when a token arrives.
fn check_rsa(key: &DecodingKey) -> Result<(), String> {
    let bits = match key.kind() {
        DecodingKeyKind::SecretOrDer(der) => rsa_modulus_bits(der),
        DecodingKeyKind::RsaModulusExponent { n, e } if !e.is_empty() => Some(unsigned_bits(n)),
        DecodingKeyKind::RsaModulusExponent { .. } => None,
    };
    match bits {
        None => Err("is not a valid RSA public key".to_owned()),
        Some(bits) if bits < MIN_RSA_BITS => {
            Err(format!("is a {bits}-bit RSA key; at least {MIN_RSA_BITS} bits are required"))
        }
        Some(_) => Ok(()),
    }
}

/// Refuses Ed25519 keys of the wrong length, on which jsonwebtoken's verifier would panic.
fn check_ed25519(key: &DecodingKey) -> Result<(), String> {
    match key.kind() {
        DecodingKeyKind::SecretOrDer(bytes) if bytes.len() == 32 => Ok(()),
        _ => Err("is not a valid Ed25519 public key (32 bytes)".to_owned()),
    }
}

/// The modulus size of a PKCS#1 `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }`.
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    let (0x30, seq, []) = der_element(der)? else {
        return None;
    };
    let (0x02, n, rest) = der_element(seq)? else {
        return None;
    };
    let (0x02, e, []) = der_element(rest)? else {
        return None;
    };
    if e.is_empty() {
        return None;
    }
    Some(unsigned_bits(n))
}

/// Splits one DER element off `input`: `(tag, content, rest)`.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, input) = input.split_first()?;
    let (len, input) = if first < 0x80 {
        (usize::from(first), input)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (len_bytes, input) = input.split_at_checked(n)?;
        (len_bytes.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b)), input)
    };
    let (content, rest) = input.split_at_checked(len)?;
    Some((tag, content, rest))
}

/// Bits in a big-endian unsigned integer, ignoring leading zero bytes.
fn unsigned_bits(be: &[u8]) -> usize {
    let start = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    let digits = be.get(start..).unwrap_or_default();
    match digits.first() {
        None => 0,
        Some(&top) => digits.len() * 8 - top.leading_zeros() as usize,
    }
}
