//! Lockouts (`LockoutStore`): a lockout reads back while live and across reopening, a later
//! one of the same key replaces the earlier, an expired one is never live and leaves with
//! expiry, tenants are kept apart, and an invalid one is refused. Deletion with the tenant is
//! in `tenancy` (every kind of record).

use tessera_core::model::{Lockout, LockoutLimit};
use tessera_core::store::{LockoutStore, StoreError, TenantStore};

use crate::Harness;
use crate::fixtures::{lockout, ok, tenant};
use crate::harness::open_at;

/// `from` locked out of every account of `t` until `until`.
fn address_lockout(t: &str, from: &str, until: i64) -> Lockout {
    Lockout {
        tenant: t.into(),
        limit: LockoutLimit::Address,
        address: from.into(),
        username: String::new(),
        until,
    }
}

/// The live lockouts at `now`, in a stable order.
async fn live(store: &impl LockoutStore, now: i64) -> Vec<Lockout> {
    let mut all = store.live_lockouts(now).await.expect("read lockouts");
    all.sort_by(|a, b| (&a.tenant, &a.address, &a.username).cmp(&(&b.tenant, &b.address, &b.username)));
    all
}

pub(crate) async fn a_lockout_reads_back_live_and_survives_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    let alice = lockout("acme", "alice", 1_060);
    let from = address_lockout("acme", "198.51.100.7", 1_060);
    ok(store.put_lockout(&alice), "alice").await;
    ok(store.put_lockout(&from), "address").await;
    assert_eq!(live(&*store, 1_000).await, vec![alice.clone(), from.clone()]);
    let store = h.reopen(store);
    assert_eq!(live(&*store, 1_000).await, vec![alice, from], "after reopening");
}

pub(crate) async fn a_later_lockout_of_the_same_key_replaces_the_earlier(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_lockout(&lockout("acme", "alice", 1_060)), "first").await;
    ok(store.put_lockout(&lockout("acme", "alice", 1_120)), "second").await;
    assert_eq!(live(&*store, 1_000).await, vec![lockout("acme", "alice", 1_120)]);
    assert_eq!(live(&*store, 1_100).await, vec![lockout("acme", "alice", 1_120)], "the later until counts");
}

pub(crate) async fn an_expired_lockout_is_not_live_and_leaves(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    ok(store.put_lockout(&lockout("acme", "alice", 1_060)), "alice").await;
    ok(store.put_lockout(&lockout("acme", "bob", 5_000)), "bob").await;
    assert_eq!(live(&*store, 1_060).await, vec![lockout("acme", "bob", 5_000)], "ends at until");
    h.set_now(2_000);
    h.expire(&*store);
    let store = h.reopen(store);
    // Gone from the store, not only filtered: read at a time before it ended, it is absent.
    assert_eq!(live(&*store, 1_000).await, vec![lockout("acme", "bob", 5_000)]);
}

pub(crate) async fn another_tenants_lockouts_are_kept_apart(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for t in ["acme", "globex"] {
        ok(store.put_tenant(&tenant(t)), "tenant").await;
    }
    ok(store.put_lockout(&lockout("acme", "alice", 1_060)), "acme").await;
    ok(store.put_lockout(&lockout("globex", "alice", 1_120)), "globex").await;
    let all = live(&*store, 1_000).await;
    assert_eq!(all, vec![lockout("acme", "alice", 1_060), lockout("globex", "alice", 1_120)]);
    ok(store.delete_tenant("acme"), "delete acme").await;
    assert_eq!(live(&*store, 1_000).await, vec![lockout("globex", "alice", 1_120)], "globex's stays");
}

pub(crate) async fn an_invalid_lockout_is_refused(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_tenant(&tenant("acme")), "tenant").await;
    for bad in [
        Lockout { username: String::new(), ..lockout("acme", "alice", 1_060) },
        Lockout { tenant: "a/b".into(), ..lockout("acme", "alice", 1_060) },
        address_lockout("acme", "two words", 1_060),
    ] {
        let put = store.put_lockout(&bad).await;
        assert!(matches!(put, Err(StoreError::Corrupt { .. })), "{bad:?}: {put:?}");
    }
    assert_eq!(live(&*store, 1_000).await, vec![]);
}
