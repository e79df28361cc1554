//! The conformance cases, each generic over the [`Backend`]. What they check comes from the
//! `Signer` trait's documentation (core/src/signer.rs) and from what a JWS verifier needs:
//! signatures that verify against the published JWK with an independent library.

use std::sync::Arc;

use tessera_core::model::{KeyRecord, SigningAlg, UnixSecs};
use tessera_core::signer::{SignError, Signer};
use tessera_signer::PublicKey;

use super::Backend;
use crate::common::{
    block_on, check_jwk_shape, sign_and_check, signing_input, verifies_independently, verify_independently,
};

/// The `now` every key is generated at.
const NOW: UnixSecs = 1_700_000_000;

fn unknown(tenant: &str, kid: &str) -> SignError {
    SignError::UnknownKey { tenant: tenant.to_owned(), kid: kid.to_owned() }
}

/// The public key a record publishes, decoded from its JWK.
fn published(record: &KeyRecord) -> PublicKey {
    tessera_signer::jwk::from_jwk_json(&record.public_jwk, &record.kid).unwrap()
}

fn sign(signer: &dyn Signer, record: &KeyRecord, input: &str) -> Vec<u8> {
    block_on(signer.sign(&record.tenant, &record.kid, input.as_bytes())).unwrap()
}

/// Set to `1` to let the cases of an algorithm the backend cannot make pass as skipped; without
/// it they fail.
pub const ALLOW_UNSUPPORTED_ENV: &str = "TESSERA_ALLOW_UNSUPPORTED_ALGS";

/// Generates a key and checks its record, and that `generate` loaded it. When the backend
/// cannot make `alg` keys, fails unless [`ALLOW_UNSUPPORTED_ENV`] is `1`; then checks that
/// `generate` says so with `SignError::Backend` and returns `None` after printing why the case
/// is skipped.
pub fn generate<B: Backend>(
    backend: &B,
    signer: &B::Signer,
    tenant: &str,
    alg: SigningAlg,
) -> Option<KeyRecord> {
    if let Some(reason) = backend.unsupported(signer, alg) {
        // A skip nobody asked for hides a token that lost a mechanism: fail unless told.
        assert!(
            std::env::var(ALLOW_UNSUPPORTED_ENV).is_ok_and(|v| v == "1"),
            "{alg:?}: {reason}; set {ALLOW_UNSUPPORTED_ENV}=1 to skip the cases of algorithms \
             this token cannot make"
        );
        println!("SKIPPED {alg:?}: {reason} ({ALLOW_UNSUPPORTED_ENV}=1)");
        let refused = block_on(signer.generate(tenant, alg, NOW));
        assert!(matches!(refused, Err(SignError::Backend(_))), "{alg:?} not refused: {refused:?}");
        return None;
    }
    let record = block_on(signer.generate(tenant, alg, NOW)).unwrap();
    assert_eq!((record.tenant.as_str(), record.alg, record.created_at), (tenant, alg, NOW));
    assert_eq!((record.retired_at, record.expires_at), (None, None));
    backend.check_material(&record);
    check_jwk_shape(&record);
    assert_eq!(backend.public_key(signer, tenant, &record.kid).unwrap(), published(&record));
    Some(record)
}

/// A key of every algorithm the backend supports.
fn generate_all<B: Backend>(backend: &B, signer: &B::Signer, tenant: &str) -> Vec<KeyRecord> {
    SigningAlg::ALL.iter().filter_map(|alg| generate(backend, signer, tenant, *alg)).collect()
}

/// `generate` makes a key, loads it and publishes its JWK: a signature made through the
/// interface verifies with the signer, and with independent libraries from the JWK alone, and
/// fails for a tampered input or signature.
pub fn generates_a_key_that_verifies<B: Backend>(backend: &B, alg: SigningAlg) {
    let signer = backend.signer();
    let Some(record) = generate(backend, &signer, "acme", alg) else { return };
    sign_and_check(&signer, &record);
}

