//! [`FjallStore`]: opening the database, submitting writes to the writer, and shutdown; the read
//! paths are in `reads`. The `tessera_core::store` traits are implemented here.

use std::future::ready;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread::JoinHandle;

use fjall::{Database, KeyspaceCreateOptions, PersistMode};
use parking_lot::Mutex;
use tessera_core::audit::{EventPage, EventQuery};
use tessera_core::changes::{ChangeFeed, ChangeListener};
use tessera_core::grants::authorization_code::Code;
use tessera_core::listing::{UserPage, UserQuery};
use tessera_core::model::{
    AuditEvent, Client, Consent, KeyRecord, OpaqueToken, RefreshToken, Revocation, Session, Tenant, UnixSecs,
    UsedAssertion, User,
};
use tessera_core::store::{
    AssertionStore, ClientStore, CodeStore, CodeTaken, Commit, ConsentStore, EventStore, FoundRefresh,
    JwtStatus, KeyStore, Read, RefreshStore, RefreshUse, RevocationStore, SessionStore, Store, StoreError,
    TakeCode, TenantStore, TokenStore, UseAssertion, UseRefresh, UserStore, failed_commit,
};
use tokio::sync::oneshot;

use crate::codec::{self, StoredCode, StoredFamily};
use crate::keys::{self, Space};
use crate::options::StoreOptions;
use crate::state::{Caches, Shared, Stored, io};
use crate::stats::BucketsSnapshot;
use crate::sweeper::{self, Sweeper};
use crate::writer::{self, Limits, Request, WriteOp, Writer};

/// The fjall-backed [`Store`]. Cheap reads from caches and fjall, durable writes through one
/// group-committing writer thread, and a background sweeper for expired records.
///
/// Dropping it closes it (see [`FjallStore::close`]).
pub struct FjallStore {
    pub(crate) shared: Arc<Shared>,
    tx: SyncSender<Request>,
    threads: Mutex<Threads>,
    sweep_batch_max: usize,
    /// Most audit events queued for the writer at once: a quarter of the queue, so that
    /// events never crowd out the writes responses wait for.
    max_queued_events: usize,
}

/// The group commits so far ([`FjallStore::commit_reading`]).
#[derive(Clone, Debug)]
pub struct CommitReading {
    /// Each round's duration, from its first write applied to its fsync done, in µs.
    pub micros: BucketsSnapshot,
    /// Each round's size: the writes its fsync made durable.
    pub group_size: BucketsSnapshot,
}

/// Hits and misses of the record caches so far ([`FjallStore::cache_reading`]).
#[derive(Clone, Copy, Debug)]
pub struct CacheReading {
    /// `(hits, misses)` of the tenant cache.
    pub tenants: (u64, u64),
    /// `(hits, misses)` of the client cache.
    pub clients: (u64, u64),
}

struct Threads {
    writer: Option<JoinHandle<()>>,
    sweeper: Option<Sweeper>,
}

impl FjallStore {
    /// Opens (or creates) the store in `path`, replaying fjall's journal so every acknowledged
    /// write is back, and loads the deny list. Starts the writer and, if configured, the sweeper.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        let db = Database::builder(path)
            .cache_size(options.block_cache_bytes)
            // The writer persists once per round; no flush to the OS per batch.
            .manual_journal_persist(true)
            .open()
            .map_err(io)?;
        let spaces = Space::ALL
            .iter()
            .map(|space| db.keyspace(space.name(), KeyspaceCreateOptions::default))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        let shared = Arc::new(Shared::new(
            db,
            spaces,
            Caches::with_capacities(options.tenant_cache_capacity, options.client_cache_capacity),
            options.clock.clone(),
        ));
        load_deny_list(&shared)?;
        crate::backfill::by_user_indexes(&shared)?;
        crate::refold::name_indexes(&shared)?;

