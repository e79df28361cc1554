//! `Signer` for [`Pkcs11Signer`]: each operation becomes a job for the session pool, except
//! `verify` (in software, from the cached public key) and `unload` (the key table only).

use std::sync::Arc;

use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg, UnixSecs};
use tessera_core::signer::{SignError, SignFuture, Signer, SignerFuture};

use super::Pkcs11Signer;
use super::mechanism::{required_mechanisms, to_be_signed};
use super::token::{destroy_key, find_key, generate_key};
use crate::jwk;

impl Signer for Pkcs11Signer {
    fn generate(&self, tenant: &str, alg: SigningAlg, now: UnixSecs) -> SignerFuture<KeyRecord> {
        if !self.supports(alg) {
            let reason = format!(
                "the token does not support {} (mechanisms {:?} needed)",
                alg.as_str(),
                required_mechanisms(alg)
            );
            return Box::pin(std::future::ready(Err(SignError::Backend(reason))));
        }
        let keys = Arc::clone(&self.keys);
        let tenant = tenant.to_owned();
        self.pool.run(move |session| {
            session.and_then(|s| generate_key(s, &tenant, alg, now)).map(|(record, key)| {
                // Loaded here, not in the future: a caller that stops waiting still finds the
                // key loaded, and the token's copy is never unaccounted for in this process.
                keys.insert(&record.tenant, &record.kid, Arc::new(key));
                record
            })
        })
    }

    /// Finds the key's objects by `CKA_ID` (blocking for one round trip to the token: call it
    /// at start-up or from a blocking context) and checks the token's public key against the
    /// record's JWK.
    fn load(&self, record: &KeyRecord) -> Result<(), SignError> {
        let KeyMaterial::Pkcs11 { id } = &record.material else {
            return Err(SignError::WrongBackend(record.kid.clone()));
        };
        let bad = |detail: String| SignError::BadKey { kid: record.kid.clone(), detail };
        let stored = jwk::from_jwk_json(&record.public_jwk, &record.kid).map_err(bad)?;
        if stored.alg() != record.alg {
            return Err(bad(format!(
                "public_jwk is a {} key, record says {}",
                stored.alg().as_str(),
                record.alg.as_str()
            )));
        }
        let id = id.clone();
        let alg = record.alg;
        let key = self.pool.run_blocking(move |session| Ok(find_key(session?, &id, alg, stored)))?;
        let key = key.map_err(bad)?;
        self.keys.insert(&record.tenant, &record.kid, Arc::new(key));
        Ok(())
    }

    fn unload(&self, tenant: &str, kid: &str) {
        self.keys.remove(tenant, kid);
    }

    fn destroy(&self, record: &KeyRecord) -> SignerFuture<()> {
        self.keys.remove(&record.tenant, &record.kid);
        let KeyMaterial::Pkcs11 { id } = &record.material else {
            return Box::pin(std::future::ready(Err(SignError::WrongBackend(record.kid.clone()))));
        };
        let id = id.clone();
        self.pool.run(move |session| session.and_then(|s| destroy_key(s, &id)))
    }

    fn sign(&self, tenant: &str, kid: &str, signing_input: &[u8]) -> SignFuture {
        let key = match self.keys.get(tenant, kid) {
            Ok(key) => key,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let alg = key.public.alg();
        self.pool.sign(key.handle, alg, to_be_signed(alg, signing_input))
    }

    fn ping(&self) -> SignerFuture<()> {
        // C_GetSessionInfo: the cheapest call that needs a live, logged-in session on a worker.
        self.pool.run(|session| {
            session?.get_session_info().map_err(super::library::ck("C_GetSessionInfo"))?;
            Ok(())
        })
    }

    fn queue_depth(&self) -> usize {
        self.pool.queued()
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
