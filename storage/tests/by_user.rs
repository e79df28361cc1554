//! The by-user indexes on disk (`session_users`, `refresh_family_users`): a session's entry
//! lives exactly as long as its session (written with it; gone when it is deleted, replaced by
//! another user's, ended, swept or its tenant deleted), a family's from its first token until
//! its record is swept; and records stored before the indexes existed are indexed when the
//! store opens. What a backend must do with them is in the conformance suite; this is how
//! fjall keeps them.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use tessera_core::model::{Authentication, Session};
use tessera_core::store::{RefreshStore, SessionStore, TenantStore};

/// `tenant \0 user \0 digest`: a session's entry.
fn session_entry(tenant: &str, user: &str, d: [u8; 32]) -> Vec<u8> {
    [tenant.as_bytes(), b"\0", user.as_bytes(), b"\0", d.as_slice()].concat()
}

/// `tenant \0 sub \0 family`: a family's entry.
fn family_entry(tenant: &str, sub: &str, family: &str) -> Vec<u8> {
    [tenant, sub, family].join("\0").into_bytes()
}

fn session_of(sub: &str, sid: &str, expires_at: i64) -> Session {
    let s = session("acme", sid, 1_000, expires_at);
    Session { auth: Authentication { sub: sub.to_owned(), ..s.auth.clone() }, ..s }
}

fn sorted(mut keys: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    keys.sort();
    keys
}

#[tokio::test]
async fn a_sessions_entry_lives_as_long_as_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        for (n, sub, expires_at) in [(1, "u1", 5_000), (2, "u1", 5_000), (3, "u1", 2_000), (4, "u2", 5_000)] {
            store.put_session(&digest(n), &session_of(sub, &format!("sid-{n}"), expires_at)).await.unwrap();
        }
        // Logged out; replaced by another user's login under the same cookie; swept.
        store.delete_session("acme", &digest(1)).await.unwrap();
        store.put_session(&digest(2), &session_of("u3", "sid-5", 5_000)).await.unwrap();
        clock.set(2_000);
        store.sweep_expired().unwrap();
    }
    assert_eq!(
        sorted(raw_keys(dir.path(), "session_users")),
        sorted(vec![session_entry("acme", "u3", digest(2)), session_entry("acme", "u2", digest(4))])
    );
    {
        let store = open(dir.path(), &clock);
        store.end_sessions_of_user("acme", "u2").await.unwrap();
        store.end_sessions_of_user("acme", "u3").await.unwrap();
    }
    assert!(raw_keys(dir.path(), "session_users").is_empty());
    assert!(raw_keys(dir.path(), "sessions").is_empty());
}

#[tokio::test]
async fn a_familys_entry_lives_from_its_first_token_until_the_family_is_swept() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        store.put_refresh_token(&digest(1), &refresh("acme", "fam1", 1_000, 2_000)).await.unwrap();
        store.put_refresh_token(&digest(2), &refresh("acme", "fam2", 1_000, 5_000)).await.unwrap();
        // A tombstone names no end-user: no entry.
        store.revoke_refresh_family("acme", "dead", 5_000).await.unwrap();
        // Revoking the user's families keeps each record, and so its entry, until it expires.
        store.revoke_families_of_user("acme", "u1", 1_500).await.unwrap();
    }
    assert_eq!(
        sorted(raw_keys(dir.path(), "refresh_family_users")),
        sorted(vec![family_entry("acme", "u1", "fam1"), family_entry("acme", "u1", "fam2")])
    );
    {
        let store = open(dir.path(), &clock);
        clock.set(2_000);
        store.sweep_expired().unwrap();
    }
    assert_eq!(raw_keys(dir.path(), "refresh_family_users"), [family_entry("acme", "u1", "fam2")]);
}

#[test]
fn deleting_a_tenant_removes_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        wait(store.put_tenant(&tenant("acme"))).unwrap();
        wait(store.put_tenant(&tenant("other"))).unwrap();
        for t in ["acme", "other"] {
            wait(store.put_session(&digest(1), &session(t, "sid-1", 1_000, 2_000))).unwrap();
            wait(store.put_refresh_token(&digest(2), &refresh(t, "fam1", 1_000, 2_000))).unwrap();
        }
        wait(store.delete_tenant("acme")).unwrap();
    }
    assert_eq!(raw_keys(dir.path(), "session_users"), [session_entry("other", "u1", digest(1))]);
    assert_eq!(raw_keys(dir.path(), "refresh_family_users"), [family_entry("other", "u1", "fam1")]);
}

#[tokio::test]
async fn records_stored_before_the_indexes_are_found_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        store.put_session(&digest(1), &session("acme", "sid-1", 1_000, 5_000)).await.unwrap();
        store.put_refresh_token(&digest(2), &refresh("acme", "fam1", 1_000, 5_000)).await.unwrap();
    }
    // As a store from before the indexes left them: records, no entries.
    for keyspace in ["session_users", "refresh_family_users"] {
        remove_all(dir.path(), keyspace);
    }
    let store = open(dir.path(), &clock);
    store.end_sessions_of_user("acme", "u1").await.unwrap();
    store.revoke_families_of_user("acme", "u1", 5_000).await.unwrap();
    assert_eq!(store.session("acme", &digest(1), 1_000).await.unwrap(), None, "the old session ended");
    let found = store.refresh_token("acme", &digest(2), 1_000).await.unwrap().unwrap();
    assert_eq!(found.family, tessera_core::store::FamilyStatus::Revoked, "the old family revoked");
}

/// Deletes every key of one keyspace of a closed store.
fn remove_all(dir: &std::path::Path, keyspace: &str) {
    let db = fjall::Database::builder(dir).open().unwrap();
    let ks = db.keyspace(keyspace, fjall::KeyspaceCreateOptions::default).unwrap();
    let keys: Vec<_> = ks.iter().map(|g| g.key().unwrap()).collect();
    assert!(!keys.is_empty(), "{keyspace} had entries to remove");
    for key in keys {
        ks.remove(key).unwrap();
    }
    db.persist(fjall::PersistMode::SyncAll).unwrap();
}
