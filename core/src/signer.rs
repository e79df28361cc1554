//! The signer interface. Tessera never holds private keys outside the signer: callers build the
//! JWS signing input, name the tenant's key by `kid`, and get the signature back in JWS form
//! (raw `r || s` for ECDSA, PKCS#1 v1.5 for RSA, the 64-byte Ed25519 signature).

use std::future::Future;
use std::pin::Pin;

use crate::model::{KeyRecord, SigningAlg, UnixSecs};

/// A signer operation in flight.
pub type SignerFuture<T> = Pin<Box<dyn Future<Output = Result<T, SignError>> + Send + 'static>>;

/// A signature in flight.
pub type SignFuture = SignerFuture<Vec<u8>>;

/// Why signing, key generation or verification failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// No loaded key has this id in this tenant.
    #[error("unknown key {kid} in tenant {tenant}")]
    UnknownKey {
        /// The tenant.
        tenant: String,
        /// The key id.
        kid: String,
    },
    /// The key record's material does not belong to this signer's backend.
    #[error("key {0} is held by another backend")]
    WrongBackend(String),
    /// The key material does not decode.
    #[error("bad key material for {kid}: {detail}")]
    BadKey {
        /// The key id.
        kid: String,
        /// What was wrong.
        detail: String,
    },
    /// The key's PKCS#8 is sealed under a key-encryption key this node does not hold: none was
    /// configured, or another one. Never retried with a fresh key: the other nodes sharing the
    /// store still sign with this one.
    #[error(
        "key {kid} is sealed under a key-encryption key this node was not given \
         (set TESSERA_KEY_ENCRYPTION_KEY or --key-encryption-key-file to the one the other nodes use)"
    )]
    Sealed {
        /// The key id.
        kid: String,
    },
    /// The backend (HSM, library) failed.
    #[error("signer backend: {0}")]
    Backend(String),
    /// Too many signatures are waiting (an HSM at capacity): refused at once.
    #[error("signer overloaded: {0}")]
    Busy(String),
    /// The signer is shutting down.
    #[error("signer is closed")]
    Closed,
}

/// Signs for every tenant. Implemented by the signer crate (software keys, PKCS#11).
pub trait Signer: Send + Sync + 'static {
    /// Makes a new key for `tenant` (inside the HSM for PKCS#11), loads it, and returns its
    /// record for the caller to store. The record holds no secret for HSM keys.
    fn generate(&self, tenant: &str, alg: SigningAlg, now: UnixSecs) -> SignerFuture<KeyRecord>;

    /// Loads a stored key so it can sign. Idempotent.
    fn load(&self, key: &KeyRecord) -> Result<(), SignError>;

    /// Forgets a key (it left the JWKS).
    fn unload(&self, tenant: &str, kid: &str);

    /// Destroys a key for good and forgets it: an HSM key's token objects are deleted; a
    /// software key only lives in its record, which the caller deletes. Callers delete the
    /// record first, so a crash in between leaves an orphaned token object, never a record
    /// whose key is gone.
    fn destroy(&self, key: &KeyRecord) -> SignerFuture<()>;

    /// Signs a JWS signing input (`BASE64URL(header) || '.' || BASE64URL(payload)`).
    fn sign(&self, tenant: &str, kid: &str, signing_input: &[u8]) -> SignFuture;

    /// Answers once the backend can do work: for an HSM, a worker thread has asked the token
    /// about its session. For the readiness check; software keys are always ready.
    fn ping(&self) -> SignerFuture<()> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Requests waiting for the backend, not yet started (an HSM's queue); 0 when signing runs
    /// inline. For the metrics.
    fn queue_depth(&self) -> usize {
        0
    }

    /// Verifies a JWS signature made by one of `tenant`'s loaded keys, in software from the
    /// public key. `Ok(false)` for a bad signature; an error for an unknown key.
    fn verify(
        &self,
        tenant: &str,
        kid: &str,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<bool, SignError>;
}
