//! The PKCS#11 backend against SoftHSM2. Each test runs in a child process started with
//! `SOFTHSM2_CONF` pointing at a token of its own: see `tessera_signer::testing`.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{block_on, check_jwk_shape, sign_and_check, signing_input, verify_independently};
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg};
use tessera_core::signer::{SignError, Signer};
use tessera_signer::cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use tessera_signer::cryptoki::object::{Attribute, AttributeType, ObjectClass};
use tessera_signer::cryptoki::session::UserType;
use tessera_signer::cryptoki::types::AuthPin;
use tessera_signer::pkcs11::KEY_ID_LEN;
use tessera_signer::testing::SoftHsmEnv;
use tessera_signer::{Pkcs11Pin, Pkcs11Signer, softhsm_test};

fn signer(env: &SoftHsmEnv, sessions: usize) -> Pkcs11Signer {
    Pkcs11Signer::new(env.config(sessions)).unwrap()
}

/// Generates a key, or says why the token cannot and returns `None`.
fn generate(signer: &Pkcs11Signer, tenant: &str, alg: SigningAlg) -> Option<KeyRecord> {
    if !signer.supports(alg) {
        println!("SKIPPED {alg:?} on SoftHSM2: the token lists no CKM_EC_EDWARDS_KEY_PAIR_GEN/CKM_EDDSA");
        assert!(matches!(block_on(signer.generate(tenant, alg, 0)), Err(SignError::Backend(_))));
        return None;
    }
    let record = block_on(signer.generate(tenant, alg, 1_700_000_000)).unwrap();
    assert_eq!((record.tenant.as_str(), record.alg), (tenant, alg));
    assert!(matches!(&record.material, KeyMaterial::Pkcs11 { id } if id.len() == KEY_ID_LEN));
    check_jwk_shape(&record);
    Some(record)
}

fn round_trip(env: &SoftHsmEnv, alg: SigningAlg) {
    let signer = signer(env, 2);
    if let Some(record) = generate(&signer, "acme", alg) {
        sign_and_check(&signer, &record);
    }
}

softhsm_test!(fn es256_round_trip(env) { round_trip(env, SigningAlg::ES256) });
softhsm_test!(fn es384_round_trip(env) { round_trip(env, SigningAlg::ES384) });
softhsm_test!(fn rs256_round_trip(env) { round_trip(env, SigningAlg::RS256) });
softhsm_test!(fn eddsa_round_trip(env) { round_trip(env, SigningAlg::EdDSA) });

softhsm_test!(fn a_restarted_signer_finds_keys_by_cka_id(env) {
    let first = signer(env, 2);
    let records: Vec<_> = SigningAlg::ALL.iter().filter_map(|alg| generate(&first, "acme", *alg)).collect();
    drop(first); // closes the sessions and finalises the library, as a process exit would

    let restarted = signer(env, 2);
    for record in &records {
        restarted.load(record).unwrap();
        restarted.load(record).unwrap(); // idempotent
        let input = signing_input(record, "alice");
        let sig = block_on(restarted.sign("acme", &record.kid, input.as_bytes())).unwrap();
        verify_independently(record, &input, &sig);
        sign_and_check(&restarted, record);
    }
});

softhsm_test!(fn unknown_kid_and_other_tenants_are_refused(env) {
    let signer = signer(env, 1);
    let record = generate(&signer, "tenant-a", SigningAlg::ES384).unwrap();
    let err = block_on(signer.sign("tenant-a", "no-such-kid", b"x")).unwrap_err();
    assert_eq!(err, SignError::UnknownKey { tenant: "tenant-a".into(), kid: "no-such-kid".into() });
    let err = block_on(signer.sign("tenant-b", &record.kid, b"x")).unwrap_err();
    assert_eq!(err, SignError::UnknownKey { tenant: "tenant-b".into(), kid: record.kid.clone() });
    assert!(matches!(signer.verify("tenant-b", &record.kid, b"x", &[0; 96]), Err(SignError::UnknownKey { .. })));
    signer.unload("tenant-a", &record.kid);
    assert!(matches!(block_on(signer.sign("tenant-a", &record.kid, b"x")), Err(SignError::UnknownKey { .. })));
});

softhsm_test!(fn records_that_do_not_match_the_token_are_refused(env) {
    let signer = signer(env, 1);
    let a = generate(&signer, "acme", SigningAlg::ES256).unwrap();
    let b = generate(&signer, "acme", SigningAlg::ES256).unwrap();

    let software = KeyRecord { material: KeyMaterial::Software { pkcs8: vec![0; 8] }, ..a.clone() };
    assert_eq!(signer.load(&software), Err(SignError::WrongBackend(a.kid.clone())));

    let missing = KeyRecord { material: KeyMaterial::Pkcs11 { id: vec![7; KEY_ID_LEN] }, ..a.clone() };
    let err = signer.load(&missing).unwrap_err();
    assert!(matches!(&err, SignError::BadKey { detail, .. } if detail.contains("no private key")), "{err:?}");

    let swapped = KeyRecord { public_jwk: b.public_jwk.replace(&b.kid, &a.kid), ..a.clone() };
    assert!(matches!(signer.load(&swapped), Err(SignError::BadKey { .. })));

    let es384 = generate(&signer, "acme", SigningAlg::ES384).unwrap();
    let wrong_curve = KeyRecord { material: es384.material.clone(), ..a.clone() };
    assert!(matches!(signer.load(&wrong_curve), Err(SignError::BadKey { .. })));
});

