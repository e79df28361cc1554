//! Software keys: PKCS#8 private keys held in memory and used through `aws-lc-rs`, which signs
//! ES384 about twice as fast as the RustCrypto `p384` crate.
//!
//! Given a key-encryption key ([`Kek`]), the signer seals the keys it generates before they
//! are stored and opens sealed keys as it loads them. Plain keys stored before the nodes had
//! one still load: they leave the store as rotation retires them and pruning deletes them.
//! Without a KEK, a sealed key is refused with [`SignError::Sealed`], never replaced.
//!
//! Signing runs inline on the caller's thread and returns an already-completed future: a
//! signature costs tens of microseconds, less than handing it to another thread and back, and
//! the token endpoint must reach 12,000 ES384 tokens a second on one core.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm,
    Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg, UnixSecs};
use tessera_core::signer::{SignError, SignFuture, Signer, SignerFuture};

use crate::jwk;
use crate::kek::{Kek, sealed_header, wipe};
use crate::keys::{KeyMap, new_kid};
use crate::public_key::PublicKey;

/// Software signing keys for every tenant. Cheap to share: wrap it in an `Arc`.
pub struct SoftwareSigner {
    keys: Arc<KeyMap<SoftwareKey>>,
    kek: Option<Kek>,
}

enum Private {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

struct SoftwareKey {
    private: Private,
    public: PublicKey,
}

impl SoftwareSigner {
    /// A signer with no keys loaded and no key-encryption key: it stores keys in plain PKCS#8
    /// and cannot load sealed ones.
    pub fn new() -> Self {
        Self::with_kek(None)
    }

    /// A signer with no keys loaded that seals the keys it generates under `kek`, if given, and
    /// opens keys sealed under it.
    pub fn with_kek(kek: Option<Kek>) -> Self {
        Self { keys: Arc::new(KeyMap::new()), kek }
    }

    /// The private half of a stored key as PKCS#8: opened if sealed.
    fn pkcs8_of<'a>(&self, record: &'a KeyRecord) -> Result<Pkcs8<'a>, SignError> {
        match &record.material {
            KeyMaterial::Software { pkcs8 } => Ok(Pkcs8::Stored(pkcs8)),
            KeyMaterial::SealedSoftware { sealed } => {
                // Damage is reported as damage even by a node without a KEK.
                sealed_header(&record.kid, sealed)?;
                let kek = self.kek.as_ref().ok_or_else(|| SignError::Sealed { kid: record.kid.clone() })?;
                Ok(Pkcs8::Opened(kek.open(&record.tenant, &record.kid, record.alg, sealed)?))
            }
            KeyMaterial::Pkcs11 { .. } => Err(SignError::WrongBackend(record.kid.clone())),
        }
    }

    /// Signs at once on this thread. [`Signer::sign`] wraps this in a ready future; callers that
    /// know they hold a `SoftwareSigner` can skip the boxing.
    pub fn sign_now(&self, tenant: &str, kid: &str, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        let key = self.keys.get(tenant, kid)?;
        let failed = || SignError::Backend(format!("aws-lc failed to sign with {kid}"));
        match &key.private {
            Private::Ec(pair) => {
                // aws-lc ignores the rng argument and draws nonces itself (RFC 6979 hedged).
                let sig = pair.sign(&SystemRandom::new(), signing_input).map_err(|_| failed())?;
                Ok(sig.as_ref().to_vec())
            }
            Private::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input, &mut sig)
                    .map_err(|_| failed())?;
                Ok(sig)
            }
            Private::Ed25519(pair) => Ok(pair.sign(signing_input).as_ref().to_vec()),
        }
    }

    /// The public key of a loaded key.
    pub fn public_key(&self, tenant: &str, kid: &str) -> Result<PublicKey, SignError> {
        Ok(self.keys.get(tenant, kid)?.public.clone())
    }
}

/// PKCS#8 borrowed from a plain record, or decrypted from a sealed one and wiped when dropped.
enum Pkcs8<'a> {
    Stored(&'a [u8]),
    Opened(Vec<u8>),
}

