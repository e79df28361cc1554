//! Refresh tokens and their families (`RefreshStore`): the first token founds the family;
//! rotation, retries within the grace period, reuse revoking the whole family; revocation and
//! tombstones; revoking every family of one end-user; listing one subject's live families;
//! unknown when absent, expired or another tenant's; exactly one rotation of concurrent uses;
//! successors refused outside their family; durability; expiry.

use std::sync::Arc;
use tessera_core::store::{FamilyStatus, FoundRefresh};

use tessera_core::model::{Authentication, RefreshToken};
use tessera_core::store::{RefreshStore, RefreshUse, Store, StoreError};

use crate::Harness;
use crate::fixtures::{digest, ok, refresh, rotated, successor};
use crate::harness::open_at;

/// The token under digest `d` at `now` and whether its family is revoked.
async fn read(store: &impl Store, tenant: &str, d: u32, now: i64) -> Option<FoundRefresh> {
    store.refresh_token(tenant, &digest(d), now).await.expect("read a refresh token")
}

/// A token read back with its family live.
fn live(token: RefreshToken) -> Option<FoundRefresh> {
    Some(FoundRefresh { token, family: FamilyStatus::Live })
}

/// A token read back with its family revoked.
fn revoked(token: RefreshToken) -> Option<FoundRefresh> {
    Some(FoundRefresh { token, family: FamilyStatus::Revoked })
}

/// Whether the token under `d` is live at `now` and its family not revoked.
async fn usable(store: &impl Store, tenant: &str, d: u32, now: i64) -> bool {
    matches!(read(store, tenant, d, now).await, Some(FoundRefresh { family: FamilyStatus::Live, .. }))
}

/// Presents the token under `d` in tenant acme at `now`, with `next` to store under `next_d`.
async fn use_token(
    store: &impl Store,
    d: u32,
    (next_d, next): (u32, &RefreshToken),
    now: i64,
    grace_secs: u32,
) -> Result<RefreshUse, StoreError> {
    store.use_refresh_token("acme", &digest(d), &digest(next_d), next, now, grace_secs).await
}

pub(crate) async fn the_first_token_creates_the_family(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    assert_eq!(read(&*store, "acme", 1, 1_000).await, None);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    assert_eq!(read(&*store, "acme", 1, 1_000).await, live(t1.clone()));
    // The family exists now: revoking it shows on its token.
    ok(store.revoke_refresh_family("acme", "fam1", 5_000), "revoke").await;
    assert_eq!(read(&*store, "acme", 1, 1_000).await, revoked(t1));
}

pub(crate) async fn the_current_token_rotates_and_its_successor_is_usable(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    let t2 = successor(&t1, 1_100);
    // The outcome carries the token as it was before its rotation.
    assert_eq!(use_token(&*store, 1, (2, &t2), 1_100, 60).await, Ok(RefreshUse::Rotated(t1.clone())));
    assert_eq!(read(&*store, "acme", 1, 1_100).await, live(rotated(&t1, 1_100)));
    assert_eq!(
        read(&*store, "acme", 2, 1_100).await,
        Some(FoundRefresh { token: t2.clone(), family: FamilyStatus::Live })
    );
    // The successor is the family's current token and rotates in turn.
    let t3 = successor(&t2, 1_200);
    assert_eq!(use_token(&*store, 2, (3, &t3), 1_200, 60).await, Ok(RefreshUse::Rotated(t2)));
    assert!(usable(&*store, "acme", 3, 1_200).await);
}

