//! The direct authorisation API's credentials of a tenant (`crate::direct_authz`): its
//! long-lived bearer token, (re)issued and shown once, kept only as a SHA-256 digest in the
//! tenant record (issuing a new one ends the old one at once); and its shared AES-256 key for
//! encrypted access tokens, written by the operator, stored sealed (`direct_authz::shared_key`)
//! and never shown back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::model::{JweKeyManagement, Tenant};
use tessera_core::secret;
use utoipa::ToSchema;

use super::refusals::{Denied, Invalid, NotFound};
use super::{new_secret, tenant_or_404};
use crate::app::App;
use crate::direct_authz::shared_key;
use crate::http::respond::{ApiError, Resp, empty, json_no_store};

/// The answer of `POST .../direct-authz/token`.
#[derive(Serialize, ToSchema)]
pub struct DirectAuthzToken {
    /// The bearer token for `POST {public_url}/direct-authz/rest/v2` with this tenant's
    /// `Tenant-ID` or `Issuer`: shown this once.
    token: String,
}

/// `PUT .../direct-authz/encryption-key`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EncryptionKeyBody {
    /// The shared AES-256 key: 32 bytes, base64url without padding. Access tokens asked for
    /// with `encrypt: true` are JWE-encrypted under it, their content with `A256GCM`.
    key: String,
    /// The JWE key management: `dir` (the default: the key encrypts the content) or
    /// `A256GCMKW` (a fresh key per token, wrapped with this one).
    #[serde(default)]
    alg: JweKeyManagement,
}

/// Issues a new bearer token for the tenant's direct authorisation API; the previous one stops
/// working at once.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/direct-authz/token", tag = "direct-authz",
    operation_id = "issue_direct_authz_token",
    responses((status = 201, description = "The new token, shown once", body = DirectAuthzToken),
        NotFound, Denied))]
pub async fn issue_token(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    let current = tenant_or_404(app, tenant).await?;
    let token = new_secret()?;
    let updated = Tenant { direct_authz_token_digest: Some(secret::digest(&token)), ..(*current).clone() };
    app.store.put_tenant(&updated).await?;
    Ok(json_no_store(StatusCode::CREATED, &DirectAuthzToken { token }))
}

/// Sets the tenant's shared key for encrypted access tokens.
#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/direct-authz/encryption-key", tag = "direct-authz",
    operation_id = "put_direct_authz_encryption_key", request_body = EncryptionKeyBody,
    responses((status = 204, description = "Set"), Invalid, NotFound, Denied))]
pub async fn put_encryption_key(app: &App, tenant: &str, body: EncryptionKeyBody) -> Result<Resp, ApiError> {
    let key: [u8; 32] = URL_SAFE_NO_PAD
        .decode(body.key.trim_end_matches('='))
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| ApiError::BadRequest("key must be 32 bytes, base64url-encoded".into()))?;
    let current = tenant_or_404(app, tenant).await?;
    let sealed = shared_key::seal(&app.shared_keys, tenant, body.alg, &key)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let updated = Tenant { direct_authz_encryption: Some(sealed), ..(*current).clone() };
    app.store.put_tenant(&updated).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
