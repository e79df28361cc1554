//! Each tenant's signing keys as the hot path needs them: the current key per algorithm and
//! the JWKS bytes, swapped atomically on change so readers never wait. Rotation makes a new
//! current key and retires the old one, which stays in the JWKS until every token it could have
//! signed has expired; a periodic prune then forgets it. Changes made elsewhere reach the ring
//! through the store's change feed (`crate::feed`), which counts them here ([`KeyChanges`]) so
//! that of two loads racing, the one that began later wins.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;
use serde::Serialize;
use tessera_core::jwk::{Jwk, JwkSet};
use tessera_core::model::{KeyRecord, SigningAlg, UnixSecs};
use tessera_core::signer::Signer;
use tessera_core::store::Store;

use crate::http::respond::ApiError;

/// Seconds a retired key outlives the longest token it signed, for clocks that drift.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// One tenant's keys, immutable once built.
#[derive(Debug, Default)]
pub struct TenantKeys {
    current: Vec<(SigningAlg, Arc<str>)>,
    kids: Vec<Arc<str>>,
    /// The serialized JWK Set.
    pub jwks: Bytes,
    /// The records without private material, oldest first, for the admin API.
    pub listing: Vec<KeyListing>,
    /// The ring's [`KeyChanges`] count when the load that built this began.
    loaded_at: u64,
}

impl TenantKeys {
    /// The kid of the current key for `alg`.
    pub fn current(&self, alg: SigningAlg) -> Option<&Arc<str>> {
        self.current.iter().find(|(a, _)| *a == alg).map(|(_, k)| k)
    }

    /// Whether `kid` is one of this tenant's published keys.
    pub fn has(&self, kid: &str) -> bool {
        self.kids.iter().any(|k| &**k == kid)
    }
}

/// A key as the admin API shows it: never the private half.
#[derive(Clone, Debug, Serialize)]
pub struct KeyListing {
    /// Key id.
    pub kid: String,
    /// Algorithm.
    pub alg: &'static str,
    /// `current` or `retired`.
    pub status: &'static str,
    /// `software` or `pkcs11`.
    pub backend: &'static str,
    /// Creation time.
    pub created_at: UnixSecs,
    /// When it stopped being current.
    pub retired_at: Option<UnixSecs>,
    /// When it leaves the JWKS.
    pub expires_at: Option<UnixSecs>,
    /// The public JWK.
    pub public_jwk: serde_json::Value,
}

/// All tenants' keys.
pub struct KeyRing {
    store: Arc<dyn Store>,
    signer: Arc<dyn Signer>,
    tenants: RwLock<HashMap<String, Arc<TenantKeys>>>,
    /// Serializes key generation and rotation so two requests never make two current keys.
    change: tokio::sync::Mutex<()>,
    heard: KeyChanges,
}

/// Counts the key and tenant changes the store's feed reports. A load notes the count before it
/// reads the store and never replaces an entry built by a load that began after a later change:
/// a slow load that read the old keys (an HSM round trip can take a while) cannot overwrite the
/// reload the change triggered, whichever finishes last.
#[derive(Clone, Debug, Default)]
pub struct KeyChanges(Arc<AtomicU64>);

