//! Expiry: the sweeper removes expired tokens and revocations with their index entries, a
//! bounded batch at a time, and leaves live ones; reads honour `exp` before the sweep.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};
use tessera_core::store::JwtStatus;

use common::*;
use tessera_core::store::{RevocationStore, TokenStore};
use tessera_storage::{FjallStore, StoreOptions};

/// Three tokens and one revocation due at 1_005, two tokens and one revocation live until 2_000.
fn fill(store: &FjallStore) {
    for i in 0..3 {
        wait(store.put_opaque_token(&digest(i), &token("acme", "old", 1_005))).unwrap();
    }
    for i in 10..12 {
        wait(store.put_opaque_token(&digest(i), &token("acme", "live", 2_000))).unwrap();
    }
    wait(store.put_revocation(&revocation("acme", "old", 1_005))).unwrap();
    wait(store.put_revocation(&revocation("acme", "live", 2_000))).unwrap();
}

#[test]
fn sweep_removes_expired_records_and_their_index_entries() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        fill(&store);
        assert_eq!(store.sweep_expired().unwrap(), 0, "nothing due yet");
        assert_eq!(wait(store.jwt_status("acme", "old")).unwrap(), JwtStatus::Revoked);

        clock.set(1_005); // exp is the first instant a token is no longer valid
        assert_eq!(
            wait(store.jwt_status("acme", "old")).unwrap(),
            JwtStatus::NotRevoked,
            "expired before any sweep"
        );
        assert!(wait(store.opaque_token("acme", &digest(0))).unwrap().is_some(), "caller checks exp");
        assert_eq!(store.sweep_expired().unwrap(), 4);
        assert_eq!(store.sweep_expired().unwrap(), 0);

        for i in 0..3 {
            assert_eq!(wait(store.opaque_token("acme", &digest(i))).unwrap(), None);
        }
        for i in 10..12 {
            assert!(wait(store.opaque_token("acme", &digest(i))).unwrap().is_some());
        }
        assert_eq!(wait(store.jwt_status("acme", "live")).unwrap(), JwtStatus::Revoked);
        assert_eq!(store.revocation_count(), 1);
    }
    assert_eq!(raw_keys(dir.path(), "opaque_tokens").len(), 2);
    assert_eq!(raw_keys(dir.path(), "revocations").len(), 1);
    assert_eq!(raw_keys(dir.path(), "expiry").len(), 3);
}

#[test]
fn sweep_rounds_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let store = FjallStore::open(dir.path(), StoreOptions { sweep_batch_max: 3, ..options(&clock) }).unwrap();
    fill(&store);
    clock.set(3_000);
    let rounds: Vec<_> =
        std::iter::from_fn(|| Some(store.sweep_expired().unwrap())).take_while(|&n| n > 0).collect();
    assert_eq!(rounds, [3, 3, 1]);
    assert_eq!(store.revocation_count(), 0);
}

#[test]
fn a_record_rewritten_with_a_later_exp_survives_its_old_entry() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    {
        let store = open(dir.path(), &clock);
        wait(store.put_opaque_token(&digest(1), &token("acme", "t", 1_005))).unwrap();
        wait(store.put_opaque_token(&digest(1), &token("acme", "t", 5_000))).unwrap();
        wait(store.put_revocation(&revocation("acme", "j", 1_005))).unwrap();
        wait(store.put_revocation(&revocation("acme", "j", 5_000))).unwrap();
        // A deleted token's entry is dropped when it comes due.
        wait(store.put_opaque_token(&digest(2), &token("acme", "gone", 1_005))).unwrap();
        wait(store.delete_opaque_token("acme", &digest(2))).unwrap();
        clock.set(1_010);
        assert_eq!(store.sweep_expired().unwrap(), 3);
        assert_eq!(wait(store.opaque_token("acme", &digest(1))).unwrap().map(|t| t.exp), Some(5_000));
        assert_eq!(wait(store.jwt_status("acme", "j")).unwrap(), JwtStatus::Revoked);
    }
    assert_eq!(raw_keys(dir.path(), "expiry").len(), 2);
}

#[test]
fn the_background_sweeper_runs_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(1_000);
    let options = StoreOptions {
        sweep_interval: Some(Duration::from_millis(10)),
        sweep_batch_max: 2,
        ..options(&clock)
    };
    let store = FjallStore::open(dir.path(), options).unwrap();
    fill(&store);
    clock.set(1_500);
    // Polls for the outcome; the deadline only bounds a hung test, it asserts no speed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while (0..3).any(|i| wait(store.opaque_token("acme", &digest(i))).unwrap().is_some()) {
        assert!(Instant::now() < deadline, "sweeper never removed the expired tokens");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(wait(store.opaque_token("acme", &digest(10))).unwrap().is_some());
    store.close().unwrap();
}
