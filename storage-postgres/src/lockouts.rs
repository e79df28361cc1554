//! [`LockoutStore`] for [`PgStore`]: a lockout is a row keyed by its tenant and the bytes
//! fjall keys it by (limit, address, username), replaced in place by a newer lockout of the
//! same key, deleted by expiry once its `until` has passed and with its tenant.

use tessera_core::model::{Lockout, UnixSecs};
use tessera_core::store::{Commit, LockoutStore, Read, failed_commit};
use tessera_storage::encoding::{Encoded, key};

use crate::error::PgError;
use crate::sql::{encode, execute};
use crate::store::PgStore;

impl LockoutStore for PgStore {
    fn put_lockout(&self, lockout: &Lockout) -> Commit {
        let lkey = key::lockout(lockout);
        let record = match encode(lkey.clone(), lockout, "lockout") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let (tenant, until) = (lockout.tenant.clone(), lockout.until);
        // `encode` refused a lockout without a key, so there is one.
        let lkey = lkey.unwrap_or_default();
        self.write(move |db| async move {
            let sql = "INSERT INTO lockouts (tenant, lkey, exp, record) VALUES ($1, $2, $3, $4)
                       ON CONFLICT (tenant, lkey) DO UPDATE SET exp = EXCLUDED.exp, record = EXCLUDED.record";
            execute(&db, sql, &[&tenant, &lkey, &until, &record], &[]).await?;
            Ok(((), Vec::new()))
        })
    }

    fn live_lockouts(&self, now: UnixSecs) -> Read<Vec<Lockout>> {
        self.read(move |db| async move {
            let client = db.client().await?;
            let statement = client.prepare_cached("SELECT record, lkey FROM lockouts WHERE exp > $1").await?;
            let rows = client.query(&statement, &[&now]).await?;
            let mut live = Vec::with_capacity(rows.len());
            for row in &rows {
                let lkey: Vec<u8> = row.get(1);
                let lockout = Lockout::decode(&lkey, row.get(0)).map_err(PgError::from)?;
                if lockout.is_live(now) {
                    live.push(lockout);
                }
            }
            Ok(live)
        })
    }
}
