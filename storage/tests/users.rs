//! Users and their uniqueness indexes: round trips, lookups by username and e-mail regardless
//! of case, conflicts decided in the writer (of concurrent claims exactly one wins), index
//! entries following a rename, deletion freeing the names, tenant isolation, `delete_tenant`,
//! and reopening.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tessera_core::model::{Address, User};
use tessera_core::store::{Commit, StoreError, TenantStore, UserStore};

fn user(tenant: &str, id: &str, username: &str, email: Option<&str>) -> User {
    User {
        email: email.map(Into::into),
        name: Some(format!("{username} example")),
        phone_number: Some("+44 20 7946 0000".into()),
        phone_number_verified: true,
        address: Some(Address { locality: Some("London".into()), ..Address::default() }),
        ..User::new(tenant, id, username, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", 10)
    }
}

fn is_conflict(r: Result<(), StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

#[tokio::test]
async fn users_round_trip_and_are_found_by_name_and_email() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    store.put_tenant(&tenant("acme")).await.unwrap();
    let bob = user("acme", "id-bob", "Bob", Some("Bob@Example.com"));
    let alice = user("acme", "id-alice", "alice", None);
    store.put_user(&bob).await.unwrap();
    store.put_user(&alice).await.unwrap();

    assert_eq!(store.user("acme", "id-bob").unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_username("acme", "bob").unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_username("acme", "BOB").unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_email("acme", "bob@example.COM").unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_email("acme", "nobody@example.com").unwrap(), None);
    assert_eq!(store.user("acme", "nope").unwrap(), None);
    assert_eq!(store.user("acme", "a/b").unwrap(), None);
    let names: Vec<_> = store.users("acme").unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["Bob", "alice"], "ordered by username");

    // Another tenant sees none of it and may reuse the names.
    store.put_tenant(&tenant("other")).await.unwrap();
    assert_eq!(store.user("other", "id-bob").unwrap(), None);
    assert_eq!(store.user_by_username("other", "bob").unwrap(), None);
    store.put_user(&user("other", "id-bob2", "bob", Some("bob@example.com"))).await.unwrap();

    // Reopening keeps users and indexes.
    drop(store);
    let store = open(dir.path(), &clock);
    assert_eq!(store.user_by_email("acme", "BOB@example.com").unwrap(), Some(bob));
    assert_eq!(store.users("acme").unwrap().len(), 2);
}

#[tokio::test]
async fn duplicates_conflict_regardless_of_case() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    store.put_tenant(&tenant("acme")).await.unwrap();
    store.put_user(&user("acme", "u1", "alice", Some("alice@example.com"))).await.unwrap();

    assert!(is_conflict(store.put_user(&user("acme", "u2", "ALICE", None)).await));
    assert!(is_conflict(store.put_user(&user("acme", "u2", "al", Some("Alice@EXAMPLE.com"))).await));
    assert_eq!(store.users("acme").unwrap().len(), 1, "nothing written on a conflict");
    assert_eq!(store.user_by_username("acme", "al").unwrap(), None, "no index entry either");

    // Rewriting the same user with its own names is no conflict.
    let mut u1 = user("acme", "u1", "Alice", Some("ALICE@example.com"));
    u1.updated_at = 20;
    store.put_user(&u1).await.unwrap();
    assert_eq!(store.user_by_username("acme", "alice").unwrap(), Some(u1));
}

#[tokio::test]
async fn of_concurrent_claims_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    store.put_tenant(&tenant("acme")).await.unwrap();
    // Queued together: the writer sees them in one round.
    let commits: Vec<Commit> =
        (0..16).map(|i| store.put_user(&user("acme", &format!("u{i}"), "same", None))).collect();
    let mut won = 0;
    for commit in commits {
        match commit.await {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(store.users("acme").unwrap().len(), 1);
}

#[tokio::test]
async fn renames_move_index_entries_and_deletion_frees_names() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    store.put_tenant(&tenant("acme")).await.unwrap();
    store.put_user(&user("acme", "u1", "alice", Some("alice@example.com"))).await.unwrap();
    store.put_user(&user("acme", "u1", "alicia", Some("alicia@example.com"))).await.unwrap();
    assert_eq!(store.user_by_username("acme", "alice").unwrap(), None);
    assert_eq!(store.user_by_email("acme", "alice@example.com").unwrap(), None);
    assert!(store.user_by_username("acme", "alicia").unwrap().is_some());
    // The old names are free for someone else.
    store.put_user(&user("acme", "u2", "alice", Some("alice@example.com"))).await.unwrap();
    // Dropping the e-mail frees it.
    store.put_user(&user("acme", "u1", "alicia", None)).await.unwrap();
    assert_eq!(store.user_by_email("acme", "alicia@example.com").unwrap(), None);

    store.delete_user("acme", "u2").await.unwrap();
    assert_eq!(store.user("acme", "u2").unwrap(), None);
    assert_eq!(store.user_by_username("acme", "alice").unwrap(), None);
    store.put_user(&user("acme", "u3", "alice", Some("alice@example.com"))).await.unwrap();
    store.delete_user("acme", "missing").await.unwrap();
}

#[tokio::test]
async fn deleting_the_tenant_deletes_its_users_and_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    for t in ["acme", "keep"] {
        store.put_tenant(&tenant(t)).await.unwrap();
        for i in 0..5 {
            store
                .put_user(&user(t, &format!("u{i}"), &format!("user{i}"), Some(&format!("{i}@x.io"))))
                .await
                .unwrap();
        }
    }
    store.delete_tenant("acme").await.unwrap();
    assert!(store.users("acme").unwrap().is_empty());
    assert_eq!(store.users("keep").unwrap().len(), 5);
    // A re-created tenant of the same id inherits nothing, not even a taken name.
    store.put_tenant(&tenant("acme")).await.unwrap();
    assert_eq!(store.user_by_username("acme", "user0").unwrap(), None);
    store.put_user(&user("acme", "new", "user0", Some("0@x.io"))).await.unwrap();
    drop(store);
    let store = open(dir.path(), &clock);
    assert_eq!(store.users("acme").unwrap().len(), 1);
}

#[tokio::test]
async fn invalid_users_are_refused_before_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = open(dir.path(), &clock);
    store.put_tenant(&tenant("acme")).await.unwrap();
    let mut bad = user("acme", "u1", "has space", None);
    assert!(matches!(store.put_user(&bad).await, Err(StoreError::Corrupt { .. })));
    bad = user("acme", "a/b", "ok", None);
    assert!(matches!(store.put_user(&bad).await, Err(StoreError::Corrupt { .. })));
    assert!(store.users("acme").unwrap().is_empty());
}
