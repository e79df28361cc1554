//! A scrape of the running server: reads the live values ([`Live`]) from the parts that count
//! for themselves (the connection gate, the login limits, the password gate, the caches, the
//! signer, the store) and answers `GET /metrics`. Also `/readyz`: ready only when the store
//! and the signer answer.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

use super::{CONTENT_TYPE as METRICS_TYPE, Live};
use crate::app::App;
use crate::http::respond::{Resp, plain};

/// How long `/readyz` waits for the store and the signer before it calls them unready.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// A tenant id that is read, never written: the readiness check's store read. Absent or not,
/// an answer means the store reads.
const PROBE_TENANT: &str = "readyz-probe";

/// The values only a scrape reads.
pub fn live(app: &App) -> Live {
    let (open_connections, [full, per_address]) =
        app.connection_gate.as_ref().map_or((0, [0, 0]), |g| g.reading());
    let (by_address, by_user) = app.password_guard.refusals();
    let mut caches = vec![
        ("opaque_tokens", app.shards.hot_lookups()),
        ("verified_jwts", app.metrics.verified_jwts.read()),
    ];
    let commits = app.fjall.as_ref().map(|store| {
        let reading = store.cache_reading();
        caches.push(("tenants", reading.tenants));
        caches.push(("clients", reading.clients));
        store.commit_reading()
    });
    let audit = app.audit.counts();
    Live {
        open_connections,
        refusals: vec![
            ("connections", full),
            ("connections_per_address", per_address),
            ("login_attempts_per_address", by_address),
            ("login_attempts_per_user_at_address", by_user),
            ("password_work", app.passwords.refusals()),
            ("token_requests_per_client", app.token_limits.refusals()),
        ],
        caches,
        signer_queue: app.signer.queue_depth(),
        store_writable: app.store.is_writable(),
        commits,
        audit_recorded: audit.recorded,
        audit_dropped: vec![("store_busy", audit.dropped_busy), ("rate_limited", audit.dropped_rate)],
    }
}

/// The answer to `GET /metrics`.
pub fn metrics(app: &App) -> Resp {
    let text = app.metrics.render(&live(app));
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_TYPE));
    resp.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Why the server is not ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unready {
    /// The store refuses writes (poisoned or closed).
    StoreRefusesWrites,
    /// A store read failed or did not answer in time.
    StoreDoesNotRead,
    /// The signer failed or did not answer in time.
    SignerDoesNotAnswer,
}

/// Whether the store takes writes and answers a read, and the signer answers a ping, each
/// within [`READY_TIMEOUT`].
pub async fn readiness(app: &App) -> Result<(), Unready> {
    if !app.store.is_writable() {
        return Err(Unready::StoreRefusesWrites);
    }
    match tokio::time::timeout(READY_TIMEOUT, app.store.tenant(PROBE_TENANT)).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) | Err(_) => return Err(Unready::StoreDoesNotRead),
    }
    match tokio::time::timeout(READY_TIMEOUT, app.signer.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(Unready::SignerDoesNotAnswer),
    }
}

/// The answer to `GET /readyz`.
pub async fn ready(app: &App) -> Resp {
    match readiness(app).await {
        Ok(()) => plain(StatusCode::OK, "ready"),
        Err(Unready::StoreRefusesWrites) => plain(StatusCode::SERVICE_UNAVAILABLE, "store refuses writes"),
        Err(Unready::StoreDoesNotRead) => plain(StatusCode::SERVICE_UNAVAILABLE, "store does not answer"),
        Err(Unready::SignerDoesNotAnswer) => plain(StatusCode::SERVICE_UNAVAILABLE, "signer does not answer"),
    }
}
