//! JWT and JWKS checks: `kid`s of a JWK Set, unverified header and claims, access and ID
//! tokens verified with the independent `jsonwebtoken` crate, and the "no private key
//! material" check.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// The `kid`s of a JWK Set.
pub fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("JWKS has keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("every JWK has a kid").to_owned())
        .collect()
}

/// The decoded JOSE header of a compact JWS (unverified).
pub fn jwt_header(token: &str) -> Value {
    let header = token.split('.').next().expect("header part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url header")).expect("JSON header")
}

/// The decoded claims of a compact JWS (unverified).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload")).expect("JSON claims")
}

/// Verifies an access token with the independent `jsonwebtoken` crate against the served JWKS:
/// the key named by the header's `kid`, algorithm `expected_alg`, `iss` and `aud` equal to
/// `issuer`, the claims `exp`, `iat`, `iss`, `sub` and `aud` present, and header `typ` `at+jwt`
/// (RFC 9068 2.1). Returns the claims.
#[track_caller]
pub fn verify_jwt(token: &str, jwks: &Value, expected_alg: &str, issuer: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JOSE header decodes");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "header typ");
    verify_signed(token, jwks, expected_alg, issuer, issuer)
}

/// Verifies an access token for an API (RFC 8707): as [`verify_jwt`], with `aud` the API's
/// identifier instead of the issuer.
#[track_caller]
pub fn verify_jwt_for(token: &str, jwks: &Value, expected_alg: &str, issuer: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JOSE header decodes");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "header typ");
    verify_signed(token, jwks, expected_alg, issuer, audience)
}

/// Verifies an ID token with `jsonwebtoken` against the served JWKS: the key named by the
/// header's `kid`, algorithm `expected_alg`, `iss` equal to `issuer`, `aud` the client
/// `audience`, the claims `exp`, `iat`, `iss`, `sub` and `aud` present, and a header `typ` that
/// is not the access token's `at+jwt` (an ID token must not pass for one). Returns the claims.
#[track_caller]
pub fn verify_id_token(token: &str, jwks: &Value, expected_alg: &str, issuer: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("ID token JOSE header");
    assert_ne!(header.typ.as_deref(), Some("at+jwt"), "an ID token is not typed as an access token");
    verify_signed(token, jwks, expected_alg, issuer, audience)
}

/// The checks an access token and an ID token share: algorithm, `kid` in the JWKS, signature,
/// `iss`, `aud` and the required claims.
#[track_caller]
fn verify_signed(token: &str, jwks: &Value, expected_alg: &str, issuer: &str, audience: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).expect("JOSE header decodes");
    let alg: Algorithm = expected_alg.parse().expect("known algorithm name");
    assert_eq!(header.alg, alg, "header alg");
    let kid = header.kid.expect("header has a kid");
    let set: JwkSet = serde_json::from_value(jwks.clone()).expect("JWKS parses as a JWK Set");
    let jwk = set.find(&kid).unwrap_or_else(|| panic!("kid {kid} is not in the JWKS {jwks}"));
    let key = DecodingKey::from_jwk(jwk).expect("decoding key from the served JWK");
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("jsonwebtoken rejects the token: {e}"))
        .claims
}

/// OpenID Connect Core 3.1.3.6 `at_hash` (and 3.3.2.11 `c_hash`) of `value` for a SHA-256
/// algorithm: base64url of the left half of its SHA-256 digest.
pub fn at_hash_sha256(value: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(value.as_bytes())[..16])
}

/// Every object key anywhere inside `value`, for checks such as "no private key material".
pub fn all_keys(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    stack.push(v);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

/// Asserts that no JWK member or field that carries private key material appears in `value`.
#[track_caller]
pub fn assert_no_private_material(value: &Value, what: &str) {
    const PRIVATE: [&str; 10] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "pkcs8", "private_key"];
    for key in all_keys(value) {
        assert!(
            !PRIVATE.contains(&key.as_str()) && !key.to_ascii_lowercase().contains("private"),
            "{what} contains private key material `{key}`: {value}"
        );
    }
}
