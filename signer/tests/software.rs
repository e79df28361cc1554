//! The software backend through the `Signer` interface.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{block_on, check_jwk_shape, sign_and_check, signing_input, verify_independently};
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg};
use tessera_core::signer::{SignError, Signer};
use tessera_signer::SoftwareSigner;

fn generate(signer: &SoftwareSigner, tenant: &str, alg: SigningAlg) -> KeyRecord {
    let record = block_on(signer.generate(tenant, alg, 1_700_000_000)).unwrap();
    assert_eq!((record.tenant.as_str(), record.alg, record.created_at), (tenant, alg, 1_700_000_000));
    assert!(matches!(&record.material, KeyMaterial::Software { pkcs8 } if !pkcs8.is_empty()));
    check_jwk_shape(&record);
    record
}

fn round_trip(alg: SigningAlg) {
    let signer = SoftwareSigner::new();
    let record = generate(&signer, "acme", alg);
    sign_and_check(&signer, &record);
}

#[test]
fn es256_round_trip() {
    round_trip(SigningAlg::ES256);
}

#[test]
fn es384_round_trip() {
    round_trip(SigningAlg::ES384);
}

#[test]
fn rs256_round_trip() {
    round_trip(SigningAlg::RS256);
}

#[test]
fn eddsa_round_trip() {
    round_trip(SigningAlg::EdDSA);
}

#[test]
fn a_stored_record_loads_and_signs_with_the_same_key() {
    let first = SoftwareSigner::new();
    let records: Vec<_> = SigningAlg::ALL.iter().map(|alg| generate(&first, "acme", *alg)).collect();
    drop(first);

    let restarted = SoftwareSigner::new();
    for record in &records {
        restarted.load(record).unwrap();
        restarted.load(record).unwrap(); // idempotent
        // Verified against the JWK published before the restart: the same key signed.
        let input = signing_input(record, "alice");
        let sig = block_on(restarted.sign("acme", &record.kid, input.as_bytes())).unwrap();
        verify_independently(record, &input, &sig);
        sign_and_check(&restarted, record);
    }
}

#[test]
fn unknown_kid_is_refused() {
    let signer = SoftwareSigner::new();
    let record = generate(&signer, "acme", SigningAlg::ES256);
    let err = block_on(signer.sign("acme", "no-such-kid", b"x")).unwrap_err();
    assert_eq!(err, SignError::UnknownKey { tenant: "acme".into(), kid: "no-such-kid".into() });
    assert!(matches!(signer.verify("acme", "no-such-kid", b"x", b"y"), Err(SignError::UnknownKey { .. })));
    signer.unload("acme", &record.kid);
    assert!(matches!(block_on(signer.sign("acme", &record.kid, b"x")), Err(SignError::UnknownKey { .. })));
}

#[test]
fn a_key_of_one_tenant_cannot_sign_for_another() {
    let signer = SoftwareSigner::new();
    let record = generate(&signer, "tenant-a", SigningAlg::ES384);
    let err = block_on(signer.sign("tenant-b", &record.kid, b"x")).unwrap_err();
    assert_eq!(err, SignError::UnknownKey { tenant: "tenant-b".into(), kid: record.kid.clone() });
    let sig = block_on(signer.sign("tenant-a", &record.kid, b"x")).unwrap();
    assert!(matches!(signer.verify("tenant-b", &record.kid, b"x", &sig), Err(SignError::UnknownKey { .. })));
}

#[test]
fn records_that_do_not_hold_together_are_refused() {
    let signer = SoftwareSigner::new();
    let a = generate(&signer, "acme", SigningAlg::ES256);
    let b = generate(&signer, "acme", SigningAlg::ES256);

    let hsm = KeyRecord { material: KeyMaterial::Pkcs11 { id: vec![1; 16] }, ..a.clone() };
    assert_eq!(signer.load(&hsm), Err(SignError::WrongBackend(a.kid.clone())));

    // Another key's JWK (with this kid): publishing it would make every token unverifiable.
    let swapped = KeyRecord { public_jwk: b.public_jwk.replace(&b.kid, &a.kid), ..a.clone() };
    assert!(matches!(signer.load(&swapped), Err(SignError::BadKey { .. })));

    let wrong_alg = KeyRecord { alg: SigningAlg::ES384, ..a.clone() };
    assert!(matches!(signer.load(&wrong_alg), Err(SignError::BadKey { .. })));

    let junk = KeyRecord { material: KeyMaterial::Software { pkcs8: b"junk".to_vec() }, ..a.clone() };
    assert!(matches!(signer.load(&junk), Err(SignError::BadKey { .. })));
}

#[test]
fn concurrent_signing_from_many_tasks() {
    let signer = Arc::new(SoftwareSigner::new());
    let records: Vec<_> = SigningAlg::ALL.iter().map(|alg| generate(&signer, "acme", *alg)).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let signer = Arc::clone(&signer);
            let record = records[i % records.len()].clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..20 {
                    let input = format!("task {i} message {j}");
                    let sig = signer.sign(&record.tenant, &record.kid, input.as_bytes()).await.unwrap();
                    assert!(signer.verify(&record.tenant, &record.kid, input.as_bytes(), &sig).unwrap());
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}
