//! The few shapes every query takes, so each trait method is its SQL and its keys: a record
//! read by its key, a list of a tenant's records, a write in a transaction that records its
//! changes. Records are stored as `tessera_storage`'s encoding (`Encoded`), checked against
//! the fjall key of their ids on the way in and out, so a row under the wrong ids is corrupt
//! here exactly as it would be there.

use tessera_core::changes::Change;
use tessera_core::store::StoreError;
use tessera_storage::encoding::Encoded;
use tokio_postgres::types::ToSql;

use crate::db::Inner;
use crate::error::PgError;

/// Query parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Whether `name` can be bound as SQL text: PostgreSQL's text holds no NUL, and no record's
/// id has one, so such an id reads as absent.
pub(crate) fn bindable(name: &str) -> bool {
    !name.contains('\0')
}

/// The record in the first column of the row `sql` selects, if any, checked against `key`.
pub(crate) async fn fetch<T: Encoded>(
    inner: &Inner,
    sql: &str,
    params: Params<'_>,
    key: &[u8],
) -> Result<Option<T>, PgError> {
    let client = inner.client().await?;
    let statement = client.prepare_cached(sql).await?;
    match client.query_opt(&statement, params).await? {
        Some(row) => Ok(Some(T::decode(key, row.get(0))?)),
        None => Ok(None),
    }
}

/// Every record `sql` selects (the record first, its name second), each checked against
/// `key_of(name)`, in the order of the query.
pub(crate) async fn fetch_all<T: Encoded>(
    inner: &Inner,
    sql: &str,
    params: Params<'_>,
    key_of: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<T>, PgError> {
    let client = inner.client().await?;
    let statement = client.prepare_cached(sql).await?;
    let rows = client.query(&statement, params).await?;
    rows.iter().map(|row| decode_row(row, &key_of)).collect()
}

/// The record of a row whose first column is the record and second its name.
pub(crate) fn decode_row<T: Encoded>(
    row: &tokio_postgres::Row,
    key_of: &impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<T, PgError> {
    let name: &str = row.get(1);
    let key = key_of(name).ok_or_else(|| StoreError::Corrupt {
        key: name.to_owned(),
        detail: "a row's id is not a valid id".to_owned(),
    })?;
    Ok(T::decode(&key, row.get(0))?)
}

/// Runs one statement in a transaction that also records `changes`; returns the rows it
/// affected.
pub(crate) async fn execute(
    inner: &Inner,
    sql: &str,
    params: Params<'_>,
    changes: &[Change],
) -> Result<u64, PgError> {
    let mut client = inner.client().await?;
    if changes.is_empty() {
        let statement = client.prepare_cached(sql).await?;
        return Ok(client.execute(&statement, params).await?);
    }
    let tx = client.transaction().await?;
    let statement = tx.prepare_cached(sql).await?;
    let affected = tx.execute(&statement, params).await?;
    inner.record(&tx, changes).await?;
    tx.commit().await?;
    Ok(affected)
}

/// Encodes `record` for `key`, or says the ids cannot be keyed.
pub(crate) fn encode<T: Encoded>(
    key: Option<Vec<u8>>,
    record: &T,
    what: &str,
) -> Result<Vec<u8>, StoreError> {
    let key = key.ok_or_else(|| crate::error::invalid(what))?;
    record.encode(&key)
}

/// Holds `tenant`'s row for the rest of `tx` (shared: creates under one tenant do not wait for
/// each other, only for its deletion); false if the tenant is not stored.
pub(crate) async fn lock_tenant(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    exclusive: bool,
) -> Result<bool, PgError> {
    let sql = if exclusive {
        "SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT 1 FROM tenants WHERE id = $1 FOR SHARE"
    };
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&statement, &[&tenant]).await?.is_some())
}
