//! JWT verification: algorithms, keys, time and claim checks, and the principal built.

use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;

use super::{
    ISSUER, SECRET, bearer, claims, configured, ed_key, fixture, hs256, now, rsa_key, sign, with, without,
};
use crate::auth::{AuthError, Authenticator};

fn hs_auth() -> Authenticator {
    configured(&format!(
        r#"
        [auth.jwt]
        issuer = "{ISSUER}"
        audience = ["sluice", "sluice-staging"]
        algorithms = ["HS256"]
        hs256_secret = "{SECRET}"
        [auth.jwt.attributes]
        tenant_id = "tenant"
        org = "org.id"
        level = "clearance"
        namespaced = "https://example.com/team"
        absent = "nope"
        "#
    ))
}

fn rs_auth(extra: &str) -> Authenticator {
    configured(&format!(
        "[auth.jwt]\nissuer = \"{ISSUER}\"\naudience = [\"sluice\"]\nalgorithms = [\"RS256\"]\n{extra}"
    ))
}

fn check(auth: &Authenticator, token: &str) -> Result<String, AuthError> {
    auth.authenticate(Some(&bearer(token))).map(|p| p.id)
}

#[test]
fn hs256_token_yields_subject_roles_and_attributes() {
    let claims = with(claims(), "roles", json!(["analyst", "admin"]));
    let claims = with(claims, "tenant", json!("acme"));
    let claims = with(claims, "org", json!({"id": 42, "name": "Acme"}));
    let claims = with(claims, "clearance", json!(3));
    let claims = with(claims, "https://example.com/team", json!("blue"));
    let principal = hs_auth().authenticate(Some(&bearer(&hs256(&claims)))).unwrap();
    assert_eq!(principal.id, "alice");
    assert_eq!(principal.roles, ["analyst", "admin"]);
    let attr = |k: &str| principal.attributes.get(k).map(String::as_str);
    assert_eq!(attr("tenant_id"), Some("acme"));
    assert_eq!(attr("org"), Some("42"));
    assert_eq!(attr("level"), Some("3"));
    assert_eq!(attr("namespaced"), Some("blue"));
    assert_eq!(attr("absent"), None);
    assert_eq!(principal.attributes.len(), 4);
}

#[test]
fn roles_may_be_a_space_separated_string_or_absent() {
    let token = hs256(&with(claims(), "roles", json!("analyst  reader")));
    assert_eq!(hs_auth().authenticate(Some(&bearer(&token))).unwrap().roles, ["analyst", "reader"]);
    let token = hs256(&claims());
    assert!(hs_auth().authenticate(Some(&bearer(&token))).unwrap().roles.is_empty());
}

#[test]
fn malformed_roles_or_attribute_claims_refuse_the_token() {
    for (claim, value) in [("roles", json!(["a", 1])), ("roles", json!(7)), ("tenant", json!(["a"]))] {
        let token = hs256(&with(claims(), claim, value));
        assert_eq!(check(&hs_auth(), &token), Err(AuthError::Invalid), "{claim}");
    }
}

#[test]
fn the_subject_is_required() {
    assert_eq!(check(&hs_auth(), &hs256(&without(claims(), "sub"))), Err(AuthError::Invalid));
    assert_eq!(check(&hs_auth(), &hs256(&with(claims(), "sub", json!("")))), Err(AuthError::Invalid));
}

#[test]
fn an_expired_token_is_expired_but_leeway_applies() {
    let expired = hs256(&with(claims(), "exp", json!(now() - 120)));
    assert_eq!(check(&hs_auth(), &expired), Err(AuthError::Expired));
    // Default leeway is 30 s.
    let just_expired = hs256(&with(claims(), "exp", json!(now() - 5)));
    assert_eq!(check(&hs_auth(), &just_expired), Ok("alice".into()));
}

#[test]
fn exp_iss_and_aud_are_required() {
    for claim in ["exp", "iss", "aud"] {
        assert_eq!(check(&hs_auth(), &hs256(&without(claims(), claim))), Err(AuthError::Invalid), "{claim}");
    }
}

#[test]
fn a_token_not_yet_valid_is_invalid() {
    let future = hs256(&with(claims(), "nbf", json!(now() + 600)));
    assert_eq!(check(&hs_auth(), &future), Err(AuthError::Invalid));
    let past = hs256(&with(claims(), "nbf", json!(now() - 600)));
    assert_eq!(check(&hs_auth(), &past), Ok("alice".into()));
}

