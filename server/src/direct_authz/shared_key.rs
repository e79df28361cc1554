//! The tenant's shared AES-256 key for encrypted access tokens, as the store keeps it: sealed
//! (`crate::sealing`) under a key derived from the page key for this purpose alone and bound to
//! the tenant, so the database alone holds no usable key (on a shared store the page key comes
//! from the key-encryption key, so every node opens it). A key tenant format 9 stored unsealed
//! is used as it is until the operator sets one again.

use tessera_core::model::{JweKeyManagement, SharedAesKey};

use crate::sealing::{SealError, SealingKey};

/// Separates the shared-key sealing key from every other key derived from the page key.
pub const SHARED_KEY_LABEL: &[u8] = b"tessera direct-authz shared key v1";

fn binding(tenant: &str) -> [&[u8]; 2] {
    [b"direct-authz shared key", tenant.as_bytes()]
}

/// `key`, sealed for `tenant`, to be used with `alg`.
pub fn seal(
    sealer: &SealingKey,
    tenant: &str,
    alg: JweKeyManagement,
    key: &[u8; 32],
) -> Result<SharedAesKey, SealError> {
    Ok(SharedAesKey { alg, key: sealer.seal(&binding(tenant), key)?, sealed: true })
}

/// The key `stored` holds for `tenant`.
pub fn open(sealer: &SealingKey, tenant: &str, stored: &SharedAesKey) -> Result<[u8; 32], SealError> {
    let bytes = if stored.sealed { sealer.open(&binding(tenant), &stored.key)? } else { stored.key.clone() };
    bytes.try_into().map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_for_its_tenant_only_and_a_bare_one_as_it_is() {
        let sealer = SealingKey::new(&[1; 32]).expect("key");
        let stored = seal(&sealer, "acme", JweKeyManagement::A256GcmKw, &[9; 32]).expect("sealed");
        assert!(stored.sealed && stored.is_well_formed(), "{stored:?}");
        assert!(!stored.key.windows(32).any(|w| w == [9; 32]));
        assert_eq!(open(&sealer, "acme", &stored).expect("opens"), [9; 32]);
        assert!(open(&sealer, "other", &stored).is_err(), "moved to another tenant");
        let bare = SharedAesKey { alg: JweKeyManagement::Dir, key: vec![4; 32], sealed: false };
        assert_eq!(open(&sealer, "acme", &bare).expect("as it is"), [4; 32]);
    }
}