pub(crate) async fn a_retry_within_the_grace_period_is_retried_and_the_family_lives(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    let t2 = successor(&t1, 1_100);
    assert_eq!(use_token(&*store, 1, (2, &t2), 1_100, 60).await, Ok(RefreshUse::Rotated(t1.clone())));
    // The client lost the answer and retries 60 s later: the grace period is inclusive.
    let t3 = successor(&t1, 1_160);
    let retried = use_token(&*store, 1, (3, &t3), 1_160, 60).await;
    assert_eq!(retried, Ok(RefreshUse::Retried(rotated(&t1, 1_100))));
    assert!(usable(&*store, "acme", 2, 1_160).await, "the first successor lives on");
    assert!(usable(&*store, "acme", 3, 1_160).await, "the retry's successor is stored");
    // The retry's successor is a current token of the family like any other.
    let t4 = successor(&t3, 1_170);
    assert_eq!(use_token(&*store, 3, (4, &t4), 1_170, 60).await, Ok(RefreshUse::Rotated(t3)));
    // The retry did not move the rotation time: one second more is a reuse, which revokes
    // the family with every successor.
    assert_eq!(read(&*store, "acme", 1, 1_160).await.map(|found| found.token.rotated_at), Some(Some(1_100)));
    let t5 = successor(&t1, 1_161);
    assert!(matches!(use_token(&*store, 1, (5, &t5), 1_161, 60).await, Ok(RefreshUse::Reused(_))));
    assert!(!usable(&*store, "acme", 4, 1_161).await);
    assert!(!usable(&*store, "acme", 2, 1_161).await);
}

pub(crate) async fn a_use_after_the_grace_period_revokes_the_whole_family(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    let t2 = successor(&t1, 1_100);
    assert_eq!(use_token(&*store, 1, (2, &t2), 1_100, 60).await, Ok(RefreshUse::Rotated(t1.clone())));
    let t3 = successor(&t1, 1_161);
    let reused = use_token(&*store, 1, (3, &t3), 1_161, 60).await;
    assert_eq!(reused, Ok(RefreshUse::Reused(rotated(&t1, 1_100))));
    assert_eq!(read(&*store, "acme", 3, 1_161).await, None, "nothing issued on a reuse");
    // The whole family is revoked, its current token included...
    assert_eq!(read(&*store, "acme", 2, 1_161).await, revoked(t2.clone()));
    // ...and from now on every token of it is unknown.
    let t4 = successor(&t2, 1_162);
    assert_eq!(use_token(&*store, 2, (4, &t4), 1_162, 60).await, Ok(RefreshUse::Unknown));
    assert_eq!(use_token(&*store, 1, (4, &t4), 1_162, 60).await, Ok(RefreshUse::Unknown));
    assert_eq!(read(&*store, "acme", 4, 1_162).await, None);
}

pub(crate) async fn without_grace_a_second_use_is_a_reuse(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    let t2 = successor(&t1, 1_100);
    assert_eq!(use_token(&*store, 1, (2, &t2), 1_100, 0).await, Ok(RefreshUse::Rotated(t1.clone())));
    // Even in the same second: a grace of 0 is none at all.
    let t3 = successor(&t1, 1_100);
    assert_eq!(use_token(&*store, 1, (3, &t3), 1_100, 0).await, Ok(RefreshUse::Reused(rotated(&t1, 1_100))));
    assert!(!usable(&*store, "acme", 2, 1_100).await);
}

pub(crate) async fn a_revoked_familys_tokens_are_unknown(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    let t2 = successor(&t1, 1_100);
    assert_eq!(use_token(&*store, 1, (2, &t2), 1_100, 60).await, Ok(RefreshUse::Rotated(t1.clone())));
    // Another family of the same client is untouched by the revocation.
    ok(store.put_refresh_token(&digest(7), &refresh("acme", "fam7", 1_000, 5_000)), "put").await;

    ok(store.revoke_refresh_family("acme", "fam1", 5_000), "revoke").await;
    // refresh_token() reports the revoked flag, for introspection.
    assert_eq!(read(&*store, "acme", 2, 1_110).await, revoked(t2.clone()));
    assert_eq!(read(&*store, "acme", 1, 1_110).await, revoked(rotated(&t1, 1_100)));
    let t3 = successor(&t2, 1_110);
    assert_eq!(use_token(&*store, 2, (3, &t3), 1_110, 60).await, Ok(RefreshUse::Unknown));
    // Even a retry within the old token's grace period.
    assert_eq!(use_token(&*store, 1, (3, &t3), 1_110, 60).await, Ok(RefreshUse::Unknown));
    assert_eq!(read(&*store, "acme", 3, 1_110).await, None, "nothing issued");
    // Revoking is idempotent, and no new first token joins the family.
    ok(store.revoke_refresh_family("acme", "fam1", 5_000), "revoke again").await;
    assert_eq!(read(&*store, "acme", 2, 1_110).await, revoked(t2));
    let late = store.put_refresh_token(&digest(4), &refresh("acme", "fam1", 1_110, 5_000)).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    assert!(usable(&*store, "acme", 7, 1_110).await);
    // Families no tenant can have: nothing to revoke, no error.
    ok(store.revoke_refresh_family("acme", "fam/1", 5_000), "revoke an invalid family").await;
    ok(store.revoke_refresh_family("a/b", "fam1", 5_000), "revoke in an invalid tenant").await;
}

