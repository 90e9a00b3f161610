//! Authentication end to end: API keys and JWTs on the real router.

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::harness::{JWT_SECRET, KEY_TENANT_2, SQLITE, Sluice, assert_error};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn jwt(claims: Value) -> String {
    encode(&Header::default(), &claims, &EncodingKey::from_secret(JWT_SECRET.as_bytes())).unwrap()
}

async fn sluice() -> Sluice {
    Sluice::with_datasource(SQLITE).await
}

fn body() -> String {
    json!({"datasource": "app", "sql": "SELECT 1 AS one"}).to_string()
}

#[tokio::test]
async fn api_keys_and_valid_jwts_are_accepted() {
    let sluice = sluice().await;
    let (status, _) = sluice.post(Some(KEY_TENANT_2), body()).await;
    assert_eq!(status, 200);
    let token = jwt(
        json!({"sub": "svc-billing", "iss": "https://idp.test", "aud": "sluice", "exp": now() + 60, "tenant": 7, "roles": ["analyst"]}),
    );
    let (status, response) = sluice.post(Some(&token), body()).await;
    assert_eq!(status, 200, "{response}");
}

#[tokio::test]
async fn bad_jwts_are_unauthenticated() {
    let sluice = sluice().await;
    let good = json!({"sub": "svc", "iss": "https://idp.test", "aud": "sluice", "exp": now() + 60});
    let mut cases = Vec::new();
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 3600);
    cases.push(("expired", jwt(expired)));
    let mut early = good.clone();
    early["nbf"] = json!(now() + 3600);
    cases.push(("not yet valid", jwt(early)));
    let mut issuer = good.clone();
    issuer["iss"] = json!("https://evil.test");
    cases.push(("wrong issuer", jwt(issuer)));
    let mut audience = good.clone();
    audience["aud"] = json!("someone-else");
    cases.push(("wrong audience", jwt(audience)));
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    cases.push(("no exp", jwt(no_exp)));
    let other_key = encode(
        &Header::default(),
        &good,
        &EncodingKey::from_secret(b"another-secret-of-thirty-two-bytes-or-more"),
    )
    .unwrap();
    cases.push(("wrong key", other_key));
    let unsigned = {
        let token = jwt(good.clone());
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[0] = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"; // {"alg":"none","typ":"JWT"}
        format!("{}.{}.", parts[0], parts[1])
    };
    cases.push(("alg none", unsigned));
    for (what, token) in cases {
        let (status, response) = sluice.post(Some(&token), body()).await;
        assert_error(status, &response, "unauthenticated");
        assert!(!response.to_string().contains(&token), "{what}: the token is never echoed");
    }
    let mut expired = good;
    expired["exp"] = json!(now() - 3600);
    let (_, response) = sluice.post(Some(&jwt(expired)), body()).await;
    assert_eq!(response["error"]["message"], "token expired");
}
