//! Per-tenant actors. Each tenant's mutable token state (opaque tokens, revocations) is owned
//! by actix actors: a tenant is split into shards keyed by a hash of the token, one shard per
//! arbiter (an OS thread with its own event loop), so a hot tenant uses every core while writes
//! to one token are applied in the order they arrived.
//!
//! A shard never blocks: it hands the write to the store, whose group commit makes it durable,
//! and gives the caller the commit to await, so the fsync's completion wakes the requester
//! without another hop through the shard's thread. Reads that need no ordering (introspection,
//! JWKS, discovery) do not come here; they go straight to the store's caches.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use actix::prelude::*;
use actix_rt::ArbiterHandle;
use parking_lot::RwLock;
use tessera_core::model::{OpaqueToken, Revocation};
use tessera_core::store::{Commit, Store, StoreError};

/// A change to a tenant's token state.
#[derive(Debug)]
pub enum TokenWrite {
    /// Store a newly issued opaque token.
    IssueOpaque {
        /// SHA-256 of the token value.
        digest: [u8; 32],
        /// The record.
        record: OpaqueToken,
    },
    /// Remove an opaque token (revocation).
    RevokeOpaque {
        /// SHA-256 of the token value.
        digest: [u8; 32],
    },
    /// Put a JWT on the deny list.
    RevokeJwt(Revocation),
}

impl Message for TokenWrite {
    /// The write, queued in the shard's order; the caller awaits its fsync.
    type Result = Commit;
}

/// One shard of one tenant.
struct TenantShard {
    tenant: String,
    store: Arc<dyn Store>,
}

impl Actor for TenantShard {
    type Context = Context<Self>;
}

impl Handler<TokenWrite> for TenantShard {
    type Result = MessageResult<TokenWrite>;

    fn handle(&mut self, msg: TokenWrite, _: &mut Context<Self>) -> Self::Result {
        // The store queues the write now, in this shard's order. The wait for its fsync is
        // handed back to the caller rather than awaited here: the shard stays free, and the
        // completion wakes the requester directly instead of hopping through this thread.
        MessageResult(match &msg {
            TokenWrite::IssueOpaque { digest, record } => {
                debug_assert_eq!(record.tenant, self.tenant);
                self.store.put_opaque_token(digest, record)
            }
            TokenWrite::RevokeOpaque { digest } => self.store.delete_opaque_token(&self.tenant, digest),
            TokenWrite::RevokeJwt(revocation) => self.store.put_revocation(revocation),
        })
    }
}

/// The arbiters and every tenant's shards on them.
pub struct Shards {
    arbiters: Vec<ArbiterHandle>,
    store: Arc<dyn Store>,
    tenants: RwLock<HashMap<String, Arc<[Addr<TenantShard>]>>>,
    hasher: RandomState,
}

impl Shards {
    /// Starts an actix system with `threads` arbiters on threads of its own.
    pub fn start(threads: usize, store: Arc<dyn Store>) -> std::io::Result<Self> {
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
        Ok(Self { arbiters, store, tenants: RwLock::new(HashMap::new()), hasher: RandomState::new() })
    }

    /// The arbiters, one per core: the HTTP server runs on them too.
    pub fn arbiters(&self) -> &[ArbiterHandle] {
        &self.arbiters
    }

    fn shards(&self, tenant: &str) -> Arc<[Addr<TenantShard>]> {
        if let Some(s) = self.tenants.read().get(tenant) {
            return s.clone();
        }
        let mut map = self.tenants.write();
        map.entry(tenant.to_owned())
            .or_insert_with(|| {
                self.arbiters
                    .iter()
                    .map(|arbiter| {
                        let (tenant, store) = (tenant.to_owned(), self.store.clone());
                        TenantShard::start_in_arbiter(arbiter, move |_| TenantShard { tenant, store })
                    })
                    .collect()
            })
            .clone()
    }

    /// Sends a write to the shard that owns `key` in `tenant` and waits until it is durable.
    pub async fn write(&self, tenant: &str, key: &[u8], write: TokenWrite) -> Result<(), StoreError> {
        let shards = self.shards(tenant);
        let index = (self.hasher.hash_one(key) % shards.len() as u64) as usize;
        let shard = shards.get(index).ok_or(StoreError::Closed)?;
        let commit = shard.send(write).await.map_err(|_| StoreError::Closed)?;
        commit.await
    }

    /// Stops a deleted tenant's shards.
    pub fn remove(&self, tenant: &str) {
        // Dropping the last address stops each shard once its mailbox is empty.
        self.tenants.write().remove(tenant);
    }
}
