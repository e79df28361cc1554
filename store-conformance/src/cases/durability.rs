//! Durability: every write whose `Commit` resolved `Ok` is found after the store is closed and
//! opened again, deletions included. (Per kind, the record-kind modules check the state a
//! decision leaves, such as a used code or a rotated token, the same way.)

use tessera_core::store::{
    ClientStore, KeyStore, RefreshStore, SessionStore, TenantStore, TokenStore, UserStore,
};
use tessera_core::store::{FamilyStatus, FoundRefresh};

use crate::Harness;
use crate::cases::every_kind::{assert_present, assert_records_gone, fill};
use crate::fixtures::{digest, ok};
use crate::harness::open_at;

pub(crate) async fn every_acknowledged_kind_of_record_survives_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    fill(&*store, "globex").await;
    let store = h.reopen(store);
    assert_present(&*store, "acme").await;
    assert_present(&*store, "globex").await;
}

pub(crate) async fn deletions_survive_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    fill(&*store, "acme").await;
    fill(&*store, "globex").await;
    ok(store.delete_tenant("acme"), "delete tenant").await;
    ok(store.delete_client("globex", "web"), "delete client").await;
    ok(store.delete_key("globex", "k1"), "delete key").await;
    ok(store.delete_opaque_token("globex", &digest(3)), "delete token").await;
    ok(store.delete_session("globex", &digest(2)), "delete session").await;
    ok(store.delete_user("globex", "u1"), "delete user").await;
    let store = h.reopen(store);
    assert_eq!(store.tenant("acme").await.expect("read tenant"), None);
    assert_records_gone(&*store, "acme").await;
    assert_eq!(store.client("globex", "web").await.expect("read client"), None);
    assert_eq!(store.keys("globex").await, Ok(vec![]));
    assert_eq!(store.opaque_token("globex", &digest(3)).await, Ok(None));
    assert_eq!(store.session("globex", &digest(2), 1_000).await, Ok(None));
    assert_eq!(store.user_by_username("globex", "alice").await, Ok(None));
    // What was not deleted is still there.
    assert!(store.tenant("globex").await.expect("read tenant").is_some());
    assert!(matches!(
        store.refresh_token("globex", &digest(4), 1_000).await,
        Ok(Some(FoundRefresh { family: FamilyStatus::Live, .. }))
    ));
}
