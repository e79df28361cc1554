//! The change feed ([`tessera_core::changes`]) over PostgreSQL.
//!
//! This handle's own writes are heard in line: the write's transaction commits, then every
//! listener is called, then its `Commit` resolves, which keeps the read-your-writes promise.
//! For the other nodes, the same transaction inserts one row per change into `changes` and
//! calls `pg_notify`, which PostgreSQL delivers only if and when the transaction commits. A
//! background task ([`follow`]) LISTENs on a connection of its own (a pooled one would be
//! handed to others between queries and could not hold a LISTEN) and, on each notification
//! and at least every `poll_interval`, reads the rows after the last it saw, so a database
//! without LISTEN/NOTIFY (CockroachDB) is served by the polling alone. Rows this node wrote
//! are skipped: its listeners heard them at commit. When the connection is lost, or on
//! reconnecting, listeners are told [`Notice::Resync`]: whatever happened meanwhile is
//! covered by reloading everything.
//!
//! Sequence numbers are taken when a row is inserted, not when its transaction commits, so a
//! row may appear behind one already read. The follower's [`Cursor`] therefore remembers the
//! numbers it skipped (holes) and asks for them again with every poll, for [`HOLE_WAIT`]: a
//! write's transaction is short, so a hole still empty after that is a rolled-back write,
//! whose number is never used. Gaps wider than [`MAX_HOLES`] (a database whose serial numbers
//! are not dense, as CockroachDB's `unique_rowid`) are not tracked: there a change committed
//! that late behind a later one can be missed, and the next resync covers it.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use parking_lot::RwLock;
use tessera_core::changes::{Change, ChangeKind, ChangeListener, Notice};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::PgError;

/// The notification channel writes signal on.
pub(crate) const CHANNEL: &str = "tessera_changes";

/// The `application_name` of the follower's connection.
pub const FOLLOWER_NAME: &str = "tessera-change-feed";

/// Most change rows one poll reads.
const POLL_BATCH: i64 = 1_000;

/// How long a skipped sequence number is asked for again: longer than any write's
/// transaction runs.
pub(crate) const HOLE_WAIT: Duration = Duration::from_secs(30);

/// Most skipped sequence numbers remembered at once.
pub(crate) const MAX_HOLES: usize = 10_000;

/// Where the follower is in `changes`: the highest sequence number read, and the lower ones
/// skipped, which a transaction still running may yet fill.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    last: Option<i64>,
    holes: BTreeMap<i64, Instant>,
}

impl Cursor {
    /// Notes that the row `seq` was read.
    fn saw(&mut self, seq: i64, now: Instant) {
        match self.last {
            Some(last) if seq > last => {
                let gap = usize::try_from(seq - last - 1).unwrap_or(usize::MAX);
                if gap > 0 && self.holes.len().saturating_add(gap) <= MAX_HOLES {
                    self.holes.extend((last + 1..seq).map(|hole| (hole, now)));
                }
                self.last = Some(seq);
            }
            Some(_) => {
                self.holes.remove(&seq);
            }
            None => self.last = Some(seq),
        }
    }

    /// Stops asking for holes older than [`HOLE_WAIT`].
    fn forget_old_holes(&mut self, now: Instant) {
        self.holes.retain(|_, since| now.duration_since(*since) < HOLE_WAIT);
    }

    fn holes(&self) -> Vec<i64> {
        self.holes.keys().copied().collect()
    }
}

/// The listeners of one store handle, and whether its follower is connected.
pub(crate) struct Feed {
    listeners: RwLock<Arc<[ChangeListener]>>,
    connected: AtomicBool,
}

impl Default for Feed {
    fn default() -> Self {
        // The store opened, so the database answered a moment ago.
        Self { listeners: RwLock::new(Arc::new([])), connected: AtomicBool::new(true) }
    }
}

impl Feed {
    /// Whether the follower holds its connection: while it does not, the database is
    /// unreachable or this node's caches cannot follow the others', and the store says it is
    /// not writable, so the readiness check fails until the follower is back.
    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    pub(crate) fn subscribe(&self, listener: ChangeListener) {
        let mut listeners = self.listeners.write();
        let mut all = listeners.to_vec();
        all.push(listener);
        *listeners = all.into();
    }

    /// Tells every listener of each change, in order.
    pub(crate) fn emit(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let listeners = Arc::clone(&self.listeners.read());
        for change in changes {
            notify(&listeners, Notice::Changed(change));
        }
    }

    /// Tells every listener that changes may have been missed.
    pub(crate) fn resync(&self) {
        let listeners = Arc::clone(&self.listeners.read());
        notify(&listeners, Notice::Resync);
    }
}

/// A panicking listener must not take the write path down with it: it is logged and the
/// others still hear the change.
fn notify(listeners: &[ChangeListener], notice: Notice<'_>) {
    for listener in listeners {
        if catch_unwind(AssertUnwindSafe(|| listener(notice))).is_err() {
            tracing::error!(?notice, "a change listener panicked; the store carries on");
        }
    }
}

/// A change kind as stored in `changes.kind`.
pub(crate) fn kind_name(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Tenant => "tenant",
        ChangeKind::Client => "client",
        ChangeKind::Key => "key",
        ChangeKind::Revocation => "revocation",
        ChangeKind::User => "user",
        ChangeKind::Role => "role",
        ChangeKind::OpaqueToken => "opaque_token",
        // A kind added to core after this backend: heard by other nodes as a resync.
        _ => "unknown",
    }
}

