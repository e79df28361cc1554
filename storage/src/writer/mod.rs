//! The writer thread and group commit: the only code that mutates the database.
//!
//! Callers queue [`Request`]s on a bounded channel and get a oneshot to await. The writer takes
//! every request waiting (up to [`Limits`]), applies them to fjall as one write batch, calls
//! `persist(SyncData)` once, and only then completes the waiters: one fsync covers the whole
//! round, however many requests it holds. While it fsyncs, the next round queues up, so the
//! batch grows with the load.
//!
//! Why `SyncData` and not `SyncAll`: fjall's journal files are created at their full
//! pre-allocated size, `sync_all`ed, and their directory fsynced when a journal rotates. A
//! commit then only changes data inside an existing file, and `fdatasync` flushes that data plus
//! any metadata needed to read it back (size, block allocation); what it skips (mtime) is not
//! needed for recovery. The database is opened with `manual_journal_persist`, so batches are not
//! flushed to the OS one by one: the round's persist does it.
//!
//! Because one thread applies everything in queue order, writes to one key land in submission
//! order, and reads that must see the current state (expiry, tenant deletion) can run in the
//! writer without racing other writes. A failed commit or fsync poisons the store: the round's
//! waiters and every later write get `StoreError::Poisoned`, since acknowledging anything after
//! a lost fsync could acknowledge data that is gone.

use std::collections::VecDeque;
use std::mem;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};

use fjall::{OwnedWriteBatch, PersistMode, Slice};
use tessera_core::model::{OpaqueToken, RefreshToken, Revocation, Session, UnixSecs, User};
use tessera_core::store::{CodeTaken, RefreshUse, StoreError};
use tokio::sync::oneshot;

use crate::codec::{self, StoredCode, StoredFamily};
use crate::keys::{self, ExpiryKind, Space};
use crate::state::{Shared, io};

/// Completes a caller's `Commit`.
pub(crate) type Done = oneshot::Sender<Result<(), StoreError>>;

/// A message to the writer.
pub(crate) enum Request {
    /// A write; `done` is completed once it is durable (or failed).
    Write { op: WriteOp, done: Done },
    /// Delete the records these expiry-index entries point at if they have expired at `now`, and
    /// the entries. Sent by the sweeper; answered with the number of entries handled once applied
    /// (no fsync: a lost expiry deletion is redone by the next sweep).
    Expire { index_keys: Vec<Slice>, now: UnixSecs, done: Sender<usize> },
    /// Finish everything queued before this and stop.
    Close,
}

/// One write.
pub(crate) enum WriteOp {
    /// Insert or replace a record; `exp` indexes it for expiry (tokens, revocations).
    Put { space: Space, key: Vec<u8>, value: Vec<u8>, exp: Option<UnixSecs> },
    /// Delete a record. Its expiry-index entry, if any, is left for the sweeper, which drops
    /// entries whose record is gone when they come due.
    Delete { space: Space, key: Vec<u8> },
    /// Delete a tenant and everything it owns, in chunks over several rounds.
    DeleteTenant { tenant: Box<[u8]> },
    /// Insert or replace a user (`value` is its encoding under `key`) and its username and
    /// e-mail index entries, unless another user holds either: then `StoreError::Conflict`.
    /// Checked and written in the writer, so no other write can come between the two.
    PutUser { key: Vec<u8>, value: Vec<u8>, user: Box<User> },
    /// Delete a user and its index entries.
    DeleteUser { key: Vec<u8> },
    /// Take the authorization code under `key`: mark it used if it is live and unused, and send
    /// what was found to `outcome` (the caller reads it once `done` says the mark is durable).
    /// Decided in the writer, so of concurrent takes exactly one sees the code unused.
    TakeCode { key: Vec<u8>, outcome: oneshot::Sender<CodeTaken> },
    /// Delete a client and its consents (found through the by-client index).
    DeleteClient { key: Vec<u8> },
    /// Insert or replace a consent (`value` under `key`) and its by-client index entry.
    PutConsent { key: Vec<u8>, value: Vec<u8> },
    /// Store the first token of a family (`value` under `key`), creating the family record or
    /// extending it; refused with `StoreError::Conflict` if the family is revoked.
    PutRefresh { key: Vec<u8>, value: Vec<u8>, token: Box<RefreshToken> },
    /// Present the refresh token under `key` at `now`; rotate it and store `next` (`next_value`
    /// under `next_key`) if it may be used, revoke its family if it is reused, and send what was
    /// found to `outcome`. Decided in the writer, so of concurrent uses exactly one rotates.
    UseRefresh(Box<UseRefresh>),
    /// Revoke the family under `key`, or record it revoked until `until` if it is not stored.
    RevokeFamily { key: Vec<u8>, tenant: String, family: String, until: UnixSecs },
}

/// The arguments of [`WriteOp::UseRefresh`] (boxed: they would double the size of every op).
pub(crate) struct UseRefresh {
    pub(crate) key: Vec<u8>,
    pub(crate) next_key: Vec<u8>,
    pub(crate) next_value: Vec<u8>,
    pub(crate) next: RefreshToken,
    pub(crate) now: UnixSecs,
    pub(crate) grace_secs: u32,
    pub(crate) outcome: oneshot::Sender<RefreshUse>,
}

