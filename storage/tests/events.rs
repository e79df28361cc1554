//! Audit events in the fjall store, where only this backend can be watched: an event asks for
//! no fsync of its own (it becomes visible at once and durable with the next fsync any write
//! asks for, or when the store closes), so events never add an fsync to a request path.
#![allow(clippy::unwrap_used)]

mod common;

use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::*;
use tessera_core::audit::EventQuery;
use tessera_core::model::{Actor, AuditEvent, EventType, Outcome, event_id};
use tessera_core::store::{Commit, EventStore, StoreError, TenantStore};
use tessera_storage::{FjallStore, StoreOptions};

fn event(n: u8) -> AuditEvent {
    AuditEvent {
        id: event_id(1_700_000_000_000 + i64::from(n), [n; 10]),
        tenant: "acme".into(),
        at: 1_700_000_000,
        kind: EventType::TokenFailure,
        actor: Actor::Client { client_id: "web".into() },
        action: "client_credentials".into(),
        target: "token".into(),
        source: Some("192.0.2.1".into()),
        outcome: Outcome::Failure,
        reason: Some("invalid_client".into()),
    }
}

/// A store whose events would wait an hour for an fsync of their own: whatever makes them
/// durable sooner is another write's fsync or the close.
fn patient_store(dir: &std::path::Path, clock: &ManualClock) -> FjallStore {
    let options = StoreOptions { event_durable_within: Duration::from_secs(3600), ..options(clock) };
    FjallStore::open(dir, options).unwrap()
}

/// The commit's answer if it has one already, without waiting.
fn answered(commit: &mut Commit) -> Option<Result<(), StoreError>> {
    match commit.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(answer) => Some(answer),
        Poll::Pending => None,
    }
}

fn listed(store: &FjallStore) -> Vec<String> {
    let query = EventQuery { limit: 200, ..EventQuery::default() };
    wait(store.list_events("acme", &query)).unwrap().events.into_iter().map(|e| e.id).collect()
}

/// Waits, without a time bound of its own, until the writer has applied `n` events.
fn until_listed(store: &FjallStore, n: usize) {
    while listed(store).len() < n {
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn events_ask_for_no_fsync_and_ride_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = patient_store(dir.path(), &clock);
    wait(store.put_tenant(&tenant("acme"))).unwrap();
    let fsyncs = store.persist_count();
    let mut commits: Vec<_> = (0..50).map(|n| store.append_event(&event(n)).unwrap()).collect();
    until_listed(&store, 50);
    assert_eq!(store.persist_count(), fsyncs, "visible, and no fsync for them alone");
    assert!(commits.iter_mut().all(|c| answered(c).is_none()), "not durable yet");

    // The next write that asks for an fsync covers them.
    wait(store.put_tenant(&tenant("acme2"))).unwrap();
    assert_eq!(store.persist_count(), fsyncs + 1, "one fsync for the tenant and the fifty events");
    for mut commit in commits {
        assert_eq!(answered(&mut commit), Some(Ok(())), "completed before the write sharing the fsync");
    }
}

#[test]
fn closing_makes_waiting_events_durable() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = patient_store(dir.path(), &clock);
        wait(store.put_tenant(&tenant("acme"))).unwrap();
        let commit = store.append_event(&event(1)).unwrap();
        until_listed(&store, 1);
        store.close().unwrap();
        assert_eq!(wait(commit), Ok(()), "the close's fsync covers it");
    }
    let store = open(dir.path(), &clock);
    assert_eq!(listed(&store), [event(1).id]);
}

#[test]
fn events_alone_are_made_durable_within_their_bound() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let options = StoreOptions { event_durable_within: Duration::from_millis(10), ..options(&clock) };
    let store = FjallStore::open(dir.path(), options).unwrap();
    wait(store.put_tenant(&tenant("acme"))).unwrap();
    let fsyncs = store.persist_count();
    // Nothing else is written: the writer persists for the event on its own, once.
    assert_eq!(wait(store.append_event(&event(1)).unwrap()), Ok(()));
    assert_eq!(store.persist_count(), fsyncs + 1);
}
