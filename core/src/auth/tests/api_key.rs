//! API keys and the `Authorization` header.

use super::{bearer, configured};
use crate::auth::{AuthError, Authenticator, MAX_TOKEN_BYTES, generate_api_key, hash_api_key};

const KEY: &str = "sk_test_only_reporting_key_0123456789";

fn auth() -> Authenticator {
    configured(&format!(
        r#"
        [[auth.api_keys]]
        id = "reporting"
        hash = "{}"
        roles = ["analyst", "reader"]
        attributes = {{ tenant_id = "1" }}

        [[auth.api_keys]]
        id = "etl"
        hash = "{}"
        "#,
        hash_api_key(KEY),
        hash_api_key("sk_another_key"),
    ))
}

#[test]
fn a_configured_key_authenticates_its_principal() {
    let principal = auth().authenticate(Some(&bearer(KEY))).unwrap();
    assert_eq!(principal.id, "reporting");
    assert_eq!(principal.roles, ["analyst", "reader"]);
    assert_eq!(principal.attributes.get("tenant_id").map(String::as_str), Some("1"));
    assert_eq!(auth().authenticate(Some(&bearer("sk_another_key"))).unwrap().id, "etl");
}

#[test]
fn a_wrong_key_is_invalid() {
    assert_eq!(
        auth().authenticate(Some(&bearer("sk_test_only_reporting_key_012345678"))),
        Err(AuthError::Invalid)
    );
    let upper = KEY.to_uppercase();
    assert_eq!(auth().authenticate(Some(&bearer(&upper))), Err(AuthError::Invalid));
}

#[test]
fn the_hash_itself_is_not_a_key() {
    assert_eq!(auth().authenticate(Some(&bearer(&hash_api_key(KEY)))), Err(AuthError::Invalid));
}

#[test]
fn no_header_or_an_empty_one_is_missing() {
    assert_eq!(auth().authenticate(None), Err(AuthError::Missing));
    assert_eq!(auth().authenticate(Some("")), Err(AuthError::Missing));
    assert_eq!(auth().authenticate(Some("   ")), Err(AuthError::Missing));
}

#[test]
fn an_empty_bearer_is_missing() {
    assert_eq!(auth().authenticate(Some("Bearer")), Err(AuthError::Missing));
    assert_eq!(auth().authenticate(Some("Bearer    ")), Err(AuthError::Missing));
}

#[test]
fn another_scheme_is_invalid() {
    assert_eq!(auth().authenticate(Some(&format!("Basic {KEY}"))), Err(AuthError::Invalid));
    assert_eq!(auth().authenticate(Some(&format!("Token {KEY}"))), Err(AuthError::Invalid));
    assert_eq!(auth().authenticate(Some(KEY)), Err(AuthError::Invalid));
    assert_eq!(auth().authenticate(Some(&format!("Bearer{KEY}"))), Err(AuthError::Invalid));
}

#[test]
fn the_scheme_is_case_insensitive_and_spaces_are_tolerated() {
    for header in [format!("bearer {KEY}"), format!("BEARER {KEY}"), format!("Bearer   {KEY}  ")] {
        assert_eq!(auth().authenticate(Some(&header)).unwrap().id, "reporting", "{header}");
    }
}

#[test]
fn tokens_with_inner_spaces_control_characters_or_excess_length_are_invalid() {
    assert_eq!(auth().authenticate(Some(&format!("Bearer {KEY} extra"))), Err(AuthError::Invalid));
    assert_eq!(auth().authenticate(Some(&format!("Bearer {KEY}\u{0}"))), Err(AuthError::Invalid));
    let long = "a".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(auth().authenticate(Some(&bearer(&long))), Err(AuthError::Invalid));
}

#[test]
fn a_jwt_shaped_token_can_still_be_an_api_key() {
    let key = "abc.def.ghi";
    let auth = configured(&format!("[[auth.api_keys]]\nid = \"dotted\"\nhash = \"{}\"", hash_api_key(key)));
    assert_eq!(auth.authenticate(Some(&bearer(key))).unwrap().id, "dotted");
}

#[test]
fn hashes_have_the_configuration_form() {
    // SHA-256 of "abc", FIPS 180-2 appendix B.1.
    assert_eq!(
        hash_api_key("abc"),
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn generated_keys_are_random_prefixed_and_match_their_hash() {
    let (key, hash) = generate_api_key();
    let (other, _) = generate_api_key();
    assert_ne!(key, other);
    assert!(key.starts_with("sk_"));
    assert_eq!(key.len(), 3 + 43);
    assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(hash, hash_api_key(&key));
    let auth = configured(&format!("[[auth.api_keys]]\nid = \"gen\"\nhash = \"{hash}\""));
    assert_eq!(auth.authenticate(Some(&bearer(&key))).unwrap().id, "gen");
}

#[test]
fn upper_case_hex_in_the_configured_hash_is_accepted() {
    let hash = hash_api_key(KEY).replace("sha256:", "").to_uppercase();
    let auth = configured(&format!("[[auth.api_keys]]\nid = \"up\"\nhash = \"sha256:{hash}\""));
    assert_eq!(auth.authenticate(Some(&bearer(KEY))).unwrap().id, "up");
}

#[test]
fn debug_output_shows_no_key_material() {
    let debug = format!("{:?}", auth());
    assert!(debug.contains("reporting"));
    assert!(!debug.contains(&hash_api_key(KEY)[7..]));
}
