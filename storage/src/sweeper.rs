//! Expiry without a stop-the-world sweep: a background thread that wakes about once per
//! `sweep_interval`, reads at most `sweep_batch_max` due entries from the front of the expiry
//! index, and hands them to the writer, which deletes the records that really have expired. A
//! full batch means more may be due, so it goes round again at once; otherwise it sleeps.
//!
//! The deletions go through the writer rather than straight to fjall because the writer is the
//! only mutator: deleting here could race a rewrite of the same key with a later `exp`.
//!
//! Audit events leave by their tenant's retention instead of an expiry index: each round
//! reads every tenant's `audit_retention_days` and takes, from the front of the tenant's
//! events (which lie in time order), at most `sweep_batch_max` in all that are older. So a
//! retention change applies to events already stored, from the next sweep on, and events
//! cost no index entry. The price is a seek per tenant per round, which is cheap next to the
//! interval for any number of tenants an operator manages by hand.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use tessera_core::model::{Tenant, event_id_floor};
use tessera_core::store::StoreError;

use crate::codec;
use crate::keys::{self, Space};
use crate::state::{Shared, io};
use crate::writer::Request;

/// One sweep round: handles up to `max` due expiry-index entries and up to `max` audit events
/// past retention, and returns how many. Blocks until the writer has applied the deletions.
pub(crate) fn sweep_round(
    shared: &Shared,
    tx: &SyncSender<Request>,
    max: usize,
) -> Result<usize, StoreError> {
    if let Some(refused) = shared.refusal() {
        return Err(refused);
    }
    let expired = expire_round(shared, tx, max)?;
    Ok(expired + prune_events(shared, tx, max)?)
}

/// Up to `max` audit events older than their tenant's retention, deleted through the writer.
fn prune_events(shared: &Shared, tx: &SyncSender<Request>, max: usize) -> Result<usize, StoreError> {
    let now = shared.now();
    let mut due = Vec::new();
    for guard in shared.space(Space::Tenants).iter() {
        let (key, value) = guard.into_inner().map_err(io)?;
        // A tenant that does not decode keeps its events: readers report it as corrupt.
        let Ok(tenant) = codec::decode::<Tenant>(&key, &value) else { continue };
        let Some(prefix) = keys::tenant_prefix(&tenant.id) else { continue };
        let kept_from = tenant.settings.audit_kept_from(now).saturating_mul(1000);
        let mut upper = prefix.clone();
        upper.extend_from_slice(event_id_floor(kept_from).as_bytes());
        let room = max.max(1) - due.len();
        for guard in shared.space(Space::Events).range(prefix..upper).take(room) {
            due.push(guard.key().map_err(io)?);
        }
        if due.len() >= max.max(1) {
            break;
        }
    }
    if due.is_empty() {
        return Ok(0);
    }
    let (done_tx, done_rx) = mpsc::channel();
    tx.send(Request::PruneEvents { keys: due, done: done_tx }).map_err(|_| StoreError::Closed)?;
    done_rx.recv().map_err(|_| shared.refusal().unwrap_or(StoreError::Closed))
}

/// Up to `max` due expiry-index entries, handled by the writer.
fn expire_round(shared: &Shared, tx: &SyncSender<Request>, max: usize) -> Result<usize, StoreError> {
    let now = shared.now();
    shared.deny.forget_expired(now);
    let upper = keys::expired_upper_bound(now);
    let index_keys = shared
        .space(Space::Expiry)
        .range(..upper.as_slice())
        .take(max.max(1))
        .map(|guard| guard.key().map_err(io))
        .collect::<Result<Vec<_>, _>>()?;
    if index_keys.is_empty() {
        return Ok(0);
    }
    let (done_tx, done_rx) = mpsc::channel();
    tx.send(Request::Expire { index_keys, now, done: done_tx }).map_err(|_| StoreError::Closed)?;
    done_rx.recv().map_err(|_| shared.refusal().unwrap_or(StoreError::Closed))
}

/// The running sweeper thread.
pub(crate) struct Sweeper {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<()>,
}

impl Sweeper {
    pub(crate) fn spawn(
        shared: Arc<Shared>,
        tx: SyncSender<Request>,
        interval: Duration,
        max: usize,
    ) -> std::io::Result<Self> {
        let (stop, stop_rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("tessera-store-sweeper".to_owned())
            .spawn(move || run(&shared, &tx, &stop_rx, interval, max))?;
        Ok(Self { stop, handle })
    }

    /// Stops the thread and waits for it (at most one sweep round).
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        if self.handle.join().is_err() {
            tracing::error!("store sweeper thread panicked");
        }
    }
}

fn run(shared: &Shared, tx: &SyncSender<Request>, stop: &Receiver<()>, interval: Duration, max: usize) {
    loop {
        let more = match sweep_round(shared, tx, max) {
            Ok(handled) => handled >= max,
            Err(StoreError::Closed | StoreError::Poisoned) => false,
            Err(err) => {
                tracing::warn!(error = %err, "expiry sweep failed; retrying next interval");
                false
            }
        };
        if more {
            match stop.try_recv() {
                Err(TryRecvError::Empty) => continue,
                Ok(()) | Err(TryRecvError::Disconnected) => return,
            }
        }
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
