//! Several `tessera` nodes on one PostgreSQL database (`--store postgres://...`): a database of
//! its own per test ([`TestDatabase`], on the cluster `scripts/test.sh` starts and names in
//! `TESSERA_TEST_POSTGRES_URL`, or on a cluster of the test's own, [`OwnCluster`], for a test
//! that stops it), and the nodes ([`Cluster`]) with one admin key, one key-encryption key and
//! one public URL, as nodes behind a load balancer are configured.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use super::process::{Backend, Options, TestServer};
use super::values::random_string;

/// The variable `scripts/test.sh` sets to the throwaway cluster's URL.
const URL_VARIABLE: &str = "TESSERA_TEST_POSTGRES_URL";

/// The cluster's URL, or a failure that says how to get one.
fn cluster_url() -> String {
    std::env::var(URL_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{URL_VARIABLE} is not set: run scripts/test.sh, which starts a throwaway PostgreSQL cluster \
             (scripts/postgres.sh) and sets it, or set it to a cluster's URL yourself"
        )
    })
}

/// Runs `sql` on the database at `url`, on a runtime of its own (callable from any context).
fn execute(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let config = tokio_postgres::Config::from_str(&url).expect("the URL parses");
            let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client.batch_execute(&sql).await
        })
    })
    .join()
    .expect("the SQL thread")
}

/// The `bytea` first column of every row `sql` returns on the database at `url`.
fn query_bytes(url: &str, sql: &str) -> Vec<Vec<u8>> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let config = tokio_postgres::Config::from_str(&url).expect("the URL parses");
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connects");
            tokio::spawn(connection);
            let rows = client.query(&sql, &[]).await.expect("the query");
            rows.iter().map(|row| row.get::<_, Vec<u8>>(0)).collect()
        })
    })
    .join()
    .expect("the SQL thread")
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
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

/// A database of its own for one test, dropped with it.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    /// Its URL, for `--store`.
    pub url: String,
}

impl TestDatabase {
    /// A new database on the cluster at `cluster` (a URL whose database is `postgres`).
    pub fn on(cluster: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "tessera_it_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst),
            random_string()
                .to_lowercase()
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect::<String>()
        );
        execute(cluster, &format!("CREATE DATABASE {name}")).expect("a database for the test");
        Self { admin_url: cluster.to_owned(), url: with_database(cluster, &name), name }
    }

    /// A new database on the cluster `scripts/test.sh` started.
    pub fn new() -> Self {
        Self::on(&cluster_url())
    }

    /// The `record` column of every row of `table` (a table name of the schema).
    pub fn records(&self, table: &str) -> Vec<Vec<u8>> {
        query_bytes(&self.url, &format!("SELECT record FROM {table}"))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if execute(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).is_err() {
            eprintln!("the test database {} could not be dropped", self.name);
        }
    }
}

/// `scripts/postgres.sh`, from the workspace root.
fn postgres_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh")
}

fn run_script(args: &[&str]) -> String {
    let out =
        Command::new("bash").arg(postgres_script()).args(args).output().expect("run scripts/postgres.sh");
    assert!(
        out.status.success(),
        "scripts/postgres.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PostgreSQL cluster of the test's own, which it may stop and start again; removed on drop.
pub struct OwnCluster {
    dir: String,
    /// Its URL (database `postgres`).
    pub url: String,
}

impl OwnCluster {
    /// Starts one (initdb and pg_ctl, as `scripts/postgres.sh start`).
    pub fn start() -> Self {
        let exports = run_script(&["start"]);
        let value = |name: &str| {
            exports
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}='")))
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or_else(|| panic!("scripts/postgres.sh start printed no {name}: {exports}"))
                .to_owned()
        };
        Self { url: value("TESSERA_TEST_POSTGRES_URL"), dir: value("TESSERA_TEST_POSTGRES_DIR") }
    }

    /// Stops the server (fast shutdown: connections are cut), keeping its data.
    pub fn pause(&self) {
        run_script(&["pause", &self.dir]);
    }

    /// Starts it again on the same port.
    pub fn resume(&self) {
        run_script(&["resume", &self.dir]);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(postgres_script()).args(["stop", &self.dir]).output();
    }
}

/// A free port of 127.0.0.1, for a node whose URL must be known before it starts.
fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address")
}

/// Nodes on one database: `nodes[0]`'s address is every node's public URL.
pub struct Cluster {
    /// The nodes (dropped, so killed, before the database).
    pub nodes: Vec<TestServer>,
    /// The admin key every node is given.
    pub admin_key: String,
    /// The key-encryption key every node is given.
    pub kek: String,
    /// The database.
    pub db: TestDatabase,
    /// Where the first node listens: every node's public URL.
    first: SocketAddr,
}

impl Cluster {
    /// `count` nodes with software keys on a new database of the test cluster.
    pub async fn start(count: usize) -> Self {
        Self::start_on(TestDatabase::new(), count).await
    }

    /// `count` nodes on `db`.
    pub async fn start_on(db: TestDatabase, count: usize) -> Self {
        let mut cluster = Self::empty(db);
        for _ in 0..count {
            cluster.add_node(&[]).await;
        }
        cluster
    }

    /// No node yet, on `db`.
    pub fn empty(db: TestDatabase) -> Self {
        let first = free_address();
        Self { nodes: Vec::new(), admin_key: random_string(), kek: kek(), db, first }
    }

    /// Starts one more node with `extra` flags; the first listens at the public URL's address.
    pub async fn add_node(&mut self, extra: &[&str]) -> &TestServer {
        let mut options = self.options(&format!("http://{}", self.first));
        if self.nodes.is_empty() {
            options.listen = Some(self.first);
        }
        options.extra_args.extend(extra.iter().map(|a| (*a).to_owned()));
        let node = self.start_node(options).await;
        self.nodes.push(node);
        &self.nodes[self.nodes.len() - 1]
    }

    /// The options of a node of this cluster with `public_url`.
    pub fn options(&self, public_url: &str) -> Options {
        let mut options = Options::new(Backend::Software);
        options.public_url = Some(public_url.to_owned());
        options.extra_args = vec!["--store".into(), self.db.url.clone()];
        options.env = vec![
            ("TESSERA_ADMIN_KEY".into(), self.admin_key.clone()),
            ("TESSERA_KEY_ENCRYPTION_KEY".into(), self.kek.clone()),
        ];
        options
    }

    /// Starts a node with `options`, its admin key the cluster's.
    pub async fn start_node(&self, options: Options) -> TestServer {
        let mut node = TestServer::start_with(options).await;
        node.admin_key = self.admin_key.clone();
        node
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &TestServer {
        &self.nodes[i]
    }
}

/// A fresh key-encryption key: 32 random bytes in hex.
fn kek() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
