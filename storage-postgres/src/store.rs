//! [`PgStore`]: the handle, how it opens (pool, migrations, background tasks), how every write
//! runs (a short transaction on a pooled connection, its changes recorded in it, listeners
//! told after COMMIT and before the `Commit` resolves) and how it closes.
//!
//! Why tokio-postgres with deadpool-postgres rather than sqlx: every query here is hand-written
//! SQL over a few columns and a `bytea`, so sqlx's compile-time checking would need a live
//! database (or a checked-in offline cache) at every build for little gain; tokio-postgres is
//! the async client underneath the PostgreSQL ecosystem in Rust, gives LISTEN/NOTIFY on a
//! connection we drive ourselves, and deadpool adds only a small, well-understood pool with
//! per-connection prepared-statement caches (`prepare_cached`), so a hot query is one round
//! trip.

use std::future::{Future, ready};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use parking_lot::Mutex;
use tessera_core::changes::{Change, ChangeFeed, ChangeListener};
use tessera_core::store::{Exclusive, Read, Store, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::db::{Inner, PgOptions};
use crate::error::PgError;
use crate::feed::{self, Feed};

/// Counts a write in flight, so `close` can wait for it.
struct InFlight(Arc<Inner>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.writes_in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.writes_done.notify_waiters();
        }
    }
}

/// A boxed future of a store answer.
pub(crate) type Answer<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'static>>;

/// How long connecting to the database, or waiting for a pooled connection, may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The PostgreSQL backend of [`tessera_core::store::Store`].
pub struct PgStore {
    pub(crate) inner: Arc<Inner>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or
    /// libpq's key=value form), brings its schema up to date and starts the change feed's
    /// follower and, if asked, the expiry task. Runs on, and spawns onto, the current tokio
    /// runtime.
    pub async fn open(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        Self::open_inner(url, options).await.map_err(StoreError::from)
    }

