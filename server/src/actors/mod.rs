//! Per-tenant actors. Each tenant's hot token state is owned by actix actors: a tenant is
//! split into shards keyed by a hash of the token, one shard per arbiter (an OS thread with its
//! own event loop), so a hot tenant uses every core while the writes to one token are applied
//! in the order they arrived.
//!
//! A shard owns its opaque tokens in the node's memory ([`hot`]): a token it stored is kept
//! there once durable, a token read after a miss is kept there, and a revocation, its own or
//! one heard on the store's change feed from any node, removes it. Introspection, userinfo and
//! revocation look a token up in memory first, without a mailbox (a hit needs no ordering);
//! only a miss goes through the shard, which reads the store once however many lookups of that
//! digest wait, and keeps the answer. With the embedded store that saves a decode per lookup;
//! with a store across a network it saves the round trip.
//!
//! A shard never blocks on a write: it hands the write to the store, whose group commit makes
//! it durable, and gives the caller the commit to await, so the commit's completion wakes the
//! requester without another hop through the shard's thread.
//!
//! The store stays the truth. Memory holds only what the store said, for no longer than the
//! token lives, and forgets a token as soon as its revocation is heard; what must be decided
//! once (a code's use, a refresh rotation) is decided by the store, not here, since several
//! nodes may share it.

mod hot;
mod shard;

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix::prelude::*;
use actix_rt::ArbiterHandle;
use parking_lot::RwLock;
use tessera_core::changes::Change;
use tessera_core::store::StoreError;

pub use self::hot::Digest;
use self::hot::{HotTokens, Owner};
use self::shard::{Fill, TenantShard};
pub use self::shard::{Found, ShardStore, TokenWrite};

/// How many opaque tokens a node keeps in memory, over all tenants, unless configured.
pub const DEFAULT_HOT_TOKENS: u64 = 200_000;

/// A shard's address and what its entries in memory are keyed by.
#[derive(Clone)]
struct Shard {
    addr: Addr<TenantShard>,
    owner: Arc<Owner>,
}

/// The arbiters and every tenant's shards on them.
pub struct Shards {
    arbiters: Vec<ArbiterHandle>,
    store: Arc<dyn ShardStore>,
    routes: Arc<Routes>,
    next_owner: AtomicU64,
}

/// Which shard owns a key, and the memory they share: what the change feed's listener needs.
struct Routes {
    tenants: RwLock<HashMap<String, Arc<[Shard]>>>,
    hasher: RandomState,
    hot: HotTokens,
}

impl Routes {
    fn pick<'a>(&self, shards: &'a [Shard], key: &[u8]) -> Option<&'a Shard> {
        let len = u64::try_from(shards.len()).ok()?;
        shards.get(usize::try_from(self.hasher.hash_one(key) % len.max(1)).ok()?)
    }

    /// The shard owning `key` in `tenant`, if the tenant has shards on this node yet.
    fn existing(&self, tenant: &str, key: &[u8]) -> Option<Shard> {
        let tenants = self.tenants.read();
        self.pick(tenants.get(tenant)?, key).cloned()
    }
}

