//! The fjall store's side of the change feed (`tessera_core::changes`): the listeners, and which
//! keyspace writes are heard as which kind of change. The writer records a round's changes as it
//! applies them and hands them here once the round's fsync succeeded, before it acknowledges any
//! write of the round; a failed round is never heard.
//!
//! Recording costs nothing until someone subscribes: a round records only if a listener was
//! there when it began. A listener that subscribes while a round is in flight may have read, to
//! fill its cache, a state that round is about to change unheard, so that round ends with a
//! resync instead (once, on the first subscription: later rounds record).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;
use tessera_core::changes::{Change, ChangeKind, ChangeListener, Notice};

use crate::keys::{self, Space};

/// The listeners of one store.
pub(crate) struct Feed {
    /// Replaced whole on subscribe, so the writer takes a snapshot without holding the lock
    /// while listeners run.
    listeners: RwLock<Arc<[ChangeListener]>>,
    /// Whether anyone listens, read by the writer once per round without the lock.
    heard: AtomicBool,
}

impl Feed {
    pub(crate) fn new() -> Self {
        Self { listeners: RwLock::new(Arc::from(Vec::new())), heard: AtomicBool::new(false) }
    }

    pub(crate) fn subscribe(&self, listener: ChangeListener) {
        let mut listeners = self.listeners.write();
        let mut all = listeners.to_vec();
        all.push(listener);
        *listeners = all.into();
        self.heard.store(true, Ordering::Release);
    }

    /// Whether a round beginning now should record its changes.
    pub(crate) fn is_heard(&self) -> bool {
        self.heard.load(Ordering::Acquire)
    }

    /// Tells every listener of each change, in order.
    pub(crate) fn emit(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let listeners = self.listeners.read().clone();
        for change in changes {
            notify(&listeners, Notice::Changed(change));
        }
    }

    /// Tells every listener to drop everything it holds.
    pub(crate) fn resync(&self) {
        let listeners = self.listeners.read().clone();
        notify(&listeners, Notice::Resync);
    }
}

fn notify(listeners: &[ChangeListener], notice: Notice<'_>) {
    for listener in listeners {
        // A listener runs on the writer thread: its panic must not take the writer (and with
        // it every later write) down. It is a bug in the listener, logged for an operator.
        if catch_unwind(AssertUnwindSafe(|| listener(notice))).is_err() {
            tracing::error!(?notice, "a change listener panicked; the store carries on");
        }
    }
}

/// The change the deletion of `key` in `space` is heard as: that of its put (see
/// [`change_of`]), except that removing an opaque token is heard though issuing one is not
/// (`ChangeKind::OpaqueToken` says why).
pub(crate) fn deletion_of(space: Space, key: &[u8]) -> Option<Change> {
    if space != Space::Tokens {
        return change_of(space, key);
    }
    let (tenant, digest) = keys::split_scoped(key)?;
    let digest: &[u8; 32] = digest.try_into().ok()?;
    Some(Change::opaque_token(&String::from_utf8_lossy(tenant), digest))
}

/// The change a write to `key` in `space` is heard as, if any cache holds that kind of record.
/// Index entries (usernames, consents by client) are heard through their record; tokens, codes,
/// sessions, consents and refresh tokens are held by no cache.
pub(crate) fn change_of(space: Space, key: &[u8]) -> Option<Change> {
    let kind = match space {
        Space::Tenants => {
            let id = String::from_utf8_lossy(key);
            return Some(Change::tenant(&id));
        }
        Space::Clients => ChangeKind::Client,
        Space::Keys => ChangeKind::Key,
        Space::Revocations => ChangeKind::Revocation,
        Space::Users => ChangeKind::User,
        Space::Roles => ChangeKind::Role,
        // An assignment is heard as a change of its subject, whose roles it is.
        Space::RoleGrants => {
            let parts = keys::split_grant(key)?;
            return Some(Change {
                tenant: String::from_utf8_lossy(parts.tenant).into_owned(),
                kind: if parts.tag == b'u' { ChangeKind::User } else { ChangeKind::Client },
                id: String::from_utf8_lossy(parts.subject).into_owned(),
            });
        }
        Space::RoleMembers
        | Space::ApiKeys
        | Space::Tokens
        | Space::UserNames
        | Space::UserEmails
        | Space::Expiry
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
        | Space::FederatedLinkUsers => return None,
    };
    let (tenant, id) = keys::split_scoped(key)?;
    // Ids reach keys from `&str`s, so this is lossless; lossy only for a key no write makes.
    Some(Change {
        tenant: String::from_utf8_lossy(tenant).into_owned(),
        kind,
        id: String::from_utf8_lossy(id).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn keyspaces_map_to_their_kinds() {
        let key = keys::scoped_key("acme", b"web").unwrap();
        let change = |kind| Some(Change { tenant: "acme".into(), kind, id: "web".into() });
        assert_eq!(change_of(Space::Clients, &key), change(ChangeKind::Client));
        assert_eq!(change_of(Space::Keys, &key), change(ChangeKind::Key));
        assert_eq!(change_of(Space::Revocations, &key), change(ChangeKind::Revocation));
        assert_eq!(change_of(Space::Users, &key), change(ChangeKind::User));
        assert_eq!(change_of(Space::Tenants, b"acme"), Some(Change::tenant("acme")));
        assert_eq!(change_of(Space::Roles, &key), change(ChangeKind::Role));
        let (grant, member) =
            keys::assignment_keys("acme", tessera_core::store::Subject::Client("web"), "r1").unwrap();
        assert_eq!(change_of(Space::RoleGrants, &grant), change(ChangeKind::Client));
        assert_eq!(change_of(Space::RoleMembers, &member), None, "heard through its twin");
        assert_eq!(change_of(Space::UserNames, &key), None);
        assert_eq!(change_of(Space::Tokens, &key), None);
        assert_eq!(deletion_of(Space::Clients, &key), change(ChangeKind::Client));
        let digest = [7; 32];
        let token = keys::scoped_key("acme", &digest).unwrap();
        assert_eq!(change_of(Space::Tokens, &token), None, "issuing a token is not heard");
        assert_eq!(deletion_of(Space::Tokens, &token), Some(Change::opaque_token("acme", &digest)));
        assert_eq!(deletion_of(Space::Tokens, &key), None, "not a digest: no write makes it");
    }

    #[test]
    fn a_panicking_listener_does_not_stop_the_others() {
        let feed = Feed::new();
        assert!(!feed.is_heard());
        let heard = Arc::new(Mutex::new(Vec::new()));
        feed.subscribe(Arc::new(|_| panic!("a buggy listener")));
        let sink = Arc::clone(&heard);
        feed.subscribe(Arc::new(move |notice| {
            if let Notice::Changed(c) = notice {
                sink.lock().unwrap().push(c.clone());
            }
        }));
        assert!(feed.is_heard());
        feed.emit(&[Change::tenant("a"), Change::tenant("b")]);
        assert_eq!(*heard.lock().unwrap(), vec![Change::tenant("a"), Change::tenant("b")]);
    }
}
