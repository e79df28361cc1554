//! Rebuilds the username and e-mail indexes when the definition of "the same name"
//! ([`tessera_core::model::fold_case`]) has changed since they were written: once, when the store
//! opens, before the writer starts.
//!
//! The indexes' keys are folded names; a store written when folding was only lowercasing holds
//! keys that today's lookups would never compute (`Ａlice` was indexed as `ａlice`, is looked up
//! as `alice`). The users are the truth, so the rebuild drops every entry and indexes each
//! user again, in key order (tenant, then user id). Two users whose names were distinct before
//! and are one name now cannot both hold it: the first keeps it and the other is logged by id,
//! found by the admin API but not by its name at the login form until an operator renames it.
//! Nothing is deleted but index entries.
//!
//! A marker key in the username index records which folding the entries follow. It is written
//! last, after the entries are durable, so a crash part way leaves no marker and the next open
//! rebuilds from the start again: dropping every entry first makes that safe to repeat.

use std::collections::HashMap;

use fjall::{PersistMode, Slice};
use tessera_core::model::User;
use tessera_core::store::StoreError;

use crate::codec;
use crate::keys::{self, Space};
use crate::state::{Shared, io};

/// Index entries dropped or written per fjall batch, so a large store never builds one huge
/// batch in memory.
const CHUNK: usize = 10_000;

/// What the rebuild did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Refolded {
    /// Users indexed again.
    pub users: usize,
    /// Users that lost a name to another user whose name now folds the same (logged by id).
    pub conflicts: usize,
}

/// Rebuilds the name indexes unless the marker says they follow today's folding.
pub(crate) fn name_indexes(shared: &Shared) -> Result<Option<Refolded>, StoreError> {
    let names = shared.space(Space::UserNames);
    if names.get(keys::NAME_FOLD_MARKER).map_err(io)?.as_deref() == Some(keys::NAME_FOLD_VERSION) {
        return Ok(None);
    }
    for space in [Space::UserNames, Space::UserEmails] {
        drop_entries(shared, space)?;
    }
    let mut done = Refolded::default();
    let mut batch = shared.db.batch();
    // Keys claimed by this batch, not yet readable from fjall; earlier batches are.
    let mut claimed = HashMap::<Vec<u8>, String>::new();
    for guard in shared.space(Space::Users).iter() {
        let (key, value) = guard.into_inner().map_err(io)?;
        let user = match codec::decode::<User>(&key, &value) {
            Ok(user) => user,
            Err(err) => {
                tracing::warn!(error = %err, "a user record that does not decode is left unindexed");
                continue;
            }
        };
        let name = keys::folded_key(&user.tenant, &user.username);
        let email = user.email.as_deref().and_then(|e| keys::folded_key(&user.tenant, e));
        let mut lost = false;
        for (space, index_key) in [(Space::UserNames, name), (Space::UserEmails, email)] {
            let Some(index_key) = index_key else { continue };
            // One namespace, as `put_user` keeps it: a name held in either index by another
            // user is taken. A user's own username may be its own address.
            match holder(shared, &claimed, &index_key)? {
                Some(holder) if holder != user.id => lost = true,
                _ => {
                    batch.insert(shared.space(space), index_key.clone(), user.id.as_bytes());
                    claimed.insert(index_key, user.id.clone());
                }
            }
        }
        if lost {
            done.conflicts += 1;
            tracing::error!(
                tenant = %user.tenant,
                user = %user.id,
                "this user's username or e-mail address is now the same name as an earlier \
                 user's and stays with that user; rename this one through the admin API"
            );
        }
        done.users += 1;
        if claimed.len() >= CHUNK {
            std::mem::replace(&mut batch, shared.db.batch()).commit().map_err(io)?;
            claimed.clear();
        }
    }
    batch.commit().map_err(io)?;
    shared.db.persist(PersistMode::SyncAll).map_err(io)?;
    names.insert(keys::NAME_FOLD_MARKER, Slice::from(keys::NAME_FOLD_VERSION)).map_err(io)?;
    shared.db.persist(PersistMode::SyncAll).map_err(io)?;
    if done.users > 0 {
        tracing::info!(
            users = done.users,
            conflicts = done.conflicts,
            "rebuilt the username and e-mail indexes"
        );
    }
    Ok(Some(done))
}

fn drop_entries(shared: &Shared, space: Space) -> Result<(), StoreError> {
    loop {
        let keys: Vec<Slice> =
            shared.space(space).iter().take(CHUNK).map(|g| g.key().map_err(io)).collect::<Result<_, _>>()?;
        if keys.is_empty() {
            return Ok(());
        }
        let mut batch = shared.db.batch();
        for key in keys {
            batch.remove(shared.space(space), key);
        }
        batch.commit().map_err(io)?;
    }
}

