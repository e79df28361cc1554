//! Authorization codes (`CodeStore`): single use decided atomically (fresh once, then replayed,
//! exactly one fresh of concurrent takes), unknown when absent, expired or another tenant's,
//! the used mark durable, and expired codes removed by the backend's expiry.

use std::sync::Arc;

use tessera_core::store::{CodeStore, CodeTaken};

use crate::Harness;
use crate::fixtures::{code, digest, ok};
use crate::harness::open_at;

pub(crate) async fn put_then_take_is_fresh_with_the_same_record(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let c = code("acme", 1_060);
    ok(store.put_code(&digest(1), &c), "put code").await;
    assert_eq!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Fresh(c)));
}

pub(crate) async fn second_take_is_replayed(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let c = code("acme", 1_060);
    ok(store.put_code(&digest(1), &c), "put code").await;
    assert_eq!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Fresh(c.clone())));
    // Every later take is a replay and hands back the record, so the server can revoke what
    // the first redemption issued.
    assert_eq!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Replayed(c.clone())));
    assert_eq!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Replayed(c)));
}

pub(crate) async fn an_unknown_digest_is_unknown(h: &impl Harness) {
    let store = open_at(h, 1_000);
    assert_eq!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Unknown));
    ok(store.put_code(&digest(1), &code("acme", 1_060)), "put code").await;
    assert_eq!(store.take_code("acme", &digest(2)).await, Ok(CodeTaken::Unknown));
    // A tenant id that no tenant can have is no error, just unknown.
    assert_eq!(store.take_code("not a tenant", &digest(1)).await, Ok(CodeTaken::Unknown));
}

pub(crate) async fn an_expired_code_is_unknown(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_code(&digest(1), &code("acme", 1_060)), "put code").await;
    ok(store.put_code(&digest(2), &code("acme", 1_060)), "put code").await;
    assert!(matches!(store.take_code("acme", &digest(2)).await, Ok(CodeTaken::Fresh(_))));
    h.set_now(1_059);
    assert!(matches!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Fresh(_))), "live until 1_060");
    ok(store.put_code(&digest(3), &code("acme", 1_060)), "put code").await;
    // `expires_at` is the first instant a code is no longer redeemable; a used one is no
    // longer a replay either.
    h.set_now(1_060);
    assert_eq!(store.take_code("acme", &digest(3)).await, Ok(CodeTaken::Unknown));
    assert_eq!(store.take_code("acme", &digest(2)).await, Ok(CodeTaken::Unknown));
}

pub(crate) async fn another_tenants_digest_is_unknown(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let c = code("acme", 1_060);
    ok(store.put_code(&digest(1), &c), "put code").await;
    assert_eq!(store.take_code("other", &digest(1)).await, Ok(CodeTaken::Unknown));
    assert_eq!(store.take_code("acm", &digest(1)).await, Ok(CodeTaken::Unknown));
    // The other tenant's attempt did not use the code up.
    assert_eq!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Fresh(c)));
}

pub(crate) async fn of_concurrent_takes_exactly_one_is_fresh(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for round in 0..4 {
        let d = digest(100 + round);
        ok(store.put_code(&d, &code("acme", 1_060)), "put code").await;
        let takes: Vec<_> = (0..16)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.take_code("acme", &d).await })
            })
            .collect();
        let (mut fresh, mut replayed) = (0, 0);
        for take in takes {
            match take.await.expect("the take task ends") {
                Ok(CodeTaken::Fresh(_)) => fresh += 1,
                Ok(CodeTaken::Replayed(_)) => replayed += 1,
                other => panic!("a live code's take found {other:?}"),
            }
        }
        assert_eq!((fresh, replayed), (1, 15), "round {round}");
    }
}

pub(crate) async fn a_used_code_stays_used_across_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let (used, unused) = (code("acme", 1_060), code("acme", 1_070));
    ok(store.put_code(&digest(1), &used), "put code").await;
    ok(store.put_code(&digest(2), &unused), "put code").await;
    assert_eq!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Fresh(used.clone())));
    let store = h.reopen(store);
    assert_eq!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Replayed(used)));
    assert_eq!(store.take_code("acme", &digest(2)).await, Ok(CodeTaken::Fresh(unused)));
}

pub(crate) async fn expired_codes_leave(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_code(&digest(1), &code("acme", 1_060)), "put code").await;
    ok(store.put_code(&digest(2), &code("acme", 1_060)), "put code").await;
    ok(store.put_code(&digest(3), &code("acme", 5_000)), "put code").await;
    assert!(matches!(store.take_code("acme", &digest(2)).await, Ok(CodeTaken::Fresh(_))));
    h.set_now(1_060);
    h.expire(&store);
    // Gone, not merely hidden by the clock: with the clock turned back they are still unknown
    // (a record that were only hidden would read as fresh or replayed again).
    h.set_now(1_000);
    assert_eq!(store.take_code("acme", &digest(1)).await, Ok(CodeTaken::Unknown));
    assert_eq!(store.take_code("acme", &digest(2)).await, Ok(CodeTaken::Unknown));
    // The live one was left alone.
    assert!(matches!(store.take_code("acme", &digest(3)).await, Ok(CodeTaken::Fresh(_))));
}
