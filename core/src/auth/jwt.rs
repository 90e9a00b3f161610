//! JWT verification: signature by a configured key for the token's own algorithm, then `exp`,
//! `nbf`, `iss` and `aud`, then the claims mapped onto a [`Principal`].

use std::collections::BTreeMap;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation, decode, decode_header};
use serde_json::{Map, Value};

use super::keys::VerifyKey;
use super::{AuthError, Principal};

/// Why a token was refused: the error the caller sees and a reason for the debug log. The
/// reason is a fixed string, so the log never carries token contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) error: AuthError,
    pub(crate) reason: &'static str,
}

fn invalid(reason: &'static str) -> Rejection {
    Rejection { error: AuthError::Invalid, reason }
}

/// Which claims make up the principal.
#[derive(Clone, Debug)]
pub(crate) struct ClaimMapping {
    /// The claim holding the principal id.
    pub(crate) subject: String,
    /// The claim holding the roles.
    pub(crate) roles: String,
    /// Principal attribute name -> claim name.
    pub(crate) attributes: BTreeMap<String, String>,
}

/// The validated `[auth.jwt]` settings: keys loaded, one [`Validation`] per allowed algorithm.
#[derive(Clone, Debug)]
pub(crate) struct JwtVerifier {
    validations: Vec<(Algorithm, Validation)>,
    keys: Vec<VerifyKey>,
    claims: ClaimMapping,
}

impl JwtVerifier {
    /// A verifier accepting tokens from `issuer` for one of `audience`, signed with one of
    /// `algorithms` by one of `keys`, with `leeway_seconds` of clock skew on `exp` and `nbf`.
    pub(crate) fn new(
        issuer: &str,
        audience: &[String],
        algorithms: &[Algorithm],
        leeway_seconds: u64,
        keys: Vec<VerifyKey>,
        claims: ClaimMapping,
    ) -> Self {
        let validations = algorithms
            .iter()
            .map(|&alg| {
                // One algorithm per validation: jsonwebtoken refuses a key whose family differs
                // from any listed algorithm, and one list per key keeps the check exact.
                let mut v = Validation::new(alg);
                v.leeway = leeway_seconds;
                v.validate_exp = true;
                v.validate_nbf = true;
                v.validate_aud = true;
                v.set_issuer(&[issuer]);
                v.set_audience(audience);
                // Without these, a token that simply omits `iss` or `aud` would pass.
                v.set_required_spec_claims(&["exp", "iss", "aud"]);
                (alg, v)
            })
            .collect();
        JwtVerifier { validations, keys, claims }
    }

    /// The principal `token` authenticates.
    pub(crate) fn verify(&self, token: &str) -> Result<Principal, Rejection> {
        let header = decode_header(token).map_err(|_| invalid("malformed JWT header"))?;
        let validation = self
            .validations
            .iter()
            .find(|(alg, _)| *alg == header.alg)
            .map(|(_, v)| v)
            .ok_or_else(|| invalid("JWT algorithm not allowed"))?;
        let key = self.select_key(header.alg, header.kid.as_deref())?;
        let data = decode::<Map<String, Value>>(token, &key.key, validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => Rejection { error: AuthError::Expired, reason: "JWT expired" },
            ErrorKind::InvalidSignature => invalid("JWT signature does not verify"),
            ErrorKind::ImmatureSignature => invalid("JWT not yet valid (nbf)"),
            ErrorKind::InvalidIssuer => invalid("JWT issuer not accepted"),
            ErrorKind::InvalidAudience => invalid("JWT audience not accepted"),
            ErrorKind::MissingRequiredClaim(_) => invalid("JWT lacks exp, iss or aud"),
            ErrorKind::InvalidAlgorithm => invalid("JWT algorithm does not match the key"),
            _ => invalid("malformed JWT"),
        })?;
        principal(&data.claims, &self.claims)
    }

    /// The key for a token's algorithm and `kid`.
    ///
    /// A `kid` selects the JWKS key with that id; if none has it, a key configured without
    /// a kid (inline PEM, PEM file, HS256 secret) may still verify, since some issuers add a
    /// kid to every token. Without a `kid`, the key must be the only one for the algorithm:
    /// trying several would turn one verification into many.
    fn select_key(&self, alg: Algorithm, kid: Option<&str>) -> Result<&VerifyKey, Rejection> {
        let mut of_alg = self.keys.iter().filter(|k| k.alg == alg);
        if let Some(kid) = kid {
            if let Some(key) = of_alg.clone().find(|k| k.kid.as_deref() == Some(kid)) {
                return Ok(key);
            }
            let mut unnamed = of_alg.filter(|k| k.kid.is_none());
            return match (unnamed.next(), unnamed.next()) {
                (Some(key), None) => Ok(key),
                _ => Err(invalid("JWT kid names no configured key")),
            };
        }
        match (of_alg.next(), of_alg.next()) {
            (Some(key), None) => Ok(key),
            (None, _) => Err(invalid("no key configured for the JWT algorithm")),
            (Some(_), Some(_)) => Err(invalid("JWT without kid, several keys could verify it")),
        }
    }
}

/// Builds the principal from verified claims.
fn principal(claims: &Map<String, Value>, mapping: &ClaimMapping) -> Result<Principal, Rejection> {
    let id = match lookup(claims, &mapping.subject) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(invalid("JWT lacks the subject claim")),
    };
    let roles = match lookup(claims, &mapping.roles) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            // Dropping a malformed role silently could skip a deny rule keyed on it.
            .ok_or_else(|| invalid("JWT roles claim holds a non-string"))?,
        Some(_) => return Err(invalid("JWT roles claim is neither a string nor an array")),
    };
    let mut attributes = BTreeMap::new();
    for (attribute, claim) in &mapping.attributes {
        let value = match lookup(claims, claim) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            // A row filter on an array or object would be guesswork: refuse the token.
            Some(_) => return Err(invalid("JWT attribute claim is not a string or number")),
        };
        attributes.insert(attribute.clone(), value);
    }
    Ok(Principal { id, roles, attributes })
}

/// The claim `name`: a top-level claim of that exact name (URL-style names such as
/// `https://example.com/roles` contain dots), else a dotted path into nested objects.
fn lookup<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}
