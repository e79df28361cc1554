//! In-memory state in front of fjall: moka caches of tenants and clients.
//!
//! The caches are filled by readers and emptied by the writer, and the two race: a reader that
//! read the old value from fjall could insert it after the writer invalidated the key, and the
//! stale value would then live until evicted. [`RecordCache`] closes that window with striped
//! locks: a reader holds its stripe (shared) from the fjall read to the cache insert, and the
//! writer invalidates under the stripe (exclusive) *after* the new value is in fjall. Either the
//! reader's read follows the write, or the invalidation follows the insert. Hits take no lock.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use parking_lot::RwLock;
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

#[cfg(test)]
mod tests {
    use super::*;

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
