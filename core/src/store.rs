//! The store interface the protocol runs on. Narrow traits, one per kind of record, so a handler
//! names exactly what it touches; [`Store`] is all of them together, implemented by the storage
//! crate (fjall today).
//!
//! Reads return at once (backends keep hot records in memory). Writes that must outlive the
//! response return a [`Commit`]: a future that resolves only once an fsync covers the write.
//! Many writes share one fsync (group commit), so awaiting a commit is cheap under load.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::model::{
    Client, Code, Consent, KeyRecord, OpaqueToken, RefreshToken, Revocation, Session, Tenant, UnixSecs, User,
};

/// A durable write in flight: resolves once the write is on disk, or failed.
pub type Commit = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'static>>;

/// A commit that has already failed (for validation errors found before any I/O).
pub fn failed_commit(err: StoreError) -> Commit {
    Box::pin(std::future::ready(Err(err)))
}

/// Why the store could not serve a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An fsync failed earlier: the store refuses writes rather than risk losing them.
    #[error("store is poisoned after a failed fsync; writes are refused")]
    Poisoned,
    /// Too many writes are waiting: refused at once rather than queued without bound.
    #[error("the store is overloaded: {0}")]
    Busy(String),
    /// The store is closed (shutting down).
    #[error("store is closed")]
    Closed,
    /// A record on disk does not decode or fails its invariants.
    #[error("corrupt record under {key}: {detail}")]
    Corrupt {
        /// The key of the record.
        key: String,
        /// What was wrong.
        detail: String,
    },
    /// An I/O error from the backend.
    #[error("storage I/O: {0}")]
    Io(String),
    /// The write would break a uniqueness rule (a username or e-mail address already taken);
    /// nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
}

/// Tenants.
pub trait TenantStore: Send + Sync {
    /// One tenant.
    fn tenant(&self, id: &str) -> Result<Option<Arc<Tenant>>, StoreError>;
    /// Every tenant, ordered by id.
    fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    /// Creates or replaces a tenant.
    fn put_tenant(&self, tenant: &Tenant) -> Commit;
    /// Deletes a tenant with everything it owns (clients, keys, tokens, revocations, users,
    /// authorization codes, sessions, consents, refresh tokens and families).
    fn delete_tenant(&self, id: &str) -> Commit;
}

/// Clients of a tenant.
pub trait ClientStore: Send + Sync {
    /// One client.
    fn client(&self, tenant: &str, client_id: &str) -> Result<Option<Arc<Client>>, StoreError>;
    /// Every client of a tenant, ordered by id.
    fn clients(&self, tenant: &str) -> Result<Vec<Client>, StoreError>;
    /// Creates or replaces a client.
    fn put_client(&self, client: &Client) -> Commit;
    /// Deletes a client.
    fn delete_client(&self, tenant: &str, client_id: &str) -> Commit;
}

/// Signing keys of a tenant.
pub trait KeyStore: Send + Sync {
    /// Every key of a tenant, oldest first.
    fn keys(&self, tenant: &str) -> Result<Vec<KeyRecord>, StoreError>;
    /// Creates or replaces a key record.
    fn put_key(&self, key: &KeyRecord) -> Commit;
    /// Deletes a key record.
    fn delete_key(&self, tenant: &str, kid: &str) -> Commit;
}

/// Opaque access tokens, keyed by the SHA-256 digest of their value. Backends drop expired
/// records on their own, incrementally.
pub trait TokenStore: Send + Sync {
    /// Stores an opaque token.
    fn put_opaque_token(&self, digest: &[u8; 32], token: &OpaqueToken) -> Commit;
    /// The token with this digest in this tenant, if stored (expired ones may still be returned:
    /// callers check `exp`).
    fn opaque_token(&self, tenant: &str, digest: &[u8; 32]) -> Result<Option<OpaqueToken>, StoreError>;
    /// Deletes an opaque token.
    fn delete_opaque_token(&self, tenant: &str, digest: &[u8; 32]) -> Commit;
}

/// The deny list of revoked JWTs.
pub trait RevocationStore: Send + Sync {
    /// Adds a revoked JWT; it stays until its `exp`.
    fn put_revocation(&self, revocation: &Revocation) -> Commit;
    /// Whether the JWT with this `jti` is revoked in this tenant.
    fn is_revoked(&self, tenant: &str, jti: &str) -> Result<bool, StoreError>;
}

/// Local users of a tenant. The backend keeps usernames and e-mail addresses unique per tenant,
/// regardless of case: the uniqueness check and the write are one atomic step, so of two
/// concurrent writes claiming one name exactly one succeeds.
pub trait UserStore: Send + Sync {
    /// One user by id.
    fn user(&self, tenant: &str, id: &str) -> Result<Option<User>, StoreError>;
    /// The user with this username, compared without regard to case.
    fn user_by_username(&self, tenant: &str, username: &str) -> Result<Option<User>, StoreError>;
    /// The user with this e-mail address, compared without regard to case.
    fn user_by_email(&self, tenant: &str, email: &str) -> Result<Option<User>, StoreError>;
    /// Every user of a tenant, ordered by username.
    fn users(&self, tenant: &str) -> Result<Vec<User>, StoreError>;
    /// Creates or replaces a user; fails with [`StoreError::Conflict`] if another user of the
    /// tenant has its username or e-mail address.
    fn put_user(&self, user: &User) -> Commit;
    /// Deletes a user and its index entries.
    fn delete_user(&self, tenant: &str, id: &str) -> Commit;
}