        let (tx, rx) = mpsc::sync_channel(options.write_queue_capacity.max(1));
        let limits = Limits {
            max_batch_writes: options.max_batch_writes.max(1),
            max_batch_bytes: options.max_batch_bytes.max(1),
            delete_chunk_records: options.delete_chunk_records.max(1),
            max_deferred: options.write_queue_capacity.max(1),
            event_durable_within: options.event_durable_within,
        };
        let writer = Writer::new(Arc::clone(&shared), rx, limits);
        let writer = std::thread::Builder::new()
            .name("tessera-store-writer".to_owned())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Io(format!("starting the writer thread: {e}")))?;
        let sweep_batch_max = options.sweep_batch_max.max(1);
        let sweeper = match options.sweep_interval {
            Some(interval) => Some(
                Sweeper::spawn(Arc::clone(&shared), tx.clone(), interval, sweep_batch_max)
                    .map_err(|e| StoreError::Io(format!("starting the sweeper thread: {e}")))?,
            ),
            None => None,
        };
        Ok(Self {
            shared,
            tx,
            threads: Mutex::new(Threads { writer: Some(writer), sweeper }),
            sweep_batch_max,
            max_queued_events: (options.write_queue_capacity / 4).max(1),
        })
    }

    /// Stops the sweeper, lets the writer finish everything queued (each write still resolves
    /// its `Commit`), joins it and syncs the journal. Later writes fail with
    /// `StoreError::Closed`. Blocks; idempotent. Fails if the store is poisoned.
    pub fn close(&self) -> Result<(), StoreError> {
        self.shared.mark_closed();
        let mut threads = self.threads.lock();
        if let Some(sweeper) = threads.sweeper.take() {
            sweeper.stop();
        }
        if let Some(writer) = threads.writer.take() {
            // Blocking send: a full queue drains, since the writer is running.
            let _ = self.tx.send(Request::Close);
            if writer.join().is_err() {
                tracing::error!("store writer thread panicked");
            }
        }
        if self.shared.is_poisoned() {
            return Err(StoreError::Poisoned);
        }
        self.shared.db.persist(PersistMode::SyncAll).map_err(io)
    }

    /// How many times the writer has called fsync (one per group commit).
    pub fn persist_count(&self) -> u64 {
        self.shared.persists()
    }

    /// How many writes have been acknowledged as durable.
    pub fn committed_write_count(&self) -> u64 {
        self.shared.committed_writes()
    }

    /// The group commits so far: durations and sizes, for the metrics.
    pub fn commit_reading(&self) -> CommitReading {
        let stats = &self.shared.stats;
        CommitReading { micros: stats.commit_micros.snapshot(), group_size: stats.group_size.snapshot() }
    }

    /// Hits and misses of the tenant and client caches so far, for the metrics.
    pub fn cache_reading(&self) -> CacheReading {
        CacheReading { tenants: self.shared.tenants.counts(), clients: self.shared.clients.counts() }
    }

    /// Live entries of the in-memory deny list.
    pub fn revocation_count(&self) -> usize {
        self.shared.deny.len()
    }

    /// Runs one sweep round now: deletes up to `sweep_batch_max` records that have expired by
    /// the store's clock, with their index entries, and returns how many index entries it
    /// handled (a full batch means more may be due). Blocks until the writer has applied it;
    /// the background sweeper calls the same thing.
    pub fn sweep_expired(&self) -> Result<usize, StoreError> {
        sweeper::sweep_round(&self.shared, &self.tx, self.sweep_batch_max)
    }

    /// Makes the next fsync fail, as a dying disk would: for tests of poisoning.
    #[doc(hidden)]
    pub fn inject_persist_failure(&self) {
        self.shared.arm_persist_failure();
    }

    /// Queues a write; the returned `Commit` resolves once it is durable.
    pub(crate) fn submit(&self, op: WriteOp) -> Commit {
        if let Some(refused) = self.shared.refusal() {
            return failed_commit(refused);
        }
        let (done, rx) = oneshot::channel();
        match self.tx.try_send(Request::Write { op, done }) {
            Ok(()) => {
                let shared = Arc::clone(&self.shared);
                Box::pin(async move {
                    // The writer completes every waiter; a dropped one means it stopped.
                    rx.await.unwrap_or_else(|_| Err(shared.refusal().unwrap_or(StoreError::Closed)))
                })
            }
            // Shedding load beats blocking an async worker on a full queue.
            Err(TrySendError::Full(_)) => failed_commit(StoreError::Busy("write queue full".to_owned())),
            Err(TrySendError::Disconnected(_)) => failed_commit(StoreError::Closed),
        }
    }

    fn put<T: Stored>(&self, key: Option<Vec<u8>>, record: &T, what: &str) -> Commit {
        let Some(key) = key else {
            return failed_commit(StoreError::Corrupt {
                key: format!("{}:?", T::SPACE.name()),
                detail: format!("refusing to write: {what} has an invalid id"),
            });
        };
        match codec::encode(&key, record) {
            Ok(value) => self.submit(WriteOp::Put { space: T::SPACE, key, value, exp: record.exp() }),
            Err(err) => failed_commit(err),
        }
    }

    /// Queues the creation of a record that does not expire: refused in the writer if its key
    /// is taken or its tenant is not stored.
    fn create<T: Stored>(&self, key: Option<Vec<u8>>, record: &T, what: &str) -> Commit {
        let Some(key) = key else {
            return failed_commit(invalid(T::SPACE, what));
        };
        match codec::encode(&key, record) {
            Ok(value) => self.submit(WriteOp::Create { space: T::SPACE, key, value }),
            Err(err) => failed_commit(err),
        }
    }

    fn delete(&self, space: Space, key: Option<Vec<u8>>) -> Commit {
        match key {
            Some(key) => self.submit(WriteOp::Delete { space, key }),
            // No record can live under an invalid key: deleting it is done already.
            None => Box::pin(ready(Ok(()))),
        }
    }
}

