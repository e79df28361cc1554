//! Remembered consent: round trip and replacement, invariants, reopening, and deletion with the
//! user, the client (through the by-client index) and the tenant.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tessera_core::model::User;
use tessera_core::store::{ClientStore, ConsentStore, StoreError, TenantStore, UserStore};
use tessera_storage::{FjallStore, StoreOptions};

fn user(tenant: &str, id: &str) -> User {
    User::new(tenant, id, id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", 1_000)
}

/// Users u1 and u2 of `tenant`, each having consented to clients web and cli.
async fn fill(store: &FjallStore, tenant: &str) {
    for u in ["u1", "u2"] {
        store.put_user(&user(tenant, u)).await.unwrap();
        for c in ["web", "cli"] {
            store.put_client(&client(tenant, c)).await.unwrap();
            store.put_consent(&consent(tenant, u, c, &["openid", "profile"])).await.unwrap();
        }
    }
}

async fn has(store: &FjallStore, tenant: &str, u: &str, c: &str) -> bool {
    store.consent(tenant, u, c).await.unwrap().is_some()
}

#[tokio::test]
async fn consents_round_trip_and_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    assert_eq!(store.consent("acme", "u1", "web").await.unwrap(), None);
    let first = consent("acme", "u1", "web", &["openid"]);
    store.put_consent(&first).await.unwrap();
    assert_eq!(store.consent("acme", "u1", "web").await.unwrap(), Some(first));
    let wider = consent("acme", "u1", "web", &["email", "openid", "profile"]);
    store.put_consent(&wider).await.unwrap();
    assert_eq!(store.consent("acme", "u1", "web").await.unwrap(), Some(wider));
    // Keyed by all three: another user, client or tenant has none.
    assert_eq!(store.consent("acme", "u2", "web").await.unwrap(), None);
    assert_eq!(store.consent("acme", "u1", "cli").await.unwrap(), None);
    assert_eq!(store.consent("other", "u1", "web").await.unwrap(), None);
    assert_eq!(store.consent("acme", "u1\0web", "").await.unwrap(), None);
    drop(store);
    assert_eq!(raw_keys(dir.path(), "consents"), [b"acme\0u1\0web".to_vec()]);
    assert_eq!(raw_keys(dir.path(), "consent_clients"), [b"acme\0web\0u1".to_vec()]);
}

#[tokio::test]
async fn invalid_consents_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    let cases = [
        consent("acme", "u1", "web", &["profile", "openid"]), // not sorted
        consent("acme", "u1", "web", &["openid", "openid"]),  // repeated
        consent("acme", "u/1", "web", &["openid"]),
        consent("acme", "u1", "", &["openid"]),
        consent("a\0b", "u1", "web", &["openid"]),
    ];
    for c in cases {
        let result = store.put_consent(&c).await;
        assert!(matches!(result, Err(StoreError::Corrupt { .. })), "{c:?}: {result:?}");
    }
    drop(store);
    assert!(raw_keys(dir.path(), "consents").is_empty());
    assert!(raw_keys(dir.path(), "consent_clients").is_empty());
}

#[tokio::test]
async fn deleting_a_user_deletes_its_consents() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    fill(&store, "acme").await;
    // A user whose id extends u1's must not be caught by u1's prefix.
    store.put_user(&user("acme", "u10")).await.unwrap();
    store.put_consent(&consent("acme", "u10", "web", &["openid"])).await.unwrap();
    store.delete_user("acme", "u1").await.unwrap();
    assert!(!has(&store, "acme", "u1", "web").await);
    assert!(!has(&store, "acme", "u1", "cli").await);
    assert!(has(&store, "acme", "u2", "web").await);
    assert!(has(&store, "acme", "u10", "web").await);
    // The index went too: deleting the client now finds only the remaining consents.
    store.delete_client("acme", "web").await.unwrap();
    assert!(has(&store, "acme", "u2", "cli").await);
    drop(store);
    assert_eq!(raw_keys(dir.path(), "consents"), [b"acme\0u2\0cli".to_vec()]);
    assert_eq!(raw_keys(dir.path(), "consent_clients"), [b"acme\0cli\0u2".to_vec()]);
}

#[tokio::test]
async fn deleting_a_client_deletes_its_consents() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    fill(&store, "acme").await;
    fill(&store, "other").await;
    store.put_consent(&consent("acme", "u1", "web2", &["openid"])).await.unwrap();
    store.delete_client("acme", "web").await.unwrap();
    assert!(store.client("acme", "web").await.unwrap().is_none());
    assert!(!has(&store, "acme", "u1", "web").await);
    assert!(!has(&store, "acme", "u2", "web").await);
    assert!(has(&store, "acme", "u1", "cli").await);
    assert!(has(&store, "acme", "u1", "web2").await);
    assert!(has(&store, "other", "u1", "web").await);
    drop(store);
    let consents = raw_keys(dir.path(), "consents");
    assert_eq!(consents.len(), 7);
    assert!(!consents.iter().any(|k| k.starts_with(b"acme\0") && k.ends_with(b"\0web")));
    assert_eq!(raw_keys(dir.path(), "consent_clients").len(), 7);
}

#[tokio::test]
async fn a_consent_put_just_before_its_client_is_deleted_goes_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    // Queued together, so they very likely share a writer round.
    let put = store.put_consent(&consent("acme", "u1", "web", &["openid"]));
    let delete = store.delete_client("acme", "web");
    put.await.unwrap();
    delete.await.unwrap();
    assert!(!has(&store, "acme", "u1", "web").await);
}

#[test]
fn delete_tenant_removes_its_consents() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let options = StoreOptions { delete_chunk_records: 3, ..options(&clock) };
        let store = FjallStore::open(dir.path(), options).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            store.put_tenant(&tenant("acme")).await.unwrap();
            store.put_tenant(&tenant("other")).await.unwrap();
            fill(&store, "acme").await;
            fill(&store, "other").await;
            store.delete_tenant("acme").await.unwrap();
        });
        assert!(!rt.block_on(has(&store, "acme", "u1", "web")));
        assert!(rt.block_on(has(&store, "other", "u1", "web")));
    }
    for space in ["consents", "consent_clients"] {
        let left = raw_keys(dir.path(), space);
        assert_eq!(left.len(), 4, "{space}");
        assert!(left.iter().all(|k| k.starts_with(b"other\0")), "{space}");
    }
}
