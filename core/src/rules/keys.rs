//! Signing keys: which key of a tenant is current for an algorithm, and what a rotation (or the
//! creation of a tenant's first key of an algorithm) writes.
//!
//! A backend reads whether the tenant exists and every key record of the tenant, calls
//! [`rotate`] and applies the [`KeyWrite`]s in the same atomic step, so of concurrent rotations
//! that saw the same current key exactly one succeeds and the tenant never has two current keys
//! of one algorithm, however many processes share the store. The key ring uses [`current`] to
//! read the records the same way.

use crate::model::{KeyRecord, SigningAlg, UnixSecs};

/// The current key of `alg` among a tenant's records: the newest unretired key of that
/// algorithm (latest `created_at`, then greatest `kid`), if any. The tie-break makes the answer
/// independent of the order the records were listed in; [`rotate`] leaves one unretired key per
/// algorithm, so it only matters for records written before rotations were conditional.
pub fn current(records: &[KeyRecord], alg: SigningAlg) -> Option<&KeyRecord> {
    records
        .iter()
        .filter(|r| r.alg == alg && r.retired_at.is_none())
        .max_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.kid.cmp(&b.kid)))
}

/// A write a rotation asks of the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyWrite {
    /// Store the key the request brings: the new current key of its algorithm.
    PutNew,
    /// Replace a stored key with this copy of it, retired.
    Retire(KeyRecord),
}

/// Why a rotation is refused, writing nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The tenant is not stored (never created, or deleted meanwhile): its keys would outlive
    /// it. A race the caller lost, or a caller's bug.
    #[error("tenant {0} does not exist")]
    NoTenant(String),
    /// The current key is not the one the caller saw: another rotation (or first key) came
    /// first. A race the caller lost; the winner's key is current.
    #[error("the current {} key of tenant {tenant} is {}, not {}", .alg.as_str(), shown(.found), shown(.expected))]
    NotCurrent {
        /// The tenant.
        tenant: String,
        /// The algorithm.
        alg: SigningAlg,
        /// The kid the caller expected to be current (`None`: no current key).
        expected: Option<String>,
        /// The kid that is current.
        found: Option<String>,
    },
    /// A key with the new key's kid is stored already (the same rotation retried after an
    /// answer was lost, say): nothing is replaced.
    #[error("key {0} exists")]
    KidTaken(String),
    /// The new key is retired or expires: a caller's bug, not a key that can be current.
    #[error("a new key must be unretired and without expiry")]
    NotNew,
}

fn shown(kid: &Option<String>) -> &str {
    kid.as_deref().unwrap_or("none")
}

