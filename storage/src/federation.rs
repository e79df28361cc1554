//! [`FederationStore`] for [`FjallStore`]: a federated link is a record of its tenant under
//! `tenant \0 idp \0 subject` ([`Space::FederatedLinks`]) with an entry under its user
//! ([`Space::FederatedLinkUsers`]), written and removed together in the writer (`writer::links`).
//! Creating one is decided in the writer, so of concurrent creates of one key exactly one
//! lands and the others are told which. Listing a user's links reads that user's entries only;
//! an entry whose link is gone or now another user's is skipped.

use std::future::ready;

use tessera_core::model::FederatedLink;
use tessera_core::store::{Commit, FederationStore, Read, StoreError};

use crate::codec;
use crate::keys::{self, Space};
use crate::state::io;
use crate::store::{FjallStore, invalid};
use crate::writer::WriteOp;

impl FederationStore for FjallStore {
    fn federated_link(&self, tenant: &str, idp: &str, subject: &str) -> Read<Option<FederatedLink>> {
        Read::ready(self.read(tenant, keys::link_key(tenant, idp, subject)))
    }

    fn create_federated_link(&self, link: &FederatedLink) -> Read<Option<FederatedLink>> {
        let key = keys::link_key(&link.tenant, &link.idp, &link.subject);
        let entry = key.as_deref().and_then(|k| keys::link_user_key(k, &link.user_id));
        let (Some(key), Some(entry)) = (key, entry) else {
            return Read::ready(Err(invalid(Space::FederatedLinks, "federated link")));
        };
        match codec::encode(&key, link) {
            Ok(value) => {
                Read::pending(self.decided(|outcome| WriteOp::CreateLink { key, value, entry, outcome }))
            }
            Err(err) => Read::ready(Err(err)),
        }
    }

    fn delete_federated_link(&self, tenant: &str, idp: &str, subject: &str) -> Commit {
        match keys::link_key(tenant, idp, subject) {
            Some(key) => self.submit(WriteOp::DeleteLink { key }),
            // No link can live under an invalid key: deleting it is done already.
            None => Box::pin(ready(Ok(()))),
        }
    }

    fn federated_links_of_user(&self, tenant: &str, user_id: &str) -> Read<Vec<FederatedLink>> {
        Read::ready(links_of_user(self, tenant, user_id))
    }
}

/// The links user `user_id` of `tenant` holds, in entry (identity provider, subject) order.
fn links_of_user(store: &FjallStore, tenant: &str, user_id: &str) -> Result<Vec<FederatedLink>, StoreError> {
    let Some(prefix) = keys::by_user_prefix(tenant, user_id) else {
        return Ok(Vec::new());
    };
    if store.shared.is_deleting(tenant) {
        return Ok(Vec::new());
    }
    let mut links = Vec::new();
    for guard in store.shared.space(Space::FederatedLinkUsers).prefix(&prefix) {
        let entry = guard.key().map_err(io)?;
        let Some(key) = keys::link_of_user_entry(&entry) else {
            continue;
        };
        // Entry and link are written and removed in one batch; an entry without its link is
        // only left by a link that did not decode when it was deleted.
        if let Some(link) = store.shared.get::<FederatedLink>(&key)?
            && link.user_id == user_id
        {
            links.push(link);
        }
    }
    Ok(links)
}