impl WriteOp {
    fn tenant(&self) -> Option<&[u8]> {
        match self {
            Self::Put { space, key, .. } | Self::Delete { space, key } => keys::owner(*space, key),
            Self::DeleteTenant { tenant } => Some(tenant),
            Self::PutUser { key, .. } | Self::DeleteUser { key } => keys::owner(Space::Users, key),
            Self::TakeCode { key, .. } => keys::owner(Space::Codes, key),
            Self::DeleteClient { key } => keys::owner(Space::Clients, key),
            Self::PutConsent { key, .. } => keys::owner(Space::Consents, key),
            Self::PutRefresh { key, .. } => keys::owner(Space::RefreshTokens, key),
            Self::UseRefresh(use_) => keys::owner(Space::RefreshTokens, &use_.key),
            Self::RevokeFamily { key, .. } => keys::owner(Space::RefreshFamilies, key),
        }
    }

    fn size_bytes(&self) -> usize {
        match self {
            Self::Put { key, value, .. } => key.len() + value.len(),
            Self::Delete { key, .. } => key.len(),
            Self::DeleteTenant { tenant } => tenant.len(),
            Self::PutUser { key, value, .. } => key.len() + value.len(),
            Self::DeleteUser { key }
            | Self::TakeCode { key, .. }
            | Self::DeleteClient { key }
            | Self::RevokeFamily { key, .. } => key.len(),
            Self::PutConsent { key, value } | Self::PutRefresh { key, value, .. } => key.len() + value.len(),
            Self::UseRefresh(use_) => use_.key.len() + use_.next_key.len() + use_.next_value.len(),
        }
    }
}

/// Bounds on one round.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_batch_writes: usize,
    pub(crate) max_batch_bytes: usize,
    pub(crate) delete_chunk_records: usize,
    /// Writes held back behind a tenant deletion before the writer finishes that deletion in
    /// one go rather than let them pile up.
    pub(crate) max_deferred: usize,
}

/// What must happen to in-memory state once a write is visible in fjall.
enum Effect {
    InvalidateTenant(Vec<u8>),
    InvalidateClient(Vec<u8>),
    Deny { key: Vec<u8>, exp: UnixSecs },
    Undeny { key: Vec<u8> },
}

/// The writes of one round: a fjall batch not yet committed, its effects, and the waiters the
/// round's fsync will complete.
struct Round<'a> {
    shared: &'a Shared,
    batch: OwnedWriteBatch,
    effects: Vec<Effect>,
    durable: Vec<Done>,
    expired: Vec<(Sender<usize>, usize)>,
}

impl<'a> Round<'a> {
    fn new(shared: &'a Shared) -> Self {
        Self {
            shared,
            batch: shared.db.batch(),
            effects: Vec::new(),
            durable: Vec::new(),
            expired: Vec::new(),
        }
    }

    fn put(&mut self, space: Space, key: Vec<u8>, value: Vec<u8>, exp: Option<UnixSecs>) {
        if let (Some(kind), Some(exp)) = (space.expiry_kind(), exp) {
            self.batch.insert(
                self.shared.space(Space::Expiry),
                keys::expiry_key(exp, kind, &key),
                Slice::empty(),
            );
        }
        match space {
            Space::Tenants => self.effects.push(Effect::InvalidateTenant(key.clone())),
            Space::Clients => self.effects.push(Effect::InvalidateClient(key.clone())),
            Space::Revocations => {
                if let Some(exp) = exp {
                    self.effects.push(Effect::Deny { key: key.clone(), exp });
                }
            }
            Space::Keys
            | Space::Tokens
            | Space::Expiry
            | Space::Users
            | Space::UserNames
            | Space::UserEmails
            | Space::Codes
            | Space::Sessions
            | Space::Consents
            | Space::ConsentClients
            | Space::RefreshTokens
            | Space::RefreshFamilies => {}
        }
        self.batch.insert(self.shared.space(space), key, value);
    }

    fn delete(&mut self, space: Space, key: Vec<u8>) {
        match space {
            Space::Tenants => self.effects.push(Effect::InvalidateTenant(key.clone())),
            Space::Clients => self.effects.push(Effect::InvalidateClient(key.clone())),
            Space::Revocations => self.effects.push(Effect::Undeny { key: key.clone() }),
            Space::Keys
            | Space::Tokens
            | Space::Expiry
            | Space::Users
            | Space::UserNames
            | Space::UserEmails
            | Space::Codes
            | Space::Sessions
            | Space::Consents
            | Space::ConsentClients
            | Space::RefreshTokens
            | Space::RefreshFamilies => {}
        }
        self.batch.remove(self.shared.space(space), key);
    }

    /// Commits the batch so far (visible to reads, not yet durable) and applies its effects.
    /// Called before anything that reads the database, so the read sees every earlier write.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = mem::replace(&mut self.batch, self.shared.db.batch());
        batch.commit().map_err(io)?;
        for effect in self.effects.drain(..) {
            match effect {
                // Invalidation after the commit: see `cache` for why the order matters.
                Effect::InvalidateTenant(key) => self.shared.tenants.invalidate(&key),
                Effect::InvalidateClient(key) => self.shared.clients.invalidate(&key),
                Effect::Deny { key, exp } => {
                    if let Some((tenant, jti)) = scoped_strs(&key) {
                        self.shared.deny.insert(tenant, jti, exp);
                    }
                }
                Effect::Undeny { key } => {
                    if let Some((tenant, jti)) = scoped_strs(&key) {
                        self.shared.deny.remove(tenant, jti);
                    }
                }
            }
        }
        Ok(())
    }
}

