//! PKCS#11 keys: generated inside the token, marked sensitive and non-extractable, and used
//! through `cryptoki` by the signer actor, a pool of OS threads each holding its own
//! logged-in R/W session.
//!
//! One file per concern:
//! - `config`: how to reach the token (module, label, PIN, pool size).
//! - `library`: the module, initialised once per process with OS locking; slots and sessions.
//! - `pool`: the session worker threads and their bounded queue (PKCS#11 calls block, so they
//!   never run on an async worker).
//! - `token`: key objects in the token (generation, lookup by `CKA_ID`, attributes,
//!   destruction); handles are found once and cached.
//! - `mechanism`: per algorithm, the mechanisms, key type and what `C_Sign` is given (ECDSA is
//!   hashed in software and signed with `CKM_ECDSA`).
//! - `signer`: the [`Signer`](tessera_core::signer::Signer) impl tying them together.
//!
//! This file holds [`Pkcs11Signer`] itself: start-up and the PKCS#11-only inspection methods.

mod config;
mod library;
mod mechanism;
mod pool;
mod signer;
mod token;

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;

use cryptoki::mechanism::MechanismType;
use cryptoki::slot::Slot;
use tessera_core::model::SigningAlg;
use tessera_core::signer::SignError;

pub use config::{DEFAULT_MAX_QUEUED_JOBS, Pkcs11Config, Pkcs11Pin};
pub use token::{KEY_ID_LEN, KeyAttributes};

use crate::keys::KeyMap;
use crate::public_key::PublicKey;
use library::{Library, ck, find_slot};
use pool::Pool;
use token::{HsmKey, read_security_attributes};

/// A PKCS#11 signer for every tenant. `Send + Sync`; dropping it stops its threads (after the
/// requests they are running) and closes their sessions.
pub struct Pkcs11Signer {
    // Field order is drop order: the pool's sessions close before the library is finalised.
    pool: Pool,
    keys: Arc<KeyMap<HsmKey>>,
    library: Arc<Library>,
    slot: Slot,
    mechanisms: Vec<MechanismType>,
}

impl Pkcs11Signer {
    /// Loads the module, finds the token by label, and opens and logs in the session pool.
    /// Blocks while it does so: call it at start-up, not on an async worker.
    pub fn new(config: Pkcs11Config) -> Result<Self, SignError> {
        let library = Library::open(&config.module_path)?;
        let slot = find_slot(&library.pkcs11, &config.token_label)?;
        let mechanisms = library.pkcs11.get_mechanism_list(slot).map_err(ck("C_GetMechanismList"))?;
        let sessions = config
            .sessions
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get);
        let pool = Pool::start(&library.pkcs11, slot, config.pin.0, sessions, config.max_queued_jobs)?;
        Ok(Self { pool, keys: Arc::new(KeyMap::new()), library, slot, mechanisms })
    }

    /// Whether the token offers the mechanisms `alg` needs (Ed25519 needs PKCS#11 3.0
    /// `CKM_EC_EDWARDS_KEY_PAIR_GEN` and `CKM_EDDSA`, which SoftHSM2 has only when built with
    /// an OpenSSL that supports Ed25519).
    pub fn supports(&self, alg: SigningAlg) -> bool {
        mechanism::required_mechanisms(alg).iter().all(|m| self.mechanisms.contains(m))
    }

    /// Number of sessions (threads) in the pool.
    pub fn sessions(&self) -> usize {
        self.pool.sessions()
    }

    /// The public key of a loaded key.
    pub fn public_key(&self, tenant: &str, kid: &str) -> Result<PublicKey, SignError> {
        Ok(self.keys.get(tenant, kid)?.public.clone())
    }

    /// Reads back the security attributes of a loaded key's private key object. Blocks for
    /// one round trip to the token.
    pub fn private_key_attributes(&self, tenant: &str, kid: &str) -> Result<KeyAttributes, SignError> {
        let handle = self.keys.get(tenant, kid)?.handle;
        self.pool.run_blocking(move |session| read_security_attributes(session, handle))
    }
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("module", &self.library.path)
            .field("slot", &self.slot)
            .field("sessions", &self.pool.sessions())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Pkcs11Signer>();
    }
}
