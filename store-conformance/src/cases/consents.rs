//! Remembered consent (`ConsentStore`): one record per (tenant, user, client), replaced by a
//! new grant, deleted with its user, its client or its tenant, and durable.

use tessera_core::store::{ClientStore, ConsentStore, Store, TenantStore, UserStore};

use crate::Harness;
use crate::fixtures::{client, consent, ok, tenant, user};
use crate::harness::open_at;

async fn has(store: &impl Store, tenant: &str, user_id: &str, client_id: &str) -> bool {
    store.consent(tenant, user_id, client_id).await.expect("read a consent").is_some()
}

/// Users u1 and u2 of `tenant`, each having consented to clients web and cli.
async fn fill(store: &impl Store, t: &str) {
    ok(store.put_tenant(&tenant(t)), "put tenant").await;
    for u in ["u1", "u2"] {
        ok(store.put_user(&user(t, u, u, None)), "put user").await;
        for c in ["web", "cli"] {
            ok(store.put_client(&client(t, c)), "put client").await;
            ok(store.put_consent(&consent(t, u, c, &["openid", "profile"])), "put consent").await;
        }
    }
}

pub(crate) async fn consents_round_trip_keyed_by_tenant_user_and_client(h: &impl Harness) {
    let store = open_at(h, 1_000);
    assert_eq!(store.consent("acme", "u1", "web").await, Ok(None));
    let c = consent("acme", "u1", "web", &["openid"]);
    ok(store.put_consent(&c), "put consent").await;
    assert_eq!(store.consent("acme", "u1", "web").await, Ok(Some(c)));
    // Another user, client or tenant has none; ids do not run into each other.
    assert_eq!(store.consent("acme", "u2", "web").await, Ok(None));
    assert_eq!(store.consent("acme", "u1", "cli").await, Ok(None));
    assert_eq!(store.consent("other", "u1", "web").await, Ok(None));
    assert_eq!(store.consent("acme", "u1\0web", "").await, Ok(None));
}

pub(crate) async fn a_consent_is_replaced(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_consent(&consent("acme", "u1", "web", &["openid"])), "put consent").await;
    let wider = consent("acme", "u1", "web", &["email", "openid", "profile"]);
    ok(store.put_consent(&wider), "replace consent").await;
    assert_eq!(store.consent("acme", "u1", "web").await, Ok(Some(wider)));
}

pub(crate) async fn deleting_a_user_deletes_its_consents(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    // A user whose id extends u1's must not go with u1.
    ok(store.put_user(&user("acme", "u10", "u10", None)), "put user").await;
    ok(store.put_consent(&consent("acme", "u10", "web", &["openid"])), "put consent").await;
    ok(store.delete_user("acme", "u1"), "delete user").await;
    assert!(!has(&*store, "acme", "u1", "web").await);
    assert!(!has(&*store, "acme", "u1", "cli").await);
    assert!(has(&*store, "acme", "u2", "web").await);
    assert!(has(&*store, "acme", "u10", "web").await);
    // A later deletion of a client still finds exactly the consents that are left.
    ok(store.delete_client("acme", "web"), "delete client").await;
    assert!(!has(&*store, "acme", "u2", "web").await);
    assert!(has(&*store, "acme", "u2", "cli").await);
}

pub(crate) async fn deleting_a_client_deletes_its_consents(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    fill(&*store, "other").await;
    // A client whose id extends web's must not go with web.
    ok(store.put_consent(&consent("acme", "u1", "web2", &["openid"])), "put consent").await;
    ok(store.delete_client("acme", "web"), "delete client").await;
    assert!(!has(&*store, "acme", "u1", "web").await);
    assert!(!has(&*store, "acme", "u2", "web").await);
    assert!(has(&*store, "acme", "u1", "cli").await);
    assert!(has(&*store, "acme", "u1", "web2").await);
    assert!(has(&*store, "other", "u1", "web").await, "another tenant's client of the same id");
    // A consent given again after the deletion is a new record, not a leftover.
    let again = consent("acme", "u1", "web", &["openid"]);
    ok(store.put_consent(&again), "put consent again").await;
    assert_eq!(store.consent("acme", "u1", "web").await, Ok(Some(again)));
}

pub(crate) async fn deleting_a_tenant_deletes_its_consents(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    fill(&*store, "other").await;
    ok(store.delete_tenant("acme"), "delete tenant").await;
    for u in ["u1", "u2"] {
        for c in ["web", "cli"] {
            assert!(!has(&*store, "acme", u, c).await, "{u} {c}");
            assert!(has(&*store, "other", u, c).await, "{u} {c}");
        }
    }
}

pub(crate) async fn consents_survive_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let c = consent("acme", "u1", "web", &["openid"]);
    ok(store.put_consent(&c), "put consent").await;
    let store = h.reopen(store);
    assert_eq!(store.consent("acme", "u1", "web").await, Ok(Some(c)));
}
