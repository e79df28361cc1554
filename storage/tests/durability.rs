//! Durability: reopening finds every acknowledged write, after a clean close and after the
//! process dies without one; group commit shares fsyncs; a failed fsync poisons the store.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use tessera_core::store::JwtStatus;

use common::*;
use tessera_core::store::{
    ClientStore, KeyStore, RevocationStore, Store, StoreError, TenantStore, TokenStore,
};
use tessera_storage::FjallStore;

#[test]
fn reopen_finds_everything_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        wait(store.put_tenant(&tenant("acme"))).unwrap();
        wait(store.put_client(&client("acme", "web"))).unwrap();
        wait(store.put_key(&key("acme", "k1", 10))).unwrap();
        wait(store.put_opaque_token(&digest(1), &token("acme", "t1", 5_000))).unwrap();
        wait(store.put_revocation(&revocation("acme", "jwt-1", 5_000))).unwrap();
        // Dropped without `close`: `Drop` must still leave everything on disk.
    }
    let store = open(dir.path(), &clock);
    assert_eq!(*wait(store.tenant("acme")).unwrap().unwrap(), tenant("acme"));
    assert_eq!(*wait(store.client("acme", "web")).unwrap().unwrap(), client("acme", "web"));
    assert_eq!(wait(store.keys("acme")).unwrap(), vec![key("acme", "k1", 10)]);
    assert_eq!(wait(store.opaque_token("acme", &digest(1))).unwrap(), Some(token("acme", "t1", 5_000)));
    assert_eq!(
        wait(store.jwt_status("acme", "jwt-1")).unwrap(),
        JwtStatus::Revoked,
        "deny list reloaded at open"
    );
}

/// Environment variable that turns `crash_child` into the crashing writer.
const CRASH_DIR: &str = "TESSERA_STORAGE_CRASH_DIR";
const CRASH_WRITES: u32 = 500;

/// Run by `acknowledged_writes_survive_a_crash` in a child process: writes, waits for every
/// commit, reports, queues more writes it never waits for, and exits without any destructor,
/// `close` or fjall shutdown running (as a killed process would).
#[test]
#[ignore = "child process of acknowledged_writes_survive_a_crash"]
fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_DIR) else {
        return;
    };
    let store = open(std::path::Path::new(&dir), &ManualClock::at(1_000));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let commits: Vec<_> = (0..CRASH_WRITES)
            .map(|i| store.put_opaque_token(&digest(i), &token("acme", &format!("t{i}"), 9_000)))
            .collect();
        for commit in commits {
            commit.await.unwrap();
        }
        store.put_revocation(&revocation("acme", "jwt-1", 9_000)).await.unwrap();
    });
    println!("acknowledged {CRASH_WRITES}");
    for i in CRASH_WRITES..CRASH_WRITES * 2 {
        drop(store.put_opaque_token(&digest(i), &token("acme", "late", 9_000)));
    }
    std::process::exit(42);
}

#[test]
fn acknowledged_writes_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(42), "child did not crash as planned: {stdout}");
    assert!(stdout.contains(&format!("acknowledged {CRASH_WRITES}")), "{stdout}");

    let store = open(dir.path(), &ManualClock::at(1_000));
    for i in 0..CRASH_WRITES {
        let found = wait(store.opaque_token("acme", &digest(i))).unwrap();
        assert_eq!(found, Some(token("acme", &format!("t{i}"), 9_000)), "token {i} lost");
    }
    assert_eq!(wait(store.jwt_status("acme", "jwt-1")).unwrap(), JwtStatus::Revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_all_resolve_and_share_fsyncs() {
    const TASKS: u32 = 64;
    const PER_TASK: u32 = 10_000 / TASKS + 1;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path(), &ManualClock::at(1_000)));
    let before = store.persist_count();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..PER_TASK {
                    let n = t * PER_TASK + i;
                    store
                        .put_opaque_token(&digest(n), &token("acme", &format!("t{n}"), 9_000))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let writes = u64::from(TASKS * PER_TASK);
    let fsyncs = store.persist_count() - before;
    for n in 0..TASKS * PER_TASK {
        assert!(store.opaque_token("acme", &digest(n)).await.unwrap().is_some(), "token {n} missing");
    }
    assert_eq!(store.committed_write_count(), writes);
    // 64 writers wait at once, so a round holds many of them: far fewer fsyncs than writes.
    assert!(fsyncs * 4 <= writes, "{fsyncs} fsyncs for {writes} writes");
    eprintln!("{writes} writes, {fsyncs} fsyncs");
}

#[tokio::test]
async fn a_failed_fsync_poisons_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    store.put_tenant(&tenant("acme")).await.unwrap();
    assert!(store.is_writable());

    store.inject_persist_failure();
    // Queued together: they share the failing round or come after it; none may succeed.
    let commits: Vec<_> = (0..20).map(|i| store.put_client(&client("acme", &format!("c{i}")))).collect();
    for commit in commits {
        assert_eq!(commit.await, Err(StoreError::Poisoned));
    }
    assert!(!store.is_writable());
    assert_eq!(store.put_tenant(&tenant("globex")).await, Err(StoreError::Poisoned));
    assert_eq!(store.delete_tenant("acme").await, Err(StoreError::Poisoned));
    assert_eq!(store.sweep_expired(), Err(StoreError::Poisoned));
    // Reads go on: the data that was durable is still served.
    assert!(store.tenant("acme").await.unwrap().is_some());
    assert_eq!(store.close(), Err(StoreError::Poisoned));
}

#[tokio::test]
async fn close_completes_queued_writes_then_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    let queued: Vec<_> = (0..100).map(|i| store.put_client(&client("acme", &format!("c{i}")))).collect();
    store.close().unwrap();
    for commit in queued {
        commit.await.unwrap();
    }
    assert!(!store.is_writable());
    assert_eq!(store.put_tenant(&tenant("acme")).await, Err(StoreError::Closed));
    assert_eq!(store.clients("acme").await.unwrap().len(), 100, "reads still work after close");
    store.close().unwrap();
    drop(store);
    let store = FjallStore::open(dir.path(), options(&ManualClock::at(0))).unwrap();
    assert_eq!(store.clients("acme").await.unwrap().len(), 100);
}
