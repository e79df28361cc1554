//! SSO sessions: a random cookie value in the browser, its SHA-256 digest in the store (so a
//! store leak yields no usable cookie), a public `sid` for ID tokens and logout.

use http::HeaderMap;
use http::header::HeaderValue;
use tessera_core::model::{Authentication, Session, UnixSecs, User};
use tessera_core::secret;
use tessera_core::store::StoreError;

use super::cookies;
use crate::app::{App, TenantCx};
use crate::end_users;
use crate::util::random;

/// The browser's live session and its user.
pub struct Current {
    /// The session record.
    pub session: Session,
    /// The signed-in user, as stored now.
    pub user: User,
}

/// Why a session could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No randomness, or no cookie header could be made.
    #[error("{0}")]
    Internal(String),
}

/// The digest of the tenant's session cookie the request carries, if any.
pub fn cookie_digest(app: &App, cx: &TenantCx, headers: &HeaderMap) -> Option<[u8; 32]> {
    cookies::get(headers, &cookies::name(app, cx, cookies::Kind::Session))
        .filter(|v| !v.is_empty())
        .map(|v| secret::digest(&v))
}

/// The request's session, if its cookie names a live session of this tenant whose user still
/// exists and stands (not disabled, and signed in after their last disable); anything else
/// counts as no session.
pub async fn current(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    now: UnixSecs,
) -> Result<Option<Current>, StoreError> {
    let Some(digest) = cookie_digest(app, cx, headers) else { return Ok(None) };
    let Some(session) = app.store.session(&cx.tenant.id, &digest, now).await? else { return Ok(None) };
    // The store keys by tenant; checked again so a backend bug cannot carry a login across.
    if session.tenant != cx.tenant.id || session.expires_at <= now {
        tracing::warn!(tenant = %cx.tenant.id, "session record of another tenant or expired; ignored");
        return Ok(None);
    }
    let holder = end_users::holder(app, &cx.tenant.id, &session.auth.sub, session.auth.auth_time).await?;
    let Some(user) = holder else { return Ok(None) };
    Ok(Some(Current { session, user }))
}

/// Starts a session for `user` after a login by `method` (its `amr`: `pwd` for the password
/// form, `fed` for an external identity provider): always a new cookie value (an attacker who
/// planted a cookie before the login gains nothing), the browser's previous session record
/// deleted, the new record durable before the cookie is handed out. Returns the session and
/// its `Set-Cookie`.
pub async fn start(
    app: &App,
    cx: &TenantCx,
    headers: &HeaderMap,
    user: User,
    method: &str,
    now: UnixSecs,
) -> Result<(Current, HeaderValue), StartError> {
    // Both writes are queued before either is awaited, so one group commit covers them.
    let deleted = cookie_digest(app, cx, headers).map(|old| app.store.delete_session(&cx.tenant.id, &old));
    let value = secret::encode_secret(&random::<32>().map_err(|e| StartError::Internal(e.to_string()))?);
    let sid = secret::encode_id(&random::<16>().map_err(|e| StartError::Internal(e.to_string()))?);
    let session = Session {
        tenant: cx.tenant.id.clone(),
        auth: Authentication {
            sub: user.id.clone(),
            sid,
            auth_time: now,
            acr: None,
            amr: vec![method.to_owned()],
        },
        created_at: now,
        expires_at: now + i64::from(app.policy.session_ttl_secs_for(&cx.tenant)),
        data: None,
    };
    let digest = secret::digest(&value);
    let set_cookie = cookies::session(app, cx, value)
        .ok_or_else(|| StartError::Internal("session cookie header".to_owned()))?;
    let stored = app.store.put_session(&digest, &session);
    if let Some(deleted) = deleted {
        deleted.await?;
    }
    stored.await?;
    Ok((Current { session, user }, set_cookie))
}
