//! [`LockoutStore`] for [`FjallStore`]: a lockout is a plain record of its tenant with an
//! entry in the expiry index, so the sweeper removes it once its `until` has passed and a
//! tenant's deletion takes it with the tenant's other records. Reading the live ones scans the
//! whole keyspace: that happens once, when a server starts, and the keyspace holds only the
//! lockouts of the last few minutes (a lockout lasts as long as its limit's window).

use tessera_core::model::{Lockout, UnixSecs};
use tessera_core::store::{Commit, LockoutStore, Read, StoreError, failed_commit};

use crate::codec;
use crate::keys::{self, Space};
use crate::state::io;
use crate::store::{FjallStore, invalid};
use crate::writer::WriteOp;

impl LockoutStore for FjallStore {
    fn put_lockout(&self, lockout: &Lockout) -> Commit {
        let Some(key) = keys::lockout_key(lockout) else {
            return failed_commit(invalid(Space::Lockouts, "lockout"));
        };
        match codec::encode(&key, lockout) {
            Ok(value) => {
                self.submit(WriteOp::Put { space: Space::Lockouts, key, value, exp: Some(lockout.until) })
            }
            Err(err) => failed_commit(err),
        }
    }

    fn live_lockouts(&self, now: UnixSecs) -> Read<Vec<Lockout>> {
        Read::ready(live(self, now))
    }
}

fn live(store: &FjallStore, now: UnixSecs) -> Result<Vec<Lockout>, StoreError> {
    let mut found = Vec::new();
    for guard in store.shared.space(Space::Lockouts).iter() {
        let (key, value) = guard.into_inner().map_err(io)?;
        let lockout: Lockout = codec::decode(&key, &value)?;
        // A tenant being deleted is already gone to every reader.
        if lockout.is_live(now) && !store.shared.is_deleting(&lockout.tenant) {
            found.push(lockout);
        }
    }
    Ok(found)
}
