//! The software backend: the conformance suite (`conformance::cases`), then what only software
//! keys do (their PKCS#8 in the record).

#![allow(clippy::unwrap_used)]

mod common;
mod conformance;

use common::block_on;
use conformance::{Backend, plain_test, signer_conformance};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::DecodePrivateKey as _;
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg};
use tessera_core::signer::{SignError, Signer};
use tessera_signer::{PublicKey, SoftwareSigner};

/// Software keys live in their records: a new signer is the old one restarted.
struct SoftwareBackend;

impl Backend for SoftwareBackend {
    type Signer = SoftwareSigner;

    fn signer(&self) -> SoftwareSigner {
        SoftwareSigner::new()
    }

    fn unsupported(&self, _: &SoftwareSigner, _: SigningAlg) -> Option<String> {
        None
    }

    fn check_material(&self, record: &KeyRecord) {
        assert!(matches!(&record.material, KeyMaterial::Software { pkcs8 } if !pkcs8.is_empty()));
    }

    fn foreign_material(&self) -> KeyMaterial {
        KeyMaterial::Pkcs11 { id: vec![1; 16] }
    }

    fn public_key(&self, signer: &SoftwareSigner, tenant: &str, kid: &str) -> Result<PublicKey, SignError> {
        signer.public_key(tenant, kid)
    }
}

signer_conformance!(plain_test, |_env| SoftwareBackend);

fn generate(signer: &SoftwareSigner, alg: SigningAlg) -> KeyRecord {
    block_on(signer.generate("acme", alg, 1_700_000_000)).unwrap()
}

fn pkcs8(record: &KeyRecord) -> &[u8] {
    match &record.material {
        KeyMaterial::Software { pkcs8 } => pkcs8,
        other => panic!("not a software key: {other:?}"),
    }
}

#[test]
fn pkcs8_that_does_not_parse_is_refused() {
    let signer = SoftwareSigner::new();
    let a = generate(&signer, SigningAlg::ES256);
    let junk = KeyRecord { material: KeyMaterial::Software { pkcs8: b"junk".to_vec() }, ..a.clone() };
    assert!(matches!(signer.load(&junk), Err(SignError::BadKey { kid, .. }) if kid == a.kid));
    // The PKCS#8 of an ES256 key under an RS256 record (with that key's JWK) is not an RSA key.
    let rsa = generate(&signer, SigningAlg::RS256);
    let mixed = KeyRecord { material: a.material.clone(), ..rsa.clone() };
    assert!(matches!(signer.load(&mixed), Err(SignError::BadKey { .. })));
}

// The record's PKCS#8 is the key that signs: an independent parser (RustCrypto) reads the same
// public key from it as the record publishes, and a record whose only content is that PKCS#8
// and JWK loads into a new signer and signs.
#[test]
fn the_records_pkcs8_is_the_signing_key() {
    let signer = SoftwareSigner::new();
    let es256 = generate(&signer, SigningAlg::ES256);
    let secret = p256::SecretKey::from_pkcs8_der(pkcs8(&es256)).unwrap();
    let point = secret.public_key().to_encoded_point(false);
    assert_eq!(PublicKey::P256(point.as_bytes().to_vec()), signer.public_key("acme", &es256.kid).unwrap());

    let es384 = generate(&signer, SigningAlg::ES384);
    let secret = p384::SecretKey::from_pkcs8_der(pkcs8(&es384)).unwrap();
    let point = secret.public_key().to_encoded_point(false);
    assert_eq!(PublicKey::P384(point.as_bytes().to_vec()), signer.public_key("acme", &es384.kid).unwrap());

    for alg in SigningAlg::ALL {
        let record = generate(&signer, alg);
        let bare = KeyRecord {
            tenant: "other".into(),
            kid: record.kid.clone(),
            alg,
            public_jwk: record.public_jwk.clone(),
            material: KeyMaterial::Software { pkcs8: pkcs8(&record).to_vec() },
            created_at: 0,
            retired_at: None,
            expires_at: None,
        };
        let fresh = SoftwareSigner::new();
        fresh.load(&bare).unwrap();
        common::sign_and_check(&fresh, &bare);
    }
}
