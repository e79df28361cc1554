//! The transactions of users and what hangs off them: a user with its username and e-mail
//! index entries (unique per tenant regardless of case, in one namespace: no user's username
//! or address is another user's username or address; checked and written in one step), a
//! consent with its by-client index entry, and the deletion of a user or a client with its
//! consents and role assignments (and a user's federated links, `links`).

use tessera_core::model::User;
use tessera_core::store::StoreError;

use super::round::Round;
use super::{Refusable, refusable};
use crate::codec;
use crate::keys::{self, Space};
use crate::state::{Shared, io};

/// The id held by a username or e-mail index entry.
fn index_holder(shared: &Shared, space: Space, key: &[u8]) -> Result<Option<String>, StoreError> {
    match shared.space(space).get(key).map_err(io)? {
        None => Ok(None),
        Some(value) => codec::decode_index(space, key, &value).map(Some),
    }
}

/// The current user under `key`; `Ok(Err(_))` if it does not decode.
fn stored_user(shared: &Shared, key: &[u8]) -> Refusable<Option<User>> {
    Ok(match shared.space(Space::Users).get(key).map_err(io)? {
        None => Ok(None),
        Some(bytes) => codec::decode::<User>(key, &bytes).map(Some),
    })
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
pub(super) fn put_user(round: &mut Round<'_>, key: Vec<u8>, value: Vec<u8>, user: &User) -> Refusable<()> {
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
    // One namespace: the login form takes a username or an e-mail address, so a name must be
    // neither another user's username nor another user's address.
    for (space, index_key, what) in [
        (Space::UserNames, Some(&name_key), "username"),
        (Space::UserEmails, Some(&name_key), "username (as another user's email)"),
        (Space::UserEmails, email_key.as_ref(), "email"),
        (Space::UserNames, email_key.as_ref(), "email (as another user's username)"),
    ] {
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

/// Deletes a user with its index entries, consents, role assignments and federated links. A
/// record that does not decode is deleted all the same; its index entries, if any, then point
/// at no user and are overwritten when the names are claimed again.
pub(super) fn delete_user(round: &mut Round<'_>, key: Vec<u8>) -> Refusable<()> {
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
    super::roles::delete_assignments_of(round, Space::Users, &key)?;
    super::links::delete_links_of(round, &key)?;
    round.delete(Space::Users, key);
    Ok(Ok(()))
}

/// Deletes a client with its consents. The flush makes consents put earlier in this round
/// visible to the scan.
pub(super) fn delete_client(round: &mut Round<'_>, key: Vec<u8>) -> Refusable<()> {
    round.flush()?;
    delete_consents(round, Space::ConsentClients, &key)?;
    super::roles::delete_assignments_of(round, Space::Clients, &key)?;
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
pub(super) fn put_consent(round: &mut Round<'_>, key: Vec<u8>, value: Vec<u8>) -> Refusable<()> {
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
