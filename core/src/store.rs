//! The store interface the protocol runs on. Narrow traits, one per kind of record, so a handler
//! names exactly what it touches; [`Store`] is all of them together, implemented by the storage
//! crate (fjall today).
//!
//! Reads return a [`Read`]: a future, so that a backend across a network never blocks the
//! thread that serves requests. The embedded store answers from memory or its LSM tree at once
//! and hands back a ready `Read` without allocating; a network backend boxes its query. Writes
//! that must outlive the response return a [`Commit`]: a future that resolves only once an fsync
//! covers the write. Many writes share one fsync (group commit), so awaiting a commit is cheap
//! under load.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::audit::{EventPage, EventQuery};
use crate::listing::{UserPage, UserQuery};
use crate::model::{
    ApiKey, AuditEvent, Client, Code, Consent, FederatedLink, KeyRecord, Lockout, OpaqueToken, RefreshToken,
    Revocation, Role, Session, StoredFamily, Tenant, UnixSecs, User,
};
use crate::rbac::RoleSet;

/// A durable write in flight: resolves once the write is on disk, or failed.
pub type Commit = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'static>>;

/// A commit that has already failed (for validation errors found before any I/O).
pub fn failed_commit(err: StoreError) -> Commit {
    Box::pin(std::future::ready(Err(err)))
}

/// A read in flight: a future of the record (or records) asked for.
///
/// Backends that answer without waiting build it with [`Read::ready`], which costs nothing more
/// than the value; backends that wait on I/O box their future with [`Read::pending`].
#[must_use = "a read does nothing unless awaited"]
pub struct Read<T>(ReadState<T>);

enum ReadState<T> {
    /// The answer, until it is handed out by the first poll that sees it.
    Ready(Option<Result<T, StoreError>>),
    Pending(Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>),
}

impl<T> Read<T> {
    /// A read already answered.
    pub fn ready(result: Result<T, StoreError>) -> Self {
        Self(ReadState::Ready(Some(result)))
    }

    /// A read that waits on `future`.
    pub fn pending(future: impl Future<Output = Result<T, StoreError>> + Send + 'static) -> Self {
        Self(ReadState::Pending(Box::pin(future)))
    }
}

// `Read` never pins its value in place: the ready answer is moved out, and the pending future
// sits behind its own `Pin<Box>`. So it is `Unpin` whatever `T` is.
impl<T> Unpin for Read<T> {}

impl<T> Future for Read<T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().0 {
            // Polled again after it answered (which a caller should not do): an error, not a panic.
            ReadState::Ready(answer) => Poll::Ready(answer.take().unwrap_or(Err(StoreError::Closed))),
            ReadState::Pending(future) => future.as_mut().poll(cx),
        }
    }
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
    /// The backend cannot be reached for now (a database server lost or restarting): nothing
    /// was done, and the same request may succeed once it is back.
    #[error("the store is unreachable: {0}")]
    Unreachable(String),
    /// The write would break a uniqueness rule (a username or e-mail address already taken, a
    /// created id that exists) or a condition no longer holds (the tenant is gone, the current
    /// key is not the one expected); nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
}

/// Tenants.
pub trait TenantStore: Send + Sync {
    /// One tenant.
    fn tenant(&self, id: &str) -> Read<Option<Arc<Tenant>>>;
    /// Every tenant, ordered by id.
    fn tenants(&self) -> Read<Vec<Tenant>>;
    /// Creates or replaces a tenant.
    fn put_tenant(&self, tenant: &Tenant) -> Commit;
    /// Creates a tenant whose id is not taken. Fails with [`StoreError::Conflict`], writing
    /// nothing, if a tenant with its id is stored. The check and the write are one atomic step,
    /// so of concurrent creates of one id, from any number of processes sharing the store,
    /// exactly one succeeds. A create that follows a `delete_tenant` of the same id succeeds
    /// once the deletion is done, and the tenant starts empty.
    fn create_tenant(&self, tenant: &Tenant) -> Commit;
    /// Deletes a tenant with everything it owns (clients, keys, tokens, revocations, users,
    /// roles and their assignments, API keys, authorization codes, sessions, consents, federated
    /// links, refresh tokens and families).
    fn delete_tenant(&self, id: &str) -> Commit;
}

