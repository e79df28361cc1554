//! Verifying a partner's compact JWS with its JWK Set, through the JOSE library: a JWT bearer
//! assertion (`crate::grants::jwt_bearer`) and an external provider's ID token
//! (`crate::federation`). The keys with the token's `kid` (all of them when it names none)
//! that fit its algorithm (`tessera_core::grants::jwt_bearer::key_fits`) are tried in turn.
//! Claims are the callers' to check: no claim is validated here.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind, jwk::Jwk};
use serde_json::{Map, Value};
use tessera_core::grants::jwt_bearer::key_fits;

use super::jwks::has_kid;

/// Why a JWS did not verify.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// No key of the set has the token's `kid`.
    #[error("no key of the issuer has the token's kid")]
    UnknownKid,
    /// The algorithm is not one the library knows, or no key is for it.
    #[error("no key of the issuer is for the token's alg")]
    Algorithm,
    /// A key for it was found, and none verified the signature.
    #[error("the signature does not verify")]
    Signature,
    /// The token is not a JWS the library can read.
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
}

/// The claims of `token`, once a key of `keys` verified its signature with `alg`.
pub fn verify(
    keys: &[Map<String, Value>],
    token: &str,
    alg: &str,
    kid: Option<&str>,
) -> Result<Map<String, Value>, JwsError> {
    if !has_kid(keys, kid) {
        return Err(JwsError::UnknownKid);
    }
    let parsed: Algorithm = alg.parse().map_err(|_| JwsError::Algorithm)?;
    let mut validation = Validation::new(parsed);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    let candidates = keys.iter().filter(|k| {
        kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid)) && key_fits(k, alg)
    });
    let mut fitted = false;
    for candidate in candidates {
        let Ok(jwk) = serde_json::from_value::<Jwk>(Value::Object(candidate.clone())) else { continue };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else { continue };
        fitted = true;
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm) => {}
            Err(e) => return Err(JwsError::Malformed(describe(e.kind()))),
        }
    }
    Err(if fitted { JwsError::Signature } else { JwsError::Algorithm })
}

/// What went wrong, in words that carry nothing of the token.
fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidToken => "not a JWT",
        ErrorKind::Base64(_) => "not base64url",
        ErrorKind::Json(_) => "not JSON",
        ErrorKind::Utf8(_) => "not UTF-8",
        _ => "unreadable",
    }
}
