//! ID tokens (OpenID Connect Core 2, 3.1.3.6, 3.3.2.11): the claims Tessera puts in them and
//! the `at_hash` / `c_hash` half-hashes that bind an ID token to the access token and code
//! returned beside it. Signing is the signer's business; [`crate::jwt::signing_input`] takes
//! these claims as they are.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::model::{SigningAlg, UnixSecs};

/// The `typ` header of ID tokens. Core does not require one; `JWT` is what libraries expect.
pub const ID_TOKEN_TYP: &str = "JWT";

/// Claims of an ID token (OpenID Connect Core 2). Absent optional claims are omitted, never
/// sent as `null`: some relying parties reject a `null` `nonce`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// The issuer: the tenant's issuer URL.
    pub iss: String,
    /// The end-user's subject identifier.
    pub sub: String,
    /// The audience: the client id of the relying party.
    pub aud: String,
    /// Expiry.
    pub exp: UnixSecs,
    /// Issued at.
    pub iat: UnixSecs,
    /// When the end-user last authenticated (required when `max_age` was requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixSecs>,
    /// The `nonce` of the authorization request, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Authentication context class reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Authentication methods references (RFC 8176), omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The SSO session id (OpenID Connect Front-/Back-Channel Logout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Authorized party: the client id (Core 2: the party the token was issued to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Half-hash of the access token returned with this ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Half-hash of the code returned with this ID token (hybrid flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_hash: Option<String>,
    /// End-user claims carried in the token itself: only when no access token is issued to
    /// fetch them from `/userinfo` (`response_type=id_token`, Core 5.4).
    #[serde(flatten)]
    pub user_claims: serde_json::Map<String, serde_json::Value>,
}

/// `at_hash` / `c_hash` (Core 3.1.3.6, 3.3.2.11): base64url of the left-most half of the hash
/// of the ASCII `value`, the hash being the one of the ID token's JWS `alg`.
///
/// EdDSA names no hash of its own. For Ed25519 we use SHA-512, the hash inside Ed25519 (RFC
/// 8032), which is the OpenID Foundation's interpretation (its certification suite and the
/// errata discussion of Core 3.1.3.6 for EdDSA); Tessera's EdDSA keys are always Ed25519.
pub fn half_hash(alg: SigningAlg, value: &str) -> String {
    let bytes = value.as_bytes();
    match alg {
        SigningAlg::ES256 | SigningAlg::RS256 => left_half(&Sha256::digest(bytes)),
        SigningAlg::ES384 => left_half(&Sha384::digest(bytes)),
        SigningAlg::EdDSA => left_half(&Sha512::digest(bytes)),
    }
}

fn left_half(digest: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_connect_core_examples() {
        // Core A.3 (`id_token token`, RS256) and A.4 (`code id_token`, RS256).
        let at = half_hash(SigningAlg::RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y");
        assert_eq!(at, "77QmUPtjPfzWtF2AnpK9RQ");
        let c = half_hash(SigningAlg::RS256, "Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk");
        assert_eq!(c, "LDktKdoQak3Pk0cnXxCltA");
    }

    #[test]
    fn lengths_follow_the_hash() {
        // Independent check: the half of a digest has 16, 24 or 32 bytes, i.e. 22, 32 or 43
        // base64url characters, and is a prefix of the full digest.
        for (alg, chars, full) in [
            (SigningAlg::ES256, 22, Sha256::digest(b"abc").to_vec()),
            (SigningAlg::ES384, 32, Sha384::digest(b"abc").to_vec()),
            (SigningAlg::EdDSA, 43, Sha512::digest(b"abc").to_vec()),
        ] {
            let h = half_hash(alg, "abc");
            assert_eq!(h.len(), chars, "{alg:?}");
            let decoded = URL_SAFE_NO_PAD.decode(&h).expect("base64url");
            assert_eq!(decoded[..], full[..full.len() / 2], "{alg:?}");
        }
        // Computed with Python's hashlib, independently of this crate.
        assert_eq!(half_hash(SigningAlg::ES384, "abc"), "ywB1P0WjXou1oD1pmsZQBycsMqsO3tFj");
        assert_eq!(half_hash(SigningAlg::EdDSA, "abc"), "3a81oZNherrMQXNJriBBMRLm-k6JqX6iCp7u5ktV05o");
    }

    #[test]
    fn absent_claims_are_omitted() {
        let claims = IdTokenClaims {
            iss: "https://id.example/t/t".into(),
            sub: "u".into(),
            aud: "c".into(),
            exp: 2,
            iat: 1,
            auth_time: None,
            nonce: Some("n".into()),
            acr: None,
            amr: vec![],
            sid: None,
            azp: None,
            at_hash: None,
            c_hash: None,
            user_claims: serde_json::Map::new(),
        };
        let v: serde_json::Value = serde_json::to_value(&claims).expect("json");
        let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
        assert_eq!(v["nonce"], "n");
        let back: IdTokenClaims = serde_json::from_value(v).expect("round trip");
        assert_eq!(back, claims);
    }
}
