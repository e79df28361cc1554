//! API keys where they are used: finding the live key a presented value names (introspection,
//! the admin API's bearer check, revocation), and recording when each key was last used
//! without a write per use. A use is noted in memory (`last_uses::LastUses`); a housekeeping task
//! writes the latest use of each key used since, once per `--api-key-last-use-interval-secs`
//! ([`flush_last_uses`]), so a key used ten thousand times a second costs one write a minute.
//! A use noted after the last flush is lost if the process stops: last use is coarse by design.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::model::{ApiKey, parse_key};
use tessera_core::store::StoreError;

use crate::app::App;
use crate::util::now;

/// The API key of `tenant` that `presented` is, if it is one and live now (current, or the
/// previous within its rotation grace, and not expired). Its use is noted where it is used
/// ([`LastUses::note`](crate::last_uses::LastUses::note)), not here: revoking a key is no use.
pub async fn live(app: &App, tenant: &str, presented: &str) -> Result<Option<ApiKey>, StoreError> {
    let Some((id, _)) = parse_key(presented) else { return Ok(None) };
    let Some(key) = app.store.api_key(tenant, id).await? else { return Ok(None) };
    Ok(key.accepts(presented, now()).then_some(key))
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
    // And against the other nodes' admin writes, when the store is shared.
    let _exclusive = match app.store.exclusive().await {
        Ok(held) => held,
        Err(err) => {
            tracing::warn!(%err, "last uses of API keys not recorded this time");
            return;
        }
    };
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
