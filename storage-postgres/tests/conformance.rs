//! The conformance suite against PostgreSQL. Every case gets a database of its own, created
//! with a unique name on the cluster at `TESSERA_TEST_POSTGRES_URL` (scripts/test.sh starts a
//! throwaway one and sets it) and dropped when the case ends. The store runs without its
//! background expiry, so expiry runs only when a case asks, on a clock the case sets.
//!
//! Without `TESSERA_TEST_POSTGRES_URL` every case fails, saying how to run it: a backend the
//! suite did not run against must never look like one that passed.

// Tests may unwrap and expect: a panic is how a test fails.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tessera_core::model::UnixSecs;
use tessera_storage_postgres::{Clock, PgOptions, PgStore};
use tessera_store_conformance::{Harness, store_conformance_tests};

const URL_VARIABLE: &str = "TESSERA_TEST_POSTGRES_URL";

/// One case's database, dropped with the harness.
struct PgHarness {
    /// The cluster's maintenance database, where the case's database is created and dropped.
    admin: tokio_postgres::Config,
    /// The case's database.
    url: String,
    name: String,
    now: Arc<AtomicI64>,
}

/// Runs `work` on a runtime of its own: the harness is built and dropped outside the case's.
fn outside_runtime<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the harness")
        .block_on(work)
}

/// Runs `work` from inside the case's runtime, whose tasks the store spawns onto.
fn inside_runtime<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(work))
}

async fn admin_client(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("the test cluster answers");
    tokio::spawn(connection);
    client
}

impl PgHarness {
    fn new() -> Self {
        let url = std::env::var(URL_VARIABLE).unwrap_or_else(|_| {
            panic!(
                "{URL_VARIABLE} is not set: run scripts/test.sh, which starts a throwaway PostgreSQL \
                 cluster (scripts/postgres.sh) and sets it, or set it to a cluster's URL yourself"
            )
        });
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let name = format!(
            "tessera_case_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst),
            nanos % 1_000_000_000
        );
        let admin = tokio_postgres::Config::from_str(&url).expect("TESSERA_TEST_POSTGRES_URL parses");
        outside_runtime(async {
            admin_client(&admin)
                .await
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("a database for the case");
        });
        let url = case_url(&url, &name);
        Self { admin, url, name, now: Arc::new(AtomicI64::new(0)) }
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

/// The cluster URL with its database replaced by `name` (a URL, or libpq's key=value form).
fn case_url(url: &str, name: &str) -> String {
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return format!("{url} dbname={name}");
    }
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl Drop for PgHarness {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // On a thread of its own: the harness may be dropped while a runtime is running.
        let dropped = std::thread::spawn(move || {
            outside_runtime(async move {
                admin_client(&admin)
                    .await
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("the case's database {} could not be dropped", self.name);
        }
    }
}

impl Harness for PgHarness {
    type S = PgStore;

    fn open(&self) -> Arc<PgStore> {
        Arc::new(
            inside_runtime(PgStore::open(&self.url, self.options())).expect("the PostgreSQL store opens"),
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

#[test]
fn a_case_url_names_the_cases_database() {
    assert_eq!(case_url("postgres://u@127.0.0.1:5432/postgres", "c1"), "postgres://u@127.0.0.1:5432/c1");
    assert_eq!(
        case_url("postgres://u@h:1/postgres?sslmode=disable", "c1"),
        "postgres://u@h:1/c1?sslmode=disable"
    );
    assert_eq!(case_url("postgres://u@h:1", "c1"), "postgres://u@h:1/c1");
    assert_eq!(case_url("host=h user=u", "c1"), "host=h user=u dbname=c1");
}
