//! JWS compact serialization (RFC 7515) for the tokens Tessera signs, and the claims of
//! JWT access tokens (RFC 9068). Signing itself belongs to the signer: this module builds the
//! signing input, assembles the token from a signature, and takes issued tokens apart again.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::model::{SigningAlg, UnixSecs};

/// Longest token the parser looks at; anything longer is not one of ours.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The `typ` of JWT access tokens (RFC 9068 2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of a JWT access token (RFC 9068 2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The issuer: the tenant's issuer URL.
    pub iss: String,
    /// The subject: a user, or the client itself for client credentials.
    pub sub: String,
    /// The audience.
    pub aud: String,
    /// Expiry.
    pub exp: UnixSecs,
    /// Issued at.
    pub iat: UnixSecs,
    /// Token id: the deny-list key.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// The granted scope, space-delimited (absent when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// The JWS protected header Tessera writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The algorithm.
    pub alg: String,
    /// The media type of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// The key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// `BASE64URL(header) '.' BASE64URL(claims)`, the bytes the signer signs.
pub fn signing_input<C: Serialize>(
    alg: SigningAlg,
    typ: &str,
    kid: &str,
    claims: &C,
) -> Result<String, serde_json::Error> {
    let header =
        Header { alg: alg.as_str().to_owned(), typ: Some(typ.to_owned()), kid: Some(kid.to_owned()) };
    let header = serde_json::to_vec(&header)?;
    let claims = serde_json::to_vec(claims)?;
    let mut out = String::with_capacity((header.len() + claims.len()) * 4 / 3 + 90);
    URL_SAFE_NO_PAD.encode_string(&header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims, &mut out);
    Ok(out)
}

/// The compact JWS: signing input, a dot, and the base64url signature.
pub fn assemble(mut signing_input: String, signature: &[u8]) -> String {
    signing_input.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut signing_input);
    signing_input
}

/// A compact JWS taken apart, not yet verified.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The decoded protected header.
    pub header: Header,
    /// The signing input, as it was signed.
    pub signing_input: &'a str,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Whether a token has the shape of a compact JWS (three base64url parts).
pub fn looks_like_jws(token: &str) -> bool {
    token.len() <= MAX_TOKEN_BYTES
        && token.split('.').count() == 3
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Splits and decodes a compact JWS; `None` if it is not well formed.
pub fn parse(token: &str) -> Option<Parsed<'_>> {
    if !looks_like_jws(token) {
        return None;
    }
    let (signing_input, sig) = token.rsplit_once('.')?;
    let (header, payload) = signing_input.split_once('.')?;
    if payload.is_empty() || sig.is_empty() {
        return None;
    }
    let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    Some(Parsed {
        header,
        signing_input,
        payload: URL_SAFE_NO_PAD.decode(payload).ok()?,
        signature: URL_SAFE_NO_PAD.decode(sig).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://id.example/t/acme".into(),
            sub: "svc".into(),
            aud: "https://id.example/t/acme".into(),
            exp: 1_700_003_600,
            iat: 1_700_000_000,
            jti: "j1".into(),
            client_id: "svc".into(),
            scope: "read write".into(),
        }
    }

    #[test]
    fn build_and_parse_round_trip() {
        let input = signing_input(SigningAlg::ES256, ACCESS_TOKEN_TYP, "k1", &claims()).expect("json");
        let token = assemble(input.clone(), &[1, 2, 3]);
        let parsed = parse(&token).expect("parses");
        assert_eq!(parsed.signing_input, input);
        assert_eq!(parsed.signature, [1, 2, 3]);
        assert_eq!(parsed.header.alg, "ES256");
        assert_eq!(parsed.header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        let back: AccessTokenClaims = serde_json::from_slice(&parsed.payload).expect("claims");
        assert_eq!(back, claims());
    }

    #[test]
    fn empty_scope_is_omitted() {
        let mut c = claims();
        c.scope.clear();
        let json = serde_json::to_value(&c).expect("json");
        assert!(json.get("scope").is_none());
    }

    #[test]
    fn garbage_is_not_a_jws() {
        for t in ["", "a.b", "a.b.c.d", "a.b.c", "!!.??.**", "eyJhbGciOiJub25lIn0..", &"a.".repeat(5000)] {
            assert!(parse(t).is_none(), "{t}");
        }
    }
}
