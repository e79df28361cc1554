//! The software backend given a key-encryption key: the conformance suite again, with every key
//! sealed, then what sealing adds: no plaintext in the record, a sealed key opening only under
//! its KEK and only for its own record, and plain keys stored before the KEK still loading.

#![allow(clippy::unwrap_used)]

mod common;
mod conformance;

use common::{block_on, sign_and_check};
use conformance::{Backend, plain_test, signer_conformance};
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg};
use tessera_core::signer::{SignError, Signer};
use tessera_signer::{Kek, PublicKey, SoftwareSigner};

fn kek(fill: u8) -> Kek {
    Kek::from_bytes([fill; 32]).unwrap()
}

fn sealed_signer() -> SoftwareSigner {
    SoftwareSigner::with_kek(Some(kek(7)))
}

/// Software keys sealed under one KEK: a new signer given the same KEK is the old one restarted.
struct SealedBackend;

impl Backend for SealedBackend {
    type Signer = SoftwareSigner;

    fn signer(&self) -> SoftwareSigner {
        sealed_signer()
    }

    fn unsupported(&self, _: &SoftwareSigner, _: SigningAlg) -> Option<String> {
        None
    }

    fn check_material(&self, record: &KeyRecord) {
        assert!(matches!(&record.material, KeyMaterial::SealedSoftware { sealed } if !sealed.is_empty()));
    }

    fn foreign_material(&self) -> KeyMaterial {
        KeyMaterial::Pkcs11 { id: vec![1; 16] }
    }

    fn public_key(&self, signer: &SoftwareSigner, tenant: &str, kid: &str) -> Result<PublicKey, SignError> {
        signer.public_key(tenant, kid)
    }
}

signer_conformance!(plain_test, |_env| SealedBackend);

fn generate(signer: &SoftwareSigner, alg: SigningAlg) -> KeyRecord {
    block_on(signer.generate("acme", alg, 1_700_000_000)).unwrap()
}

fn sealed(record: &KeyRecord) -> &[u8] {
    match &record.material {
        KeyMaterial::SealedSoftware { sealed } => sealed,
        other => panic!("not a sealed key: {other:?}"),
    }
}

fn is_sealed_error(result: Result<(), SignError>, kid: &str) -> bool {
    matches!(result, Err(SignError::Sealed { kid: k }) if k == kid)
}

#[test]
fn sealed_keys_load_into_a_restarted_signer_with_the_same_kek_and_sign() {
    for alg in SigningAlg::ALL {
        let record = generate(&sealed_signer(), alg);
        let restarted = sealed_signer();
        restarted.load(&record).unwrap();
        sign_and_check(&restarted, &record);
    }
}

#[test]
fn a_sealed_record_holds_no_plaintext_pkcs8() {
    for alg in SigningAlg::ALL {
        let record = generate(&sealed_signer(), alg);
        let envelope = sealed(&record);
        let pkcs8 = kek(7).open(&record.tenant, &record.kid, alg, envelope).unwrap();
        assert_eq!(envelope.len(), 1 + 8 + 12 + pkcs8.len() + 16, "{alg:?}");
        // What opened is the key the record publishes: a record holding it in the clear loads.
        let plain = KeyRecord { material: KeyMaterial::Software { pkcs8: pkcs8.clone() }, ..record.clone() };
        SoftwareSigner::new().load(&plain).unwrap();
        // And no run of 8 of its bytes (the private key's, the DER around it) is in the record.
        let runs: std::collections::HashSet<&[u8]> = pkcs8.windows(8).collect();
        assert!(!envelope.windows(8).any(|w| runs.contains(w)), "{alg:?}: plaintext shows");
    }
}

#[test]
fn without_a_kek_a_sealed_key_is_refused_naming_it() {
    let record = generate(&sealed_signer(), SigningAlg::ES256);
    let bare = SoftwareSigner::new();
    let err = bare.load(&record).unwrap_err();
    assert_eq!(err, SignError::Sealed { kid: record.kid.clone() });
    let shown = err.to_string();
    assert!(shown.contains(&record.kid) && shown.contains("was not given"), "{shown}");
    assert!(block_on(bare.sign("acme", &record.kid, b"x")).is_err(), "nothing was loaded");
}

#[test]
fn under_another_kek_a_sealed_key_is_refused_the_same_way() {
    let record = generate(&sealed_signer(), SigningAlg::EdDSA);
    let other = SoftwareSigner::with_kek(Some(kek(8)));
    assert!(is_sealed_error(other.load(&record), &record.kid));
}

#[test]
fn a_tampered_envelope_is_a_bad_key_not_a_panic() {
    let record = generate(&sealed_signer(), SigningAlg::ES384);
    let signer = sealed_signer();
    let envelope = sealed(&record);
    // The nonce, the ciphertext and the tag: the first byte after the header, a middle one, the
    // last.
    for i in [9, envelope.len() / 2, envelope.len() - 1] {
        let mut damaged = envelope.to_vec();
        damaged[i] ^= 0x80;
        let tampered =
            KeyRecord { material: KeyMaterial::SealedSoftware { sealed: damaged }, ..record.clone() };
        let err = signer.load(&tampered).unwrap_err();
        assert!(matches!(&err, SignError::BadKey { kid, .. } if *kid == record.kid), "byte {i}: {err:?}");
    }
    // A truncated envelope is damage too, with a KEK or without one.
    let cut =
        KeyRecord { material: KeyMaterial::SealedSoftware { sealed: envelope[..5].to_vec() }, ..record };
    assert!(matches!(signer.load(&cut), Err(SignError::BadKey { .. })));
    assert!(matches!(SoftwareSigner::new().load(&cut), Err(SignError::BadKey { .. })));
}

#[test]
fn an_envelope_moved_onto_another_record_does_not_open() {
    let signer = sealed_signer();
    let a = generate(&signer, SigningAlg::ES256);
    let b = generate(&signer, SigningAlg::ES256);
    let bad = |r: Result<(), SignError>| matches!(r, Err(SignError::BadKey { .. }));
    // `a`'s envelope under `b`'s kid (with `a`'s own JWK, so only the binding is wrong).
    let other_kid = KeyRecord { kid: b.kid.clone(), ..a.clone() };
    assert!(bad(sealed_signer().load(&other_kid)), "another kid");
    let other_tenant = KeyRecord { tenant: "globex".into(), ..a.clone() };
    assert!(bad(sealed_signer().load(&other_tenant)), "another tenant");
    // The original still loads.
    sealed_signer().load(&a).unwrap();
}

#[test]
fn plain_keys_stored_before_the_kek_still_load_and_sign() {
    for alg in SigningAlg::ALL {
        let plain = generate(&SoftwareSigner::new(), alg);
        assert!(matches!(plain.material, KeyMaterial::Software { .. }));
        let signer = sealed_signer();
        signer.load(&plain).unwrap();
        sign_and_check(&signer, &plain);
    }
}
