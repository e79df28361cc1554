//! Round trips of every record kind, write ordering, cache invalidation, tenant isolation and
//! `delete_tenant`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use futures_lite_free::join_all;
use tessera_core::store::JwtStatus;
use tessera_core::store::{
    ClientStore, KeyStore, RevocationStore, Store, StoreError, TenantStore, TokenStore,
};
use tessera_storage::{FjallStore, StoreOptions};

/// Awaits commits in order (a tiny `join_all` without a futures dependency).
mod futures_lite_free {
    use tessera_core::store::{Commit, StoreError};

    pub async fn join_all(commits: Vec<Commit>) -> Vec<Result<(), StoreError>> {
        let mut out = Vec::with_capacity(commits.len());
        for c in commits {
            out.push(c.await);
        }
        out
    }
}

#[tokio::test]
async fn records_breaking_their_invariants_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(0));
    let bad_id = tenant("a/b");
    assert!(matches!(store.put_tenant(&bad_id).await, Err(StoreError::Corrupt { .. })));
    let mut bad_ttl = tenant("acme");
    bad_ttl.settings.access_token_ttl_secs = 0;
    assert!(matches!(store.put_tenant(&bad_ttl).await, Err(StoreError::Corrupt { .. })));
    let mut backwards = token("acme", "t", 100);
    backwards.iat = 200;
    let refused = store.put_opaque_token(&digest(1), &backwards).await;
    assert!(matches!(refused, Err(StoreError::Corrupt { .. })));
    assert!(matches!(
        store.put_revocation(&revocation("acme", "", 100)).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(store.tenants().await.unwrap().is_empty());
    assert!(store.is_writable(), "a refused record does not poison the store");
}

#[tokio::test]
async fn writes_to_one_key_apply_in_submission_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(0));
    // Submitted back to back without waiting, so many land in one group commit.
    let commits = (0..1_000)
        .map(|i| {
            let mut c = client("acme", "web");
            c.client_name = format!("v{i}");
            store.put_client(&c)
        })
        .collect();
    assert!(join_all(commits).await.iter().all(Result::is_ok));
    assert_eq!(store.client("acme", "web").await.unwrap().unwrap().client_name, "v999");

    let put = store.put_client(&client("acme", "x"));
    let del = store.delete_client("acme", "x");
    let put_again = store.put_client(&client("acme", "x"));
    assert!(join_all(vec![put, del, put_again]).await.iter().all(Result::is_ok));
    assert!(store.client("acme", "x").await.unwrap().is_some());

    let put = store.put_client(&client("acme", "y"));
    let del = store.delete_client("acme", "y");
    assert!(join_all(vec![put, del]).await.iter().all(Result::is_ok));
    assert!(store.client("acme", "y").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readers_never_keep_a_stale_cached_client() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open(dir.path(), &ManualClock::at(0)));
    store.put_client(&client("acme", "web")).await.unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = wait(store.client("acme", "web")).unwrap();
            }
        })
    };
    for i in 0..300 {
        let mut c = client("acme", "web");
        c.client_name = format!("v{i}");
        store.put_client(&c).await.unwrap();
        // Once the write is acknowledged no read may return an older version.
        assert_eq!(store.client("acme", "web").await.unwrap().unwrap().client_name, format!("v{i}"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
}

async fn fill_tenant(store: &FjallStore, t: &str, n: u32) {
    store.put_tenant(&tenant(t)).await.unwrap();
    let mut commits = Vec::new();
    for i in 0..n {
        commits.push(store.put_client(&client(t, &format!("c{i}"))));
        commits.push(store.put_key(&key(t, &format!("k{i}"), i64::from(i))));
        commits.push(store.put_opaque_token(&digest(i), &token(t, &format!("t{i}"), 9_000)));
        commits.push(store.put_revocation(&revocation(t, &format!("j{i}"), 9_000)));
    }
    assert!(join_all(commits).await.iter().all(Result::is_ok));
}

#[test]
fn delete_tenant_removes_only_that_tenant_in_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        // Tiny chunks: the deletion spans many writer rounds.
        let options = StoreOptions { delete_chunk_records: 7, ..options(&clock) };
        let store = FjallStore::open(dir.path(), options).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            fill_tenant(&store, "acme", 50).await;
            fill_tenant(&store, "acme2", 50).await; // shares the prefix "acme"
            store.delete_tenant("acme").await.unwrap();
        });
        assert_eq!(wait(store.tenant("acme")).unwrap(), None);
        assert!(wait(store.clients("acme")).unwrap().is_empty());
        assert!(wait(store.keys("acme")).unwrap().is_empty());
        assert_eq!(wait(store.opaque_token("acme", &digest(3))).unwrap(), None);
        assert_eq!(wait(store.jwt_status("acme", "j3")).unwrap(), JwtStatus::NotRevoked);
        assert_eq!(wait(store.tenants()).unwrap(), vec![tenant("acme2")]);
        assert_eq!(wait(store.clients("acme2")).unwrap().len(), 50);
        assert_eq!(wait(store.keys("acme2")).unwrap().len(), 50);
        assert!(wait(store.opaque_token("acme2", &digest(3))).unwrap().is_some());
        assert_eq!(wait(store.jwt_status("acme2", "j3")).unwrap(), JwtStatus::Revoked);
        // acme's fingerprints stay in memory until its tokens expire: the NotRevoked above
        // was the disk's answer. A sweep forgets them once expired (`expiry.rs`).
        assert_eq!(store.revocation_count(), 100);
    }
    // On disk: nothing of acme in any keyspace, its expiry entries included.
    for keyspace in ["tenants", "clients", "keys", "opaque_tokens", "revocations", "expiry"] {
        let keys = raw_keys(dir.path(), keyspace);
        let acme = keys.iter().filter(|k| k.windows(5).any(|w| w == b"acme\0")).count();
        assert_eq!(acme, 0, "{keyspace} still holds acme records");
        if keyspace != "tenants" {
            assert_eq!(keys.len(), if keyspace == "expiry" { 100 } else { 50 }, "{keyspace}");
        }
    }
    let reopened = open(dir.path(), &clock);
    assert_eq!(reopened.revocation_count(), 50, "loaded from disk: acme2's only");
}

#[tokio::test]
async fn writes_queued_after_delete_tenant_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions { delete_chunk_records: 3, ..options(&ManualClock::at(0)) };
    let store = FjallStore::open(dir.path(), options).unwrap();
    fill_tenant(&store, "acme", 20).await;
    // Not awaited in between: the put is queued while the deletion is in progress.
    let delete = store.delete_tenant("acme");
    let put_tenant = store.put_tenant(&tenant("acme"));
    let put_client = store.put_client(&client("acme", "fresh"));
    let results = join_all(vec![delete, put_tenant, put_client]).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(store.tenant("acme").await.unwrap().is_some());
    let ids: Vec<_> = store.clients("acme").await.unwrap().into_iter().map(|c| c.client_id).collect();
    assert_eq!(ids, ["fresh"]);
    assert!(store.keys("acme").await.unwrap().is_empty());
}
