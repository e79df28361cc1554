//! Authorization codes and refresh tokens over PostgreSQL: the decisions that must be made
//! once, made in the database. Each runs in one short transaction that locks the rows it
//! decides on (`SELECT ... FOR UPDATE`), applies the same function of
//! `tessera_core::rules` the fjall writer applies, and writes what it decided. A concurrent
//! decision on the same row waits for the lock and then reads the row as the first left it
//! (READ COMMITTED re-reads a locked row's latest version), so of concurrent takes of a code
//! exactly one is fresh, and of concurrent uses of a refresh token exactly one rotates.
//!
//! A family that does not exist yet has no row to lock: two writers that both found none (a
//! first token founding it, a revocation leaving a tombstone) race on its primary key. The
//! insert of the new family is `ON CONFLICT DO NOTHING`; the loser of the race decides again,
//! now finding the winner's row and locking it.

use std::future::ready;

use tessera_core::model::{Code, RefreshToken, UnixSecs};
use tessera_core::rules::code::{self, CodeWrite, StoredCode};
use tessera_core::rules::refresh::{self, Presentation, RefreshWrite, Refused, StoredFamily};
use tessera_core::store::{
    CodeStore, CodeTaken, Commit, FamilyStatus, FoundRefresh, Read, RefreshStore, RefreshUse, StoreError,
    TakeCode, UseRefresh, failed_commit,
};
use tessera_storage::encoding::{Encoded, key};

use crate::error::{PgError, conflict};
use crate::sql::{encode, fetch, fetch_all};
use crate::store::PgStore;

type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// How often a decision on a family is made again after losing the race to create it.
const FAMILY_RACE_RETRIES: usize = 3;

/// Whether a write of a family lost the race to create it.
enum Applied {
    Done,
    LostRace,
}

async fn locked_family(tx: &Tx<'_>, tenant: &str, family: &str) -> Result<Option<StoredFamily>, PgError> {
    let Some(k) = key::family(tenant, family) else { return Ok(None) };
    let statement = tx
        .prepare_cached("SELECT record FROM refresh_families WHERE tenant = $1 AND family = $2 FOR UPDATE")
        .await?;
    match tx.query_opt(&statement, &[&tenant, &family]).await? {
        Some(row) => Ok(Some(StoredFamily::decode(&k, row.get(0))?)),
        None => Ok(None),
    }
}

/// Writes a family record: an update of the row found, or the insert of a new one.
async fn put_family(tx: &Tx<'_>, record: &StoredFamily, found: bool) -> Result<Applied, PgError> {
    let bytes = encode(key::family(&record.tenant, &record.family), record, "refresh-token family")?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
        &record.tenant,
        &record.family,
        &record.sub,
        &record.expires_at,
        &record.revoked_at.is_some(),
        &bytes,
    ];
    if found {
        let sql = "UPDATE refresh_families SET sub = $3, exp = $4, revoked = $5, record = $6
                   WHERE tenant = $1 AND family = $2";
        tx.execute(sql, &params).await?;
        return Ok(Applied::Done);
    }
    let sql = "INSERT INTO refresh_families (tenant, family, sub, exp, revoked, record)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, family) DO NOTHING";
    Ok(if tx.execute(sql, &params).await? == 0 { Applied::LostRace } else { Applied::Done })
}

async fn put_token(tx: &Tx<'_>, digest: &[u8], token: &RefreshToken) -> Result<(), PgError> {
    let bytes = encode(key::scoped(&token.tenant, digest), token, "refresh token")?;
    let sql = "INSERT INTO refresh_tokens (tenant, digest, family, exp, rotated, record) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant, digest) DO UPDATE SET family = excluded.family, exp = excluded.exp,
                   rotated = excluded.rotated, record = excluded.record";
    let statement = tx.prepare_cached(sql).await?;
    let rotated = token.rotated_at.is_some();
    tx.execute(&statement, &[&token.tenant, &digest, &token.family, &token.expires_at, &rotated, &bytes])
        .await?;
    Ok(())
}

/// Applies a rule's writes: `new` is the token `PutNew` stores, `presented` the digest
/// `MarkRotated` rewrites.
async fn apply(
    tx: &Tx<'_>,
    writes: Vec<RefreshWrite>,
    new: Option<(&[u8], &RefreshToken)>,
    presented: &[u8],
    family_found: bool,
) -> Result<Applied, PgError> {
    for write in writes {
        match write {
            RefreshWrite::PutNew => {
                if let Some((digest, token)) = new {
                    put_token(tx, digest, token).await?;
                }
            }
            RefreshWrite::MarkRotated(rotated) => put_token(tx, presented, &rotated).await?,
            RefreshWrite::PutFamily { family, .. } => {
                if let Applied::LostRace = put_family(tx, &family, family_found).await? {
                    return Ok(Applied::LostRace);
                }
            }
        }
    }
    Ok(Applied::Done)
}

