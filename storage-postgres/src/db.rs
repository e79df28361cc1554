//! What one store handle's queries and tasks share ([`Inner`]: the pool, the clock, the feed,
//! the bookkeeping of writes in flight) and the settings it is opened with ([`PgOptions`]).
//! Kept apart from the handle (`store`) so the modules that run queries depend on this and
//! not on each other.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::Duration;

use deadpool_postgres::{Object, Pool};
use tessera_core::changes::Change;
use tessera_core::model::UnixSecs;
use tessera_storage::Clock;
use tokio::sync::Notify;

use crate::batch::Batcher;
use crate::cache::Caches;
use crate::error::PgError;
use crate::feed::{self, Feed};

/// Settings of [`PgStore::open`](crate::PgStore::open). Start from `default()` and change what you need.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Most connections the pool holds (the change feed's connection is extra).
    pub max_connections: usize,
    /// How often expired rows are deleted; `None` runs no background expiry (call
    /// [`PgStore::expire`](crate::PgStore::expire) yourself).
    pub sweep_interval: Option<Duration>,
    /// Most rows of one table one expiry statement deletes, so expiry never holds long locks.
    pub sweep_batch_max: i64,
    /// How often the change feed reads the changes table without a notification (the
    /// fallback where LISTEN/NOTIFY is missing or a notification was lost).
    pub poll_interval: Duration,
    /// How long change rows are kept for other nodes to read.
    pub change_retention: Duration,
    /// The time source of the store's own decisions (a code's expiry at its take, a
    /// revocation in force, what expiry removes).
    pub clock: Clock,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            sweep_interval: Some(Duration::from_secs(1)),
            sweep_batch_max: 1_000,
            poll_interval: Duration::from_millis(500),
            change_retention: Duration::from_secs(600),
            clock: Clock::system(),
        }
    }
}

/// What every query and task of one handle shares.
pub(crate) struct Inner {
    pub(crate) pool: Pool,
    pub(crate) clock: Clock,
    pub(crate) feed: Arc<Feed>,
    /// The group commit of opaque tokens and revocations.
    pub(crate) batcher: Batcher,
    /// This node's copies of tenants and clients, dropped as the feed says.
    pub(crate) caches: Arc<Caches>,
    /// This handle's id in `changes.origin`, so its follower skips what it already heard.
    pub(crate) origin: String,
    pub(crate) options: PgOptions,
    /// Audit events waiting to be written (bounded by `events::MAX_QUEUED_EVENTS`).
    pub(crate) events_queued: AtomicUsize,
    /// The runtime writes run on, as tasks of their own (see `PgStore::write`).
    pub(crate) runtime: tokio::runtime::Handle,
    /// Set by `close`: later writes are refused.
    pub(crate) closed: AtomicBool,
    /// Writes submitted and not yet resolved, which `close` waits for.
    pub(crate) writes_in_flight: AtomicUsize,
    /// Woken when the last write in flight ends.
    pub(crate) writes_done: Notify,
}

impl Inner {
    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<Object, PgError> {
        Ok(self.pool.get().await?)
    }

    /// The store's clock.
    pub(crate) fn now(&self) -> UnixSecs {
        self.clock.now()
    }

    /// Records `changes` in `tx` (see `feed::record`), stamped with the system time, which
    /// only their retention reads.
    pub(crate) async fn record(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        changes: &[Change],
    ) -> Result<(), PgError> {
        feed::record(tx, &self.origin, changes, Clock::system().now()).await
    }
}
