//! Tessera's signer: the one place that holds private keys. Two backends implement
//! [`tessera_core::signer::Signer`]:
//!
//! - [`SoftwareSigner`]: PKCS#8 keys in memory, signed with `aws-lc-rs` inline on the caller's
//!   thread (no thread hop on the token endpoint's hot path).
//! - [`Pkcs11Signer`]: keys generated inside a PKCS#11 token (SoftHSM2 in tests, any HSM in
//!   production) and never extractable; a pool of OS threads, each with its own logged-in
//!   session, does the blocking `C_Sign` calls (the "signer actor").
//!
//! Software keys may be sealed under a key-encryption key before they are stored ([`kek`]).
//!
//! Both verify in software from the public key, and both describe keys to the JWKS as
//! [`tessera_core::jwk::Jwk`] JSON (see [`jwk`]).

#![deny(missing_docs)]

pub mod jwk;
pub mod kek;
mod keys;
pub mod pkcs11;
pub mod public_key;
pub mod softhsm;
pub mod software;
#[cfg(feature = "testing")]
pub mod testing;

pub use kek::{Kek, KekError};
pub use pkcs11::{Pkcs11Config, Pkcs11Pin, Pkcs11Signer};
pub use public_key::PublicKey;
pub use software::SoftwareSigner;

/// The `cryptoki` crate this signer is built on, so that callers (benchmarks, tools) that need
/// raw PKCS#11 access use the same version.
pub use cryptoki;