fn kind_of(name: &str) -> Option<ChangeKind> {
    Some(match name {
        "tenant" => ChangeKind::Tenant,
        "client" => ChangeKind::Client,
        "key" => ChangeKind::Key,
        "revocation" => ChangeKind::Revocation,
        "user" => ChangeKind::User,
        "role" => ChangeKind::Role,
        "opaque_token" => ChangeKind::OpaqueToken,
        _ => return None,
    })
}

/// Records `changes` in the transaction of the write that made them, and signals the other
/// nodes (the notification is sent at commit, not before).
pub(crate) async fn record(
    tx: &deadpool_postgres::Transaction<'_>,
    origin: &str,
    changes: &[Change],
    at: i64,
) -> Result<(), PgError> {
    if changes.is_empty() {
        return Ok(());
    }
    // One statement however many changes (a batch of revocations has one per token).
    let insert = tx
        .prepare_cached(
            "INSERT INTO changes (origin, tenant, kind, id, at)
             SELECT $1, tenant, kind, id, $5 FROM UNNEST($2::text[], $3::text[], $4::text[]) AS c(tenant, kind, id)",
        )
        .await?;
    let tenants: Vec<&str> = changes.iter().map(|c| c.tenant.as_str()).collect();
    let kinds: Vec<&str> = changes.iter().map(|c| kind_name(c.kind)).collect();
    let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
    tx.execute(&insert, &[&origin, &tenants, &kinds, &ids, &at]).await?;
    tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL]).await?;
    Ok(())
}

/// Follows the other nodes' changes after sequence number `start` until the store is dropped
/// (the task is aborted then).
pub(crate) async fn follow(
    feed: Arc<Feed>,
    config: Config,
    tls: MakeRustlsConnect,
    origin: String,
    poll_interval: Duration,
    start: i64,
) {
    let mut cursor = Cursor { last: Some(start), ..Cursor::default() };
    loop {
        match follow_once(&feed, &config, &tls, &origin, poll_interval, &mut cursor).await {
            Ok(()) => {}
            Err(err) => tracing::warn!(error = %err, "change feed connection lost; reconnecting"),
        }
        feed.connected.store(false, Ordering::SeqCst);
        // Whatever was missed while not following is covered by a reload.
        feed.resync();
        tokio::time::sleep(poll_interval.min(Duration::from_secs(1))).await;
    }
}

async fn follow_once(
    feed: &Feed,
    config: &Config,
    tls: &MakeRustlsConnect,
    origin: &str,
    poll_interval: Duration,
    cursor: &mut Cursor,
) -> Result<(), PgError> {
    let mut config = config.clone();
    // Named, so an operator (or a test) can tell the feed's connection in pg_stat_activity.
    config.application_name(FOLLOWER_NAME);
    let (client, mut connection) = config.connect(tls.clone()).await?;
    let (wake, mut woken) = mpsc::channel::<()>(1);
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    // A full channel already holds a wake-up: one poll reads every row.
                    let _ = wake.try_send(());
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "change feed connection failed");
                    break;
                }
            }
        }
    });
    let result = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        feed.connected.store(true, Ordering::SeqCst);
        loop {
            poll(feed, &client, origin, cursor).await?;
            tokio::select! {
                woke = woken.recv() => if woke.is_none() { return Ok(()) },
                () = tokio::time::sleep(poll_interval) => {}
            }
        }
    }
    .await;
    driver.abort();
    result
}

/// Reads the change rows after `cursor` and in its holes, and tells the listeners of those
/// other nodes made.
async fn poll(
    feed: &Feed,
    client: &tokio_postgres::Client,
    origin: &str,
    cursor: &mut Cursor,
) -> Result<(), PgError> {
    cursor.forget_old_holes(Instant::now());
    let statement = client
        .prepare(
            "SELECT seq, origin, tenant, kind, id FROM changes
             WHERE seq > $1 OR seq = ANY($2) ORDER BY seq LIMIT $3",
        )
        .await?;
    loop {
        let after = cursor.last.unwrap_or(0);
        let rows = client.query(&statement, &[&after, &cursor.holes(), &POLL_BATCH]).await?;
        let mut changes = Vec::new();
        let mut unknown = false;
        let now = Instant::now();
        for row in &rows {
            cursor.saw(row.get(0), now);
            if row.get::<_, &str>(1) == origin {
                continue;
            }
            match kind_of(row.get(3)) {
                Some(kind) => changes.push(Change { tenant: row.get(2), kind, id: row.get(4) }),
                None => unknown = true,
            }
        }
        feed.emit(&changes);
        if unknown {
            feed.resync();
        }
        if rows.len() < usize::try_from(POLL_BATCH).unwrap_or(usize::MAX) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_number_is_a_hole_until_it_is_read_or_too_old() {
        let start = Instant::now();
        let mut cursor = Cursor { last: Some(10), ..Cursor::default() };
        cursor.saw(13, start);
        assert_eq!(cursor.holes(), vec![11, 12]);
        assert_eq!(cursor.last, Some(13));
        cursor.saw(12, start);
        assert_eq!(cursor.holes(), vec![11]);
        cursor.forget_old_holes(start + HOLE_WAIT);
        assert!(cursor.holes().is_empty());
    }

    #[test]
    fn a_gap_too_wide_is_not_tracked() {
        let mut cursor = Cursor { last: Some(0), ..Cursor::default() };
        cursor.saw(i64::try_from(MAX_HOLES).unwrap() + 2, Instant::now());
        assert!(cursor.holes().is_empty());
    }
}
