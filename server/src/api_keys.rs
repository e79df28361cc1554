//! API keys where they are used: finding the live key a presented value names (introspection,
//! the admin API's bearer check, revocation), and recording when each key was last used
//! without a write per use. A use is noted in memory ([`LastUses::note`]); a housekeeping task
//! writes the latest use of each key used since, once per `--api-key-last-use-interval-secs`
//! ([`flush_last_uses`]), so a key used ten thousand times a second costs one write a minute.
//! A use noted after the last flush is lost if the process stops: last use is coarse by design.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tessera_core::model::{ApiKey, UnixSecs, parse_key};
use tessera_core::store::StoreError;

use crate::app::App;
use crate::util::now;

/// The latest use of each key used since the last flush, by (tenant, key id).
#[derive(Default)]
pub struct LastUses {
    seen: Mutex<HashMap<(String, String), UnixSecs>>,
}

impl LastUses {
    /// Notes a use of key `id` of `tenant` at `at`.
    pub fn note(&self, tenant: &str, id: &str, at: UnixSecs) {
        let mut seen = self.seen.lock();
        match seen.get_mut(&(tenant.to_owned(), id.to_owned())) {
            Some(last) => *last = (*last).max(at),
            None => {
                seen.insert((tenant.to_owned(), id.to_owned()), at);
            }
        }
    }

    fn take(&self) -> HashMap<(String, String), UnixSecs> {
        std::mem::take(&mut *self.seen.lock())
    }
}

/// The API key of `tenant` that `presented` is, if it is one and live now (current, or the
/// previous within its rotation grace, and not expired). A live key's use is noted.
pub async fn live(app: &App, tenant: &str, presented: &str) -> Result<Option<ApiKey>, StoreError> {
    let Some((id, _)) = parse_key(presented) else { return Ok(None) };
    let Some(key) = app.store.api_key(tenant, id).await? else { return Ok(None) };
    let now = now();
    if !key.accepts(presented, now) {
        return Ok(None);
    }
    app.api_key_uses.note(tenant, &key.id, now);
    Ok(Some(key))
}

/// Writes each noted last use to its key's record (later than what the record holds), under
/// the admin write lock so a rotation in progress is not overwritten. A key deleted since is
/// left deleted (the store refuses to update it).
pub async fn flush_last_uses(app: &App) {
    let seen = app.api_key_uses.take();
    if seen.is_empty() {
        return;
    }
    let _serialized = app.admin_writes.lock().await;
    for ((tenant, id), at) in seen {
        let key = match app.store.api_key(&tenant, &id).await {
            Ok(Some(key)) if key.last_used_at.is_none_or(|last| last < at) => key,
            Ok(_) => continue,
            Err(err) => {
                tracing::warn!(%err, %tenant, key = %id, "reading an API key to record its last use");
                continue;
            }
        };
        let updated = ApiKey { last_used_at: Some(at), ..key };
        match app.store.update_api_key(&updated).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(err) => tracing::warn!(%err, %tenant, key = %id, "recording an API key's last use"),
        }
    }
}

/// Flushes the last uses every `interval`, for the life of the process.
pub async fn record_last_uses(app: Arc<App>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        flush_last_uses(&app).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_used_often_is_one_entry_with_its_latest_use() {
        let uses = LastUses::default();
        uses.note("t", "k", 5);
        uses.note("t", "k", 9);
        uses.note("t", "k", 7);
        uses.note("u", "k", 1);
        let taken = uses.take();
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[&("t".to_owned(), "k".to_owned())], 9);
        assert!(uses.take().is_empty(), "taken once");
    }
}
