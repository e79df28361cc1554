//! What every PostgreSQL test shares: a database of its own on the cluster at
//! `TESSERA_TEST_POSTGRES_URL` (scripts/test.sh starts a throwaway one and sets it), created
//! with a unique name and dropped when the test ends. Without the variable a test fails,
//! saying how to run it: a backend the tests did not run against must never look like one
//! that passed.

#![allow(dead_code, clippy::unwrap_used)]

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

const URL_VARIABLE: &str = "TESSERA_TEST_POSTGRES_URL";

/// A database of one test, dropped with it.
pub struct TestDatabase {
    /// The cluster's maintenance database, where the test's database is created and dropped.
    admin: tokio_postgres::Config,
    /// The test's database.
    pub url: String,
    name: String,
}

/// Runs `work` on a runtime of its own (the database is made and dropped outside the test's).
pub fn outside_runtime<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the test database")
        .block_on(work)
}

/// Runs `work` from inside a test's multi-thread runtime, whose tasks the store spawns onto.
pub fn inside_runtime<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(work))
}

/// A client of the cluster's maintenance database (or of `config`'s).
pub async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("the test cluster answers");
    tokio::spawn(connection);
    client
}

impl TestDatabase {
    /// Creates the database; panics (failing the test) without a cluster.
    pub fn new() -> Self {
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
            connect(&admin)
                .await
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("a database for the test");
        });
        Self { admin, url: case_url(&url, &name), name }
    }

    /// The test database's connection settings.
    pub fn config(&self) -> tokio_postgres::Config {
        tokio_postgres::Config::from_str(&self.url).expect("the test database's URL parses")
    }
}

/// The cluster URL with its database replaced by `name` (a URL, or libpq's key=value form).
pub fn case_url(url: &str, name: &str) -> String {
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

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // On a thread of its own: the database may be dropped while a runtime is running.
        let dropped = std::thread::spawn(move || {
            outside_runtime(async move {
                connect(&admin)
                    .await
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("the test database {} could not be dropped", self.name);
        }
    }
}
