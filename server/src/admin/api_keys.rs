//! API keys of a tenant (API.md): create (the key is in the answer once, and stored only as a
//! digest), list and read without the secret, rotate (the previous key keeps working for the
//! grace the operator names, then stops), revoke (delete). A key carries a scope, an optional
//! expiry and optional roles; it is active at introspection with them and, when its roles hold
//! admin permissions, a bearer credential of the admin API (`access`).

use http::StatusCode;
use serde::{Deserialize, Serialize};
use tessera_core::model::{ApiKey, MAX_API_KEY_NAME_BYTES, MAX_API_KEY_ROLES, MAX_ROTATION_GRACE_SECS};
use tessera_core::rbac::RoleSet;
use tessera_core::{scope, secret};
use utoipa::ToSchema;

use super::refusals::{Conflict, Denied, Invalid, NotFound};
use super::roles::RoleRef;
use super::tenant_or_404;
use crate::app::App;
use crate::http::respond::{ApiError, Resp, empty, json_no_store};
use crate::util::now;

/// Most API keys one tenant holds: they are listed whole.
pub const MAX_API_KEYS_PER_TENANT: usize = 1000;
/// Longest an API key may be made to live: ten years.
const MAX_LIFETIME_SECS: i64 = 10 * 365 * 24 * 3600;

/// `POST .../api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// A name for the operator, 1 to 200 bytes without control characters.
    name: String,
    /// The space-separated scope the key carries (none by default).
    #[serde(default)]
    scope: String,
    /// When the key stops working, in seconds since the epoch: in the future, at most ten
    /// years ahead; `null` or absent for never.
    #[serde(default)]
    expires_at: Option<i64>,
    /// Roles (by id or name) whose permissions the key carries.
    #[serde(default)]
    roles: Vec<String>,
}

/// `POST .../api-keys/{id}/rotate`: how long the previous key still works (0 by default).
/// The body is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// Seconds the previous key keeps working (0: it stops at once).
    #[serde(default)]
    grace_secs: u32,
}

/// An API key as the API shows it: never its digest, and the key itself only in the answer
/// that made it (creation, rotation).
#[derive(Serialize, ToSchema)]
pub struct ApiKeyView<'a> {
    /// The key's id.
    id: &'a str,
    /// Its name.
    name: &'a str,
    /// The scope it carries.
    scope: &'a str,
    /// When it stops working; `null` for never.
    expires_at: Option<i64>,
    /// The roles it carries.
    roles: Vec<RoleRef>,
    /// When it was created, in seconds since the epoch.
    created_at: i64,
    /// When its current secret was made.
    rotated_at: i64,
    /// Until when the previous secret still works; `null` when it does not.
    previous_valid_until: Option<i64>,
    /// When it was last used, coarsely (written at most once per interval); `null` if never.
    last_used_at: Option<i64>,
    /// The key: only in the answer that made it, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

/// `GET .../api-keys`.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyList<'a> {
    /// The tenant's keys, without their secrets.
    api_keys: Vec<ApiKeyView<'a>>,
}

/// The key as the API shows it, with `shown` (the new key) when it was just made.
fn view<'a>(key: &'a ApiKey, roles: &RoleSet, shown: Option<String>) -> ApiKeyView<'a> {
    let held = key
        .role_ids
        .iter()
        .filter_map(|id| roles.get(id))
        .map(|r| RoleRef { id: r.id.clone(), name: r.name.clone() })
        .collect();
    ApiKeyView {
        id: &key.id,
        name: &key.name,
        scope: &key.scope,
        expires_at: key.expires_at,
        roles: held,
        created_at: key.created_at,
        rotated_at: key.rotated_at,
        previous_valid_until: (key.previous_valid_until > now()).then_some(key.previous_valid_until),
        last_used_at: key.last_used_at,
        key: shown,
    }
}

/// A new secret for key `id`: the whole key and its digest.
fn fresh_key(id: &str) -> Result<(String, [u8; 32]), ApiError> {
    let key = ApiKey::compose(id, &super::new_secret()?);
    let digest = secret::digest(&key);
    Ok((key, digest))
}

/// Creates a key; 201 with the key in `key`, shown this once.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/api-keys", tag = "api-keys", operation_id = "create_api_key",
    request_body = CreateBody,
    responses((status = 201, description = "The key, with `key` shown this once", body = ApiKeyView),
        Invalid, NotFound, Conflict, Denied))]
