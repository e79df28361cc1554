//! One round of the writer: the fjall batch being built, the effects its writes have on the
//! in-memory caches and deny list once visible, and the waiters its fsync will complete.

use std::mem;
use std::sync::mpsc::Sender;

use fjall::{OwnedWriteBatch, Slice};
use tessera_core::model::UnixSecs;
use tessera_core::store::StoreError;

use super::Done;
use crate::keys::{self, Space};
use crate::state::{Shared, io};

/// What must happen to in-memory state once a write is visible in fjall.
enum Effect {
    InvalidateTenant(Vec<u8>),
    InvalidateClient(Vec<u8>),
    Deny { key: Vec<u8>, exp: UnixSecs },
    Undeny { key: Vec<u8> },
}

/// The writes of one round: a fjall batch not yet committed, its effects, and the waiters the
/// round's fsync will complete.
pub(super) struct Round<'a> {
    pub(super) shared: &'a Shared,
    pub(super) batch: OwnedWriteBatch,
    effects: Vec<Effect>,
    /// Waiters completed by the round's fsync.
    pub(super) durable: Vec<Done>,
    /// The sweeper's requests handled this round, with how many entries each held.
    pub(super) expired: Vec<(Sender<usize>, usize)>,
}

impl<'a> Round<'a> {
    pub(super) fn new(shared: &'a Shared) -> Self {
        Self {
            shared,
            batch: shared.db.batch(),
            effects: Vec::new(),
            durable: Vec::new(),
            expired: Vec::new(),
        }
    }

    pub(super) fn put(&mut self, space: Space, key: Vec<u8>, value: Vec<u8>, exp: Option<UnixSecs>) {
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

    pub(super) fn delete(&mut self, space: Space, key: Vec<u8>) {
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