fn scoped_strs(key: &[u8]) -> Option<(&str, &str)> {
    let (tenant, rest) = keys::split_scoped(key)?;
    Some((std::str::from_utf8(tenant).ok()?, std::str::from_utf8(rest).ok()?))
}

/// A tenant deletion in progress.
struct Deletion {
    tenant: Box<[u8]>,
    /// Index into [`DELETE_ORDER`] of the keyspace being emptied.
    stage: usize,
    waiters: Vec<Done>,
}

/// The tenant record goes last: a crash part-way leaves the tenant in place (and its
/// `delete_tenant` unacknowledged, so it is retried), never a half-deleted tenant that a
/// re-created one of the same id would inherit.
const DELETE_ORDER: [Space; 14] = [
    Space::Clients,
    Space::Keys,
    Space::Tokens,
    Space::Revocations,
    Space::Users,
    Space::UserNames,
    Space::UserEmails,
    Space::Codes,
    Space::Sessions,
    Space::Consents,
    Space::ConsentClients,
    Space::RefreshTokens,
    Space::RefreshFamilies,
    Space::Tenants,
];

/// The writer thread's state.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    rx: Receiver<Request>,
    limits: Limits,
    deletions: Vec<Deletion>,
    /// Writes to tenants being deleted, held back (in order) until the deletion is done, so a
    /// write submitted after `delete_tenant` is not deleted by it.
    deferred: VecDeque<(WriteOp, Done)>,
}

impl Writer {
    pub(crate) fn new(shared: Arc<Shared>, rx: Receiver<Request>, limits: Limits) -> Self {
        Self { shared, rx, limits, deletions: Vec::new(), deferred: VecDeque::new() }
    }

    /// Runs rounds until closed (or every sender is gone) and all work is finished.
    pub(crate) fn run(mut self) {
        let mut closing = false;
        loop {
            let mut requests = self.ready_deferred();
            if !closing {
                closing = self.receive(&mut requests);
            }
            if closing && requests.is_empty() && self.deletions.is_empty() && self.deferred.is_empty() {
                return;
            }
            self.round(requests);
        }
    }

    /// Deferred writes whose tenant is no longer being deleted, oldest first: they go before
    /// anything received later.
    fn ready_deferred(&mut self) -> VecDeque<Request> {
        let mut ready = VecDeque::new();
        let mut still = VecDeque::new();
        for (op, done) in self.deferred.drain(..) {
            let blocked = op.tenant().is_some_and(|t| self.deletions.iter().any(|d| *d.tenant == *t));
            if blocked {
                still.push_back((op, done));
            } else {
                ready.push_back(Request::Write { op, done });
            }
        }
        self.deferred = still;
        ready
    }

