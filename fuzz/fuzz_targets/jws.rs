//! JWS compact parsing and the header checks (`tessera_core::jwt`). A token the parser accepts
//! has exactly the parts it claims: the signing input is the token up to its last dot, each
//! part is the canonical base64url of what was decoded (so no two strings parse to the same
//! token), and the header check passes only a header that names the expected `typ` and `alg`
//! and carries no `crit` member at all, whatever its value.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use tessera_core::jwt::{self, ACCESS_TOKEN_TYP, AccessTokenClaims, MAX_TOKEN_BYTES};
use tessera_core::model::SigningAlg;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let Some(parsed) = jwt::parse(token) else { return };
    assert!(token.len() <= MAX_TOKEN_BYTES);
    assert!(jwt::looks_like_jws(token));

    let mut parts = token.split('.');
    let (Some(head), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("accepted a token without exactly three parts: {token:?}");
    };
    assert_eq!(parsed.signing_input.len(), head.len() + 1 + payload.len());
    assert_eq!(parsed.signing_input, &token[..parsed.signing_input.len()]);
    assert!(!payload.is_empty() && !sig.is_empty());
    assert_eq!(URL_SAFE_NO_PAD.encode(&parsed.payload), payload, "payload is not canonical base64url");
    assert_eq!(URL_SAFE_NO_PAD.encode(&parsed.signature), sig, "signature is not canonical base64url");
    let raw_header = URL_SAFE_NO_PAD.decode(head).expect("an accepted header part decodes");
    assert_eq!(URL_SAFE_NO_PAD.encode(&raw_header), head, "header is not canonical base64url");

    // What the header says, read independently of the parser's own type.
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&raw_header).expect("an accepted header is a JSON object");
    assert_eq!(object.get("alg").and_then(|v| v.as_str()), Some(parsed.header.alg.as_str()));
    assert_eq!(object.get("kid").and_then(|v| v.as_str()), parsed.header.kid.as_deref());
    for alg in SigningAlg::ALL {
        let verdict = parsed.header.check(ACCESS_TOKEN_TYP, alg);
        let passes = !object.contains_key("crit")
            && object.get("typ").and_then(|v| v.as_str()) == Some(ACCESS_TOKEN_TYP)
            && parsed.header.alg == alg.as_str();
        assert_eq!(verdict.is_ok(), passes, "{object:?} against {alg:?}: {verdict:?}");
    }

    // The payload as the introspection endpoint reads it: claims that decode re-encode to
    // claims that decode the same.
    if let Ok(claims) = serde_json::from_slice::<AccessTokenClaims>(&parsed.payload) {
        let again = serde_json::to_vec(&claims).expect("claims serialise");
        let back: AccessTokenClaims = serde_json::from_slice(&again).expect("re-encoded claims decode");
        assert_eq!(back, claims);
    }
});
