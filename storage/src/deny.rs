//! The deny list of revoked JWTs in memory, compactly: a 64-bit keyed fingerprint of
//! `(tenant, jti)` and the revocation's `exp` for each live revocation, 16 bytes a slot.
//!
//! The revocation records on disk stay the truth. A fingerprint that is absent answers "not
//! revoked" without touching disk, which is what nearly every introspection of a JWT asks; one
//! that is present is only a candidate, confirmed by reading the record (`reads`). So a
//! collision of fingerprints can cost a disk read, never a wrong answer.
//!
//! Entries leave only when their `exp` has passed (`forget_expired`, run by each sweep round),
//! never when a record is deleted: two revocations may share a fingerprint, and removing it
//! for one would drop the other. A deleted tenant's fingerprints therefore stay until their
//! tokens expire, confirmed absent on disk meanwhile; memory stays bounded by the revocations
//! of tokens that have not expired. Where two revocations share a fingerprint, the entry keeps
//! the later `exp`.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use parking_lot::RwLock;
use tessera_core::model::UnixSecs;

/// Shards of the list, so introspection on every core does not share one lock word.
const SHARDS: usize = 16;

/// A fingerprint is already a keyed hash: the map uses it as is.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in rather than lose it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Shard = HashMap<u64, UnixSecs, BuildHasherDefault<Prehashed>>;

/// Fingerprints of every live revocation, with their `exp`.
pub(crate) struct DenyList {
    shards: Box<[RwLock<Shard>]>,
    /// A random key per process, so nobody outside can choose jtis whose fingerprints collide.
    key: RandomState,
}

impl DenyList {
    pub(crate) fn new() -> Self {
        Self { shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(), key: RandomState::new() }
    }

    fn fingerprint(&self, tenant: &str, jti: &str) -> u64 {
        // `str` hashes with a terminator, so ("ab", "c") and ("a", "bc") differ.
        self.key.hash_one((tenant, jti))
    }

    fn shard(&self, fingerprint: u64) -> &RwLock<Shard> {
        // Bits the map does not use to place an entry (it takes the low bits for the slot and
        // the top seven as a tag), so every shard's slots are spread evenly.
        let i = usize::try_from((fingerprint >> 32) % SHARDS as u64).unwrap_or(0);
        &self.shards[i]
    }

    /// Whether `jti` of `tenant` may be revoked, with a revocation live at `now`: `false` is
    /// certain; `true` must be confirmed against the record.
    pub(crate) fn may_contain(&self, tenant: &str, jti: &str, now: UnixSecs) -> bool {
        let fingerprint = self.fingerprint(tenant, jti);
        self.shard(fingerprint).read().get(&fingerprint).is_some_and(|&exp| exp > now)
    }

    /// Adds a revocation (a rewritten record keeps the later of its `exp`s).
    pub(crate) fn insert(&self, tenant: &str, jti: &str, exp: UnixSecs) {
        let fingerprint = self.fingerprint(tenant, jti);
        let mut shard = self.shard(fingerprint).write();
        let entry = shard.entry(fingerprint).or_insert(exp);
        *entry = (*entry).max(exp);
    }

    /// Drops every entry whose `exp` has passed, one shard at a time, and gives back memory a
    /// shard no longer needs (after a mass revocation has expired).
    pub(crate) fn forget_expired(&self, now: UnixSecs) {
        for shard in &self.shards {
            let mut shard = shard.write();
            shard.retain(|_, exp| *exp > now);
            if shard.capacity() > 4 * shard.len().max(1024) {
                shard.shrink_to_fit();
            }
        }
    }

    /// How many entries are held (expired ones not yet forgotten included).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_tenant_and_honour_exp() {
        let deny = DenyList::new();
        deny.insert("a", "j1", 100);
        assert!(deny.may_contain("a", "j1", 99));
        assert!(!deny.may_contain("a", "j1", 100));
        assert!(!deny.may_contain("b", "j1", 0));
        assert!(!deny.may_contain("a", "j2", 0));
        assert!(!deny.may_contain("aj", "1", 0), "the boundary between tenant and jti counts");
    }

    #[test]
    fn a_rewrite_keeps_the_later_exp_and_expiry_forgets() {
        let deny = DenyList::new();
        deny.insert("a", "j1", 200);
        deny.insert("a", "j1", 100);
        assert!(deny.may_contain("a", "j1", 150));
        deny.insert("a", "j2", 120);
        deny.forget_expired(150);
        assert_eq!(deny.len(), 1);
        assert!(deny.may_contain("a", "j1", 150));
        deny.forget_expired(200);
        assert_eq!(deny.len(), 0);
    }

    #[test]
    fn fingerprints_spread_over_every_shard() {
        let deny = DenyList::new();
        for i in 0..4_096 {
            deny.insert("acme", &format!("jti-{i}"), 100);
        }
        let sizes: Vec<usize> = deny.shards.iter().map(|s| s.read().len()).collect();
        assert!(sizes.iter().all(|&n| n > 128), "{sizes:?}");
    }
}