/// What taking an authorization code found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeTaken {
    /// The first take of a live code: redeem it. It is now marked used.
    Fresh(Code),
    /// A live code that was taken before: a replay. The server should revoke what the first
    /// redemption issued (RFC 6749 4.1.2, 10.5), which is why the record is handed back.
    Replayed(Code),
    /// No such code in this tenant, or it has expired.
    Unknown,
}

/// A code take in flight: resolves once the take (and the used marker it wrote) is durable.
pub type TakeCode = Pin<Box<dyn Future<Output = Result<CodeTaken, StoreError>> + Send + 'static>>;

/// Authorization codes, keyed by the SHA-256 digest of the code value (the value itself is never
/// stored). A code is single use: the backend decides, in one atomic step, whether a take is the
/// first, so of concurrent takes of one code exactly one is [`CodeTaken::Fresh`]. A taken code
/// is kept, marked used, until it expires, so that a replay is recognised as one; backends drop
/// expired codes on their own.
pub trait CodeStore: Send + Sync {
    /// Stores a new, unused code.
    fn put_code(&self, digest: &[u8; 32], code: &Code) -> Commit;
    /// Takes the code with this digest in this tenant: marks it used and says whether it was
    /// fresh, replayed or unknown (absent or expired).
    fn take_code(&self, tenant: &str, digest: &[u8; 32]) -> TakeCode;
}

/// SSO sessions, keyed by the SHA-256 digest of the session cookie's value (the value itself is
/// never stored). Backends drop expired sessions on their own.
pub trait SessionStore: Send + Sync {
    /// Stores a session, or replaces it (a new login in the same browser).
    fn put_session(&self, digest: &[u8; 32], session: &Session) -> Commit;
    /// The session with this digest in this tenant, if stored and not expired at `now`.
    fn session(&self, tenant: &str, digest: &[u8; 32], now: UnixSecs) -> Result<Option<Session>, StoreError>;
    /// Ends a session.
    fn delete_session(&self, tenant: &str, digest: &[u8; 32]) -> Commit;
}

/// Remembered consent, one record per (tenant, user, client). Deleted with the user, the
/// client or the tenant.
pub trait ConsentStore: Send + Sync {
    /// What this user granted this client, if anything.
    fn consent(&self, tenant: &str, user_id: &str, client_id: &str) -> Result<Option<Consent>, StoreError>;
    /// Stores (replaces) a consent record.
    fn put_consent(&self, consent: &Consent) -> Commit;
}

/// What presenting a refresh token found. Decided in one atomic step with the write that
/// follows from it, so of two concurrent uses of one token exactly one is [`RefreshUse::Rotated`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshUse {
    /// The family's current token: it is now rotated and the successor stored.
    Rotated(RefreshToken),
    /// A token rotated no longer than the grace period ago (a client's retry of a request
    /// whose answer it lost): the successor is stored too and the family lives on.
    Retried(RefreshToken),
    /// A token rotated longer ago than the grace period: a replay. The whole family is now
    /// revoked, its current token included; nothing was issued.
    Reused(RefreshToken),
    /// No such token in this tenant, expired, or of a revoked family.
    Unknown,
}

/// A refresh-token use in flight: resolves once its outcome (and the writes it made) is durable.
pub type UseRefresh = Pin<Box<dyn Future<Output = Result<RefreshUse, StoreError>> + Send + 'static>>;

/// Refresh tokens and their families, keyed by the SHA-256 digest of the token value.
/// Backends drop expired tokens and families on their own.
pub trait RefreshStore: Send + Sync {
    /// Stores the first token of a family, creating the family. Fails with
    /// [`StoreError::Conflict`] when the family exists and is revoked (the code it came from
    /// was replayed while it was being exchanged), writing nothing.
    fn put_refresh_token(&self, digest: &[u8; 32], token: &RefreshToken) -> Commit;
    /// The token with this digest and whether its family is revoked; `None` if absent or
    /// expired at `now`. For introspection, revocation and the checks before a rotation.
    fn refresh_token(
        &self,
        tenant: &str,
        digest: &[u8; 32],
        now: UnixSecs,
    ) -> Result<Option<(RefreshToken, bool)>, StoreError>;
    /// Presents the token with digest `digest` at `now` and, when it may be used (current, or
    /// rotated at most `grace_secs` ago), marks it rotated and stores `next` (same family,
    /// tenant and client, or the write is refused as corrupt) under `next_digest`.
    fn use_refresh_token(
        &self,
        tenant: &str,
        digest: &[u8; 32],
        next_digest: &[u8; 32],
        next: &RefreshToken,
        now: UnixSecs,
        grace_secs: u32,
    ) -> UseRefresh;
    /// Revokes a family: none of its tokens can be used again. A family not stored yet is
    /// recorded as revoked until `until`, so a first token arriving later is refused.
    fn revoke_refresh_family(&self, tenant: &str, family: &str, until: UnixSecs) -> Commit;
}

/// The whole store, with its [change feed](crate::changes), which node-local caches follow.
pub trait Store:
    TenantStore
    + ClientStore
    + KeyStore
    + TokenStore
    + RevocationStore
    + UserStore
    + CodeStore
    + SessionStore
    + ConsentStore
    + RefreshStore
    + crate::changes::ChangeFeed
    + 'static
{
    /// False once the store refuses writes (poisoned or closed): the readiness check fails.
    fn is_writable(&self) -> bool;
}
