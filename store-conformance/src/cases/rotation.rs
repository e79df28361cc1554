//! Key rotation (`KeyStore::rotate_key`): a key becomes current only if the current key of its
//! algorithm is the one the caller expected (none, for a first key), and the old one is retired
//! in the same step; anything else is a `Conflict` that writes nothing. Of concurrent rotations
//! from one current key, or concurrent first keys, exactly one wins and one key is current.

use std::sync::Arc;

use tessera_core::model::{KeyRecord, SigningAlg};
use tessera_core::rules::keys::current;
use tessera_core::store::{KeyStore, StoreError, TenantStore};

use crate::Harness;
use crate::fixtures::{is_conflict, new_key, ok, retired, tenant};
use crate::harness::open_at;

const ES: SigningAlg = SigningAlg::ES384;
/// Until when a retired key stays published, in these cases.
const UNTIL: i64 = 9_000;

/// The tenant's unretired keys of `alg`: after any rotations, exactly one.
fn unretired(keys: &[KeyRecord], alg: SigningAlg) -> Vec<&str> {
    keys.iter().filter(|k| k.alg == alg && k.retired_at.is_none()).map(|k| k.kid.as_str()).collect()
}

pub(crate) async fn a_first_key_is_stored_only_while_none_is_current(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    let k1 = new_key("acme", "k1", ES, 100);
    ok(store.rotate_key(&k1, None, UNTIL), "first key").await;
    assert_eq!(store.keys("acme").await, Ok(vec![k1.clone()]));
    // A second "first" key: k1 is current now, so it is refused and nothing changes.
    let second = store.rotate_key(&new_key("acme", "k2", ES, 200), None, UNTIL).await;
    assert!(is_conflict(&second), "{second:?}");
    assert_eq!(store.keys("acme").await, Ok(vec![k1.clone()]));
    // Another algorithm has no current key yet: its first key is no conflict, and k1 stays.
    let rsa = new_key("acme", "rsa1", SigningAlg::RS256, 300);
    ok(store.rotate_key(&rsa, None, UNTIL), "first key of another algorithm").await;
    assert_eq!(store.keys("acme").await, Ok(vec![k1, rsa]));
}

pub(crate) async fn a_rotation_retires_the_expected_key_and_makes_the_new_one_current(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    let k1 = new_key("acme", "k1", ES, 100);
    let rsa = new_key("acme", "rsa1", SigningAlg::RS256, 150);
    ok(store.rotate_key(&k1, None, UNTIL), "first key").await;
    ok(store.rotate_key(&rsa, None, UNTIL), "first RS256 key").await;
    let k2 = new_key("acme", "k2", ES, 200);
    ok(store.rotate_key(&k2, Some("k1"), UNTIL), "rotate").await;
    // Retired as of the new key's creation, published until UNTIL; the RS256 key untouched.
    let keys = store.keys("acme").await.expect("list keys");
    assert_eq!(keys, vec![retired(&k1, 200, UNTIL), rsa.clone(), k2.clone()]);
    assert_eq!(current(&keys, ES), Some(&k2));
    assert_eq!(current(&keys, SigningAlg::RS256), Some(&rsa));
    let store = h.reopen(store);
    assert_eq!(store.keys("acme").await, Ok(keys));
}

pub(crate) async fn a_stale_rotation_conflicts_and_writes_nothing(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    let k1 = new_key("acme", "k1", ES, 100);
    let k2 = new_key("acme", "k2", ES, 200);
    ok(store.rotate_key(&k1, None, UNTIL), "first key").await;
    ok(store.rotate_key(&k2, Some("k1"), UNTIL), "rotate").await;
    let before = store.keys("acme").await.expect("list keys");
    // k1 was rotated away already (by another process, say): expecting it again is stale.
    let stale = store.rotate_key(&new_key("acme", "k3", ES, 300), Some("k1"), UNTIL + 1).await;
    assert!(is_conflict(&stale), "{stale:?}");
    // So is expecting a key that was never stored.
    let unknown = store.rotate_key(&new_key("acme", "k3", ES, 300), Some("nope"), UNTIL).await;
    assert!(is_conflict(&unknown), "{unknown:?}");
    // A kid that is stored is not overwritten, even when the expectation holds.
    let taken = store.rotate_key(&new_key("acme", "k1", ES, 300), Some("k2"), UNTIL).await;
    assert!(is_conflict(&taken), "{taken:?}");
    assert_eq!(store.keys("acme").await, Ok(before));
    // A key that is retired or expires cannot become current: refused as corrupt.
    let mut expiring = new_key("acme", "k4", ES, 400);
    expiring.expires_at = Some(UNTIL);
    let refused = store.rotate_key(&expiring, Some("k2"), UNTIL).await;
    assert!(matches!(refused, Err(StoreError::Corrupt { .. })), "{refused:?}");
    let refused =
        store.rotate_key(&retired(&new_key("acme", "k4", ES, 400), 400, UNTIL), Some("k2"), UNTIL).await;
    assert!(matches!(refused, Err(StoreError::Corrupt { .. })), "{refused:?}");
    let store = h.reopen(store);
    assert_eq!(unretired(&store.keys("acme").await.expect("list keys"), ES), ["k2"]);
}

