//! Expiry: rows past their `exp` (by the store's clock) deleted in bounded batches, audit
//! events past their tenant's retention, and change rows past the feed's retention. One
//! round deletes at most `sweep_batch_max` rows of each table, each batch one short statement
//! (`DELETE ... WHERE key IN (SELECT ... LIMIT n)`, which PostgreSQL and CockroachDB both
//! take), so expiry never holds many locks for long. The background task runs a round every
//! `sweep_interval`; `PgStore::expire` runs rounds until one finds nothing.

use tessera_core::model::{Tenant, event_id_floor};
use tessera_core::store::StoreError;
use tessera_storage::Clock;
use tessera_storage::encoding::key;

use crate::db::Inner;
use crate::error::PgError;
use crate::sql;

/// Each expiring table and its primary key's second column.
const EXPIRING: [(&str, &str); 8] = [
    ("opaque_tokens", "digest"),
    ("revocations", "jti"),
    ("codes", "digest"),
    ("sessions", "digest"),
    ("refresh_tokens", "digest"),
    ("refresh_families", "family"),
    ("lockouts", "lkey"),
    ("used_assertions", "digest"),
];

/// One round; returns how many rows it deleted.
pub(crate) async fn sweep_round(inner: &Inner) -> Result<u64, StoreError> {
    round(inner).await.map_err(StoreError::from)
}

async fn round(inner: &Inner) -> Result<u64, PgError> {
    let now = inner.now();
    let max = inner.options.sweep_batch_max.max(1);
    let client = inner.client().await?;
    let mut deleted = 0;
    for (table, name) in EXPIRING {
        let sql = format!(
            "DELETE FROM {table} WHERE (tenant, {name}) IN
                 (SELECT tenant, {name} FROM {table} WHERE exp <= $1 LIMIT $2)"
        );
        let statement = client.prepare_cached(&sql).await?;
        deleted += client.execute(&statement, &[&now, &max]).await?;
    }
    let rows = client.query("SELECT record, id FROM tenants", &[]).await?;
    let prune = client
        .prepare_cached(
            "DELETE FROM events WHERE (tenant, id) IN
                 (SELECT tenant, id FROM events WHERE tenant = $1 AND id < $2 LIMIT $3)",
        )
        .await?;
    for row in &rows {
        // A tenant that does not decode keeps its events: readers report it as corrupt.
        let Ok(tenant) = sql::decode_row::<Tenant>(row, &key::tenant) else { continue };
        let kept_from = tenant.settings.audit_kept_from(now).saturating_mul(1000);
        deleted += client.execute(&prune, &[&tenant.id, &event_id_floor(kept_from), &max]).await?;
    }
    // Change rows are for other nodes' followers, which read them within moments: kept by
    // the system clock, whatever clock the store's decisions run on.
    let retention = i64::try_from(inner.options.change_retention.as_secs()).unwrap_or(i64::MAX);
    let before = Clock::system().now().saturating_sub(retention);
    let changes = client
        .prepare_cached("DELETE FROM changes WHERE seq IN (SELECT seq FROM changes WHERE at < $1 LIMIT $2)")
        .await?;
    deleted += client.execute(&changes, &[&before, &max]).await?;
    Ok(deleted)
}
