//! The transactions of a tenant's configuration that must not be decided twice: creating a
//! tenant or a client only where none is (and a client only in a tenant that is stored), and
//! rotating a signing key only if the current key is the one the caller saw
//! ([`tessera_core::rules::keys`] decides). Each reads and writes in the writer thread, so no
//! other write comes between; a refusal writes nothing.

use tessera_core::model::KeyRecord;
use tessera_core::rules::keys::{self as key_rules, KeyWrite, Refused};
use tessera_core::store::StoreError;

use super::round::Round;
use super::{Refusable, RotateKey, refusable, refuse_or};
use crate::codec;
use crate::keys::{self, Space};
use crate::state::{Shared, io};

/// Whether `tenant` (its id, as in its key) is stored.
fn tenant_exists(shared: &Shared, tenant: &[u8]) -> Result<bool, StoreError> {
    shared.space(Space::Tenants).contains_key(tenant).map_err(io)
}

/// How a record's key reads in a message: `tenant acme`, `client web`.
fn named(space: Space, key: &[u8]) -> String {
    let last = match space {
        Space::Tenants => Some(key),
        _ => keys::split_scoped(key).map(|(_, rest)| rest),
    };
    match (space, last.and_then(|k| std::str::from_utf8(k).ok())) {
        (Space::Tenants, Some(id)) => format!("tenant {id}"),
        (Space::Clients, Some(id)) => format!("client {id}"),
        _ => keys::display_key(space, key),
    }
}

/// Inserts `value` under `key` unless a record is stored there or, for a record of a tenant,
/// the tenant is not stored. The flush first makes every earlier write of this round (another
/// create of the same key, the tenant's own create) visible to the checks. A tenant being
/// deleted never gets here: the engine holds writes to it back until the deletion is done, so
/// a client then finds its tenant gone.
pub(super) fn create(round: &mut Round<'_>, space: Space, key: Vec<u8>, value: Vec<u8>) -> Refusable<()> {
    round.flush()?;
    let shared = round.shared;
    if shared.space(space).contains_key(&key).map_err(io)? {
        return Ok(Err(StoreError::Conflict(format!("{} exists", named(space, &key)))));
    }
    if space != Space::Tenants {
        let Some(tenant) = keys::owner(space, &key) else {
            return Ok(Err(StoreError::Corrupt {
                key: keys::display_key(space, &key),
                detail: "refusing to write: the key names no tenant".to_owned(),
            }));
        };
        if !tenant_exists(shared, tenant)? {
            return Ok(Err(StoreError::Conflict(format!(
                "{} does not exist",
                named(Space::Tenants, tenant)
            ))));
        }
    }
    round.put(space, key, value, None);
    Ok(Ok(()))
}

/// Replaces the record under `key` only if one is stored there. The flush makes earlier writes
/// of this round (its create, its deletion) visible to the check.
pub(super) fn replace(round: &mut Round<'_>, space: Space, key: Vec<u8>, value: Vec<u8>) -> Refusable<()> {
    round.flush()?;
    if !round.shared.space(space).contains_key(&key).map_err(io)? {
        return Ok(Err(StoreError::Conflict(format!("{} does not exist", keys::display_key(space, &key)))));
    }
    round.put(space, key, value, None);
    Ok(Ok(()))
}

/// Rotates to `new` ([`key_rules::rotate`]) if the tenant is stored and its current key of the
/// algorithm is the expected one: puts the retired copies of the old keys and the new key, all
/// encoded before any is put, so a record that cannot be written refuses the whole rotation.
/// A stored key of the tenant that does not decode refuses it too: the rule cannot know whether
/// that key is current. The flush makes earlier writes of this round visible to the reads.
pub(super) fn rotate_key(round: &mut Round<'_>, rotate: RotateKey) -> Refusable<()> {
    let RotateKey { key, value, new, expected_current, retired_expires_at } = rotate;
    round.flush()?;
    let shared = round.shared;
    let Some(tenant) = keys::owner(Space::Keys, &key) else {
        return Ok(Err(StoreError::Corrupt {
            key: keys::display_key(Space::Keys, &key),
            detail: "refusing to write: the key names no tenant".to_owned(),
        }));
    };
    let exists = tenant_exists(shared, tenant)?;
    let mut prefix = tenant.to_vec();
    prefix.push(keys::SEP);
    let stored = refuse_or!(refusable(shared.scan::<KeyRecord>(&prefix))?);
    let writes =
        match key_rules::rotate(exists, &stored, &new, expected_current.as_deref(), retired_expires_at) {
            Ok(writes) => writes,
            Err(refused) => return Ok(Err(refusal(&refused, &key))),
        };
    let mut new_put = Some((key, value));
    let mut puts = Vec::with_capacity(writes.len());
    for write in writes {
        match write {
            // The rule asks for the new key once.
            KeyWrite::PutNew => puts.extend(new_put.take()),
            KeyWrite::Retire(old) => {
                let Some(old_key) = keys::scoped_key(&old.tenant, old.kid.as_bytes()) else {
                    // It was read under such a key: it cannot be invalid.
                    continue;
                };
                let old_value = refuse_or!(codec::encode(&old_key, &old));
                puts.push((old_key, old_value));
            }
        }
    }
    for (k, v) in puts {
        round.put(Space::Keys, k, v, None);
    }
    Ok(Ok(()))
}

/// The error a refused rotation answers: a lost race (or a tenant gone) is a conflict; a new
/// key that is not new is a caller's bug that would store a key which can never be current.
fn refusal(refused: &Refused, key: &[u8]) -> StoreError {
    match refused {
        Refused::NoTenant(_) | Refused::NotCurrent { .. } | Refused::KidTaken(_) => {
            StoreError::Conflict(refused.to_string())
        }
        Refused::NotNew => StoreError::Corrupt {
            key: keys::display_key(Space::Keys, key),
            detail: format!("refusing to write: {refused}"),
        },
    }
}
