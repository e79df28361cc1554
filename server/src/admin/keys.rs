//! A tenant's signing keys: list (public halves only) and rotate.

use http::StatusCode;

use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, json_no_store};
use crate::util::now;

/// Lists the tenant's keys, current and retired.
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    tenant_or_404(app, tenant).await?;
    let keys = app.keys.load(tenant).await?;
    Ok(json_no_store(StatusCode::OK, &serde_json::json!({ "keys": keys.listing })))
}

/// Makes new current keys; the old ones stay in the JWKS until their tokens have expired.
pub async fn rotate(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    let settings = &t.settings;
    app.keys.rotate(tenant, settings.access_token_alg, settings.max_signed_token_ttl_secs(), now()).await?;
    let keys = app.keys.load(tenant).await?;
    Ok(json_no_store(StatusCode::OK, &serde_json::json!({ "keys": keys.listing })))
}
