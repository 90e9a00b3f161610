//! Authentication: a bearer token in, a [`Principal`] out.
//!
//! Two schemes produce the same principal: static API keys (stored as SHA-256 hashes in the
//! configuration, compared in constant time) and JWTs (HS256, RS256, EdDSA; keys from the
//! configuration or a JWKS file; `exp`, `nbf`, `iss` and `aud` checked). The configuration
//! side, `[auth]`, is [`crate::config::auth`]; it produces the [`Authenticator`].

mod api_key;
mod authenticator;
mod jwt;
pub(crate) mod keys;
mod principal;
#[cfg(test)]
mod tests;

pub use api_key::{generate_api_key, hash_api_key};
pub use authenticator::{Authenticator, MAX_TOKEN_BYTES};
pub use principal::Principal;

pub(crate) use api_key::{ApiKey, ApiKeys, parse_hash};
pub(crate) use jwt::{ClaimMapping, JwtVerifier};

/// Why a caller could not be authenticated. The message is returned to the caller, so it
/// never contains the token or which part of a key matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer ...` header.
    #[error("missing bearer token")]
    Missing,
    /// The token is not a known API key and not a valid JWT.
    #[error("invalid bearer token")]
    Invalid,
    /// The JWT has expired.
    #[error("token expired")]
    Expired,
}