pub(crate) async fn a_tombstone_refuses_the_first_token(h: &impl Harness) {
    let store = open_at(h, 1_000);
    // A replayed code revokes the family its first exchange is still storing.
    ok(store.revoke_refresh_family("acme", "fam1", 2_000), "revoke before the first token").await;
    let first = refresh("acme", "fam1", 1_000, 5_000);
    let put = store.put_refresh_token(&digest(1), &first).await;
    assert!(matches!(put, Err(StoreError::Conflict(_))), "{put:?}");
    assert_eq!(read(&*store, "acme", 1, 1_000).await, None, "nothing written");
    // Other families, and the same family name in another tenant, are not affected.
    ok(store.put_refresh_token(&digest(2), &refresh("acme", "fam2", 1_000, 5_000)), "put").await;
    ok(store.put_refresh_token(&digest(3), &refresh("other", "fam1", 1_000, 5_000)), "put").await;
    assert!(usable(&*store, "acme", 2, 1_000).await);
    assert!(usable(&*store, "other", 3, 1_000).await);
}

pub(crate) async fn a_tombstone_leaves_after_it_expires(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.revoke_refresh_family("acme", "fam1", 2_000), "revoke before the first token").await;
    // Revoking again with a later `until` keeps the tombstone at least that long.
    ok(store.revoke_refresh_family("acme", "fam1", 2_500), "revoke again").await;
    let first = refresh("acme", "fam1", 1_000, 5_000);
    h.set_now(2_000);
    h.expire(&store);
    let put = store.put_refresh_token(&digest(1), &first).await;
    assert!(matches!(put, Err(StoreError::Conflict(_))), "kept until 2_500: {put:?}");
    h.set_now(2_500);
    h.expire(&store);
    ok(store.put_refresh_token(&digest(1), &first), "put after the tombstone expired").await;
    assert!(usable(&*store, "acme", 1, 2_500).await);
}

pub(crate) async fn an_expired_token_is_unknown(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 2_000);
    let next = successor(&t1, 2_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    assert_eq!(
        read(&*store, "acme", 1, 1_999).await,
        Some(FoundRefresh { token: t1, family: FamilyStatus::Live })
    );
    // `expires_at` is the first instant it is no longer usable.
    assert_eq!(read(&*store, "acme", 1, 2_000).await, None);
    assert_eq!(use_token(&*store, 1, (2, &next), 2_000, 60).await, Ok(RefreshUse::Unknown));
    assert_eq!(read(&*store, "acme", 2, 2_000).await, None, "nothing written");
    // An absent digest is unknown too.
    assert_eq!(use_token(&*store, 9, (2, &next), 1_500, 60).await, Ok(RefreshUse::Unknown));
}

