//! What a caller can tune when opening the store, and the clock it runs on.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tessera_core::model::UnixSecs;

/// The store's time source, in Unix seconds. Passed in so tests drive expiry without sleeping.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> UnixSecs + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::from_fn(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        })
    }

    /// A clock that asks `now` (e.g. an atomic a test advances).
    pub fn from_fn(now: impl Fn() -> UnixSecs + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The current time.
    pub fn now(&self) -> UnixSecs {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}

/// Settings of [`FjallStore::open`](crate::FjallStore::open). Start from `default()` and change
/// what you need; zero limits are raised to one.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Most tenants held decoded in memory.
    pub tenant_cache_capacity: u64,
    /// Most clients held decoded in memory.
    pub client_cache_capacity: u64,
    /// fjall's block cache, shared by every keyspace.
    pub block_cache_bytes: u64,
    /// Writes that may wait for the writer thread; past this a write fails at once with
    /// `StoreError::Busy` instead of blocking the caller's async worker.
    pub write_queue_capacity: usize,
    /// Most writes applied in one group commit (one fjall batch, one fsync).
    pub max_batch_writes: usize,
    /// Most key and value bytes in one group commit.
    pub max_batch_bytes: usize,
    /// Records `delete_tenant` removes per writer round, so a big tenant does not stall writes.
    pub delete_chunk_records: usize,
    /// How often the background sweeper looks for expired records; `None` runs no sweeper (call
    /// [`FjallStore::sweep_expired`](crate::FjallStore::sweep_expired) yourself).
    pub sweep_interval: Option<Duration>,
    /// Most expiry-index entries one sweep round handles.
    pub sweep_batch_max: usize,
    /// Longest an audit event waits for an fsync when no other write asks for one (see
    /// `writer::events`): the most events a crash can lose, in time, and the fewest fsyncs a
    /// second events alone can cause.
    pub event_durable_within: Duration,
    /// The time source for expiry.
    pub clock: Clock,
}

/// How long an appended audit event waits for an fsync when no other write asks for one, by
/// default: the most events a crash can lose, in time. A second: long enough that a flood of
/// events (failed token requests against JWT clients, which write nothing else) costs at most
/// one fsync a second, short enough that nothing an operator needs is at risk for long.
pub const EVENT_DURABLE_WITHIN: Duration = Duration::from_secs(1);

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            tenant_cache_capacity: 10_000,
            client_cache_capacity: 100_000,
            block_cache_bytes: 64 * 1024 * 1024,
            write_queue_capacity: 16_384,
            max_batch_writes: 4_096,
            max_batch_bytes: 16 * 1024 * 1024,
            delete_chunk_records: 1_000,
            sweep_interval: Some(Duration::from_secs(1)),
            sweep_batch_max: 1_000,
            event_durable_within: EVENT_DURABLE_WITHIN,
            clock: Clock::system(),
        }
    }
}
