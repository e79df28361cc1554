//! The transactions of federated links: a link with its by-user index entry, created only
//! where no link of its key is stored (decided here, in the writer, so of concurrent creates
//! exactly one lands), deleted with its entry, and a user's links deleted with the user.

use tessera_core::model::FederatedLink;
use tessera_core::store::StoreError;
use tokio::sync::oneshot;

use super::round::Round;
use super::{Refusable, read, refuse_or};
use crate::keys::{self, Space};
use crate::state::io;

/// Stores the link `value` under `key` with its by-user entry `entry`, unless a link is stored
/// under `key`: sends `None` when it stored it, else the stored link (left as it is), to
/// `outcome`. The flush makes a link created earlier in this round visible to the read.
pub(super) fn create_link(
    round: &mut Round<'_>,
    (key, value, entry): (Vec<u8>, Vec<u8>, Vec<u8>),
    outcome: oneshot::Sender<Option<FederatedLink>>,
) -> Refusable<()> {
    round.flush()?;
    let stored = refuse_or!(read::<FederatedLink>(round.shared, &key)?);
    if stored.is_none() {
        round.put(Space::FederatedLinkUsers, entry, Vec::new(), None);
        round.put(Space::FederatedLinks, key, value, None);
    }
    // A caller that gave up no longer listens.
    let _ = outcome.send(stored);
    Ok(Ok(()))
}

/// Deletes the link under `key` with its by-user entry. A link that does not decode goes all
/// the same; its entry, if any, then points at no link: listings skip it and the user's
/// deletion removes it.
pub(super) fn delete_link(round: &mut Round<'_>, key: Vec<u8>) -> Refusable<()> {
    round.flush()?;
    match read::<FederatedLink>(round.shared, &key)? {
        Ok(Some(link)) => {
            if let Some(entry) = keys::link_user_key(&key, &link.user_id) {
                round.delete(Space::FederatedLinkUsers, entry);
            }
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "deleting a federated link that does not decode"),
    }
    round.delete(Space::FederatedLinks, key);
    Ok(Ok(()))
}

/// Deletes every link of the user stored under `user_key` (`tenant \0 user_id`), found through
/// the by-user index, with their entries. A link its entry points at that now belongs to
/// another user (the entry outlived a link that did not decode) is that user's and stays.
/// Callers flush first.
pub(super) fn delete_links_of(round: &mut Round<'_>, user_key: &[u8]) -> Result<(), StoreError> {
    let Some((_, user)) = keys::split_scoped(user_key) else {
        return Ok(());
    };
    let mut prefix = user_key.to_vec();
    prefix.push(keys::SEP);
    let entries = round
        .shared
        .space(Space::FederatedLinkUsers)
        .prefix(&prefix)
        .map(|guard| guard.key().map_err(io))
        .collect::<Result<Vec<_>, _>>()?;
    for entry in entries {
        if let Some(link_key) = keys::link_of_user_entry(&entry) {
            let theirs = matches!(
                read::<FederatedLink>(round.shared, &link_key)?,
                Ok(Some(link)) if link.user_id.as_bytes() != user
            );
            if !theirs {
                round.delete(Space::FederatedLinks, link_key);
            }
        }
        round.delete(Space::FederatedLinkUsers, entry.to_vec());
    }
    Ok(())
}