pub(crate) async fn a_key_needs_a_stored_tenant(h: &impl Harness) {
    let store = open_at(h, 1_000);
    let orphan = store.rotate_key(&new_key("nobody", "k1", ES, 100), None, UNTIL).await;
    assert!(is_conflict(&orphan), "{orphan:?}");
    assert_eq!(store.keys("nobody").await, Ok(vec![]));
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    ok(store.rotate_key(&new_key("acme", "k1", ES, 100), None, UNTIL), "first key").await;
    ok(store.delete_tenant("acme"), "delete tenant").await;
    let late = store.rotate_key(&new_key("acme", "k2", ES, 200), Some("k1"), UNTIL).await;
    assert!(is_conflict(&late), "{late:?}");
    let late_first = store.rotate_key(&new_key("acme", "k3", ES, 300), None, UNTIL).await;
    assert!(is_conflict(&late_first), "{late_first:?}");
    ok(store.create_tenant(&tenant("acme")), "re-create tenant").await;
    assert_eq!(store.keys("acme").await, Ok(vec![]));
}

/// Races `n` rotations of tenant `acme`'s ES384 key from `expected`, each with a new kid
/// (`{prefix}{i}`); returns the kids that won.
async fn race<S: KeyStore + 'static>(
    store: &Arc<S>,
    n: u32,
    prefix: &str,
    expected: Option<&str>,
    at: i64,
) -> Vec<String> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = Arc::clone(store);
            let new = new_key("acme", &format!("{prefix}{i}"), ES, at);
            let expected = expected.map(str::to_owned);
            tokio::spawn(async move { (store.rotate_key(&new, expected.as_deref(), UNTIL).await, new.kid) })
        })
        .collect();
    let mut won = Vec::new();
    for task in tasks {
        match task.await.expect("the rotation task ends") {
            (Ok(()), kid) => won.push(kid),
            (Err(StoreError::Conflict(_)), _) => {}
            (Err(e), kid) => panic!("{kid}: unexpected {e:?}"),
        }
    }
    won
}

pub(crate) async fn of_concurrent_first_keys_exactly_one_wins(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    let won = race(&store, 8, "first", None, 100).await;
    assert_eq!(won.len(), 1, "{won:?}");
    let keys = store.keys("acme").await.expect("list keys");
    assert_eq!(keys.len(), 1, "the losers wrote nothing: {keys:?}");
    assert_eq!(unretired(&keys, ES), [won[0].as_str()]);
}

pub(crate) async fn of_concurrent_rotations_exactly_one_wins(h: &impl Harness) {
    let store = open_at(h, 1_000);
    ok(store.create_tenant(&tenant("acme")), "create tenant").await;
    ok(store.rotate_key(&new_key("acme", "k0", ES, 100), None, UNTIL), "first key").await;
    let mut expected = "k0".to_owned();
    for round in 1..=4 {
        let won = race(&store, 8, &format!("r{round}-"), Some(&expected), 100 + round).await;
        assert_eq!(won.len(), 1, "round {round}: {won:?}");
        let keys = store.keys("acme").await.expect("list keys");
        // One key more per round, one current, the one that won.
        assert_eq!(keys.len(), round as usize + 1, "round {round}: {keys:?}");
        assert_eq!(unretired(&keys, ES), [won[0].as_str()], "round {round}");
        assert_eq!(current(&keys, ES).map(|k| k.kid.as_str()), Some(won[0].as_str()));
        expected = won[0].clone();
    }
}
