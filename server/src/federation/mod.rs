//! Tessera as a relying party of a tenant's external OpenID providers (identity brokering):
//! what the browser pages (`crate::web::federated`) and the admin API (`crate::admin::idps`)
//! share. The protocol's decisions are `tessera_core::federation`'s; here are the server's
//! parts: the keys that seal the tenant's client secrets at the upstream and the pending
//! sign-in cookie ([`Federation`], with `crate::sealing`), the calls to the upstream (`upstream`), and the local user
//! an upstream account becomes (`accounts`).
//!
//! Both keys are derived from the page key (`web::PageKey::derive`), which on a shared store is
//! derived from the key-encryption key: every node seals and opens alike, and the database
//! alone holds no usable client secret.

pub mod accounts;
pub mod pending;
pub mod refresh;
pub mod upstream;

use crate::sealing::{SealError, SealingKey};

/// Separates the client-secret key from every other key derived from the page key.
pub const SECRET_KEY_LABEL: &[u8] = b"tessera idp client secret key v1";
/// Separates the pending sign-in key from every other key derived from the page key.
pub const PENDING_KEY_LABEL: &[u8] = b"tessera federation pending sign-in key v1";

/// The federation's keys.
pub struct Federation {
    secrets: SealingKey,
    pending: SealingKey,
}

impl Federation {
    /// The keys: `secrets` and `pending`, derived from the server's page key with
    /// [`SECRET_KEY_LABEL`] and [`PENDING_KEY_LABEL`] (`web::PageKey::derive`).
    pub fn new(secrets: &[u8; 32], pending: &[u8; 32]) -> Result<Self, SealError> {
        Ok(Self { secrets: SealingKey::new(secrets)?, pending: SealingKey::new(pending)? })
    }

    /// Seals the client secret of identity provider `idp` of `tenant`.
    pub fn seal_secret(&self, tenant: &str, idp: &str, secret: &str) -> Result<Vec<u8>, SealError> {
        self.secrets.seal(&[b"secret", tenant.as_bytes(), idp.as_bytes()], secret.as_bytes())
    }

    /// Opens the client secret sealed for identity provider `idp` of `tenant`.
    pub fn open_secret(&self, tenant: &str, idp: &str, sealed: &[u8]) -> Result<String, SealError> {
        let plain = self.secrets.open(&[b"secret", tenant.as_bytes(), idp.as_bytes()], sealed)?;
        String::from_utf8(plain).map_err(|_| SealError::Open)
    }

    fn seal_pending(&self, tenant: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        self.pending.seal(&[b"pending", tenant.as_bytes()], plain)
    }

    fn open_pending(&self, tenant: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.pending.open(&[b"pending", tenant.as_bytes()], sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn federation(byte: u8) -> Federation {
        Federation::new(&[byte; 32], &[byte ^ 0x55; 32]).expect("keys")
    }

    #[test]
    fn a_secret_opens_only_for_its_tenant_and_provider_under_its_key() {
        let f = federation(1);
        let sealed = f.seal_secret("acme", "idp1", "s3cret").expect("sealed");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(f.open_secret("acme", "idp1", &sealed).expect("opens"), "s3cret");
        assert!(f.open_secret("other", "idp1", &sealed).is_err(), "another tenant");
        assert!(f.open_secret("acme", "idp2", &sealed).is_err(), "another provider");
        assert!(federation(2).open_secret("acme", "idp1", &sealed).is_err(), "another page key");
        let mut damaged = sealed;
        damaged[20] ^= 1;
        assert!(f.open_secret("acme", "idp1", &damaged).is_err(), "damaged");
        assert!(f.open_secret("acme", "idp1", b"short").is_err());
    }

    #[test]
    fn pending_sign_ins_do_not_open_as_secrets() {
        let f = federation(1);
        let sealed = f.seal_pending("acme", b"x").expect("sealed");
        assert!(f.open_secret("acme", "", &sealed).is_err());
        assert_eq!(f.open_pending("acme", &sealed).expect("opens"), b"x");
    }
}
