//! The loaded-key table shared by both backends, and fresh key ids.
//!
//! Signing looks a key up on every token, while keys change only on rotation, so the table is
//! read-mostly: a `parking_lot` read lock (one uncontended atomic) and an `Arc` clone, looked up
//! by `&str` without allocating. A copy-on-write map was considered and rejected: every load
//! would copy the whole table, which is quadratic when a server starts with many tenants.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::RwLock;
use tessera_core::signer::SignError;

/// Keys by tenant, then by `kid`. Nesting by tenant is what makes a key of tenant A invisible
/// to tenant B even if a caller asks for its `kid`.
pub(crate) struct KeyMap<K> {
    tenants: RwLock<HashMap<String, HashMap<String, Arc<K>>>>,
}

impl<K> KeyMap<K> {
    pub(crate) fn new() -> Self {
        Self { tenants: RwLock::new(HashMap::new()) }
    }

    /// The key, or `SignError::UnknownKey`.
    pub(crate) fn get(&self, tenant: &str, kid: &str) -> Result<Arc<K>, SignError> {
        self.tenants
            .read()
            .get(tenant)
            .and_then(|keys| keys.get(kid))
            .cloned()
            .ok_or_else(|| SignError::UnknownKey { tenant: tenant.to_owned(), kid: kid.to_owned() })
    }

    /// Adds or replaces a key (loading twice is not an error).
    pub(crate) fn insert(&self, tenant: &str, kid: &str, key: Arc<K>) {
        self.tenants.write().entry(tenant.to_owned()).or_default().insert(kid.to_owned(), key);
    }

    pub(crate) fn remove(&self, tenant: &str, kid: &str) {
        let mut tenants = self.tenants.write();
        if let Some(keys) = tenants.get_mut(tenant) {
            keys.remove(kid);
            if keys.is_empty() {
                tenants.remove(tenant);
            }
        }
    }
}

/// Fills `out` from the operating system's CSPRNG (through aws-lc).
pub(crate) fn random_bytes(out: &mut [u8]) -> Result<(), SignError> {
    aws_lc_rs::rand::fill(out).map_err(|_| SignError::Backend("random number generator failed".into()))
}

/// A new `kid`: 16 random bytes, base64url without padding (22 characters). Random rather than
/// a thumbprint so that a `kid` reveals nothing and two tenants can never collide by
/// importing the same key.
pub(crate) fn new_kid() -> Result<String, SignError> {
    let mut raw = [0u8; 16];
    random_bytes(&mut raw)?;
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn kids_are_22_url_safe_chars_and_distinct() {
        let a = new_kid().unwrap();
        let b = new_kid().unwrap();
        assert_eq!(a.len(), 22);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }

    #[test]
    fn tenants_do_not_see_each_others_keys() {
        let map = KeyMap::new();
        map.insert("a", "k1", Arc::new(1));
        assert_eq!(*map.get("a", "k1").unwrap(), 1);
        assert_eq!(
            map.get("b", "k1").unwrap_err(),
            SignError::UnknownKey { tenant: "b".into(), kid: "k1".into() }
        );
        map.remove("a", "k1");
        assert!(map.get("a", "k1").is_err());
    }
}