pub(crate) async fn another_tenants_token_is_unknown(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    assert_eq!(read(&*store, "other", 1, 1_500).await, None);
    let other = refresh("other", "fam1", 1_500, 4_500);
    let used = store.use_refresh_token("other", &digest(1), &digest(2), &other, 1_500, 60).await;
    assert_eq!(used, Ok(RefreshUse::Unknown));
    assert_eq!(read(&*store, "other", 2, 1_500).await, None, "nothing written");
    // A tenant id no tenant can have is no error either.
    let odd = RefreshToken { tenant: "a/b".to_owned(), ..other };
    let used = store.use_refresh_token("a/b", &digest(1), &digest(2), &odd, 1_500, 60).await;
    assert_eq!(used, Ok(RefreshUse::Unknown));
    // Untouched by the attempts: still the current token.
    assert_eq!(
        read(&*store, "acme", 1, 1_500).await,
        Some(FoundRefresh { token: t1, family: FamilyStatus::Live })
    );
}

/// 16 uses at once of the token under digest 1, each with its own successor (100 + i).
async fn use_concurrently<S: Store>(store: &Arc<S>, t1: &RefreshToken, grace_secs: u32) -> Vec<RefreshUse> {
    let uses: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(store);
            let next = successor(t1, 1_100);
            tokio::spawn(async move { use_token(&*store, 1, (100 + i, &next), 1_100, grace_secs).await })
        })
        .collect();
    let mut found = Vec::new();
    for u in uses {
        found.push(u.await.expect("the use task ends").expect("a use is decided"));
    }
    found
}

fn count(found: &[RefreshUse], pick: fn(&RefreshUse) -> bool) -> usize {
    found.iter().filter(|u| pick(u)).count()
}

pub(crate) async fn of_concurrent_uses_exactly_one_rotates(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for round in 0..4 {
        let t1 = refresh("acme", &format!("fam{round}"), 1_000, 5_000);
        ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
        let found = use_concurrently(&store, &t1, 0).await;
        assert_eq!(count(&found, |u| matches!(u, RefreshUse::Rotated(_))), 1, "{found:?}");
        // Without grace the second use is a reuse that revokes the family; every later one
        // finds a revoked family, which the contract reports as unknown.
        assert_eq!(count(&found, |u| matches!(u, RefreshUse::Reused(_))), 1, "{found:?}");
        assert_eq!(count(&found, |u| *u == RefreshUse::Unknown), 14, "{found:?}");
        for i in 0..16 {
            assert!(!usable(&*store, "acme", 100 + i, 1_100).await, "round {round}: successor {i} usable");
        }
        assert!(
            matches!(
                read(&*store, "acme", 1, 1_100).await,
                Some(FoundRefresh { family: FamilyStatus::Revoked, .. })
            ),
            "round {round}"
        );
    }
}

pub(crate) async fn of_concurrent_uses_within_grace_one_rotates_and_the_rest_retry(h: &impl Harness) {
    let store = open_at(h, 1_000);
    for round in 0..4 {
        let t1 = refresh("acme", &format!("fam{round}"), 1_000, 5_000);
        ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
        let found = use_concurrently(&store, &t1, 60).await;
        assert_eq!(count(&found, |u| matches!(u, RefreshUse::Rotated(_))), 1, "{found:?}");
        assert_eq!(count(&found, |u| matches!(u, RefreshUse::Retried(_))), 15, "{found:?}");
        for i in 0..16 {
            assert!(usable(&*store, "acme", 100 + i, 1_100).await, "round {round}: successor {i} missing");
        }
    }
}

pub(crate) async fn a_successor_outside_the_family_is_refused(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    let good = successor(&t1, 1_100);
    let bad = [
        RefreshToken { family: "fam2".to_owned(), ..good.clone() },
        RefreshToken { client_id: "cli".to_owned(), ..good.clone() },
        RefreshToken { tenant: "other".to_owned(), ..good.clone() },
    ];
    for next in bad {
        let used = use_token(&*store, 1, (2, &next), 1_100, 60).await;
        assert!(matches!(used, Err(StoreError::Corrupt { .. })), "{next:?}: {used:?}");
    }
    // Nothing was written: the token is still current and its successor can follow.
    assert_eq!(read(&*store, "acme", 1, 1_100).await, live(t1.clone()));
    assert_eq!(read(&*store, "acme", 2, 1_100).await, None);
    assert_eq!(use_token(&*store, 1, (2, &good), 1_100, 60).await, Ok(RefreshUse::Rotated(t1)));
}