/// Each message gets its own signature, which verifies for that message only; inputs of any
/// length sign (ECDSA is hashed before an HSM sees it, RSA and Ed25519 take the whole input).
pub fn signatures_differ_per_message<B: Backend>(backend: &B, alg: SigningAlg) {
    let signer = backend.signer();
    let Some(record) = generate(backend, &signer, "acme", alg) else { return };
    let alice = signing_input(&record, "alice");
    let bob = signing_input(&record, "bob");
    let (sig_alice, sig_bob) = (sign(&signer, &record, &alice), sign(&signer, &record, &bob));
    assert_ne!(sig_alice, sig_bob);
    verify_independently(&record, &alice, &sig_alice);
    verify_independently(&record, &bob, &sig_bob);
    assert!(!verifies_independently(&record, &bob, &sig_alice), "a signature verified for another message");
    assert!(!verifies_independently(&record, &alice, &sig_bob), "a signature verified for another message");
    assert!(!signer.verify("acme", &record.kid, bob.as_bytes(), &sig_alice).unwrap());

    // Signing a message again gives another valid signature. RSA PKCS#1 v1.5 and Ed25519 are
    // deterministic, so it is the same one: a backend using another padding or Ed25519 variant
    // would differ here. (ECDSA nonces may be random or derived; either is fine.)
    let again = sign(&signer, &record, &alice);
    verify_independently(&record, &alice, &again);
    if matches!(alg, SigningAlg::RS256 | SigningAlg::EdDSA) {
        assert_eq!(again, sig_alice, "{alg:?} signatures are deterministic");
    }

    let long = signing_input(&record, &"x".repeat(48 * 1024));
    verify_independently(&record, &long, &sign(&signer, &record, &long));
}

/// A record stored by one signer loads into a new one (a restart) as the same key: the same
/// public key, signatures from before the restart verify, and new ones verify against the JWK
/// published before. Loading is idempotent.
pub fn a_stored_record_loads_as_the_same_key<B: Backend>(backend: &B, alg: SigningAlg) {
    let first = backend.signer();
    let Some(record) = generate(backend, &first, "acme", alg) else { return };
    let input = signing_input(&record, "alice");
    let before = sign(&first, &record, &input);
    drop(first); // as a process exit would (PKCS#11: sessions closed, library finalised)

    let restarted = backend.signer();
    assert_eq!(
        block_on(restarted.sign("acme", &record.kid, b"x")).unwrap_err(),
        unknown("acme", &record.kid)
    );
    restarted.load(&record).unwrap();
    restarted.load(&record).unwrap(); // idempotent
    assert_eq!(backend.public_key(&restarted, "acme", &record.kid).unwrap(), published(&record));
    assert!(restarted.verify("acme", &record.kid, input.as_bytes(), &before).unwrap());
    let after = sign(&restarted, &record, &input);
    verify_independently(&record, &input, &after);
    sign_and_check(&restarted, &record);
}

/// Two keys of one tenant and algorithm are two keys: their kids, material and public keys
/// differ, and a signature by one does not verify under the other.
pub fn keys_of_one_tenant_are_distinct<B: Backend>(backend: &B) {
    let signer = backend.signer();
    for alg in SigningAlg::ALL {
        let Some(a) = generate(backend, &signer, "acme", alg) else { continue };
        let b = generate(backend, &signer, "acme", alg).unwrap();
        assert_ne!(a.kid, b.kid);
        assert_ne!(a.material, b.material);
        assert_ne!(published(&a), published(&b));
        let input = signing_input(&a, "alice");
        let sig = sign(&signer, &a, &input);
        assert!(!signer.verify("acme", &b.kid, input.as_bytes(), &sig).unwrap(), "{alg:?}");
        assert!(!verifies_independently(&b, &input, &sig), "{alg:?}: verified with another key's JWK");
        assert!(signer.verify("acme", &a.kid, input.as_bytes(), &sig).unwrap(), "{alg:?}");
    }
}

/// `destroy` forgets the key at once (signing and verifying with it answer `UnknownKey`) and
/// leaves the tenant's other keys, and other tenants' keys, signing, now and after a restart.
/// Destroying a key already destroyed succeeds (nothing is left to delete), so a retry after a
/// crash between the record's deletion and the key's cannot fail.
pub fn destroy_removes_the_key_and_keeps_the_others<B: Backend>(backend: &B) {
    let signer = backend.signer();
    let doomed = generate_all(backend, &signer, "acme");
    let mut kept = generate_all(backend, &signer, "acme");
    kept.push(generate(backend, &signer, "globex", SigningAlg::ES256).unwrap());
    for record in &doomed {
        let input = signing_input(record, "alice");
        let sig = sign(&signer, record, &input);
        block_on(signer.destroy(record)).unwrap();
        let err = block_on(signer.sign("acme", &record.kid, input.as_bytes())).unwrap_err();
        assert_eq!(err, unknown("acme", &record.kid), "{:?}", record.alg);
        let err = signer.verify("acme", &record.kid, input.as_bytes(), &sig).unwrap_err();
        assert_eq!(err, unknown("acme", &record.kid), "{:?}", record.alg);
        block_on(signer.destroy(record)).unwrap();
    }
    for record in &kept {
        sign_and_check(&signer, record);
    }
    drop(signer);
    let restarted = backend.signer();
    for record in &kept {
        restarted.load(record).unwrap();
        sign_and_check(&restarted, record);
    }
}

