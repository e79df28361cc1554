//! The change feed (`ChangeFeed`, promised in `tessera_core::changes`): a write of each kind a
//! cache holds is heard by every listener, naming its tenant, kind and id, by the time its
//! commit resolves; a refused write is not heard; a tenant's deletion is heard as one tenant
//! change. A change may be heard more than once (the contract says at least once), so the
//! cases compare what was heard without repeats. A backend may also resync at any time; on the
//! quiet store of a case it has no reason to, and the cases ignore it.

use std::sync::{Arc, Mutex, PoisonError};

use tessera_core::changes::{Change, ChangeFeed, ChangeKind, Notice};
use tessera_core::store::{ClientStore, KeyStore, RevocationStore, TenantStore, TokenStore, UserStore};

use crate::Harness;
use crate::cases::every_kind::fill;
use crate::fixtures::{client, digest, is_conflict, key, ok, revocation, tenant, token, user};
use crate::harness::open_at;

/// What one listener heard.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<Change>>>);

impl Heard {
    /// Subscribes a new listener to `store`.
    fn listen(store: &impl ChangeFeed) -> Self {
        let heard = Self::default();
        let sink = heard.clone();
        store.subscribe(Arc::new(move |notice| {
            if let Notice::Changed(change) = notice {
                sink.0.lock().unwrap_or_else(PoisonError::into_inner).push(change.clone());
            }
        }));
        heard
    }

    /// The changes heard since the last call, in the order first heard, without repeats.
    fn take(&self) -> Vec<Change> {
        let all = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        let mut once: Vec<Change> = Vec::new();
        for change in all {
            if !once.contains(&change) {
                once.push(change);
            }
        }
        once
    }
}

fn change(tenant: &str, kind: ChangeKind, id: &str) -> Change {
    Change { tenant: tenant.to_owned(), kind, id: id.to_owned() }
}

pub(crate) async fn puts_of_each_kind_are_heard_by_the_time_they_commit(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let heard = Heard::listen(&*store);
    ok(store.put_tenant(&tenant("acme")), "put tenant").await;
    assert_eq!(heard.take(), [Change::tenant("acme")], "tenant");
    ok(store.put_client(&client("acme", "web")), "put client").await;
    assert_eq!(heard.take(), [change("acme", ChangeKind::Client, "web")], "client");
    ok(store.put_key(&key("acme", "k1", 100)), "put key").await;
    assert_eq!(heard.take(), [change("acme", ChangeKind::Key, "k1")], "key");
    ok(store.put_revocation(&revocation("acme", "jwt-1", 9_000)), "put revocation").await;
    assert_eq!(heard.take(), [change("acme", ChangeKind::Revocation, "jwt-1")], "revocation");
    ok(store.put_user(&user("acme", "u1", "alice", Some("alice@example.com"))), "put user").await;
    assert_eq!(heard.take(), [change("acme", ChangeKind::User, "u1")], "user");
    // A replaced record is a change too: a cache holding the old one must hear of it.
    let mut renamed = client("acme", "web");
    renamed.redirect_uris = vec!["https://other.example/cb".to_owned()];
    ok(store.put_client(&renamed), "replace client").await;
    assert_eq!(heard.take(), [change("acme", ChangeKind::Client, "web")], "replaced client");
}

pub(crate) async fn deletions_of_each_kind_are_heard_by_the_time_they_commit(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "put tenant").await;
    ok(store.put_client(&client("acme", "web")), "put client").await;
    ok(store.put_key(&key("acme", "k1", 100)), "put key").await;
    ok(store.put_user(&user("acme", "u1", "alice", None)), "put user").await;
    let heard = Heard::listen(&*store);
    ok(store.delete_client("acme", "web"), "delete client").await;
    assert_eq!(heard.take(), [change("acme", ChangeKind::Client, "web")], "client");
    ok(store.delete_key("acme", "k1"), "delete key").await;
    assert_eq!(heard.take(), [change("acme", ChangeKind::Key, "k1")], "key");
    ok(store.delete_user("acme", "u1"), "delete user").await;
    assert_eq!(heard.take(), [change("acme", ChangeKind::User, "u1")], "user");
}

pub(crate) async fn revoking_an_opaque_token_is_heard_and_issuing_it_is_not(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let heard = Heard::listen(&*store);
    let (live, revoked) = (digest(1), digest(2));
    ok(store.put_opaque_token(&live, &token("acme", "live", 9_000)), "issue").await;
    ok(store.put_opaque_token(&revoked, &token("acme", "revoked", 9_000)), "issue").await;
    // No cache can hold a token before it exists: an issuance is nothing to hear.
    assert_eq!(heard.take(), Vec::<Change>::new(), "issued");
    ok(store.delete_opaque_token("acme", &revoked), "revoke").await;
    let changes = heard.take();
    assert_eq!(changes, [Change::opaque_token("acme", &revoked)], "revoked, named by its digest");
    assert_eq!(changes[0].opaque_token_digest(), Some(revoked));
}

pub(crate) async fn a_refused_write_is_not_heard(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_user(&user("acme", "u1", "alice", None)), "put alice").await;
    let heard = Heard::listen(&*store);
    let taken = store.put_user(&user("acme", "u2", "ALICE", None)).await;
    assert!(is_conflict(&taken), "a taken name conflicts: {taken:?}");
    let invalid = store.put_client(&client("acme", "not an id")).await;
    assert!(invalid.is_err(), "an invalid client id is refused: {invalid:?}");
    assert_eq!(heard.take(), Vec::<Change>::new(), "nothing was written, so nothing is heard");
    // The listener is still there: the next write that succeeds is heard.
    ok(store.put_user(&user("acme", "u2", "bob", None)), "put bob").await;
    assert_eq!(heard.take(), [change("acme", ChangeKind::User, "u2")]);
}

pub(crate) async fn deleting_a_tenant_is_heard_as_one_tenant_change(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let heard = Heard::listen(&*store);
    fill(&*store, "acme").await;
    // Of every kind `fill` writes, those a cache holds; tokens, codes, sessions, consents and
    // refresh tokens are not heard as any of them.
    let filled = [
        Change::tenant("acme"),
        change("acme", ChangeKind::Client, "web"),
        change("acme", ChangeKind::Key, "k1"),
        change("acme", ChangeKind::Revocation, "jwt-1"),
        change("acme", ChangeKind::User, "u1"),
        change("acme", ChangeKind::Role, "r1"),
    ];
    // The role's assignments are heard as changes of `u1` and `web`, heard already.
    assert_eq!(heard.take(), filled);
    fill(&*store, "globex").await;
    heard.take();
    ok(store.delete_tenant("acme"), "delete tenant").await;
    // One change for everything: the listener drops all it holds of the tenant. The records
    // that went with it are not heard one by one, and no other tenant is.
    assert_eq!(heard.take(), [Change::tenant("acme")]);
}

pub(crate) async fn every_listener_hears_every_change(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let listeners = [Heard::listen(&*store), Heard::listen(&*store), Heard::listen(&*store)];
    ok(store.put_client(&client("acme", "web")), "put client").await;
    ok(store.put_revocation(&revocation("globex", "jwt-9", 9_000)), "put revocation").await;
    let expected =
        [change("acme", ChangeKind::Client, "web"), change("globex", ChangeKind::Revocation, "jwt-9")];
    for (i, heard) in listeners.iter().enumerate() {
        assert_eq!(heard.take(), expected, "listener {i}");
    }
}
