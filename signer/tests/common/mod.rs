//! Checks shared by the signer tests: sign a JWT through the `Signer` interface, verify it with
//! the signer, with tampering, and with independent implementations (the `jsonwebtoken` crate
//! decoding the JWS with the stored JWK, and RustCrypto's `p256`/`p384` for ECDSA).

#![allow(clippy::unwrap_used, dead_code)]

use std::future::Future;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::ecdsa::signature::Verifier as _;
use tessera_core::model::{KeyRecord, SigningAlg};
use tessera_core::signer::Signer;

/// Runs a future to completion on a fresh single-threaded runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// A JWS signing input for a small JWT naming `record`'s key.
pub fn signing_input(record: &KeyRecord, sub: &str) -> String {
    let header = serde_json::json!({ "alg": record.alg.as_str(), "typ": "JWT", "kid": record.kid });
    let claims = serde_json::json!({ "sub": sub, "exp": 4_102_444_800u64 });
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// Signs through the interface and checks the signature every way; returns it.
pub fn sign_and_check(signer: &dyn Signer, record: &KeyRecord) -> Vec<u8> {
    let input = signing_input(record, "alice");
    let sig = block_on(signer.sign(&record.tenant, &record.kid, input.as_bytes())).unwrap();
    assert!(signer.verify(&record.tenant, &record.kid, input.as_bytes(), &sig).unwrap());

    let mut tampered = input.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert!(!signer.verify(&record.tenant, &record.kid, &tampered, &sig).unwrap(), "tampered input verified");
    let other = signing_input(record, "mallory");
    assert!(!signer.verify(&record.tenant, &record.kid, other.as_bytes(), &sig).unwrap());
    assert!(!verifies_independently(record, &other, &sig), "another message verified independently");
    let mut bad_sig = sig.clone();
    bad_sig[0] ^= 0x80;
    assert!(!signer.verify(&record.tenant, &record.kid, input.as_bytes(), &bad_sig).unwrap());

    verify_independently(record, &input, &sig);
    sig
}

/// The JWS signature length of `alg` (RS256 with the 2048-bit keys Tessera makes).
pub fn signature_len(alg: SigningAlg) -> usize {
    match alg {
        SigningAlg::ES256 | SigningAlg::EdDSA => 64,
        SigningAlg::ES384 => 96,
        SigningAlg::RS256 => 256,
    }
}

/// Verifies `sig` over `input` (made by [`signing_input`]) from `record.public_jwk` alone,
/// without this crate's code, and checks that the JWS decodes to the header and claims signed.
pub fn verify_independently(record: &KeyRecord, input: &str, sig: &[u8]) {
    assert_eq!(sig.len(), signature_len(record.alg), "{:?} signature length", record.alg);
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    let data = jsonwebtoken::decode::<serde_json::Value>(&token, &decoding_key(record), &validation(record))
        .unwrap_or_else(|e| panic!("jsonwebtoken rejects the {:?} JWS: {e}", record.alg));
    assert_eq!(data.header.kid.as_deref(), Some(record.kid.as_str()));
    let (_, payload) = input.split_once('.').unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(data.claims, claims);
    assert!(verifies_independently(record, input, sig), "{:?}: RustCrypto rejects the signature", record.alg);
}

/// Whether `sig` over the well-formed JWT signing `input` verifies from `record.public_jwk`
/// alone: `jsonwebtoken` for every algorithm and RustCrypto too for ECDSA, which must agree.
pub fn verifies_independently(record: &KeyRecord, input: &str, sig: &[u8]) -> bool {
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    let jsonwebtoken =
        match jsonwebtoken::decode::<serde_json::Value>(&token, &decoding_key(record), &validation(record)) {
            Ok(_) => true,
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => false,
            Err(e) => panic!("jsonwebtoken fails on the {:?} JWS for another reason: {e}", record.alg),
        };
    // RustCrypto for ECDSA: a second implementation of the curve arithmetic.
    let v: serde_json::Value = serde_json::from_str(&record.public_jwk).unwrap();
    let ec_jwk =
        serde_json::json!({ "kty": v["kty"], "crv": v["crv"], "x": v["x"], "y": v["y"] }).to_string();
    let rust_crypto = match record.alg {
        SigningAlg::ES256 => {
            let key = p256::ecdsa::VerifyingKey::from(p256::PublicKey::from_jwk_str(&ec_jwk).unwrap());
            p256::ecdsa::Signature::from_slice(sig)
                .is_ok_and(|sig| key.verify(input.as_bytes(), &sig).is_ok())
        }
        SigningAlg::ES384 => {
            let key = p384::ecdsa::VerifyingKey::from(p384::PublicKey::from_jwk_str(&ec_jwk).unwrap());
            p384::ecdsa::Signature::from_slice(sig)
                .is_ok_and(|sig| key.verify(input.as_bytes(), &sig).is_ok())
        }
        SigningAlg::RS256 | SigningAlg::EdDSA => jsonwebtoken,
    };
    assert_eq!(jsonwebtoken, rust_crypto, "{:?}: jsonwebtoken and RustCrypto disagree", record.alg);
    jsonwebtoken
}

/// jsonwebtoken's key from the record's JWK, parsed by jsonwebtoken itself.
fn decoding_key(record: &KeyRecord) -> DecodingKey {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&record.public_jwk).unwrap();
    DecodingKey::from_jwk(&jwk).unwrap()
}

fn validation(record: &KeyRecord) -> Validation {
    let alg = match record.alg {
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::ES384 => Algorithm::ES384,
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    };
    let mut validation = Validation::new(alg);
    validation.validate_aud = false;
    validation
}

/// Checks the JWK's shape for its algorithm.
pub fn check_jwk_shape(record: &KeyRecord) {
    let v: serde_json::Value = serde_json::from_str(&record.public_jwk).unwrap();
    assert_eq!(v["kid"], record.kid.as_str());
    assert_eq!(v["alg"], record.alg.as_str());
    assert_eq!(v["use"], "sig");
    let len = |field: &str| URL_SAFE_NO_PAD.decode(v[field].as_str().unwrap()).unwrap().len();
    match record.alg {
        SigningAlg::ES256 | SigningAlg::ES384 => {
            let n = if record.alg == SigningAlg::ES256 { 32 } else { 48 };
            assert_eq!(v["kty"], "EC");
            assert_eq!((len("x"), len("y")), (n, n));
        }
        SigningAlg::RS256 => {
            assert_eq!(v["kty"], "RSA");
            assert_eq!(len("n"), 256);
            assert_eq!(v["e"], "AQAB");
        }
        SigningAlg::EdDSA => {
            assert_eq!((v["kty"].as_str(), v["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
            assert_eq!(len("x"), 32);
        }
    }
    assert_eq!(record.kid.len(), 22);
}
