//! JWS compact serialization (RFC 7515) for the tokens Tessera signs, and the claims of
//! JWT access tokens (RFC 9068). Signing itself belongs to the signer: this module builds the
//! signing input, assembles the token from a signature, and takes issued tokens apart again.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::model::{SigningAlg, UnixSecs};

/// Longest token the parser looks at; anything longer is not one of ours. Room for the most
/// a token may carry: [`crate::rbac::MAX_PERMISSIONS_PER_TOKEN`] permissions of the longest
/// name and [`crate::model::MAX_ROLES_PER_SUBJECT`] roles, base64url-encoded.
pub const MAX_TOKEN_BYTES: usize = 32 * 1024;

/// The `typ` of JWT access tokens (RFC 9068 2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of a JWT access token (RFC 9068 2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The issuer: the tenant's issuer URL.
    pub iss: String,
    /// The subject: a user, or the client itself for client credentials.
    pub sub: String,
    /// The audience. Several audiences (a direct authorisation's `audience`) are held
    /// space-separated, as a scope is, and travel as a JSON array (RFC 7519 4.1.3); audience
    /// values are URIs or client ids, which hold no spaces.
    #[serde(with = "audience")]
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
    /// The names of the subject's roles (RFC 9068 2.2.3.1), absent when it has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The subject's permissions, the union of its roles', absent when it has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// What the identity validator that accepted the password grant's credentials said about
    /// the subject, absent otherwise.
    #[serde(default, rename = "extraInfo", skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<serde_json::Map<String, serde_json::Value>>,
    /// The id of the identity validator (the password grant) or trusted issuer (the JWT bearer
    /// grant) that vouched for the subject, when the subject came from outside the local
    /// directory; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
    /// The actor when the subject is impersonated (RFC 8693 4.1: `{"sub": impersonator}`),
    /// set by the direct authorisation API; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
    /// The data a direct authorisation stored with the token; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dat: Option<serde_json::Value>,
    /// The names of the claims a direct authorisation releases at the userinfo endpoint
    /// (Connect2id's `cls`); absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cls: Vec<String>,
    /// The claims a direct authorisation preset for the userinfo endpoint (Connect2id's
    /// `uip`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uip: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `aud` as one string or an array of them (RFC 7519 4.1.3), held as one space-separated
/// string ([`AccessTokenClaims::aud`]).
mod audience {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    pub(super) fn serialize<S: Serializer>(aud: &str, s: S) -> Result<S::Ok, S::Error> {
        if aud.contains(' ') { aud.split(' ').collect::<Vec<_>>().serialize(s) } else { aud.serialize(s) }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(one) => one,
            OneOrMany::Many(many) => many.join(" "),
        })
    }
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
    /// Extensions the verifier must understand (RFC 7515 4.1.11). Tessera writes none and
    /// understands none, so a token that carries any is refused. A member that is present is
    /// `Some` whatever its value, `null` included: plain `Option` would read `"crit":null` as
    /// absent and let the header pass (found by the `jws` fuzz target's invariant).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub crit: Option<serde_json::Value>,
}

/// Reads a member that is present as `Some`, even when its value is `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// Decodes a protected header. RFC 7515 5.2 asks for a completely valid JSON object in UTF-8,
/// but serde skips the members a struct does not name without checking them, so a header with
/// invalid UTF-8 or a lone surrogate escape in an unknown member would pass (found by the `jws`
/// fuzz target). Reading every member first refuses those; the typed read then refuses a
/// repeated member it knows (RFC 7515 4: reject duplicates or take the last; we reject).
fn decode_header(raw: &[u8]) -> Option<Header> {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(raw).ok()?;
    serde_json::from_slice(raw).ok()
}

/// Why a verified-looking JWS is not one Tessera accepts, whatever its signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderRefusal {
    /// `typ` is not the expected media type (an ID token offered as an access token).
    Type,
    /// `alg` is not the algorithm of the key `kid` names (RFC 8725 3.1: the key decides the
    /// algorithm, never the token).
    Algorithm,
    /// `crit` names extensions (RFC 7515 4.1.11: unknown ones must be refused).
    Critical,
}

impl Header {
    /// Checks the header against what the verifier expects: the media type `typ` and the
    /// algorithm of the key the header's `kid` names.
    pub fn check(&self, typ: &str, key_alg: SigningAlg) -> Result<(), HeaderRefusal> {
        if self.crit.is_some() {
            return Err(HeaderRefusal::Critical);
        }
        if self.typ.as_deref() != Some(typ) {
            return Err(HeaderRefusal::Type);
        }
        if self.alg != key_alg.as_str() {
            return Err(HeaderRefusal::Algorithm);
        }
        Ok(())
    }
}

