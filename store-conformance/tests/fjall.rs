//! The conformance suite against the embedded fjall store: opened on a temporary directory
//! with a clock the cases set, and no background sweeper, so expiry runs only when a case asks
//! (sweep rounds until one finds nothing due), and audit events made durable within 5 ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tessera_core::model::UnixSecs;
use tessera_storage::{Clock, FjallStore, StoreOptions};
use tessera_store_conformance::{Harness, store_conformance_tests};

/// A fjall store in a temporary directory, removed when the harness is dropped.
struct FjallHarness {
    dir: tempfile::TempDir,
    now: Arc<AtomicI64>,
}

impl FjallHarness {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for the store");
        Self { dir, now: Arc::new(AtomicI64::new(0)) }
    }

    fn options(&self) -> StoreOptions {
        let now = Arc::clone(&self.now);
        StoreOptions {
            sweep_interval: None,
            // Cases await each event's commit: keep the wait for its fsync short.
            event_durable_within: std::time::Duration::from_millis(5),
            clock: Clock::from_fn(move || now.load(Ordering::SeqCst)),
            ..StoreOptions::default()
        }
    }
}

impl Harness for FjallHarness {
    type S = FjallStore;

    fn open(&self) -> Arc<FjallStore> {
        Arc::new(FjallStore::open(self.dir.path(), self.options()).expect("the fjall store opens"))
    }

    fn reopen(&self, store: Arc<FjallStore>) -> Arc<FjallStore> {
        // Dropping the last handle is what an ending process does: fjall's database lock is
        // released and the writer thread finishes; no explicit `close`.
        let store = Arc::try_unwrap(store).unwrap_or_else(|_| panic!("the case still shares the store"));
        drop(store);
        self.open()
    }

    fn set_now(&self, now: UnixSecs) {
        self.now.store(now, Ordering::SeqCst);
    }

    fn expire(&self, store: &FjallStore) {
        // A round that handles nothing means nothing due is left.
        while store.sweep_expired().expect("a sweep round") > 0 {}
    }
}

store_conformance_tests!(fjall, FjallHarness::new());
