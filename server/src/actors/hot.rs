//! The opaque access tokens this node holds in memory: one moka cache for the node, bounded in
//! entries, whose entries belong to the tenant shard that owns their digest and live no longer
//! than their token. Owns [`HotTokens`] and [`Owner`], the protocol by which a shard's fills
//! never outlive a revocation.
//!
//! Readers look entries up directly, without a mailbox: a hit needs no ordering. Entries are
//! only ever added by the shard that owns the digest (a fill after a miss) or by the write that
//! stored the token (after its commit), and removed by that shard (a revocation it carries out)
//! or by a revocation heard on the change feed (made by any node). A fill may race a
//! revocation: it read the token before the revocation was visible and inserts it after the
//! revocation's invalidation ran. The owner's epoch closes that window: a revocation bumps the
//! epoch before it invalidates, and a fill inserts, then re-reads the epoch and takes its
//! entry back out if the epoch moved since it began to read. Either the invalidation follows
//! the insert (and removes it), or the bump precedes the fill's re-read (and the fill removes
//! it), so a revoked token is never served from memory once its revocation was heard.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use tessera_core::model::OpaqueToken;

use crate::util::now;

/// The SHA-256 digest of a token value.
pub type Digest = [u8; 32];

/// The shard that owns an entry, and the digest of the token.
type Key = (u64, Digest);

/// The in-memory opaque tokens of every tenant on this node. Cloning shares the cache.
#[derive(Clone)]
pub(super) struct HotTokens {
    cache: moka::sync::Cache<Key, Arc<OpaqueToken>>,
    /// Lookups answered from memory and lookups that were not (metrics).
    lookups: Arc<[AtomicU64; 2]>,
}

/// What a shard's entries are keyed by, and its revocation epoch.
#[derive(Debug)]
pub(super) struct Owner {
    /// Unique for the life of the process, so a deleted tenant's entries, left to age out,
    /// are never found by the shards of a tenant created again under the same id.
    id: u64,
    /// Bumped by every revocation of one of the shard's tokens (see the module documentation).
    epoch: AtomicU64,
}

impl Owner {
    pub(super) fn new(id: u64) -> Self {
        Self { id, epoch: AtomicU64::new(0) }
    }

    /// Where a fill begins: read before the store is.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }
}

/// Entries expire with their token, so memory never holds a token past its `exp`.
struct UntilTokenExpires;

impl Expiry<Key, Arc<OpaqueToken>> for UntilTokenExpires {
    fn expire_after_create(&self, _: &Key, token: &Arc<OpaqueToken>, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(u64::try_from(token.exp.saturating_sub(now())).unwrap_or(0)))
    }
}

impl HotTokens {
    /// A cache of at most `capacity` tokens (each about 300 bytes with its key).
    pub(super) fn new(capacity: u64) -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilTokenExpires)
                .build(),
            lookups: Arc::new([AtomicU64::new(0), AtomicU64::new(0)]),
        }
    }

    /// The token with `digest` owned by `owner`, if in memory and not expired.
    pub(super) fn get(&self, owner: &Owner, digest: &Digest) -> Option<Arc<OpaqueToken>> {
        let found = self.cache.get(&(owner.id, *digest)).filter(|token| token.exp > now());
        self.lookups[usize::from(found.is_none())].fetch_add(1, Ordering::Relaxed);
        found
    }

    /// `(hits, misses)` of [`Self::get`] so far.
    pub(super) fn lookups(&self) -> (u64, u64) {
        (self.lookups[0].load(Ordering::Relaxed), self.lookups[1].load(Ordering::Relaxed))
    }

    /// Keeps `token`, read (or stored) when `owner`'s epoch was `epoch`, unless a revocation
    /// of the owner's was heard since.
    pub(super) fn fill(&self, owner: &Owner, digest: Digest, token: Arc<OpaqueToken>, epoch: u64) {
        if token.exp <= now() {
            return;
        }
        self.cache.insert((owner.id, digest), token);
        if owner.epoch() != epoch {
            self.cache.invalidate(&(owner.id, digest));
        }
    }

    /// Forgets the token with `digest` owned by `owner`: it was revoked.
    pub(super) fn forget(&self, owner: &Owner, digest: &Digest) {
        owner.epoch.fetch_add(1, Ordering::SeqCst);
        self.cache.invalidate(&(owner.id, *digest));
    }

    /// Forgets every token (a resync: revocations may have been missed).
    pub(super) fn forget_all<'a>(&self, owners: impl IntoIterator<Item = &'a Owner>) {
        for owner in owners {
            owner.epoch.fetch_add(1, Ordering::SeqCst);
        }
        self.cache.invalidate_all();
    }
}
