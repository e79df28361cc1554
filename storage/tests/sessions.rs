//! SSO sessions: round trip under the cookie's digest, expiry (gone at `expires_at`, then
//! swept), tenant isolation, reopening, invariants, and `delete_tenant`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tessera_core::store::{SessionStore, StoreError, TenantStore};
use tessera_storage::StoreOptions;

#[tokio::test]
async fn sessions_round_trip_and_end() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    let s = session("acme", "sid-1", 1_000, 2_000);
    store.put_session(&digest(1), &s).await.unwrap();
    assert_eq!(store.session("acme", &digest(1), 1_000).await.unwrap(), Some(s.clone()));
    assert_eq!(store.session("acme", &digest(2), 1_000).await.unwrap(), None);

    // A new login in the same browser replaces it.
    let again = session("acme", "sid-2", 1_500, 3_000);
    store.put_session(&digest(1), &again).await.unwrap();
    assert_eq!(store.session("acme", &digest(1), 1_500).await.unwrap(), Some(again));

    store.delete_session("acme", &digest(1)).await.unwrap();
    assert_eq!(store.session("acme", &digest(1), 1_500).await.unwrap(), None);
    // Deleting what is not there, or cannot be, is fine.
    store.delete_session("acme", &digest(1)).await.unwrap();
    store.delete_session("not a tenant", &digest(1)).await.unwrap();

    store.put_session(&digest(3), &s).await.unwrap();
    drop(store);
    // Only the digest is stored, under the tenant.
    assert_eq!(raw_keys(dir.path(), "sessions"), [digest_key("acme", digest(3))]);
}

#[tokio::test]
async fn invalid_sessions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    let cases = [
        session("acme", "sid-1", 2_000, 2_000), // over before it begins
        session("acme", "sid 1", 1_000, 2_000), // sid not an id
        session("a/b", "sid-1", 1_000, 2_000),  // tenant not an id
        {
            // no user
            let mut s = session("acme", "sid-1", 1_000, 2_000);
            s.auth.sub = String::new();
            s
        },
    ];
    for s in cases {
        let result = store.put_session(&digest(1), &s).await;
        assert!(matches!(result, Err(StoreError::Corrupt { .. })), "{s:?}: {result:?}");
    }
    drop(store);
    assert!(raw_keys(dir.path(), "sessions").is_empty());
}

#[tokio::test]
async fn expired_sessions_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        store.put_session(&digest(1), &session("acme", "sid-1", 1_000, 2_000)).await.unwrap();
        store.put_session(&digest(2), &session("acme", "sid-2", 1_000, 2_000)).await.unwrap();
        store.put_session(&digest(3), &session("acme", "sid-3", 1_000, 5_000)).await.unwrap();
        // Replaced by a longer session: its first expiry entry must not delete it.
        store.put_session(&digest(2), &session("acme", "sid-2", 1_500, 6_000)).await.unwrap();
        assert_eq!(store.sweep_expired().unwrap(), 0, "nothing due yet");

        clock.set(2_000);
        assert_eq!(store.sweep_expired().unwrap(), 2, "two entries came due");
        assert_eq!(store.sweep_expired().unwrap(), 0);
        assert_eq!(
            store.session("acme", &digest(2), 2_000).await.unwrap().map(|s| s.expires_at),
            Some(6_000)
        );
        assert!(store.session("acme", &digest(3), 2_000).await.unwrap().is_some());
    }
    let mut left = raw_keys(dir.path(), "sessions");
    left.sort();
    assert_eq!(left, [digest_key("acme", digest(2)), digest_key("acme", digest(3))]);
    assert_eq!(raw_keys(dir.path(), "expiry").len(), 2);
}

#[test]
fn delete_tenant_removes_its_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let options = StoreOptions { delete_chunk_records: 3, ..options(&clock) };
        let store = tessera_storage::FjallStore::open(dir.path(), options).unwrap();
        wait(store.put_tenant(&tenant("acme"))).unwrap();
        wait(store.put_tenant(&tenant("other"))).unwrap();
        for i in 0..10 {
            wait(store.put_session(&digest(i), &session("acme", "sid-1", 1_000, 2_000))).unwrap();
        }
        wait(store.put_session(&digest(99), &session("other", "sid-9", 1_000, 2_000))).unwrap();
        wait(store.delete_tenant("acme")).unwrap();
        for i in 0..10 {
            assert_eq!(wait(store.session("acme", &digest(i), 1_000)).unwrap(), None);
        }
        assert!(wait(store.session("other", &digest(99), 1_000)).unwrap().is_some());
    }
    assert_eq!(raw_keys(dir.path(), "sessions"), [digest_key("other", digest(99))]);
    // Their expiry entries went with them.
    assert_eq!(raw_keys(dir.path(), "expiry").len(), 1);
}