impl Drop for FjallStore {
    fn drop(&mut self) {
        if let Err(err) = self.close() {
            tracing::warn!(error = %err, "store closed with an error");
        }
    }
}

/// Fills the deny list from disk. A revocation that does not decode stays revoked (its key
/// names the token) rather than silently un-revoking a token; it is logged for an operator.
fn load_deny_list(shared: &Shared) -> Result<(), StoreError> {
    let now = shared.now();
    for guard in shared.space(Space::Revocations).iter() {
        let (key, value) = guard.into_inner().map_err(io)?;
        match codec::decode::<Revocation>(&key, &value) {
            Ok(r) if r.exp > now => shared.deny.insert(&r.tenant, &r.jti, r.exp),
            Ok(_) => {} // expired: the sweeper deletes it
            Err(err) => {
                tracing::error!(error = %err, "corrupt revocation kept on the deny list");
                let parts = keys::split_scoped(&key)
                    .and_then(|(t, j)| Some((std::str::from_utf8(t).ok()?, std::str::from_utf8(j).ok()?)));
                if let Some((tenant, jti)) = parts {
                    shared.deny.insert(tenant, jti, i64::MAX);
                }
            }
        }
    }
    Ok(())
}

impl TenantStore for FjallStore {
    fn tenant(&self, id: &str) -> Read<Option<Arc<Tenant>>> {
        Read::ready(self.tenant_now(id))
    }

    fn tenants(&self) -> Read<Vec<Tenant>> {
        Read::ready(self.tenants_now())
    }

    fn put_tenant(&self, tenant: &Tenant) -> Commit {
        self.put(keys::tenant_key(&tenant.id), tenant, "tenant")
    }

    fn create_tenant(&self, tenant: &Tenant) -> Commit {
        self.create(keys::tenant_key(&tenant.id), tenant, "tenant")
    }

    fn delete_tenant(&self, id: &str) -> Commit {
        match keys::tenant_key(id) {
            Some(key) => self.submit(WriteOp::DeleteTenant { tenant: key.into() }),
            None => Box::pin(ready(Ok(()))),
        }
    }
}

impl ClientStore for FjallStore {
    fn client(&self, tenant: &str, client_id: &str) -> Read<Option<Arc<Client>>> {
        Read::ready(self.client_now(tenant, client_id))
    }

    fn clients(&self, tenant: &str) -> Read<Vec<Client>> {
        Read::ready(self.clients_now(tenant))
    }

    fn put_client(&self, client: &Client) -> Commit {
        self.put(keys::client_key(&client.tenant, &client.client_id), client, "client")
    }

    fn create_client(&self, client: &Client) -> Commit {
        self.create(keys::client_key(&client.tenant, &client.client_id), client, "client")
    }

    fn delete_client(&self, tenant: &str, client_id: &str) -> Commit {
        // Through its own op: the client's consents go in the same batch.
        match keys::client_key(tenant, client_id) {
            Some(key) => self.submit(WriteOp::DeleteClient { key }),
            None => Box::pin(ready(Ok(()))),
        }
    }
}

impl KeyStore for FjallStore {
    fn keys(&self, tenant: &str) -> Read<Vec<KeyRecord>> {
        Read::ready(self.keys_now(tenant))
    }

    fn put_key(&self, key: &KeyRecord) -> Commit {
        self.put(keys::scoped_key(&key.tenant, key.kid.as_bytes()), key, "key")
    }