impl Pkcs8<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Stored(der) => der,
            Self::Opened(der) => der,
        }
    }
}

impl Drop for Pkcs8<'_> {
    fn drop(&mut self) {
        if let Self::Opened(der) = self {
            wipe(der);
        }
    }
}

impl Default for SoftwareSigner {
    fn default() -> Self {
        Self::new()
    }
}

fn ecdsa_alg(alg: SigningAlg) -> Option<&'static EcdsaSigningAlgorithm> {
    match alg {
        SigningAlg::ES256 => Some(&ECDSA_P256_SHA256_FIXED_SIGNING),
        SigningAlg::ES384 => Some(&ECDSA_P384_SHA384_FIXED_SIGNING),
        SigningAlg::RS256 | SigningAlg::EdDSA => None,
    }
}

/// Makes a key pair and returns its PKCS#8 encoding; the key is then loaded from that encoding
/// exactly as a stored record would be, so a freshly generated key and a restarted one take the
/// same path.
fn generate_pkcs8(alg: SigningAlg) -> Result<Vec<u8>, SignError> {
    let failed = |what: &str| SignError::Backend(format!("aws-lc failed to {what} a {} key", alg.as_str()));
    let der = match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => {
            let ecdsa = ecdsa_alg(alg).ok_or_else(|| failed("generate"))?;
            let pair = EcdsaKeyPair::generate(ecdsa).map_err(|_| failed("generate"))?;
            pair.to_pkcs8v1().map_err(|_| failed("encode"))?.as_ref().to_vec()
        }
        SigningAlg::RS256 => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("generate"))?;
            pair.as_der().map_err(|_| failed("encode"))?.as_ref().to_vec()
        }
        SigningAlg::EdDSA => {
            let pair = Ed25519KeyPair::generate().map_err(|_| failed("generate"))?;
            pair.to_pkcs8().map_err(|_| failed("encode"))?.as_ref().to_vec()
        }
    };
    Ok(der)
}

/// Parses PKCS#8 for `alg`; a key of another type is refused, whatever the record claims.
fn parse_pkcs8(kid: &str, alg: SigningAlg, pkcs8: &[u8]) -> Result<SoftwareKey, SignError> {
    let bad = |detail: String| SignError::BadKey { kid: kid.to_owned(), detail };
    let rejected =
        |e: aws_lc_rs::error::KeyRejected| bad(format!("PKCS#8 for {} rejected: {e}", alg.as_str()));
    let (private, public) = match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => {
            let ecdsa = ecdsa_alg(alg).ok_or_else(|| bad("not an EC algorithm".into()))?;
            let pair = EcdsaKeyPair::from_pkcs8(ecdsa, pkcs8).map_err(rejected)?;
            let public = PublicKey::ec(alg, pair.public_key().as_ref()).map_err(bad)?;
            (Private::Ec(pair), public)
        }
        SigningAlg::RS256 => {
            let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(rejected)?;
            let pk = pair.public_key();
            let public = PublicKey::rsa(
                pk.modulus().big_endian_without_leading_zero(),
                pk.exponent().big_endian_without_leading_zero(),
            )
            .map_err(bad)?;
            (Private::Rsa(pair), public)
        }
        SigningAlg::EdDSA => {
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(rejected)?;
            let public = PublicKey::ed25519(pair.public_key().as_ref()).map_err(bad)?;
            (Private::Ed25519(pair), public)
        }
    };
    Ok(SoftwareKey { private, public })
}

impl SoftwareSigner {
    fn generate_now(&self, tenant: &str, alg: SigningAlg, now: UnixSecs) -> Result<KeyRecord, SignError> {
        let kid = new_kid()?;
        let mut pkcs8 = generate_pkcs8(alg)?;
        let key = parse_pkcs8(&kid, alg, &pkcs8)?;
        let material = match &self.kek {
            None => KeyMaterial::Software { pkcs8 },
            Some(kek) => {
                let sealed = kek.seal(tenant, &kid, alg, &pkcs8);
                wipe(&mut pkcs8);
                KeyMaterial::SealedSoftware { sealed: sealed? }
            }
        };
        let record = KeyRecord {
            tenant: tenant.to_owned(),
            public_jwk: jwk::to_jwk_json(&key.public, &kid),
            kid,
            alg,
            material,
            created_at: now,
            retired_at: None,
            expires_at: None,
        };
        self.keys.insert(&record.tenant, &record.kid, Arc::new(key));
        Ok(record)
    }
}