softhsm_test!(fn private_keys_are_sensitive_and_never_extractable(env) {
    let signer = signer(env, 1);
    let records: Vec<_> = SigningAlg::ALL.iter().filter_map(|alg| generate(&signer, "acme", *alg)).collect();
    for record in &records {
        let attrs = signer.private_key_attributes("acme", &record.kid).unwrap();
        assert!(attrs.sensitive && !attrs.extractable, "{:?}: {attrs:?}", record.alg);
        assert!(attrs.always_sensitive && attrs.never_extractable, "{:?}: {attrs:?}", record.alg);
        assert!(attrs.token && attrs.private && attrs.local, "{:?}: {attrs:?}", record.alg);
    }
    drop(signer);

    // Again through a session of our own, not the signer's code: the token reports the same
    // flags and refuses to hand out the private values.
    let pkcs11 = Pkcs11::new(&env.module_path).unwrap();
    pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).unwrap();
    let slot = pkcs11
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| pkcs11.get_token_info(*s).unwrap().label().trim_end() == env.label)
        .unwrap();
    let session = pkcs11.open_ro_session(slot).unwrap();
    session.login(UserType::User, Some(&AuthPin::from(env.pin.clone()))).unwrap();
    for record in &records {
        let KeyMaterial::Pkcs11 { id } = &record.material else { unreachable!() };
        let found = session.find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Id(id.clone())]).unwrap();
        assert_eq!(found.len(), 1);
        let attrs = session
            .get_attributes(found[0], &[AttributeType::Sensitive, AttributeType::Extractable, AttributeType::Label])
            .unwrap();
        assert!(attrs.iter().any(|a| matches!(a, Attribute::Sensitive(true))), "{attrs:?}");
        assert!(attrs.iter().any(|a| matches!(a, Attribute::Extractable(false))), "{attrs:?}");
        assert!(attrs.iter().any(|a| matches!(a, Attribute::Label(l) if l == record.kid.as_bytes())), "{attrs:?}");
        let secret = [AttributeType::Value, AttributeType::PrivateExponent, AttributeType::Prime1];
        let leaked = session.get_attributes(found[0], &secret).unwrap_or_default();
        assert!(leaked.is_empty(), "{:?} private key readable: {leaked:?}", record.alg);
    }
});

softhsm_test!(fn concurrent_signing_from_many_tasks(env) {
    let signer = Arc::new(signer(env, 4));
    assert_eq!(signer.sessions(), 4);
    let records: Vec<_> = SigningAlg::ALL.iter().filter_map(|alg| generate(&signer, "acme", *alg)).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let signer = Arc::clone(&signer);
            let record = records[i % records.len()].clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..10 {
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
});

softhsm_test!(fn two_signers_in_one_process_share_the_library(env) {
    let a = signer(env, 1);
    let b = signer(env, 1);
    let record = generate(&a, "acme", SigningAlg::ES256).unwrap();
    b.load(&record).unwrap();
    drop(a); // must not finalise the library under b
    sign_and_check(&b, &record);
});

softhsm_test!(fn bad_pin_and_unknown_label_fail_with_reasons(env) {
    let mut config = env.config(1);
    config.pin = Pkcs11Pin::new("wrong-pin-9876");
    let err = Pkcs11Signer::new(config).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("C_Login") && !text.contains("wrong-pin-9876"), "{text}");

    let mut config = env.config(1);
    config.token_label = "no-such-token".into();
    let err = Pkcs11Signer::new(config).unwrap_err();
    assert!(err.to_string().contains("no-such-token"), "{err}");

    // A failed start leaves nothing behind: a good configuration still works.
    let signer = signer(env, 1);
    sign_and_check(&signer, &generate(&signer, "acme", SigningAlg::ES256).unwrap());
});

softhsm_test!(fn dropping_the_signer_stops_its_threads(env) {
    let signer = signer(env, 3);
    let record = generate(&signer, "acme", SigningAlg::ES256).unwrap();
    let pending = signer.sign("acme", &record.kid, b"in flight");
    drop(signer);
    // The request queued before the drop was served (the queue drains before threads stop).
    assert!(block_on(pending).is_ok());
});

softhsm_test!(fn destroy_deletes_the_token_objects(env) {
    let signer = signer(env, 2);
    let doomed = generate(&signer, "acme", SigningAlg::ES256).unwrap();
    let kept = generate(&signer, "acme", SigningAlg::ES384).unwrap();
    block_on(signer.destroy(&doomed)).unwrap();
    // Forgotten at once, and gone from the token: a restarted signer cannot find it...
    assert!(matches!(
        block_on(signer.sign("acme", &doomed.kid, b"x")),
        Err(SignError::UnknownKey { .. })
    ));
    drop(signer);
    let restarted = Pkcs11Signer::new(env.config(1)).unwrap();
    assert!(restarted.load(&doomed).is_err(), "the destroyed key's objects are gone");
    // ...while the other key of the tenant is untouched.
    restarted.load(&kept).unwrap();
    sign_and_check(&restarted, &kept);
    // A software record is not this backend's to destroy.
    let mut software = kept.clone();
    software.material = KeyMaterial::Software { pkcs8: vec![1, 2, 3] };
    assert!(matches!(block_on(restarted.destroy(&software)), Err(SignError::WrongBackend(_))));
});