impl KeyChanges {
    /// Counts a change; called by the feed's listener once the change is visible in the store.
    pub fn heard(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl KeyRing {
    /// An empty ring over a store and signer.
    pub fn new(store: Arc<dyn Store>, signer: Arc<dyn Signer>) -> Self {
        Self {
            store,
            signer,
            tenants: RwLock::new(HashMap::new()),
            change: tokio::sync::Mutex::new(()),
            heard: KeyChanges::default(),
        }
    }

    /// The ring's change counter, for the store's feed to count changes on.
    pub fn changes(&self) -> KeyChanges {
        self.heard.clone()
    }

    /// The tenants whose keys are in the ring.
    pub fn loaded(&self) -> Vec<String> {
        self.tenants.read().keys().cloned().collect()
    }

    /// Forgets a tenant's keys without destroying them: the tenant was deleted, maybe by
    /// another node, which destroys the keys itself.
    pub fn forget(&self, tenant: &str) {
        self.tenants.write().remove(tenant);
    }

    /// The tenant's keys as last loaded.
    pub fn get(&self, tenant: &str) -> Option<Arc<TenantKeys>> {
        self.tenants.read().get(tenant).cloned()
    }

    /// Destroys the keys of a tenant that was just deleted from the store (HSM objects too).
    pub async fn destroy_tenant(&self, tenant: &str, records: &[KeyRecord]) -> Result<(), ApiError> {
        self.tenants.write().remove(tenant);
        for r in records {
            self.signer.destroy(r).await?;
        }
        Ok(())
    }

    /// Loads a tenant's stored keys into the signer (those not loaded yet) and the ring.
    pub fn load(&self, tenant: &str) -> Result<Arc<TenantKeys>, ApiError> {
        let at = self.heard.count();
        let records = self.store.keys(tenant)?;
        let loaded = self.get(tenant);
        // Only keys new to this process: loading an HSM key is a blocking round trip to the
        // token, and keys generated here were loaded by the signer already.
        for r in records.iter().filter(|r| !loaded.as_ref().is_some_and(|k| k.has(&r.kid))) {
            self.signer.load(r)?;
        }
        Ok(self.install(tenant, TenantKeys { loaded_at: at, ..build(&records)? }))
    }

    /// Puts freshly loaded keys in the ring, unless a load that began later got there first:
    /// then those are the tenant's keys (see [`KeyChanges`]).
    fn install(&self, tenant: &str, keys: TenantKeys) -> Arc<TenantKeys> {
        let mut tenants = self.tenants.write();
        if let Some(newer) = tenants.get(tenant).filter(|held| held.loaded_at > keys.loaded_at) {
            return newer.clone();
        }
        let keys = Arc::new(keys);
        tenants.insert(tenant.to_owned(), keys.clone());
        keys
    }

    /// The current kid for `alg`, generating and storing a key first if the tenant has none.
    pub async fn current_or_create(
        &self,
        tenant: &str,
        alg: SigningAlg,
        now: UnixSecs,
    ) -> Result<Arc<str>, ApiError> {
        if let Some(kid) = self.get(tenant).and_then(|k| k.current(alg).cloned()) {
            return Ok(kid);
        }
        let _guard = self.change.lock().await;
        let keys = self.load(tenant)?;
        if let Some(kid) = keys.current(alg) {
            return Ok(kid.clone());
        }
        let record = self.signer.generate(tenant, alg, now).await?;
        self.store.put_key(&record).await?;
        let kid = record.kid.clone();
        self.load(tenant)?;
        Ok(kid.into())
    }

    /// Makes a new current key for every algorithm the tenant has a current key for (and for
    /// `default_alg`), retiring the old ones. They stay published for `max_ttl_secs` plus skew.
    pub async fn rotate(
        &self,
        tenant: &str,
        default_alg: SigningAlg,
        max_ttl_secs: u32,
        now: UnixSecs,
    ) -> Result<Vec<KeyListing>, ApiError> {
        let _guard = self.change.lock().await;
        let records = self.store.keys(tenant)?;
        let mut algs: Vec<SigningAlg> =
            records.iter().filter(|r| r.retired_at.is_none()).map(|r| r.alg).collect();
        if !algs.contains(&default_alg) {
            algs.push(default_alg);
        }
        let mut made = Vec::new();
        for alg in algs {
            let record = self.signer.generate(tenant, alg, now).await?;
            self.store.put_key(&record).await?;
            made.push(record);
        }
        let expires_at = now + i64::from(max_ttl_secs) + CLOCK_SKEW_SECS;
        for mut old in records.into_iter().filter(|r| r.retired_at.is_none()) {
            old.retired_at = Some(now);
            old.expires_at = Some(expires_at);
            self.store.put_key(&old).await?;
        }
        self.load(tenant)?;
        Ok(made.iter().map(|r| listing(r, true)).collect())
    }

    /// Deletes retired keys whose tokens have all expired, for every loaded tenant.
    pub async fn prune(&self, now: UnixSecs) -> Result<usize, ApiError> {
        let _guard = self.change.lock().await;
        let tenants: Vec<String> = self.tenants.read().keys().cloned().collect();
        let mut pruned = 0;
        for tenant in tenants {
            let records = self.store.keys(&tenant)?;
            let expired: Vec<&KeyRecord> =
                records.iter().filter(|r| r.expires_at.is_some_and(|e| e <= now)).collect();
            if expired.is_empty() {
                continue;
            }
            for r in &expired {
                self.store.delete_key(&tenant, &r.kid).await?;
                self.signer.destroy(r).await?;
                pruned += 1;
            }
            self.load(&tenant)?;
        }
        Ok(pruned)
    }
}

fn listing(r: &KeyRecord, current: bool) -> KeyListing {
    KeyListing {
        kid: r.kid.clone(),
        alg: r.alg.as_str(),
        status: if current { "current" } else { "retired" },
        backend: match r.material {
            tessera_core::model::KeyMaterial::Software { .. } => "software",
            tessera_core::model::KeyMaterial::Pkcs11 { .. } => "pkcs11",
        },
        created_at: r.created_at,
        retired_at: r.retired_at,
        expires_at: r.expires_at,
        public_jwk: serde_json::from_str(&r.public_jwk).unwrap_or(serde_json::Value::Null),
    }
}

/// Builds the hot-path view from stored records (oldest first): the newest unretired key of
/// each algorithm is current; every key is published until it expires.
fn build(records: &[KeyRecord]) -> Result<TenantKeys, ApiError> {
    let mut current: Vec<(SigningAlg, Arc<str>)> = Vec::new();
    for r in records.iter().filter(|r| r.retired_at.is_none()) {
        current.retain(|(a, _)| *a != r.alg);
        current.push((r.alg, r.kid.as_str().into()));
    }
    let mut set = JwkSet::default();
    for r in records {
        let jwk: Jwk = serde_json::from_str(&r.public_jwk)
            .map_err(|e| ApiError::Internal(format!("stored JWK of {} does not parse: {e}", r.kid)))?;
        set.keys.push(jwk);
    }
    let jwks = serde_json::to_vec(&set).map_err(|e| ApiError::Internal(e.to_string()))?;
    let listing = records.iter().map(|r| listing(r, current.iter().any(|(_, k)| **k == *r.kid))).collect();
    Ok(TenantKeys {
        current,
        kids: records.iter().map(|r| r.kid.as_str().into()).collect(),
        jwks: jwks.into(),
        listing,
        loaded_at: 0,
    })
}

#[cfg(test)]
mod tests {
    use tessera_signer::SoftwareSigner;
    use tessera_storage::{FjallStore, StoreOptions};

    use super::*;

    fn keys(kid: &str, loaded_at: u64) -> TenantKeys {
        TenantKeys { kids: vec![kid.into()], loaded_at, ..TenantKeys::default() }
    }

    #[test]
    fn a_load_that_began_before_a_change_never_replaces_one_that_began_after() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let options = StoreOptions { sweep_interval: None, ..StoreOptions::default() };
        let store = Arc::new(FjallStore::open(dir.path(), options).expect("the store opens"));
        let ring = KeyRing::new(store, Arc::new(SoftwareSigner::new()));
        ring.install("acme", keys("new", 2));
        let kept = ring.install("acme", keys("old", 1));
        assert!(kept.has("new"), "the later load is handed back");
        assert!(ring.get("acme").is_some_and(|k| k.has("new") && !k.has("old")));
        // Loads that began between the same two changes replace each other: the last wins.
        ring.install("acme", keys("newer", 2));
        assert!(ring.get("acme").is_some_and(|k| k.has("newer")));
        ring.install("acme", keys("newest", 3));
        assert!(ring.get("acme").is_some_and(|k| k.has("newest")));
    }
}
