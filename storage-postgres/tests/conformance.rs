//! The conformance suite against PostgreSQL. Every case gets a database of its own
//! (`common::TestDatabase`), dropped when the case ends. The store runs without its background
//! expiry, so expiry runs only when a case asks, on a clock the case sets. Without
//! `TESSERA_TEST_POSTGRES_URL` every case fails, saying to run scripts/test.sh.

// Tests may unwrap and expect: a panic is how a test fails.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use common::{TestDatabase, inside_runtime};
use tessera_core::model::UnixSecs;
use tessera_storage_postgres::{Clock, PgOptions, PgStore};
use tessera_store_conformance::{Harness, store_conformance_tests};

/// One case's database and the clock of its stores.
struct PgHarness {
    database: TestDatabase,
    now: Arc<AtomicI64>,
}

impl PgHarness {
    fn new() -> Self {
        Self { database: TestDatabase::new(), now: Arc::new(AtomicI64::new(0)) }
    }

    fn options(&self) -> PgOptions {
        let now = Arc::clone(&self.now);
        PgOptions {
            max_connections: 8,
            sweep_interval: None,
            poll_interval: Duration::from_millis(100),
            clock: Clock::from_fn(move || now.load(Ordering::SeqCst)),
            ..PgOptions::default()
        }
    }
}

impl Harness for PgHarness {
    type S = PgStore;

    fn open(&self) -> Arc<PgStore> {
        Arc::new(
            inside_runtime(PgStore::open(&self.database.url, self.options()))
                .expect("the PostgreSQL store opens"),
        )
    }

    fn reopen(&self, store: Arc<PgStore>) -> Arc<PgStore> {
        // Dropping the last handle is what an ending process does: its connections close.
        let store = Arc::try_unwrap(store).unwrap_or_else(|_| panic!("the case still shares the store"));
        drop(store);
        self.open()
    }

    fn set_now(&self, now: UnixSecs) {
        self.now.store(now, Ordering::SeqCst);
    }

    fn expire(&self, store: &PgStore) {
        inside_runtime(store.expire()).expect("expiry runs");
    }
}

store_conformance_tests!(postgres, PgHarness::new());