    fn rotate_key(
        &self,
        new: &KeyRecord,
        expected_current: Option<&str>,
        retired_expires_at: UnixSecs,
    ) -> Commit {
        let Some(key) = keys::scoped_key(&new.tenant, new.kid.as_bytes()) else {
            return failed_commit(invalid(Space::Keys, "key"));
        };
        match codec::encode(&key, new) {
            Ok(value) => self.submit(WriteOp::RotateKey(Box::new(writer::RotateKey {
                key,
                value,
                new: new.clone(),
                expected_current: expected_current.map(str::to_owned),
                retired_expires_at,
            }))),
            Err(err) => failed_commit(err),
        }
    }

    fn delete_key(&self, tenant: &str, kid: &str) -> Commit {
        self.delete(Space::Keys, keys::scoped_key(tenant, kid.as_bytes()))
    }
}

impl TokenStore for FjallStore {
    fn put_opaque_token(&self, digest: &[u8; 32], token: &OpaqueToken) -> Commit {
        self.put(keys::scoped_key(&token.tenant, digest), token, "opaque token")
    }

    fn opaque_token(&self, tenant: &str, digest: &[u8; 32]) -> Read<Option<OpaqueToken>> {
        Read::ready(self.opaque_token_now(tenant, digest))
    }

    fn delete_opaque_token(&self, tenant: &str, digest: &[u8; 32]) -> Commit {
        self.delete(Space::Tokens, keys::scoped_key(tenant, digest))
    }
}

impl RevocationStore for FjallStore {
    fn put_revocation(&self, revocation: &Revocation) -> Commit {
        let key = keys::scoped_key(&revocation.tenant, revocation.jti.as_bytes());
        self.put(key, revocation, "revocation")
    }

    fn jwt_status(&self, tenant: &str, jti: &str) -> Read<JwtStatus> {
        Read::ready(self.jwt_status_now(tenant, jti))
    }
}

impl UserStore for FjallStore {
    fn user(&self, tenant: &str, id: &str) -> Read<Option<User>> {
        Read::ready(self.user_now(tenant, id))
    }

    fn user_by_username(&self, tenant: &str, username: &str) -> Read<Option<User>> {
        Read::ready(self.user_by_index(Space::UserNames, tenant, username))
    }

    fn user_by_email(&self, tenant: &str, email: &str) -> Read<Option<User>> {
        Read::ready(self.user_by_index(Space::UserEmails, tenant, email))
    }

    fn users(&self, tenant: &str) -> Read<Vec<User>> {
        Read::ready(self.users_now(tenant))
    }

    fn list_users(&self, tenant: &str, query: &UserQuery) -> Read<UserPage> {
        Read::ready(self.list_users_now(tenant, query))
    }

    fn put_user(&self, user: &User) -> Commit {
        let Some(key) = keys::user_key(&user.tenant, &user.id) else {
            return failed_commit(StoreError::Corrupt {
                key: format!("{}:?", Space::Users.name()),
                detail: "refusing to write: user has an invalid id".to_owned(),
            });
        };
        match codec::encode(&key, user) {
            Ok(value) => self.submit(WriteOp::PutUser { key, value, user: Box::new(user.clone()) }),
            Err(err) => failed_commit(err),
        }
    }

    fn delete_user(&self, tenant: &str, id: &str) -> Commit {
        match keys::user_key(tenant, id) {
            Some(key) => self.submit(WriteOp::DeleteUser { key }),
            None => Box::pin(ready(Ok(()))),
        }
    }
}

impl CodeStore for FjallStore {
    fn put_code(&self, digest: &[u8; 32], code: &Code) -> Commit {
        let stored = StoredCode { used: false, code: code.clone() };
        self.put(keys::scoped_key(&code.tenant, digest), &stored, "authorization code")
    }

    fn take_code(&self, tenant: &str, digest: &[u8; 32]) -> TakeCode {
        // No code can live under an invalid tenant, nor in one being deleted.
        let key = match keys::scoped_key(tenant, digest) {
            Some(key) if !self.shared.is_deleting(tenant) => key,
            _ => return Box::pin(ready(Ok(CodeTaken::Unknown))),
        };
        self.decided(|outcome| WriteOp::TakeCode { key, outcome })
    }
}

