//! The writer thread and group commit: the only code that mutates the database.
//!
//! Callers queue [`Request`]s on a bounded channel and get a oneshot to await. The writer takes
//! every request waiting (up to [`Limits`]), applies them to fjall as one write batch, calls
//! `persist(SyncData)` once, and only then completes the waiters: one fsync covers the whole
//! round, however many requests it holds. While it fsyncs, the next round queues up, so the
//! batch grows with the load. Between the fsync and the waiters, the change feed's listeners
//! hear what the round changed (`round`, `crate::feed`); a failed round is not heard.
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
//!
//! The commit engine (queue, rounds, group commit, fsync, poisoning, limits) is `engine`; the
//! round's batch and its effects on the caches `round`. Each write that reads before it writes
//! is a transaction in its own file: `users` (users, their name indexes, consents, client
//! deletion), `sessions` (sessions with their by-user index, ending a user's sessions),
//! `grants` (codes, refresh tokens and families with their by-user index, applying
//! `tessera_core::rules`),
//! `links` (federated links with their by-user index),
//! `tenancy` (creating tenants and clients, rotating signing keys, replacing a record only while
//! it is stored), `roles` (roles and their assignments), `expiry` (the sweeper's deletions),
//! `events` (audit events, which ride rounds without asking for an fsync of their own) and
//! `deletion` (a tenant, in chunks).

mod deletion;
mod engine;
mod events;
mod expiry;
mod grants;
mod links;
mod roles;
mod round;
mod sessions;
mod tenancy;
mod users;

use std::sync::mpsc::Sender;

use fjall::Slice;
use tessera_core::model::{FederatedLink, KeyRecord, RefreshToken, UnixSecs, User};
use tessera_core::store::{CodeTaken, RefreshUse, StoreError};
use tokio::sync::oneshot;

use crate::codec;
use crate::keys::{self, Space};
use crate::state::{Shared, io};

pub(crate) use engine::Writer;
pub(crate) use roles::{Assignment, PutRole};

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
    /// Delete these audit events, past their tenant's retention. Sent by the sweeper; answered
    /// like `Expire` (no fsync of its own: a lost deletion is redone by the next sweep).
    PruneEvents { keys: Vec<Slice>, done: Sender<usize> },
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
    /// Record the JWT bearer assertion under `key` as used (`value`, expiring at `exp`) unless
    /// a live record of it is stored, and send whether it was the first use to `outcome` (the
    /// caller reads it once `done` says the record is durable). Decided in the writer, so of
    /// concurrent uses exactly one is the first.
    UseAssertion { key: Vec<u8>, value: Vec<u8>, exp: UnixSecs, outcome: oneshot::Sender<bool> },
    /// Store a federated link (`value` under `key`) with its by-user index entry `entry`
    /// unless a link is stored under `key`, and send the stored one, if any, to `outcome` (the
    /// caller reads it once `done` says the outcome is durable). Decided in the writer, so of
    /// concurrent creates of one key exactly one stores its link.
    CreateLink {
        key: Vec<u8>,
        value: Vec<u8>,
        entry: Vec<u8>,
        outcome: oneshot::Sender<Option<FederatedLink>>,
    },
    /// Delete a federated link and its by-user index entry.
    DeleteLink { key: Vec<u8> },
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
    /// Revoke every family of end-user `sub` of `tenant` (found through the by-user index
    /// under `prefix`), each kept at least until `until`.
    RevokeFamiliesOfUser { prefix: Vec<u8>, tenant: String, sub: String, until: UnixSecs },
    /// Insert or replace a session (`value` under `key`, expiring at `exp`) with its by-user
    /// index entry `entry`.
    PutSession { key: Vec<u8>, value: Vec<u8>, entry: Vec<u8>, exp: UnixSecs },
    /// Delete a session and its by-user index entry.
    DeleteSession { key: Vec<u8> },
    /// Delete every session of `user` (found through the by-user index under `prefix`).
    EndSessionsOfUser { prefix: Vec<u8>, user: String },
    /// Insert a record that does not expire (`value` under `key`) unless one is stored under
    /// `key`, or, for a record of a tenant, unless the tenant is not stored: then
    /// `StoreError::Conflict`. Checked and written in the writer, so of concurrent creates of
    /// one key exactly one succeeds.
    Create { space: Space, key: Vec<u8>, value: Vec<u8> },
    /// Make a key the current one of its algorithm if the current one is still the expected
    /// one, retiring the old; else `StoreError::Conflict`. Decided in the writer, so of
    /// concurrent rotations from one current key exactly one succeeds.
    RotateKey(Box<RotateKey>),
    /// Create or change a role, its name unique in its tenant ([`PutRole`]).
    PutRole(Box<PutRole>),
    /// Delete a role and its assignments.
    DeleteRole { key: Vec<u8> },
    /// Assign a stored role to a stored user or client ([`Assignment`]).
    Assign(Box<Assignment>),
    /// Remove an assignment: its [`Space::RoleGrants`] and [`Space::RoleMembers`] entries.
    Unassign { grant: Vec<u8>, member: Vec<u8> },
    /// Replace a record that does not expire (`value` under `key`) only if one is stored
    /// there: else `StoreError::Conflict`, so a late write never revives a deleted record.
    Replace { space: Space, key: Vec<u8>, value: Vec<u8> },
    /// Append an audit event (`value` under `key`) if its tenant is stored. It rides the
    /// round's batch but asks for no fsync: `done` completes with the next one (see `events`).
    AppendEvent { key: Vec<u8>, value: Vec<u8> },
}