/// A key id the signer has not loaded, in a tenant it knows or not, is `UnknownKey` naming the
/// tenant and kid asked for, for signing and verifying alike; unloading one is a no-op.
pub fn unknown_keys_are_refused_as_unknown_key<B: Backend>(backend: &B) {
    let signer = backend.signer();
    let record = generate(backend, &signer, "acme", SigningAlg::ES256).unwrap();
    let err = block_on(signer.sign("acme", "no-such-kid", b"x")).unwrap_err();
    assert_eq!(err, unknown("acme", "no-such-kid"));
    assert_eq!(signer.verify("acme", "no-such-kid", b"x", b"y").unwrap_err(), unknown("acme", "no-such-kid"));
    let err = block_on(signer.sign("no-such-tenant", &record.kid, b"x")).unwrap_err();
    assert_eq!(err, unknown("no-such-tenant", &record.kid));
    let err = signer.verify("no-such-tenant", &record.kid, b"x", b"y").unwrap_err();
    assert_eq!(err, unknown("no-such-tenant", &record.kid));

    // Another signer of the same backend has loaded nothing, whatever this one holds.
    let other = backend.signer();
    assert_eq!(block_on(other.sign("acme", &record.kid, b"x")).unwrap_err(), unknown("acme", &record.kid));
    drop(other);

    signer.unload("acme", "no-such-kid");
    signer.unload("no-such-tenant", &record.kid);
    sign_and_check(&signer, &record);
}

/// `unload` forgets one key (it left the JWKS) and nothing else; loading its record again
/// brings it back, as the same key.
pub fn unload_forgets_and_load_restores<B: Backend>(backend: &B) {
    let signer = backend.signer();
    let records = generate_all(backend, &signer, "acme");
    for (i, record) in records.iter().enumerate() {
        let input = signing_input(record, "alice");
        let before = sign(&signer, record, &input);
        signer.unload("acme", &record.kid);
        let err = block_on(signer.sign("acme", &record.kid, input.as_bytes())).unwrap_err();
        assert_eq!(err, unknown("acme", &record.kid), "{:?}", record.alg);
        let err = signer.verify("acme", &record.kid, input.as_bytes(), &before).unwrap_err();
        assert_eq!(err, unknown("acme", &record.kid), "{:?}", record.alg);
        signer.unload("acme", &record.kid); // twice is a no-op
        for other in records.iter().skip(i + 1) {
            sign_and_check(&signer, other);
        }
        signer.load(record).unwrap();
        assert!(signer.verify("acme", &record.kid, input.as_bytes(), &before).unwrap(), "{:?}", record.alg);
        sign_and_check(&signer, record);
    }
}

/// A key belongs to its record's tenant: another tenant cannot sign or verify with its kid,
/// another tenant's key does not verify its signatures, and destroying it leaves the other
/// tenant's keys.
pub fn tenants_are_independent<B: Backend>(backend: &B) {
    let signer = backend.signer();
    let a = generate(backend, &signer, "tenant-a", SigningAlg::ES384).unwrap();
    let b = generate(backend, &signer, "tenant-b", SigningAlg::ES384).unwrap();
    let input = signing_input(&a, "alice");
    let sig = sign(&signer, &a, &input);

    let err = block_on(signer.sign("tenant-b", &a.kid, input.as_bytes())).unwrap_err();
    assert_eq!(err, unknown("tenant-b", &a.kid));
    assert_eq!(
        signer.verify("tenant-b", &a.kid, input.as_bytes(), &sig).unwrap_err(),
        unknown("tenant-b", &a.kid)
    );
    assert!(!signer.verify("tenant-b", &b.kid, input.as_bytes(), &sig).unwrap());
    assert!(signer.verify("tenant-a", &a.kid, input.as_bytes(), &sig).unwrap());

    // Loading the record again does not make it any other tenant's.
    signer.load(&a).unwrap();
    let err = block_on(signer.sign("tenant-b", &a.kid, input.as_bytes())).unwrap_err();
    assert_eq!(err, unknown("tenant-b", &a.kid));

    signer.unload("tenant-b", &a.kid);
    sign_and_check(&signer, &a);
    block_on(signer.destroy(&a)).unwrap();
    assert_eq!(block_on(signer.sign("tenant-a", &a.kid, b"x")).unwrap_err(), unknown("tenant-a", &a.kid));
    sign_and_check(&signer, &b);
}