/// Clients of a tenant.
pub trait ClientStore: Send + Sync {
    /// One client.
    fn client(&self, tenant: &str, client_id: &str) -> Read<Option<Arc<Client>>>;
    /// Every client of a tenant, ordered by id.
    fn clients(&self, tenant: &str) -> Read<Vec<Client>>;
    /// Creates or replaces a client.
    fn put_client(&self, client: &Client) -> Commit;
    /// Creates a client whose id is not taken in its tenant, in a tenant that is stored. Fails
    /// with [`StoreError::Conflict`], writing nothing, if the tenant has a client with its id,
    /// or if the tenant is not stored (never created, or deleted). A create racing
    /// `delete_tenant` lands before the deletion, which removes it, or is refused: a client
    /// never outlives its tenant nor passes to a tenant re-created with the same id. Atomic
    /// like `create_tenant`: of concurrent creates exactly one succeeds.
    fn create_client(&self, client: &Client) -> Commit;
    /// Deletes a client with its consents and role assignments.
    fn delete_client(&self, tenant: &str, client_id: &str) -> Commit;
}

/// Signing keys of a tenant.
pub trait KeyStore: Send + Sync {
    /// Every key of a tenant, oldest first.
    fn keys(&self, tenant: &str) -> Read<Vec<KeyRecord>>;
    /// Creates or replaces a key record.
    fn put_key(&self, key: &KeyRecord) -> Commit;
    /// Makes `new` the current key of its algorithm for its tenant, provided the current key of
    /// that algorithm is still `expected_current` (`None`: the tenant has none, so `new` is its
    /// first). "Current" is the newest unretired key of the algorithm, as `rules::keys::current`
    /// defines it. In one atomic step the backend checks, then retires every unretired key of
    /// the algorithm (`retired_at` = `new.created_at`, `expires_at` = `retired_expires_at` or
    /// its later own) and stores `new`, as `rules::keys::rotate` decides. Fails with
    /// [`StoreError::Conflict`], writing nothing, if the current key is another (a concurrent
    /// rotation or first key won: of concurrent rotations that saw the same current key,
    /// across processes too, exactly one succeeds), if `new.kid` is stored already, or if the
    /// tenant is not stored; with [`StoreError::Corrupt`], writing nothing, if `new` is retired
    /// or expires.
    fn rotate_key(
        &self,
        new: &KeyRecord,
        expected_current: Option<&str>,
        retired_expires_at: UnixSecs,
    ) -> Commit;
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
    fn opaque_token(&self, tenant: &str, digest: &[u8; 32]) -> Read<Option<OpaqueToken>>;
    /// Deletes an opaque token.
    fn delete_opaque_token(&self, tenant: &str, digest: &[u8; 32]) -> Commit;
}

/// Whether a JWT is on the deny list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtStatus {
    /// Not revoked (its signature and `exp` are the caller's to check).
    NotRevoked,
    /// Revoked before its `exp`.
    Revoked,
}

/// The deny list of revoked JWTs.
pub trait RevocationStore: Send + Sync {
    /// Adds a revoked JWT; it stays until its `exp`.
    fn put_revocation(&self, revocation: &Revocation) -> Commit;
    /// Whether the JWT with this `jti` is revoked in this tenant.
    fn jwt_status(&self, tenant: &str, jti: &str) -> Read<JwtStatus>;
}

