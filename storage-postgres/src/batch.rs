//! Group commit of the two writes every token request may make: opaque tokens and JWT
//! revocations. Each write is queued; [`WORKERS`] tasks each take what is queued (up to
//! [`MAX_BATCH`]) and write it as one statement per table (`INSERT ... SELECT FROM UNNEST`) in
//! one transaction, so under load the database commits once for many requests instead of once
//! per request, and at low load a write goes out at once (a worker waiting for work takes the
//! first write alone). Every write of a batch gets the batch's answer: all committed, or none.
//!
//! Within one batch a key written twice keeps its last value (one statement may not touch a
//! row twice); rows are sorted by key so two batches lock rows in the same order.

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_core::changes::{Change, ChangeKind};
use tessera_core::store::StoreError;
use tokio::sync::{Mutex, mpsc, oneshot};

use deadpool_postgres::Pool;
use tessera_storage::Clock;

use crate::error::PgError;

/// Tasks writing batches at once: enough that one slow commit does not hold up every write.
const WORKERS: usize = 4;
/// Most writes in one batch.
const MAX_BATCH: usize = 512;
/// Writes queued at most before a write waits for room.
const QUEUE: usize = 8_192;

/// One queued row.
pub(crate) enum Row {
    /// An opaque token: tenant, digest, expiry, record.
    Opaque { tenant: String, digest: Vec<u8>, exp: i64, record: Vec<u8> },
    /// A revoked JWT: tenant, jti, expiry, record.
    Revocation { tenant: String, jti: String, exp: i64, record: Vec<u8> },
}

struct Job {
    row: Row,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue the workers take batches from.
pub(crate) struct Batcher {
    queue: mpsc::Sender<Job>,
    taken: Arc<Mutex<mpsc::Receiver<Job>>>,
}

impl Default for Batcher {
    fn default() -> Self {
        let (queue, taken) = mpsc::channel(QUEUE);
        Self { queue, taken: Arc::new(Mutex::new(taken)) }
    }
}

impl Batcher {
    /// Starts the workers on the current runtime, writing through `pool` and recording changes
    /// as `origin`; they end when this batcher is dropped (its queue closes).
    pub(crate) fn start(&self, pool: &Pool, origin: &str) {
        for _ in 0..WORKERS {
            let (taken, pool, origin) = (Arc::clone(&self.taken), pool.clone(), origin.to_owned());
            tokio::spawn(async move {
                loop {
                    let jobs = {
                        let mut taken = taken.lock().await;
                        let Some(first) = taken.recv().await else { return };
                        let mut jobs = vec![first];
                        while jobs.len() < MAX_BATCH {
                            match taken.try_recv() {
                                Ok(job) => jobs.push(job),
                                Err(_) => break,
                            }
                        }
                        jobs
                    };
                    let answer =
                        write(&pool, &origin, jobs.iter().map(|j| &j.row)).await.map_err(StoreError::from);
                    for job in jobs {
                        let _ = job.done.send(answer.clone());
                    }
                }
            });
        }
    }

    /// Queues `row` and waits for the batch that writes it to commit.
    pub(crate) async fn submit(&self, row: Row) -> Result<(), PgError> {
        let (done, answer) = oneshot::channel();
        self.queue.send(Job { row, done }).await.map_err(|_| PgError::Refused(StoreError::Closed))?;
        answer.await.map_err(|_| PgError::Refused(StoreError::Closed))?.map_err(PgError::Refused)
    }
}

/// Writes one batch: each table's rows in one statement, the revocations' changes recorded,
/// all in one transaction; opaque tokens alone are one statement that commits itself.
async fn write<'r>(pool: &Pool, origin: &str, rows: impl Iterator<Item = &'r Row>) -> Result<(), PgError> {
    let mut opaque: OpaqueRows<'_> = BTreeMap::new();
    let mut revoked: BTreeMap<(&str, &str), (i64, &[u8])> = BTreeMap::new();
    for row in rows {
        match row {
            Row::Opaque { tenant, digest, exp, record } => {
                opaque.insert((tenant, digest), (*exp, record));
            }
            Row::Revocation { tenant, jti, exp, record } => {
                revoked.insert((tenant, jti), (*exp, record));
            }
        }
    }
    let mut client = pool.get().await?;
    if revoked.is_empty() {
        // Opaque tokens alone: one statement, which commits itself (one round trip).
        let statement = client.prepare_cached(OPAQUE_INSERT).await?;
        client.execute(&statement, &opaque_params(&opaque).as_params()).await?;
        return Ok(());
    }
    let tx = client.transaction().await?;
    if !opaque.is_empty() {
        let statement = tx.prepare_cached(OPAQUE_INSERT).await?;
        tx.execute(&statement, &opaque_params(&opaque).as_params()).await?;
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO revocations (tenant, jti, exp, record)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::bytea[])
             ON CONFLICT (tenant, jti) DO UPDATE SET exp = excluded.exp, record = excluded.record",
        )
        .await?;
    let tenants: Vec<&str> = revoked.keys().map(|(t, _)| *t).collect();
    let jtis: Vec<&str> = revoked.keys().map(|(_, j)| *j).collect();
    let exps: Vec<i64> = revoked.values().map(|(e, _)| *e).collect();
    let records: Vec<&[u8]> = revoked.values().map(|(_, r)| *r).collect();
    tx.execute(&statement, &[&tenants, &jtis, &exps, &records]).await?;
    let changes: Vec<Change> = revoked
        .keys()
        .map(|(tenant, jti)| Change {
            tenant: (*tenant).to_owned(),
            kind: ChangeKind::Revocation,
            id: (*jti).to_owned(),
        })
        .collect();
    crate::feed::record(&tx, origin, &changes, Clock::system().now()).await?;
    tx.commit().await?;
    Ok(())
}

/// Opaque rows of a batch by (tenant, digest): (expiry, record).
type OpaqueRows<'r> = BTreeMap<(&'r str, &'r [u8]), (i64, &'r [u8])>;

const OPAQUE_INSERT: &str = "INSERT INTO opaque_tokens (tenant, digest, exp, record)
     SELECT * FROM UNNEST($1::text[], $2::bytea[], $3::int8[], $4::bytea[])
     ON CONFLICT (tenant, digest) DO UPDATE SET exp = excluded.exp, record = excluded.record";

/// The opaque rows as the four arrays of [`OPAQUE_INSERT`].
struct OpaqueParams<'r> {
    tenants: Vec<&'r str>,
    digests: Vec<&'r [u8]>,
    exps: Vec<i64>,
    records: Vec<&'r [u8]>,
}

impl OpaqueParams<'_> {
    fn as_params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 4] {
        [&self.tenants, &self.digests, &self.exps, &self.records]
    }
}

fn opaque_params<'r>(rows: &OpaqueRows<'r>) -> OpaqueParams<'r> {
    OpaqueParams {
        tenants: rows.keys().map(|(t, _)| *t).collect(),
        digests: rows.keys().map(|(_, d)| *d).collect(),
        exps: rows.values().map(|(e, _)| *e).collect(),
        records: rows.values().map(|(_, r)| *r).collect(),
    }
}
