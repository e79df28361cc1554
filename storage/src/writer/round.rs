//! One round of the writer: the fjall batch being built, the effects its writes have on the
//! in-memory caches and deny list once visible, the changes its listeners hear once durable
//! (`crate::feed`), and the waiters its fsync will complete.

use std::mem;
use std::sync::mpsc::Sender;

use fjall::{OwnedWriteBatch, Slice};
use tessera_core::changes::Change;
use tessera_core::model::UnixSecs;
use tessera_core::store::StoreError;

use super::Done;
use crate::feed;
use crate::keys::{self, Space};
use crate::state::{Shared, io};

/// What must happen to in-memory state once a write is visible in fjall.
enum Effect {
    InvalidateTenant(Vec<u8>),
    InvalidateClient(Vec<u8>),
    /// A tenant's role set, by tenant key.
    InvalidateRoles(Vec<u8>),
    /// A subject's role ids, by `keys::subject_prefix`.
    InvalidateAssignments(Vec<u8>),
    Deny {
        key: Vec<u8>,
        exp: UnixSecs,
    },
}

/// The writes of one round: a fjall batch not yet committed, its effects, and the waiters the
/// round's fsync will complete.
pub(super) struct Round<'a> {
    pub(super) shared: &'a Shared,
    pub(super) batch: OwnedWriteBatch,
    effects: Vec<Effect>,
    /// Whether anyone listened when the round began (see `crate::feed`).
    recording: bool,
    /// What the feed hears once the round is durable.
    changes: Vec<Change>,
    /// Waiters completed by the round's fsync.
    pub(super) durable: Vec<Done>,
    /// Waiters of writes that ask for no fsync of their own (audit events): completed by the
    /// next one, this round's or a later round's (see `events`).
    pub(super) lazy: Vec<Done>,
    /// The sweeper's requests handled this round, with how many entries each held.
    pub(super) expired: Vec<(Sender<usize>, usize)>,
}

impl<'a> Round<'a> {
    pub(super) fn new(shared: &'a Shared) -> Self {
        Self {
            shared,
            batch: shared.db.batch(),
            effects: Vec::new(),
            recording: shared.feed.is_heard(),
            changes: Vec::new(),
            durable: Vec::new(),
            lazy: Vec::new(),
            expired: Vec::new(),
        }
    }

