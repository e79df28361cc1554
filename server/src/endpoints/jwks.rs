//! `GET /t/{tenant}/jwks`: the tenant's public keys, current and retired-but-unexpired, served
//! from bytes built when the keys last changed.

use crate::app::{App, TenantCx};
use crate::http::respond::{ApiError, Resp, json_public};

/// How long relying parties may cache the JWKS. Short, so a rotation is seen quickly.
const MAX_AGE_SECS: u32 = 60;

/// Handles a JWKS request.
pub async fn handle(app: &App, cx: &TenantCx) -> Resp {
    let keys = match app.keys.get(&cx.tenant.id) {
        Some(keys) => Ok(keys),
        None => app.keys.load(&cx.tenant.id).await,
    };
    match keys {
        Ok(keys) => json_public(keys.jwks.clone(), MAX_AGE_SECS),
        Err(err) => ApiError::into_response(err),
    }
}
