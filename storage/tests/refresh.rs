//! Refresh tokens and their families: rotation, retries within the grace period, reuse revoking
//! the family (decided in the writer, so concurrent uses cannot both rotate), revocation and
//! tombstones, refused successors, expiry and sweeping, reopening, and `delete_tenant`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tessera_core::model::RefreshToken;
use tessera_core::store::{FamilyStatus, FoundRefresh};
use tessera_core::store::{RefreshStore, RefreshUse, StoreError, TenantStore};
use tessera_storage::{FjallStore, StoreOptions};

/// The next token of `t`'s family, issued at `at`.
fn successor(t: &RefreshToken, at: i64) -> RefreshToken {
    refresh(&t.tenant, &t.family, at, at + 3_000)
}

/// Whether the store reports the token as live and its family as not revoked.
async fn usable(store: &FjallStore, tenant: &str, d: u32, now: i64) -> bool {
    matches!(
        store.refresh_token(tenant, &digest(d), now).await.unwrap(),
        Some(FoundRefresh { family: FamilyStatus::Live, .. })
    )
}

#[tokio::test]
async fn a_tombstone_refuses_the_first_token_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    // The code was replayed while its exchange was still storing the first refresh token.
    store.revoke_refresh_family("acme", "fam1", 2_000).await.unwrap();
    let first = refresh("acme", "fam1", 1_000, 5_000);
    let put = store.put_refresh_token(&digest(1), &first).await;
    assert!(matches!(put, Err(StoreError::Conflict(_))), "{put:?}");
    assert_eq!(store.refresh_token("acme", &digest(1), 1_000).await.unwrap(), None);
    // Revoking again, later, keeps the tombstone at least that long.
    store.revoke_refresh_family("acme", "fam1", 2_500).await.unwrap();

    clock.set(2_000);
    store.sweep_expired().unwrap();
    let put = store.put_refresh_token(&digest(1), &first).await;
    assert!(matches!(put, Err(StoreError::Conflict(_))), "extended to 2500: {put:?}");

    clock.set(2_500);
    store.sweep_expired().unwrap();
    store.put_refresh_token(&digest(1), &first).await.unwrap();
    assert!(usable(&store, "acme", 1, 2_500).await);
    drop(store);
    assert_eq!(raw_keys(dir.path(), "refresh_tokens"), [digest_key("acme", digest(1))]);
    assert_eq!(raw_keys(dir.path(), "refresh_families"), [b"acme\0fam1".to_vec()]);
}

#[tokio::test]
async fn a_successor_outside_the_family_is_refused_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    let t1 = refresh("acme", "fam1", 1_000, 5_000);
    store.put_refresh_token(&digest(1), &t1).await.unwrap();
    let good = successor(&t1, 1_100);
    let bad = [
        (RefreshToken { family: "fam2".into(), ..good.clone() }, 2),
        (RefreshToken { client_id: "cli".into(), ..good.clone() }, 2),
        (RefreshToken { tenant: "other".into(), ..good.clone() }, 2),
        (RefreshToken { rotated_at: Some(1_100), ..good.clone() }, 2),
        (RefreshToken { expires_at: 1_100, ..good.clone() }, 2),
        (good.clone(), 1), // the successor under the presented token's own digest
    ];
    for (next, d) in bad {
        let used = store.use_refresh_token("acme", &digest(1), &digest(d), &next, 1_100, 60).await;
        assert!(matches!(used, Err(StoreError::Corrupt { .. })), "{next:?}: {used:?}");
    }
    assert_eq!(
        store.refresh_token("acme", &digest(1), 1_100).await.unwrap(),
        Some(FoundRefresh { token: t1.clone(), family: FamilyStatus::Live })
    );
    assert_eq!(store.refresh_token("acme", &digest(2), 1_100).await.unwrap(), None);
    let used = store.use_refresh_token("acme", &digest(1), &digest(2), &good, 1_100, 60).await.unwrap();
    assert_eq!(used, RefreshUse::Rotated(t1));
}

