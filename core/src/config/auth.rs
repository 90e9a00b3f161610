//! `[auth]`: how callers prove who they are. Field docs are the configuration reference.
//!
//! At least one scheme must be configured: an empty `[auth]` is refused, because a gateway in
//! front of databases must not run open.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::Problems;
use crate::auth::keys::{self, VerifyKey};
use crate::auth::{ApiKey, ApiKeys, Authenticator, ClaimMapping, JwtVerifier, Principal, parse_hash};

/// Default clock skew allowed on `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;
/// Largest clock skew accepted, in seconds.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

/// `[auth]`. Configure `[[auth.api_keys]]`, `[auth.jwt]`, or both; a token shaped like a JWT is
/// checked as a JWT, any other as an API key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `[[auth.api_keys]]`: static keys, one table each. Default none.
    #[serde(default)]
    pub api_keys: Vec<ApiKeySection>,
    /// `[auth.jwt]`: JSON Web Tokens from an identity provider. Default off.
    pub jwt: Option<JwtSection>,
}

/// `[[auth.api_keys]]`: one static key. Callers send it as `Authorization: Bearer <key>`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySection {
    /// The principal id this key authenticates, as policies and the audit log see it. Required,
    /// unique among API keys. Note: a JWT whose subject is the same string yields the same id.
    pub id: String,
    /// `sha256:` followed by the 64 hex digits of the key's SHA-256. Required, unique. The key
    /// itself never appears in the configuration; generate a key and its hash with
    /// `sluice_core::auth::generate_api_key` (or hash an existing key with
    /// `printf %s "$KEY" | sha256sum`). Keys should be long and
    /// random (a generated key has 244 random bits): the hash is unsalted, so a short or
    /// guessable key can be recovered from a leaked configuration.
    pub hash: String,
    /// Roles of the principal, for policy. Default none.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Attributes of the principal (e.g. `tenant_id = "1"`), for policy and row filters.
    /// Default none.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// `[auth.jwt]`: accept JWTs signed by a configured key. `exp` is always required; `nbf` is
/// checked when present; `iss` and `aud` are required and must match.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSection {
    /// The `iss` every token must carry, exactly. Required.
    pub issuer: String,
    /// Accepted audiences: a token's `aud` must contain at least one. Required, non-empty;
    /// name Sluice here, so tokens minted for other services are refused.
    pub audience: Vec<String>,
    /// Signature algorithms accepted: any of `HS256`, `RS256`, `EdDSA`. Required. Each needs a
    /// key: `HS256` the `hs256_secret`, `RS256` an RSA key and `EdDSA` an Ed25519 key from
    /// `public_key_pem`, `public_key_file` or `jwks_file`. A token is only ever verified with a
    /// key of its own algorithm, so allowing HS256 beside RS256 does not let an RSA public key
    /// serve as an HMAC secret. Unsigned tokens (`none`) are never accepted.
    pub algorithms: Vec<String>,
    /// The shared HS256 secret, at least 32 bytes. Default none. Security: anyone holding it can
    /// mint tokens; write `${JWT_SECRET}` to take it from the environment rather than the file.
    pub hs256_secret: Option<String>,
    /// One RSA (2048 bits or more) or Ed25519 public key, PEM text (`-----BEGIN PUBLIC KEY-----`).
    /// Default none. Private keys are refused: only the issuer should hold one.
    pub public_key_pem: Option<String>,
    /// Like `public_key_pem`, read from a file, relative to the configuration file's directory.
    /// Default none. Set this or `public_key_pem`, not both.
    pub public_key_file: Option<PathBuf>,
    /// A JWKS file (`{"keys": [...]}`), relative to the configuration file's directory. Default
    /// none. A token's `kid` header selects the key; without a `kid`, the token is accepted only
    /// when exactly one configured key fits its algorithm. RSA and Ed25519 signing keys are
    /// used; other keys (EC, symmetric, encryption) are ignored. Read once at start-up.
    pub jwks_file: Option<PathBuf>,
    /// Clock skew allowed when checking `exp` and `nbf`, in seconds. Default 30, at most 300.
    pub leeway_seconds: Option<u64>,
    /// The claim holding the principal id (a string or a number). Default `sub`. A token without
    /// it is refused.
    pub subject_claim: Option<String>,
    /// The claim holding the roles: an array of strings or one space-separated string.
    /// Default `roles`. Absent means no roles; any other shape refuses the token.
    pub roles_claim: Option<String>,
    /// `[auth.jwt.attributes]`: principal attribute -> claim name, e.g. `tenant_id = "tenant"`.
    /// Default none. A claim name that is not a top-level claim is read as a dotted path into
    /// nested objects (`org.id`). String, number and boolean claims become text; an absent claim
    /// leaves the attribute unset; an array or object refuses the token.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl fmt::Debug for JwtSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSection")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithms", &self.algorithms)
            .field("hs256_secret", &self.hs256_secret.as_ref().map(|_| "[redacted]"))
            .field("public_key_pem", &self.public_key_pem.is_some())
            .field("public_key_file", &self.public_key_file)
            .field("jwks_file", &self.jwks_file)
            .field("leeway_seconds", &self.leeway_seconds)
            .field("subject_claim", &self.subject_claim)
            .field("roles_claim", &self.roles_claim)
            .field("attributes", &self.attributes)
            .finish()
    }
}