pub async fn create(app: &App, tenant: &str, b: CreateBody) -> Result<Resp, ApiError> {
    tenant_or_404(app, tenant).await?;
    let at = now();
    if b.name.is_empty() || b.name.len() > MAX_API_KEY_NAME_BYTES || b.name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "name must be 1 to {MAX_API_KEY_NAME_BYTES} bytes without control characters"
        )));
    }
    let scope = scope::parse(&b.scope).map_err(|e| ApiError::BadRequest(e.description))?.join(" ");
    if let Some(exp) = b.expires_at
        && (exp <= at || exp > at + MAX_LIFETIME_SECS)
    {
        return Err(ApiError::BadRequest("expires_at must be in the future, at most ten years ahead".into()));
    }
    if b.roles.len() > MAX_API_KEY_ROLES {
        return Err(ApiError::BadRequest(format!("an API key holds at most {MAX_API_KEY_ROLES} roles")));
    }
    let roles = app.store.roles(tenant).await?;
    let mut role_ids = Vec::with_capacity(b.roles.len());
    for named in &b.roles {
        let role = roles.find(named).ok_or(ApiError::NotFound("role"))?;
        if !role_ids.contains(&role.id) {
            role_ids.push(role.id.clone());
        }
    }
    if app.store.api_keys(tenant).await?.len() >= MAX_API_KEYS_PER_TENANT {
        return Err(ApiError::Conflict(format!("a tenant has at most {MAX_API_KEYS_PER_TENANT} API keys")));
    }
    let id = super::new_id()?;
    let (value, digest) = fresh_key(&id)?;
    let key = ApiKey {
        tenant: tenant.to_owned(),
        id,
        name: b.name,
        scope,
        digest,
        previous_digest: None,
        previous_valid_until: 0,
        expires_at: b.expires_at,
        role_ids,
        created_at: at,
        rotated_at: at,
        last_used_at: None,
    };
    app.store.create_api_key(&key).await?;
    Ok(json_no_store(StatusCode::CREATED, &view(&key, &roles, Some(value))))
}

async fn key_or_404(app: &App, tenant: &str, id: &str) -> Result<ApiKey, ApiError> {
    tenant_or_404(app, tenant).await?;
    app.store.api_key(tenant, id).await?.ok_or(ApiError::NotFound("API key"))
}

/// Lists the tenant's keys, without their secrets: `{"api_keys": [...]}`.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/api-keys", tag = "api-keys", operation_id = "list_api_keys",
    responses((status = 200, description = "The keys", body = ApiKeyList), NotFound, Denied))]
pub async fn list(app: &App, tenant: &str) -> Result<Resp, ApiError> {
    tenant_or_404(app, tenant).await?;
    let roles = app.store.roles(tenant).await?;
    let keys = app.store.api_keys(tenant).await?;
    let list = ApiKeyList { api_keys: keys.iter().map(|k| view(k, &roles, None)).collect() };
    Ok(json_no_store(StatusCode::OK, &list))
}

/// Reads a key, without its secret.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/api-keys/{key}", tag = "api-keys", operation_id = "get_api_key",
    responses((status = 200, description = "The key, without its secret", body = ApiKeyView), NotFound, Denied))]
pub async fn get(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    let key = key_or_404(app, tenant, id).await?;
    Ok(json_no_store(StatusCode::OK, &view(&key, &*app.store.roles(tenant).await?, None)))
}

/// Gives a key a new secret; the previous one works for `grace_secs` more (0: not at all).
/// 200 with the new key, shown this once.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/api-keys/{key}/rotate", tag = "api-keys",
    operation_id = "rotate_api_key",
    request_body(content = Option<RotateBody>, description = "Optional: without a body the grace is 0"),
    responses((status = 200, description = "The key, with its new `key` shown this once", body = ApiKeyView),
        Invalid, NotFound, Conflict, Denied))]
pub async fn rotate(app: &App, tenant: &str, id: &str, b: RotateBody) -> Result<Resp, ApiError> {
    if b.grace_secs > MAX_ROTATION_GRACE_SECS {
        return Err(ApiError::BadRequest(format!("grace_secs must be at most {MAX_ROTATION_GRACE_SECS}")));
    }
    let key = key_or_404(app, tenant, id).await?;
    let at = now().max(key.rotated_at);
    let (value, digest) = fresh_key(&key.id)?;
    let rotated = ApiKey {
        previous_digest: (b.grace_secs > 0).then_some(key.digest),
        previous_valid_until: if b.grace_secs > 0 { at + i64::from(b.grace_secs) } else { 0 },
        digest,
        rotated_at: at,
        ..key
    };
    // Refused (409) if the key was revoked meanwhile: a rotation never brings it back.
    app.store.update_api_key(&rotated).await?;
    Ok(json_no_store(StatusCode::OK, &view(&rotated, &*app.store.roles(tenant).await?, Some(value))))
}

/// Revokes a key: it stops working at once. 204; 404 if there is no such key.
#[utoipa::path(delete, path = "/api/v1/tenants/{tenant}/api-keys/{key}", tag = "api-keys",
    operation_id = "revoke_api_key",
    responses((status = 204, description = "Revoked"), NotFound, Conflict, Denied))]
pub async fn delete(app: &App, tenant: &str, id: &str) -> Result<Resp, ApiError> {
    key_or_404(app, tenant, id).await?;
    app.store.delete_api_key(tenant, id).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
