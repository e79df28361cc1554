//! State shared by the store handle (reads), the writer thread and the sweeper thread: the fjall
//! database and its keyspaces, the caches, the deny list, the change feed's listeners, and the
//! flags and counters that say whether the store still accepts writes.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use fjall::{Database, Keyspace};
use parking_lot::RwLock;
use rkyv::api::high::{HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::de::Pool;
use rkyv::rancor::{self, Strategy};
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use tessera_core::model::{Client, Tenant, UnixSecs};
use tessera_core::rbac::RoleSet;
use tessera_core::store::StoreError;

use crate::cache::RecordCache;
use crate::codec::{self, Record};
use crate::deny::DenyList;
use crate::feed::Feed;
use crate::keys::Space;
use crate::options::Clock;
use crate::stats::StoreStats;

/// A record type the store can encode, decode and check: the rkyv bounds spelled once.
pub(crate) trait Stored:
    Record
    + rkyv::Archive<
        Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
                      + rkyv::Deserialize<Self, Strategy<Pool, rancor::Error>>,
    > + for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>
{
}

impl<T> Stored for T where
    T: Record
        + rkyv::Archive<
            Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
                          + rkyv::Deserialize<T, Strategy<Pool, rancor::Error>>,
        > + for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>
{
}

/// Maps a fjall error; fjall's own poisoning stays poisoning.
pub(crate) fn io(err: fjall::Error) -> StoreError {
    match err {
        fjall::Error::Poisoned => StoreError::Poisoned,
        other => StoreError::Io(other.to_string()),
    }
}

/// The record caches a store starts with.
pub(crate) struct Caches {
    tenants: RecordCache<Tenant>,
    clients: RecordCache<Client>,
    roles: RecordCache<RoleSet>,
    assignments: RecordCache<Vec<String>>,
}

impl Caches {
    /// Tenant-sized caches (tenants, their role sets) of `tenants` entries, and client-sized
    /// ones (clients, role assignments) of `clients`.
    pub(crate) fn with_capacities(tenants: u64, clients: u64) -> Self {
        Self {
            tenants: RecordCache::new(tenants.max(1)),
            clients: RecordCache::new(clients.max(1)),
            roles: RecordCache::new(tenants.max(1)),
            assignments: RecordCache::new(clients.max(1)),
        }
    }
}

/// Everything the store handle, the writer and the sweeper share.
pub(crate) struct Shared {
    pub(crate) db: Database,
    /// Indexed by [`Space::index`].
    spaces: Vec<Keyspace>,
    pub(crate) tenants: RecordCache<Tenant>,
    pub(crate) clients: RecordCache<Client>,
    /// Each tenant's roles, under its tenant key.
    pub(crate) roles: RecordCache<RoleSet>,
    /// Each subject's role ids, under its `keys::subject_prefix`.
    pub(crate) assignments: RecordCache<Vec<String>>,
    pub(crate) deny: DenyList,
    /// The change feed's listeners.
    pub(crate) feed: Feed,
    /// Tenants whose deletion is in progress: their records read as absent until it is done.
    deleting: RwLock<HashSet<Box<[u8]>>>,
    /// `deleting.len()`, read without the lock on every hot-path read.
    deleting_count: AtomicUsize,
    poisoned: AtomicBool,
    closed: AtomicBool,
    persists: AtomicU64,
    committed_writes: AtomicU64,
    fail_next_persist: AtomicBool,
    clock: Clock,
    /// Group-commit durations and sizes, for the metrics.
    pub(crate) stats: StoreStats,
    /// Audit events queued for the writer and not yet taken by it (see `FjallStore`'s
    /// `EventStore` impl: events are dropped rather than let crowd the queue).
    events_queued: AtomicUsize,
}

impl Shared {
    pub(crate) fn new(db: Database, spaces: Vec<Keyspace>, caches: Caches, clock: Clock) -> Self {
        debug_assert_eq!(spaces.len(), Space::ALL.len());
        Self {
            db,
            spaces,
            tenants: caches.tenants,
            clients: caches.clients,
            roles: caches.roles,
            assignments: caches.assignments,
            deny: DenyList::new(),
            feed: Feed::new(),
            deleting: RwLock::new(HashSet::new()),
            deleting_count: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            persists: AtomicU64::new(0),
            committed_writes: AtomicU64::new(0),
            fail_next_persist: AtomicBool::new(false),
            clock,
            stats: StoreStats::new(),
            events_queued: AtomicUsize::new(0),
        }
    }

    /// A store's shared state over a fresh fjall database in `dir`, with every keyspace, small
    /// caches and a clock stopped at 1,000: for the unit tests of the parts that take a
    /// `Shared` without a whole store (the writer, the index backfill and refold).
    #[cfg(test)]
    pub(crate) fn for_tests(dir: &std::path::Path) -> Self {
        let db = Database::builder(dir).open().expect("open a test database");
        let spaces = Space::ALL
            .iter()
            .map(|space| {
                db.keyspace(space.name(), fjall::KeyspaceCreateOptions::default).expect("a keyspace")
            })
            .collect();
        Self::new(db, spaces, Caches::with_capacities(10, 10), Clock::from_fn(|| 1_000))
    }

    /// Counts an event into the writer's queue, unless `max` are queued already: then
    /// `false`, and the event is not to be sent.
    pub(crate) fn event_queued(&self, max: usize) -> bool {
        if self.events_queued.fetch_add(1, Ordering::Relaxed) >= max {
            self.events_queued.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Counts an event out of the writer's queue (taken by the writer, or never sent).
    pub(crate) fn event_dequeued(&self) {
        self.events_queued.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn space(&self, space: Space) -> &Keyspace {
        &self.spaces[space.index()]
    }

    pub(crate) fn now(&self) -> UnixSecs {
        self.clock.now()
    }

    /// Reads and decodes one record.
    pub(crate) fn get<T: Stored>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.space(T::SPACE).get(key).map_err(io)? {
            None => Ok(None),
            Some(bytes) => codec::decode(key, &bytes).map(Some),
        }
    }

    /// Reads and decodes every record under `prefix`, in key order.
    pub(crate) fn scan<T: Stored>(&self, prefix: &[u8]) -> Result<Vec<T>, StoreError> {
        self.space(T::SPACE)
            .prefix(prefix)
            .map(|guard| {
                let (key, value) = guard.into_inner().map_err(io)?;
                codec::decode(&key, &value)
            })
            .collect()
    }

    pub(crate) fn is_deleting(&self, tenant: &str) -> bool {
        self.deleting_count.load(Ordering::Acquire) > 0 && self.deleting.read().contains(tenant.as_bytes())
    }

    pub(crate) fn begin_delete(&self, tenant: &[u8]) {
        let mut deleting = self.deleting.write();
        if deleting.insert(tenant.into()) {
            self.deleting_count.fetch_add(1, Ordering::Release);
        }
    }

    pub(crate) fn end_delete(&self, tenant: &[u8]) {
        let mut deleting = self.deleting.write();
        if deleting.remove(tenant) {
            self.deleting_count.fetch_sub(1, Ordering::Release);
        }
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    pub(crate) fn poison(&self, why: &StoreError) {
        if !self.poisoned.swap(true, Ordering::AcqRel) {
            tracing::error!(error = %why, "store poisoned: a write could not be made durable; refusing writes");
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_closed(&self) -> bool {
        !self.closed.swap(true, Ordering::AcqRel)
    }

    /// The error a write gets when the store cannot take it, if any.
    pub(crate) fn refusal(&self) -> Option<StoreError> {
        if self.is_poisoned() {
            Some(StoreError::Poisoned)
        } else if self.is_closed() {
            Some(StoreError::Closed)
        } else {
            None
        }
    }

    pub(crate) fn persists(&self) -> u64 {
        self.persists.load(Ordering::Relaxed)
    }

    pub(crate) fn count_persist(&self) {
        self.persists.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn committed_writes(&self) -> u64 {
        self.committed_writes.load(Ordering::Relaxed)
    }

    pub(crate) fn count_committed(&self, n: usize) {
        self.committed_writes.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn arm_persist_failure(&self) {
        self.fail_next_persist.store(true, Ordering::Release);
    }

    pub(crate) fn take_persist_failure(&self) -> bool {
        self.fail_next_persist.swap(false, Ordering::AcqRel)
    }
}
