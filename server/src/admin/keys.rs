//! A tenant's signing keys: list (public halves only) and rotate.

use http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, NotFound};
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, json_no_store};
use crate::keyring::KeyListing;
use crate::util::now;

/// `GET .../keys` and the answer of a rotation.
#[derive(Serialize, ToSchema)]
pub struct KeyList<'a> {
    /// The tenant's keys, current and retired.
    keys: &'a [KeyListing],
}

/// Lists the tenant's keys, current and retired.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/keys", tag = "keys", operation_id = "list_keys",
    responses((status = 200, description = "The keys", body = KeyList), NotFound, Denied))]
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    tenant_or_404(app, tenant).await?;
    let keys = app.keys.load(tenant).await?;
    Ok(json_no_store(StatusCode::OK, &KeyList { keys: &keys.listing }))
}

/// Makes new current keys; the old ones stay in the JWKS until their tokens have expired.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/keys/rotate", tag = "keys", operation_id = "rotate_keys",
    responses((status = 200, description = "The keys after the rotation", body = KeyList),
        NotFound, Conflict, Denied))]
pub async fn rotate(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    let t = tenant_or_404(app, tenant).await?;
    let settings = &t.settings;
    app.keys.rotate(tenant, settings.access_token_alg, settings.max_signed_token_ttl_secs(), now()).await?;
    let keys = app.keys.load(tenant).await?;
    Ok(json_no_store(StatusCode::OK, &KeyList { keys: &keys.listing }))
}
