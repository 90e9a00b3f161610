//! The authentication stage's entry point: an `Authorization` header in, a [`Principal`] out.

use super::api_key::ApiKeys;
use super::jwt::{JwtVerifier, Rejection};
use super::{AuthError, Principal};

/// The longest token examined, in bytes. Longer ones are refused before any hashing or
/// decoding, so a huge header costs nothing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The configured authentication schemes, validated. Built by
/// [`AuthSection::validate`](crate::config::auth::AuthSection::validate); holds at least one
/// scheme, so Sluice never runs open. `Debug` shows key ids, never key material.
#[derive(Clone, Debug)]
pub struct Authenticator {
    api_keys: ApiKeys,
    jwt: Option<JwtVerifier>,
}

impl Authenticator {
    pub(crate) fn new(api_keys: ApiKeys, jwt: Option<JwtVerifier>) -> Self {
        Authenticator { api_keys, jwt }
    }

    /// Authenticates the value of the `Authorization` header (`None` when absent).
    ///
    /// The header must read `Bearer <token>` (scheme case-insensitive). A token shaped like a
    /// JWT (three base64url segments) is verified as a JWT; any other token is looked up among
    /// the API keys. The token is never logged.
    ///
    /// # Errors
    /// [`AuthError::Missing`] without a header or token, [`AuthError::Expired`] for an expired
    /// JWT, [`AuthError::Invalid`] for everything else.
    pub fn authenticate(&self, authorization_header: Option<&str>) -> Result<Principal, AuthError> {
        let outcome = bearer_token(authorization_header).and_then(|token| self.verify(token));
        match outcome {
            Ok(principal) => {
                tracing::debug!(principal = %principal.id, "authenticated");
                Ok(principal)
            }
            Err(rejection) => {
                tracing::debug!(reason = rejection.reason, "authentication failed");
                Err(rejection.error)
            }
        }
    }

    fn verify(&self, token: &str) -> Result<Principal, Rejection> {
        if looks_like_jwt(token) {
            let jwt_result = match &self.jwt {
                Some(jwt) => jwt.verify(token),
                None => Err(Rejection { error: AuthError::Invalid, reason: "JWT auth not configured" }),
            };
            // An API key may happen to contain two dots; it is not refused for its shape alone.
            return match jwt_result {
                Err(rejection) if rejection.error == AuthError::Invalid => {
                    self.api_keys.verify(token).cloned().ok_or(rejection)
                }
                other => other,
            };
        }
        self.api_keys
            .verify(token)
            .cloned()
            .ok_or(Rejection { error: AuthError::Invalid, reason: "unknown API key" })
    }
}

/// The token of a `Bearer` authorization header.
fn bearer_token(header: Option<&str>) -> Result<&str, Rejection> {
    let missing = Rejection { error: AuthError::Missing, reason: "no bearer token" };
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(missing.clone())?;
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection { error: AuthError::Invalid, reason: "not a Bearer authorization" });
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(missing);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection { error: AuthError::Invalid, reason: "bearer token too long" });
    }
    if token.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(Rejection { error: AuthError::Invalid, reason: "bearer token has bad characters" });
    }
    Ok(token)
}

/// Three base64url segments separated by dots: a compact JWS. The signature may be empty, so
/// that an unsigned (`alg: none`) token is refused as a JWT, which the debug log then says.
fn looks_like_jwt(token: &str) -> bool {
    let base64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let mut segments = token.split('.');
    match (segments.next(), segments.next(), segments.next(), segments.next()) {
        (Some(header), Some(claims), Some(signature), None) => {
            !header.is_empty()
                && !claims.is_empty()
                && [header, claims, signature].iter().all(|s| base64url(s))
        }
        _ => false,
    }
}