/// Local users of a tenant. The backend keeps usernames and e-mail addresses unique per tenant,
/// regardless of case, in one namespace (the login form accepts either, so no user's username
/// or address may be another user's username or address; a user's own username may equal its
/// own address): the uniqueness check and the write are one atomic step, so of two
/// concurrent writes claiming one name exactly one succeeds. "The same name" is exactly
/// [`crate::model::fold_case`] (NFKC, Unicode full case folding, NFKC: compatibility forms and
/// case fold together, accents and scripts do not) on every backend; a backend indexes the folded value core computes, never a
/// collation of its own.
pub trait UserStore: Send + Sync {
    /// One user by id.
    fn user(&self, tenant: &str, id: &str) -> Read<Option<User>>;
    /// The user with this username, compared without regard to case.
    fn user_by_username(&self, tenant: &str, username: &str) -> Read<Option<User>>;
    /// The user with this e-mail address, compared without regard to case.
    fn user_by_email(&self, tenant: &str, email: &str) -> Read<Option<User>>;
    /// Every user of a tenant, ordered by username. Reads the whole tenant: for tests and
    /// tools; the admin API lists users a page at a time with [`UserStore::list_users`].
    fn users(&self, tenant: &str) -> Read<Vec<User>>;
    /// One page of the tenant's users: those that match `query` ([`UserQuery::matches`]) with
    /// an id after `query.after`, in id order (byte order), at most `query.limit` (at least
    /// one), and whether more match after the last. The backend reads a bounded range, never
    /// the whole tenant into memory: at most one more matching user than the page holds
    /// (a `username` or `email` filter is answered through its uniqueness index). Ids never
    /// change, so walking every page meets each user stored throughout exactly once, however
    /// many are added, renamed or deleted meanwhile.
    fn list_users(&self, tenant: &str, query: &UserQuery) -> Read<UserPage>;
    /// Creates or replaces a user; fails with [`StoreError::Conflict`] if another user of the
    /// tenant has its username or e-mail address.
    fn put_user(&self, user: &User) -> Commit;
    /// Deletes a user, its index entries, its role assignments, its consents and its federated
    /// links.
    fn delete_user(&self, tenant: &str, id: &str) -> Commit;
}

