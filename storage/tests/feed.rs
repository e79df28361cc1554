//! The fjall store's change feed where it meets the writer's rounds, beyond what the
//! conformance suite asks of every backend: a failed round is not heard, a deletion spanning
//! many rounds is heard once, expiry is not heard, a listener reading the store on hearing finds
//! the write, and every write of a group-committed round is heard. (A round in flight at the
//! first subscription ends in a resync: `writer::round`'s unit test, which can stop a round
//! half-way.)
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use common::*;
use tessera_core::changes::{Change, ChangeFeed, ChangeKind, Notice};
use tessera_core::store::{ClientStore, KeyStore, RevocationStore, StoreError, TenantStore, TokenStore};
use tessera_storage::{FjallStore, StoreOptions};

/// What one listener heard, repeats included, and how many resyncs.
#[derive(Clone, Default)]
struct Heard {
    changes: Arc<Mutex<Vec<Change>>>,
    resyncs: Arc<AtomicUsize>,
}

impl Heard {
    fn listen(store: &FjallStore) -> Self {
        let heard = Self::default();
        let sink = heard.clone();
        store.subscribe(Arc::new(move |notice| match notice {
            Notice::Changed(change) => sink.changes.lock().unwrap().push(change.clone()),
            Notice::Resync => {
                sink.resyncs.fetch_add(1, Ordering::SeqCst);
            }
        }));
        heard
    }

    fn changes(&self) -> Vec<Change> {
        self.changes.lock().unwrap().clone()
    }
}

fn client_change(tenant: &str, id: &str) -> Change {
    Change { tenant: tenant.to_owned(), kind: ChangeKind::Client, id: id.to_owned() }
}

#[tokio::test]
async fn a_failed_round_is_not_heard() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    let heard = Heard::listen(&store);
    store.put_tenant(&tenant("acme")).await.unwrap();
    store.inject_persist_failure();
    let commits: Vec<_> = (0..20).map(|i| store.put_client(&client("acme", &format!("c{i}")))).collect();
    for commit in commits {
        assert_eq!(commit.await, Err(StoreError::Poisoned));
    }
    assert_eq!(heard.changes(), [Change::tenant("acme")], "only the write that was durable");
    assert_eq!(heard.resyncs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_deletion_spanning_many_rounds_is_heard_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    // Tiny chunks: the deletion spans many writer rounds.
    let store =
        FjallStore::open(dir.path(), StoreOptions { delete_chunk_records: 7, ..options(&clock) }).unwrap();
    store.put_tenant(&tenant("acme")).await.unwrap();
    let commits: Vec<_> = (0..50)
        .flat_map(|i| {
            [
                store.put_client(&client("acme", &format!("c{i}"))),
                store.put_key(&key("acme", &format!("k{i}"), i64::from(i))),
                store.put_revocation(&revocation("acme", &format!("j{i}"), 9_000)),
            ]
        })
        .collect();
    for commit in commits {
        commit.await.unwrap();
    }
    let heard = Heard::listen(&store);
    store.delete_tenant("acme").await.unwrap();
    assert_eq!(heard.changes(), [Change::tenant("acme")], "exactly one change, after the last chunk");
}

#[tokio::test]
async fn expiry_is_not_heard() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    store.put_revocation(&revocation("acme", "j1", 1_500)).await.unwrap();
    store.put_opaque_token(&digest(1), &token("acme", "t1", 1_500)).await.unwrap();
    let heard = Heard::listen(&store);
    clock.set(2_000);
    while store.sweep_expired().unwrap() > 0 {}
    assert_eq!(store.revocation_count(), 0, "the revocation was swept");
    // An expired revocation denies nothing, in any cache: there is nothing to hear.
    assert_eq!(heard.changes(), Vec::<Change>::new());
}

#[tokio::test]
async fn a_listener_reading_the_store_on_hearing_finds_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path(), &ManualClock::at(1_000)));
    // Weak: the store holding a listener that holds the store would never be dropped.
    let handle: Arc<OnceLock<Weak<FjallStore>>> = Arc::default();
    let read = Arc::new(Mutex::new(Vec::new()));
    let (reader, sink) = (Arc::clone(&handle), Arc::clone(&read));
    store.subscribe(Arc::new(move |notice| {
        if let Notice::Changed(change) = notice
            && let Some(store) = reader.get().and_then(Weak::upgrade)
        {
            let name = wait(store.client(&change.tenant, &change.id)).unwrap().map(|c| c.client_name.clone());
            sink.lock().unwrap().push(name);
        }
    }));
    handle.set(Arc::downgrade(&store)).unwrap();
    let mut web = client("acme", "web");
    store.put_client(&web).await.unwrap();
    web.client_name = "Renamed".to_owned();
    store.put_client(&web).await.unwrap();
    store.delete_client("acme", "web").await.unwrap();
    assert_eq!(*read.lock().unwrap(), [Some("Client web".to_owned()), Some("Renamed".to_owned()), None]);
}

#[tokio::test]
async fn every_write_of_a_group_committed_round_is_heard() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), &ManualClock::at(1_000));
    let heard = Heard::listen(&store);
    let persists = store.persist_count();
    let commits: Vec<_> = (0..500).map(|i| store.put_client(&client("acme", &format!("c{i}")))).collect();
    for commit in commits {
        commit.await.unwrap();
    }
    assert!(store.persist_count() - persists < 500, "writes shared fsyncs");
    let expected: Vec<Change> = (0..500).map(|i| client_change("acme", &format!("c{i}"))).collect();
    assert_eq!(heard.changes(), expected, "each once, in submission order");
}
