//! Used JWT bearer assertions (`AssertionStore`): the first use is told apart from a replay,
//! atomically (exactly one first of concurrent uses), durably (a replay after reopening is
//! still one), per tenant; a record past its `until` guards nothing and leaves with expiry
//! and with its tenant; an invalid tenant id is refused.

use std::sync::Arc;

use tessera_core::store::{AssertionStore, TenantStore};

use crate::Harness;
use crate::fixtures::{digest, ok, tenant};
use crate::harness::open_at;

pub(crate) async fn the_first_use_is_first_and_a_replay_is_not(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    assert_eq!(store.use_assertion("acme", &digest(1), 1_120).await, Ok(true));
    assert_eq!(store.use_assertion("acme", &digest(1), 1_120).await, Ok(false), "a replay");
    assert_eq!(store.use_assertion("acme", &digest(1), 9_000).await, Ok(false), "a later until too");
    assert_eq!(store.use_assertion("acme", &digest(2), 1_120).await, Ok(true), "another assertion");
}

pub(crate) async fn of_concurrent_uses_exactly_one_is_first(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    for round in 0..4 {
        let d = digest(100 + round);
        let uses: Vec<_> = (0..16)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.use_assertion("acme", &d, 1_120).await })
            })
            .collect();
        let mut firsts = 0;
        for used in uses {
            if used.await.expect("the use task ends").expect("a use") {
                firsts += 1;
            }
        }
        assert_eq!(firsts, 1, "round {round}");
    }
}

pub(crate) async fn a_use_survives_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    assert_eq!(store.use_assertion("acme", &digest(1), 1_120).await, Ok(true));
    let store = h.reopen(store);
    assert_eq!(store.use_assertion("acme", &digest(1), 1_120).await, Ok(false), "after reopening");
}

pub(crate) async fn tenants_are_kept_apart(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_tenant(&tenant("other")), "tenant").await;
    assert_eq!(store.use_assertion("acme", &digest(1), 1_120).await, Ok(true));
    assert_eq!(store.use_assertion("other", &digest(1), 1_120).await, Ok(true), "another tenant's");
}

pub(crate) async fn an_expired_use_guards_nothing_and_leaves(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    assert_eq!(store.use_assertion("acme", &digest(1), 1_060).await, Ok(true));
    assert_eq!(store.use_assertion("acme", &digest(2), 5_000).await, Ok(true));
    h.set_now(1_059);
    assert_eq!(store.use_assertion("acme", &digest(1), 1_060).await, Ok(false), "live until its until");
    h.set_now(1_060);
    assert_eq!(store.use_assertion("acme", &digest(1), 1_200).await, Ok(true), "expired: a new use");
    h.set_now(2_000);
    h.expire(&*store);
    // The expired record is gone and the live one stays, even with the clock turned back.
    h.set_now(1_000);
    assert_eq!(store.use_assertion("acme", &digest(1), 1_200).await, Ok(true), "swept");
    assert_eq!(store.use_assertion("acme", &digest(2), 5_000).await, Ok(false), "still live");
}

pub(crate) async fn a_tenants_deletion_forgets_its_uses(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    assert_eq!(store.use_assertion("acme", &digest(1), 5_000).await, Ok(true));
    ok(store.delete_tenant("acme"), "delete tenant").await;
    ok(store.put_tenant(&tenant("acme")), "tenant again").await;
    assert_eq!(store.use_assertion("acme", &digest(1), 5_000).await, Ok(true), "a new tenant");
}

pub(crate) async fn an_invalid_tenant_is_refused(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for bad in ["", "a/b", "a\0b"] {
        assert!(store.use_assertion(bad, &digest(1), 1_120).await.is_err(), "{bad:?}");
    }
}