#[test]
fn wrong_issuer_or_audience_is_invalid() {
    let iss = hs256(&with(claims(), "iss", json!("https://evil.example")));
    assert_eq!(check(&hs_auth(), &iss), Err(AuthError::Invalid));
    let aud = hs256(&with(claims(), "aud", json!("other-service")));
    assert_eq!(check(&hs_auth(), &aud), Err(AuthError::Invalid));
    let many = hs256(&with(claims(), "aud", json!(["other-service", "sluice-staging"])));
    assert_eq!(check(&hs_auth(), &many), Ok("alice".into()));
}

#[test]
fn a_tampered_signature_or_payload_is_invalid() {
    let token = hs256(&claims());
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    assert_eq!(check(&hs_auth(), &format!("{rest}.{flipped}{}", &signature[1..])), Err(AuthError::Invalid));
    let other = hs256(&with(claims(), "sub", json!("mallory")));
    let (header, _) = token.split_once('.').unwrap();
    let forged_payload = other.split('.').nth(1).unwrap();
    assert_eq!(check(&hs_auth(), &format!("{header}.{forged_payload}.{signature}")), Err(AuthError::Invalid));
}

#[test]
fn a_token_signed_with_another_secret_is_invalid() {
    let token = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-secret-of-sufficient-length!!"),
        None,
        &claims(),
    );
    assert_eq!(check(&hs_auth(), &token), Err(AuthError::Invalid));
}

