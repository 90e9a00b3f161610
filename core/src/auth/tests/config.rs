//! `[auth]` validation: every mistake reported, each under its key.

use super::{ISSUER, SECRET, configure, fixture};
use crate::auth::hash_api_key;
use crate::config::Problem;

fn problems(toml_text: &str) -> Vec<Problem> {
    match configure(toml_text) {
        Ok(_) => panic!("expected problems for:\n{toml_text}"),
        Err(problems) => problems,
    }
}

/// Asserts a problem under `key` whose message contains `needle`.
fn assert_reported(problems: &[Problem], key: &str, needle: &str) {
    assert!(
        problems.iter().any(|p| p.key == key && p.message.contains(needle)),
        "no problem {key}: ...{needle}... in {problems:#?}"
    );
}

fn jwt(extra: &str) -> String {
    format!("[auth.jwt]\nissuer = \"{ISSUER}\"\naudience = [\"sluice\"]\n{extra}")
}

#[test]
fn an_empty_auth_section_is_refused() {
    let found = problems("[auth]");
    assert_eq!(found.len(), 1);
    assert_reported(&found, "auth", "no authentication configured");
    // No [auth] at all deserialises to the same default.
    let mut problems = crate::config::Problems::default();
    assert!(
        crate::config::auth::AuthSection::default().validate(&super::testdata(), &mut problems).is_none()
    );
    assert!(!problems.is_empty());
}

#[test]
fn unknown_keys_are_refused_by_the_parser() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Wrapper {
        auth: crate::config::auth::AuthSection,
    }
    let err =
        toml::from_str::<Wrapper>("[auth.jwt]\nissuer='x'\naudience=['a']\nalgorithms=['HS256']\nsecret='x'");
    assert!(err.is_err());
}

#[test]
fn malformed_and_duplicate_api_keys_are_each_reported() {
    let good = hash_api_key("sk_one");
    let found = problems(&format!(
        r#"
        [[auth.api_keys]]
        id = "one"
        hash = "{good}"
        [[auth.api_keys]]
        id = "one"
        hash = "{good}"
        [[auth.api_keys]]
        id = "plain"
        hash = "sk_one"
        [[auth.api_keys]]
        id = "short"
        hash = "sha256:abcd"
        [[auth.api_keys]]
        id = "nothex"
        hash = "sha256:{}"
        [[auth.api_keys]]
        id = ""
        hash = "{}"
        roles = [""]
        "#,
        "z".repeat(64),
        hash_api_key("sk_two"),
    ));
    assert_reported(&found, "auth.api_keys[1].id", "auth.api_keys[0]");
    assert_reported(&found, "auth.api_keys[1].hash", "auth.api_keys[0]");
    assert_reported(&found, "auth.api_keys[2].hash", "sha256:");
    assert_reported(&found, "auth.api_keys[3].hash", "64 hex digits");
    assert_reported(&found, "auth.api_keys[4].hash", "hex digits");
    assert_reported(&found, "auth.api_keys[5].id", "empty");
    assert_reported(&found, "auth.api_keys[5].roles", "empty");
    assert_eq!(found.len(), 7, "{found:#?}");
}