pub(crate) async fn rotations_and_revocations_survive_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    let t2 = successor(&t1, 1_100);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    assert_eq!(use_token(&*store, 1, (2, &t2), 1_100, 60).await, Ok(RefreshUse::Rotated(t1.clone())));
    ok(store.revoke_refresh_family("acme", "fam9", 9_000), "tombstone").await;

    let store = h.reopen(store);
    assert_eq!(
        read(&*store, "acme", 2, 1_200).await,
        Some(FoundRefresh { token: t2.clone(), family: FamilyStatus::Live })
    );
    let t3 = successor(&t1, 1_200);
    let reused = use_token(&*store, 1, (3, &t3), 1_200, 60).await;
    assert_eq!(reused, Ok(RefreshUse::Reused(rotated(&t1, 1_100))), "the rotation mark survived");
    let put = store.put_refresh_token(&digest(9), &refresh("acme", "fam9", 1_200, 5_000)).await;
    assert!(matches!(put, Err(StoreError::Conflict(_))), "the tombstone survived: {put:?}");

    let store = h.reopen(store);
    assert_eq!(read(&*store, "acme", 2, 1_200).await, revoked(t2), "the revocation survived");
}

pub(crate) async fn expired_tokens_and_families_leave(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 2_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    let t2 = refresh("acme", "fam1", 1_500, 3_000);
    assert_eq!(use_token(&*store, 1, (2, &t2), 1_500, 60).await, Ok(RefreshUse::Rotated(t1)));

    // t1 expires; the family must outlive it, since t2 still lives.
    h.set_now(2_000);
    h.expire(&store);
    assert_eq!(read(&*store, "acme", 1, 1_999).await, None, "t1 is gone, not merely hidden");
    assert!(usable(&*store, "acme", 2, 2_000).await, "the family outlives t1");

    h.set_now(3_000);
    h.expire(&store);
    assert_eq!(read(&*store, "acme", 2, 2_999).await, None, "t2 is gone");
    // The family went too: its name can found a new family (a revoked family left behind
    // would refuse this, a live one from another client would be refused as corrupt).
    let again = RefreshToken { client_id: "cli".to_owned(), ..refresh("acme", "fam1", 3_000, 6_000) };
    ok(store.put_refresh_token(&digest(3), &again), "put into a family that expired").await;
}

/// `t` issued to end-user `sub` instead.
fn of_user(t: RefreshToken, sub: &str) -> RefreshToken {
    RefreshToken { auth: Authentication { sub: sub.to_owned(), ..t.auth.clone() }, ..t }
}

pub(crate) async fn revoking_a_users_families_revokes_every_one_and_no_other(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    let t2 = successor(&t1, 1_100);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    assert_eq!(use_token(&*store, 1, (2, &t2), 1_100, 60).await, Ok(RefreshUse::Rotated(t1.clone())));
    let other_family = refresh("acme", "fam2", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(3), &other_family), "put").await;
    let other_user = of_user(refresh("acme", "fam3", 1_000, 5_000), "u2");
    ok(store.put_refresh_token(&digest(4), &other_user), "put").await;
    let other_tenant = refresh("other", "fam1", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(5), &other_tenant), "put").await;

    ok(store.revoke_families_of_user("acme", "u1", 5_000), "revoke the user's families").await;
    // Every token of both families, the current and the rotated, reads revoked...
    assert_eq!(read(&*store, "acme", 1, 1_200).await, revoked(rotated(&t1, 1_100)));
    assert_eq!(read(&*store, "acme", 2, 1_200).await, revoked(t2.clone()));
    assert_eq!(read(&*store, "acme", 3, 1_200).await, revoked(other_family.clone()));
    // ...and none can be used, not even as a retry within the grace period.
    let t3 = successor(&t2, 1_200);
    assert_eq!(use_token(&*store, 2, (6, &t3), 1_200, 60).await, Ok(RefreshUse::Unknown));
    assert_eq!(use_token(&*store, 1, (6, &t3), 1_120, 60).await, Ok(RefreshUse::Unknown));
    assert_eq!(read(&*store, "acme", 6, 1_200).await, None, "nothing issued");
    // Another user's family, and the same user id in another tenant, are untouched.
    assert_eq!(read(&*store, "acme", 4, 1_200).await, live(other_user));
    assert_eq!(read(&*store, "other", 5, 1_200).await, live(other_tenant));
    // Revoking again is no error, nor is revoking for users no family can have.
    ok(store.revoke_families_of_user("acme", "u1", 5_000), "revoke again").await;
    ok(store.revoke_families_of_user("acme", "nobody", 5_000), "a user without families").await;
    ok(store.revoke_families_of_user("acme", "u/1", 5_000), "an invalid user id").await;
    ok(store.revoke_families_of_user("a/b", "u1", 5_000), "an invalid tenant").await;
    assert_eq!(read(&*store, "acme", 2, 1_200).await, revoked(t2));
}