/// The user holding `key` in either index: this batch's claims, then what fjall holds.
fn holder(
    shared: &Shared,
    claimed: &HashMap<Vec<u8>, String>,
    key: &[u8],
) -> Result<Option<String>, StoreError> {
    if let Some(id) = claimed.get(key) {
        return Ok(Some(id.clone()));
    }
    for space in [Space::UserNames, Space::UserEmails] {
        if let Some(id) = shared.space(space).get(key).map_err(io)? {
            return Ok(Some(String::from_utf8_lossy(&id).into_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a user as a store that folded by lowercasing alone left it.
    fn put_lowercased(shared: &Shared, id: &str, username: &str, email: Option<&str>) {
        let mut user = User::new("acme", id, username, "$argon2id$x", 1_000);
        user.email = email.map(Into::into);
        let key = keys::user_key("acme", id).unwrap();
        shared.space(Space::Users).insert(key.clone(), codec::encode(&key, &user).unwrap()).unwrap();
        let old = |v: &str| keys::scoped_key("acme", v.to_lowercase().as_bytes()).unwrap();
        shared.space(Space::UserNames).insert(old(username), id.as_bytes()).unwrap();
        if let Some(email) = email {
            shared.space(Space::UserEmails).insert(old(email), id.as_bytes()).unwrap();
        }
    }

    fn holder_of(shared: &Shared, space: Space, name: &str) -> Option<String> {
        let key = keys::folded_key("acme", name).unwrap();
        shared.space(space).get(key).unwrap().map(|id| String::from_utf8(id.to_vec()).unwrap())
    }

    fn entries(shared: &Shared, space: Space) -> usize {
        shared.space(space).iter().filter_map(|g| g.key().ok()).filter(|k| !k.starts_with(b"\0")).count()
    }

    #[test]
    fn names_indexed_by_lowercase_alone_are_indexed_again_once() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::for_tests(dir.path());
        // Full-width "Bob", which lowercasing left full-width.
        put_lowercased(&shared, "u1", "\u{FF22}\u{FF4F}\u{FF42}", Some("Bob@Example.com"));
        put_lowercased(&shared, "u2", "STRASSE", None);
        put_lowercased(&shared, "u3", "carol@example.com", Some("Carol@example.com"));

        let done = name_indexes(&shared).unwrap();
        assert_eq!(done, Some(Refolded { users: 3, conflicts: 0 }));
        assert_eq!(holder_of(&shared, Space::UserNames, "bob").as_deref(), Some("u1"));
        assert_eq!(holder_of(&shared, Space::UserEmails, "BOB@example.com").as_deref(), Some("u1"));
        assert_eq!(holder_of(&shared, Space::UserNames, "stra\u{00DF}e").as_deref(), Some("u2"));
        // A user's own username may be its own address: both indexes hold it.
        assert_eq!(holder_of(&shared, Space::UserNames, "carol@example.com").as_deref(), Some("u3"));
        assert_eq!(holder_of(&shared, Space::UserEmails, "carol@example.com").as_deref(), Some("u3"));
        // The old full-width key is gone: only today's keys remain.
        assert_eq!((entries(&shared, Space::UserNames), entries(&shared, Space::UserEmails)), (3, 2));

        assert_eq!(name_indexes(&shared).unwrap(), None, "the marker says it is done");
    }

    #[test]
    fn two_users_that_are_now_one_name_keep_it_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::for_tests(dir.path());
        put_lowercased(&shared, "u1", "alice", None);
        put_lowercased(&shared, "u2", "\u{FF41}lice", Some("second@example.com"));

        let done = name_indexes(&shared).unwrap();
        assert_eq!(done, Some(Refolded { users: 2, conflicts: 1 }));
        assert_eq!(holder_of(&shared, Space::UserNames, "ALICE").as_deref(), Some("u1"));
        // The second keeps its address, and its record.
        assert_eq!(holder_of(&shared, Space::UserEmails, "second@example.com").as_deref(), Some("u2"));
        assert_eq!(shared.space(Space::Users).len().unwrap(), 2);
    }

    #[test]
    fn a_rebuild_cut_short_is_done_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::for_tests(dir.path());
        put_lowercased(&shared, "u1", "\u{FF22}ob", None);
        // A crash after some new entries were written but before the marker: a stray entry.
        shared.space(Space::UserNames).insert(keys::folded_key("acme", "stray").unwrap(), b"u9").unwrap();
        assert_eq!(name_indexes(&shared).unwrap(), Some(Refolded { users: 1, conflicts: 0 }));
        assert_eq!(holder_of(&shared, Space::UserNames, "stray"), None);
        assert_eq!(holder_of(&shared, Space::UserNames, "bob").as_deref(), Some("u1"));
    }
}