#[test]
fn unsigned_tokens_are_refused() {
    use base64::Engine;
    let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    for alg in ["none", "None", "NONE"] {
        let header = b64(&json!({"alg": alg, "typ": "JWT"}));
        let body = b64(&claims());
        assert_eq!(check(&hs_auth(), &format!("{header}.{body}.")), Err(AuthError::Invalid), "{alg}");
        assert_eq!(
            check(&rs_auth("public_key_file = \"rsa_public.pem\""), &format!("{header}.{body}.")),
            Err(AuthError::Invalid)
        );
    }
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused() {
    // The classic key-confusion attack: the RSA public key is public, so using it as an HMAC
    // secret must never verify.
    let public_pem = fixture("rsa_public.pem");
    let forged = sign(Algorithm::HS256, &EncodingKey::from_secret(public_pem.as_bytes()), None, &claims());
    let rs_only = rs_auth("public_key_file = \"rsa_public.pem\"");
    assert_eq!(check(&rs_only, &forged), Err(AuthError::Invalid));
    let both = configured(&format!(
        "[auth.jwt]\nissuer = \"{ISSUER}\"\naudience = [\"sluice\"]\nalgorithms = [\"RS256\", \"HS256\"]\n\
         hs256_secret = \"{SECRET}\"\npublic_key_file = \"rsa_public.pem\""
    ));
    assert_eq!(check(&both, &forged), Err(AuthError::Invalid));
    // Both schemes still work with their own keys.
    assert_eq!(check(&both, &hs256(&claims())), Ok("alice".into()));
    assert_eq!(
        check(&both, &sign(Algorithm::RS256, &rsa_key("rsa_private.pem"), None, &claims())),
        Ok("alice".into())
    );
}

#[test]
fn an_algorithm_not_allowed_is_refused() {
    let rs = sign(Algorithm::RS256, &rsa_key("rsa_private.pem"), None, &claims());
    assert_eq!(check(&hs_auth(), &rs), Err(AuthError::Invalid));
    let rs384 = sign(Algorithm::RS384, &rsa_key("rsa_private.pem"), None, &claims());
    assert_eq!(check(&rs_auth("public_key_file = \"rsa_public.pem\""), &rs384), Err(AuthError::Invalid));
}

#[test]
fn rs256_with_an_inline_pem() {
    let pem = fixture("rsa_public.pem");
    let auth = rs_auth(&format!("public_key_pem = \"\"\"\n{pem}\"\"\""));
    let token = sign(Algorithm::RS256, &rsa_key("rsa_private.pem"), None, &claims());
    assert_eq!(check(&auth, &token), Ok("alice".into()));
    // A kid the configuration does not know still reaches the one key configured without a kid.
    let token = sign(Algorithm::RS256, &rsa_key("rsa_private.pem"), Some("whatever"), &claims());
    assert_eq!(check(&auth, &token), Ok("alice".into()));
    let other = sign(Algorithm::RS256, &rsa_key("rsa2_private.pem"), None, &claims());
    assert_eq!(check(&auth, &other), Err(AuthError::Invalid));
}

#[test]
fn rs256_with_a_jwks_file_selects_the_key_by_kid() {
    let auth = rs_auth("jwks_file = \"jwks.json\"");
    let first = sign(Algorithm::RS256, &rsa_key("rsa_private.pem"), Some("rsa-1"), &claims());
    let second = sign(Algorithm::RS256, &rsa_key("rsa2_private.pem"), Some("rsa-2"), &claims());
    assert_eq!(check(&auth, &first), Ok("alice".into()));
    assert_eq!(check(&auth, &second), Ok("alice".into()));
    // Right key, wrong kid; unknown kid; no kid while two RSA keys could apply.
    let swapped = sign(Algorithm::RS256, &rsa_key("rsa_private.pem"), Some("rsa-2"), &claims());
    assert_eq!(check(&auth, &swapped), Err(AuthError::Invalid));
    let unknown = sign(Algorithm::RS256, &rsa_key("rsa_private.pem"), Some("rsa-9"), &claims());
    assert_eq!(check(&auth, &unknown), Err(AuthError::Invalid));
    let no_kid = sign(Algorithm::RS256, &rsa_key("rsa_private.pem"), None, &claims());
    assert_eq!(check(&auth, &no_kid), Err(AuthError::Invalid));
}

#[test]
fn a_token_without_kid_uses_the_only_key_of_its_algorithm() {
    let auth = configured(&format!(
        "[auth.jwt]\nissuer = \"{ISSUER}\"\naudience = [\"sluice\"]\nalgorithms = [\"RS256\", \"EdDSA\"]\n\
         public_key_file = \"rsa_public.pem\"\njwks_file = \"jwks.json\""
    ));
    // One Ed25519 key in the JWKS: usable without a kid.
    let ed = sign(Algorithm::EdDSA, &ed_key(), None, &claims());
    assert_eq!(check(&auth, &ed), Ok("alice".into()));
    let ed_kid = sign(Algorithm::EdDSA, &ed_key(), Some("ed-1"), &claims());
    assert_eq!(check(&auth, &ed_kid), Ok("alice".into()));
    // An Ed25519 kid on an RSA token does not lend its key to RS256.
    let rs_with_ed_kid = sign(Algorithm::RS256, &rsa_key("rsa2_private.pem"), Some("ed-1"), &claims());
    assert_eq!(check(&auth, &rs_with_ed_kid), Err(AuthError::Invalid));
}

#[test]
fn eddsa_with_a_pem() {
    let auth = configured(&format!(
        "[auth.jwt]\nissuer = \"{ISSUER}\"\naudience = [\"sluice\"]\nalgorithms = [\"EdDSA\"]\n\
         public_key_file = \"ed25519_public.pem\""
    ));
    let token = sign(Algorithm::EdDSA, &ed_key(), None, &claims());
    assert_eq!(check(&auth, &token), Ok("alice".into()));
    let expired = sign(Algorithm::EdDSA, &ed_key(), None, &with(claims(), "exp", json!(now() - 3600)));
    assert_eq!(check(&auth, &expired), Err(AuthError::Expired));
    let rs = sign(Algorithm::RS256, &rsa_key("rsa_private.pem"), None, &claims());
    assert_eq!(check(&auth, &rs), Err(AuthError::Invalid));
}

#[test]
fn a_jwt_without_jwt_configuration_is_invalid() {
    let auth = configured(&format!(
        "[[auth.api_keys]]\nid = \"k\"\nhash = \"{}\"",
        crate::auth::hash_api_key("sk_x")
    ));
    assert_eq!(check(&auth, &hs256(&claims())), Err(AuthError::Invalid));
}

#[test]
fn debug_output_hides_the_secret() {
    let debug = format!("{:?}", hs_auth());
    assert!(!debug.contains(SECRET), "{debug}");
}

#[test]
fn a_forged_expired_token_is_invalid_not_expired() {
    // The signature is checked before the dates, so a forger learns nothing from "expired".
    let expired = with(claims(), "exp", json!(now() - 3600));
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"not-the-configured-secret-0123456789"),
        None,
        &expired,
    );
    assert_eq!(check(&hs_auth(), &forged), Err(AuthError::Invalid));
}
