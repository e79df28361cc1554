//! The PKCS#11 backend against SoftHSM2: the conformance suite (`conformance::cases`), then
//! what only a token does (object attributes, PINs, labels, the library shared in a process).
//! Each test runs in a child process started with `SOFTHSM2_CONF` pointing at a token of its
//! own: see `tessera_signer::testing`.

#![allow(clippy::unwrap_used)]

mod common;
mod conformance;

use common::{block_on, sign_and_check};
use conformance::{Backend, signer_conformance};
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg};
use tessera_core::signer::{SignError, Signer};
use tessera_signer::cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use tessera_signer::cryptoki::object::{Attribute, AttributeType, ObjectClass};
use tessera_signer::cryptoki::session::UserType;
use tessera_signer::cryptoki::types::AuthPin;
use tessera_signer::pkcs11::KEY_ID_LEN;
use tessera_signer::testing::SoftHsmEnv;
use tessera_signer::{Pkcs11Pin, Pkcs11Signer, PublicKey, softhsm_test};

/// The SoftHSM2 token of the test's process: every signer made opens it again, so a second
/// signer after the first is dropped is a restart.
struct Pkcs11Backend {
    env: SoftHsmEnv,
}

impl Pkcs11Backend {
    fn new(env: &SoftHsmEnv) -> Self {
        Self { env: env.clone() }
    }
}

impl Backend for Pkcs11Backend {
    type Signer = Pkcs11Signer;

    /// Four sessions, so that concurrent cases run on several at once.
    fn signer(&self) -> Pkcs11Signer {
        signer(&self.env, 4)
    }

    fn unsupported(&self, signer: &Pkcs11Signer, alg: SigningAlg) -> Option<String> {
        (!signer.supports(alg)).then(|| {
            format!("this SoftHSM2 token lacks the mechanisms {} needs (built without Ed25519)", alg.as_str())
        })
    }

    fn check_material(&self, record: &KeyRecord) {
        assert!(matches!(&record.material, KeyMaterial::Pkcs11 { id } if id.len() == KEY_ID_LEN));
    }

    fn foreign_material(&self) -> KeyMaterial {
        KeyMaterial::Software { pkcs8: vec![0; 8] }
    }

    fn public_key(&self, signer: &Pkcs11Signer, tenant: &str, kid: &str) -> Result<PublicKey, SignError> {
        signer.public_key(tenant, kid)
    }
}

signer_conformance!(softhsm_test, |env| Pkcs11Backend::new(env));

fn signer(env: &SoftHsmEnv, sessions: usize) -> Pkcs11Signer {
    Pkcs11Signer::new(env.config(sessions)).unwrap()
}

/// Generates a key through the conformance helper (which checks the record), or `None` when
/// the token cannot make `alg` keys.
fn generate(env: &SoftHsmEnv, signer: &Pkcs11Signer, tenant: &str, alg: SigningAlg) -> Option<KeyRecord> {
    conformance::cases::generate(&Pkcs11Backend::new(env), signer, tenant, alg)
}

softhsm_test!(fn records_that_do_not_match_the_token_are_refused(env) {
    let signer = signer(env, 1);
    let a = generate(env, &signer, "acme", SigningAlg::ES256).unwrap();

    let missing = KeyRecord { material: KeyMaterial::Pkcs11 { id: vec![7; KEY_ID_LEN] }, ..a.clone() };
    let err = signer.load(&missing).unwrap_err();
    assert!(matches!(&err, SignError::BadKey { detail, .. } if detail.contains("no private key")), "{err:?}");

    let es384 = generate(env, &signer, "acme", SigningAlg::ES384).unwrap();
    let wrong_curve = KeyRecord { material: es384.material.clone(), ..a.clone() };
    assert!(matches!(signer.load(&wrong_curve), Err(SignError::BadKey { .. })));
});

softhsm_test!(fn private_keys_are_sensitive_and_never_extractable(env) {
    let signer = signer(env, 1);
    let records: Vec<_> = SigningAlg::ALL.iter().filter_map(|alg| generate(env, &signer, "acme", *alg)).collect();
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

softhsm_test!(fn two_signers_in_one_process_share_the_library(env) {
    let a = signer(env, 1);
    let b = signer(env, 1);
    let record = generate(env, &a, "acme", SigningAlg::ES256).unwrap();
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
    sign_and_check(&signer, &generate(env, &signer, "acme", SigningAlg::ES256).unwrap());
});

softhsm_test!(fn dropping_the_signer_stops_its_threads(env) {
    let signer = signer(env, 3);
    assert_eq!(signer.sessions(), 3);
    let record = generate(env, &signer, "acme", SigningAlg::ES256).unwrap();
    let pending = signer.sign("acme", &record.kid, b"in flight");
    drop(signer);
    // The request queued before the drop was served (the queue drains before threads stop).
    assert!(block_on(pending).is_ok());
});

softhsm_test!(fn destroy_deletes_the_token_objects(env) {
    // The suite checks that a destroyed key is forgotten and the others kept; here, that its
    // objects are gone from the token, which a software key (living in its record) has not.
    let signer = signer(env, 2);
    let doomed = generate(env, &signer, "acme", SigningAlg::ES256).unwrap();
    let kept = generate(env, &signer, "acme", SigningAlg::ES384).unwrap();
    block_on(signer.destroy(&doomed)).unwrap();
    drop(signer);
    let restarted = Pkcs11Signer::new(env.config(1)).unwrap();
    let err = restarted.load(&doomed).unwrap_err();
    assert!(
        matches!(&err, SignError::BadKey { detail, .. } if detail.contains("no private key")),
        "the destroyed key's objects are gone: {err:?}"
    );
    // ...while the other key of the tenant is untouched.
    restarted.load(&kept).unwrap();
    sign_and_check(&restarted, &kept);
    // A software record is not this backend's to destroy.
    let mut software = kept.clone();
    software.material = KeyMaterial::Software { pkcs8: vec![1, 2, 3] };
    assert!(matches!(block_on(restarted.destroy(&software)), Err(SignError::WrongBackend(_))));
    // The refusal destroyed nothing: the key still loads from the token.
    let again = Pkcs11Signer::new(env.config(1)).unwrap();
    again.load(&kept).unwrap();
});