#[test]
fn a_short_hs256_secret_is_reported() {
    let found = problems(&jwt("algorithms = [\"HS256\"]\nhs256_secret = \"too-short\""));
    assert_reported(&found, "auth.jwt.hs256_secret", "at least 32");
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn unsupported_and_none_algorithms_are_refused() {
    let found = problems(&jwt(&format!(
        "algorithms = [\"HS256\", \"none\", \"ES256\"]\nhs256_secret = \"{SECRET}\""
    )));
    assert_reported(&found, "auth.jwt.algorithms", "\"none\"");
    assert_reported(&found, "auth.jwt.algorithms", "\"ES256\" is not supported");
    let found = problems(&jwt("algorithms = []"));
    assert_reported(&found, "auth.jwt.algorithms", "at least one");
}

#[test]
fn an_algorithm_without_a_key_is_reported() {
    let found = problems(&jwt("algorithms = [\"HS256\", \"RS256\", \"EdDSA\"]"));
    assert_reported(&found, "auth.jwt.algorithms", "HS256 is allowed but auth.jwt.hs256_secret");
    assert_reported(&found, "auth.jwt.algorithms", "RS256 is allowed but no RSA");
    assert_reported(&found, "auth.jwt.algorithms", "EdDSA is allowed but no Ed25519");
    // An RSA key does not serve EdDSA.
    let found = problems(&jwt("algorithms = [\"EdDSA\"]\npublic_key_file = \"rsa_public.pem\""));
    assert_reported(&found, "auth.jwt.public_key_file", "RS256 is not in auth.jwt.algorithms");
    assert_reported(&found, "auth.jwt.algorithms", "EdDSA is allowed but no Ed25519");
}

#[test]
fn a_key_for_an_algorithm_not_allowed_is_reported() {
    let found = problems(&jwt(&format!(
        "algorithms = [\"RS256\"]\nhs256_secret = \"{SECRET}\"\npublic_key_file = \"rsa_public.pem\""
    )));
    assert_reported(&found, "auth.jwt.hs256_secret", "HS256 is not in auth.jwt.algorithms");
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn unreadable_and_invalid_key_files_are_named() {
    let found = problems(&jwt(
        "algorithms = [\"RS256\"]\npublic_key_file = \"missing.pem\"\njwks_file = \"nope.json\"",
    ));
    assert_reported(&found, "auth.jwt.public_key_file", "missing.pem");
    assert_reported(&found, "auth.jwt.jwks_file", "nope.json");
    assert_eq!(found.len(), 2, "a failed source must not also report a missing key: {found:#?}");
    let found = problems(&jwt(
        "algorithms = [\"RS256\"]\npublic_key_file = \"README.md\"\njwks_file = \"rsa_public.pem\"",
    ));
    assert_reported(&found, "auth.jwt.public_key_file", "README.md: holds no PEM block");
    assert_reported(&found, "auth.jwt.jwks_file", "rsa_public.pem: is not a JWKS document");
}

#[test]
fn private_keys_small_rsa_keys_and_garbage_pem_are_refused() {
    let found = problems(&jwt("algorithms = [\"RS256\"]\npublic_key_file = \"rsa_private.pem\""));
    assert_reported(&found, "auth.jwt.public_key_file", "private key");
    let found = problems(&jwt("algorithms = [\"RS256\"]\npublic_key_file = \"rsa1024_public.pem\""));
    assert_reported(&found, "auth.jwt.public_key_file", "1024-bit");
    let garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    let found =
        problems(&jwt(&format!("algorithms = [\"RS256\"]\npublic_key_pem = \"\"\"\n{garbage}\"\"\"")));
    assert_reported(&found, "auth.jwt.public_key_pem", "not a valid");
    let two = format!("{}{}", fixture("rsa_public.pem"), fixture("rsa2_public.pem"));
    let found = problems(&jwt(&format!("algorithms = [\"RS256\"]\npublic_key_pem = \"\"\"\n{two}\"\"\"")));
    assert_reported(&found, "auth.jwt.public_key_pem", "2 PEM blocks");
}

#[test]
fn both_pem_sources_at_once_are_refused() {
    let pem = fixture("rsa_public.pem");
    let found = problems(&jwt(&format!(
        "algorithms = [\"RS256\"]\npublic_key_file = \"rsa_public.pem\"\npublic_key_pem = \"\"\"\n{pem}\"\"\""
    )));
    assert_reported(&found, "auth.jwt.public_key_file", "not both");
}

#[test]
fn bad_jwks_entries_are_each_reported() {
    let dir = std::env::temp_dir().join(format!("sluice-auth-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jwks = dir.join("bad.json");
    std::fs::write(
        &jwks,
        r#"{"keys": [
            {"kty": "RSA", "kid": "a", "e": "AQAB"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "b", "x": "AAAA"},
            {"kty": "oct", "kid": "c", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": 7}
        ]}"#,
    )
    .unwrap();
    let found = problems(&jwt(&format!("algorithms = [\"RS256\"]\njwks_file = \"{}\"", jwks.display())));
    assert_reported(&found, "auth.jwt.jwks_file", "keys[0]: missing \"n\"");
    assert_reported(&found, "auth.jwt.jwks_file", "keys[1]: is not a valid Ed25519");
    assert_reported(&found, "auth.jwt.jwks_file", "keys[3]");
    assert_eq!(found.len(), 3, "{found:#?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn issuer_audience_leeway_and_claims_are_checked() {
    let found = problems(&format!(
        "[auth.jwt]\nissuer = \"\"\naudience = []\nalgorithms = [\"HS256\"]\nhs256_secret = \"{SECRET}\"\n\
         leeway_seconds = 301\nsubject_claim = \"\"\n[auth.jwt.attributes]\ntenant_id = \"\""
    ));
    assert_reported(&found, "auth.jwt.issuer", "issuer");
    assert_reported(&found, "auth.jwt.audience", "audience");
    assert_reported(&found, "auth.jwt.leeway_seconds", "at most 300");
    assert_reported(&found, "auth.jwt.subject_claim", "must name a claim");
    assert_reported(&found, "auth.jwt.attributes.tenant_id", "empty");
    assert_eq!(found.len(), 5, "{found:#?}");
}

#[test]
fn problems_in_api_keys_and_jwt_are_reported_together() {
    let found = problems(&format!(
        "[[auth.api_keys]]\nid = \"a\"\nhash = \"md5:abc\"\n\
         [auth.jwt]\nissuer = \"{ISSUER}\"\naudience = [\"sluice\"]\nalgorithms = [\"HS512\", \"RS256\"]\n\
         hs256_secret = \"short\"\npublic_key_file = \"absent.pem\"\nleeway_seconds = 1000"
    ));
    assert_reported(&found, "auth.api_keys[0].hash", "sha256:");
    assert_reported(&found, "auth.jwt.algorithms", "HS512");
    assert_reported(&found, "auth.jwt.hs256_secret", "at least 32");
    assert_reported(&found, "auth.jwt.public_key_file", "absent.pem");
    assert_reported(&found, "auth.jwt.leeway_seconds", "1000");
    assert_eq!(found.len(), 5, "{found:#?}");
}

#[test]
fn a_full_configuration_validates() {
    let pem = fixture("ed25519_public.pem");
    let auth = configure(&format!(
        r#"
        [[auth.api_keys]]
        id = "reporting"
        hash = "{}"
        roles = ["analyst"]
        attributes = {{ tenant_id = "1" }}

        [auth.jwt]
        issuer = "{ISSUER}"
        audience = ["sluice"]
        algorithms = ["HS256", "RS256", "EdDSA"]
        hs256_secret = "{SECRET}"
        public_key_pem = """
{pem}"""
        jwks_file = "jwks.json"
        leeway_seconds = 300
        subject_claim = "sub"
        roles_claim = "realm_access.roles"
        [auth.jwt.attributes]
        tenant_id = "tenant"
        "#,
        hash_api_key("sk_x")
    ));
    assert!(auth.is_ok(), "{auth:?}");
}