pub(crate) async fn a_family_founded_after_revoking_a_users_families_lives(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.revoke_families_of_user("acme", "u1", 5_000), "revoke while there is none").await;
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    assert_eq!(read(&*store, "acme", 1, 1_000).await, live(t1.clone()));
    ok(store.revoke_families_of_user("acme", "u1", 5_000), "revoke").await;
    // A new login's family is not the revoked one's.
    let t2 = refresh("acme", "fam2", 1_100, 5_000);
    ok(store.put_refresh_token(&digest(2), &t2), "put after the revocation").await;
    assert_eq!(read(&*store, "acme", 2, 1_100).await, live(t2));
    assert_eq!(read(&*store, "acme", 1, 1_100).await, revoked(t1));
}

pub(crate) async fn a_users_revoked_families_are_kept_until_until_and_survive_reopening(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let t1 = refresh("acme", "fam1", 1_000, 3_000);
    ok(store.put_refresh_token(&digest(1), &t1), "put first token").await;
    ok(store.revoke_families_of_user("acme", "u1", 9_000), "revoke until 9_000").await;
    let store = h.reopen(store);
    assert_eq!(read(&*store, "acme", 1, 1_000).await, revoked(t1.clone()), "the revocation survived");
    // Past the token's own expiry the family is still known as revoked: its id cannot found a
    // live family again before `until`.
    h.set_now(4_000);
    h.expire(&store);
    let again = store.put_refresh_token(&digest(2), &refresh("acme", "fam1", 4_000, 8_000)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "kept until 9_000: {again:?}");
}

/// The family ids `families_of_subject` lists for `sub` in `tenant` at `now`, in its order.
async fn listed(store: &impl Store, tenant: &str, sub: &str, now: i64) -> Vec<String> {
    let families = store.families_of_subject(tenant, sub, now).await.expect("list a subject's families");
    for f in &families {
        // Only live families of that subject in that tenant, whatever the backend.
        assert_eq!((f.tenant.as_str(), f.sub.as_deref()), (tenant, Some(sub)), "{f:?}");
        assert!(f.is_live(now), "{f:?} listed as live at {now}");
    }
    families.into_iter().map(|f| f.family).collect()
}

