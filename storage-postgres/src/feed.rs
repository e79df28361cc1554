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
//! Known limit of this first increment: sequence numbers are taken when a row is inserted,
//! not when its transaction commits, so a change whose transaction commits after a later
//! numbered one was already read is missed by the cursor. Rows are written by short
//! transactions, which keeps the window small; closing it (rereading a window behind the
//! cursor) is left for the multi-node work.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::RwLock;
use tessera_core::changes::{Change, ChangeKind, ChangeListener, Notice};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Config, NoTls};

use crate::error::PgError;

/// The notification channel writes signal on.
pub(crate) const CHANNEL: &str = "tessera_changes";

/// The `application_name` of the follower's connection.
pub const FOLLOWER_NAME: &str = "tessera-change-feed";

/// Most change rows one poll reads.
const POLL_BATCH: i64 = 1_000;

/// The listeners of one store handle.
#[derive(Default)]
pub(crate) struct Feed {
    listeners: RwLock<Arc<[ChangeListener]>>,
}

impl Feed {
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
    let insert = tx
        .prepare_cached("INSERT INTO changes (origin, tenant, kind, id, at) VALUES ($1, $2, $3, $4, $5)")
        .await?;
    for change in changes {
        tx.execute(&insert, &[&origin, &change.tenant, &kind_name(change.kind), &change.id, &at]).await?;
    }
    tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL]).await?;
    Ok(())
}

/// Follows the other nodes' changes until the store is dropped (the task is aborted then).
pub(crate) async fn follow(feed: Arc<Feed>, config: Config, origin: String, poll_interval: Duration) {
    let mut cursor: Option<i64> = None;
    loop {
        match follow_once(&feed, &config, &origin, poll_interval, &mut cursor).await {
            Ok(()) => {}
            Err(err) => tracing::warn!(error = %err, "change feed connection lost; reconnecting"),
        }
        // Whatever was missed while not following is covered by a reload.
        feed.resync();
        tokio::time::sleep(poll_interval.min(Duration::from_secs(1))).await;
    }
}

async fn follow_once(
    feed: &Feed,
    config: &Config,
    origin: &str,
    poll_interval: Duration,
    cursor: &mut Option<i64>,
) -> Result<(), PgError> {
    let mut config = config.clone();
    // Named, so an operator (or a test) can tell the feed's connection in pg_stat_activity.
    config.application_name(FOLLOWER_NAME);
    let (client, mut connection) = config.connect(NoTls).await?;
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
        if cursor.is_none() {
            // Changes before the store opened are what its first reads see.
            let row = client.query_one("SELECT COALESCE(MAX(seq), 0) FROM changes", &[]).await?;
            *cursor = Some(row.get(0));
        }
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

/// Reads the change rows after `cursor` and tells the listeners of those other nodes made.
async fn poll(
    feed: &Feed,
    client: &tokio_postgres::Client,
    origin: &str,
    cursor: &mut Option<i64>,
) -> Result<(), PgError> {
    loop {
        let after = cursor.unwrap_or(0);
        let rows = client
            .query(
                "SELECT seq, origin, tenant, kind, id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &POLL_BATCH],
            )
            .await?;
        let mut changes = Vec::new();
        let mut unknown = false;
        for row in &rows {
            *cursor = Some(row.get(0));
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