    pub(super) fn put(&mut self, space: Space, key: Vec<u8>, value: Vec<u8>, exp: Option<UnixSecs>) {
        self.note(space, &key);
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
            Space::Roles | Space::RoleGrants => self.effects.extend(role_effect(space, &key)),
            Space::RoleMembers
            | Space::ApiKeys
            | Space::Keys
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
            | Space::RefreshFamilies
            | Space::SessionUsers
            | Space::FamilyUsers
            | Space::Events
            | Space::Lockouts
            | Space::Assertions
            | Space::FederatedLinks
            | Space::FederatedLinkUsers => {}
        }
        self.batch.insert(self.shared.space(space), key, value);
    }

    pub(super) fn delete(&mut self, space: Space, key: Vec<u8>) {
        if self.recording
            && let Some(change) = feed::deletion_of(space, &key)
        {
            self.changes.push(change);
        }
        match space {
            Space::Tenants => self.effects.push(Effect::InvalidateTenant(key.clone())),
            Space::Clients => self.effects.push(Effect::InvalidateClient(key.clone())),
            Space::Roles | Space::RoleGrants => self.effects.extend(role_effect(space, &key)),
            // A revocation's fingerprint leaves the deny list when its `exp` passes, not with
            // its record: see `deny` for why.
            Space::Revocations
            | Space::RoleMembers
            | Space::ApiKeys
            | Space::Keys
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
            | Space::RefreshFamilies
            | Space::SessionUsers
            | Space::FamilyUsers
            | Space::Events
            | Space::Lockouts
            | Space::Assertions
            | Space::FederatedLinks
            | Space::FederatedLinkUsers => {}
        }
        self.batch.remove(self.shared.space(space), key);
    }

    fn note(&mut self, space: Space, key: &[u8]) {
        if self.recording
            && let Some(change) = feed::change_of(space, key)
        {
            self.changes.push(change);
        }
    }

    /// How many changes the round has recorded: a mark for [`Round::unhear_since`].
    pub(super) fn heard(&self) -> usize {
        self.changes.len()
    }

    /// Drops the changes recorded since `mark` and records `instead`: for writes heard as
    /// something else (a tenant's deletion) or not at all (expiry, which changes no answer a
    /// cache gives, since every cached expiring record carries its own expiry).
    pub(super) fn unhear_since(&mut self, mark: usize, instead: Option<Change>) {
        self.changes.truncate(mark);
        if self.recording {
            self.changes.extend(instead);
        }
    }

    /// Tells the feed what the round changed. Called once the round is durable and before any
    /// of its waiters is completed, so a caller whose write resolved knows it was heard.
    pub(super) fn announce(&self) {
        let feed = &self.shared.feed;
        if self.recording {
            feed.emit(&self.changes);
        } else if feed.is_heard() && !self.durable.is_empty() {
            // Someone subscribed during this unrecorded round: see `crate::feed`.
            feed.resync();
        }
    }

    /// Commits the batch so far (visible to reads, not yet durable) and applies its effects.
    /// Called before anything that reads the database, so the read sees every earlier write.
    pub(super) fn flush(&mut self) -> Result<(), StoreError> {
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
                Effect::InvalidateRoles(key) => self.shared.roles.invalidate(&key),
                Effect::InvalidateAssignments(key) => self.shared.assignments.invalidate(&key),
                Effect::Deny { key, exp } => {
                    if let Some((tenant, jti)) = scoped_strs(&key) {
                        self.shared.deny.insert(tenant, jti, exp);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The cache entry a write to a role or an assignment makes stale: the tenant's role set, or
/// the subject's role ids (the grant key without its role id).
fn role_effect(space: Space, key: &[u8]) -> Option<Effect> {
    match space {
        Space::Roles => keys::owner(space, key).map(|tenant| Effect::InvalidateRoles(tenant.to_vec())),
        _ => {
            let role = keys::split_grant(key)?.role;
            Some(Effect::InvalidateAssignments(key[..key.len() - role.len()].to_vec()))
        }
    }
}

fn scoped_strs(key: &[u8]) -> Option<(&str, &str)> {
    let (tenant, rest) = keys::split_scoped(key)?;
    Some((std::str::from_utf8(tenant).ok()?, std::str::from_utf8(rest).ok()?))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tessera_core::changes::Notice;

    use super::*;

    #[test]
    fn a_round_in_flight_at_the_first_subscription_ends_in_a_resync() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::for_tests(dir.path());
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&heard);
        let client = keys::scoped_key("acme", b"web").unwrap();

        // The round begins with no one listening, so it records nothing...
        let mut round = Round::new(&shared);
        round.put(Space::Clients, client.clone(), b"v1".to_vec(), None);
        // ...and someone subscribes and fills a cache before the write is visible.
        shared.feed.subscribe(Arc::new(move |notice| {
            sink.lock().unwrap().push(match notice {
                Notice::Changed(change) => Some(change.clone()),
                Notice::Resync => None,
            })
        }));
        round.flush().unwrap();
        let (done, _waiter) = tokio::sync::oneshot::channel();
        round.durable.push(done);
        round.announce();
        assert_eq!(*heard.lock().unwrap(), [None], "the listener is told it may have missed a change");

        // Later rounds record.
        let mut round = Round::new(&shared);
        round.put(Space::Clients, client, b"v2".to_vec(), None);
        round.flush().unwrap();
        round.announce();
        let change = feed::change_of(Space::Clients, &keys::scoped_key("acme", b"web").unwrap());
        assert_eq!(*heard.lock().unwrap(), [None, change]);
    }
}
