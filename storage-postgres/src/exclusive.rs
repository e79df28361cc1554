//! The exclusive section of [`Store::exclusive`](tessera_core::store::Store::exclusive) across
//! nodes: a session-level advisory lock held on a pooled connection that the guard keeps out
//! of the pool until it is dropped. Waiting is a poll of `pg_try_advisory_lock`, bounded by
//! [`WAIT`], so a holder that hangs makes the next admin write answer "busy" rather than wait
//! forever. Releasing unlocks and returns the connection; if the unlock cannot be confirmed the
//! connection is closed instead, which releases a session lock as surely, so a pooled
//! connection never carries a lock to its next user.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::Object;
use tessera_core::store::{Exclusive, StoreError};

use crate::db::Inner;
use crate::error::PgError;

/// The advisory lock key of the exclusive section (a constant of its own, not the migrations').
const SECTION_LOCK: i64 = 0x0074_6573_7365_7278;

/// Longest wait for another node's section to end.
const WAIT: Duration = Duration::from_secs(10);

/// How often a waiting node asks again.
const POLL: Duration = Duration::from_millis(10);

/// Holds the lock until dropped.
struct Held {
    client: Option<Object>,
    runtime: tokio::runtime::Handle,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        self.runtime.spawn(async move {
            let unlocked = client.query_one("SELECT pg_advisory_unlock($1)", &[&SECTION_LOCK]).await;
            if !matches!(unlocked.map(|row| row.get::<_, bool>(0)), Ok(true)) {
                // Out of the pool and closed: the session's lock goes with it.
                drop(Object::take(client));
            }
        });
    }
}

/// Enters the section, waiting at most [`WAIT`] for another node to leave it.
pub(crate) async fn enter(inner: Arc<Inner>) -> Result<Exclusive, PgError> {
    let client = inner.client().await?;
    let began = Instant::now();
    loop {
        let row = client.query_one("SELECT pg_try_advisory_lock($1)", &[&SECTION_LOCK]).await?;
        if row.get::<_, bool>(0) {
            let held = Held { client: Some(client), runtime: inner.runtime.clone() };
            return Ok(Exclusive::held_by(held));
        }
        if began.elapsed() >= WAIT {
            return Err(PgError::Refused(StoreError::Busy(
                "another node held the admin write section too long".to_owned(),
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}
