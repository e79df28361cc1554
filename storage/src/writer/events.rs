//! Audit events in the writer: an append lands in the round's batch like any put, but does not
//! ask for an fsync of its own (the engine makes it durable with the next round that fsyncs,
//! or within `StoreOptions::event_durable_within` when none does), and is dropped when its tenant is not
//! stored, so an event queued behind its tenant's deletion does not outlive it (nor pass to a
//! tenant re-created with the same id). Retention deletions come from the sweeper.

use fjall::Slice;
use tessera_core::store::StoreError;

use super::Refusable;
use super::round::Round;
use crate::keys::{self, Space};
use crate::state::io;

/// Appends an event (`value` under `key`) if its tenant is stored. The check reads what
/// earlier rounds committed, without flushing this round: an event is appended only after its
/// tenant's creation resolved (a later round), and a deletion is committed before the writes
/// held back behind it run.
pub(super) fn append(round: &mut Round<'_>, key: Vec<u8>, value: Vec<u8>) -> Refusable<()> {
    let Some(tenant) = keys::owner(Space::Events, &key) else {
        return Ok(Err(StoreError::Corrupt {
            key: keys::display_key(Space::Events, &key),
            detail: "refusing to write: the key names no tenant".to_owned(),
        }));
    };
    if !round.shared.space(Space::Tenants).contains_key(tenant).map_err(io)? {
        return Ok(Err(StoreError::Conflict("the event's tenant does not exist".to_owned())));
    }
    round.put(Space::Events, key, value, None);
    Ok(Ok(()))
}

/// Deletes events the sweeper found past their tenant's retention. Events are never rewritten,
/// so a key read by the sweeper cannot have come to mean a newer event meanwhile.
pub(super) fn prune(round: &mut Round<'_>, keys: &[Slice]) {
    for key in keys {
        round.delete(Space::Events, key.to_vec());
    }
}
