//! The transactions of SSO sessions: a session with its by-user index entry
//! (`keys::Space::SessionUsers`), its deletion, and ending every session of one user. The index
//! is what lets a password change or a user's deletion find that user's sessions without
//! scanning every session of the tenant, so each write of a session keeps its entry in step in
//! the same batch; an entry whose session is gone or belongs to someone else is dropped
//! whenever it is met.

use tessera_core::model::{Session, UnixSecs};

use super::round::Round;
use super::{Refusable, read};
use crate::keys::{self, Space};
use crate::state::io;

/// The by-user entry of `session`, stored under `key`.
fn entry_of(key: &[u8], session: &Session) -> Option<Vec<u8>> {
    keys::session_user_key(key, &session.auth.sub)
}

/// Puts a session (`value` under `key`, expiring at `exp`) with its by-user entry. A session it
/// replaces under the same cookie loses its own entry if it was another user's (no server path
/// reuses a cookie, but the contract allows it). The flush makes earlier writes of this round
/// visible to the read.
pub(super) fn put_session(
    round: &mut Round<'_>,
    (key, value, exp): (Vec<u8>, Vec<u8>, UnixSecs),
    entry: Vec<u8>,
) -> Refusable<()> {
    round.flush()?;
    // A replaced record that does not decode names no user: nothing of its to drop.
    if let Ok(Some(old)) = read::<Session>(round.shared, &key)?
        && let Some(old_entry) = entry_of(&key, &old).filter(|e| *e != entry)
    {
        round.delete(Space::SessionUsers, old_entry);
    }
    round.put(Space::SessionUsers, entry, Vec::new(), None);
    round.put(Space::Sessions, key, value, Some(exp));
    Ok(Ok(()))
}

/// Deletes a session with its by-user entry. A record that does not decode is deleted all the
/// same; its entry, if any, is dropped when its user's sessions are next ended.
pub(super) fn delete_session(round: &mut Round<'_>, key: Vec<u8>) -> Refusable<()> {
    round.flush()?;
    match read::<Session>(round.shared, &key)? {
        Ok(Some(old)) => {
            if let Some(entry) = entry_of(&key, &old) {
                round.delete(Space::SessionUsers, entry);
            }
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "deleting a session record that does not decode"),
    }
    round.delete(Space::Sessions, key);
    Ok(Ok(()))
}

/// Deletes every session of `user`, found through its by-user entries under `prefix`
/// (`tenant \0 user \0`), and the entries. A session stored under an entry's cookie that is
/// another user's (it replaced this user's) is left alone; one that does not decode is
/// deleted, since ending a user's sessions must win over a damaged record. The flush makes
/// sessions put earlier in this round visible to the scan.
pub(super) fn end_sessions_of_user(round: &mut Round<'_>, prefix: &[u8], user: &str) -> Refusable<()> {
    round.flush()?;
    let shared = round.shared;
    let entries = shared
        .space(Space::SessionUsers)
        .prefix(prefix)
        .map(|guard| guard.key().map_err(io))
        .collect::<Result<Vec<_>, _>>()?;
    for entry in entries {
        if let Some(session_key) = keys::session_of_user_entry(&entry) {
            match read::<Session>(shared, &session_key)? {
                Ok(Some(session)) if session.auth.sub != user => {}
                Ok(Some(_)) => round.delete(Space::Sessions, session_key),
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "ending a session whose record does not decode");
                    round.delete(Space::Sessions, session_key);
                }
            }
        }
        round.delete(Space::SessionUsers, entry.to_vec());
    }
    Ok(Ok(()))
}