fn refusal(refused: &Refused, tenant: &str) -> PgError {
    match refused {
        Refused::FamilyRevoked => conflict(refused.to_string()),
        Refused::FamilyOfAnotherClient | Refused::SuccessorOfAnotherFamily | Refused::SuccessorNotNew => {
            PgError::Refused(StoreError::Corrupt {
                key: format!("refresh_tokens:{tenant}/?"),
                detail: format!("refusing to write: {refused}"),
            })
        }
    }
}

impl CodeStore for PgStore {
    fn put_code(&self, digest: &[u8; 32], code: &Code) -> Commit {
        let stored = StoredCode { used: false, code: code.clone() };
        let record = match encode(key::scoped(&code.tenant, digest), &stored, "authorization code") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let (tenant, digest, exp) = (code.tenant.clone(), digest.to_vec(), code.expires_at);
        self.write(move |db| async move {
            let sql = "INSERT INTO codes (tenant, digest, exp, used, record) VALUES ($1, $2, $3, false, $4)
                       ON CONFLICT (tenant, digest) DO UPDATE SET exp = excluded.exp, used = false, record = excluded.record";
            crate::sql::execute(&db, sql, &[&tenant, &digest, &exp, &record], &[]).await?;
            Ok(((), Vec::new()))
        })
    }

    fn take_code(&self, tenant: &str, digest: &[u8; 32]) -> TakeCode {
        let Some(k) = key::scoped(tenant, digest) else { return Box::pin(ready(Ok(CodeTaken::Unknown))) };
        let (tenant, digest) = (tenant.to_owned(), digest.to_vec());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            let select = tx
                .prepare_cached("SELECT record FROM codes WHERE tenant = $1 AND digest = $2 FOR UPDATE")
                .await?;
            let stored = match tx.query_opt(&select, &[&tenant, &digest]).await? {
                Some(row) => Some(StoredCode::decode(&k, row.get(0))?),
                None => None,
            };
            let decision = code::take(stored, db.now());
            if let Some(CodeWrite::MarkUsed(used)) = decision.write {
                let bytes = used.encode(&k)?;
                let mark = tx
                    .prepare_cached(
                        "UPDATE codes SET used = true, record = $3 WHERE tenant = $1 AND digest = $2",
                    )
                    .await?;
                tx.execute(&mark, &[&tenant, &digest, &bytes]).await?;
                tx.commit().await?;
            }
            Ok((decision.outcome, Vec::new()))
        })
    }
}