/// Makes `new` the current key of its algorithm for its tenant, given whether the tenant exists
/// and its stored keys (`stored`, in any order), if the current key of that algorithm is
/// `expected_current` (`None`: the tenant has none, so `new` is its first). Every unretired key
/// of the algorithm is retired as of `new.created_at` and stays published until
/// `retired_expires_at` (or later, if it already was to); then `new` is stored. Keys of other
/// algorithms and retired keys are untouched.
pub fn rotate(
    tenant_exists: bool,
    stored: &[KeyRecord],
    new: &KeyRecord,
    expected_current: Option<&str>,
    retired_expires_at: UnixSecs,
) -> Result<Vec<KeyWrite>, Refused> {
    if new.retired_at.is_some() || new.expires_at.is_some() {
        return Err(Refused::NotNew);
    }
    if !tenant_exists {
        return Err(Refused::NoTenant(new.tenant.clone()));
    }
    // The backend reads by the new key's tenant; anything else is not this tenant's.
    let stored: Vec<KeyRecord> = stored.iter().filter(|r| r.tenant == new.tenant).cloned().collect();
    if stored.iter().any(|r| r.kid == new.kid) {
        return Err(Refused::KidTaken(new.kid.clone()));
    }
    let found = current(&stored, new.alg).map(|r| r.kid.as_str());
    if found != expected_current {
        return Err(Refused::NotCurrent {
            tenant: new.tenant.clone(),
            alg: new.alg,
            expected: expected_current.map(str::to_owned),
            found: found.map(str::to_owned),
        });
    }
    let mut writes: Vec<KeyWrite> = stored
        .into_iter()
        .filter(|r| r.alg == new.alg && r.retired_at.is_none())
        .map(|old| {
            // Never shortens how long a key stays published: tokens it signed may still be live.
            let expires_at = old.expires_at.map_or(retired_expires_at, |e| e.max(retired_expires_at));
            KeyWrite::Retire(KeyRecord {
                retired_at: Some(new.created_at),
                expires_at: Some(expires_at),
                ..old
            })
        })
        .collect();
    writes.push(KeyWrite::PutNew);
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KeyMaterial;

    const NOW: UnixSecs = 1_700_000_000;
    const UNTIL: UnixSecs = NOW + 3_660;

    fn key(kid: &str, alg: SigningAlg, created_at: UnixSecs) -> KeyRecord {
        KeyRecord {
            tenant: "acme".into(),
            kid: kid.into(),
            alg,
            public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
            material: KeyMaterial::Software { pkcs8: vec![1, 2, 3] },
            created_at,
            retired_at: None,
            expires_at: None,
        }
    }

    fn retired(mut k: KeyRecord, at: UnixSecs, until: UnixSecs) -> KeyRecord {
        k.retired_at = Some(at);
        k.expires_at = Some(until);
        k
    }

    fn kid(k: Option<&KeyRecord>) -> Option<&str> {
        k.map(|k| k.kid.as_str())
    }

    #[test]
    fn the_current_key_is_the_newest_unretired_one_of_its_algorithm() {
        let records = vec![
            key("old", SigningAlg::ES384, NOW - 20),
            key("new", SigningAlg::ES384, NOW - 10),
            retired(key("newer-but-retired", SigningAlg::ES384, NOW - 5), NOW - 1, UNTIL),
            key("rsa", SigningAlg::RS256, NOW - 30),
        ];
        assert_eq!(kid(current(&records, SigningAlg::ES384)), Some("new"));
        assert_eq!(kid(current(&records, SigningAlg::RS256)), Some("rsa"));
        assert_eq!(kid(current(&records, SigningAlg::EdDSA)), None);
        // Listing order does not matter; a tie in time goes to the greater kid.
        let mut reversed = records.clone();
        reversed.reverse();
        assert_eq!(kid(current(&reversed, SigningAlg::ES384)), Some("new"));
        let tied = [key("b", SigningAlg::ES256, NOW), key("a", SigningAlg::ES256, NOW)];
        assert_eq!(kid(current(&tied, SigningAlg::ES256)), Some("b"));
        assert_eq!(kid(current(&[], SigningAlg::ES256)), None);
    }

    #[test]
    fn a_first_key_is_stored_when_none_was_expected_and_none_is_current() {
        let stored = [retired(key("gone", SigningAlg::ES384, NOW - 99), NOW - 50, NOW + 10)];
        let new = key("k1", SigningAlg::ES384, NOW);
        assert_eq!(rotate(true, &stored, &new, None, UNTIL), Ok(vec![KeyWrite::PutNew]));
        // A current key of another algorithm is no obstacle, and is left alone.
        let other = [key("rsa", SigningAlg::RS256, NOW - 1)];
        assert_eq!(rotate(true, &other, &new, None, UNTIL), Ok(vec![KeyWrite::PutNew]));
    }

    #[test]
    fn a_rotation_retires_the_expected_current_key_and_stores_the_new_one() {
        let old = key("k1", SigningAlg::ES384, NOW - 100);
        let rsa = key("rsa", SigningAlg::RS256, NOW - 100);
        let stored = [old.clone(), rsa];
        let new = key("k2", SigningAlg::ES384, NOW);
        let writes = rotate(true, &stored, &new, Some("k1"), UNTIL);
        assert_eq!(writes, Ok(vec![KeyWrite::Retire(retired(old, NOW, UNTIL)), KeyWrite::PutNew]));
        // After the writes the new key is the only current ES384 key.
        let after = [retired(key("k1", SigningAlg::ES384, NOW - 100), NOW, UNTIL), new.clone()];
        assert_eq!(kid(current(&after, SigningAlg::ES384)), Some("k2"));
    }

    #[test]
    fn a_stale_expectation_is_refused() {
        let stored = [
            retired(key("k1", SigningAlg::ES384, NOW - 100), NOW - 50, UNTIL),
            key("k2", SigningAlg::ES384, NOW - 50),
        ];
        let new = key("k3", SigningAlg::ES384, NOW);
        let refused = |expected: Option<&str>| Refused::NotCurrent {
            tenant: "acme".into(),
            alg: SigningAlg::ES384,
            expected: expected.map(str::to_owned),
            found: Some("k2".into()),
        };
        // Another process rotated k1 away first; or made the first key meanwhile.
        assert_eq!(rotate(true, &stored, &new, Some("k1"), UNTIL), Err(refused(Some("k1"))));
        assert_eq!(rotate(true, &stored, &new, None, UNTIL), Err(refused(None)));
        assert_eq!(refused(None).to_string(), "the current ES384 key of tenant acme is k2, not none");
        // Expecting a key when there is none is stale too.
        let none = rotate(true, &[], &new, Some("k2"), UNTIL);
        assert!(matches!(none, Err(Refused::NotCurrent { found: None, .. })), "{none:?}");
    }

    #[test]
    fn a_missing_tenant_refuses_even_a_first_key() {
        let new = key("k1", SigningAlg::ES384, NOW);
        assert_eq!(rotate(false, &[], &new, None, UNTIL), Err(Refused::NoTenant("acme".into())));
    }

    #[test]
    fn a_stored_kid_is_not_replaced() {
        let stored = [key("k1", SigningAlg::ES384, NOW - 100)];
        // The same rotation again (its first answer lost): the kid is taken, k1 stays as it is.
        let again = key("k1", SigningAlg::ES384, NOW - 100);
        assert_eq!(rotate(true, &stored, &again, Some("k1"), UNTIL), Err(Refused::KidTaken("k1".into())));
    }

    #[test]
    fn a_retired_or_expiring_new_key_is_refused() {
        let stored = [key("k1", SigningAlg::ES384, NOW - 100)];
        let mut new = key("k2", SigningAlg::ES384, NOW);
        new.expires_at = Some(UNTIL);
        assert_eq!(rotate(true, &stored, &new, Some("k1"), UNTIL), Err(Refused::NotNew));
        let new = retired(key("k2", SigningAlg::ES384, NOW), NOW, UNTIL);
        assert_eq!(rotate(true, &stored, &new, Some("k1"), UNTIL), Err(Refused::NotNew));
    }

    #[test]
    fn every_unretired_key_of_the_algorithm_is_retired_and_none_is_cut_short() {
        // Two unretired ES384 keys, as racing rotations left them before they were conditional;
        // one was to stay published past the new retirement's end already.
        let mut lingering = key("k0", SigningAlg::ES384, NOW - 200);
        lingering.expires_at = Some(UNTIL + 500);
        let current_key = key("k1", SigningAlg::ES384, NOW - 100);
        let stored = [lingering.clone(), current_key.clone(), key("ed", SigningAlg::EdDSA, NOW - 100)];
        let new = key("k2", SigningAlg::ES384, NOW);
        let writes = rotate(true, &stored, &new, Some("k1"), UNTIL);
        assert_eq!(
            writes,
            Ok(vec![
                KeyWrite::Retire(retired(lingering, NOW, UNTIL + 500)),
                KeyWrite::Retire(retired(current_key, NOW, UNTIL)),
                KeyWrite::PutNew,
            ])
        );
    }

    #[test]
    fn records_of_another_tenant_are_ignored() {
        let mut foreign = key("k1", SigningAlg::ES384, NOW - 100);
        foreign.tenant = "globex".into();
        let new = key("k2", SigningAlg::ES384, NOW);
        assert_eq!(rotate(true, &[foreign], &new, None, UNTIL), Ok(vec![KeyWrite::PutNew]));
    }
}