    async fn open_inner(url: &str, options: PgOptions) -> Result<Self, PgError> {
        let tls = crate::tls::settings(url)?;
        let mut config = tokio_postgres::Config::from_str(&tls.url)
            .map_err(|e| PgError::Setup(format!("the database URL does not parse: {e}")))?;
        config.ssl_mode(tls.mode);
        if config.get_connect_timeout().is_none() {
            // An unreachable host fails a connection in seconds, not after TCP's minutes.
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let named = config.get_dbname().unwrap_or("(default)").to_owned();
        crate::schema::migrate(&config, &tls.connector)
            .await
            .map_err(|e| PgError::Setup(format!("opening database {named}: {}", with_causes(&e))))?;
        let manager = Manager::from_config(
            config.clone(),
            tls.connector.clone(),
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            // A request waits this long for a connection, then is answered `Busy`.
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| PgError::Setup(format!("building the connection pool: {e}")))?;
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|e| PgError::Setup(format!("a node id: {e}")))?;
        let inner = Arc::new(Inner {
            pool,
            clock: options.clock.clone(),
            feed: Arc::new(Feed::default()),
            caches: Arc::default(),
            batcher: crate::batch::Batcher::default(),
            origin: hex::encode(id),
            options: options.clone(),
            events_queued: AtomicUsize::new(0),
            runtime: tokio::runtime::Handle::current(),
            closed: AtomicBool::new(false),
            writes_in_flight: AtomicUsize::new(0),
            writes_done: Notify::new(),
        });
        // Not among `tasks`, which `close` aborts: the writes `close` waits for need them. They
        // end when `inner`, which holds their queue, is gone.
        inner.batcher.start(&inner.pool, &inner.origin);
        // The first listener: every later one hears a change after the copies are dropped.
        let caches = Arc::clone(&inner.caches);
        inner.feed.subscribe(Arc::new(move |notice| caches.hear(&notice)));
        // Where the follower starts, read before `open` returns: a listener that subscribes
        // once the store is open hears every change another node makes after that.
        let start: i64 =
            inner.client().await?.query_one("SELECT COALESCE(MAX(seq), 0) FROM changes", &[]).await?.get(0);
        let mut tasks = vec![tokio::spawn(feed::follow(
            Arc::clone(&inner.feed),
            config,
            tls.connector,
            inner.origin.clone(),
            options.poll_interval,
            start,
        ))];
        if let Some(interval) = options.sweep_interval {
            let sweeping = Arc::clone(&inner);
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(interval).await;
                    if let Err(err) = crate::expiry::sweep_round(&sweeping).await {
                        tracing::warn!(error = %err, "expiry round failed; retrying next round");
                    }
                }
            }));
        }
        Ok(Self { inner, tasks: Mutex::new(tasks) })
    }

    /// Deletes expired rows until none is left (bounded batches; for tests and tools: the
    /// background task does the same a round at a time).
    pub async fn expire(&self) -> Result<(), StoreError> {
        while crate::expiry::sweep_round(&self.inner).await? > 0 {}
        Ok(())
    }

    /// Runs a write: `op` runs its transaction and returns its answer with the changes it
    /// committed, which every listener hears before the returned future resolves. The write
    /// runs as a task of its own from the moment it is submitted, as the fjall writer takes a
    /// write when it is queued: a caller that drops the future (an audit event's) does not
    /// cancel the write half-way, and `close` waits for it.
    pub(crate) fn write<T, F, Fut>(&self, op: F) -> Answer<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(T, Vec<Change>), PgError>> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        // Counted before the closed check, so `close` either sees this write or refuses it.
        inner.writes_in_flight.fetch_add(1, Ordering::SeqCst);
        let in_flight = InFlight(Arc::clone(&inner));
        if inner.closed.load(Ordering::SeqCst) {
            return Box::pin(ready(Err(StoreError::Closed)));
        }
        let runtime = inner.runtime.clone();
        let running = runtime.spawn(async move {
            let _in_flight = in_flight;
            let (answer, changes) = op(Arc::clone(&inner)).await?;
            inner.feed.emit(&changes);
            Ok(answer)
        });
        Box::pin(async move { running.await.unwrap_or(Err(StoreError::Closed)) })
    }

    /// Runs a read, as a task on the store's runtime like a write. Pooled connections are
    /// driven by the runtime that made them: made on the store's own, they outlive whichever
    /// thread asked first (a server's request threads stop before its store closes), and no
    /// query waits on a busy request thread to be polled.
    pub(crate) fn read<T, F, Fut>(&self, op: F) -> Read<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Inner>) -> Fut,
        Fut: Future<Output = Result<T, PgError>> + Send + 'static,
    {
        let running = self.inner.runtime.spawn(op(Arc::clone(&self.inner)));
        Read::pending(async move {
            match running.await {
                Ok(answer) => answer.map_err(StoreError::from),
                Err(_) => Err(StoreError::Closed),
            }
        })
    }
}

/// `err` and its causes, so a message says why (tokio-postgres says "error performing TLS
/// handshake" and keeps the certificate's fault in its source).
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = inner.source();
    }
    text
}

impl Drop for PgStore {
    fn drop(&mut self) {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
        self.inner.pool.close();
    }
}

impl Store for PgStore {
    fn is_writable(&self) -> bool {
        !self.inner.closed.load(Ordering::SeqCst) && self.inner.feed.is_connected()
    }

    fn exclusive(&self) -> Read<Exclusive> {
        let inner = Arc::clone(&self.inner);
        self.read(|db| async move {
            let held = crate::exclusive::enter(db).await?;
            // What the section reads, it reads from the database (see `cache`).
            inner.caches.clear();
            Ok(held)
        })
    }

    fn close(&self) -> Read<()> {
        self.inner.closed.store(true, Ordering::SeqCst);
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
        let inner = Arc::clone(&self.inner);
        Read::pending(async move {
            // Every write already submitted resolves its Commit (each is committed or failed
            // in the database by then); only then is the pool shut.
            loop {
                let done = inner.writes_done.notified();
                tokio::pin!(done);
                // Registered before the count is read, so a last write ending in between
                // still wakes this wait.
                done.as_mut().enable();
                if inner.writes_in_flight.load(Ordering::SeqCst) == 0 {
                    break;
                }
                done.await;
            }
            inner.pool.close();
            Ok(())
        })
    }
}

impl ChangeFeed for PgStore {
    fn subscribe(&self, listener: ChangeListener) {
        self.inner.feed.subscribe(listener);
    }
}