impl AssertionStore for FjallStore {
    fn use_assertion(&self, tenant: &str, digest: &[u8; 32], until: UnixSecs) -> UseAssertion {
        let record = UsedAssertion { tenant: tenant.to_owned(), expires_at: until };
        let Some(key) = keys::scoped_key(tenant, digest) else {
            return Box::pin(ready(Err(invalid(Space::Assertions, "used assertion"))));
        };
        let value = match codec::encode(&key, &record) {
            Ok(value) => value,
            Err(err) => return Box::pin(ready(Err(err))),
        };
        self.decided(|outcome| WriteOp::UseAssertion { key, value, exp: until, outcome })
    }
}

/// A refusal before any I/O, for a record that cannot be written under the key it would get.
pub(crate) fn invalid(space: Space, what: &str) -> StoreError {
    StoreError::Corrupt {
        key: format!("{}:?", space.name()),
        detail: format!("refusing to write: {what} has an invalid id"),
    }
}

impl FjallStore {
    /// Submits an op that sends its outcome before its commit resolves, and waits for both.
    pub(crate) fn decided<T: Send + 'static>(
        &self,
        op: impl FnOnce(oneshot::Sender<T>) -> WriteOp,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, StoreError>> + Send + 'static>> {
        let (outcome, found) = oneshot::channel();
        let durable = self.submit(op(outcome));
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            durable.await?;
            // The writer sends the outcome before it completes `durable` with `Ok`.
            found.await.map_err(|_| shared.refusal().unwrap_or(StoreError::Closed))
        })
    }
}

impl SessionStore for FjallStore {
    fn put_session(&self, digest: &[u8; 32], session: &Session) -> Commit {
        // Through its own op: the by-user index entry goes in the same batch.
        let key = keys::scoped_key(&session.tenant, digest);
        let entry = key.as_deref().and_then(|k| keys::session_user_key(k, &session.auth.sub));
        let (Some(key), Some(entry)) = (key, entry) else {
            return failed_commit(invalid(Space::Sessions, "session"));
        };
        match codec::encode(&key, session) {
            Ok(value) => self.submit(WriteOp::PutSession { key, value, entry, exp: session.expires_at }),
            Err(err) => failed_commit(err),
        }
    }

    fn session(&self, tenant: &str, digest: &[u8; 32], now: UnixSecs) -> Read<Option<Session>> {
        Read::ready(self.session_now(tenant, digest, now))
    }

    fn delete_session(&self, tenant: &str, digest: &[u8; 32]) -> Commit {
        match keys::scoped_key(tenant, digest) {
            Some(key) => self.submit(WriteOp::DeleteSession { key }),
            None => Box::pin(ready(Ok(()))),
        }
    }

    fn end_sessions_of_user(&self, tenant: &str, user_id: &str) -> Commit {
        match keys::by_user_prefix(tenant, user_id) {
            Some(prefix) => self.submit(WriteOp::EndSessionsOfUser { prefix, user: user_id.to_owned() }),
            // No session can name an invalid user or tenant: nothing to end.
            None => Box::pin(ready(Ok(()))),
        }
    }
}

impl ConsentStore for FjallStore {
    fn consent(&self, tenant: &str, user_id: &str, client_id: &str) -> Read<Option<Consent>> {
        Read::ready(self.read(tenant, keys::consent_key(tenant, user_id, client_id)))
    }

    fn put_consent(&self, consent: &Consent) -> Commit {
        let Some(key) = keys::consent_key(&consent.tenant, &consent.user_id, &consent.client_id) else {
            return failed_commit(invalid(Space::Consents, "consent"));
        };
        match codec::encode(&key, consent) {
            Ok(value) => self.submit(WriteOp::PutConsent { key, value }),
            Err(err) => failed_commit(err),
        }
    }
}

impl RefreshStore for FjallStore {
    fn put_refresh_token(&self, digest: &[u8; 32], token: &RefreshToken) -> Commit {
        let Some(key) = keys::scoped_key(&token.tenant, digest) else {
            return failed_commit(invalid(Space::RefreshTokens, "refresh token"));
        };
        match codec::encode(&key, token) {
            Ok(value) => self.submit(WriteOp::PutRefresh { key, value, token: Box::new(token.clone()) }),
            Err(err) => failed_commit(err),
        }
    }

    fn refresh_token(&self, tenant: &str, digest: &[u8; 32], now: UnixSecs) -> Read<Option<FoundRefresh>> {
        Read::ready(self.refresh_token_now(tenant, digest, now))
    }