impl Shards {
    /// Starts an actix system with `threads` arbiters on threads of its own, keeping at most
    /// `hot_tokens` opaque tokens in memory.
    pub fn start(threads: usize, store: Arc<dyn ShardStore>, hot_tokens: u64) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("tessera-actors".into()).spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async {
                let arbiters: Vec<ArbiterHandle> =
                    (0..threads.max(1)).map(|_| actix_rt::Arbiter::new().handle()).collect();
                // The receiver lives until start() returns; a send error means start() gave up.
                let _ = tx.send(arbiters);
            });
            if let Err(err) = system.run() {
                tracing::error!(%err, "actor system stopped");
            }
        })?;
        let arbiters = rx.recv().map_err(|_| std::io::Error::other("actor system failed to start"))?;
        let routes = Routes {
            tenants: RwLock::new(HashMap::new()),
            hasher: RandomState::new(),
            hot: HotTokens::new(hot_tokens),
        };
        Ok(Self { arbiters, store, routes: Arc::new(routes), next_owner: AtomicU64::new(0) })
    }

    /// The arbiters, one per core: the HTTP server runs on them too.
    pub fn arbiters(&self) -> &[ArbiterHandle] {
        &self.arbiters
    }

    /// The shard owning `key` in `tenant`, starting the tenant's shards on first use.
    fn shard(&self, tenant: &str, key: &[u8]) -> Result<Shard, StoreError> {
        if let Some(shard) = self.routes.existing(tenant, key) {
            return Ok(shard);
        }
        let mut tenants = self.routes.tenants.write();
        let shards = tenants.entry(tenant.to_owned()).or_insert_with(|| {
            self.arbiters
                .iter()
                .map(|arbiter| {
                    let owner = Arc::new(Owner::new(self.next_owner.fetch_add(1, Ordering::Relaxed)));
                    let (tenant, store, hot) =
                        (tenant.to_owned(), self.store.clone(), self.routes.hot.clone());
                    let shard_owner = Arc::clone(&owner);
                    let addr = TenantShard::start_in_arbiter(arbiter, move |_| {
                        TenantShard::new(tenant, store, hot, shard_owner)
                    });
                    Shard { addr, owner }
                })
                .collect()
        });
        self.routes.pick(shards, key).cloned().ok_or(StoreError::Closed)
    }

    /// Sends a write to the shard that owns `key` in `tenant` and waits until it is durable.
    pub async fn write(&self, tenant: &str, key: &[u8], write: TokenWrite) -> Result<(), StoreError> {
        let shard = self.shard(tenant, key)?;
        let keep = match &write {
            TokenWrite::IssueOpaque { digest, record } => {
                Some((*digest, Arc::clone(record), shard.owner.epoch()))
            }
            TokenWrite::RevokeOpaque { .. } | TokenWrite::RevokeJwt(_) => None,
        };
        let commit = shard.addr.send(write).await.map_err(|_| StoreError::Closed)?;
        commit.await?;
        if let Some((digest, record, epoch)) = keep {
            // Its first introspection, usually moments away, then needs no store read.
            self.routes.hot.fill(&shard.owner, digest, record, epoch);
        }
        Ok(())
    }

    /// The opaque token of `tenant` with `digest`: from memory, or read by its shard and kept.
    pub async fn opaque_token(&self, tenant: &str, digest: &Digest) -> Found {
        let shard = self.shard(tenant, digest)?;
        if let Some(token) = self.routes.hot.get(&shard.owner, digest) {
            return Ok(Some(token));
        }
        shard.addr.send(Fill(*digest)).await.map_err(|_| StoreError::Closed)?
    }

    /// `(hits, misses)` of the opaque tokens in memory so far, for the metrics.
    pub fn hot_lookups(&self) -> (u64, u64) {
        self.routes.hot.lookups()
    }

    /// Stops a deleted tenant's shards.
    pub fn remove(&self, tenant: &str) {
        // Dropping the last address stops each shard once its mailbox is empty. Its tokens in
        // memory are keyed by owners no shard will have again; they age out.
        self.routes.tenants.write().remove(tenant);
    }

    /// What the change feed's listener uses to forget revoked tokens.
    pub fn forgetter(&self) -> ForgetTokens {
        ForgetTokens(Arc::clone(&self.routes))
    }
}

/// Forgets opaque tokens this node holds in memory when their revocation is heard. Cheap and
/// non-blocking, as a change listener must be: an invalidation, never a store read.
#[derive(Clone)]
pub struct ForgetTokens(Arc<Routes>);

impl ForgetTokens {
    /// Forgets the token a [`ChangeKind::OpaqueToken`](tessera_core::changes::ChangeKind)
    /// change names, if this node holds it.
    pub fn revoked(&self, change: &Change) {
        let Some(digest) = change.opaque_token_digest() else { return };
        if let Some(shard) = self.0.existing(&change.tenant, &digest) {
            self.0.hot.forget(&shard.owner, &digest);
        }
    }

    /// Forgets every token: revocations may have been missed.
    pub fn all(&self) {
        let tenants = self.0.tenants.read();
        self.0.hot.forget_all(tenants.values().flat_map(|shards| shards.iter().map(|s| &*s.owner)));
    }
}

#[cfg(test)]
mod tests;