impl AuthSection {
    /// Checks `[auth]`, adding every mistake to `problems` under its dotted key, and builds the
    /// [`Authenticator`] when there are none. Key files are resolved against `base_dir`.
    pub fn validate(&self, base_dir: &Path, problems: &mut Problems) -> Option<Authenticator> {
        let mut found = Problems::default();
        let api_keys = validate_api_keys(&self.api_keys, &mut found);
        let jwt = self.jwt.as_ref().and_then(|jwt| jwt.validate(base_dir, &mut found));
        if self.api_keys.is_empty() && self.jwt.is_none() {
            found.add(
                "auth",
                "no authentication configured: add [[auth.api_keys]] or [auth.jwt]; \
                 Sluice does not serve unauthenticated requests",
            );
        }
        let ok = found.is_empty();
        for p in found.into_vec() {
            problems.add(p.key, p.message);
        }
        ok.then(|| Authenticator::new(api_keys, jwt))
    }
}

fn validate_api_keys(entries: &[ApiKeySection], problems: &mut Problems) -> ApiKeys {
    let mut keys: Vec<ApiKey> = Vec::new();
    let mut seen: Vec<(usize, &str, Option<[u8; 32]>)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("auth.api_keys[{i}]");
        if entry.id.trim().is_empty() {
            problems.add(format!("{at}.id"), "must not be empty");
        } else if let Some((j, ..)) = seen.iter().find(|(_, id, _)| *id == entry.id) {
            problems
                .add(format!("{at}.id"), format!("\"{}\" is already the id of auth.api_keys[{j}]", entry.id));
        }
        let hash = match parse_hash(&entry.hash) {
            Ok(hash) => Some(hash),
            Err(message) => {
                problems.add(format!("{at}.hash"), message);
                None
            }
        };
        if let Some((j, ..)) = seen.iter().find(|(.., h)| hash.is_some() && *h == hash) {
            problems.add(
                format!("{at}.hash"),
                format!("is also the hash of auth.api_keys[{j}]: one key would be two principals"),
            );
        }
        if entry.roles.iter().any(|r| r.trim().is_empty()) {
            problems.add(format!("{at}.roles"), "roles must not be empty");
        }
        if entry.attributes.keys().any(|k| k.trim().is_empty()) {
            problems.add(format!("{at}.attributes"), "attribute names must not be empty");
        }
        seen.push((i, &entry.id, hash));
        if let Some(hash) = hash {
            let principal = Principal {
                id: entry.id.clone(),
                roles: entry.roles.clone(),
                attributes: entry.attributes.clone(),
            };
            keys.push(ApiKey { hash, principal });
        }
    }
    ApiKeys::new(keys)
}

/// The algorithms Sluice verifies, by their configuration names.
const SUPPORTED: [(&str, Algorithm); 3] =
    [("HS256", Algorithm::HS256), ("RS256", Algorithm::RS256), ("EdDSA", Algorithm::EdDSA)];

fn alg_name(alg: Algorithm) -> &'static str {
    SUPPORTED.iter().find(|(_, a)| *a == alg).map_or("?", |(name, _)| name)
}

