//! Tests of the authentication stage and its configuration, with fixture keys from `testdata/`.

mod api_key;
mod config;
mod jwt;

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Authenticator;
use crate::config::auth::AuthSection;
use crate::config::{Problem, Problems};

pub(super) const ISSUER: &str = "https://idp.example";
pub(super) const SECRET: &str = "test-only-hs256-secret-0123456789abcdef";

pub(super) fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/auth/testdata")
}

pub(super) fn fixture(name: &str) -> String {
    std::fs::read_to_string(testdata().join(name)).unwrap()
}

#[derive(Deserialize)]
struct Wrapper {
    auth: AuthSection,
}

/// Validates an `[auth]` section written in TOML, with `testdata/` as the config directory.
pub(super) fn configure(toml_text: &str) -> Result<Authenticator, Vec<Problem>> {
    let wrapper: Wrapper = toml::from_str(toml_text).unwrap();
    let mut problems = Problems::default();
    let auth = wrapper.auth.validate(&testdata(), &mut problems);
    match auth {
        Some(auth) if problems.is_empty() => Ok(auth),
        _ => Err(problems.into_vec()),
    }
}

pub(super) fn configured(toml_text: &str) -> Authenticator {
    configure(toml_text).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

pub(super) fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
}

/// Claims that pass every check; tests override single members.
pub(super) fn claims() -> Value {
    json!({"iss": ISSUER, "aud": "sluice", "sub": "alice", "exp": now() + 600})
}

pub(super) fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims.as_object_mut().unwrap().insert(key.to_owned(), value);
    claims
}

pub(super) fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

pub(super) fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

pub(super) fn hs256(claims: &Value) -> String {
    sign(Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()), None, claims)
}

pub(super) fn rsa_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(fixture(name).as_bytes()).unwrap()
}

pub(super) fn ed_key() -> EncodingKey {
    EncodingKey::from_ed_pem(fixture("ed25519_private.pem").as_bytes()).unwrap()
}

pub(super) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