impl Signer for SoftwareSigner {
    fn generate(&self, tenant: &str, alg: SigningAlg, now: UnixSecs) -> SignerFuture<KeyRecord> {
        if alg != SigningAlg::RS256 {
            return Box::pin(std::future::ready(self.generate_now(tenant, alg, now)));
        }
        // RSA key generation takes tens to hundreds of milliseconds (prime search): too long
        // for an async worker, so it gets a thread of its own. Rotation is rare; a pool would
        // be idle nearly always.
        let signer = SoftwareSigner { keys: Arc::clone(&self.keys), kek: self.kek.clone() };
        let tenant = tenant.to_owned();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new().name("tessera-rsa-keygen".into()).spawn(move || {
            let _ = tx.send(signer.generate_now(&tenant, alg, now));
        });
        Box::pin(async move {
            spawned.map_err(|e| SignError::Backend(format!("cannot start key generation thread: {e}")))?;
            rx.await.unwrap_or_else(|_| Err(SignError::Backend("key generation thread died".into())))
        })
    }

    fn load(&self, record: &KeyRecord) -> Result<(), SignError> {
        let key = parse_pkcs8(&record.kid, record.alg, self.pkcs8_of(record)?.bytes())?;
        let stored = jwk::from_jwk_json(&record.public_jwk, &record.kid)
            .map_err(|detail| SignError::BadKey { kid: record.kid.clone(), detail })?;
        if stored != key.public {
            return Err(SignError::BadKey {
                kid: record.kid.clone(),
                detail: "public_jwk does not match the private key".into(),
            });
        }
        self.keys.insert(&record.tenant, &record.kid, Arc::new(key));
        Ok(())
    }

    fn unload(&self, tenant: &str, kid: &str) {
        self.keys.remove(tenant, kid);
    }

    fn destroy(&self, record: &KeyRecord) -> SignerFuture<()> {
        // The private key exists only in the record (deleted by the caller) and in memory.
        self.keys.remove(&record.tenant, &record.kid);
        Box::pin(std::future::ready(Ok(())))
    }

    fn sign(&self, tenant: &str, kid: &str, signing_input: &[u8]) -> SignFuture {
        Box::pin(std::future::ready(self.sign_now(tenant, kid, signing_input)))
    }

    fn verify(
        &self,
        tenant: &str,
        kid: &str,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<bool, SignError> {
        Ok(self.keys.get(tenant, kid)?.public.verify(signing_input, signature))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pkcs8_of_one_algorithm_is_refused_for_another() {
        let es256 = generate_pkcs8(SigningAlg::ES256).unwrap();
        assert!(parse_pkcs8("k", SigningAlg::ES256, &es256).is_ok());
        for alg in [SigningAlg::ES384, SigningAlg::RS256, SigningAlg::EdDSA] {
            let err = parse_pkcs8("k", alg, &es256).err().unwrap();
            assert!(matches!(err, SignError::BadKey { .. }), "{alg:?}: {err:?}");
        }
        assert!(matches!(parse_pkcs8("k", SigningAlg::ES256, b"junk"), Err(SignError::BadKey { .. })));
    }

    #[test]
    fn signatures_have_jws_sizes() {
        let signer = SoftwareSigner::new();
        for (alg, len) in [(SigningAlg::ES256, 64), (SigningAlg::ES384, 96), (SigningAlg::EdDSA, 64)] {
            let record = signer.generate_now("t", alg, 0).unwrap();
            assert_eq!(signer.sign_now("t", &record.kid, b"x").unwrap().len(), len, "{alg:?}");
        }
    }
}
