//! TLS to the database with libpq's `sslmode` and `sslrootcert`, against a cluster of the
//! test's own that serves TLS with a certificate for `localhost` only, from a root of its own
//! (`TLS=1 scripts/postgres.sh start`): which modes connect, which refuse and why, and that a
//! connection said to be encrypted is.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use tessera_storage_postgres::{PgOptions, PgStore};

/// A TLS-serving cluster, removed on drop.
struct TlsCluster {
    dir: String,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    url: String,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh")
}

impl TlsCluster {
    fn start() -> Self {
        let out = Command::new("bash").arg(script()).arg("start").env("TLS", "1").output().unwrap();
        let printed = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "TLS=1 postgres.sh start: {}", String::from_utf8_lossy(&out.stderr));
        let value = |name: &str| {
            printed
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}='")))
                .and_then(|v| v.strip_suffix('\''))
                .unwrap()
                .to_owned()
        };
        Self { url: value("TESSERA_TEST_POSTGRES_URL"), dir: value("TESSERA_TEST_POSTGRES_DIR") }
    }

    fn root(&self) -> String {
        format!("{}/ca.crt", self.dir)
    }

    /// The URL with `host` for 127.0.0.1 and `query`.
    fn url(&self, host: &str, query: &str) -> String {
        format!("{}?{query}", self.url.replace("127.0.0.1", host))
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script()).args(["stop", &self.dir]).output();
    }
}

fn options() -> PgOptions {
    PgOptions { sweep_interval: None, ..PgOptions::default() }
}

/// The `ssl` column of every change-feed connection (the store's own connection that stays
/// open), read over a plain connection of the test.
async fn followers(cluster: &TlsCluster) -> Vec<bool> {
    let config: tokio_postgres::Config = format!("{}?sslmode=disable", cluster.url).parse().unwrap();
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'tessera-change-feed'",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|row| row.get::<_, bool>(0)).collect()
}

/// Whether the one open store's change-feed connection is encrypted; then closes the store and
/// waits for its connection to leave, so the next check sees only the next store's.
async fn uses_tls_then_close(cluster: &TlsCluster, store: PgStore) -> bool {
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = followers(cluster).await;
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen.len(), 1, "one store's feed connection: {seen:?}");
    drop(store);
    for _ in 0..100 {
        if followers(cluster).await.is_empty() {
            return seen[0];
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the closed store's feed connection stayed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libpq_tls_modes_connect_or_refuse_as_libpq_does() {
    let cluster = TlsCluster::start();
    let root = cluster.root();

    // verify-full: the certificate must chain to the given root and name the host.
    let full = format!("sslmode=verify-full&sslrootcert={root}");
    let store = PgStore::open(&cluster.url("localhost", &full), options()).await.unwrap();
    assert!(uses_tls_then_close(&cluster, store).await, "verify-full is encrypted");
    let refused = PgStore::open(&cluster.url("127.0.0.1", &full), options()).await.err().unwrap();
    let said = refused.to_string();
    assert!(said.contains("opening database") && said.contains("certificate"), "says why: {said}");

    // Without the root, the self-signed certificate is not trusted (the system roots are).
    let unknown = PgStore::open(&cluster.url("localhost", "sslmode=verify-full"), options()).await;
    let said = unknown.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(said.contains("certificate"), "a certificate no trusted root issued: {said}");

    // verify-ca: the chain, not the name.
    let ca = format!("sslmode=verify-ca&sslrootcert={root}");
    let store = PgStore::open(&cluster.url("127.0.0.1", &ca), options()).await.unwrap();
    assert!(uses_tls_then_close(&cluster, store).await, "verify-ca is encrypted");

    // require: encrypted, not verified (libpq's meaning).
    let store = PgStore::open(&cluster.url("127.0.0.1", "sslmode=require"), options()).await.unwrap();
    assert!(uses_tls_then_close(&cluster, store).await, "require is encrypted");

    // disable: plain text.
    let store = PgStore::open(&cluster.url("127.0.0.1", "sslmode=disable"), options()).await.unwrap();
    assert!(!uses_tls_then_close(&cluster, store).await, "disable is plain");

    // Client certificates are not supported: refused, not ignored.
    let refused =
        PgStore::open(&cluster.url("127.0.0.1", "sslmode=require&sslcert=/c.pem&sslkey=/k.pem"), options())
            .await
            .err()
            .unwrap();
    assert!(refused.to_string().contains("sslcert"), "{refused}");
}