impl RefreshStore for PgStore {
    fn put_refresh_token(&self, digest: &[u8; 32], token: &RefreshToken) -> Commit {
        if let Err(err) = encode(key::scoped(&token.tenant, digest), token, "refresh token") {
            return failed_commit(err);
        }
        if key::family(&token.tenant, &token.family).is_none() {
            return failed_commit(crate::error::invalid("refresh-token family"));
        }
        let (digest, token) = (digest.to_vec(), token.clone());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            for _ in 0..FAMILY_RACE_RETRIES {
                let tx = client.transaction().await?;
                let family = locked_family(&tx, &token.tenant, &token.family).await?;
                let found = family.is_some();
                let decision =
                    refresh::first_token(&token, family).map_err(|r| refusal(&r, &token.tenant))?;
                if let Applied::Done =
                    apply(&tx, decision.writes, Some((&digest, &token)), &[], found).await?
                {
                    tx.commit().await?;
                    return Ok(((), Vec::new()));
                }
            }
            Err(conflict("the refresh-token family was written concurrently; try again"))
        })
    }

    fn refresh_token(&self, tenant: &str, digest: &[u8; 32], now: UnixSecs) -> Read<Option<FoundRefresh>> {
        let Some(k) = key::scoped(tenant, digest) else { return Read::ready(Ok(None)) };
        let (tenant, digest) = (tenant.to_owned(), digest.to_vec());
        self.read(move |db| async move {
            let sql = "SELECT record FROM refresh_tokens WHERE tenant = $1 AND digest = $2";
            let token: Option<RefreshToken> = fetch(&db, sql, &[&tenant, &digest], &k).await?;
            let Some(token) = token.filter(|t| refresh::is_usable(t, now)) else { return Ok(None) };
            let family: Option<StoredFamily> = match key::family(&tenant, &token.family) {
                Some(fk) => {
                    let sql = "SELECT record FROM refresh_families WHERE tenant = $1 AND family = $2";
                    fetch(&db, sql, &[&tenant, &token.family], &fk).await?
                }
                None => None,
            };
            let family = if refresh::is_revoked(family.as_ref(), now) {
                FamilyStatus::Revoked
            } else {
                FamilyStatus::Live
            };
            Ok(Some(FoundRefresh { token, family }))
        })
    }

    fn use_refresh_token(
        &self,
        tenant: &str,
        digest: &[u8; 32],
        next_digest: &[u8; 32],
        next: &RefreshToken,
        now: UnixSecs,
        grace_secs: u32,
    ) -> UseRefresh {
        let (Some(k), Some(next_key)) = (key::scoped(tenant, digest), key::scoped(tenant, next_digest))
        else {
            return Box::pin(ready(Ok(RefreshUse::Unknown)));
        };
        if let Err(err) = next.encode(&next_key) {
            return Box::pin(ready(Err(err)));
        }
        let (tenant, digest, next_digest, next) = (tenant.to_owned(), *digest, *next_digest, next.clone());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            // The presented token's row first, then its family's: every use takes them in
            // this order, and nothing locks a token while holding its family.
            let select = tx
                .prepare_cached(
                    "SELECT record FROM refresh_tokens WHERE tenant = $1 AND digest = $2 FOR UPDATE",
                )
                .await?;
            let token = match tx.query_opt(&select, &[&tenant, &digest.as_slice()]).await? {
                Some(row) => Some(RefreshToken::decode(&k, row.get(0))?),
                None => None,
            };
            let family = match token.as_ref().filter(|t| refresh::is_usable(t, now)) {
                Some(usable) => locked_family(&tx, &tenant, &usable.family).await?,
                None => None,
            };
            let found = family.is_some();
            let presented = Presentation {
                digest: &digest,
                token,
                family,
                successor_digest: &next_digest,
                successor: &next,
                now,
                grace_secs,
            };
            let decision = refresh::use_token(presented).map_err(|r| refusal(&r, &tenant))?;
            // Every write here updates a family that was found (a use needs a live one).
            apply(&tx, decision.writes, Some((&next_digest, &next)), &digest, found).await?;
            tx.commit().await?;
            Ok((decision.outcome, Vec::new()))
        })
    }

    fn revoke_refresh_family(&self, tenant: &str, family: &str, until: UnixSecs) -> Commit {
        if key::family(tenant, family).is_none() {
            return Box::pin(ready(Ok(())));
        }
        let (tenant, family) = (tenant.to_owned(), family.to_owned());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            for _ in 0..FAMILY_RACE_RETRIES {
                let tx = client.transaction().await?;
                let stored = locked_family(&tx, &tenant, &family).await?;
                let found = stored.is_some();
                let decision = refresh::revoke(stored, (&tenant, &family), until, db.now());
                if let Applied::Done = apply(&tx, decision.writes, None, &[], found).await? {
                    tx.commit().await?;
                    return Ok(((), Vec::new()));
                }
            }
            Err(conflict("the refresh-token family was written concurrently; try again"))
        })
    }

    fn revoke_families_of_user(&self, tenant: &str, sub: &str, until: UnixSecs) -> Commit {
        // No id names such a user, so none of its families is found by it (as in fjall).
        if key::by_id(tenant, sub).is_none() {
            return Box::pin(ready(Ok(())));
        }
        let (tenant, sub) = (tenant.to_owned(), sub.to_owned());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            // Found through the (tenant, sub) index: bounded by this user's families.
            let rows = tx
                .query(
                    "SELECT record, family FROM refresh_families WHERE tenant = $1 AND sub = $2 ORDER BY family FOR UPDATE",
                    &[&tenant, &sub],
                )
                .await?;
            let now = db.now();
            for row in &rows {
                let family_id: &str = row.get(1);
                let stored = key::family(&tenant, family_id)
                    .map(|fk| StoredFamily::decode(&fk, row.get(0)))
                    .transpose()
                    .unwrap_or_else(|err| {
                        tracing::warn!(error = %err, "revoking a refresh-token family whose record does not decode");
                        None
                    });
                let decision = refresh::revoke(stored, (&tenant, family_id), until, now);
                apply(&tx, decision.writes, None, &[], true).await?;
            }
            tx.commit().await?;
            Ok(((), Vec::new()))
        })
    }

    fn families_of_subject(&self, tenant: &str, sub: &str, now: UnixSecs) -> Read<Vec<StoredFamily>> {
        // No id names such a subject, so no family names it (as in fjall).
        if key::by_id(tenant, sub).is_none() {
            return Read::ready(Ok(Vec::new()));
        }
        let (tenant, sub) = (tenant.to_owned(), sub.to_owned());
        self.read(move |db| async move {
            // The (tenant, sub) index bounds the work by this subject's families; `revoked`
            // and `exp` are the columns every write of the record keeps in step with it.
            // Collated "C", so `ORDER BY family` is byte order, as fjall's key order.
            let sql = "SELECT record, family FROM refresh_families
                       WHERE tenant = $1 AND sub = $2 AND NOT revoked AND exp > $3 ORDER BY family";
            let families: Vec<StoredFamily> =
                fetch_all(&db, sql, &[&tenant, &sub, &now], |family| key::family(&tenant, family)).await?;
            // The record says the same as the columns; checked again so a row whose columns
            // drifted from its record is never listed as live.
            Ok(families
                .into_iter()
                .filter(|f| f.sub.as_deref() == Some(sub.as_str()) && f.is_live(now))
                .collect())
        })
    }
}