/// A record whose material belongs to another backend is `WrongBackend` and loads nothing.
pub fn records_of_another_backend_are_refused<B: Backend>(backend: &B) {
    let signer = backend.signer();
    let a = generate(backend, &signer, "acme", SigningAlg::ES256).unwrap();
    let foreign = KeyRecord { material: backend.foreign_material(), ..a.clone() };
    assert_eq!(signer.load(&foreign), Err(SignError::WrongBackend(a.kid.clone())));
    let new_kid = "AAAAAAAAAAAAAAAAAAAAAA";
    let foreign_new = KeyRecord { kid: new_kid.into(), ..foreign };
    assert_eq!(signer.load(&foreign_new), Err(SignError::WrongBackend(new_kid.into())));
    assert_eq!(block_on(signer.sign("acme", new_kid, b"x")).unwrap_err(), unknown("acme", new_kid));
    // The refused loads left the loaded key as it was.
    sign_and_check(&signer, &a);
}

/// A record whose JWK is not its key's (another key's JWK, another algorithm, JSON that does
/// not parse) is `BadKey` naming the kid, since publishing it would make every token it signs
/// unverifiable; the refused load leaves the loaded key as it was.
pub fn records_whose_jwk_does_not_match_are_refused<B: Backend>(backend: &B) {
    let signer = backend.signer();
    let a = generate(backend, &signer, "acme", SigningAlg::ES256).unwrap();
    let b = generate(backend, &signer, "acme", SigningAlg::ES256).unwrap();
    let is_bad_key =
        |result: Result<(), SignError>| matches!(result, Err(SignError::BadKey { kid, .. }) if kid == a.kid);

    let swapped = KeyRecord { public_jwk: b.public_jwk.replace(&b.kid, &a.kid), ..a.clone() };
    assert!(is_bad_key(signer.load(&swapped)), "another key's JWK was accepted");
    let wrong_alg = KeyRecord { alg: SigningAlg::ES384, ..a.clone() };
    assert!(is_bad_key(signer.load(&wrong_alg)), "a record claiming another algorithm was accepted");
    let corrupt = KeyRecord { public_jwk: r#"{"kty":"EC","crv":"P-256""#.into(), ..a.clone() };
    assert!(is_bad_key(signer.load(&corrupt)), "a JWK that does not parse was accepted");

    assert_eq!(backend.public_key(&signer, "acme", &a.kid).unwrap(), published(&a));
    sign_and_check(&signer, &a);
}

/// Many tasks on a multi-threaded runtime sign at once with keys of every algorithm and two
/// tenants; every signature verifies with the signer, and a quarter of them, spread over every
/// task, independently.
pub fn many_concurrent_signatures_all_verify<B: Backend>(backend: &B) {
    let signer = Arc::new(backend.signer());
    let mut records = generate_all(backend, &signer, "acme");
    records.push(generate(backend, &signer, "globex", SigningAlg::ES256).unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    let signed = runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..64 {
            let signer = Arc::clone(&signer);
            let record = records[i % records.len()].clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..16 {
                    let input = signing_input(&record, &format!("task {i} message {j}"));
                    let sig = signer.sign(&record.tenant, &record.kid, input.as_bytes()).await.unwrap();
                    assert!(signer.verify(&record.tenant, &record.kid, input.as_bytes(), &sig).unwrap());
                    // Independently too, for a sample: RustCrypto unoptimised (a test build)
                    // takes milliseconds per verification.
                    if j % 4 == 0 {
                        verify_independently(&record, &input, &sig);
                    }
                }
                16
            }));
        }
        let mut signed = 0;
        for task in tasks {
            signed += task.await.unwrap();
        }
        signed
    });
    assert_eq!(signed, 64 * 16);
}