impl JwtSection {
    fn validate(&self, base_dir: &Path, problems: &mut Problems) -> Option<JwtVerifier> {
        if self.issuer.trim().is_empty() {
            problems.add("auth.jwt.issuer", "must name the token issuer (the `iss` claim)");
        }
        if self.audience.is_empty() || self.audience.iter().any(|a| a.trim().is_empty()) {
            problems.add("auth.jwt.audience", "must list at least one non-empty audience (`aud`)");
        }
        let algorithms = self.algorithms(problems);
        let leeway = self.leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS);
        if leeway > MAX_LEEWAY_SECONDS {
            problems
                .add("auth.jwt.leeway_seconds", format!("is {leeway}; at most {MAX_LEEWAY_SECONDS} seconds"));
        }
        let claims = self.claims(problems);
        let (keys, sources_ok) = self.keys(base_dir, &algorithms, problems);
        for &alg in &algorithms {
            if keys.iter().any(|k| k.alg == alg) {
                continue;
            }
            match alg {
                Algorithm::HS256 if self.hs256_secret.is_none() => problems
                    .add("auth.jwt.algorithms", "HS256 is allowed but auth.jwt.hs256_secret is not set"),
                Algorithm::HS256 => {}
                // A key source that failed to load is already reported; saying again that the
                // algorithm lacks a key would only add noise.
                _ if !sources_ok => {}
                _ => problems.add(
                    "auth.jwt.algorithms",
                    format!(
                        "{} is allowed but no {} public key is configured (public_key_pem, \
                         public_key_file or jwks_file)",
                        alg_name(alg),
                        if alg == Algorithm::RS256 { "RSA" } else { "Ed25519" }
                    ),
                ),
            }
        }
        Some(JwtVerifier::new(&self.issuer, &self.audience, &algorithms, leeway, keys, claims))
    }

    fn algorithms(&self, problems: &mut Problems) -> Vec<Algorithm> {
        let mut out = Vec::new();
        if self.algorithms.is_empty() {
            problems.add("auth.jwt.algorithms", "must list at least one of HS256, RS256, EdDSA");
        }
        for name in &self.algorithms {
            match SUPPORTED.iter().find(|(n, _)| n == name) {
                Some((_, alg)) if !out.contains(alg) => out.push(*alg),
                Some(_) => {}
                None if name.eq_ignore_ascii_case("none") => {
                    problems.add("auth.jwt.algorithms", "\"none\" (unsigned tokens) is never accepted")
                }
                None => problems.add(
                    "auth.jwt.algorithms",
                    format!("\"{name}\" is not supported; use HS256, RS256 or EdDSA"),
                ),
            }
        }
        out
    }

    fn claims(&self, problems: &mut Problems) -> ClaimMapping {
        let subject = self.subject_claim.clone().unwrap_or_else(|| "sub".to_owned());
        let roles = self.roles_claim.clone().unwrap_or_else(|| "roles".to_owned());
        if subject.trim().is_empty() {
            problems.add("auth.jwt.subject_claim", "must name a claim (default \"sub\")");
        }
        if roles.trim().is_empty() {
            problems.add("auth.jwt.roles_claim", "must name a claim (default \"roles\")");
        }
        for (attribute, claim) in &self.attributes {
            if attribute.trim().is_empty() || claim.trim().is_empty() {
                problems.add(
                    format!("auth.jwt.attributes.{attribute}"),
                    "attribute and claim names must not be empty",
                );
            }
        }
        ClaimMapping { subject, roles, attributes: self.attributes.clone() }
    }

    /// Loads every configured key; `false` when a key source failed to load.
    fn keys(
        &self,
        base_dir: &Path,
        allowed: &[Algorithm],
        problems: &mut Problems,
    ) -> (Vec<VerifyKey>, bool) {
        let mut keys = Vec::new();
        let mut ok = true;
        let unused = |key: &str, alg: Algorithm, problems: &mut Problems| {
            if !allowed.contains(&alg) {
                problems.add(
                    key,
                    format!("holds a key for {0}, but {0} is not in auth.jwt.algorithms", alg_name(alg)),
                );
            }
        };
        if let Some(secret) = &self.hs256_secret {
            match keys::hs256(secret) {
                Ok(key) => {
                    unused("auth.jwt.hs256_secret", key.alg, problems);
                    keys.push(key);
                }
                Err(message) => problems.add("auth.jwt.hs256_secret", message),
            }
        }
        if self.public_key_pem.is_some() && self.public_key_file.is_some() {
            problems.add("auth.jwt.public_key_file", "set public_key_pem or public_key_file, not both");
        }
        if let Some(pem) = &self.public_key_pem {
            match keys::from_pem(pem.as_bytes()) {
                Ok(key) => {
                    unused("auth.jwt.public_key_pem", key.alg, problems);
                    keys.push(key);
                }
                Err(message) => {
                    ok = false;
                    problems.add("auth.jwt.public_key_pem", message);
                }
            }
        }
        if let Some(file) = &self.public_key_file {
            let path = base_dir.join(file);
            match std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display())) {
                Ok(pem) => match keys::from_pem(&pem) {
                    Ok(key) => {
                        unused("auth.jwt.public_key_file", key.alg, problems);
                        keys.push(key);
                    }
                    Err(message) => {
                        ok = false;
                        problems.add("auth.jwt.public_key_file", format!("{}: {message}", path.display()));
                    }
                },
                Err(message) => {
                    ok = false;
                    problems.add("auth.jwt.public_key_file", message);
                }
            }
        }
        if let Some(file) = &self.jwks_file {
            let path = base_dir.join(file);
            let loaded = std::fs::read(&path)
                .map_err(|e| vec![format!("cannot read: {e}")])
                .and_then(|json| keys::from_jwks(&json));
            match loaded {
                // JWKS keys for algorithms not allowed are dropped: a provider's set is shared.
                Ok(found) => keys.extend(found.into_iter().filter(|k| allowed.contains(&k.alg))),
                Err(messages) => {
                    ok = false;
                    for message in messages {
                        problems.add("auth.jwt.jwks_file", format!("{}: {message}", path.display()));
                    }
                }
            }
        }
        (keys, ok)
    }
}
