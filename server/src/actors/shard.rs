//! One shard of one tenant: the actor that owns the opaque tokens whose digests hash to it.
//! It orders the writes to its tokens (issue, revoke, deny) and fills the node's memory with
//! its tokens after a miss, one store read per digest however many requests wait for it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use actix::fut::{ActorFutureExt, wrap_future};
use actix::prelude::*;
use tessera_core::model::{OpaqueToken, Revocation};
use tessera_core::store::{Commit, Read, RevocationStore, StoreError, TokenStore};
use tokio::sync::oneshot;

use super::hot::{Digest, HotTokens, Owner};

/// What a shard needs of the store: its tokens and the deny list. A shared handle to any
/// [`Store`] is one; tests use smaller ones.
///
/// [`Store`]: tessera_core::store::Store
pub trait ShardStore: Send + Sync {
    /// See [`TokenStore::put_opaque_token`].
    fn put_opaque_token(&self, digest: &Digest, token: &OpaqueToken) -> Commit;
    /// See [`TokenStore::opaque_token`].
    fn opaque_token(&self, tenant: &str, digest: &Digest) -> Read<Option<OpaqueToken>>;
    /// See [`TokenStore::delete_opaque_token`].
    fn delete_opaque_token(&self, tenant: &str, digest: &Digest) -> Commit;
    /// See [`RevocationStore::put_revocation`].
    fn put_revocation(&self, revocation: &Revocation) -> Commit;
}

impl<S: TokenStore + RevocationStore + ?Sized> ShardStore for Arc<S> {
    fn put_opaque_token(&self, digest: &Digest, token: &OpaqueToken) -> Commit {
        TokenStore::put_opaque_token(&**self, digest, token)
    }
    fn opaque_token(&self, tenant: &str, digest: &Digest) -> Read<Option<OpaqueToken>> {
        TokenStore::opaque_token(&**self, tenant, digest)
    }
    fn delete_opaque_token(&self, tenant: &str, digest: &Digest) -> Commit {
        TokenStore::delete_opaque_token(&**self, tenant, digest)
    }
    fn put_revocation(&self, revocation: &Revocation) -> Commit {
        RevocationStore::put_revocation(&**self, revocation)
    }
}

/// A change to a tenant's token state.
#[derive(Debug)]
pub enum TokenWrite {
    /// Store a newly issued opaque token.
    IssueOpaque {
        /// SHA-256 of the token value.
        digest: Digest,
        /// The record, kept in memory too once durable.
        record: Arc<OpaqueToken>,
    },
    /// Remove an opaque token (revocation).
    RevokeOpaque {
        /// SHA-256 of the token value.
        digest: Digest,
    },
    /// Put a JWT on the deny list.
    RevokeJwt(Revocation),
}

impl Message for TokenWrite {
    /// The write, queued in the shard's order; the caller awaits its commit.
    type Result = Commit;
}

/// What a lookup answers: the token, shared with the node's memory.
pub type Found = Result<Option<Arc<OpaqueToken>>, StoreError>;

/// A miss in memory: read the token from the store and keep it.
pub(super) struct Fill(pub Digest);

impl Message for Fill {
    type Result = Found;
}

/// One shard of one tenant.
pub(super) struct TenantShard {
    tenant: String,
    store: Arc<dyn ShardStore>,
    hot: HotTokens,
    owner: Arc<Owner>,
    /// Digests being read from the store, with the lookups that came while they were.
    filling: HashMap<Digest, Vec<oneshot::Sender<Found>>>,
}

impl TenantShard {
    pub(super) fn new(tenant: String, store: Arc<dyn ShardStore>, hot: HotTokens, owner: Arc<Owner>) -> Self {
        Self { tenant, store, hot, owner, filling: HashMap::new() }
    }
}

impl Actor for TenantShard {
    type Context = Context<Self>;
}

impl Handler<TokenWrite> for TenantShard {
    type Result = MessageResult<TokenWrite>;

    fn handle(&mut self, msg: TokenWrite, _: &mut Context<Self>) -> Self::Result {
        // The store queues the write now, in this shard's order. The wait for its commit is
        // handed back to the caller rather than awaited here: the shard stays free, and the
        // completion wakes the requester directly instead of hopping through this thread.
        MessageResult(match &msg {
            TokenWrite::IssueOpaque { digest, record } => {
                debug_assert_eq!(record.tenant, self.tenant);
                self.store.put_opaque_token(digest, record)
            }
            TokenWrite::RevokeOpaque { digest } => {
                // Forgotten before the delete is queued: from now on a lookup reads the store,
                // and a fill racing this one does not keep what it read (see `hot`).
                self.hot.forget(&self.owner, digest);
                self.store.delete_opaque_token(&self.tenant, digest)
            }
            TokenWrite::RevokeJwt(revocation) => self.store.put_revocation(revocation),
        })
    }
}

impl Handler<Fill> for TenantShard {
    type Result = ResponseActFuture<Self, Found>;

    fn handle(&mut self, Fill(digest): Fill, _: &mut Context<Self>) -> Self::Result {
        // Another lookup is reading this digest already: wait for its answer rather than
        // asking the store again (a burst of resource servers checking one new token).
        let waiters = match self.filling.entry(digest) {
            Entry::Occupied(mut reading) => {
                let (tell, answer) = oneshot::channel();
                reading.get_mut().push(tell);
                return Box::pin(wrap_future(async move { answer.await.unwrap_or(Err(StoreError::Closed)) }));
            }
            Entry::Vacant(waiters) => waiters,
        };
        waiters.insert(Vec::new());
        // Read before the store is read: see `hot` for why.
        let epoch = self.owner.epoch();
        let read = self.store.opaque_token(&self.tenant, &digest);
        Box::pin(wrap_future(read).map(move |read, shard: &mut Self, _| {
            let found = read.map(|token| token.map(Arc::new));
            if let Ok(Some(token)) = &found {
                shard.hot.fill(&shard.owner, digest, Arc::clone(token), epoch);
            }
            for waiter in shard.filling.remove(&digest).unwrap_or_default() {
                // A waiter that gave up (its request was dropped) needs no answer.
                let _ = waiter.send(found.clone());
            }
            found
        }))
    }
}
