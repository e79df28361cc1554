//! Users and their uniqueness indexes: round trips, lookups by username and e-mail regardless
//! of case, conflicts decided in the writer (of concurrent claims exactly one wins), index
//! entries following a rename, deletion freeing the names, tenant isolation, `delete_tenant`,
//! and reopening.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tessera_core::model::{Address, User};
use tessera_core::store::{TenantStore, UserStore};

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

    assert_eq!(store.user("acme", "id-bob").await.unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_username("acme", "bob").await.unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_username("acme", "BOB").await.unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_email("acme", "bob@example.COM").await.unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_email("acme", "nobody@example.com").await.unwrap(), None);
    assert_eq!(store.user("acme", "nope").await.unwrap(), None);
    assert_eq!(store.user("acme", "a/b").await.unwrap(), None);
    let names: Vec<_> = store.users("acme").await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["Bob", "alice"], "ordered by username");

    // Another tenant sees none of it and may reuse the names.
    store.put_tenant(&tenant("other")).await.unwrap();
    assert_eq!(store.user("other", "id-bob").await.unwrap(), None);
    assert_eq!(store.user_by_username("other", "bob").await.unwrap(), None);
    store.put_user(&user("other", "id-bob2", "bob", Some("bob@example.com"))).await.unwrap();

    // Reopening keeps users and indexes.
    drop(store);
    let store = open(dir.path(), &clock);
    assert_eq!(store.user_by_email("acme", "BOB@example.com").await.unwrap(), Some(bob));
    assert_eq!(store.users("acme").await.unwrap().len(), 2);
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
    assert!(store.users("acme").await.unwrap().is_empty());
    assert_eq!(store.users("keep").await.unwrap().len(), 5);
    // A re-created tenant of the same id inherits nothing, not even a taken name.
    store.put_tenant(&tenant("acme")).await.unwrap();
    assert_eq!(store.user_by_username("acme", "user0").await.unwrap(), None);
    store.put_user(&user("acme", "new", "user0", Some("0@x.io"))).await.unwrap();
    drop(store);
    let store = open(dir.path(), &clock);
    assert_eq!(store.users("acme").await.unwrap().len(), 1);
}