/// The arguments of [`WriteOp::RotateKey`] (boxed: a key record would grow every op).
pub(crate) struct RotateKey {
    /// Where `new` goes.
    pub(crate) key: Vec<u8>,
    /// `new` encoded under `key`.
    pub(crate) value: Vec<u8>,
    pub(crate) new: KeyRecord,
    pub(crate) expected_current: Option<String>,
    pub(crate) retired_expires_at: UnixSecs,
}

/// The arguments of [`WriteOp::UseRefresh`] (boxed: they would double the size of every op).
pub(crate) struct UseRefresh {
    pub(crate) key: Vec<u8>,
    /// The digest in `key`, which the rule compares with `next_digest`.
    pub(crate) digest: [u8; 32],
    pub(crate) next_key: Vec<u8>,
    pub(crate) next_digest: [u8; 32],
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
            Self::UseAssertion { key, .. } => keys::owner(Space::Assertions, key),
            Self::CreateLink { key, .. } | Self::DeleteLink { key } => {
                keys::owner(Space::FederatedLinks, key)
            }
            Self::DeleteClient { key } => keys::owner(Space::Clients, key),
            Self::PutConsent { key, .. } => keys::owner(Space::Consents, key),
            Self::PutRefresh { key, .. } => keys::owner(Space::RefreshTokens, key),
            Self::UseRefresh(use_) => keys::owner(Space::RefreshTokens, &use_.key),
            Self::RevokeFamily { key, .. } => keys::owner(Space::RefreshFamilies, key),
            Self::RevokeFamiliesOfUser { prefix, .. } => keys::owner(Space::FamilyUsers, prefix),
            Self::PutSession { key, .. } | Self::DeleteSession { key } => keys::owner(Space::Sessions, key),
            Self::EndSessionsOfUser { prefix, .. } => keys::owner(Space::SessionUsers, prefix),
            Self::Create { space, key, .. } => keys::owner(*space, key),
            Self::RotateKey(rotate) => keys::owner(Space::Keys, &rotate.key),
            Self::PutRole(put) => keys::owner(Space::Roles, &put.key),
            Self::DeleteRole { key } => keys::owner(Space::Roles, key),
            Self::Assign(assignment) => keys::owner(Space::RoleGrants, &assignment.grant),
            Self::Unassign { grant, .. } => keys::owner(Space::RoleGrants, grant),
            Self::Replace { space, key, .. } => keys::owner(*space, key),
            Self::AppendEvent { key, .. } => keys::owner(Space::Events, key),
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
            | Self::RevokeFamily { key, .. }
            | Self::DeleteSession { key }
            | Self::DeleteLink { key } => key.len(),
            Self::RevokeFamiliesOfUser { prefix, .. } | Self::EndSessionsOfUser { prefix, .. } => {
                prefix.len()
            }
            Self::PutSession { key, value, entry, .. } | Self::CreateLink { key, value, entry, .. } => {
                key.len() + value.len() + entry.len()
            }
            Self::PutConsent { key, value }
            | Self::PutRefresh { key, value, .. }
            | Self::Create { key, value, .. }
            | Self::AppendEvent { key, value }
            | Self::UseAssertion { key, value, .. } => key.len() + value.len(),
            Self::RotateKey(rotate) => rotate.key.len() + rotate.value.len(),
            Self::UseRefresh(use_) => use_.key.len() + use_.next_key.len() + use_.next_value.len(),
            Self::PutRole(put) => put.key.len() + put.value.len(),
            Self::DeleteRole { key } => key.len(),
            Self::Assign(a) => a.grant.len() + a.member.len(),
            Self::Unassign { grant, member } => grant.len() + member.len(),
            Self::Replace { key, value, .. } => key.len() + value.len(),
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
    /// How long an audit event may wait for an fsync (`StoreOptions::event_durable_within`).
    pub(crate) event_durable_within: std::time::Duration,
}

fn request_bytes(request: &Request) -> usize {
    match request {
        Request::Write { op, .. } => op.size_bytes(),
        Request::Expire { index_keys, .. } => index_keys.iter().map(|k| k.len()).sum(),
        Request::PruneEvents { keys, .. } => keys.iter().map(|k| k.len()).sum(),
        Request::Close => 0,
    }
}

/// The result of a write that may be refused: `Err` is a failure of the store itself (it fails
/// the round), `Ok(Err(_))` a refusal of this one request (a conflict, a corrupt record in the
/// way), answered at once.
type Refusable<T> = Result<Result<T, StoreError>, StoreError>;

/// Splits a read error into a refusal of this request (a corrupt entry) and a failure of the
/// store (I/O).
fn refusable<T>(r: Result<T, StoreError>) -> Refusable<T> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(err @ StoreError::Corrupt { .. }) => Ok(Err(err)),
        Err(err) => Err(err),
    }
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
use refuse_or;
