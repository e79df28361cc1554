//! Audit events over PostgreSQL: appended by a task of their own, so a request path that drops
//! the returned `Commit` still gets its event written, and listed newest first by id (ids begin
//! with their time) in bounded batches fed to core's `PageBuilder`, as the fjall backend does.
//! Events waiting to be written are bounded: past the bound an event is refused as `Busy` at
//! once (the caller counts a drop) rather than queued without end.

use std::sync::atomic::{AtomicUsize, Ordering};

use tessera_core::audit::{EventPage, EventQuery, PageBuilder, Scan};
use tessera_core::model::AuditEvent;
use tessera_core::store::{Commit, EventStore, Read, StoreError};
use tessera_storage::encoding::key;

use crate::error::conflict;
use crate::sql::{self, encode, lock_tenant};
use crate::store::PgStore;

/// Most events waiting to be written at once, per store handle.
pub(crate) const MAX_QUEUED_EVENTS: usize = 4_096;

/// Events read per query while filling a page.
const LIST_BATCH: i64 = 500;

/// An event counted as waiting until it is written or refused.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl EventStore for PgStore {
    fn append_event(&self, event: &AuditEvent) -> Result<Commit, StoreError> {
        let record = encode(key::event(&event.tenant, &event.id), event, "event")?;
        let queue = &self.inner.events_queued;
        if queue.fetch_add(1, Ordering::SeqCst) >= MAX_QUEUED_EVENTS {
            queue.fetch_sub(1, Ordering::SeqCst);
            return Err(StoreError::Busy("too many audit events queued".to_owned()));
        }
        let (tenant, id) = (event.tenant.clone(), event.id.clone());
        Ok(self.write(move |db| async move {
            let _queued = Queued(&db.events_queued);
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            // Held until commit, so the event lands before a deletion of its tenant (which
            // then removes it) or is refused after it.
            if !lock_tenant(&tx, &tenant, false).await? {
                return Err(conflict("the event's tenant does not exist"));
            }
            let sql = "INSERT INTO events (tenant, id, record) VALUES ($1, $2, $3)
                       ON CONFLICT (tenant, id) DO UPDATE SET record = excluded.record";
            tx.execute(sql, &[&tenant, &id, &record]).await?;
            tx.commit().await?;
            Ok(((), Vec::new()))
        }))
    }

    fn list_events(&self, tenant: &str, query: &EventQuery) -> Read<EventPage> {
        if key::tenant(tenant).is_none() {
            return Read::ready(Ok(EventPage::default()));
        }
        let (tenant, query) = (tenant.to_owned(), query.clone());
        self.read(|db| async move {
            let low = query.lowest_id().unwrap_or_default();
            let mut high = query.below_id();
            if high.as_ref().is_some_and(|high| *high <= low) {
                return Ok(EventPage::default());
            }
            let client = db.client().await?;
            let bounded = client
                .prepare_cached(
                    "SELECT record, id FROM events WHERE tenant = $1 AND id >= $2 AND id < $3 ORDER BY id DESC LIMIT $4",
                )
                .await?;
            let open = client
                .prepare_cached("SELECT record, id FROM events WHERE tenant = $1 AND id >= $2 ORDER BY id DESC LIMIT $3")
                .await?;
            let mut page = PageBuilder::new(&query);
            loop {
                let rows = match &high {
                    Some(high) => client.query(&bounded, &[&tenant, &low, high, &LIST_BATCH]).await?,
                    None => client.query(&open, &[&tenant, &low, &LIST_BATCH]).await?,
                };
                for row in &rows {
                    let event: AuditEvent = sql::decode_row(row, &|id: &str| key::event(&tenant, id))?;
                    high = Some(event.id.clone());
                    if page.offer(event) == Scan::Done {
                        return Ok(page.finish());
                    }
                }
                if rows.len() < usize::try_from(LIST_BATCH).unwrap_or(usize::MAX) {
                    return Ok(page.finish());
                }
            }
        })
    }
}