#[tokio::test]
async fn invalid_refresh_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    let cases = [
        refresh("acme", "fam1", 1_000, 1_000),
        refresh("acme", "fam 1", 1_000, 5_000),
        refresh("a/b", "fam1", 1_000, 5_000),
        RefreshToken { client_id: String::new(), ..refresh("acme", "fam1", 1_000, 5_000) },
        {
            // sub not an id
            let mut t = refresh("acme", "fam1", 1_000, 5_000);
            t.auth.sub = "u 1".into();
            t
        },
    ];
    for t in cases {
        let put = store.put_refresh_token(&digest(1), &t).await;
        assert!(matches!(put, Err(StoreError::Corrupt { .. })), "{t:?}: {put:?}");
    }
    // A first token of an existing family issued to another client is a caller's bug too.
    store.put_refresh_token(&digest(1), &refresh("acme", "fam1", 1_000, 5_000)).await.unwrap();
    let stray = RefreshToken { client_id: "cli".into(), ..refresh("acme", "fam1", 1_000, 5_000) };
    let put = store.put_refresh_token(&digest(2), &stray).await;
    assert!(matches!(put, Err(StoreError::Corrupt { .. })), "{put:?}");
    drop(store);
    assert_eq!(raw_keys(dir.path(), "refresh_tokens"), [digest_key("acme", digest(1))]);
}

#[tokio::test]
async fn families_outlive_their_tokens_and_everything_is_swept() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        let t1 = refresh("acme", "fam1", 1_000, 2_000);
        store.put_refresh_token(&digest(1), &t1).await.unwrap();
        let t2 = refresh("acme", "fam1", 1_500, 3_000);
        let used = store.use_refresh_token("acme", &digest(1), &digest(2), &t2, 1_500, 60).await.unwrap();
        assert_eq!(used, RefreshUse::Rotated(t1));
        assert_eq!(store.sweep_expired().unwrap(), 0, "nothing due yet");

        // t1 and the family's first expiry come due; the family was extended to t2's expiry.
        clock.set(2_000);
        assert_eq!(store.sweep_expired().unwrap(), 2);
        assert!(usable(&store, "acme", 2, 2_000).await, "the family must outlive t1");
        let t3 = refresh("acme", "fam1", 2_000, 2_500); // shorter-lived: no extension
        let used = store.use_refresh_token("acme", &digest(2), &digest(3), &t3, 2_000, 60).await.unwrap();
        assert!(matches!(used, RefreshUse::Rotated(_)), "{used:?}");

        clock.set(2_500);
        assert_eq!(store.sweep_expired().unwrap(), 1);
        clock.set(3_000);
        assert_eq!(store.sweep_expired().unwrap(), 2);
        assert_eq!(store.sweep_expired().unwrap(), 0);
    }
    assert!(raw_keys(dir.path(), "refresh_tokens").is_empty());
    assert!(raw_keys(dir.path(), "refresh_families").is_empty());
    assert!(raw_keys(dir.path(), "expiry").is_empty());
}

#[test]
fn delete_tenant_removes_its_tokens_and_families() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let options = StoreOptions { delete_chunk_records: 3, ..options(&clock) };
        let store = FjallStore::open(dir.path(), options).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            store.put_tenant(&tenant("acme")).await.unwrap();
            store.put_tenant(&tenant("other")).await.unwrap();
            for i in 0..8 {
                let t = refresh("acme", &format!("fam{i}"), 1_000, 5_000);
                store.put_refresh_token(&digest(i), &t).await.unwrap();
            }
            store.revoke_refresh_family("acme", "gone", 9_000).await.unwrap();
            store.put_refresh_token(&digest(99), &refresh("other", "fam0", 1_000, 5_000)).await.unwrap();
            store.delete_tenant("acme").await.unwrap();
            // The tombstone went with the tenant: a re-created tenant starts clean.
            store.put_refresh_token(&digest(50), &refresh("acme", "gone", 1_000, 5_000)).await.unwrap();
        });
        for i in 0..8 {
            assert_eq!(wait(store.refresh_token("acme", &digest(i), 1_000)).unwrap(), None);
        }
        assert!(wait(usable(&store, "other", 99, 1_000)));
    }
    let mut tokens = raw_keys(dir.path(), "refresh_tokens");
    tokens.sort();
    assert_eq!(tokens, [digest_key("acme", digest(50)), digest_key("other", digest(99))]);
    let mut families = raw_keys(dir.path(), "refresh_families");
    families.sort();
    assert_eq!(families, [b"acme\0gone".to_vec(), b"other\0fam0".to_vec()]);
    // Token and family entries of what is left, nothing of what was deleted.
    assert_eq!(raw_keys(dir.path(), "expiry").len(), 4);
}
