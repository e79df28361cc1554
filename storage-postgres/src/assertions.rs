//! [`AssertionStore`] for [`PgStore`]: a used assertion is a row keyed by its tenant and
//! digest. The first use is the one statement that inserts it (or takes over a row already
//! past its `exp`, which guards nothing): `INSERT ... ON CONFLICT ... DO UPDATE ... WHERE`
//! decides under the row's lock, so of concurrent uses on any number of nodes exactly one
//! counts a row. Deleted by expiry once past `exp`, and with its tenant.

use std::future::ready;

use tessera_core::model::{UnixSecs, UsedAssertion};
use tessera_core::store::{AssertionStore, UseAssertion};

use crate::error::invalid;
use crate::sql::execute;
use crate::store::PgStore;

impl AssertionStore for PgStore {
    fn use_assertion(&self, tenant: &str, digest: &[u8; 32], until: UnixSecs) -> UseAssertion {
        let record = UsedAssertion { tenant: tenant.to_owned(), expires_at: until };
        if record.validate().is_err() {
            return Box::pin(ready(Err(invalid("used assertion"))));
        }
        let (tenant, digest) = (record.tenant, digest.to_vec());
        self.write(move |db| async move {
            let now = db.now();
            let sql = "INSERT INTO used_assertions (tenant, digest, exp) VALUES ($1, $2, $3)
                       ON CONFLICT (tenant, digest) DO UPDATE SET exp = EXCLUDED.exp
                       WHERE used_assertions.exp <= $4";
            let counted = execute(&db, sql, &[&tenant, &digest, &until, &now], &[]).await?;
            Ok((counted == 1, Vec::new()))
        })
    }
}