/// Who holds a role assignment: a local user, or a client (for the tokens it gets for itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject<'a> {
    /// A user, by id.
    User(&'a str),
    /// A client, by `client_id`.
    Client(&'a str),
}

/// Roles of a tenant and their assignments to users and clients. Assignments are records of
/// their own, by role id; a role's name is unique per tenant regardless of ASCII case.
pub trait RoleStore: Send + Sync {
    /// Every role of a tenant. Read at every token issue, so a backend answers it from memory
    /// (kept current like its other caches; the whole set is bounded by
    /// [`crate::model::MAX_ROLES_PER_TENANT`]).
    fn roles(&self, tenant: &str) -> Read<Arc<RoleSet>>;
    /// Creates a role. Fails with [`StoreError::Conflict`], writing nothing, if the tenant is
    /// not stored, a role with its id is stored, another role has its name, or the tenant has
    /// [`crate::model::MAX_ROLES_PER_TENANT`] roles. Checked and written in one atomic step.
    fn create_role(&self, role: &Role) -> Commit;
    /// Replaces a stored role. Fails with [`StoreError::Conflict`], writing nothing, if it is
    /// not stored (deleted meanwhile: a change never brings a role back) or another role has
    /// its new name.
    fn update_role(&self, role: &Role) -> Commit;
    /// Deletes a role and every assignment of it; deleting a role that is not stored succeeds.
    fn delete_role(&self, tenant: &str, id: &str) -> Commit;
    /// The ids of the roles assigned to `subject`, in id order. Read at every token issue:
    /// answered from memory like [`RoleStore::roles`]. Ids of roles deleted meanwhile may
    /// linger until the deletion is done; [`RoleSet::entitlements`] skips them.
    fn roles_of(&self, tenant: &str, subject: Subject<'_>) -> Read<Arc<Vec<String>>>;
    /// Assigns role `role_id` to `subject`; assigning it again succeeds and changes nothing.
    /// Fails with [`StoreError::Conflict`], writing nothing, if the role or the subject is not
    /// stored, or the subject holds [`crate::model::MAX_ROLES_PER_SUBJECT`] roles already.
    /// Checked and written in one atomic step, so an assignment never outlives its role or
    /// its subject.
    fn assign_role(&self, tenant: &str, subject: Subject<'_>, role_id: &str) -> Commit;
    /// Removes an assignment; removing one that is not there succeeds.
    fn unassign_role(&self, tenant: &str, subject: Subject<'_>, role_id: &str) -> Commit;
}

/// API keys of a tenant, by id.
pub trait ApiKeyStore: Send + Sync {
    /// One API key.
    fn api_key(&self, tenant: &str, id: &str) -> Read<Option<ApiKey>>;
    /// Every API key of a tenant, ordered by id.
    fn api_keys(&self, tenant: &str) -> Read<Vec<ApiKey>>;
    /// Stores a new API key. Fails with [`StoreError::Conflict`], writing nothing, if its id is
    /// taken or its tenant is not stored (as `create_client`).
    fn create_api_key(&self, key: &ApiKey) -> Commit;
    /// Replaces a stored API key (a rotation, its last use). Fails with
    /// [`StoreError::Conflict`], writing nothing, if it is not stored: a key deleted (revoked)
    /// meanwhile is never brought back by a late write.
    fn update_api_key(&self, key: &ApiKey) -> Commit;
    /// Deletes (revokes) an API key; deleting one that is not stored succeeds.
    fn delete_api_key(&self, tenant: &str, id: &str) -> Commit;
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

/// A use of a JWT bearer assertion in flight: resolves to whether it was the first, once the
/// record of it is durable.
pub type UseAssertion = Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'static>>;

/// JWT bearer assertions already exchanged (RFC 7523 3: a `jti` is single use), keyed by
/// the SHA-256 digest of the issuer and `jti` (`crate::grants::jwt_bearer::assertion_digest`).
/// The backend decides, in one atomic step, whether a use is the first, so of concurrent uses
/// of one assertion exactly one is `true`, on every node of a shared backend; the record is
/// durable before the answer, so a restart still refuses a replay.
pub trait AssertionStore: Send + Sync {
    /// Records the assertion with digest `digest` in `tenant` as used until `until` (checked
    /// with `UsedAssertion::validate`: a valid tenant id). `true` when no live record of it
    /// was stored: the first use. A record whose `until` has passed by the store's clock
    /// counts as absent (the assertion it guarded can no longer be accepted) and is replaced;
    /// the backend removes such records on its own, and every record of a tenant with it.
    fn use_assertion(&self, tenant: &str, digest: &[u8; 32], until: UnixSecs) -> UseAssertion;
}

/// SSO sessions, keyed by the SHA-256 digest of the session cookie's value (the value itself is
/// never stored). Backends drop expired sessions on their own.
pub trait SessionStore: Send + Sync {
    /// Stores a session, or replaces it (a new login in the same browser).
    fn put_session(&self, digest: &[u8; 32], session: &Session) -> Commit;
    /// The session with this digest in this tenant, if stored and not expired at `now`.
    fn session(&self, tenant: &str, digest: &[u8; 32], now: UnixSecs) -> Read<Option<Session>>;
    /// Ends a session.
    fn delete_session(&self, tenant: &str, digest: &[u8; 32]) -> Commit;
    /// Ends every session of user `user_id` (`auth.sub`) in `tenant`, wherever its browser is:
    /// for a password change or the user's deletion. Once the commit resolves none of them is
    /// read again; sessions of other users, and of the same id in other tenants, stay. A
    /// session put after the commit resolved is not affected. The backend finds the sessions
    /// by user (the work is bounded by that user's sessions, not by the tenant's).
    fn end_sessions_of_user(&self, tenant: &str, user_id: &str) -> Commit;
}

/// Remembered consent, one record per (tenant, user, client). Deleted with the user, the
/// client or the tenant.
pub trait ConsentStore: Send + Sync {
    /// What this user granted this client, if anything.
    fn consent(&self, tenant: &str, user_id: &str, client_id: &str) -> Read<Option<Consent>>;
    /// Stores (replaces) a consent record.
    fn put_consent(&self, consent: &Consent) -> Commit;
}

/// Links of upstream accounts to local users (identity brokering). One link per (tenant, idp,
/// subject); deleted with the user and with the tenant.
///
/// An upstream `sub` is any string of 1 to 255 bytes without control characters
/// ([`crate::model::is_valid_federated_subject`]), kept and compared exactly as sent. Reads by
/// ids or a subject no link can have answer absent (or nothing), never corrupt.
pub trait FederationStore: Send + Sync {
    /// The link of upstream account `subject` at identity provider `idp` in `tenant`.
    fn federated_link(&self, tenant: &str, idp: &str, subject: &str) -> Read<Option<FederatedLink>>;
    /// Creates `link` unless one exists for its (tenant, idp, subject): `Ok(None)` when it was
    /// created, `Ok(Some(existing))` when one already existed (left unchanged). One atomic step:
    /// of concurrent creates of one key exactly one is created, on every node of a shared
    /// backend. Durable before it resolves (an existing link too: it may have been created an
    /// instant before). Refuses an invalid link ([`FederatedLink::validate`]) with
    /// [`StoreError::Corrupt`], writing nothing, as the other writes refuse invalid records.
    /// Neither the tenant nor the user is checked: the caller links a user it has just read or
    /// created.
    fn create_federated_link(&self, link: &FederatedLink) -> Read<Option<FederatedLink>>;
    /// Deletes the link of (tenant, idp, subject), if any.
    fn delete_federated_link(&self, tenant: &str, idp: &str, subject: &str) -> Commit;
    /// Every link of local user `user_id` in `tenant`, ordered by identity provider id, then
    /// subject (byte order). At most a handful; the backend reads the user's key range, never
    /// the tenant's links.
    fn federated_links_of_user(&self, tenant: &str, user_id: &str) -> Read<Vec<FederatedLink>>;
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

/// Whether a refresh token's family may still be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FamilyStatus {
    /// The family lives: its current token can be rotated.
    Live,
    /// The family was revoked (a reuse, a revocation, a replayed code): none of its tokens work.
    Revoked,
}

/// A stored refresh token, as read for introspection, revocation and the checks before a use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundRefresh {
    /// The token's record.
    pub token: RefreshToken,
    /// The standing of its family.
    pub family: FamilyStatus,
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
    /// The token with this digest and the standing of its family; `None` if absent or
    /// expired at `now`. For introspection, revocation and the checks before a rotation.
    fn refresh_token(&self, tenant: &str, digest: &[u8; 32], now: UnixSecs) -> Read<Option<FoundRefresh>>;
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
    /// Revokes every family of end-user `sub` in `tenant`, each as `revoke_refresh_family`
    /// does (kept, revoked, at least until `until`): for a password change or the user's
    /// deletion. Once the commit resolves no token of those families can be used, and reading
    /// one says its family is revoked; families of other users, and of the same `sub` in other
    /// tenants, stay. A family founded after the commit resolved is not affected. The backend
    /// finds the families by user (the work is bounded by that user's families).
    fn revoke_families_of_user(&self, tenant: &str, sub: &str, until: UnixSecs) -> Commit;
    /// The live families (not revoked, `expires_at` after `now`) of end-user `sub` in `tenant`,
    /// ordered by family id (byte order): the long-lived grants an operator lists for a
    /// subject, whether or not it is a local user. Revoked and expired families, tombstones,
    /// other subjects' families and the same `sub` in other tenants are left out; a `sub` or
    /// tenant no family can name reads as none. The backend reads the subject's key range
    /// (the work is bounded by that subject's families), never the tenant's.
    fn families_of_subject(&self, tenant: &str, sub: &str, now: UnixSecs) -> Read<Vec<StoredFamily>>;
}

/// Audit events, kept per tenant in id (time) order, append-only.
///
/// Appending never makes a caller wait for the disk, so a request path can record an event
/// at no cost beyond queueing it: the backend writes events in its ordinary group commits
/// (with the writes around them, never alone in a commit of their own if others are waiting)
/// and makes them durable within a bounded delay even when nothing else is written. An
/// event is dropped, not queued without bound, when the backend is busy: events must never
/// crowd out the writes a response waits for.
///
/// Retention is the backend's: it removes a tenant's events older than the tenant's
/// `settings.audit_retention_days` (as the setting reads when it sweeps, so a changed
/// retention applies to events already stored), incrementally and on its own, and every
/// event of a tenant with the tenant.
pub trait EventStore: Send + Sync {
    /// Queues an event (checked with [`AuditEvent::validate`]) without waiting. `Err` at once
    /// when it is refused: invalid, or the backend busy or closed (the caller counts a drop).
    /// Otherwise the returned [`Commit`] resolves once the event is durable; request paths
    /// drop it. An event of a tenant that is not stored is dropped by the backend, and its
    /// commit fails with [`StoreError::Conflict`].
    fn append_event(&self, event: &AuditEvent) -> Result<Commit, StoreError>;
    /// One page of the tenant's events, newest first, as [`crate::audit::PageBuilder`] builds
    /// it: those matching `query` below its cursor, at most `query.limit`, reading at most
    /// [`crate::audit::MAX_SCANNED`] events.
    fn list_events(&self, tenant: &str, query: &EventQuery) -> Read<EventPage>;
}

/// Lockouts of the password-attempt limits (`crate::model::Lockout`), so a restarted server
/// keeps refusing what it refused. Written only when a limit starts refusing, never per
/// attempt, and read once, when a server starts.
///
/// Expiry is the backend's: a lockout is never returned once its `until` has passed, and the
/// backend removes it on its own some time after; every lockout of a tenant goes with the
/// tenant.
pub trait LockoutStore: Send + Sync {
    /// Stores a lockout (checked with [`Lockout::validate`]), replacing the one of the same
    /// tenant, limit, address and username.
    fn put_lockout(&self, lockout: &Lockout) -> Commit;
    /// Every lockout of every tenant still live at `now` (its `until` after `now`).
    fn live_lockouts(&self, now: UnixSecs) -> Read<Vec<Lockout>>;
}

/// The section [`Store::exclusive`] holds, until dropped.
#[derive(Default)]
pub struct Exclusive(Option<Box<dyn Send + Sync>>);

impl Exclusive {
    /// Held by `guard`, whose drop releases the section.
    pub fn held_by(guard: impl Send + Sync + 'static) -> Self {
        Self(Some(Box::new(guard)))
    }
}

impl std::fmt::Debug for Exclusive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Exclusive(held)" } else { "Exclusive(local)" })
    }
}

/// The whole store, with its [change feed](crate::changes), which node-local caches follow.
///
/// Promises every backend keeps, beyond each trait's own:
/// - **Durability and visibility.** A write is durable once its [`Commit`] resolved `Ok`, and from
///   then on every read sees it (on every node, for a shared backend). A failed commit wrote
///   nothing. One bounded exception, for a shared backend: another node may keep serving its
///   copy of a tenant or a client until the change feed reaches it (at once with LISTEN/NOTIFY,
///   within the poll interval without); reads inside [`Store::exclusive`] never do.
/// - **Order.** Two writes are ordered only when the second was submitted after the first's
///   commit resolved. The embedded store happens to apply writes in submission order, but a
///   pooled network backend does not: a caller that needs an order awaits.
/// - **Ids.** A read by an id that no record can have (empty, too long, a `/` or a NUL in it)
///   answers absent, never corrupt and never another record; a write under one is refused.
pub trait Store:
    TenantStore
    + ClientStore
    + KeyStore
    + TokenStore
    + RevocationStore
    + UserStore
    + RoleStore
    + ApiKeyStore
    + CodeStore
    + SessionStore
    + ConsentStore
    + RefreshStore
    + EventStore
    + LockoutStore
    + AssertionStore
    + FederationStore
    + crate::changes::ChangeFeed
    + 'static
{
    /// False once the store refuses writes (poisoned or closed): the readiness check fails.
    fn is_writable(&self) -> bool;
    /// Waits until no other process sharing the store holds its exclusive section, then holds
    /// it until the returned guard is dropped. For read-modify-write sequences of records a
    /// person changes (an admin's PATCH reads the record, changes it, writes it back): two
    /// nodes doing that at once to one record would otherwise lose one change. Callers in one
    /// process serialize among themselves first; this orders the processes. A backend only
    /// one process can open (the embedded store) has nothing to order: the default.
    fn exclusive(&self) -> Read<Exclusive> {
        Read::ready(Ok(Exclusive::default()))
    }
    /// Lets every write already submitted finish (each still resolves its [`Commit`]), makes
    /// them durable and releases the backend (threads, files, connections). Later writes fail
    /// with [`StoreError::Closed`]. Idempotent; fails if the store could not make the writes
    /// durable (for instance when it is poisoned).
    fn close(&self) -> Read<()>;
}
