//! The by-user indexes (`Space::SessionUsers`, `Space::FamilyUsers`) for records stored before
//! those indexes existed, built once when the store opens: ending a user's sessions or revoking
//! their refresh-token families must find those records too, not only the ones written since.
//!
//! An index that holds nothing while its records' keyspace holds something was never built:
//! every write of a session, and of a family that names its end-user, writes its entry in the
//! same batch, and an entry leaves only with its record. (A keyspace of tombstones alone, which
//! name no end-user, is scanned again at each open and finds nothing to index; tombstones are
//! few.) The entries go in one batch, made durable before the writer starts, so a crash leaves
//! either the whole index or none of it, and none is built again at the next open.

use fjall::{PersistMode, Slice};
use tessera_core::model::Session;
use tessera_core::store::StoreError;

use crate::codec::{self, StoredFamily};
use crate::keys::{self, Space};
use crate::state::{Shared, io};

/// Builds whichever of the two indexes was never built; returns how many entries it wrote.
pub(crate) fn by_user_indexes(shared: &Shared) -> Result<usize, StoreError> {
    let sessions = build(shared, Space::Sessions, Space::SessionUsers, |key, value| {
        let session = codec::decode::<Session>(key, value).ok()?;
        keys::session_user_key(key, &session.auth.sub)
    })?;
    let families = build(shared, Space::RefreshFamilies, Space::FamilyUsers, |key, value| {
        let family = codec::decode::<StoredFamily>(key, value).ok()?;
        keys::family_user_key(&family.tenant, family.sub.as_deref()?, &family.family)
    })?;
    Ok(sessions + families)
}

/// Indexes every record of `records` that `entry_of` gives an entry for, if `index` is empty
/// and `records` is not. Records that do not decode are left out, as they are left in place by
/// expiry: nobody can use them.
fn build(
    shared: &Shared,
    records: Space,
    index: Space,
    entry_of: impl Fn(&[u8], &[u8]) -> Option<Vec<u8>>,
) -> Result<usize, StoreError> {
    if !shared.space(index).is_empty().map_err(io)? || shared.space(records).is_empty().map_err(io)? {
        return Ok(0);
    }
    let mut batch = shared.db.batch();
    let mut written = 0;
    for guard in shared.space(records).iter() {
        let (key, value) = guard.into_inner().map_err(io)?;
        if let Some(entry) = entry_of(&key, &value) {
            batch.insert(shared.space(index), entry, Slice::empty());
            written += 1;
        }
    }
    if written > 0 {
        batch.commit().map_err(io)?;
        shared.db.persist(PersistMode::SyncAll).map_err(io)?;
        tracing::info!(
            index = index.name(),
            entries = written,
            "built a by-user index for records stored before it"
        );
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use tessera_core::model::Authentication;

    use super::*;

    fn session(sub: &str) -> Session {
        Session {
            tenant: "acme".into(),
            auth: Authentication {
                sub: sub.into(),
                sid: "sid".into(),
                auth_time: 1_000,
                acr: None,
                amr: vec!["pwd".into()],
            },
            created_at: 1_000,
            expires_at: 2_000,
            data: None,
        }
    }

    fn family(id: &str, sub: Option<&str>) -> StoredFamily {
        StoredFamily {
            tenant: "acme".into(),
            family: id.into(),
            client_id: sub.map(|_| "web".into()),
            sub: sub.map(Into::into),
            revoked_at: if sub.is_none() { Some(1_000) } else { None },
            expires_at: 2_000,
        }
    }

    /// Writes records as a store without the by-user indexes left them: no entries.
    fn put_raw(shared: &Shared, sessions: &[(u8, &str)], families: &[StoredFamily]) {
        for (n, sub) in sessions {
            let key = keys::scoped_key("acme", &[*n; 32]).unwrap();
            let value = codec::encode(&key, &session(sub)).unwrap();
            shared.space(Space::Sessions).insert(key, value).unwrap();
        }
        for f in families {
            let key = keys::family_key(&f.tenant, &f.family).unwrap();
            shared
                .space(Space::RefreshFamilies)
                .insert(key.clone(), codec::encode(&key, f).unwrap())
                .unwrap();
        }
    }

    fn index(shared: &Shared, space: Space) -> Vec<Vec<u8>> {
        shared.space(space).iter().map(|g| g.key().unwrap().to_vec()).collect()
    }

    #[test]
    fn records_stored_before_the_indexes_are_indexed_once() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared::for_tests(dir.path());
        assert_eq!(by_user_indexes(&shared).unwrap(), 0, "nothing stored, nothing to build");
        put_raw(&shared, &[(1, "u1"), (2, "u2")], &[family("fam-1", Some("u1")), family("dead", None)]);

        assert_eq!(by_user_indexes(&shared).unwrap(), 3);
        let session_key = |n: u8| keys::scoped_key("acme", &[n; 32]).unwrap();
        assert_eq!(
            index(&shared, Space::SessionUsers),
            [
                keys::session_user_key(&session_key(1), "u1").unwrap(),
                keys::session_user_key(&session_key(2), "u2").unwrap()
            ]
        );
        // A tombstone names no end-user: only the live family is indexed.
        assert_eq!(
            index(&shared, Space::FamilyUsers),
            [keys::family_user_key("acme", "u1", "fam-1").unwrap()]
        );

        // Built once: an index with entries is kept by every write from then on.
        put_raw(&shared, &[(3, "u3")], &[]);
        assert_eq!(by_user_indexes(&shared).unwrap(), 0);
        assert_eq!(index(&shared, Space::SessionUsers).len(), 2);
    }
}
