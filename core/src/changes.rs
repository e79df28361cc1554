//! The store's change feed: which records changed, told to whoever keeps a copy of them in
//! memory (the signing keyring, the CORS origins, a backend's own caches and deny list). Owns
//! [`Change`], [`ChangeKind`], [`Notice`], [`ChangeListener`] and the [`ChangeFeed`] trait that
//! every [`Store`](crate::store::Store) implements.
//!
//! # The promise
//!
//! - A listener hears of a change only once the write is durable and visible to reads: one
//!   that re-reads the record on hearing finds the new state. A write that fails (refused, say
//!   for a conflict, or lost to a failed commit) is not heard.
//! - Every change is heard at least once, by every listener: those made through this store
//!   handle, and, for a backend several nodes share, those made by the other nodes. A change may
//!   be heard more than once (a shared backend may hear its own change back), so a listener's
//!   work must be idempotent; it can be, since a change says *what* changed, not how: the
//!   listener drops or re-reads its copy.
//! - For a write made through this handle, every listener has heard it by the time the write's
//!   `Commit` resolves `Ok`: a caller that awaited its write may rely on this node's caches
//!   having forgotten the old value, without forgetting it by hand.
//! - Deleting a tenant is heard as one [`ChangeKind::Tenant`] change once everything of it is
//!   gone, not as a change per record: the listener drops everything it holds of that tenant.
//!   A tenant that is created or changed is heard the same way; a listener that must tell the
//!   two apart reads the tenant back.
//! - [`Notice::Resync`] says changes may have been missed (a shared backend lost its
//!   notification connection, or a listener subscribed while writes were in flight): the
//!   listener drops every copy it holds, of every tenant, and reads afresh. Dropping everything
//!   is always correct, so lagging never costs correctness, only a reload.
//! - Subscribe before filling a cache: changes durable after [`ChangeFeed::subscribe`] returns
//!   are heard; earlier ones are what the fill reads.
//!
//! # Why a synchronous callback
//!
//! Listeners are plain callbacks the backend calls in line, on whatever thread completes the
//! write (fjall's writer thread, after the round's fsync and before it acknowledges the round's
//! writes). That costs nothing per write when no one listens and one call per listener when
//! someone does, needs no runtime in this crate (it does no I/O), and is what makes the
//! read-your-writes promise above possible: the callback has run before the `Commit` resolves.
//! A broadcast channel would instead copy each change into a ring per receiver and need a task
//! per receiver to drain it, with the commit racing the task.
//!
//! The price is that a listener runs on the backend's write path, so it must be cheap and must
//! never block, nor call back into the store's write methods: it invalidates an entry, sets a
//! flag, or hands the tenant to a task of its own (coalescing, so a burst of changes is one
//! reload) and returns. Anything slow (reading the store, an HSM round trip) belongs in that
//! task. A listener that falls behind in its task has lost nothing: it still knows which
//! tenants to reload, or, if it gave up keeping track, it reloads everything, as for a resync.
//!
//! # Who keeps what
//!
//! A backend keeps its own caches current (for fjall the writer invalidates the tenant and
//! client caches and updates the in-memory deny list in the same step that makes a write
//! visible, so `is_revoked` needs no listener). A backend several nodes share must keep its
//! node-local caches and deny list by listening to the feed itself: a [`ChangeKind::Revocation`]
//! change names the tenant and `jti` to fetch, a tenant change drops that tenant's entries, and
//! a resync reloads the list.

use std::sync::Arc;

/// The kind of record a [`Change`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeKind {
    /// The tenant record, or the whole tenant (created, changed or deleted with everything it
    /// owns). `id` is the tenant's id.
    Tenant,
    /// A client, or the roles assigned to it; `id` is its `client_id`.
    Client,
    /// A signing key record; `id` is its `kid`.
    Key,
    /// A revoked JWT on the deny list; `id` is its `jti`.
    Revocation,
    /// A local user, or the roles assigned to them; `id` is the user's id.
    User,
    /// A role (created, changed or deleted with its assignments); `id` is the role's id.
    Role,
    /// An opaque access token removed before its expiry (revoked); `id` is
    /// [`Change::opaque_token`]'s lowercase hex of the SHA-256 digest of its value. Issuing one
    /// is not heard: no cache can hold a token before it exists, and hearing every issuance
    /// would cost a shared backend a notification per token. Expiry is not heard either: every
    /// cached token carries its own expiry.
    OpaqueToken,
}

/// One record of a tenant that was written or deleted. It says what changed, not how: the
/// listener re-reads or drops its copy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Change {
    /// The tenant the record belongs to.
    pub tenant: String,
    /// The kind of record.
    pub kind: ChangeKind,
    /// The record's id within the tenant and kind (see [`ChangeKind`]).
    pub id: String,
}

impl Change {
    /// A change to (or the deletion of) a whole tenant.
    pub fn tenant(id: &str) -> Self {
        Self { tenant: id.to_owned(), kind: ChangeKind::Tenant, id: id.to_owned() }
    }

    /// The removal of the opaque token of `tenant` whose value has SHA-256 `digest`.
    pub fn opaque_token(tenant: &str, digest: &[u8; 32]) -> Self {
        Self { tenant: tenant.to_owned(), kind: ChangeKind::OpaqueToken, id: hex::encode(digest) }
    }

    /// The digest an [`ChangeKind::OpaqueToken`] change names; `None` for any other change, or
    /// an id that is not 64 hex digits.
    pub fn opaque_token_digest(&self) -> Option<[u8; 32]> {
        let mut digest = [0; 32];
        (self.kind == ChangeKind::OpaqueToken && hex::decode_to_slice(&self.id, &mut digest).is_ok())
            .then_some(digest)
    }
}

/// What a listener is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice<'a> {
    /// One record changed, durably.
    Changed(&'a Change),
    /// Changes may have been missed: drop every cached copy, of every tenant.
    Resync,
}

/// A listener: called in line by the backend, so it must be cheap and must never block (see
/// the module documentation).
pub type ChangeListener = Arc<dyn Fn(Notice<'_>) + Send + Sync>;

/// Subscription to the store's changes. Part of every [`Store`](crate::store::Store).
pub trait ChangeFeed: Send + Sync {
    /// Adds a listener for the rest of the store's life: it hears every change durable after
    /// this returns, as the module documentation promises.
    fn subscribe(&self, listener: ChangeListener);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opaque_token_change_names_its_digest_in_hex_and_back() {
        let digest: [u8; 32] = std::array::from_fn(|i| (i * 7 + 1) as u8);
        let change = Change::opaque_token("acme", &digest);
        assert_eq!(change.kind, ChangeKind::OpaqueToken);
        assert_eq!(change.id.len(), 64);
        assert_eq!(change.id, change.id.to_lowercase());
        assert_eq!(change.opaque_token_digest(), Some(digest));
    }

    #[test]
    fn other_changes_and_bad_ids_name_no_digest() {
        assert_eq!(Change::tenant("acme").opaque_token_digest(), None);
        let digest = [0xab; 32];
        let mut client = Change::opaque_token("acme", &digest);
        client.kind = ChangeKind::Client;
        assert_eq!(client.opaque_token_digest(), None);
        for id in ["", "ab", &"g".repeat(64), &"ab".repeat(33)] {
            let change = Change { tenant: "acme".into(), kind: ChangeKind::OpaqueToken, id: id.into() };
            assert_eq!(change.opaque_token_digest(), None, "{id:?}");
        }
    }
}
