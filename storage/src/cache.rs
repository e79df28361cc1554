//! In-memory state in front of fjall: moka caches of tenants and clients, and the whole live deny
//! list of revoked JWTs.
//!
//! The caches are filled by readers and emptied by the writer, and the two race: a reader that
//! read the old value from fjall could insert it after the writer invalidated the key, and the
//! stale value would then live until evicted. [`RecordCache`] closes that window with striped
//! locks: a reader holds its stripe (shared) from the fjall read to the cache insert, and the
//! writer invalidates under the stripe (exclusive) *after* the new value is in fjall. Either the
//! reader's read follows the write, or the invalidation follows the insert. Hits take no lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use parking_lot::RwLock;
use tessera_core::model::UnixSecs;
use tessera_core::store::StoreError;

use crate::stats::CacheCounts;

/// Stripes of the fill/invalidate locks; enough that unrelated misses rarely share one.
const STRIPES: usize = 64;

/// A moka cache of decoded records keyed by their store key.
pub(crate) struct RecordCache<V> {
    cache: moka::sync::Cache<Box<[u8]>, Arc<V>>,
    stripes: Box<[RwLock<()>]>,
    hasher: RandomState,
    counts: CacheCounts,
}

impl<V: Send + Sync + 'static> RecordCache<V> {
    /// A cache holding at most `capacity` records.
    pub(crate) fn new(capacity: u64) -> Self {
        Self {
            cache: moka::sync::Cache::new(capacity),
            stripes: (0..STRIPES).map(|_| RwLock::new(())).collect(),
            hasher: RandomState::new(),
            counts: CacheCounts::default(),
        }
    }

    /// `(hits, misses)` of [`Self::get_or_load`] so far, for the metrics.
    pub(crate) fn counts(&self) -> (u64, u64) {
        self.counts.read()
    }

    fn stripe(&self, key: &[u8]) -> &RwLock<()> {
        // Truncation is fine: any bits of the hash pick a stripe.
        let i = self.hasher.hash_one(key) as usize % self.stripes.len();
        &self.stripes[i]
    }

    /// The cached record, or `load`'s answer (cached when present). Absent records are not
    /// cached, so unknown ids cannot push real ones out.
    pub(crate) fn get_or_load(
        &self,
        key: &[u8],
        load: impl FnOnce() -> Result<Option<V>, StoreError>,
    ) -> Result<Option<Arc<V>>, StoreError> {
        if let Some(hit) = self.cache.get(key) {
            self.counts.hit();
            return Ok(Some(hit));
        }
        self.counts.miss();
        let _fill = self.stripe(key).read();
        let Some(record) = load()? else {
            return Ok(None);
        };
        let record = Arc::new(record);
        self.cache.insert(key.into(), Arc::clone(&record));
        Ok(Some(record))
    }

    /// Drops a key; call only after the write that changed it is visible in fjall.
    pub(crate) fn invalidate(&self, key: &[u8]) {
        let _fill = self.stripe(key).write();
        self.cache.invalidate(key);
    }
}

/// Shards of the deny list, so introspection on every core does not share one lock word.
const DENY_SHARDS: usize = 16;

type TenantDenyList = HashMap<Box<str>, HashMap<Box<str>, UnixSecs>>;

/// Every live revocation, `(tenant, jti) -> exp`, in memory: `is_revoked` answers from here
/// without touching disk, negatives included. Bounded by the number of live revoked tokens.
pub(crate) struct DenyList {
    shards: Box<[RwLock<TenantDenyList>]>,
    hasher: RandomState,
}

impl DenyList {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..DENY_SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, jti: &str) -> &RwLock<TenantDenyList> {
        // Truncation is fine: any bits of the hash pick a shard.
        let i = self.hasher.hash_one(jti) as usize % self.shards.len();
        &self.shards[i]
    }

    /// Whether `jti` of `tenant` is revoked and the revocation has not expired at `now`.
    pub(crate) fn contains(&self, tenant: &str, jti: &str, now: UnixSecs) -> bool {
        self.shard(jti).read().get(tenant).and_then(|jtis| jtis.get(jti)).is_some_and(|&exp| exp > now)
    }

    /// Adds or replaces an entry (a replaced record on disk replaces its `exp` here too).
    pub(crate) fn insert(&self, tenant: &str, jti: &str, exp: UnixSecs) {
        self.shard(jti).write().entry(tenant.into()).or_default().insert(jti.into(), exp);
    }

    /// Removes one entry.
    pub(crate) fn remove(&self, tenant: &str, jti: &str) {
        let mut shard = self.shard(jti).write();
        if let Some(jtis) = shard.get_mut(tenant) {
            jtis.remove(jti);
            if jtis.is_empty() {
                shard.remove(tenant);
            }
        }
    }

    /// Removes every entry of a tenant.
    pub(crate) fn remove_tenant(&self, tenant: &str) {
        for shard in &self.shards {
            shard.write().remove(tenant);
        }
    }

    /// How many entries are held (expired ones the sweeper has not reached yet included).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().values().map(HashMap::len).sum::<usize>()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_list_is_per_tenant_and_honours_exp() {
        let deny = DenyList::new();
        deny.insert("a", "j1", 100);
        assert!(deny.contains("a", "j1", 99));
        assert!(!deny.contains("a", "j1", 100));
        assert!(!deny.contains("b", "j1", 0));
        deny.insert("b", "j1", 100);
        deny.remove_tenant("a");
        assert!(!deny.contains("a", "j1", 0));
        assert!(deny.contains("b", "j1", 0));
        deny.remove("b", "j1");
        assert_eq!(deny.len(), 0);
    }

    #[test]
    fn cache_serves_hits_and_forgets_on_invalidate() {
        let cache = RecordCache::<u32>::new(10);
        assert_eq!(cache.get_or_load(b"k", || Ok(Some(1))).unwrap().as_deref(), Some(&1));
        assert_eq!(cache.get_or_load(b"k", || Ok(Some(2))).unwrap().as_deref(), Some(&1));
        cache.invalidate(b"k");
        assert_eq!(cache.get_or_load(b"k", || Ok(Some(2))).unwrap().as_deref(), Some(&2));
        assert_eq!(cache.get_or_load(b"x", || Ok(None)).unwrap(), None);
    }
}
