//! Checks shared by the software and PKCS#11 tests: sign a JWT through the `Signer` interface,
//! verify it with the signer, with tampering, and with independent implementations (the
//! `jsonwebtoken` crate decoding the JWS with the stored JWK, and RustCrypto's `p256`/`p384`
//! for ECDSA).

#![allow(clippy::unwrap_used, dead_code)]

use std::future::Future;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    let mut bad_sig = sig.clone();
    bad_sig[0] ^= 0x80;
    assert!(!signer.verify(&record.tenant, &record.kid, input.as_bytes(), &bad_sig).unwrap());

    verify_independently(record, &input, &sig);
    sig
}

/// Verifies `sig` over `input` from `record.public_jwk` alone, without this crate's code.
pub fn verify_independently(record: &KeyRecord, input: &str, sig: &[u8]) {
    let expected_len = match record.alg {
        SigningAlg::ES256 | SigningAlg::EdDSA => 64,
        SigningAlg::ES384 => 96,
        SigningAlg::RS256 => 256,
    };
    assert_eq!(sig.len(), expected_len, "{:?} signature length", record.alg);

    // jsonwebtoken: parses our JWK and decodes the whole JWS.
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&record.public_jwk).unwrap();
    let key = DecodingKey::from_jwk(&jwk).unwrap();
    let alg = match record.alg {
        SigningAlg::ES256 => Algorithm::ES256,
        SigningAlg::ES384 => Algorithm::ES384,
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::EdDSA => Algorithm::EdDSA,
    };
    let mut validation = Validation::new(alg);
    validation.validate_aud = false;
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation)
        .unwrap_or_else(|e| panic!("jsonwebtoken rejects the {:?} JWS: {e}", record.alg));
    assert_eq!(data.header.kid.as_deref(), Some(record.kid.as_str()));
    assert_eq!(data.claims["sub"], "alice");

    // RustCrypto for ECDSA: a second implementation of the curve arithmetic.
    let v: serde_json::Value = serde_json::from_str(&record.public_jwk).unwrap();
    let ec_jwk =
        serde_json::json!({ "kty": v["kty"], "crv": v["crv"], "x": v["x"], "y": v["y"] }).to_string();
    match record.alg {
        SigningAlg::ES256 => {
            let key = p256::ecdsa::VerifyingKey::from(p256::PublicKey::from_jwk_str(&ec_jwk).unwrap());
            let sig = p256::ecdsa::Signature::from_slice(sig).unwrap();
            key.verify(input.as_bytes(), &sig).expect("p256 rejects the signature");
        }
        SigningAlg::ES384 => {
            let key = p384::ecdsa::VerifyingKey::from(p384::PublicKey::from_jwk_str(&ec_jwk).unwrap());
            let sig = p384::ecdsa::Signature::from_slice(sig).unwrap();
            key.verify(input.as_bytes(), &sig).expect("p384 rejects the signature");
        }
        SigningAlg::RS256 | SigningAlg::EdDSA => {}
    }
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
