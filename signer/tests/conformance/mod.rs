//! The signer conformance suite: what every backend of `tessera_core::signer::Signer` must do,
//! written once, generic over the backend, in the manner of rustls's provider test suite.
//!
//! A backend's test file implements [`Backend`] and invokes [`signer_conformance!`], which
//! expands to a module `suite` with one `#[test]` per case; each case is a function in
//! [`cases`]. Behaviour that only one backend has (token object attributes, PIN errors, the slot
//! found by label, PKCS#8 parsing) is tested in that backend's own file, not here.
//!
//! Skips: a case that needs an algorithm the backend cannot make keys for (Ed25519 on a SoftHSM2
//! built without it) checks that `generate` refuses it with `SignError::Backend` and prints
//! `SKIPPED` with the backend's reason. Nothing else is ever skipped.

#![allow(clippy::unwrap_used, dead_code)]

pub mod cases;

use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg};
use tessera_core::signer::{SignError, Signer};
use tessera_signer::PublicKey;

/// A signer backend under test.
pub trait Backend {
    /// The signer type.
    type Signer: Signer;

    /// A new signer over this backend's key store: keys made by a signer that was dropped are
    /// there for the next one to load, as after a restart.
    fn signer(&self) -> Self::Signer;

    /// Why `signer` cannot make keys for `alg`, when it cannot.
    fn unsupported(&self, signer: &Self::Signer, alg: SigningAlg) -> Option<String>;

    /// Checks that a generated record's material is this backend's kind.
    fn check_material(&self, record: &KeyRecord);

    /// Material of another backend, which `load` must refuse as `WrongBackend`.
    fn foreign_material(&self) -> KeyMaterial;

    /// The public key `signer` holds for a loaded key. Both backends have it as an inherent
    /// method; the trait does not, since verifying is its only public-key operation.
    fn public_key(&self, signer: &Self::Signer, tenant: &str, kid: &str) -> Result<PublicKey, SignError>;
}

/// Declares a plain `#[test]` in the shape of `tessera_signer::softhsm_test!`, for backends that
/// need no process of their own. The body gets `&()` as its environment.
#[allow(unused_macros)] // the PKCS#11 binary declares its tests with `softhsm_test!`
macro_rules! plain_test {
    ($(#[$meta:meta])* fn $name:ident($env:ident) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            let $env = &();
            $body
        }
    };
}
#[allow(unused_imports)] // likewise
pub(crate) use plain_test;

/// Expands to a module `suite` with one test per conformance case.
///
/// `$test` is the macro that declares a test, `$test!(fn name(env) { body })`: `plain_test`, or
/// `softhsm_test` to run each case in a process of its own with a fresh SoftHSM2 token.
/// `|$env| $backend` makes the [`Backend`] from the environment that macro hands the body.
///
/// ```ignore
/// signer_conformance!(plain_test, |_env| SoftwareBackend);
/// signer_conformance!(softhsm_test, |env| Pkcs11Backend::new(env));
/// ```
macro_rules! signer_conformance {
    ($test:ident, |$env:ident| $backend:expr) => {
        mod suite {
            use super::*;
            use tessera_core::model::SigningAlg::{ES256, ES384, EdDSA, RS256};

            use crate::conformance::cases;

            crate::conformance::signer_conformance!(@cases $test, $env, $backend;
                es256_generates_a_key_that_verifies => generates_a_key_that_verifies(ES256),
                es384_generates_a_key_that_verifies => generates_a_key_that_verifies(ES384),
                rs256_generates_a_key_that_verifies => generates_a_key_that_verifies(RS256),
                eddsa_generates_a_key_that_verifies => generates_a_key_that_verifies(EdDSA),
                es256_signatures_differ_per_message => signatures_differ_per_message(ES256),
                es384_signatures_differ_per_message => signatures_differ_per_message(ES384),
                rs256_signatures_differ_per_message => signatures_differ_per_message(RS256),
                eddsa_signatures_differ_per_message => signatures_differ_per_message(EdDSA),
                es256_a_stored_record_loads_as_the_same_key => a_stored_record_loads_as_the_same_key(ES256),
                es384_a_stored_record_loads_as_the_same_key => a_stored_record_loads_as_the_same_key(ES384),
                rs256_a_stored_record_loads_as_the_same_key => a_stored_record_loads_as_the_same_key(RS256),
                eddsa_a_stored_record_loads_as_the_same_key => a_stored_record_loads_as_the_same_key(EdDSA),
                keys_of_one_tenant_are_distinct => keys_of_one_tenant_are_distinct(),
                destroy_removes_the_key_and_keeps_the_others => destroy_removes_the_key_and_keeps_the_others(),
                unknown_keys_are_refused_as_unknown_key => unknown_keys_are_refused_as_unknown_key(),
                unload_forgets_and_load_restores => unload_forgets_and_load_restores(),
                tenants_are_independent => tenants_are_independent(),
                records_of_another_backend_are_refused => records_of_another_backend_are_refused(),
                records_whose_jwk_does_not_match_are_refused => records_whose_jwk_does_not_match_are_refused(),
                many_concurrent_signatures_all_verify => many_concurrent_signatures_all_verify(),
            );
        }
    };
    (@cases $test:ident, $env:ident, $backend:expr; $($name:ident => $case:ident($($arg:expr)?),)*) => {
        $(
            $test!(fn $name($env) { cases::$case(&$backend $(, $arg)?) });
        )*
    };
}
pub(crate) use signer_conformance;