pub(crate) async fn a_subjects_live_families_are_listed_in_family_order(h: &impl Harness) {
    let store = open_at(h, 1_000);
    // Founded out of order, with ids whose byte order is not their numeric order.
    for (d, family) in [(1, "fam3"), (2, "fam10"), (3, "fam1")] {
        ok(store.put_refresh_token(&digest(d), &refresh("acme", family, 1_000, 5_000)), "put").await;
    }
    let other_user = of_user(refresh("acme", "fam2", 1_000, 5_000), "u2");
    ok(store.put_refresh_token(&digest(4), &other_user), "put another subject's").await;
    ok(store.put_refresh_token(&digest(5), &refresh("other", "fam7", 1_000, 5_000)), "put").await;
    // A subject that is no local user: the store knows only the subject's id.
    let brokered = of_user(refresh("acme", "fam5", 1_000, 5_000), "broker-subject-7");
    ok(store.put_refresh_token(&digest(6), &brokered), "put a brokered subject's").await;

    assert_eq!(listed(&*store, "acme", "u1", 1_000).await, ["fam1", "fam10", "fam3"]);
    // The record as the family's first token founded it.
    let families = store.families_of_subject("acme", "u2", 1_000).await.expect("list");
    assert_eq!(families, [tessera_core::rules::refresh::StoredFamily::founded_by(&other_user)]);
    assert_eq!(listed(&*store, "acme", "broker-subject-7", 1_000).await, ["fam5"]);
    // The same subject in another tenant has its own families only.
    assert_eq!(listed(&*store, "other", "u1", 1_000).await, ["fam7"]);
    assert_eq!(listed(&*store, "other", "u2", 1_000).await, Vec::<String>::new());
    // A rotation keeps the family listed once.
    let next = successor(&refresh("acme", "fam1", 1_000, 5_000), 1_100);
    assert!(matches!(use_token(&*store, 3, (8, &next), 1_100, 60).await, Ok(RefreshUse::Rotated(_))));
    assert_eq!(listed(&*store, "acme", "u1", 1_100).await, ["fam1", "fam10", "fam3"]);
    // Unknown subjects, and ids no family can name, list nothing and are no error.
    for (tenant, sub) in [("acme", "nobody"), ("acme", "u/1"), ("acme", ""), ("a/b", "u1"), ("nope", "u1")] {
        assert_eq!(listed(&*store, tenant, sub, 1_100).await, Vec::<String>::new(), "{tenant}/{sub}");
    }
    let store = h.reopen(store);
    assert_eq!(listed(&*store, "acme", "u1", 1_100).await, ["fam1", "fam10", "fam3"], "after reopening");
}

pub(crate) async fn revoked_and_expired_families_are_not_listed(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.put_refresh_token(&digest(1), &refresh("acme", "fam1", 1_000, 5_000)), "put").await;
    ok(store.put_refresh_token(&digest(2), &refresh("acme", "fam2", 1_000, 5_000)), "put").await;
    ok(store.put_refresh_token(&digest(3), &refresh("acme", "fam3", 1_000, 2_000)), "put").await;
    let other_user = of_user(refresh("acme", "fam4", 1_000, 5_000), "u2");
    ok(store.put_refresh_token(&digest(4), &other_user), "put").await;
    // A tombstone names no subject: never listed.
    ok(store.revoke_refresh_family("acme", "fam9", 5_000), "tombstone").await;
    assert_eq!(listed(&*store, "acme", "u1", 1_000).await, ["fam1", "fam2", "fam3"]);

    ok(store.revoke_refresh_family("acme", "fam1", 5_000), "revoke one").await;
    assert_eq!(listed(&*store, "acme", "u1", 1_000).await, ["fam2", "fam3"]);
    // Expired at its `expires_at`, whether or not the backend has removed it yet.
    assert_eq!(listed(&*store, "acme", "u1", 1_999).await, ["fam2", "fam3"]);
    assert_eq!(listed(&*store, "acme", "u1", 2_000).await, ["fam2"]);
    h.set_now(2_000);
    h.expire(&store);
    assert_eq!(listed(&*store, "acme", "u1", 2_000).await, ["fam2"], "after expiry ran");

    ok(store.revoke_families_of_user("acme", "u1", 5_000), "revoke the subject's families").await;
    assert_eq!(listed(&*store, "acme", "u1", 2_000).await, Vec::<String>::new());
    assert_eq!(listed(&*store, "acme", "u2", 2_000).await, ["fam4"], "another subject's stays");
    // A family founded afterwards is listed; the revoked ones stay out, across a reopening.
    ok(store.put_refresh_token(&digest(5), &refresh("acme", "fam5", 2_000, 6_000)), "put").await;
    let store = h.reopen(store);
    assert_eq!(listed(&*store, "acme", "u1", 2_000).await, ["fam5"]);
}