    fn use_refresh_token(
        &self,
        tenant: &str,
        digest: &[u8; 32],
        next_digest: &[u8; 32],
        next: &RefreshToken,
        now: UnixSecs,
        grace_secs: u32,
    ) -> UseRefresh {
        // No token can live under an invalid tenant, nor in one being deleted.
        let (key, next_key) = match (keys::scoped_key(tenant, digest), keys::scoped_key(tenant, next_digest))
        {
            (Some(key), Some(next_key)) if !self.shared.is_deleting(tenant) => (key, next_key),
            _ => return Box::pin(ready(Ok(RefreshUse::Unknown))),
        };
        // Checked here, before the writer: a successor of another tenant fails its key check.
        let next_value = match codec::encode(&next_key, next) {
            Ok(value) => value,
            Err(err) => return Box::pin(ready(Err(err))),
        };
        let next = next.clone();
        self.decided(move |outcome| {
            WriteOp::UseRefresh(Box::new(writer::UseRefresh {
                key,
                digest: *digest,
                next_key,
                next_digest: *next_digest,
                next_value,
                next,
                now,
                grace_secs,
                outcome,
            }))
        })
    }

    fn revoke_refresh_family(&self, tenant: &str, family: &str, until: UnixSecs) -> Commit {
        match keys::family_key(tenant, family) {
            Some(key) => self.submit(WriteOp::RevokeFamily {
                key,
                tenant: tenant.to_owned(),
                family: family.to_owned(),
                until,
            }),
            // No token of an invalid family can be stored: nothing to revoke.
            None => Box::pin(ready(Ok(()))),
        }
    }

    fn revoke_families_of_user(&self, tenant: &str, sub: &str, until: UnixSecs) -> Commit {
        match keys::by_user_prefix(tenant, sub) {
            Some(prefix) => self.submit(WriteOp::RevokeFamiliesOfUser {
                prefix,
                tenant: tenant.to_owned(),
                sub: sub.to_owned(),
                until,
            }),
            // No family can name an invalid end-user or tenant: nothing to revoke.
            None => Box::pin(ready(Ok(()))),
        }
    }

    fn families_of_subject(&self, tenant: &str, sub: &str, now: UnixSecs) -> Read<Vec<StoredFamily>> {
        Read::ready(self.families_of_subject_now(tenant, sub, now))
    }
}

impl EventStore for FjallStore {
    fn append_event(&self, event: &AuditEvent) -> Result<Commit, StoreError> {
        if let Some(refused) = self.shared.refusal() {
            return Err(refused);
        }
        let key = keys::event_key(&event.tenant, &event.id).ok_or_else(|| invalid(Space::Events, "event"))?;
        let value = codec::encode(&key, event)?;
        if !self.shared.event_queued(self.max_queued_events) {
            return Err(StoreError::Busy("too many audit events queued".to_owned()));
        }
        let (done, rx) = oneshot::channel();
        match self.tx.try_send(Request::Write { op: WriteOp::AppendEvent { key, value }, done }) {
            Ok(()) => {
                let shared = Arc::clone(&self.shared);
                Ok(Box::pin(async move {
                    rx.await.unwrap_or_else(|_| Err(shared.refusal().unwrap_or(StoreError::Closed)))
                }))
            }
            Err(refused) => {
                self.shared.event_dequeued();
                Err(match refused {
                    TrySendError::Full(_) => StoreError::Busy("write queue full".to_owned()),
                    TrySendError::Disconnected(_) => StoreError::Closed,
                })
            }
        }
    }

    fn list_events(&self, tenant: &str, query: &EventQuery) -> Read<EventPage> {
        Read::ready(self.list_events_now(tenant, query))
    }
}

impl Store for FjallStore {
    fn is_writable(&self) -> bool {
        self.shared.refusal().is_none()
    }

    /// Blocks until the writer has finished (see [`FjallStore::close`]), then answers.
    fn close(&self) -> Read<()> {
        Read::ready(FjallStore::close(self))
    }
}

impl ChangeFeed for FjallStore {
    /// The writer calls `listener` after each round's fsync, before it acknowledges the round's
    /// writes (see `crate::feed`). The tenant and client caches and the deny list are kept by
    /// the writer itself and need no listener.
    fn subscribe(&self, listener: ChangeListener) {
        self.shared.feed.subscribe(listener);
    }
}
