//! API keys (`ApiKeyStore`): round trips in id order, creates only in a stored tenant and of a
//! free id, replacements only of a stored key (a revoked key is never revived by a late write),
//! deletion, tenant isolation, and reopening.

use tessera_core::model::ApiKey;
use tessera_core::store::{ApiKeyStore, StoreError, TenantStore};

use crate::Harness;
use crate::fixtures::{api_key, is_conflict, ok, tenant};
use crate::harness::open_at;

pub(crate) async fn api_keys_round_trip_in_id_order_and_survive_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    let b = api_key("acme", "BBBBBBBBBBBBBBBBBBBBBB");
    let a = api_key("acme", "AAAAAAAAAAAAAAAAAAAAAA");
    ok(store.create_api_key(&b), "create b").await;
    ok(store.create_api_key(&a), "create a").await;
    assert_eq!(store.api_key("acme", &a.id).await, Ok(Some(a.clone())));
    assert_eq!(store.api_keys("acme").await, Ok(vec![a.clone(), b.clone()]));
    assert_eq!(store.api_key("other", &a.id).await, Ok(None), "another tenant sees none");
    let rotated = ApiKey {
        previous_digest: Some(a.digest),
        previous_valid_until: 2_000,
        digest: [9; 32],
        rotated_at: 1_500,
        ..a.clone()
    };
    ok(store.update_api_key(&rotated), "rotate").await;
    assert_eq!(store.api_key("acme", &a.id).await, Ok(Some(rotated.clone())), "read back at once");
    let store = h.reopen(store);
    assert_eq!(store.api_keys("acme").await, Ok(vec![rotated, b]));
}

pub(crate) async fn a_key_needs_its_tenant_and_a_free_id(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let a = api_key("acme", "AAAAAAAAAAAAAAAAAAAAAA");
    assert!(is_conflict(&store.create_api_key(&a).await), "no tenant");
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.create_api_key(&a), "create").await;
    assert!(is_conflict(&store.create_api_key(&a).await), "a taken id");
    let bad = ApiKey { scope: "a\"b".into(), ..a };
    assert!(matches!(store.create_api_key(&bad).await, Err(StoreError::Corrupt { .. })), "invalid");
}

pub(crate) async fn a_revoked_key_is_never_revived_by_a_late_write(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    let a = api_key("acme", "AAAAAAAAAAAAAAAAAAAAAA");
    assert!(is_conflict(&store.update_api_key(&a).await), "an update of nothing");
    ok(store.create_api_key(&a), "create").await;
    ok(store.delete_api_key("acme", &a.id), "revoke").await;
    ok(store.delete_api_key("acme", &a.id), "revoke again").await;
    let late = ApiKey { last_used_at: Some(1_200), ..a.clone() };
    assert!(is_conflict(&store.update_api_key(&late).await), "a last-use write after the revocation");
    assert_eq!(store.api_key("acme", &a.id).await, Ok(None));
}