    /// Takes what is queued, up to the round's limits; blocks for the first request only when
    /// there is nothing else to do. Returns whether the writer should close.
    fn receive(&mut self, requests: &mut VecDeque<Request>) -> bool {
        if requests.is_empty() && self.deletions.is_empty() {
            match self.rx.recv() {
                Ok(Request::Close) | Err(_) => return true,
                Ok(request) => requests.push_back(request),
            }
        }
        let mut bytes: usize = requests.iter().map(request_bytes).sum();
        while requests.len() < self.limits.max_batch_writes && bytes < self.limits.max_batch_bytes {
            match self.rx.try_recv() {
                Ok(Request::Close) | Err(TryRecvError::Disconnected) => return true,
                Ok(request) => {
                    bytes += request_bytes(&request);
                    requests.push_back(request);
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        false
    }

    fn round(&mut self, mut requests: VecDeque<Request>) {
        let shared = Arc::clone(&self.shared);
        if shared.is_poisoned() {
            self.fail_everything(requests);
            return;
        }
        let mut round = Round::new(&shared);
        let applied = self
            .apply(&mut round, &mut requests)
            .and_then(|()| self.delete_chunks(&mut round))
            .and_then(|()| round.flush());
        let durable = applied.and_then(|()| if round.durable.is_empty() { Ok(()) } else { self.persist() });
        match durable {
            Ok(()) => {
                shared.count_committed(round.durable.len());
                for done in round.durable {
                    // A caller that dropped its `Commit` no longer listens; nothing to do.
                    let _ = done.send(Ok(()));
                }
                for (done, n) in round.expired {
                    let _ = done.send(n);
                }
            }
            Err(err) => {
                shared.poison(&err);
                for done in round.durable {
                    let _ = done.send(Err(StoreError::Poisoned));
                }
                // Dropping the sweeper's senders tells it the round failed.
                drop(round.expired);
                self.fail_everything(requests);
            }
        }
    }

    /// Applies requests in order until one fails; what is left in `requests` was not applied.
    fn apply(&mut self, round: &mut Round<'_>, requests: &mut VecDeque<Request>) -> Result<(), StoreError> {
        while let Some(request) = requests.pop_front() {
            match request {
                Request::Close => {}
                Request::Expire { index_keys, now, done } => {
                    let handled = index_keys.len();
                    expire(round, &index_keys, now)?;
                    round.expired.push((done, handled));
                }
                Request::Write { op, done } => {
                    if self.is_blocked(&op) {
                        self.deferred.push_back((op, done));
                        continue;
                    }
                    match op {
                        WriteOp::Put { space, key, value, exp } => {
                            round.put(space, key, value, exp);
                            round.durable.push(done);
                        }
                        WriteOp::Delete { space, key } => {
                            round.delete(space, key);
                            round.durable.push(done);
                        }
                        WriteOp::DeleteTenant { tenant } => {
                            // The deletion's scans must see every write queued before it.
                            if let Err(err) = round.flush() {
                                let _ = done.send(Err(StoreError::Poisoned));
                                return Err(err);
                            }
                            self.shared.begin_delete(&tenant);
                            // Completed when its last chunk is durable, not with this round.
                            self.deletions.push(Deletion { tenant, stage: 0, waiters: vec![done] });
                        }
                        WriteOp::PutUser { key, value, user } => {
                            let outcome = put_user(round, key, value, &user);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::DeleteUser { key } => {
                            let outcome = delete_user(round, key);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::TakeCode { key, outcome } => {
                            let now = self.shared.now();
                            // Every outcome waits for the round's fsync: a `Fresh` must not be
                            // acted on before its used mark is durable, and a `Replayed` may
                            // rest on a mark written earlier in this very round.
                            let taken = take_code(round, key, now).map(|r| {
                                r.map(|taken| {
                                    // A caller that gave up no longer listens.
                                    let _ = outcome.send(taken);
                                })
                            });
                            settle(round, done, taken)?;
                        }
                        WriteOp::DeleteClient { key } => {
                            let outcome = delete_client(round, key);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::PutConsent { key, value } => {
                            let outcome = put_consent(round, key, value);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::PutRefresh { key, value, token } => {
                            let outcome = put_refresh(round, key, value, &token);
                            settle(round, done, outcome)?;
                        }
                        WriteOp::UseRefresh(use_) => {
                            let UseRefresh { key, next_key, next_value, next, now, grace_secs, outcome } =
                                *use_;
                            // As for codes, every outcome waits for the round's fsync: a rotation
                            // or a revocation must be durable before the caller acts on it.
                            let used =
                                use_refresh(round, key, (next_key, next_value, &next), now, grace_secs).map(
                                    |r| {
                                        r.map(|found| {
                                            let _ = outcome.send(found);
                                        })
                                    },
                                );
                            settle(round, done, used)?;
                        }
                        WriteOp::RevokeFamily { key, tenant, family, until } => {
                            let now = self.shared.now();
                            let outcome = revoke_family(round, key, (&tenant, &family), until, now);
                            settle(round, done, outcome)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn is_blocked(&self, op: &WriteOp) -> bool {
        let Some(tenant) = op.tenant() else {
            return false;
        };
        self.deletions.iter().any(|d| *d.tenant == *tenant)
            || self.deferred.iter().any(|(queued, _)| queued.tenant() == Some(tenant))
    }

    /// One chunk of every deletion in progress (all of them at once if too many writes wait
    /// behind them); finished deletions complete with this round's fsync.
    fn delete_chunks(&mut self, round: &mut Round<'_>) -> Result<(), StoreError> {
        let drain = self.deferred.len() > self.limits.max_deferred;
        let mut finished = Vec::new();
        for (i, deletion) in self.deletions.iter_mut().enumerate() {
            loop {
                let done = delete_chunk(round, deletion, self.limits.delete_chunk_records)?;
                if done {
                    finished.push(i);
                    break;
                }
                if !drain {
                    break;
                }
            }
        }
        for i in finished.into_iter().rev() {
            let deletion = self.deletions.remove(i);
            self.shared.end_delete(&deletion.tenant);
            // Its revocations left the list chunk by chunk; this drops any whose record did
            // not decode.
            if let Ok(tenant) = std::str::from_utf8(&deletion.tenant) {
                self.shared.deny.remove_tenant(tenant);
            }
            round.durable.extend(deletion.waiters);
        }
        Ok(())
    }

    fn persist(&self) -> Result<(), StoreError> {
        self.shared.count_persist();
        if self.shared.take_persist_failure() {
            return Err(StoreError::Io("injected persist failure".to_owned()));
        }
        self.shared.db.persist(PersistMode::SyncData).map_err(io)
    }

    /// After poisoning: nothing queued, deferred or in progress will ever be durable.
    fn fail_everything(&mut self, requests: VecDeque<Request>) {
        for request in requests {
            if let Request::Write { done, .. } = request {
                let _ = done.send(Err(StoreError::Poisoned));
            }
        }
        for (_, done) in self.deferred.drain(..) {
            let _ = done.send(Err(StoreError::Poisoned));
        }
        for deletion in self.deletions.drain(..) {
            self.shared.end_delete(&deletion.tenant);
            for done in deletion.waiters {
                let _ = done.send(Err(StoreError::Poisoned));
            }
        }
    }
}

/// Completes a user write: applied ones wait for the round's fsync, refused ones (a conflict, a
/// corrupt record in the way) are answered now, and a failure of the store itself fails the
/// round.
fn settle(
    round: &mut Round<'_>,
    done: Done,
    outcome: Result<Result<(), StoreError>, StoreError>,
) -> Result<(), StoreError> {
    match outcome {
        Ok(Ok(())) => round.durable.push(done),
        Ok(Err(refused)) => {
            let _ = done.send(Err(refused));
        }
        Err(err) => {
            let _ = done.send(Err(StoreError::Poisoned));
            return Err(err);
        }
    }
    Ok(())
}

/// The id held by a username or e-mail index entry.
fn index_holder(shared: &Shared, space: Space, key: &[u8]) -> Result<Option<String>, StoreError> {
    match shared.space(space).get(key).map_err(io)? {
        None => Ok(None),
        Some(value) => codec::decode_index(space, key, &value).map(Some),
    }
}

/// The current user under `key`; `Ok(Err(_))` if it does not decode.
type Refusable<T> = Result<Result<T, StoreError>, StoreError>;

fn stored_user(shared: &Shared, key: &[u8]) -> Refusable<Option<User>> {
    Ok(match shared.space(Space::Users).get(key).map_err(io)? {
        None => Ok(None),
        Some(bytes) => codec::decode::<User>(key, &bytes).map(Some),
    })
}

/// Splits a read error into a refusal of this request (a corrupt entry) and a failure of the
/// store (I/O).
fn refusable<T>(r: Result<T, StoreError>) -> Refusable<T> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(err @ StoreError::Corrupt { .. }) => Ok(Err(err)),
        Err(err) => Err(err),
    }
}

/// Removes the index entry under `key` if it points at user `id` (an entry held by another user
/// is that user's, whatever this one's stale record says).
fn unindex(round: &mut Round<'_>, space: Space, key: Option<Vec<u8>>, id: &str) -> Result<(), StoreError> {
    let Some(key) = key else { return Ok(()) };
    if let Ok(Some(holder)) = refusable(index_holder(round.shared, space, &key))?
        && holder == id
    {
        round.delete(space, key);
    }
    Ok(())
}

/// Checks that neither the username nor the e-mail address of `user` is held by another user,
/// then writes the user with its index entries and drops the entries of names it no longer has.
/// The flush first makes every earlier write of this round visible to the checks.
fn put_user(round: &mut Round<'_>, key: Vec<u8>, value: Vec<u8>, user: &User) -> Refusable<()> {
    round.flush()?;
    let shared = round.shared;
    let old = match stored_user(shared, &key)? {
        Ok(old) => old,
        Err(err) => return Ok(Err(err)),
    };
    let invalid = || StoreError::Corrupt {
        key: keys::display_key(Space::Users, &key),
        detail: "refusing to write: username or email does not fit an index key".to_owned(),
    };
    let Some(name_key) = keys::folded_key(&user.tenant, &user.username) else {
        return Ok(Err(invalid()));
    };
    let email_key = match user.email.as_deref().map(|e| keys::folded_key(&user.tenant, e)) {
        None => None,
        Some(Some(k)) => Some(k),
        Some(None) => return Ok(Err(invalid())),
    };
    for (space, index_key, what) in
        [(Space::UserNames, Some(&name_key), "username"), (Space::UserEmails, email_key.as_ref(), "email")]
    {
        let Some(index_key) = index_key else { continue };
        match refusable(index_holder(shared, space, index_key))? {
            Ok(Some(holder)) if holder != user.id => {
                // An entry whose user is gone (its record was corrupt when deleted) is stale:
                // the name is free.
                let holder_exists = keys::user_key(&user.tenant, &holder)
                    .map(|k| shared.space(Space::Users).contains_key(&k))
                    .transpose()
                    .map_err(io)?
                    .unwrap_or(false);
                if holder_exists {
                    return Ok(Err(StoreError::Conflict(format!("{what} is taken by another user"))));
                }
            }
            Ok(_) => {}
            Err(err) => return Ok(Err(err)),
        }
    }
    if let Some(old) = old {
        let old_name = keys::folded_key(&old.tenant, &old.username).filter(|k| *k != name_key);
        unindex(round, Space::UserNames, old_name, &old.id)?;
        let old_email = old
            .email
            .as_deref()
            .and_then(|e| keys::folded_key(&old.tenant, e))
            .filter(|k| Some(k) != email_key.as_ref());
        unindex(round, Space::UserEmails, old_email, &old.id)?;
    }
    round.put(Space::UserNames, name_key, user.id.as_bytes().to_vec(), None);
    if let Some(email_key) = email_key {
        round.put(Space::UserEmails, email_key, user.id.as_bytes().to_vec(), None);
    }
    round.put(Space::Users, key, value, None);
    Ok(Ok(()))
}

/// Deletes a user with its index entries. A record that does not decode is deleted all the
/// same; its index entries, if any, then point at no user and are overwritten when the names
/// are claimed again.
fn delete_user(round: &mut Round<'_>, key: Vec<u8>) -> Refusable<()> {
    round.flush()?;
    match stored_user(round.shared, &key)? {
        Ok(Some(old)) => {
            unindex(round, Space::UserNames, keys::folded_key(&old.tenant, &old.username), &old.id)?;
            let email = old.email.as_deref().and_then(|e| keys::folded_key(&old.tenant, e));
            unindex(round, Space::UserEmails, email, &old.id)?;
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "deleting a user record that does not decode"),
    }
    delete_consents(round, Space::Consents, &key)?;
    round.delete(Space::Users, key);
    Ok(Ok(()))
}

/// Deletes a client with its consents. The flush makes consents put earlier in this round
/// visible to the scan.
fn delete_client(round: &mut Round<'_>, key: Vec<u8>) -> Refusable<()> {
    round.flush()?;
    delete_consents(round, Space::ConsentClients, &key)?;
    round.delete(Space::Clients, key);
    Ok(Ok(()))
}

/// Deletes every consent of one user (`by` = [`Space::Consents`], `owner` = the user's key
/// `tenant \0 user_id`) or one client (`by` = [`Space::ConsentClients`], `owner` = the client's
/// key), with the other keyspace's entry for each. Both key layouts are `tenant \0 id \0 id`, so
/// swapping the ids turns one entry's key into the other's. Keys only: a consent that does not
/// decode goes too.
fn delete_consents(round: &mut Round<'_>, by: Space, owner: &[u8]) -> Result<(), StoreError> {
    let other = if by == Space::Consents { Space::ConsentClients } else { Space::Consents };
    let mut prefix = owner.to_vec();
    prefix.push(keys::SEP);
    let found = round
        .shared
        .space(by)
        .prefix(&prefix)
        .map(|guard| guard.key().map_err(io))
        .collect::<Result<Vec<_>, _>>()?;
    for key in found {
        if let Some(mirror) = keys::swap_pair(&key) {
            round.delete(other, mirror);
        }
        round.delete(by, key.to_vec());
    }
    Ok(())
}

/// Writes a consent and its by-client index entry in one batch, so the two never disagree.
fn put_consent(round: &mut Round<'_>, key: Vec<u8>, value: Vec<u8>) -> Refusable<()> {
    let Some(index_key) = keys::swap_pair(&key) else {
        return Ok(Err(StoreError::Corrupt {
            key: keys::display_key(Space::Consents, &key),
            detail: "refusing to write: not a consent key".to_owned(),
        }));
    };
    round.put(Space::ConsentClients, index_key, Vec::new(), None);
    round.put(Space::Consents, key, value, None);
    Ok(Ok(()))
}

/// Reads one record in the writer; `Ok(Err(_))` if it does not decode.
fn read<T: crate::state::Stored>(shared: &Shared, key: &[u8]) -> Refusable<Option<T>> {
    Ok(match shared.space(T::SPACE).get(key).map_err(io)? {
        None => Ok(None),
        Some(bytes) => codec::decode::<T>(key, &bytes).map(Some),
    })
}

/// Unwraps a refusable step inside a function returning [`Refusable`]: a refusal answers the
/// request, a store failure fails the round.
macro_rules! refuse_or {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(refused) => return Ok(Err(refused)),
        }
    };
}

/// A family record to put: `(key, value, exp)`.
type FamilyWrite = (Vec<u8>, Vec<u8>, UnixSecs);

/// The family record `family` (new, or `stored` already) made to live at least until
/// `expires_at`, encoded, or `None` if the stored record already does.
fn cover_family(
    key: &[u8],
    family: StoredFamily,
    stored: bool,
    expires_at: UnixSecs,
) -> Result<Option<FamilyWrite>, StoreError> {
    if stored && family.expires_at >= expires_at {
        return Ok(None);
    }
    let family = StoredFamily { expires_at: family.expires_at.max(expires_at), ..family };
    let value = codec::encode(key, &family)?;
    Ok(Some((key.to_vec(), value, family.expires_at)))
}

fn put_family(round: &mut Round<'_>, write: Option<FamilyWrite>) {
    if let Some((key, value, exp)) = write {
        // A new expiry entry; the old one, when due, finds the record still live and only
        // drops itself.
        round.put(Space::RefreshFamilies, key, value, Some(exp));
    }
}

fn family_key_of(token: &RefreshToken, key: &[u8]) -> Result<Vec<u8>, StoreError> {
    keys::family_key(&token.tenant, &token.family).ok_or_else(|| StoreError::Corrupt {
        key: keys::display_key(Space::RefreshTokens, key),
        detail: "refusing to write: invalid family id".to_owned(),
    })
}

/// Stores the first token of a family: refused with `Conflict` if the family is revoked (a
/// tombstone left by a code replay, say), else written with its family record created or
/// extended to outlive it. The flush makes a revocation earlier in this round visible.
fn put_refresh(round: &mut Round<'_>, key: Vec<u8>, value: Vec<u8>, token: &RefreshToken) -> Refusable<()> {
    round.flush()?;
    let family_key = refuse_or!(family_key_of(token, &key));
    let (family, stored) = match refuse_or!(read::<StoredFamily>(round.shared, &family_key)?) {
        Some(f) if f.revoked_at.is_some() => {
            return Ok(Err(StoreError::Conflict("the refresh-token family is revoked".to_owned())));
        }
        Some(f) if f.client_id.as_deref() != Some(token.client_id.as_str()) => {
            return Ok(Err(StoreError::Corrupt {
                key: keys::display_key(Space::RefreshTokens, &key),
                detail: "refusing to write: the family belongs to another client".to_owned(),
            }));
        }
        Some(f) => (f, true),
        None => (StoredFamily::founded_by(token), false),
    };
    let family_write = refuse_or!(cover_family(&family_key, family, stored, token.expires_at));
    round.put(Space::RefreshTokens, key, value, Some(token.expires_at));
    put_family(round, family_write);
    Ok(Ok(()))
}

/// Presents the refresh token under `key` at `now` (see [`WriteOp::UseRefresh`]):
/// - absent, expired, or of a revoked (or vanished) family: `Unknown`, nothing written;
/// - current: marked rotated at `now`, `next` stored, family extended: `Rotated`;
/// - rotated at most `grace_secs` ago (and `grace_secs > 0`): `next` stored too: `Retried`;
/// - rotated longer ago: the family revoked at `now`: `Reused`.
///
/// A grace of 0 means none at all, so two uses within one second are a reuse, not a retry.
/// The rotated token keeps its `expires_at`, so its expiry entry stays valid and no new one is
/// written. The flush makes earlier writes of this round (the token's put, an earlier use)
/// visible to the reads.
fn use_refresh(
    round: &mut Round<'_>,
    key: Vec<u8>,
    (next_key, next_value, next): (Vec<u8>, Vec<u8>, &RefreshToken),
    now: UnixSecs,
    grace_secs: u32,
) -> Refusable<RefreshUse> {
    round.flush()?;
    let shared = round.shared;
    let Some(token) = refuse_or!(read::<RefreshToken>(shared, &key)?) else {
        return Ok(Ok(RefreshUse::Unknown));
    };
    if token.expires_at <= now {
        return Ok(Ok(RefreshUse::Unknown));
    }
    let family_key = refuse_or!(family_key_of(&token, &key));
    let family = match refuse_or!(read::<StoredFamily>(shared, &family_key)?) {
        Some(f) if f.is_live(now) => f,
        _ => return Ok(Ok(RefreshUse::Unknown)),
    };
    if next.tenant != token.tenant || next.family != token.family || next.client_id != token.client_id {
        return Ok(Err(StoreError::Corrupt {
            key: keys::display_key(Space::RefreshTokens, &next_key),
            detail: "refusing to write: the successor is not of the same tenant, family and client"
                .to_owned(),
        }));
    }
    if next_key == key || next.rotated_at.is_some() {
        return Ok(Err(StoreError::Corrupt {
            key: keys::display_key(Space::RefreshTokens, &next_key),
            detail: "refusing to write: the successor must be a new, unrotated token".to_owned(),
        }));
    }
    match token.rotated_at {
        None => {
            let rotated = RefreshToken { rotated_at: Some(now), ..token.clone() };
            let value = refuse_or!(codec::encode(&key, &rotated));
            let family_write = refuse_or!(cover_family(&family_key, family, true, next.expires_at));
            round.put(Space::RefreshTokens, key, value, None);
            round.put(Space::RefreshTokens, next_key, next_value, Some(next.expires_at));
            put_family(round, family_write);
            Ok(Ok(RefreshUse::Rotated(token)))
        }
        Some(at) if grace_secs > 0 && now.saturating_sub(at) <= i64::from(grace_secs) => {
            let family_write = refuse_or!(cover_family(&family_key, family, true, next.expires_at));
            round.put(Space::RefreshTokens, next_key, next_value, Some(next.expires_at));
            put_family(round, family_write);
            Ok(Ok(RefreshUse::Retried(token)))
        }
        Some(_) => {
            // The family keeps its expiry (and so its expiry entry): it must outlive its tokens
            // to keep saying they are revoked.
            let revoked = StoredFamily { revoked_at: Some(now), ..family };
            let value = refuse_or!(codec::encode(&family_key, &revoked));
            round.put(Space::RefreshFamilies, family_key, value, None);
            Ok(Ok(RefreshUse::Reused(token)))
        }
    }
}

/// Revokes a family at `now`, keeping it at least until `until`; a family not stored yet gets
/// a revoked tombstone, so its first token is refused when it arrives. Revoking twice keeps the
/// first `revoked_at`. A family record that does not decode is replaced by a tombstone:
/// revocation must win over a damaged record.
fn revoke_family(
    round: &mut Round<'_>,
    key: Vec<u8>,
    (tenant, family): (&str, &str),
    until: UnixSecs,
    now: UnixSecs,
) -> Refusable<()> {
    round.flush()?;
    let stored = match read::<StoredFamily>(round.shared, &key)? {
        Ok(stored) => stored,
        Err(err) => {
            tracing::warn!(error = %err, "revoking a refresh-token family whose record does not decode");
            None
        }
    };
    let (revoked, exp) = match stored {
        Some(f) if f.revoked_at.is_some() && f.expires_at >= until => return Ok(Ok(())),
        Some(f) => {
            let expires_at = f.expires_at.max(until);
            let exp = (expires_at != f.expires_at).then_some(expires_at);
            (StoredFamily { revoked_at: f.revoked_at.or(Some(now)), expires_at, ..f }, exp)
        }
        None => {
            let tombstone = StoredFamily {
                tenant: tenant.to_owned(),
                family: family.to_owned(),
                client_id: None,
                sub: None,
                revoked_at: Some(now),
                expires_at: until,
            };
            (tombstone, Some(until))
        }
    };
    let value = refuse_or!(codec::encode(&key, &revoked));
    round.put(Space::RefreshFamilies, key, value, exp);
    Ok(Ok(()))
}

/// Takes the code under `key` at `now`: unknown if absent or expired (`expires_at <= now`, as for
/// tokens), replayed if already used, else fresh, and then marked used in this round's batch.
/// The used record keeps its `expires_at`, so the expiry-index entry `put_code` made still
/// points at it and the sweeper removes it on time. The flush first makes every earlier write
/// of this round (the code's put, an earlier take of it) visible to the read.
fn take_code(round: &mut Round<'_>, key: Vec<u8>, now: UnixSecs) -> Refusable<CodeTaken> {
    round.flush()?;
    let Some(bytes) = round.shared.space(Space::Codes).get(&key).map_err(io)? else {
        return Ok(Ok(CodeTaken::Unknown));
    };
    let mut stored = match codec::decode::<StoredCode>(&key, &bytes) {
        Ok(stored) => stored,
        Err(err) => return Ok(Err(err)),
    };
    if stored.code.expires_at <= now {
        return Ok(Ok(CodeTaken::Unknown));
    }
    if stored.used {
        return Ok(Ok(CodeTaken::Replayed(stored.code)));
    }
    stored.used = true;
    let value = match codec::encode(&key, &stored) {
        Ok(value) => value,
        Err(err) => return Ok(Err(err)),
    };
    round.put(Space::Codes, key, value, None);
    Ok(Ok(CodeTaken::Fresh(stored.code)))
}

fn request_bytes(request: &Request) -> usize {
    match request {
        Request::Write { op, .. } => op.size_bytes(),
        Request::Expire { index_keys, .. } => index_keys.iter().map(|k| k.len()).sum(),
        Request::Close => 0,
    }
}

/// The `exp` of a stored token or revocation, or `None` if it does not decode (then it stays
/// where it is for someone to look at, and readers get `Corrupt`).
fn stored_exp(kind: ExpiryKind, key: &[u8], value: &[u8]) -> Option<UnixSecs> {
    let exp = match kind {
        ExpiryKind::Token => codec::decode::<OpaqueToken>(key, value).map(|t| t.exp),
        ExpiryKind::Revocation => codec::decode::<Revocation>(key, value).map(|r| r.exp),
        ExpiryKind::Code => codec::decode::<StoredCode>(key, value).map(|c| c.code.expires_at),
        ExpiryKind::Session => codec::decode::<Session>(key, value).map(|s| s.expires_at),
        ExpiryKind::RefreshToken => codec::decode::<RefreshToken>(key, value).map(|t| t.expires_at),
        ExpiryKind::RefreshFamily => codec::decode::<StoredFamily>(key, value).map(|f| f.expires_at),
    };
    match exp {
        Ok(exp) => Some(exp),
        Err(err) => {
            tracing::warn!(error = %err, "expiring record does not decode; left in place");
            None
        }
    }
}

/// Handles expiry-index entries that came due at `now`. The record is re-read here, in the
/// writer, because it may have been rewritten with a later `exp` since the sweeper saw the entry
/// (the rewrite made its own entry).
fn expire(round: &mut Round<'_>, index_keys: &[Slice], now: UnixSecs) -> Result<(), StoreError> {
    round.flush()?;
    let shared = round.shared;
    for raw in index_keys {
        round.batch.remove(shared.space(Space::Expiry), raw.clone());
        let Some(entry) = keys::parse_expiry_key(raw) else {
            tracing::warn!("malformed expiry-index key dropped");
            continue;
        };
        let space = entry.kind.space();
        let Some(value) = shared.space(space).get(entry.key).map_err(io)? else {
            continue;
        };
        if stored_exp(entry.kind, entry.key, &value).is_some_and(|exp| exp <= now) {
            round.delete(space, entry.key.to_vec());
        }
    }
    round.flush()
}

/// Deletes up to `budget` records of a tenant; returns whether the tenant is gone.
fn delete_chunk(round: &mut Round<'_>, deletion: &mut Deletion, budget: usize) -> Result<bool, StoreError> {
    let shared = round.shared;
    let mut budget = budget.max(1);
    let mut prefix = deletion.tenant.to_vec();
    prefix.push(keys::SEP);
    while budget > 0 {
        let Some(&space) = DELETE_ORDER.get(deletion.stage) else {
            break;
        };
        if space == Space::Tenants {
            round.delete(space, deletion.tenant.to_vec());
            deletion.stage += 1;
            break;
        }
        let mut taken = 0;
        for guard in shared.space(space).prefix(&prefix).take(budget) {
            let (key, value) = guard.into_inner().map_err(io)?;
            if let Some(kind) = space.expiry_kind()
                && let Some(exp) = stored_exp(kind, &key, &value)
            {
                round.batch.remove(shared.space(Space::Expiry), keys::expiry_key(exp, kind, &key));
            }
            round.delete(space, key.to_vec());
            taken += 1;
        }
        if taken < budget {
            deletion.stage += 1;
        }
        budget -= taken;
    }
    // The next chunk's scan must not see this chunk's records again.
    round.flush()?;
    Ok(deletion.stage >= DELETE_ORDER.len())
}