/// `BASE64URL(header) '.' BASE64URL(claims)`, the bytes the signer signs.
pub fn signing_input<C: Serialize>(
    alg: SigningAlg,
    typ: &str,
    kid: &str,
    claims: &C,
) -> Result<String, serde_json::Error> {
    let header = Header {
        alg: alg.as_str().to_owned(),
        typ: Some(typ.to_owned()),
        kid: Some(kid.to_owned()),
        crit: None,
    };
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
    let header = decode_header(&URL_SAFE_NO_PAD.decode(header).ok()?)?;
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

    #[test]
    fn several_audiences_travel_as_an_array_and_come_back() {
        let mut c = claims();
        c.aud = "rs-1 rs-2".into();
        let json = serde_json::to_value(&c).expect("json");
        assert_eq!(json["aud"], serde_json::json!(["rs-1", "rs-2"]));
        let back: AccessTokenClaims = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, c);
        let one = serde_json::to_value(claims()).expect("json");
        assert!(one["aud"].is_string());
    }

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
            roles: vec![],
            permissions: vec![],
            extra_info: None,
            validator: None,
            act: None,
            dat: None,
            cls: Vec::new(),
            uip: None,
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

#[cfg(test)]
mod header_tests {
    use super::*;

    fn header(alg: &str, typ: Option<&str>, crit: Option<serde_json::Value>) -> Header {
        Header { alg: alg.into(), typ: typ.map(str::to_owned), kid: Some("k1".into()), crit }
    }

    #[test]
    fn a_header_matching_its_key_and_type_passes() {
        assert_eq!(
            header("ES256", Some(ACCESS_TOKEN_TYP), None).check(ACCESS_TOKEN_TYP, SigningAlg::ES256),
            Ok(())
        );
    }

    #[test]
    fn the_key_decides_the_algorithm_not_the_token() {
        for alg in ["ES384", "RS256", "none", "HS256", "es256", ""] {
            assert_eq!(
                header(alg, Some(ACCESS_TOKEN_TYP), None).check(ACCESS_TOKEN_TYP, SigningAlg::ES256),
                Err(HeaderRefusal::Algorithm),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn critical_extensions_are_refused_even_empty_or_odd() {
        for crit in [serde_json::json!(["exp"]), serde_json::json!([]), serde_json::json!("b64")] {
            assert_eq!(
                header("ES256", Some(ACCESS_TOKEN_TYP), Some(crit.clone()))
                    .check(ACCESS_TOKEN_TYP, SigningAlg::ES256),
                Err(HeaderRefusal::Critical),
                "{crit}"
            );
        }
    }

    #[test]
    fn another_media_type_is_refused() {
        for typ in [None, Some("JWT"), Some("at+JWT")] {
            assert_eq!(
                header("ES256", typ, None).check(ACCESS_TOKEN_TYP, SigningAlg::ES256),
                Err(HeaderRefusal::Type),
                "{typ:?}"
            );
        }
    }

    #[test]
    fn crit_is_parsed_from_a_token_and_never_written() {
        let input =
            signing_input(SigningAlg::ES256, ACCESS_TOKEN_TYP, "k1", &serde_json::json!({})).expect("input");
        let (head, _) = input.split_once('.').expect("two parts");
        let written = String::from_utf8(URL_SAFE_NO_PAD.decode(head).expect("base64")).expect("utf-8");
        assert!(!written.contains("crit"), "{written}");
        let forged = format!(
            "{}.e30.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"at+jwt","kid":"k1","crit":["x"]}"#)
        );
        let parsed = parse(&forged).expect("well formed");
        assert_eq!(parsed.header.check(ACCESS_TOKEN_TYP, SigningAlg::ES256), Err(HeaderRefusal::Critical));
    }

    fn token_with_header(header: &[u8]) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    /// Fuzz finding (`jws`): `"crit":null` read as no `crit` at all, so the header passed.
    #[test]
    fn a_null_crit_is_still_a_crit() {
        let token = token_with_header(br#"{"alg":"ES256","typ":"at+jwt","kid":"k1","crit":null}"#);
        let parsed = parse(&token).expect("well formed");
        assert_eq!(parsed.header.check(ACCESS_TOKEN_TYP, SigningAlg::ES256), Err(HeaderRefusal::Critical));
        let serialised = serde_json::to_string(&header("ES256", Some(ACCESS_TOKEN_TYP), None)).expect("json");
        assert!(!serialised.contains("crit"), "{serialised}");
    }

    /// Fuzz finding (`jws`): a header that is not valid UTF-8 JSON throughout passed, because
    /// serde skips unknown members unchecked.
    #[test]
    fn a_header_must_be_valid_json_in_every_member() {
        for header in [
            &b"{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"x\":\"\xff\x9e\"}"[..],
            br#"{"alg":"ES256","typ":"at+jwt","x":"\ud800"}"#,
            br#"{"alg":"ES256","alg":"none","typ":"at+jwt"}"#,
        ] {
            assert!(parse(&token_with_header(header)).is_none(), "{}", String::from_utf8_lossy(header));
        }
        let fine = token_with_header(br#"{"alg":"ES256","typ":"at+jwt","x":"\u00e9","y":[1]}"#);
        assert!(parse(&fine).is_some());
    }
}
